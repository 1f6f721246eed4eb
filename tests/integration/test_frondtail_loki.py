#!/usr/bin/python3
"""frondtail end to end against a Loki in trouble.

- test_outage: Loki's port is closed for 30 s while 64 MiB of logs are
  written; frondtail's backlog stays under max_backlog_bytes, its RSS (from
  /proc) grows by no more than the bound plus a fixed overhead, and once
  Loki is back every line arrives.
- test_verdicts: 429 with Retry-After is honoured (the retry waits longer
  than the backoff's max), 500 is retried, 400 drops the batch and counts
  it by reason (and its lines never come back), 401/404 are retried and
  logged with Loki's error text; a dropped connection and an answer slower
  than the client's timeout are retried; promtool accepts the exposition.
"""

import os
import time

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, ids_of, metrics,
                               metric_sum, pod_log, rss_kib, start, wait_delivered)
from loki_standin import Reply, loki_400, loki_429, loki_500
import frondtest

BASE_TS = 1764300000 * 1000000000
BOUND = 4 * 1024 * 1024
OUTAGE_S = 30.0


def write_lines(path, tag, start, count, size=200):
    ids = []
    with open(path, "ab") as f:
        buf = []
        for n in range(start, start + count):
            ident = "%s:%d" % (tag, n)
            msg = b"id=%s " % ident.encode()
            msg += b"x" * max(0, size - len(msg))
            buf.append(cri_line(BASE_TS + n * 1000, "stdout", "F", msg))
            ids.append(ident)
        f.write(b"".join(buf))
    return ids


