"""Helpers shared by the frond_mongodb_exporter integration tests.

`Cluster` is one scripted replica set (replset.ReplicaSet, three stand-ins)
plus one exporter per member, started once and walked through the named
scenarios, so the whole suite pays for process start-up only once.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import frondtest  # noqa: E402
from frondtest import TestFailure, free_port, http, parse_metrics, wait_until  # noqa: E402
import replset  # noqa: E402

EXPORTER = ("exporters", "mongodb", "frond_mongodb_exporter")

# Short timeouts keep the failure scenarios fast; the defaults are 10s/3s.
FAST_FLAGS = ["--mongodb.timeout=4s", "--mongodb.connect-timeout=1s"]


def start_exporter(h, name, uri=None, extra=None, env=None):
    """Start one exporter on a free port; returns (Proc, port) once it serves."""
    port = free_port()
    argv = [frondtest.binary(*EXPORTER), "--web.listen-address=127.0.0.1:%d" % port]
    if uri is not None:
        argv.append("--mongodb.uri=%s" % uri)
    argv += FAST_FLAGS + (extra or [])
    p = h.start(name, argv, env=env)
    wait_until(lambda: http("http://127.0.0.1:%d/-/healthy" % port, timeout=1).status == 200,
               15, what="%s serving" % name)
    return p, port


def scrape(port, timeout_header=None, timeout=20.0):
    """One scrape: (Response, parsed metrics, seconds taken); fails on non-200."""
    headers = {}
    if timeout_header is not None:
        headers["X-Prometheus-Scrape-Timeout-Seconds"] = str(timeout_header)
    t0 = time.monotonic()
    r = http("http://127.0.0.1:%d/metrics" % port, headers=headers, timeout=timeout)
    dt = time.monotonic() - t0
    if r.status != 200:
        raise TestFailure("scrape of :%d answered %d: %s" % (port, r.status, r.text[:500]))
    return r, parse_metrics(r.text), dt


def expect(port, check, timeout=15.0, what="metrics"):
    """Scrape until `check(metrics)` passes (it raises AssertionError otherwise)."""
    last = {}

    def ok():
        r, m, _ = scrape(port)
        last["text"] = r.text
        check(m)
        return r, m

    try:
        return wait_until(ok, timeout, interval=0.1, what=what)
    except TestFailure as e:
        raise TestFailure("%s\nlast scrape of :%d:\n%s" % (
            e, port, "\n".join(l for l in last.get("text", "").splitlines()
                               if l.startswith("mongodb_"))[:6000]))


def val(m, name, **labels):
    return frondtest.sample(m, name, **labels)


def eq(m, name, want, **labels):
    got = val(m, name, **labels)
    if got is None or abs(got - want) > 1e-6:
        raise AssertionError("%s%r = %r, want %r" % (name, labels, got, want))


def absent(m, name, **labels):
    if labels:
        got = val(m, name, **labels)
        if got is not None:
            raise AssertionError("%s%r = %r, want absent" % (name, labels, got))
    elif frondtest.series(m, name):
        raise AssertionError("%s present, want absent: %r" % (name, frondtest.series(m, name)))


class Cluster:
    """Three stand-in members and three exporters, one per member."""

    def __init__(self, h):
        self.h = h
        self.rs = replset.ReplicaSet().start()
        h.on_cleanup(self.rs.stop)
        self.rs.set_scenario("healthy")
        self.exporters = []
        self.ports = []
        for i in range(3):
            p, port = start_exporter(h, "exporter-m%d" % i, self.rs.uri(i))
            self.exporters.append(p)
            self.ports.append(port)

    @property
    def names(self):
        return [m.name for m in self.rs.members]

    def scenario(self, name):
        self.rs.set_scenario(name)
        return self.rs

    def log_marks(self):
        return [len(p.log()) for p in self.exporters]

    def logs_since(self, marks):
        return [p.log()[mark:] for p, mark in zip(self.exporters, marks)]
