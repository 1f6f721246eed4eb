#!/usr/bin/python3
"""Write the seed corpus of fuzz_mongodb_reply from the stand-in's scenarios.

Each file is what one exporter would fetch in one scrape of one member in
one scenario (see tests/integration/mongodb/replset.py): a flag byte, then
the BSON replies of serverStatus, replSetGetStatus, replSetGetConfig, the
first and last oplog entry finds and collStats (see fuzz_mongodb_reply.c).

    /usr/bin/python3 tests/fuzz/mongodb_corpus.py [outdir]
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "mongodb"))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "lib"))

import bson  # noqa: E402
import replset  # noqa: E402
from mongostandin import cursor_reply  # noqa: E402

REPLY_SCENARIOS = ["healthy", "secondary_lag_45s", "primary_lost", "failover", "arbiter",
                   "hidden_delayed",
                   "recovering", "unexpected_types"]


def scrape(rs, i):
    m = rs.members[i]
    if rs.mode == "garbage":
        docs = [replset.GARBAGE_SERVER_STATUS, replset.GARBAGE_STATUS(rs, m),
                replset.GARBAGE_CONFIG(rs), replset.GARBAGE_FIND, replset.GARBAGE_FIND,
                replset.GARBAGE_COLLSTATS]
    else:
        docs = [rs.server_status(m), rs.repl_status(m), rs.repl_config(),
                cursor_reply("local.oplog.rs", rs.oplog_entry(m, True)),
                cursor_reply("local.oplog.rs", rs.oplog_entry(m, False)),
                rs.oplog_stats(m)]
    return b"\x01" + b"".join(bson.encode(d) for d in docs)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "fuzz_mongodb_reply")
    os.makedirs(out, exist_ok=True)
    rs = replset.ReplicaSet()
    for i, m in enumerate(rs.members):
        m.name = "127.0.0.1:%d" % (27017 + i)
    n = 0
    for sc in REPLY_SCENARIOS:
        rs.set_scenario_model_only(sc)
        for i in range(len(rs.members)):
            if not rs.members[i].reachable:
                continue
            with open(os.path.join(out, "%s-m%d.bin" % (sc, i)), "wb") as f:
                f.write(scrape(rs, i))
            n += 1
    # A standalone server: serverStatus only, replSetGetStatus failed with 76 (flag bit 1).
    rs.set_scenario_model_only("healthy")
    with open(os.path.join(out, "standalone.bin"), "wb") as f:
        f.write(b"\x03" + bson.encode(rs.server_status(rs.members[0])))
    # A server that is down: nothing fetched.
    with open(os.path.join(out, "down.bin"), "wb") as f:
        f.write(b"\x00")
    print("wrote %d files to %s" % (n + 2, out))


if __name__ == "__main__":
    main()
