"""Driver of bench/mongodb/run.sh: see that script for what is measured.

Method. The stand-in set and one exporter (pointed at the primary) run on
127.0.0.1. After 50 warm-up scrapes, N scrapes are made one after another
with a keep-alive-free HTTP client, as Prometheus does per target. For each
scrape we record the client's wall time and the exporter's own
mongodb_exporter_scrape_duration_seconds (time spent fetching from
MongoDB, i.e. the six round trips to the stand-in plus the worker
hand-off). "Added" = wall time − fetch time: what the exporter costs on top
of the MongoDB round trips (HTTP, mapping, rendering). Exporter CPU per
scrape = (utime + stime from /proc/<pid>/stat after − before) / N; the
stand-in's CPU is not counted. Memory: VmRSS after the N plain scrapes,
then 200 more scrapes asking for gzip as Prometheus does (zlib's deflate
state comes on top), VmRSS after those, and VmHWM, the peak over the whole
run, which is what the 12 MiB target is judged on.
"""

import gzip
import os
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "mongodb"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "lib"))

import frondtest  # noqa: E402
import replset  # noqa: E402


GZIP_SCRAPES = 200


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rollup_kib(pid, key):
    """A field of /proc/<pid>/smaps_rollup (Pss, Private_Dirty, Shared_Clean), KiB."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def scrape(url, gzipped=False):
    """One scrape; `gzipped` asks for gzip as Prometheus does."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzipped else {})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
        if r.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    dt = time.perf_counter() - t0
    fetch = None
    for line in body.decode().splitlines():
        if line.startswith("mongodb_exporter_scrape_duration_seconds "):
            fetch = float(line.split()[1])
        if line.startswith("mongodb_up ") and not line.endswith(" 1"):
            raise SystemExit("exporter reports %s" % line)
    return dt, fetch, len(body)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def main():
    binary, n = sys.argv[1], int(sys.argv[2])
    rs = replset.ReplicaSet().start()
    rs.set_scenario("healthy")
    port = frondtest.free_port()
    exp = subprocess.Popen([binary, "--web.listen-address=127.0.0.1:%d" % port,
                            "--mongodb.uri=" + rs.uri(0), "--log.level=warn"])
    url = "http://127.0.0.1:%d/metrics" % port
    try:
        frondtest.wait_until(lambda: scrape(url), 15, what="exporter up")
        for _ in range(50):
            scrape(url)
        c0 = cpu_seconds(exp.pid)
        walls, fetches = [], []
        size = 0
        t0 = time.perf_counter()
        for _ in range(n):
            w, f, size = scrape(url)
            walls.append(w)
            fetches.append(f)
        elapsed = time.perf_counter() - t0
        c1 = cpu_seconds(exp.pid)
        rss = status_kib(exp.pid, "VmRSS")
        # Then scrape as Prometheus does, with gzip (zlib's deflate state on
        # top), and judge the target on the peak over both.
        gz_walls = [scrape(url, gzipped=True)[0] for _ in range(GZIP_SCRAPES)]
        rss_gz = status_kib(exp.pid, "VmRSS")
        hwm = status_kib(exp.pid, "VmHWM")
        pss = rollup_kib(exp.pid, "Pss")
        priv = rollup_kib(exp.pid, "Private_Dirty") + rollup_kib(exp.pid, "Private_Clean")
        shared = rollup_kib(exp.pid, "Shared_Clean")
        added = [w - f for w, f in zip(walls, fetches)]
        cpu_ms = (c1 - c0) / n * 1000.0
        print("frond_mongodb_exporter benchmark: %d scrapes of the primary's exporter "
              "(6 commands each), %.1f scrapes/s, %d-byte exposition" % (n, n / elapsed, size))
        print("| measure | p50 | p90 | p99 |")
        print("|---|---|---|---|")
        for name, xs in (("scrape wall time (ms)", walls), ("MongoDB fetch (ms)", fetches),
                         ("added by the exporter (ms)", added)):
            print("| %s | %.3f | %.3f | %.3f |" % (name, pct(xs, 50) * 1e3, pct(xs, 90) * 1e3,
                                                   pct(xs, 99) * 1e3))
        print()
        print("| measure | value | target |")
        print("|---|---|---|")
        print("| exporter CPU per scrape | %.3f ms | <= 2 ms |" % cpu_ms)
        print("| RSS after the plain scrapes (VmRSS) | %.1f MiB | |" % (rss / 1024.0))
        print("| RSS after %d more with gzip (VmRSS) | %.1f MiB | |" % (GZIP_SCRAPES,
                                                                    rss_gz / 1024.0))
        print("| peak RSS (VmHWM) | %.1f MiB | <= 12 MiB |" % (hwm / 1024.0))
        print("| of which shared clean (library pages) | %.1f MiB | |" % (shared / 1024.0))
        print("| private (dirty + clean) | %.1f MiB | |" % (priv / 1024.0))
        print("| PSS | %.1f MiB | |" % (pss / 1024.0))
        print("| gzip scrape wall p50 | %.3f ms | |" % (pct(gz_walls, 50) * 1e3))
        print("| mean fetch / mean wall | %.3f / %.3f ms | |" % (
            statistics.mean(fetches) * 1e3, statistics.mean(walls) * 1e3))
    finally:
        exp.terminate()
        exp.wait(30)
        rs.stop()


if __name__ == "__main__":
    main()
