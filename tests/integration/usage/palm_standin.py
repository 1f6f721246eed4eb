"""The Palm platform's usage data, served by the MongoDB stand-in.

Answers the queries of exporters/usage/examples/palm.yml with plausible,
fixed numbers, so the example can be shown (scripts/demo/usage.sh) and
tested (test_usage_exporter.test_palm_example) without a MongoDB server.
Counts on `users` are told apart by their filter, as a real server would.

As a program: prints the stand-in's URI on stdout (and to the file given
as the first argument, if any), then serves until SIGTERM/SIGINT.
"""

import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from usagefix import UsageDB  # noqa: E402

USERS = 15230
VERIFIED_DISCORD = 6120
ACTIVE = {86400000: 2310, 604800000: 6904}  # $$NOW windows in ms
ACTIVE_30D = 9871                            # the $frondNowMinus window
PROPOSALS = {"draft": 12, "active": 7, "passed": 143, "rejected": 38}
VALIDATIONS_LAST_HOUR = {"valid": 1820, "invalid": 41, "error": 3}
VALIDATIONS = {"valid": 2104577, "invalid": 50210, "error": 1207}


def users_count(cmd):
    q = cmd.get("query") or {}
    if "$expr" in q:
        window = q["$expr"]["$gte"][1]["$subtract"][1]
        return ACTIVE.get(int(window), 0)
    if "lastSeenAt" in q:
        return ACTIVE_30D
    if q.get("discord.verified") is True:
        return VERIFIED_DISCORD
    return USERS


def validations(cmd):
    stages = cmd.get("pipeline") or []
    if stages and "$match" in stages[0]:
        return [{"result": k, "count": v} for k, v in VALIDATIONS_LAST_HOUR.items()]
    return [{"_id": k, "count": v} for k, v in VALIDATIONS.items()]


class PalmDB(UsageDB):
    def __init__(self):
        super().__init__()
        self.counts[("palm", "users")] = users_count
        self.aggs[("palm", "proposals")] = [{"_id": k, "count": v} for k, v in PROPOSALS.items()]
        self.aggs[("palm", "validations")] = validations


def main():
    db = PalmDB().start()
    print(db.uri, flush=True)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(db.uri + "\n")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    db.stop()


if __name__ == "__main__":
    main()
