"""A real Prometheus scrapes three frond_mongodb_exporters, one per member.

The stand-in set runs the "secondary_lag_45s" scenario; the PromQL of
exporters/mongodb/README.md must give each member's lag (0, 0.5 and 45 s),
the oplog headroom of the lagging member, and no "no primary" alert.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "mongodb"))

import frondtest  # noqa: E402
from frondtest import Prometheus, TestFailure, wait_until  # noqa: E402
from mongofix import start_exporter  # noqa: E402
import replset  # noqa: E402

LAG_SELF = ("mongodb_replset_member_replication_lag_seconds"
            " and on (instance, member) (mongodb_replset_member_self == 1)")
HEADROOM = ("scalar(max(mongodb_oplog_window_seconds and on (instance)"
            " (mongodb_replset_my_state == 1)))"
            " - max by (set, member) (mongodb_replset_member_replication_lag_seconds)")


def test_prometheus_lag_query(h):
    rs = replset.ReplicaSet().start()
    h.on_cleanup(rs.stop)
    rs.set_scenario("secondary_lag_45s")
    procs, targets = [], []
    for i in range(3):
        p, port = start_exporter(h, "exporter-m%d" % i, rs.uri(i))
        procs.append(p)
        targets.append("127.0.0.1:%d" % port)
    prom = Prometheus(h, [{"job_name": "mongodb", "static_configs": [{"targets": targets}]}])

    def by_member(expr, n):
        res = prom.query(expr)
        if len(res) != n:
            return None
        return {r["metric"].get("member"): float(r["value"][1]) for r in res}

    names = [m.name for m in rs.members]
    want = {names[0]: 0.0, names[1]: 0.5, names[2]: 45.0}
    got = wait_until(lambda: by_member(LAG_SELF, 3) == want and by_member(LAG_SELF, 3), 60,
                     interval=0.5, what="lag per member from Prometheus")
    if got != want:
        raise TestFailure("lag per member %r, want %r" % (got, want))
    head = wait_until(lambda: by_member(HEADROOM, 3), 30, interval=0.5, what="headroom")
    if head.get(names[2]) != 86400 - 45.0:
        raise TestFailure("headroom %r" % head)
    res = prom.query("max by (set) (mongodb_replset_primary_present) == 0")
    if res:
        raise TestFailure("'no primary' fired on a healthy set: %r" % res)
    res = prom.query("count(mongodb_up == 1)")
    if not res or float(res[0]["value"][1]) != 3:
        raise TestFailure("not all three exporters up: %r" % res)
    prom.stop()
    for p in procs:
        p.stop()


if __name__ == "__main__":
    frondtest.run_tests("mongodb-prometheus", [test_prometheus_lag_query])
