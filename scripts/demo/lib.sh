#!/usr/bin/env bash
# Demo of libfrond's foundation: metrics_demo (every metric type with known
# values) served twice on 127.0.0.1 -- plain HTTP, scraped by the demo's
# Prometheus, and HTTPS + basic auth through an exporter-toolkit web config
# (a throwaway CA and certificate made here with openssl).
# Env: DEMO_DIR (scratch dir), BUILD_DIR (built tree). PIDs go to $DEMO_DIR/pids.
set -euo pipefail
BIN=$BUILD_DIR/tests/metrics_demo
PLAIN_PORT=${FROND_DEMO_LIB_PORT:-19900}
TLS_PORT=${FROND_DEMO_LIB_TLS_PORT:-19901}
D=$DEMO_DIR/lib
mkdir -p "$D"

"$BIN" --web.listen-address="127.0.0.1:$PLAIN_PORT" >"$D/plain.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
echo "frond_metrics_demo 127.0.0.1:$PLAIN_PORT" >>"$DEMO_DIR/targets"

(
  cd "$D"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 2 -subj "/CN=frond demo CA"
  openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
  printf 'subjectAltName=IP:127.0.0.1\n' >san.cnf
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
    -days 2 -extfile san.cnf
) >"$D/openssl.log" 2>&1
HASH=$(printf 'demo\n' | "$BIN" --hash-password)
cat >"$D/web.yml" <<YAML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  min_version: TLS12
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  demo: '$HASH'
YAML
"$BIN" --web.listen-address="127.0.0.1:$TLS_PORT" --web.config.file="$D/web.yml" >"$D/tls.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"

echo "   metrics (text):        curl -s http://127.0.0.1:$PLAIN_PORT/metrics"
echo "   metrics (OpenMetrics): curl -s -H 'Accept: application/openmetrics-text; version=1.0.0' http://127.0.0.1:$PLAIN_PORT/metrics"
echo "   landing page:          http://127.0.0.1:$PLAIN_PORT/"
echo "   TLS + basic auth:      curl -s --cacert $D/ca.crt -u demo:demo https://127.0.0.1:$TLS_PORT/metrics"
echo "   wrong password -> 401: curl -si --cacert $D/ca.crt -u demo:nope https://127.0.0.1:$TLS_PORT/metrics | head -1"
