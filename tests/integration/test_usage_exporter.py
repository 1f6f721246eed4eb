"""Integration tests of frond_usage_exporter against the MongoDB stand-in.

What the exporter sends is asserted on the stand-in's side (the exact
count/aggregate commands: database, collection, filter or pipeline,
maxTimeMS), what it exposes on /metrics is asserted on the scrape, and
`promtool check metrics` must accept every exposition. Every test stops
the exporter with SIGTERM and requires exit code 0 (ASan leak check).
"""

import datetime
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "usage"))

from bson.decimal128 import Decimal128  # noqa: E402

import frondtest  # noqa: E402
from frondtest import TestFailure, promtool_check_metrics, sample, series, wait_until  # noqa: E402
from usagefix import (HANG, CommandError, UsageDB, scrape, start_exporter,  # noqa: E402
                      wait_metric)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def test_commands_and_values(h):
    """The configured commands arrive verbatim; values and labels come back out."""
    db = UsageDB().start()
    h.on_cleanup(db.stop)
    db.counts[("palm", "users")] = 1234
    db.counts[("palm", "sessions")] = 77
    db.aggs[("palm", "proposals")] = [
        {"_id": {"status": "open"}, "n": 5},
        {"_id": {"status": "closed"}, "n": 12},
        {"_id": {"status": "rejected"}, "n": 0.5},
    ]
    cfg = """
servers:
  main:
    uri: "${USAGE_TEST_URI}"
metrics:
  - name: palm_users
    help: Registered users.
    database: palm
    collection: users
    count: {deleted: {$ne: true}}
    const_labels: {platform: palm}
    interval: 1s
    timeout: 3s
  - name: palm_active_users
    help: Users seen in the last 24 hours.
    database: palm
    collection: sessions
    count: '{"$expr": {"$gte": ["$lastSeen", {"$subtract": ["$$NOW", 86400000]}]}}'
    interval: 1s
  - name: palm_active_users_placeholder
    database: palm
    collection: sessions
    count: {lastSeen: {$gte: {$frondNowMinus: 24h}}}
    interval: 1s
  - name: palm_proposals
    help: DAO proposals by status.
    database: palm
    collection: proposals
    aggregate:
      - $match: {dao: {$exists: true}}
      - $group: {_id: {status: $status}, n: {$sum: 1}}
    value: n
    labels: {_id.status: status}
    interval: 1s
    timeout: 2500ms
"""
    p, url = start_exporter(h, cfg, env={"USAGE_TEST_URI": db.uri})
    text, m = wait_metric(url, "palm_proposals", 12, status="closed")
    wait_metric(url, "palm_active_users_placeholder", 77)
    wait_metric(url, "palm_active_users", 77)
    wait_metric(url, "palm_users", 1234, platform="palm")

    # The count commands, exactly as configured.
    c = db.commands("count", coll="users")[0]
    check(c.db == "palm", "count db %r" % c.db)
    check(c.doc["query"] == {"deleted": {"$ne": True}}, "count filter %r" % c.doc["query"])
    check(c.doc["maxTimeMS"] == 3000, "count maxTimeMS %r" % c.doc.get("maxTimeMS"))
    c = db.commands("count", coll="sessions")
    exprs = [x for x in c if "$expr" in x.doc["query"]]
    check(exprs and exprs[0].doc["query"] == {
        "$expr": {"$gte": ["$lastSeen", {"$subtract": ["$$NOW", 86400000]}]}},
        "$$NOW filter %r" % (exprs and exprs[0].doc["query"]))
    check(exprs[0].doc["maxTimeMS"] == 10000, "default timeout -> maxTimeMS 10000")
    ph = [x for x in c if "lastSeen" in x.doc["query"]]
    got = ph[0].doc["query"]["lastSeen"]["$gte"]
    want = datetime.datetime.now(tz=datetime.timezone.utc) - datetime.timedelta(hours=24)
    check(isinstance(got, datetime.datetime) and
          abs((got.replace(tzinfo=datetime.timezone.utc) - want).total_seconds()) < 30,
          "$frondNowMinus became %r, want a date near %s" % (got, want))

    # The aggregate command, exactly as configured.
    a = db.commands("aggregate", coll="proposals")[0]
    check(a.db == "palm", "aggregate db")
    check(a.doc["pipeline"] == [{"$match": {"dao": {"$exists": True}}},
                                {"$group": {"_id": {"status": "$status"}, "n": {"$sum": 1}}}],
          "pipeline %r" % a.doc["pipeline"])
    check(a.doc["maxTimeMS"] == 2500, "aggregate maxTimeMS %r" % a.doc.get("maxTimeMS"))
    check("cursor" in a.doc, "aggregate without cursor")

    # What came out.
    text, m = wait_metric(url, "palm_users", 1234, platform="palm")
    check(sample(m, "palm_active_users") == 77, "active users")
    check(sample(m, "palm_proposals", status="open") == 5, "open proposals")
    check(sample(m, "palm_proposals", status="rejected") == 0.5, "rejected proposals")
    for name in ("palm_users", "palm_active_users", "palm_proposals"):
        check(sample(m, "usage_query_up", metric=name) == 1, "usage_query_up %s" % name)
        check(sample(m, "usage_query_errors_total", metric=name) == 0, "errors %s" % name)
        check(sample(m, "usage_query_last_success_timestamp_seconds", metric=name) > 1.6e9,
              "last success %s" % name)
        check(sample(m, "usage_query_duration_seconds", metric=name) is not None,
              "duration %s" % name)
    check(sample(m, "usage_query_samples", metric="palm_proposals") == 3, "samples")
    check(sample(m, "usage_up") == 1, "usage_up")
    check(sample(m, "usage_server_up", server="main") == 1, "usage_server_up")
    check(sample(m, "usage_exporter_scrape_duration_seconds") is not None, "scrape duration")
    check(any(k[0] == "frond_build_info" for k in m), "frond_build_info")
    check("# HELP palm_users Registered users. (cached: the query runs every 1s" in text,
          "HELP says the value is cached:\n" + text[:2000])
    check("# TYPE palm_users gauge" in text, "TYPE")
    promtool_check_metrics(text)

    # Queries run on their own schedule: the count keeps being sent without scrapes.
    n = len(db.commands("count", coll="users"))
    db.wait("count", "users", count=n + 2, timeout=10)
    # URIs are secret-bearing: never in the log.
    check(db.uri not in p.log(), "URI logged")
    p.stop()


