#!/usr/bin/env bash
# frondtail's benchmark (see bench/README.md, section "shipper").
#
#  1. throughput: gen.py writes SIZE_MB of kubelet-style CRI logs (50-500-byte
#     lines, ~10% partials, FILES files x stdout/stderr = 2*FILES streams);
#     frondtail (release preset, built in build/release-shipper) ships them to
#     bench_shipper_receiver (answers 204, counts entries) under
#     /usr/bin/time -v. Reported: CPU seconds per GiB of input, MB/s of input
#     (wall time from start until the receiver has every entry), peak RSS.
#  2. idle: IDLE_FILES small files, nothing written after they are shipped;
#     CPU share of frondtail over IDLE_SECONDS, from /proc/PID/stat.
#
# Environment: SIZE_MB (1024) FILES (50) IDLE_FILES (1000) IDLE_SECONDS (60)
#              BUILD_DIR (build/release-shipper) KEEP=1 keeps the scratch dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SIZE_MB=${SIZE_MB:-1024}
FILES=${FILES:-50}
IDLE_FILES=${IDLE_FILES:-1000}
IDLE_SECONDS=${IDLE_SECONDS:-60}
BUILD=${BUILD_DIR:-$ROOT/build/release-shipper}
PY=/usr/bin/python3

echo "building release preset in $BUILD ..." >&2
cmake --preset release -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target frondtail bench_shipper_receiver >/dev/null
FRONDTAIL=$BUILD/shipper/frondtail
RECEIVER=$BUILD/bench/shipper/bench_shipper_receiver

WORK=$(mktemp -d /tmp/frond-bench-shipper.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "scratch dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_get() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
received() { curl -s "http://127.0.0.1:$RPORT/stats" | awk '{print $4}'; }

write_config() { # $1 = pods root, $2 = config path, $3 = positions path
  cat >"$2" <<EOF
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $(free_port)
  log_level: warn
positions:
  filename: $3
clients:
  - url: http://127.0.0.1:$RPORT/loki/api/v1/push
scrape_configs:
  - job_name: pods
    pipeline_stages:
      - cri: {}
    static_configs:
      - targets: [localhost]
        labels:
          job: pods
          __path__: $1/*/*/*.log
EOF
}

wait_entries() { # $1 = expected entries, $2 = timeout seconds
  local deadline=$((SECONDS + $2))
  while [ "$(received)" -lt "$1" ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out: receiver has $(received) of $1 entries" >&2
      return 1
    fi
    sleep 0.1
  done
}

RPORT=$(free_port)
"$RECEIVER" "$RPORT" >"$WORK/receiver.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s "http://127.0.0.1:$RPORT/stats" >/dev/null && break; sleep 0.1; done

# ---- 1. throughput ----
echo "generating ${SIZE_MB} MiB of CRI logs in $FILES files ..." >&2
$PY bench/shipper/gen.py "$WORK/pods" --size-mb "$SIZE_MB" --files "$FILES" >"$WORK/gen.json"
BYTES=$(json_get "$WORK/gen.json" bytes)
ENTRIES=$(json_get "$WORK/gen.json" entries)
write_config "$WORK/pods" "$WORK/frondtail.yaml" "$WORK/positions.yaml"
echo "shipping $BYTES bytes ($ENTRIES entries) ..." >&2
T0=$(date +%s.%N)
/usr/bin/time -v -o "$WORK/time.txt" "$FRONDTAIL" -config.file="$WORK/frondtail.yaml" \
  >"$WORK/frondtail.log" 2>&1 &
TIMEPID=$!
PIDS+=($TIMEPID)
wait_entries "$ENTRIES" 1800
T1=$(date +%s.%N)
kill -TERM "$(pgrep -P "$TIMEPID")"
wait "$TIMEPID" || true
USER_S=$(awk -F': ' '/User time/ {print $2}' "$WORK/time.txt")
SYS_S=$(awk -F': ' '/System time/ {print $2}' "$WORK/time.txt")
RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
BASE=$(received)

# ---- 2. idle ----
echo "idle: $IDLE_FILES quiet files for ${IDLE_SECONDS}s ..." >&2
IDLE_MB=$(( (IDLE_FILES + 1023) / 1024 ))
$PY bench/shipper/gen.py "$WORK/idle" --size-mb "$IDLE_MB" --files "$IDLE_FILES" --seed 2 \
  >"$WORK/idle.json"
IDLE_ENTRIES=$(json_get "$WORK/idle.json" entries)
write_config "$WORK/idle" "$WORK/idle.yaml" "$WORK/idle-positions.yaml"
"$FRONDTAIL" -config.file="$WORK/idle.yaml" >"$WORK/idle.log" 2>&1 &
IPID=$!
PIDS+=($IPID)
wait_entries $((BASE + IDLE_ENTRIES)) 600
sleep 2 # let the last batch's acks and the positions sync settle before measuring
ticks() { awk '{print $14 + $15}' "/proc/$IPID/stat"; }
HZ=$(getconf CLK_TCK)
A=$(ticks)
sleep "$IDLE_SECONDS"
B=$(ticks)
IDLE_RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$IPID/status")
kill -TERM "$IPID"
wait "$IPID" || true

$PY - "$BYTES" "$ENTRIES" "$USER_S" "$SYS_S" "$RSS_KB" "$T0" "$T1" "$A" "$B" "$HZ" \
  "$IDLE_SECONDS" "$IDLE_FILES" "$IDLE_RSS_KB" <<'EOF'
import sys
(bytes_, entries, user, sys_, rss_kb, t0, t1, a, b, hz, idle_s, idle_files,
 idle_rss) = sys.argv[1:]
gib = int(bytes_) / 2**30
cpu = float(user) + float(sys_)
wall = float(t1) - float(t0)
idle = (int(b) - int(a)) / int(hz) / float(idle_s) * 100
print("| metric | value | target |")
print("|---|---|---|")
print("| input | %.2f GiB, %d entries | |" % (gib, int(entries)))
print("| CPU (user+sys) | %.2f s (%.2f user, %.2f sys) | |" % (cpu, float(user), float(sys_)))
print("| CPU per GiB | %.2f s | <= 7 |" % (cpu / gib))
print("| throughput | %.0f MB/s wall, %.0f MB/s per CPU-second | >= 150 MB/s per core |"
      % (int(bytes_) / 1e6 / wall, int(bytes_) / 1e6 / cpu))
print("| peak RSS | %.1f MiB | <= 32 |" % (int(rss_kb) / 1024))
print("| idle CPU, %s files | %.3f %% over %s s (peak RSS %.1f MiB) | <= 0.5 %% |"
      % (idle_files, idle, idle_s, int(idle_rss) / 1024))
EOF