def test_outage(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    path = pod_log(root, "ns", "busy", "app")
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    cfg.client["max_backlog_bytes"] = BOUND
    # A small ASan quarantine, so RSS reflects live memory rather than freed
    # blocks ASan keeps poisoned; the dev build is what the tests run.
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"}
    p = start(h, cfg, env=env)
    ids = write_lines(path, "w", 0, 4000, 1000)
    wait_delivered(loki, ids, 60)
    frondtest.wait_until(lambda: metric_sum(metrics(cfg), "frondtail_backlog_bytes") == 0, 30,
                         what="backlog drained")
    base = rss_kib(p.pid)

    loki.go_down()
    t0 = time.monotonic()
    peak = base
    peak_backlog = 0.0
    n = 4000
    per_step = 64 * 1024 // 30  # 64 MiB of 1000-byte lines over the outage
    while time.monotonic() - t0 < OUTAGE_S:
        if n < 4000 + 64 * 1024:
            ids += write_lines(path, "w", n, per_step, 1000)
            n += per_step
        peak = max(peak, rss_kib(p.pid))
        peak_backlog = max(peak_backlog, metric_sum(metrics(cfg), "frondtail_backlog_bytes"))
        time.sleep(0.5)  # the sampling period of RSS during the outage, not a wait
    if peak_backlog > BOUND:
        raise TestFailure("backlog %d bytes exceeds max_backlog_bytes %d" % (peak_backlog, BOUND))
    if peak_backlog < BOUND / 2:
        raise TestFailure("backlog only reached %d bytes: the outage did not fill it" % peak_backlog)
    growth = (peak - base) * 1024
    allowed = 2 * BOUND + 24 * 1024 * 1024
    if growth > allowed:
        raise TestFailure("RSS grew by %.1f MiB during the outage (bound %.1f MiB + overhead)" % (
            growth / 2**20, allowed / 2**20))
    retries = metric_sum(metrics(cfg), "frondtail_batch_retries_total", status_code="-1")
    if retries < 1:
        raise TestFailure("no retries counted for connection errors")
    loki.come_back()
    got = wait_delivered(loki, ids, 150)
    if len(set(got)) != len(ids):
        raise TestFailure("%d distinct entries, want %d" % (len(set(got)), len(ids)))
    print("outage: RSS %d KiB -> peak %d KiB, backlog peak %d bytes, %d entries" % (
        base, peak, peak_backlog, len(ids)))
    p.stop()


def test_verdicts(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    path = pod_log(root, "ns", "verdicts", "app")
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    cfg.client["timeout"] = "2s"
    # 429 (wait 2 s, longer than max_period 1 s), then 500, then accepted.
    loki.script(loki_429(2), loki_500())
    p = start(h, cfg)
    a = write_lines(path, "a", 0, 10)
    wait_delivered(loki, a, 60)
    st = loki.statuses()
    if st[:3] != [429, 500, 204]:
        raise TestFailure("statuses %s, want 429, 500, 204 first" % st)
    gap = loki.requests[1]["time"] - loki.requests[0]["time"]
    if gap < 1.9:
        raise TestFailure("retry after 429 came %.2fs later; Retry-After said 2s" % gap)

    # 400: dropped, counted by reason, acked (never sent again).
    loki.script(loki_400())
    b = write_lines(path, "b", 10, 10)
    frondtest.wait_until(
        lambda: metric_sum(metrics(cfg), "frondtail_dropped_entries_total") == len(b), 60,
        what="10 dropped entries counted")
    m = metrics(cfg)
    if metric_sum(m, "frondtail_dropped_bytes_total") < 10 * 200:
        raise TestFailure("dropped bytes not counted")
    reasons = {lb.get("reason") for lb, v in frondtest.series(m, "frondtail_dropped_entries_total")
               if v > 0}
    if reasons != {"out_of_order"}:
        raise TestFailure("drop reasons %s, want out_of_order (Loki's 'too far behind')" % reasons)
    for code in ("429", "500"):
        if metric_sum(m, "frondtail_batch_retries_total", status_code=code) < 1:
            raise TestFailure("no retry counted for %s" % code)
    if metric_sum(m, "frondtail_request_duration_seconds_count", status_code="400") < 1:
        raise TestFailure("request duration not observed for 400")
    # The exposition with every output-side family populated must satisfy promtool.
    frondtest.promtool_check_metrics(frondtest.http(cfg.base + "/metrics").text)
    frondtest.wait_until(lambda: "entry too far behind" in p.log(), 10,
                         what="Loki's error logged")

    # 401 and 404: an operator's mistake, retried (and logged) until fixed.
    loki.script(Reply(401, "no org id\n"), Reply(404, "404 page not found\n"))
    c = write_lines(path, "c", 20, 10)
    wait_delivered(loki, c, 60)
    for text in ("no org id", "404 page not found"):
        if text not in p.log():
            raise TestFailure("Loki's %r not logged" % text)

    # A dropped connection and an answer slower than the client's timeout:
    # both are transport errors, retried.
    loki.script(Reply(drop=True), Reply(500, delay=3.5))
    e = write_lines(path, "e", 25, 5)
    wait_delivered(loki, e, 60)
    if "drop" not in loki.statuses():
        raise TestFailure("the scripted hang-up never happened: %s" % loki.statuses())
    if metric_sum(metrics(cfg), "frondtail_batch_retries_total", status_code="-1") < 1:
        raise TestFailure("no retry counted for the timeout")
    got = ids_of(loki.entries())
    if any(i in got for i in b):
        raise TestFailure("dropped lines arrived after all")
    if sorted(got) != sorted(a + c + e):
        raise TestFailure("entries %s, want %s" % (got, a + c + e))
    p.stop()

    # The dropped batch was acked: a restart does not send it again.
    n = len(loki.requests)
    p = start(h, cfg, name="frondtail-2")
    d = write_lines(path, "d", 30, 5)
    wait_delivered(loki, d, 60)
    again = ids_of(loki.entries())
    if any(i in again for i in b) or len(again) != len(a + c + e + d):
        raise TestFailure("after restart: %d entries, want %d" % (len(again), len(a + c + e + d)))
    if len(loki.requests) <= n:
        raise TestFailure("no request after restart")
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("frondtail_loki", [test_outage, test_verdicts])
