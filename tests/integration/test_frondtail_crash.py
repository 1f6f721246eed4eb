#!/usr/bin/python3
"""frondtail end to end, crashes: 20 times in a row frondtail is started and
killed with SIGKILL at a random moment while three container logs keep
growing; then a last run ships the rest and stops cleanly.

What must hold (DESIGN.md, "nothing lost, bounded duplicates"):
- every line arrives at least once;
- the positions file never runs ahead of Loki: at each kill, every line
  that ends at or before a committed offset had already arrived;
- a line arrives twice only if it was not yet committed when frondtail was
  killed (a duplicate comes from an unacknowledged batch, never from a
  committed one).
"""

import os
import random
import signal
import threading
import time

import yaml

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, ids_of, pod_log, start,
                               wait_delivered)
import frondtest

BASE_TS = 1764300000 * 1000000000
KILLS = 20


class Writers(threading.Thread):
    """Three files, a line every few milliseconds each; remembers each line's end offset."""

    def __init__(self, paths):
        super().__init__(daemon=True)
        self.paths = paths
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.end = {}  # id -> (path, end offset)
        self.ids = []
        self.files = [open(p, "ab", buffering=0) for p in paths]
        self.off = [0] * len(paths)
        self.n = 0

    def run(self):
        rng = random.Random(7)
        while not self.stop_ev.is_set():
            with self.lock:
                for k, f in enumerate(self.files):
                    ident = "c%d:%d" % (k, self.n)
                    line = cri_line(BASE_TS + self.n * 1000, "stdout", "F",
                                    b"id=%s %s" % (ident.encode(), b"y" * rng.randint(10, 300)))
                    f.write(line)
                    self.off[k] += len(line)
                    self.end[ident] = (self.paths[k], self.off[k])
                    self.ids.append(ident)
                self.n += 1
            time.sleep(0.002)

    def close(self):
        self.stop_ev.set()
        self.join()
        for f in self.files:
            f.close()


def committed(positions_path):
    """{path: offset} from the positions file (promtail format); {} if not written yet."""
    try:
        with open(positions_path) as f:
            doc = yaml.safe_load(f) or {}
    except FileNotFoundError:
        return {}
    out = {}
    for k, v in (doc.get("positions") or {}).items():
        if not str(k).startswith(("frondtail-id:", "frondtail-rotated-from:")):
            out[str(k)] = int(v)
    return out


def test_kill9_loop(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    paths = [pod_log(root, "ns", "crash-%d" % k, "app") for k in range(3)]
    for pth in paths:
        open(pth, "ab").close()
    w = Writers(paths)
    w.start()
    h.on_cleanup(lambda: w.close() if w.is_alive() else None)
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    cfg.positions_sync = "200ms"
    rng = random.Random(int(os.environ.get("FRONDTAIL_CRASH_SEED", "42")))
    kills = []  # (entries recorded at the kill, committed offsets right after it)
    for i in range(KILLS):
        p = start(h, cfg, name="frondtail-%02d" % i)
        # A random moment to die at: this sleep picks the moment, it waits for nothing.
        time.sleep(rng.uniform(0.1, 1.2))
        os.kill(p.pid, signal.SIGKILL)
        p.p.wait(timeout=30)
        kills.append((loki.count(), committed(cfg.positions)))
    p = start(h, cfg, name="frondtail-final")
    time.sleep(0.3)
    w.close()
    got = wait_delivered(loki, w.ids, 120)
    p.stop()

    # Positions never ahead of delivery.
    arrived_before = []
    for count, pos in kills:
        seen = set(ids_of(loki.entries()[:count]))
        arrived_before.append(seen)
        for ident, (pth, end) in w.end.items():
            if end <= pos.get(pth, 0) and ident not in seen:
                raise TestFailure("%s (ends at %d) was committed (offset %d) but had not arrived" % (
                    ident, end, pos.get(pth, 0)))
    # Duplicates only from what was not committed at the kill before them.
    first_seen = {}
    dups = 0
    for idx, ident in enumerate(got):
        if ident not in first_seen:
            first_seen[ident] = idx
            continue
        dups += 1
        pth, end = w.end[ident]
        # The kill after which this copy arrived: the last one recorded before idx.
        k = max((j for j, (count, _) in enumerate(kills) if count <= idx), default=None)
        if k is None:
            raise TestFailure("%s arrived twice before any kill" % ident)
        if end <= kills[k][1].get(pth, 0):
            raise TestFailure("%s re-sent although committed (end %d <= offset %d) at kill %d" % (
                ident, end, kills[k][1].get(pth, 0), k))
    print("kill -9 x%d: %d lines, %d duplicates (%.2f%%)" % (
        KILLS, len(w.ids), dups, 100.0 * dups / max(1, len(w.ids))))


if __name__ == "__main__":
    frondtest.run_tests("frondtail_crash", [test_kill9_loop])
