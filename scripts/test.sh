#!/usr/bin/env bash
# The test command: install what is missing, build the `dev` preset
# (Debug, ASan+UBSan, -Werror) and run every test: unit, fuzz corpus
# replays, lint and integration against real RabbitMQ and Prometheus.
# Extra arguments go to ctest (e.g. ./scripts/test.sh -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
# The LogQL lint uses Grafana's own grammar from the npm registry.
npm ci --prefix tests/lint --no-audit --no-fund --loglevel=error >/dev/null
npm ci --prefix tests/deploy --no-audit --no-fund --loglevel=error >/dev/null
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
exec ctest --preset dev "$@"
