#!/usr/bin/env bash
# Demo part for frondtail's Kubernetes metadata (run by scripts/demo.sh with
# DEMO_DIR and BUILD_DIR): the Kubernetes API stand-in over TLS (a CA made
# here with the openssl CLI, a bearer token), a Loki stand-in, a loop
# appending CRI lines for two pods of node-a, and frondtail with
# `kubernetes_metadata` enabled, so the streams in Loki carry app, team and
# controller labels. Everything listens on 127.0.0.1 and runs in the
# background; PIDs go to $DEMO_DIR/pids.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEMO_DIR:?}" "${BUILD_DIR:?}"
PY=/usr/bin/python3
FRONDTAIL=$BUILD_DIR/shipper/frondtail
K8S_PORT=${FROND_DEMO_K8S_PORT:-16443}
LOKI_PORT=${FROND_DEMO_K8S_LOKI_PORT:-13101}
PORT=${FROND_DEMO_FRONDTAIL_K8S_PORT:-9081}
D=$DEMO_DIR/shipper_k8s
mkdir -p "$D/pods"

if [ ! -x "$FRONDTAIL" ]; then
  echo "   frondtail not built ($FRONDTAIL): skipped"
  exit 0
fi

EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${EC[@]}" -keyout "$D/ca.key" -out "$D/ca.crt" -days 2 \
  -subj /CN=frond-demo-ca 2>/dev/null
openssl req "${EC[@]}" -keyout "$D/srv.key" -out "$D/srv.csr" -subj /CN=kubernetes 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" >"$D/san.ext"
openssl x509 -req -in "$D/srv.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial \
  -out "$D/srv.crt" -days 2 -extfile "$D/san.ext" 2>/dev/null
echo demo-token >"$D/token"

$PY tests/integration/k8s_standin.py --port "$K8S_PORT" --token demo-token --node node-a \
  --cert "$D/srv.crt" --key "$D/srv.key" >"$D/k8s.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
$PY tests/integration/loki_standin.py --port "$LOKI_PORT" --interval 5 >"$D/loki.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"

# Two pods of node-a log a line a second each (the third pod lives on node-b).
(
  a=$D/pods/palm_palmdao-7d9c8b5f4-x2k9q_uid-palmdao/app
  b=$D/pods/mq_rabbitmq-0_uid-rabbitmq/rabbitmq
  mkdir -p "$a" "$b"
  n=0
  while true; do
    n=$((n + 1))
    ts=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
    echo "$ts stdout F palmdao request $n served" >>"$a/0.log"
    echo "$ts stdout F rabbitmq accepting connection $n" >>"$b/0.log"
    sleep 1
  done
) >/dev/null 2>&1 &
echo $! >>"$DEMO_DIR/pids"

cat >"$D/frondtail.yaml" <<YAML
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $PORT
positions:
  filename: $D/positions.yaml
clients:
  - url: http://127.0.0.1:$LOKI_PORT/loki/api/v1/push
scrape_configs:
  - job_name: pods
    pipeline_stages:
      - cri: {}
    static_configs:
      - targets: [localhost]
        labels:
          job: pods
          __path__: $D/pods/*/*/*.log
kubernetes_metadata:
  enabled: true
  api_server: https://127.0.0.1:$K8S_PORT
  token_file: $D/token
  ca_file: $D/ca.crt
  node_name: node-a
  labels: [team]
  controller_label: true
YAML
"$FRONDTAIL" -config.file="$D/frondtail.yaml" >"$D/frondtail.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
echo "frondtail-k8s 127.0.0.1:$PORT" >>"$DEMO_DIR/targets"

echo "   frondtail (k8s metadata) metrics: http://127.0.0.1:$PORT/metrics   (frondtail_kubernetes_metadata_*)"
echo "   Loki stand-in streams:            http://127.0.0.1:$LOKI_PORT/control/stats   (labels app, team, controller)"
echo "   Kubernetes API stand-in:          https://127.0.0.1:$K8S_PORT/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a"
echo "                                     (curl --cacert $D/ca.crt -H 'Authorization: Bearer demo-token' ...)"
