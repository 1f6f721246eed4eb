"""Broker-side cost of each RabbitMQ management API request shape.

Boots a private RabbitMQ with the benchmark's 10,000 queues in 10 vhosts
(bench.py's loader: 10 messages in every 10th queue), holds 2,000
consumers on message-free queues, then times each request shape the
exporter could send (sequential repetitions, `--concurrency` vhosts at
once): wall time and beam's CPU (utime+stime from /proc) per full
listing, and reply bytes. This is how bench/README.md attributes the
broker's time. Usage: endpoints.py [--queues-per-vhost N] [--reps N]
"""

import argparse
import base64
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "rabbitmq"))
import bench  # noqa: E402
from broker import Broker  # noqa: E402

QC = ("name,vhost,type,durable,policy,node,leader,state,messages,messages_ready,"
      "messages_unacknowledged,consumers,consumer_utilisation,consumer_capacity,message_bytes,"
      "head_message_timestamp,message_stats.publish,message_stats.deliver_get,"
      "message_stats.ack,message_stats.redeliver")
FC = ("name,vhost,type,durable,node,leader,state,messages,messages_ready,"
      "messages_unacknowledged")
DS = "disable_stats=true&enable_queue_totals=true&"
AUTH = "Basic " + base64.b64encode(b"guest:guest").decode()


def run(b, name, paths, conc, reps):
    beam = b.beam_pid()
    lats, cpus, nbytes = [], [], 0
    for _ in range(reps):
        todo = list(paths)
        lock = threading.Lock()
        total = [0]

        def worker():
            while True:
                with lock:
                    if not todo:
                        return
                    p = todo.pop(0)
                req = urllib.request.Request(b.mgmt_url + p, headers={"Authorization": AUTH})
                with urllib.request.urlopen(req, timeout=120) as r:
                    n = len(r.read())
                with lock:
                    total[0] += n
        c0 = bench.cpu_seconds(beam)
        t0 = time.monotonic()
        ts = [threading.Thread(target=worker) for _ in range(conc)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        lats.append(time.monotonic() - t0)
        cpus.append(bench.cpu_seconds(beam) - c0)
        nbytes = total[0]
    print("| %s | %d | %d | %.3f s | %.2f s | %.1f MB |" % (
        name, len(paths), conc, statistics.median(lats), statistics.median(cpus), nbytes / 1e6),
        flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vhosts", type=int, default=10)
    ap.add_argument("--queues-per-vhost", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="frond-bench-rabbitmq-ep-")
    b = Broker(os.path.join(tmp, "broker"), name="benchep", stats_interval_ms=5000)
    conns = []
    try:
        b.start()
        bench.load_queues(b, a.vhosts, a.queues_per_vhost, 10, 10)
        bench.wait_listed(b, a.vhosts * a.queues_per_vhost)
        import pika  # python3-pika
        vh = ["bench%02d" % i for i in range(a.vhosts)]
        for v in vh:
            c = pika.BlockingConnection(pika.URLParameters(
                "amqp://guest:guest@127.0.0.1:%d/%s?heartbeat=0" % (b.ports["amqp"], v)))
            ch = c.channel()
            for i in range(1, a.queues_per_vhost, 5):
                ch.basic_consume("queue-%05d" % i, lambda *x: None)
            conns.append(c)
        time.sleep(6)  # one statistics tick
        print("| request | requests | at once | wall | broker CPU | bytes |")
        print("|---|---|---|---|---|---|")
        r = a.reps
        run(b, "/api/overview?columns=...,object_totals,queue_totals",
            ["/api/overview?columns=cluster_name,rabbitmq_version,erlang_version,"
             "object_totals,queue_totals"], 1, r)
        run(b, "/api/nodes?columns=...", ["/api/nodes?columns=name,running,mem_used"], 1, r)
        run(b, "/api/vhosts?columns=name", ["/api/vhosts?columns=name"], 1, r)
        run(b, "/api/consumers?columns=queue.name,queue.vhost",
            ["/api/consumers?columns=queue.name,queue.vhost"], 1, r)
        run(b, "/api/queues (one request, all columns)", ["/api/queues"], 1, 1)
        run(b, "/api/queues?columns=name,vhost", ["/api/queues?columns=name,vhost"], 1, r)
        run(b, "/api/queues?columns=name,vhost,messages_ready",
            ["/api/queues?columns=name,vhost,messages_ready"], 1, r)
        for conc in (1, 2, 4):
            run(b, "stats: /api/queues/<vhost>?columns=...&page=N&page_size=500",
                ["/api/queues/%s?columns=%s&page=%d&page_size=500" % (v, QC, p)
                 for v in vh for p in range(1, (a.queues_per_vhost + 499) // 500 + 1)], conc, r)
            run(b, "stats: /api/queues/<vhost>?columns=... (unpaginated)",
                ["/api/queues/%s?columns=%s" % (v, QC) for v in vh], conc, r)
            run(b, "no stats: ...?disable_stats=true&enable_queue_totals=true&page=N",
                ["/api/queues/%s?%scolumns=%s&page=%d&page_size=500" % (v, DS, FC, p)
                 for v in vh for p in range(1, (a.queues_per_vhost + 499) // 500 + 1)], conc, r)
            run(b, "no stats: ...?disable_stats=true&enable_queue_totals=true (unpaginated)",
                ["/api/queues/%s?%scolumns=%s" % (v, DS, FC) for v in vh], conc, r)
        beam = b.beam_pid()
        lat = []
        c0 = bench.cpu_seconds(beam)
        for _ in range(r):
            dt, n, _ = bench.fetch(b.prom_url + "/metrics/per-object")
            lat.append(dt)
        print("| rabbitmq_prometheus /metrics/per-object | 1 | 1 | %.3f s | %.2f s | %.1f MB |"
              % (statistics.median(lat), (bench.cpu_seconds(beam) - c0) / r, n / 1e6))
    finally:
        for c in conns:
            try:
                c.close()
            except Exception:
                pass
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
