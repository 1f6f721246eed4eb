"""frond_mongodb_exporter against a scripted 3-member replica set.

One set of three stand-in members and three exporters (one per member,
direct connections) walks through the named scenarios of
tests/integration/mongodb/replset.py; each test asserts what the exporters
expose on /metrics, that `promtool check metrics` accepts it, and what the
exporters logged. The last test stops the exporters with SIGTERM and
requires exit code 0 (the ASan leak check).
"""

import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "mongodb"))

import frondtest  # noqa: E402
from frondtest import Harness, TestFailure, promtool_check_metrics, series  # noqa: E402
from mongofix import Cluster, absent, eq, expect, scrape, val  # noqa: E402

_shared = {}


def cluster():
    """The shared cluster, started by the first test that needs it."""
    if "c" not in _shared:
        h = Harness("mongodb-cluster")
        _shared["h"] = h
        _shared["c"] = Cluster(h)
    return _shared["c"]


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def lag_checks(c, view_port_idx):
    """A check function asserting the scenario's expected lag on every member."""
    want = c.rs.expect["lag"]

    def chk(m):
        for name, lag in want.items():
            if lag is None:
                absent(m, "mongodb_replset_member_replication_lag_seconds", set="rs0",
                       member=name)
            else:
                eq(m, "mongodb_replset_member_replication_lag_seconds", lag, set="rs0",
                   member=name)
    return chk


