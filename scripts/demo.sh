#!/usr/bin/env bash
# The demo command: install what is missing, build the release preset, start
# every part of frond that exists on 127.0.0.1 (each part's scripts/demo/*.sh),
# a real Prometheus scraping all of them with frond's rules loaded, and print
# where to look. Ctrl-C stops everything this script started.
set -euo pipefail
# Stopping kills this script's whole process group (parts start helper loops
# that are not in the pid list). From a terminal the shell already gives us
# our own group; started any other way, take one so we never kill a caller.
if [ "$(ps -o pgid= $$ | tr -d ' ')" != "$$" ]; then
  exec setsid "$0" "$@"
fi
cd "$(dirname "$0")/.."
ROOT=$PWD

./scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

export BUILD_DIR=$ROOT/build/release
export DEMO_DIR
DEMO_DIR=$(mktemp -d /tmp/frond-demo.XXXXXX)
: >"$DEMO_DIR/pids"
: >"$DEMO_DIR/targets"

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping..."
  if [ -s "$DEMO_DIR/stop-hooks" ]; then
    # Parts that need an orderly stop (RabbitMQ) register a command here.
    while IFS= read -r hook; do bash -c "$hook" >/dev/null 2>&1 || true; done <"$DEMO_DIR/stop-hooks"
  fi
  tac "$DEMO_DIR/pids" 2>/dev/null | while read -r pid; do
    kill "$pid" 2>/dev/null || true
  done
  sleep 1
  tac "$DEMO_DIR/pids" 2>/dev/null | while read -r pid; do
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$DEMO_DIR"
  echo "demo: stopped."
  # Whatever else is left in our process group (helper loops, a sleeping wait).
  trap '' TERM
  kill -TERM -- "-$$" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

for part in scripts/demo/*.sh; do
  [ -e "$part" ] || continue
  echo "== $(basename "$part" .sh)"
  bash "$part"
done

# A real Prometheus over every target the parts registered ("job host:port" lines).
PROM_PORT=${FROND_DEMO_PROMETHEUS_PORT:-19090}
{
  echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
  rules=$(ls alerts/*.rules.yml alerts/*.yml 2>/dev/null | grep -v test | sort -u || true)
  if [ -n "$rules" ]; then
    echo "rule_files:"
    for r in $rules; do echo "  - $ROOT/$r"; done
  fi
  echo "scrape_configs:"
  awk '{print $1}' "$DEMO_DIR/targets" | sort -u | while read -r job; do
    echo "  - job_name: $job"
    echo "    static_configs:"
    echo "      - targets: [$(awk -v j="$job" '$1==j {printf "%s\"%s\"", sep, $2; sep=", "}' "$DEMO_DIR/targets")]"
  done
} >"$DEMO_DIR/prometheus.yml"
prometheus --config.file="$DEMO_DIR/prometheus.yml" --storage.tsdb.path="$DEMO_DIR/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$DEMO_DIR/prometheus.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
echo "== prometheus"
echo "   targets: http://127.0.0.1:$PROM_PORT/targets   alerts: http://127.0.0.1:$PROM_PORT/alerts"
echo
echo "demo: running (scratch dir $DEMO_DIR). Press Ctrl-C to stop everything."
# `wait` (unlike a foreground sleep) returns as soon as a trapped signal arrives.
while :; do
  sleep 3600 &
  wait $!
done
