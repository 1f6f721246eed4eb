#!/usr/bin/env bash
# Benchmark of frond_usage_exporter (release build) against the MongoDB
# stand-in: QUERIES aggregate queries on 1 s intervals, DOCS documents each
# (QUERIES*DOCS cached samples, 10,000 by default). Measures the exporter's
# CPU and RSS while the queries run, and /metrics latency with all samples
# cached (curl's time_total, plain and gzip). Prints a table.
#
#   bench/usage/run.sh            # 200 queries x 50 docs, 30 s CPU window, 200 scrapes
#   QUERIES=100 DOCS=100 WINDOW=10 SCRAPES=50 bench/usage/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

QUERIES=${QUERIES:-200}
DOCS=${DOCS:-50}
WINDOW=${WINDOW:-30}
SCRAPES=${SCRAPES:-200}
BUILD=${BUILD_DIR:-build/release-usage}
PY=/usr/bin/python3

if [ ! -x "$BUILD/exporters/usage/frond_usage_exporter" ] || [ -z "${BUILD_DIR:-}" ]; then
  cmake --preset release -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target frond_usage_exporter >/dev/null
fi
BIN="$BUILD/exporters/usage/frond_usage_exporter"

TMP=$(mktemp -d /tmp/frond-bench-usage.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

$PY bench/usage/standin.py "$QUERIES" "$DOCS" >"$TMP/uri" 2>"$TMP/standin.log" &
pids+=($!)
standin_pid=$!
for _ in $(seq 100); do [ -s "$TMP/uri" ] && break; sleep 0.1; done
URI=$(cat "$TMP/uri")

{
  echo "servers:"
  echo "  bench: {uri: \"$URI\"}"
  echo "global: {interval: 1s, timeout: 5s}"
  echo "metrics:"
  for q in $(seq 0 $((QUERIES - 1))); do
    printf '  - {name: bench_q%03d, database: bench, collection: c%03d, aggregate: [{$group: {_id: {status: $status, region: $region}, count: {$sum: 1}}}], labels: {_id.status: status, _id.region: region}}\n' "$q" "$q"
  done
} >"$TMP/usage.yml"

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --config.file="$TMP/usage.yml" --web.listen-address="127.0.0.1:$PORT" \
  --log.level=warn 2>"$TMP/exporter.log" &
pids+=($!)
epid=$!
URL="http://127.0.0.1:$PORT/metrics"

# Wait until every query has delivered its samples.
want=$((QUERIES * DOCS))
for _ in $(seq 600); do
  have=$( (curl -s "$URL" || true) | awk '/^usage_query_samples\{/ {s += $2} END {print s + 0}')
  [ "$have" -ge "$want" ] && break
  sleep 0.1
done
[ "$have" -ge "$want" ] || { echo "only $have of $want samples cached"; cat "$TMP/exporter.log"; exit 1; }

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
runs() { curl -s "$URL" | awk '/^usage_query_runs_total\{/ {s += $2} END {print s + 0}'; }
r0=$(runs); c0=$(cpu "$epid"); s0=$(cpu "$standin_pid"); t0=$(date +%s.%N)
sleep "$WINDOW"
r1=$(runs); c1=$(cpu "$epid"); s1=$(cpu "$standin_pid"); t1=$(date +%s.%N)
rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$epid/status")
hwm_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$epid/status")
anon_kib=$(awk '/^RssAnon/ {print $2}' "/proc/$epid/status")
file_kib=$(awk '/^RssFile/ {print $2}' "/proc/$epid/status")
pss_kib=$(awk '/^Pss:/ {print $2}' "/proc/$epid/smaps_rollup")
errors=$(curl -s "$URL" | awk '/^usage_query_errors_total\{/ {s += $2} END {print s + 0}')
lines=$(curl -s "$URL" | wc -l)
bytes=$(curl -s "$URL" | wc -c)

lat() {
  for _ in $(seq "$SCRAPES"); do curl -s -o /dev/null "$@" -w '%{time_total}\n' "$URL"; done |
    sort -n | awk '{a[NR] = $1} END {printf "%.2f %.2f %.2f", a[int(NR * 0.5)] * 1000, a[int(NR * 0.99)] * 1000, a[NR] * 1000}'
}
# The exporter's own share: time its collector spends copying cached results into the scrape.
collect_ms=$(for _ in $(seq 50); do curl -s "$URL" | awk '/^usage_exporter_scrape_duration_seconds / {print $2 * 1000}'; done |
  sort -n | awk '{a[NR] = $1} END {printf "%.2f / %.2f", a[int(NR * 0.5)], a[NR]}')
read -r p50 p99 pmax <<<"$(lat)"
read -r g50 g99 gmax <<<"$(lat -H 'Accept-Encoding: gzip')"
read -r o50 o99 omax <<<"$(lat -H 'Accept: application/openmetrics-text; version=1.0.0')"
# Memory again after every kind of scrape (plain, gzip, OpenMetrics) ran $SCRAPES times.
end_rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$epid/status")
end_hwm_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$epid/status")
end_anon_kib=$(awk '/^RssAnon/ {print $2}' "/proc/$epid/status")

awk -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" \
    -v rss="$rss_kib" -v hwm="$hwm_kib" -v anon="$anon_kib" -v file="$file_kib" -v pss="$pss_kib" \
    -v r0="$r0" -v r1="$r1" -v q="$QUERIES" -v d="$DOCS" -v lines="$lines" \
    -v bytes="$bytes" -v errors="$errors" -v p50="$p50" -v p99="$p99" -v pmax="$pmax" \
    -v g50="$g50" -v g99="$g99" -v gmax="$gmax" -v o50="$o50" -v o99="$o99" -v omax="$omax" \
    -v n="$SCRAPES" -v collect="$collect_ms" -v ersss="$end_rss_kib" -v ehwm="$end_hwm_kib" \
    -v eanon="$end_anon_kib" 'BEGIN {
  dt = t1 - t0
  printf "| measure | value |\n|---|---|\n"
  printf "| queries x documents (cached samples) | %d x %d (%d) |\n", q, d, q * d
  printf "| /metrics size | %d lines, %d bytes |\n", lines, bytes
  printf "| exporter CPU while queries run (1 s intervals, %.0f s window) | %.1f%% of one core |\n", dt, (c1 - c0) / hz / dt * 100
  printf "| stand-in (Python) CPU, for reference | %.1f%% of one core |\n", (s1 - s0) / hz / dt * 100
  printf "| query runs per second (all queries) | %.0f |\n", (r1 - r0) / dt
  printf "| exporter RSS after the query window (current / peak) | %.1f MiB / %.1f MiB |\n", rss / 1024, hwm / 1024
  printf "| of which anonymous (heap, stacks) / file-backed (shared libraries) | %.1f MiB / %.1f MiB |\n", anon / 1024, file / 1024
  printf "| exporter PSS (shared pages divided among their users) | %.1f MiB |\n", pss / 1024
  printf "| query errors during the run | %d |\n", errors
  printf "| scrape latency text, %d scrapes: p50 / p99 / max | %s / %s / %s ms |\n", n, p50, p99, pmax
  printf "| of which the usage collector (copying 10k cached samples), p50 / max of 50 | %s ms |\n", collect
  printf "| scrape latency gzip: p50 / p99 / max | %s / %s / %s ms |\n", g50, g99, gmax
  printf "| scrape latency OpenMetrics: p50 / p99 / max | %s / %s / %s ms |\n", o50, o99, omax
  printf "| exporter RSS after all scrapes (current / peak) | %.1f MiB / %.1f MiB (anonymous %.1f MiB) |\n", ersss / 1024, ehwm / 1024, eanon / 1024
}'