def test_healthy(h):
    """Primary and two secondaries: states, lag, oplog, server status, promtool."""
    c = cluster()
    rs = c.scenario("healthy")
    names = c.names
    for i, port in enumerate(c.ports):
        def chk(m, i=i):
            eq(m, "mongodb_up", 1)
            eq(m, "mongodb_replset_enabled", 1)
            eq(m, "mongodb_replset_my_state", 1 if i == 0 else 2, set="rs0")
            eq(m, "mongodb_replset_info", 1, set="rs0", self=names[i])
            eq(m, "mongodb_replset_member_self", 1, set="rs0", member=names[i])
            eq(m, "mongodb_replset_primary_present", 1, set="rs0")
            eq(m, "mongodb_replset_members", 3, set="rs0")
            eq(m, "mongodb_replset_term", 3, set="rs0")
            eq(m, "mongodb_replset_last_election_timestamp_seconds", rs.members[0].election,
               set="rs0")
            eq(m, "mongodb_replset_member_state", 1, set="rs0", member=names[0])
            eq(m, "mongodb_replset_member_state", 2, set="rs0", member=names[2])
            eq(m, "mongodb_replset_member_state_name", 1, set="rs0", member=names[0],
               mongodb_replset_member_state_name="PRIMARY")
            eq(m, "mongodb_replset_member_state_name", 0, set="rs0", member=names[0],
               mongodb_replset_member_state_name="SECONDARY")
            eq(m, "mongodb_replset_member_health", 1, set="rs0", member=names[1])
            eq(m, "mongodb_replset_member_optime_timestamp_seconds", rs.members[1].optime,
               set="rs0", member=names[1])
            eq(m, "mongodb_replset_member_config_version", 5, set="rs0", member=names[1])
            eq(m, "mongodb_replset_config_version", 5, set="rs0")
            other = names[(i + 1) % 3]
            eq(m, "mongodb_replset_member_ping_seconds",
               rs.members[(i + 1) % 3].ping_ms / 1000.0, set="rs0", member=other)
            check(val(m, "mongodb_replset_member_last_heartbeat_timestamp_seconds",
                      set="rs0", member=other) is not None, "heartbeat of a peer missing")
            absent(m, "mongodb_replset_member_last_heartbeat_timestamp_seconds", set="rs0",
                   member=names[i])
            absent(m, "mongodb_replset_member_ping_seconds", set="rs0", member=names[i])
            lag_checks(c, i)(m)
            eq(m, "mongodb_oplog_window_seconds", 86400)
            eq(m, "mongodb_oplog_last_timestamp_seconds", int(rs.members[i].optime))
            eq(m, "mongodb_oplog_max_size_bytes", 990 * 1048576)
            eq(m, "mongodb_oplog_size_bytes", 512 * 1048576 + i)
            eq(m, "mongodb_connections_current", 12 + i)
            eq(m, "mongodb_connections_available", 838848 - i)
            eq(m, "mongodb_opcounters_total", 1000 + i, type="insert")
            eq(m, "mongodb_opcounters_repl_total", 10 * i, type="insert")
            eq(m, "mongodb_asserts_total", 17 + i, type="user")
            eq(m, "mongodb_uptime_seconds", 3600 + 100 * i)
            eq(m, "mongodb_version_info", 1, version="6.0.12", process="mongod")
            eq(m, "mongodb_exporter_scrape_timed_out", 0)
            check(val(m, "mongodb_exporter_scrape_duration_seconds") is not None,
                  "scrape duration missing")
        r, m = expect(port, chk, what="healthy view of m%d" % i)
        promtool_check_metrics(r.text)
    # The commands the exporter sent, as the member saw them.
    got = [(x.name, x.db) for x in c.rs.standins[1].commands()]
    for cmd in [("serverStatus", "admin"), ("replSetGetStatus", "admin"),
                ("replSetGetConfig", "admin"), ("find", "local"), ("collStats", "local")]:
        check(cmd in got, "m1 never received %r: %r" % (cmd, got[-10:]))
    find = [x.doc for x in c.rs.standins[1].commands("find")][-2:]
    check(sorted(list(d["sort"].values())[0] for d in find) == [-1, 1],
          "oplog finds not sorted $natural 1/-1: %r" % find)
    check(all(d.get("limit") == 1 and d.get("find") == "oplog.rs" for d in find),
          "oplog finds: %r" % find)
    # OpenMetrics negotiation works too.
    r = frondtest.http("http://127.0.0.1:%d/metrics" % c.ports[0],
                       headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    check(r.status == 200 and "openmetrics" in (r.header("Content-Type") or ""),
          "OpenMetrics scrape: %d %s" % (r.status, r.header("Content-Type")))
    check("# TYPE mongodb_replset_member_state_name stateset" in r.text,
          "stateset not typed in OpenMetrics")
    check(r.text.rstrip().endswith("# EOF"), "OpenMetrics without # EOF")


def test_secondary_lag_45s(h):
    """One secondary 45 s behind: every member's view reports 45 for it."""
    c = cluster()
    c.scenario("secondary_lag_45s")
    for i, port in enumerate(c.ports):
        def chk(m):
            eq(m, "mongodb_replset_member_replication_lag_seconds", 45, set="rs0",
               member=c.names[2])
            eq(m, "mongodb_replset_member_replication_lag_seconds", 0.5, set="rs0",
               member=c.names[1])
            eq(m, "mongodb_replset_member_replication_lag_seconds", 0, set="rs0",
               member=c.names[0])
        r, _ = expect(port, chk, what="45 s lag seen by m%d" % i)
        promtool_check_metrics(r.text)


def test_primary_lost(h):
    """The primary died, an election is running: no lag anywhere, its exporter says up 0."""
    c = cluster()
    marks = c.log_marks()
    rs = c.scenario("primary_lost")
    for i in (1, 2):
        def chk(m):
            eq(m, "mongodb_up", 1)
            eq(m, "mongodb_replset_primary_present", 0, set="rs0")
            absent(m, "mongodb_replset_member_replication_lag_seconds")
            absent(m, "mongodb_replset_last_election_timestamp_seconds")
            eq(m, "mongodb_replset_term", 4, set="rs0")
            eq(m, "mongodb_replset_member_health", 0, set="rs0", member=c.names[0])
            eq(m, "mongodb_replset_member_state", 8, set="rs0", member=c.names[0])
            eq(m, "mongodb_replset_member_state_name", 1, set="rs0", member=c.names[0],
               mongodb_replset_member_state_name="DOWN")
            absent(m, "mongodb_replset_member_optime_timestamp_seconds", set="rs0",
                   member=c.names[0])
        r, _ = expect(c.ports[i], chk, what="no-primary view of m%d" % i)
        promtool_check_metrics(r.text)

    def down(m):
        eq(m, "mongodb_up", 0)
        absent(m, "mongodb_replset_enabled")
    r, m, dt = scrape(c.ports[0])
    expect(c.ports[0], down, what="m0 down")
    check(rs.standins[0]._server is None, "m0's stand-in should be stopped")
    for _ in range(3):
        scrape(c.ports[0])
    logs = c.logs_since(marks)
    n = logs[0].count("MongoDB is not reachable")
    check(n == 1, "m0's exporter logged the outage %d times, want once:\n%s" % (n, logs[0]))


def test_failover_keeps_label_sets(h):
    """After a failover the state series keep their label sets; only values move."""
    c = cluster()
    c.scenario("healthy")
    expect(c.ports[2], lambda m: eq(m, "mongodb_replset_member_state", 1, set="rs0",
                                    member=c.names[0]))
    _, before, _ = scrape(c.ports[2])
    c.scenario("failover")

    def chk(m):
        eq(m, "mongodb_replset_member_state", 1, set="rs0", member=c.names[1])
        eq(m, "mongodb_replset_member_state", 2, set="rs0", member=c.names[0])
        eq(m, "mongodb_replset_member_state_name", 1, set="rs0", member=c.names[1],
           mongodb_replset_member_state_name="PRIMARY")
        eq(m, "mongodb_replset_term", 4, set="rs0")
        eq(m, "mongodb_replset_member_replication_lag_seconds", 3, set="rs0", member=c.names[0])
        eq(m, "mongodb_replset_member_replication_lag_seconds", 0, set="rs0", member=c.names[1])
        eq(m, "mongodb_replset_last_election_timestamp_seconds", c.rs.members[1].election,
           set="rs0")
    r, after = expect(c.ports[2], chk, what="failover seen by m2")
    promtool_check_metrics(r.text)
    for name in ("mongodb_replset_member_state_name", "mongodb_replset_member_state",
                 "mongodb_replset_member_health", "mongodb_replset_info"):
        lb = sorted(sorted(l.items()) for l, _ in series(before, name))
        la = sorted(sorted(l.items()) for l, _ in series(after, name))
        check(lb == la, "%s label sets changed on failover:\n%r\n%r" % (name, lb, la))


def test_arbiter(h):
    """An arbiter: no lag, no optime, no oplog queries; its own exporter still works."""
    c = cluster()
    c.scenario("arbiter")
    arb = c.names[2]
    for i, port in enumerate(c.ports):
        def chk(m):
            absent(m, "mongodb_replset_member_replication_lag_seconds", set="rs0", member=arb)
            eq(m, "mongodb_replset_member_replication_lag_seconds", 1.5, set="rs0",
               member=c.names[1])
            eq(m, "mongodb_replset_member_state", 7, set="rs0", member=arb)
            eq(m, "mongodb_replset_member_arbiter_only", 1, set="rs0", member=arb)
            eq(m, "mongodb_replset_member_arbiter_only", 0, set="rs0", member=c.names[0])
            absent(m, "mongodb_replset_member_optime_timestamp_seconds", set="rs0", member=arb)
        r, _ = expect(port, chk, what="arbiter seen by m%d" % i)
        promtool_check_metrics(r.text)
    c.rs.standins[2].clear()

    def arb_view(m):
        eq(m, "mongodb_up", 1)
        eq(m, "mongodb_replset_my_state", 7, set="rs0")
        absent(m, "mongodb_oplog_window_seconds")
    expect(c.ports[2], arb_view, what="the arbiter's own view")
    check(not c.rs.standins[2].commands("find"), "the arbiter was asked for its oplog")


def test_hidden_delayed(h):
    """A hidden member delayed by an hour: hidden 1, delay 3600, lag 3600."""
    c = cluster()
    c.scenario("hidden_delayed")
    hid = c.names[2]
    for i, port in enumerate(c.ports):
        def chk(m):
            eq(m, "mongodb_replset_member_hidden", 1, set="rs0", member=hid)
            eq(m, "mongodb_replset_member_hidden", 0, set="rs0", member=c.names[1])
            eq(m, "mongodb_replset_member_secondary_delay_seconds", 3600, set="rs0", member=hid)
            eq(m, "mongodb_replset_member_secondary_delay_seconds", 0, set="rs0",
               member=c.names[0])
            eq(m, "mongodb_replset_member_priority", 0, set="rs0", member=hid)
            eq(m, "mongodb_replset_member_replication_lag_seconds", 3600, set="rs0", member=hid)
        r, _ = expect(port, chk, what="hidden delayed member seen by m%d" % i)
        promtool_check_metrics(r.text)


def test_recovering_startup2(h):
    """RECOVERING (lag known) and STARTUP2 (initial sync, no optime: lag absent)."""
    c = cluster()
    c.scenario("recovering")
    for i, port in enumerate(c.ports):
        def chk(m):
            eq(m, "mongodb_replset_member_state", 3, set="rs0", member=c.names[1])
            eq(m, "mongodb_replset_member_state_name", 1, set="rs0", member=c.names[1],
               mongodb_replset_member_state_name="RECOVERING")
            eq(m, "mongodb_replset_member_state", 5, set="rs0", member=c.names[2])
            eq(m, "mongodb_replset_member_state_name", 1, set="rs0", member=c.names[2],
               mongodb_replset_member_state_name="STARTUP2")
            eq(m, "mongodb_replset_member_replication_lag_seconds", 120, set="rs0",
               member=c.names[1])
            absent(m, "mongodb_replset_member_replication_lag_seconds", set="rs0",
                   member=c.names[2])
            absent(m, "mongodb_replset_member_optime_timestamp_seconds", set="rs0",
                   member=c.names[2])
            # The stateset keeps all ten series per member: no label churn.
            check(len([s for s in series(m, "mongodb_replset_member_state_name")
                       if s[0]["member"] == c.names[2]]) == 10, "stateset not complete")
        r, _ = expect(port, chk, what="recovering/startup2 seen by m%d" % i)
        promtool_check_metrics(r.text)


def test_standalone(h):
    """Not a replica set (76, 94): mongodb_replset_enabled 0, one log line, no flood."""
    c = cluster()
    marks = c.log_marks()
    c.scenario("standalone")
    for i in (0, 1):
        def chk(m):
            eq(m, "mongodb_up", 1)
            eq(m, "mongodb_replset_enabled", 0)
            absent(m, "mongodb_replset_member_state")
            absent(m, "mongodb_replset_info")
            absent(m, "mongodb_oplog_window_seconds")
            eq(m, "mongodb_connections_current", 12 + i)
        r, _ = expect(c.ports[i], chk, what="standalone m%d" % i)
        promtool_check_metrics(r.text)
        for _ in range(3):
            scrape(c.ports[i])
    logs = c.logs_since(marks)
    for i in (0, 1):
        n = logs[i].count("not a replica set member")
        check(n == 1, "m%d logged 'not a replica set' %d times:\n%s" % (i, n, logs[i]))
        check("level=warn" not in logs[i] and "level=error" not in logs[i],
              "standalone logged warnings:\n%s" % logs[i])


def test_unexpected_types(h):
    """Every field of the wrong BSON type: 200, up 1, the bad samples absent, promtool ok."""
    c = cluster()
    c.scenario("unexpected_types")
    for i, port in enumerate(c.ports):
        def chk(m):
            eq(m, "mongodb_up", 1)
            eq(m, "mongodb_replset_enabled", 1)
            eq(m, "mongodb_opcounters_total", 9000, type="command")
            absent(m, "mongodb_opcounters_total", type="insert")
            absent(m, "mongodb_replset_member_replication_lag_seconds")
            absent(m, "mongodb_replset_my_state")
            absent(m, "mongodb_version_info")
            absent(m, "mongodb_oplog_window_seconds")
            absent(m, "mongodb_oplog_size_bytes")
            eq(m, "mongodb_replset_member_state", 2, set="rs0", member=c.names[1])
        r, _ = expect(port, chk, what="garbage replies to m%d" % i)
        promtool_check_metrics(r.text)
    for p in c.exporters:
        check(p.alive(), "%s died on unexpected types" % p.name)


def test_never_answers(h):
    """A server that never replies: the scrape still returns within its deadline."""
    c = cluster()
    marks = c.log_marks()
    c.scenario("never_answers")
    for port in c.ports:
        r, m, dt = scrape(port, timeout_header=2)
        # Deadline = 2 s - 0.5 s offset; the rest is slack for a loaded CI machine.
        check(dt < 2.5, "scrape took %.2fs with a 2 s scrape timeout" % dt)
        eq(m, "mongodb_up", 0)
        promtool_check_metrics(r.text)
    # Without the header the exporter's own --mongodb.timeout (4 s) bounds it.
    r, m, dt = scrape(c.ports[0])
    check(dt < 4.5, "scrape took %.2fs with --mongodb.timeout=4s" % dt)
    eq(m, "mongodb_up", 0)
    # Back to normal: the same exporters recover.
    c.scenario("healthy")
    for port in c.ports:
        expect(port, lambda m: eq(m, "mongodb_up", 1), timeout=20, what="recovery")
    logs = c.logs_since(marks)
    for i, lg in enumerate(logs):
        n = lg.count("MongoDB is not reachable")
        check(1 <= n <= 2, "m%d logged the outage %d times:\n%s" % (i, n, lg))
        check("reachable again" in lg, "m%d did not log the recovery:\n%s" % (i, lg))


def test_not_listening(h):
    """Nothing listens: mongodb_up 0 with HTTP 200, fast, one log line per exporter."""
    c = cluster()
    marks = c.log_marks()
    c.scenario("not_listening")
    for port in c.ports:
        def chk(m):
            eq(m, "mongodb_up", 0)
            absent(m, "mongodb_replset_enabled")
        r, _ = expect(port, chk, what="connection refused")
        promtool_check_metrics(r.text)
        r, m, dt = scrape(port)
        check(dt < 2.5, "scrape of a refused server took %.2fs" % dt)
        scrape(port)
    logs = c.logs_since(marks)
    for i, lg in enumerate(logs):
        n = lg.count("MongoDB is not reachable")
        check(n == 1, "m%d logged the outage %d times:\n%s" % (i, n, lg))
    c.scenario("healthy")
    for port in c.ports:
        expect(port, lambda m: eq(m, "mongodb_up", 1), timeout=20, what="restart")


def test_concurrent_scrapes(h):
    """Scrapes in parallel on one exporter are all answered correctly (pooled clients)."""
    c = cluster()
    c.scenario("secondary_lag_45s")
    expect(c.ports[0], lambda m: eq(m, "mongodb_replset_member_replication_lag_seconds", 45,
                                    set="rs0", member=c.names[2]))
    errors = []

    def worker():
        try:
            for _ in range(5):
                _, m, _ = scrape(c.ports[0])
                eq(m, "mongodb_up", 1)
                eq(m, "mongodb_replset_member_replication_lag_seconds", 45, set="rs0",
                   member=c.names[2])
        except Exception as e:  # collected and reported below
            errors.append(e)
    ts = [threading.Thread(target=worker) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check(not errors, "concurrent scrapes failed: %r" % errors[:3])


def test_zz_exporters_exit_cleanly(h):
    """SIGTERM: every exporter exits 0 (no leak under ASan), even after hung servers."""
    c = cluster()
    for p in c.exporters:
        t0 = time.monotonic()
        p.stop(timeout=30)
        check(time.monotonic() - t0 < 15, "%s took too long to stop" % p.name)


if __name__ == "__main__":
    code = 1
    try:
        frondtest.run_tests("mongodb-scenarios", [
            test_healthy, test_secondary_lag_45s, test_primary_lost,
            test_failover_keeps_label_sets, test_arbiter,
            test_hidden_delayed, test_recovering_startup2, test_standalone,
            test_unexpected_types, test_never_answers, test_not_listening,
            test_concurrent_scrapes, test_zz_exporters_exit_cleanly])
    except SystemExit as e:
        code = e.code
    finally:
        if "h" in _shared:
            _shared["h"].close(code != 0)
    sys.exit(code)
