"""Benchmark stand-in for frond_usage_exporter: N collections, each answering
an aggregate with M documents (two labels each), so the exporter holds N*M
samples. Prints the stand-in's URI on stdout, then serves until killed.

Usage: standin.py QUERIES DOCS_PER_QUERY
"""

import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "usage"))

from usagefix import UsageDB  # noqa: E402


def main():
    nq, nd = int(sys.argv[1]), int(sys.argv[2])
    db = UsageDB()
    for q in range(nq):
        # Realistic shapes: a status-like label and a region-like label, integer counts.
        db.aggs[("bench", "c%03d" % q)] = [
            {"_id": {"status": "s%02d" % (d % 10), "region": "r%d" % (d // 10)}, "count": d + q}
            for d in range(nd)]
    db.start()
    print(db.uri, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    counts = len(db.standin.commands("aggregate"))
    db.stop()
    print("aggregates answered: %d" % counts, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
