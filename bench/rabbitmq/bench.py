"""Benchmark: frond_rabbitmq_exporter vs RabbitMQ's own /metrics/per-object.

Boots a private RabbitMQ (tests/integration/rabbitmq/broker.py), loads
10,000 queues across 10 vhosts in one definitions import, puts messages in
a tenth of them, waits until the management API lists them all, then in one
run and against the same broker:

  - scrapes frond's /metrics N times, once with the defaults and once with
    --no-rabbit.queue-stats (a fresh exporter each): latency, bytes, exporter CPU per
    scrape (utime+stime from /proc/<pid>/stat before/after the N scrapes),
    exporter RSS (VmRSS and VmHWM from /proc/<pid>/status), and the broker's
    CPU per scrape (beam's /proc/<pid>/stat);
  - scrapes the rabbitmq_prometheus plugin's /metrics/per-object N times:
    latency, bytes, broker CPU per scrape.

Prints a table (and writes it to --out). Usage:
    bench.py --exporter build/release-rabbit/exporters/rabbitmq/frond_rabbitmq_exporter
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "rabbitmq"))
from broker import Broker, _free_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_kib(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def scrape_duration(body):
    for line in body.split(b"\n"):
        if line.startswith(b"rabbitmq_exporter_scrape_duration_seconds "):
            return float(line.split()[1])
    return None


def fetch(url, timeout=120):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return time.monotonic() - t0, len(body), body


def load_queues(b, vhosts, per_vhost, with_messages_every, msgs):
    defs = {"vhosts": [], "permissions": [], "queues": []}
    for v in range(vhosts):
        vh = "bench%02d" % v
        defs["vhosts"].append({"name": vh})
        defs["permissions"].append({"user": "guest", "vhost": vh, "configure": ".*",
                                    "write": ".*", "read": ".*"})
        for i in range(per_vhost):
            defs["queues"].append({"name": "queue-%05d" % i, "vhost": vh, "durable": True,
                                   "auto_delete": False, "arguments": {}})
    t0 = time.monotonic()
    b.api_ok("POST", "/api/definitions", defs, timeout=600)
    print("imported %d queues in %.1fs" % (len(defs["queues"]), time.monotonic() - t0),
          flush=True)
    import pika  # python3-pika
    t0 = time.monotonic()
    n = 0
    for v in range(vhosts):
        vh = "bench%02d" % v
        params = pika.URLParameters("amqp://guest:guest@127.0.0.1:%d/%s" % (b.ports["amqp"], vh))
        conn = pika.BlockingConnection(params)
        ch = conn.channel()
        for i in range(0, per_vhost, with_messages_every):
            for k in range(msgs):
                ch.basic_publish("", "queue-%05d" % i, b"payload %d" % k,
                                 pika.BasicProperties(timestamp=int(time.time())))
                n += 1
        conn.close()
    print("published %d messages in %.1fs" % (n, time.monotonic() - t0), flush=True)


def wait_listed(b, total, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, js = b.api("GET", "/api/queues?page=1&page_size=1&columns=name", timeout=60)
        if st == 200 and js and js.get("filtered_count", 0) >= total:
            return
        time.sleep(1)
    raise SystemExit("management API never listed %d queues" % total)


def stop_exporter(exp):
    exp.send_signal(signal.SIGTERM)
    try:
        exp.wait(timeout=20)
    except subprocess.TimeoutExpired:
        exp.kill()
        exp.wait()


def measure(url, pid_exp, beam, scrapes):
    """N sequential scrapes of url: latency, bytes, exporter and broker CPU per scrape."""
    lat = []
    inner = []
    size = 0
    cpu_e0 = cpu_seconds(pid_exp) if pid_exp else 0
    cpu_b0 = cpu_seconds(beam)
    for _ in range(scrapes):
        dt, size, body = fetch(url)
        lat.append(dt)
        if pid_exp:
            inner.append(scrape_duration(body))
    cpu_b1 = cpu_seconds(beam)
    cpu_e1 = cpu_seconds(pid_exp) if pid_exp else 0
    return {
        "latency_median_s": statistics.median(lat),
        "latency_min_s": min(lat),
        "latency_max_s": max(lat),
        "bytes": size,
        "exporter_cpu_per_scrape_s": (cpu_e1 - cpu_e0) / scrapes if pid_exp else None,
        "broker_cpu_per_scrape_s": (cpu_b1 - cpu_b0) / scrapes,
        "rabbitmq_read_median_s": statistics.median(inner) if inner else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--vhosts", type=int, default=10)
    ap.add_argument("--queues-per-vhost", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=10)
    ap.add_argument("--out", default=None)
    ap.add_argument("--keep", action="store_true", help="leave the broker data dir")
    ap.add_argument("--config", action="append", default=[], metavar="NAME=FLAGS",
                    help="an exporter configuration to measure (flags separated by spaces); "
                         "repeatable; default: the defaults and --no-rabbit.queue-stats")
    a = ap.parse_args()
    configs = [(c.split("=", 1)[0], c.split("=", 1)[1].split()) for c in a.config] or \
        [("frond", []), ("frond-no-stats", ["--no-rabbit.queue-stats"])]

    total = a.vhosts * a.queues_per_vhost
    tmp = tempfile.mkdtemp(prefix="frond-bench-rabbitmq-")
    # Production-like statistics interval (the broker's default, 5 s).
    b = Broker(os.path.join(tmp, "broker"), name="bench", stats_interval_ms=5000)
    exp = None
    try:
        t0 = time.monotonic()
        b.start()
        print("broker up in %.1fs" % (time.monotonic() - t0), flush=True)
        load_queues(b, a.vhosts, a.queues_per_vhost, 10, 10)
        wait_listed(b, total)
        # Let the stats of the freshly published queues settle.
        time.sleep(6)

        beam = b.beam_pid()
        res = {}
        # frond in each configuration (its own exporter process), then the plugin, same broker.
        for name, extra in configs:
            port = _free_port()
            log = open(os.path.join(tmp, "exporter-%s.log" % name), "wb")
            exp = subprocess.Popen([a.exporter, "--web.listen-address=127.0.0.1:%d" % port,
                                    "--rabbit.url=" + b.mgmt_url, "--rabbit.timeout=60s"] + extra,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, RABBIT_PASSWORD="guest"))
            base = "http://127.0.0.1:%d" % port
            deadline = time.monotonic() + 20
            while True:
                try:
                    fetch(base + "/-/healthy", 2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            rss_idle = rss_kib(exp.pid)
            # Warm-up, and check the exporter sees every queue.
            _, nbytes, body = fetch(base + "/metrics")
            nqueues = body.count(b"\nrabbitmq_queue_info{")
            up = b"\nrabbitmq_up 1" in body
            if nqueues != total or not up:
                raise SystemExit("%s saw %d queues (want %d), up=%s" % (name, nqueues, total, up))
            res[name] = measure(base + "/metrics", exp.pid, beam, a.scrapes)
            rss = rss_kib(exp.pid)
            r = res[name]
            r["rss_kib"] = rss["VmRSS"]
            r["rss_peak_kib"] = rss["VmHWM"]
            r["rss_idle_kib"] = rss_idle["VmRSS"]
            sm = smaps(exp.pid)
            r["private_kib"] = sm.get("Private_Clean", 0) + sm.get("Private_Dirty", 0)
            r["shared_clean_kib"] = sm.get("Shared_Clean", 0)
            r["pss_kib"] = sm.get("Pss", 0)
            stop_exporter(exp)
            exp = None
        fetch(b.prom_url + "/metrics/per-object")  # warm-up
        res["per-object"] = measure(b.prom_url + "/metrics/per-object", None, beam, a.scrapes)

        lines = []
        lines.append("queues: %d in %d vhosts (10 messages in every 10th queue), %d scrapes each"
                     % (total, a.vhosts, a.scrapes))
        lines.append("")
        cols = [res[name] for name, _ in configs] + [res["per-object"]]
        heads = ["frond %s" % (" ".join(extra) or "(defaults)") for _, extra in configs]
        lines.append("| | %s | rabbitmq_prometheus /metrics/per-object |" % " | ".join(heads))
        lines.append("|---|%s---|" % ("---|" * len(configs)))

        def cell(x, fmt, key, scale):
            v = x.get(key)
            if v is None:
                return "-"
            return fmt % (v * scale if isinstance(v, (int, float)) else v)

        def row(label, fmt, key, scale=1.0):
            cells = [cell(x, fmt, key, scale) for x in cols]
            lines.append("| %s | %s |" % (label, " | ".join(cells)))
        for x in cols:
            x["lat"] = "%.3f s (%.3f-%.3f)" % (x["latency_median_s"], x["latency_min_s"],
                                               x["latency_max_s"])
        row("scrape latency, median (min-max)", "%s", "lat")
        row("of which reading RabbitMQ (scrape_duration_seconds, median)", "%.3f s",
            "rabbitmq_read_median_s")
        row("bytes per scrape", "%d", "bytes")
        row("exporter CPU per scrape", "%.1f ms", "exporter_cpu_per_scrape_s", 1000)
        row("broker CPU per scrape", "%.0f ms", "broker_cpu_per_scrape_s", 1000)
        row("exporter RSS after scrapes", "%.1f MiB", "rss_kib", 1 / 1024)
        row("exporter RSS peak (VmHWM)", "%.1f MiB", "rss_peak_kib", 1 / 1024)
        row("exporter RSS before the first scrape", "%.1f MiB", "rss_idle_kib", 1 / 1024)
        row("exporter PSS after scrapes", "%.1f MiB", "pss_kib", 1 / 1024)
        for x in cols:
            del x["lat"]
        text = "\n".join(lines)
        print(text)
        if a.out:
            with open(a.out, "w") as fo:
                fo.write(text + "\n\n" + json.dumps(res, indent=2) + "\n")
    finally:
        if exp is not None:
            stop_exporter(exp)
        b.stop()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
