#!/usr/bin/env bash
# Exposition benchmark: render time of 100,000 series in both formats, and
# the resident memory of an idle process serving /metrics with frond_http.
# Builds the release preset into build/release-metrics (not the shared
# build/release) and prints Markdown tables. Usage:
#   bench/exposition/run.sh [--iterations N] [--families N] [--series N]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build/release-metrics
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j2 --target bench_expo >/dev/null
bin="$build/bench/exposition/bench_expo"

echo "## render (release preset, $(nproc) CPUs, $(uname -m))"
echo
"$bin" "$@"
echo
"$bin" --preformatted "$@"
echo

# Idle RSS: start the server, scrape it once (so the scrape path has been
# used), then read VmRSS while nothing is happening.
out=$(mktemp)
"$bin" --serve --listen 127.0.0.1:0 >"$out" 2>/dev/null &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^port //p' "$out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited early"; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "server did not report its port"; exit 1; }
row() {
  # VmRSS, and how much of it is private memory (RssAnon) vs mapped files (RssFile: libraries).
  awk -v s="$1" '/^(VmRSS|RssAnon|RssFile):/ {v[$1]=$2}
    END {printf "| %s | %.1f MiB | %.1f MiB | %.1f MiB |\n", s, v["VmRSS:"]/1024, v["RssAnon:"]/1024, v["RssFile:"]/1024}' \
    "/proc/$pid/status"
}
r0=$(row "started, never scraped")
bytes=$(curl -sf "http://127.0.0.1:$port/metrics" | wc -c)
curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' \
  "http://127.0.0.1:$port/metrics" >/dev/null
r1=$(row "after 1 text + 1 OpenMetrics scrape")
for _ in $(seq 1 20); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null; done
r2=$(row "after 20 more scrapes")
echo "## idle RSS of a process serving /metrics (frond_http, process metrics, ${bytes} bytes/scrape)"
echo
echo "| state | VmRSS | of which RssAnon | of which RssFile |"
echo "|---|---:|---:|---:|"
printf '%s\n%s\n%s\n' "$r0" "$r1" "$r2"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap 'rm -f "$out"' EXIT
[ "$status" -eq 0 ] || { echo "server exit status $status after SIGTERM"; exit 1; }