def test_result_shapes(h):
    """Empty results, duplicate label sets, non-numeric values, missing labels, BSON types."""
    db = UsageDB().start()
    h.on_cleanup(db.stop)
    db.aggs[("palm", "empty")] = []
    db.aggs[("palm", "dups")] = [
        {"status": "open", "count": 1},
        {"status": "open", "count": 2},
        {"status": "closed", "count": 3},
    ]
    db.aggs[("palm", "mixed")] = [
        {"k": "int", "count": 7},
        {"k": "string-number", "count": "8"},
        {"k": "string-word", "count": "eight"},
        {"k": "bool", "count": True},
        {"k": "decimal", "count": Decimal128("9.25")},
        {"k": "date", "count": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},
        {"k": "array", "count": [1, 2]},
        {"k": "null", "count": None},
        {"k": "missing"},
        {"count": 10},
        {"k": ["x", 1], "count": 11},
    ]
    cfg = """
servers:
  main: {uri: "%s"}
global: {interval: 1s, timeout: 2s}
metrics:
  - {name: t_empty_absent, database: palm, collection: empty, aggregate: [], labels: [k]}
  - {name: t_empty_zero, database: palm, collection: empty, aggregate: [], labels: [k], empty: 0}
  - {name: t_dups, database: palm, collection: dups, aggregate: [], labels: [status]}
  - {name: t_mixed, database: palm, collection: mixed, aggregate: [], labels: {k: kind}}
  - {name: t_limit, database: palm, collection: mixed, aggregate: [], labels: [k], max_samples: 2}
""" % db.uri
    p, url = start_exporter(h, cfg)
    text, m = wait_metric(url, "usage_query_up", 1, metric="t_mixed")
    wait_until(lambda: all(sample(scrape(url)[1], "usage_query_up", metric=x) == 1
                           for x in ("t_empty_absent", "t_empty_zero", "t_dups")), 15,
               what="all queries up")
    wait_until(lambda: sample(scrape(url)[1], "usage_query_up", metric="t_limit") == 1, 15,
               what="t_limit up")
    text, m = scrape(url)

    check(not series(m, "t_empty_absent"), "empty: absent exposes nothing")
    check(sample(m, "usage_query_samples", metric="t_empty_absent") == 0, "0 samples")
    # One sample 0 with empty result labels (k="", which Prometheus treats as no label).
    check(series(m, "t_empty_zero") == [({"k": ""}, 0)],
          "empty: 0 exposes one sample 0: %r" % series(m, "t_empty_zero"))

    check(sample(m, "t_dups", status="open") == 1, "first duplicate kept")
    check(sample(m, "t_dups", status="closed") == 3, "non-duplicate kept")
    check(sample(m, "usage_query_duplicate_samples_total", metric="t_dups") >= 1,
          "duplicates counted")

    want = {"int": 7, "string-number": 8, "bool": 1, "decimal": 9.25, "date": 1704067200}
    for kind, v in want.items():
        check(sample(m, "t_mixed", kind=kind) == v, "t_mixed{kind=%s} = %r, want %r" % (
            kind, sample(m, "t_mixed", kind=kind), v))
    for kind in ("string-word", "array", "null", "missing"):
        check(sample(m, "t_mixed", kind=kind) is None, "t_mixed{kind=%s} must be absent" % kind)
    check(sample(m, "t_mixed", kind="") == 10, "missing label field gives an empty label")
    check(sample(m, "t_mixed", kind='[ "x", 1 ]') == 11, "array label as JSON: %r" % series(
        m, "t_mixed"))
    check(sample(m, "usage_query_skipped_documents_total", metric="t_mixed",
                 reason="non_numeric") >= 2, "non-numeric counted")
    check(sample(m, "usage_query_skipped_documents_total", metric="t_mixed",
                 reason="missing_value") >= 2, "missing values counted")
    promtool_check_metrics(text)

    # max_samples: the first documents are kept, the cut is counted.
    check(len(series(m, "t_limit")) == 2, "max_samples 2: %r" % series(m, "t_limit"))
    check(sample(m, "usage_query_skipped_documents_total", metric="t_limit",
                 reason="limit") >= 1, "limit counted")

    # Duplicates and cuts are logged once, however many runs repeat them.
    db.wait("aggregate", "dups", count=4)
    check(p.log().count("duplicate label sets") == 1, "duplicate log once:\n" + p.log())
    check(p.log().count("cut at max_samples") == 1, "cut log once:\n" + p.log())
    p.stop()


