#!/usr/bin/python3
"""Generate kubelet-style CRI log files for frondtail's benchmark and demo.

Layout: ROOT/<namespace>_<pod>_<uid>/<container>/0.log, as under
/var/log/pods. Each file interleaves stdout and stderr, so FILES files make
2 x FILES streams (the default 50 files are the benchmark's 100 streams).
Lines are 50-500 bytes of printable text; about 10% of physical lines are
CRI partials (`P`), each continued by the next line of the same stream
(`F`), which frondtail must join into one entry.

Prints a JSON summary: files, bytes, physical lines, and `entries` — the
number of log entries a shipper must deliver (one per `F` line).

  gen.py ROOT [--size-mb 1024] [--files 50] [--seed 1]
  gen.py ROOT --follow --rate 20   # the demo: append lines forever, N per second per file
"""

import argparse
import json
import os
import random
import sys
import time

WORDS = ("request handled status=200 path=/api/v1/orders user=alice latency_ms=12 "
         "upstream=palmdao queue=validator.in retry=0 msg=\"order accepted\" trace_id= "
         "GET POST PUT level=info level=warn level=error caller=main.go:42 component=worker "
         "tenant=acme shard=3 bytes=4096 cache=miss db=mongo op=insert ok=true").split()


def pod_dirs(root, files):
    out = []
    for i in range(files):
        ns = ("palm", "kube-system", "monitoring", "default")[i % 4]
        pod = "svc%02d-%05x" % (i, 0x5a5a5 + i * 7919)
        uid = "%08x-aaaa-bbbb-cccc-%012x" % (i, i * 31337)
        d = os.path.join(root, "%s_%s_%s" % (ns, pod, uid), "app")
        out.append(d)
    return out


def make_pool(rng, n=1 << 20):
    words = []
    size = 0
    while size < n:
        w = rng.choice(WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words)


class Clock:
    """RFC3339Nano timestamps that advance 1 us per line, formatted cheaply."""

    def __init__(self, start=None):
        self.sec = int(start if start is not None else time.time()) - 3600
        self.ns = 0
        self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.sec))

    def next(self):
        self.ns += 1000
        if self.ns >= 1000000000:
            self.ns -= 1000000000
            self.sec += 1
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.sec))
        return "%s.%09dZ" % (self.prefix, self.ns)


def generate(root, size_mb, files, seed):
    rng = random.Random(seed)
    pool = make_pool(rng)
    plen = len(pool)
    dirs = pod_dirs(root, files)
    per_file = size_mb * 1024 * 1024 // files
    total_bytes = lines = entries = 0
    clock = Clock()
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        written = 0
        pending = {"stdout": False, "stderr": False}
        chunks = []
        with open(os.path.join(d, "0.log"), "w", buffering=1 << 20) as f:
            while written < per_file:
                stream = "stdout" if rng.random() < 0.7 else "stderr"
                n = rng.randint(50, 500)
                off = rng.randrange(0, plen - n)
                msg = pool[off:off + n]
                partial = not pending[stream] and rng.random() < 0.1
                tag = "P" if partial else "F"
                pending[stream] = partial
                line = "%s %s %s %s\n" % (clock.next(), stream, tag, msg)
                chunks.append(line)
                written += len(line)
                lines += 1
                if not partial:
                    entries += 1
                if len(chunks) >= 4096:
                    f.write("".join(chunks))
                    chunks.clear()
            # Finish any open partial so every message is complete.
            for stream, open_ in pending.items():
                if open_:
                    line = "%s %s F end\n" % (clock.next(), stream)
                    chunks.append(line)
                    written += len(line)
                    lines += 1
                    entries += 1
            f.write("".join(chunks))
        total_bytes += written
    return {"root": root, "files": files, "streams": 2 * files, "bytes": total_bytes,
            "lines": lines, "entries": entries}


def follow(root, files, rate, seed):
    """Append `rate` lines per second to each file until killed (the demo)."""
    rng = random.Random(seed)
    pool = make_pool(rng, 1 << 16)
    dirs = pod_dirs(root, files)
    handles = []
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        handles.append(open(os.path.join(d, "0.log"), "a", buffering=1))
    clock = Clock(time.time() + 3600)
    n = 0
    while True:
        t0 = time.monotonic()
        for f in handles:
            for _ in range(rate):
                k = rng.randint(20, 120)
                off = rng.randrange(0, len(pool) - k)
                stream = "stdout" if rng.random() < 0.8 else "stderr"
                f.write("%s %s F %d %s\n" % (clock.next(), stream, n, pool[off:off + k]))
                n += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))


def main():
    ap = argparse.ArgumentParser(description="CRI log generator for frondtail")
    ap.add_argument("root")
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--follow", action="store_true")
    ap.add_argument("--rate", type=int, default=20)
    args = ap.parse_args()
    if args.follow:
        follow(args.root, args.files, args.rate, args.seed)
        return
    json.dump(generate(args.root, args.size_mb, args.files, args.seed), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
