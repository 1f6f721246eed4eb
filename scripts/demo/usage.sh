#!/usr/bin/env bash
# Demo part: frond_usage_exporter with the Palm example config
# (exporters/usage/examples/palm.yml) against the MongoDB stand-in serving
# Palm-shaped usage data (tests/integration/usage/palm_standin.py).
# Run by scripts/demo.sh with DEMO_DIR (scratch dir) and BUILD_DIR (built tree).
# Starts both in the background on 127.0.0.1, appends their PIDs to
# $DEMO_DIR/pids and prints the URLs. USAGE_DEMO_PORT overrides port 9412.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${DEMO_DIR:?DEMO_DIR must be set}"
: "${BUILD_DIR:?BUILD_DIR must be set}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
PORT=${USAGE_DEMO_PORT:-9412}
BIN="$BUILD_DIR/exporters/usage/frond_usage_exporter"
[ -x "$BIN" ] || { echo "usage demo: $BIN not built" >&2; exit 1; }
mkdir -p "$DEMO_DIR/usage"

rm -f "$DEMO_DIR/usage/uri"
/usr/bin/python3 "$ROOT/tests/integration/usage/palm_standin.py" "$DEMO_DIR/usage/uri" \
  >"$DEMO_DIR/usage/standin.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
for _ in $(seq 100); do [ -s "$DEMO_DIR/usage/uri" ] && break; sleep 0.1; done
[ -s "$DEMO_DIR/usage/uri" ] || { echo "usage demo: stand-in did not start" >&2; exit 1; }

PALM_MONGODB_URI=$(cat "$DEMO_DIR/usage/uri") "$BIN" \
  --config.file="$ROOT/exporters/usage/examples/palm.yml" \
  --web.listen-address="127.0.0.1:$PORT" >"$DEMO_DIR/usage/exporter.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"

echo "usage 127.0.0.1:$PORT" >>"$DEMO_DIR/targets"
echo "usage exporter (Palm example config, MongoDB stand-in):"
echo "  http://127.0.0.1:$PORT/metrics    palm_users, palm_active_users_24h, palm_dao_proposals{status}, usage_query_up{metric}, ..."
echo "  http://127.0.0.1:$PORT/           landing page;  reload the config: kill -HUP $!"
echo "  logs: $DEMO_DIR/usage/exporter.log"