def test_timeout_isolated(h):
    """A query that never gets an answer fails alone; the others and the scrape carry on."""
    db = UsageDB().start()
    h.on_cleanup(db.stop)
    db.aggs[("palm", "slow")] = HANG
    db.aggs[("palm", "broken")] = CommandError(2, "bad $group", "BadValue")
    db.counts[("palm", "users")] = 5
    cfg = """
servers:
  main: {uri: "%s"}
metrics:
  - {name: t_slow, database: palm, collection: slow, aggregate: [], interval: 1s, timeout: 700ms}
  - {name: t_broken, database: palm, collection: broken, aggregate: [], interval: 1s}
  - {name: t_users, database: palm, collection: users, count: {}, interval: 1s, timeout: 5s}
""" % db.uri
    p, url = start_exporter(h, cfg)
    wait_metric(url, "usage_query_errors_total", None, timeout=15, metric="t_slow")
    wait_until(lambda: sample(scrape(url)[1], "usage_query_errors_total", metric="t_slow") >= 1,
               15, what="slow query timed out")
    t0 = time.monotonic()
    text, m = scrape(url)
    check(time.monotonic() - t0 < 1.0, "scrape waited for MongoDB")
    check(sample(m, "usage_query_up", metric="t_slow") == 0, "slow query down")
    check(sample(m, "t_slow") is None, "no value for the failed query")
    check(sample(m, "usage_query_up", metric="t_broken") == 0, "server error -> down")
    check(sample(m, "usage_query_errors_total", metric="t_broken") >= 1, "server error counted")
    wait_metric(url, "t_users", 5)
    text, m = scrape(url)
    check(sample(m, "usage_query_up", metric="t_users") == 1, "other query up")
    # A query timeout does not make a healthy server look down.
    check(sample(m, "usage_server_up", server="main") == 1, "server up despite the timeout")
    check(sample(m, "usage_up") == 1, "usage_up despite the timeout")
    # The maxTimeMS sent is the query's own timeout.
    slow = db.commands("aggregate", coll="slow")[0].doc
    check(slow.get("maxTimeMS") == 700, "maxTimeMS 700: %r" % slow)
    # It keeps being retried on its interval (a new run after the timeout).
    db.wait("aggregate", "slow", count=2, timeout=10)
    check("query failed" in p.log() and "t_slow" in p.log(), "failure logged")
    promtool_check_metrics(text)
    p.stop(timeout=20)


