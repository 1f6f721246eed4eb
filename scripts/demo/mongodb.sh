#!/usr/bin/env bash
# Demo part for frond_mongodb_exporter (run by scripts/demo.sh with DEMO_DIR
# and BUILD_DIR): the 3-member MongoDB stand-in replica set
# (tests/integration/mongodb/replset.py; scenario from
# FROND_DEMO_MONGODB_SCENARIO, default healthy so no alert fires; try
# secondary_lag_45s or primary_lost to see the lag panels and alerts move)
# and one exporter per member, all on
# 127.0.0.1 in the background. PIDs go to $DEMO_DIR/pids, scrape targets to
# $DEMO_DIR/targets.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEMO_DIR:?}" "${BUILD_DIR:?}"
PY=/usr/bin/python3
BIN=$BUILD_DIR/exporters/mongodb/frond_mongodb_exporter
SCENARIO=${FROND_DEMO_MONGODB_SCENARIO:-healthy}
MONGO_PORTS=${FROND_DEMO_MONGODB_PORTS:-27117,27118,27119}
EXPORTER_PORT=${FROND_DEMO_MONGODB_EXPORTER_PORT:-9216}
D=$DEMO_DIR/mongodb
mkdir -p "$D"

if [ ! -x "$BIN" ]; then
  echo "   frond_mongodb_exporter not built ($BIN): skipped"
  exit 0
fi

$PY tests/integration/mongodb/replset.py --scenario "$SCENARIO" --ports "$MONGO_PORTS" \
  --uris-file "$D/uris" >"$D/replset.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
for _ in $(seq 100); do [ -s "$D/uris" ] && break; sleep 0.1; done
[ -s "$D/uris" ] || { echo "   the stand-in replica set did not start:"; cat "$D/replset.log"; exit 1; }

i=0
while IFS= read -r uri; do
  port=$((EXPORTER_PORT + i))
  "$BIN" --web.listen-address="127.0.0.1:$port" --mongodb.uri="$uri" >"$D/exporter-m$i.log" 2>&1 &
  echo $! >>"$DEMO_DIR/pids"
  echo "mongodb 127.0.0.1:$port" >>"$DEMO_DIR/targets"
  echo "   member $i: $uri -> http://127.0.0.1:$port/metrics"
  i=$((i + 1))
done <"$D/uris"
echo "   stand-in scenario: $SCENARIO (others: healthy, primary_lost, arbiter, hidden_delayed,"
echo "   recovering, standalone, ...; set FROND_DEMO_MONGODB_SCENARIO)"
echo "   lag per member: mongodb_replset_member_replication_lag_seconds"
echo "                   and on (instance, member) (mongodb_replset_member_self == 1)"
