#!/usr/bin/env bash
# Benchmark of frond_mongodb_exporter (release build) against the 3-member
# stand-in replica set (tests/integration/mongodb/replset.py, "healthy"),
# scraping the primary's exporter (all six commands per scrape). Prints a
# table: scrape latency and how much of it the exporter adds over the
# MongoDB round trips, exporter CPU per scrape (/proc/<pid>/stat over N
# scrapes), RSS. See bench/README.md, section "mongodb".
#
#   bench/mongodb/run.sh                 # 1000 scrapes
#   SCRAPES=200 bench/mongodb/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD_DIR:-build/release-mongo}
if [ ! -x "$BUILD/exporters/mongodb/frond_mongodb_exporter" ] || [ -z "${BUILD_DIR:-}" ]; then
  cmake --preset release -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target frond_mongodb_exporter >/dev/null
fi
exec /usr/bin/python3 bench/mongodb/bench.py "$BUILD/exporters/mongodb/frond_mongodb_exporter" \
  "${SCRAPES:-1000}"