def test_server_down(h):
    """A server that is down: its queries report 0, the other server's carry on, scrape 200."""
    db = UsageDB().start()
    h.on_cleanup(db.stop)
    db.counts[("palm", "users")] = 3
    dead = frondtest.free_port()
    cfg = """
servers:
  up: {uri: "%s"}
  down: {uri_env: USAGE_DOWN_URI}
metrics:
  - {name: t_up, server: up, database: palm, collection: users, count: {}, interval: 1s,
     timeout: 2s}
  - {name: t_down, server: down, database: palm, collection: users, count: {}, interval: 1s,
     timeout: 500ms}
""" % db.uri
    p, url = start_exporter(h, cfg, env={
        "USAGE_DOWN_URI": "mongodb://user:hunter2@127.0.0.1:%d/?directConnection=true" % dead})
    wait_until(lambda: sample(scrape(url)[1], "usage_query_errors_total", metric="t_down") >= 1,
               15, what="down server query failed")
    text, m = wait_metric(url, "t_up", 3)
    check(sample(m, "usage_query_up", metric="t_down") == 0, "t_down down")
    check(sample(m, "t_down") is None, "t_down absent")
    check(sample(m, "usage_server_up", server="down") == 0, "server down")
    check(sample(m, "usage_server_up", server="up") == 1, "server up")
    check(sample(m, "usage_up") == 0, "usage_up 0 when a server is down")
    check("hunter2" not in p.log(), "password logged")
    promtool_check_metrics(text)

    # The live server goes away too: its queries fail, the exporter keeps answering.
    db.stop()
    wait_until(lambda: sample(scrape(url)[1], "usage_query_up", metric="t_up") == 0, 20,
               what="t_up down after the server stopped")
    p.stop(timeout=25)


