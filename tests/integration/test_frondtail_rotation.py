#!/usr/bin/python3
"""frondtail end to end, rotation: 20 rotations of a container log during
steady writes — 10 kubelet-style (rename 0.log to 0.log.<ts>, then a new
0.log) and 10 copytruncate — and every line arrives exactly once, in order.

Rename rotation happens at any moment: frondtail must drain the renamed
file through its open descriptor.

test_kill9_while_draining: Loki answers 500, so nothing is acknowledged;
the file is renamed away (kubelet's rotation: the rotated name no longer
matches `*.log`) and frondtail is killed with SIGKILL, once after it saved
the rotated file under its new name and once right after the rename
(before any save). Restarted with Loki healthy, every line of the rotated
file still arrives, with the labels of the path it was tailed under. Copytruncate happens only once what was
written so far has arrived: lines written between the copy and the
truncate, and not yet read, are lost by copytruncate itself (promtail and
every tailer share this), which is not what this test is about.
"""

import os
import shutil
import signal
import threading
import time

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, ids_of, metrics,
                               metric_sum, parse_labels, pod_log, start, wait_delivered)
from loki_standin import loki_500
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


def _write_lines(path, prefix, n, first=0):
    ids = []
    with open(path, "ab") as f:
        for i in range(first, first + n):
            ident = "%s:%d" % (prefix, i)
            f.write(cri_line(BASE_TS + i * 1000, "stdout", "F", b"id=%s before the crash" % ident.encode()))
            ids.append(ident)
    return ids


def _positions_text(cfg):
    try:
        with open(cfg.positions) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _kill9_case(h, loki, saved):
    """One crash while a renamed file is unacknowledged; raises on loss."""
    pod = "drain-%s" % ("saved" if saved else "unsaved")
    root = h.path("pods-" + pod)
    path = pod_log(root, "ns", pod, "app")
    rotated = path + ".20261128-101010"
    cfg = Config(h, loki.url, root + "/*/*/*.log", name="ft-" + pod)
    cfg.positions = h.path("positions-%s.yaml" % pod)
    cfg.positions_sync = "200ms"
    old_ids = _write_lines(path, pod + "-old", 300)
    loki.mode(loki_500())
    p = start(h, cfg, name="ft-%s-1" % pod)
    # Everything is read and pushed, and nothing acknowledged.
    frondtest.wait_until(lambda: metric_sum(metrics(cfg), "frondtail_read_lines_total") >= 300 and
                         metric_sum(metrics(cfg), "frondtail_batch_retries_total") > 0, 20,
                         what="old file read, pushes failing")
    frondtest.wait_until(lambda: ('"%s"' % path) in _positions_text(cfg), 10,
                         what="old file in the positions file")
    os.rename(path, rotated)
    new_ids = _write_lines(path, pod + "-new", 50)
    if saved:
        frondtest.wait_until(lambda: ('frondtail-rotated-from:%s' % rotated) in _positions_text(cfg),
                             10, what="rotated file recorded under its new name")
    os.kill(p.pid, signal.SIGKILL)
    p.p.wait(timeout=10)
    loki.mode(None)
    p = start(h, cfg, name="ft-%s-2" % pod)
    wait_delivered(loki, old_ids + new_ids, 30)
    # The rotated file's lines keep the labels of the path it was tailed under.
    want_old = set(old_ids)
    for tenant, labels, ts, line in loki.entries():
        got = ids_of([(tenant, labels, ts, line)])[0]
        if got in want_old:
            lbl = parse_labels(labels)
            if lbl.get("filename") != path or lbl.get("pod") != pod or lbl.get("container") != "app":
                raise TestFailure("rotated file's line %s shipped with labels %s" % (got, labels))
    if metric_sum(metrics(cfg), "frondtail_rotated_files_resumed_total") != 1:
        raise TestFailure("frondtail_rotated_files_resumed_total is not 1")
    # Fully acknowledged: the rotated file is closed and leaves the positions file.
    frondtest.wait_until(lambda: "frondtail-rotated-from:" not in _positions_text(cfg), 20,
                         what="rotated entry dropped once acknowledged")
    frondtest.wait_until(lambda: metric_sum(metrics(cfg), "frondtail_files_active") == 1, 20,
                         what="rotated file closed")
    p.stop()


def test_kill9_while_draining(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    _kill9_case(h, loki, saved=True)
    _kill9_case(h, loki, saved=False)


if __name__ == "__main__":
    frondtest.run_tests("frondtail_rotation", [test_kill9_while_draining, test_rotations])
