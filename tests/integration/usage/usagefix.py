"""Fixtures for the usage exporter's integration tests and benchmark.

`UsageDB` is a scripted MongoDB built on the shared wire-protocol core
(tests/integration/lib/mongostandin.py): it answers `count` and `aggregate`
from per-collection scripts and records every command, so a test can assert
on exactly what the exporter sent (database, collection, filter or
pipeline, maxTimeMS) as well as on what it exposed.

A script per (database, collection):
    db.counts[("palm", "users")] = 42                 # count answers n=42
    db.aggs[("palm", "proposals")] = [{...}, {...}]   # aggregate answers these docs
    db.aggs[("palm", "slow")] = HANG                  # never answered (a timeout)
    db.aggs[("palm", "broken")] = CommandError(...)   # a server-side error
A callable script gets the command document and returns one of the above.

`start_exporter(h, cfg_text)` writes the config into the harness temp dir,
starts frond_usage_exporter on a free port and waits until it serves.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import frondtest  # noqa: E402
from frondtest import binary, free_port, http, wait_until  # noqa: E402
from mongostandin import (CommandError, HANG, MongoStandin, cursor_reply,  # noqa: E402,F401
                          utc)

EXPORTER = ("exporters", "usage", "frond_usage_exporter")


class UsageDB:
    """A stand-in mongod answering count/aggregate from scripts (see module docstring)."""

    def __init__(self):
        self.counts = {}
        self.aggs = {}
        self.standin = MongoStandin(handlers={"count": self._count, "aggregate": self._agg},
                                    label="usage")

    def start(self):
        self.standin.start()
        return self

    def stop(self):
        self.standin.stop()

    @property
    def uri(self):
        return self.standin.uri

    def commands(self, name, db=None, coll=None):
        out = []
        for r in self.standin.commands(name):
            if db is not None and r.db != db:
                continue
            if coll is not None and r.doc.get(name) != coll:
                continue
            out.append(r)
        return out

    def wait(self, name, coll, count=1, timeout=15.0):
        return wait_until(lambda: len(self.commands(name, coll=coll)) >= count and
                          self.commands(name, coll=coll)[count - 1], timeout,
                          what="%d %s command(s) on %s" % (count, name, coll))

    @staticmethod
    def _resolve(script, cmd):
        if callable(script):
            script = script(cmd)
        if isinstance(script, CommandError):
            raise script
        return script

    def _count(self, cmd, standin):
        key = (cmd.get("$db"), cmd.get("count"))
        if key not in self.counts:
            return {"n": 0}
        v = self._resolve(self.counts[key], cmd)
        if v is HANG:
            return HANG
        return {"n": v}

    def _agg(self, cmd, standin):
        key = (cmd.get("$db"), cmd.get("aggregate"))
        docs = self._resolve(self.aggs.get(key, []), cmd)
        if docs is HANG:
            return HANG
        return cursor_reply("%s.%s" % key, docs)


def start_exporter(h, cfg_text, name="usage", extra=(), env=None):
    """Start the exporter with this config; returns (proc, base_url)."""
    cfg = h.path("%s.yml" % name)
    with open(cfg, "w") as f:
        f.write(cfg_text)
    port = free_port()
    p = h.start(name, [binary(*EXPORTER), "--config.file=%s" % cfg,
                       "--web.listen-address=127.0.0.1:%d" % port] + list(extra), env=env)
    url = "http://127.0.0.1:%d" % port
    wait_until(lambda: http(url + "/-/healthy", timeout=1).status == 200, 20,
               what="%s healthy" % name)
    p.config_path = cfg
    return p, url


def scrape(url):
    r = http(url + "/metrics")
    if r.status != 200:
        raise frondtest.TestFailure("scrape: HTTP %d %s" % (r.status, r.text[:500]))
    return r.text, frondtest.parse_metrics(r.text)


def wait_metric(url, name, want=None, timeout=15.0, **labels):
    """Poll until the series exists (and equals `want` if given); returns the last scrape."""
    def ok():
        text, m = scrape(url)
        v = frondtest.sample(m, name, **labels)
        if v is None or (want is not None and v != want):
            return None
        return text, m
    return wait_until(ok, timeout, what="%s%r == %r" % (name, labels, want))