def test_reload(h):
    """SIGHUP: a bad config is rejected and the old one keeps running; a good one swaps in."""
    db = UsageDB().start()
    h.on_cleanup(db.stop)
    db.counts[("palm", "users")] = 10
    db.counts[("palm", "gone")] = 15
    db.counts[("palm", "dao")] = 20
    users = "  - {name: t_users, database: palm, collection: users, count: {}, interval: 1s}\n"
    good1 = """
servers:
  main: {uri: "%s"}
metrics:
""" % db.uri + users + \
        "  - {name: t_gone, database: palm, collection: gone, count: {}, interval: 1s}\n"
    p, url = start_exporter(h, good1)
    wait_metric(url, "t_users", 10)
    text, m = wait_metric(url, "t_gone", 15)
    check(sample(m, "usage_config_last_reload_successful") == 1, "initial load ok")

    # A broken file: rejected, the running queries go on.
    with open(p.config_path, "w") as f:
        f.write(good1 + "  - {name: t_dao, database: palm, colection: dao, count: {}}\n")
    n = len(db.commands("count", coll="users"))
    p.p.send_signal(signal.SIGHUP)
    wait_metric(url, "usage_config_last_reload_successful", 0)
    wait_until(lambda: "reload rejected" in p.log(), 10, what="rejection logged")
    check("usage.yml:7:" in p.log(), "rejection names file:line:\n" + p.log()[-2000:])
    db.wait("count", "users", count=n + 2)
    text, m = scrape(url)
    check(sample(m, "t_users") == 10 and sample(m, "t_gone") == 15 and
          sample(m, "t_dao") is None, "old config still runs")

    # A good file: swapped in. The removed metric disappears, the new one appears, the
    # unchanged one keeps its value and its counters.
    runs = sample(m, "usage_query_runs_total", metric="t_users")
    with open(p.config_path, "w") as f:
        f.write("""
servers:
  main: {uri: "%s"}
metrics:
""" % db.uri + users +
                "  - {name: t_dao, database: palm, collection: dao, count: {}, interval: 1s}\n")
    p.p.send_signal(signal.SIGHUP)
    # Scrape all through the swap: every scrape shows the old set or the new one, never both.
    deadline = time.monotonic() + 20
    while True:
        text, m = scrape(url)
        check(not (sample(m, "t_gone") is not None and sample(m, "t_dao") is not None),
              "a scrape mixed the old and the new config")
        if sample(m, "t_dao") == 20:
            break
        check(time.monotonic() < deadline, "t_dao did not appear after the reload")
    check(sample(m, "usage_config_last_reload_successful") == 1, "reload ok")
    check(sample(m, "t_users") == 10, "unchanged metric kept")
    check(sample(m, "usage_query_runs_total", metric="t_users") >= runs,
          "counters of an unchanged metric survive the reload")
    check(sample(m, "t_gone") is None, "removed metric gone")
    check(sample(m, "usage_query_up", metric="t_gone") is None, "removed query gone")
    check("configuration reloaded" in p.log(), "reload logged")
    promtool_check_metrics(text)
    p.stop()


def test_palm_example(h):
    """The shipped Palm example config, against Palm-shaped data: every metric comes out."""
    from palm_standin import PalmDB
    db = PalmDB().start()
    h.on_cleanup(db.stop)
    with open(os.path.join(frondtest.SOURCE_DIR, "exporters", "usage", "examples",
                           "palm.yml")) as f:
        cfg = f.read()
    p, url = start_exporter(h, cfg, env={"PALM_MONGODB_URI": db.uri})
    wait_until(lambda: frondtest.http(url + "/-/ready", timeout=2).status == 200, 15,
               what="every query ran once (ready)")
    text, m = scrape(url)
    want = [
        ("palm_users", {}, 15230),
        ("palm_active_users_24h", {}, 2310),
        ("palm_active_users_7d", {}, 6904),
        ("palm_active_users_30d", {}, 9871),
        ("palm_discord_verified_accounts", {}, 6120),
        ("palm_dao_proposals", {"status": "passed"}, 143),
        ("palm_validations_last_hour", {"result": "invalid"}, 41),
        ("palm_validations_total", {"result": "valid"}, 2104577),
    ]
    for name, labels, v in want:
        check(sample(m, name, **labels) == v, "%s%r = %r, want %r" % (
            name, labels, sample(m, name, **labels), v))
    check("# TYPE palm_validations_total counter" in text, "counter type")
    check(sample(m, "usage_up") == 1, "usage_up")
    promtool_check_metrics(text)

    # A real Prometheus (which negotiates OpenMetrics) ingests it all.
    prom = frondtest.Prometheus(h, [{"job_name": "usage", "static_configs": [
        {"targets": [url.replace("http://", "")]}]}])
    prom.wait_value('palm_dao_proposals{status="passed"}', 143)
    prom.wait_value('palm_validations_total{result="error"}', 1207)
    prom.wait_value('up{job="usage"}', 1)
    prom.wait_value('count(usage_query_up{job="usage"} == 1)', 8)
    prom.stop()
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("usage", [
        test_commands_and_values,
        test_result_shapes,
        test_timeout_isolated,
        test_server_down,
        test_reload,
        test_palm_example,
    ])
