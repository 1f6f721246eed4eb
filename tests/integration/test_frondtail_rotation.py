#!/usr/bin/python3
"""frondtail end to end, rotation: 20 rotations of a container log during
steady writes — 10 kubelet-style (rename 0.log to 0.log.<ts>, then a new
0.log) and 10 copytruncate — and every line arrives exactly once, in order.

Rename rotation happens at any moment: frondtail must drain the renamed
file through its open descriptor. Copytruncate happens only once what was
written so far has arrived: lines written between the copy and the
truncate, and not yet read, are lost by copytruncate itself (promtail and
every tailer share this), which is not what this test is about.
"""

import os
import shutil
import threading
import time

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, ids_of, metrics,
                               metric_sum, pod_log, start, wait_delivered)
import frondtest

BASE_TS = 1764300000 * 1000000000


class Writer(threading.Thread):
    """Appends one CRI line every ~millisecond to `path`, reopening it when told."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lock = threading.Lock()
        self.n = 0
        self.stop_ev = threading.Event()
        self.paused = threading.Event()
        self.f = open(path, "ab", buffering=0)
        self.ids = []
        self.segments = []  # w.n at each rotation: where a new file starts

    def run(self):
        while not self.stop_ev.is_set():
            with self.lock:
                if not self.paused.is_set():
                    for _ in range(5):
                        ident = "r:%d" % self.n
                        self.f.write(cri_line(BASE_TS + self.n * 1000, "stdout", "F",
                                              b"id=%s steady write %d" % (ident.encode(), self.n)))
                        self.ids.append(ident)
                        self.n += 1
            time.sleep(0.005)

    def rename_rotate(self, k):
        with self.lock:
            os.rename(self.path, "%s.2025112%02d-000000" % (self.path, k))
            self.segments.append(self.n)
            self.f.close()
            self.f = open(self.path, "ab", buffering=0)

    def close(self):
        self.stop_ev.set()
        self.join()
        self.f.close()


def test_rotations(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    path = pod_log(root, "ns", "rot-1", "app")
    w = Writer(path)
    w.start()
    h.on_cleanup(lambda: w.close() if w.is_alive() else None)
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    p = start(h, cfg)
    for k in range(20):
        time.sleep(0.3)
        if k % 2 == 0:
            w.rename_rotate(k)
            continue
        # copytruncate: stop writing, let everything arrive, copy, truncate, go on.
        with w.lock:
            w.paused.set()
            written = list(w.ids)
        wait_delivered(loki, written, 60)
        with w.lock:
            shutil.copyfile(path, "%s.2025112%02d-000000" % (path, k))
            with open(path, "r+b") as f:
                f.truncate(0)
            w.segments.append(w.n)
            w.paused.clear()
    time.sleep(0.3)
    w.close()
    got = wait_delivered(loki, w.ids, 90)
    frondtest.wait_until(lambda: metric_sum(metrics(cfg), "frondtail_backlog_bytes") == 0, 30,
                         what="backlog drained")
    got = ids_of(loki.entries())
    dups = len(got) - len(set(got))
    if dups:
        raise TestFailure("%d duplicate entries after rotations" % dups)
    # Within one file (between two rotations) entries keep read order; a
    # renamed file drained while its successor is read may interleave.
    bounds = w.segments + [w.n]
    for a, b in zip([0] + bounds[:-1], bounds):
        seg = [int(i.split(":")[1]) for i in got if a <= int(i.split(":")[1]) < b]
        if seg != sorted(seg):
            raise TestFailure("entries of one file out of order: %s" % seg[:40])
    if len(got) != len(w.ids):
        raise TestFailure("%d entries, want %d" % (len(got), len(w.ids)))
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("frondtail_rotation", [test_rotations])
