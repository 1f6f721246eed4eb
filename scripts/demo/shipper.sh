#!/usr/bin/env bash
# Demo part for frondtail (run by scripts/demo.sh with DEMO_DIR and BUILD_DIR):
# a generator appending kubelet-style CRI logs under $DEMO_DIR/pods, the Loki
# stand-in (prints per-stream counts as lines arrive) and frondtail shipping
# the former to the latter. Everything listens on 127.0.0.1 and runs in the
# background; PIDs go to $DEMO_DIR/pids.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEMO_DIR:?}" "${BUILD_DIR:?}"
PY=/usr/bin/python3
FRONDTAIL=$BUILD_DIR/shipper/frondtail
LOKI_PORT=${FROND_DEMO_LOKI_PORT:-13100}
PORT=${FROND_DEMO_FRONDTAIL_PORT:-9080}
D=$DEMO_DIR/shipper
mkdir -p "$D/pods"

if [ ! -x "$FRONDTAIL" ]; then
  echo "   frondtail not built ($FRONDTAIL): skipped"
  exit 0
fi

$PY bench/shipper/gen.py "$D/pods" --follow --files 6 --rate 5 >"$D/gen.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
$PY tests/integration/loki_standin.py --port "$LOKI_PORT" --interval 5 >"$D/loki.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"

cat >"$D/frondtail.yaml" <<YAML
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $PORT
positions:
  filename: $D/positions.yaml
clients:
  - url: http://127.0.0.1:$LOKI_PORT/loki/api/v1/push
    external_labels:
      cluster: demo
scrape_configs:
  - job_name: pods
    pipeline_stages:
      - cri: {}
    static_configs:
      - targets: [localhost]
        labels:
          job: pods
          __path__: $D/pods/*/*/*.log
YAML
"$FRONDTAIL" -config.file="$D/frondtail.yaml" >"$D/frondtail.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
echo "frondtail 127.0.0.1:$PORT" >>"$DEMO_DIR/targets"

echo "   frondtail metrics:      http://127.0.0.1:$PORT/metrics   (ready: /ready)"
echo "   Loki stand-in counts:   http://127.0.0.1:$LOKI_PORT/control/stats   (live: tail -f $D/loki.log)"
echo "   logs being shipped:     $D/pods/*/*/*.log   (frondtail log: $D/frondtail.log)"
