#!/usr/bin/env bash
# Demo part for frond_rabbitmq_exporter (run by scripts/demo.sh with DEMO_DIR
# and BUILD_DIR): a private RabbitMQ (tests/integration/rabbitmq/broker.py:
# own HOME, mnesia, logs, ports and epmd) with a few queues, a publisher
# (20 msg/s) and a consumer that keeps up (25 msg/s) on palm.tasks, a quorum
# queue with its own publisher and consumer, an idle queue, and the
# exporter — a healthy platform, so no alert fires in the demo — all on 127.0.0.1 in the background. PIDs go to
# $DEMO_DIR/pids, the scrape target to $DEMO_DIR/targets, and an orderly
# broker stop to $DEMO_DIR/stop-hooks.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEMO_DIR:?}" "${BUILD_DIR:?}"
PY=/usr/bin/python3
BIN=$BUILD_DIR/exporters/rabbitmq/frond_rabbitmq_exporter
EXPORTER_PORT=${FROND_DEMO_RABBITMQ_EXPORTER_PORT:-9419}
D=$DEMO_DIR/rabbitmq
mkdir -p "$D"

if [ ! -x "$BIN" ]; then
  echo "   frond_rabbitmq_exporter not built ($BIN): skipped"
  exit 0
fi

# Boots in ~5-15 s; prints key=value lines (ports, pids).
$PY tests/integration/rabbitmq/broker.py start "$D/broker" >"$D/broker.env" 2>"$D/broker.err" || {
  echo "   RabbitMQ did not start:"; cat "$D/broker.err"; exit 1; }
# shellcheck disable=SC1091
. "$D/broker.env"
echo "$epmd_pid" >>"$DEMO_DIR/pids"
echo "$beam_pid" >>"$DEMO_DIR/pids"
echo "$PY $PWD/tests/integration/rabbitmq/broker.py stop $D/broker" >>"$DEMO_DIR/stop-hooks"

MGMT=http://127.0.0.1:$mgmt_port
AMQP=amqp://guest:guest@127.0.0.1:$amqp_port
api() { curl -sf -u guest:guest -H 'content-type: application/json' -X "$1" "$MGMT$2" ${3:+-d "$3"} >/dev/null; }
api PUT /api/vhosts/palm
api PUT /api/permissions/palm/guest '{"configure":".*","write":".*","read":".*"}'
api PUT /api/queues/palm/palm.tasks '{"durable":true,"arguments":{"x-queue-type":"classic"}}'
api PUT /api/queues/palm/palm.results '{"durable":true,"arguments":{"x-queue-type":"quorum"}}'
api PUT /api/queues/palm/palm.deadletter '{"durable":true,"arguments":{}}'
api PUT /api/queues/%2F/audit '{"durable":true,"arguments":{}}'

CLIENT=tests/integration/rabbitmq/amqp_client.py
$PY $CLIENT publish "$AMQP" palm palm.tasks 0 --rate 20 >"$D/publisher.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
$PY $CLIENT consume "$AMQP" palm palm.tasks --ack-rate 25 >"$D/consumer.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
$PY $CLIENT publish "$AMQP" palm palm.results 0 --rate 2 >"$D/results.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
$PY $CLIENT consume "$AMQP" palm palm.results --ack-rate 5 >"$D/results-consumer.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"

RABBIT_PASSWORD=guest "$BIN" --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
  --rabbit.url="$MGMT" --rabbit.user=guest >"$D/exporter.log" 2>&1 &
echo $! >>"$DEMO_DIR/pids"
echo "rabbitmq 127.0.0.1:$EXPORTER_PORT" >>"$DEMO_DIR/targets"

echo "   exporter:          http://127.0.0.1:$EXPORTER_PORT/metrics"
echo "   management UI:     $MGMT/ (guest/guest)"
echo "   broker's own:      http://127.0.0.1:$prom_port/metrics/per-object"
echo "   queue depth:       curl -s http://127.0.0.1:$EXPORTER_PORT/metrics | grep '^rabbitmq_queue_messages{'"
echo "   memory alarm:      $PY $PWD/tests/integration/rabbitmq/broker.py ctl $D/broker set_vm_memory_high_watermark 0.0001  (back: 0.4)"
