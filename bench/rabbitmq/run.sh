#!/usr/bin/env bash
# frond_rabbitmq_exporter vs RabbitMQ's own /metrics/per-object on 10,000
# queues in 10 vhosts (a private broker on loopback; see bench.py for the
# method). Builds the release preset into build/release-rabbit first.
# Usage: bench/rabbitmq/run.sh [--scrapes N] [--queues-per-vhost N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD_DIR:-build/release-rabbit}
if [ ! -x "$BUILD/exporters/rabbitmq/frond_rabbitmq_exporter" ] || [ -z "${NO_BUILD:-}" ]; then
  cmake --preset release -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target frond_rabbitmq_exporter >/dev/null
fi
exec /usr/bin/python3 bench/rabbitmq/bench.py \
  --exporter "$BUILD/exporters/rabbitmq/frond_rabbitmq_exporter" "$@"
