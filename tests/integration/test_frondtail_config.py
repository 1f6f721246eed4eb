#!/usr/bin/python3
"""frondtail end to end, configuration and CLI:
- a corrupt positions file is set aside and frondtail starts anyway;
- an unknown config key exits 2 naming file:line;
- --check-config accepts a good file and rejects a bad one;
- -dry-run prints entries to stdout instead of pushing.
"""

import glob
import os
import subprocess

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, frondtail_binary,
                               pod_log, start, wait_delivered)
import frondtest

BASE_TS = 1764300000 * 1000000000


def run(args, timeout=30):
    return subprocess.run([frondtail_binary()] + args, capture_output=True, timeout=timeout)


def test_corrupt_positions(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    path = pod_log(root, "ns", "pos", "app")
    with open(path, "wb") as f:
        f.write(cri_line(BASE_TS, "stdout", "F", b"id=p:0 before"))
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    with open(cfg.positions, "wb") as f:
        f.write(b"positions:\n  - [ this is : not {{ a positions file\n\x00\xff")
    p = start(h, cfg)
    wait_delivered(loki, ["p:0"], 60)
    aside = [x for x in glob.glob(cfg.positions + "*") if x != cfg.positions]
    if not aside:
        raise TestFailure("corrupt positions file not set aside: %s" % os.listdir(h.tmp))
    p.stop()


def test_unknown_key_exits_2(h):
    cfg = Config(h, "http://127.0.0.1:1/loki/api/v1/push", h.path("pods") + "/*/*/*.log")
    cfg.write()
    with open(cfg.path) as f:
        lines = f.read().splitlines()
    # Put an unknown key inside positions:, on a known line number.
    at = lines.index("positions:") + 1
    lines.insert(at, "  no_such_key: 1")
    with open(cfg.path, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = run(["-config.file=%s" % cfg.path])
    err = (r.stdout + r.stderr).decode("utf-8", "replace")
    if r.returncode != 2:
        raise TestFailure("exit %d, want 2; output:\n%s" % (r.returncode, err))
    want = "%s:%d" % (cfg.path, at + 1)
    if want not in err or "no_such_key" not in err:
        raise TestFailure("error does not name %s and the key:\n%s" % (want, err))
    r = run(["--check-config", "-config.file=%s" % cfg.path])
    if r.returncode != 2:
        raise TestFailure("--check-config on a bad file exited %d, want 2" % r.returncode)
    good = Config(h, "http://127.0.0.1:1/loki/api/v1/push", h.path("pods") + "/*/*/*.log",
                  name="good")
    good.write()
    r = run(["--check-config", "-config.file=%s" % good.path])
    if r.returncode != 0:
        raise TestFailure("--check-config on a good file exited %d:\n%s" % (
            r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")))


def test_dry_run(h):
    root = h.path("pods")
    path = pod_log(root, "ns", "dry", "app")
    with open(path, "wb") as f:
        for n in range(5):
            f.write(cri_line(BASE_TS + n, "stdout", "F", b"id=dry:%d dry run line" % n))
    # Nothing listens on the client URL: a dry run must not need Loki.
    cfg = Config(h, "http://127.0.0.1:%d/loki/api/v1/push" % frondtest.free_port(),
                 root + "/*/*/*.log")
    p = start(h, cfg, args=["-dry-run"])
    frondtest.wait_until(lambda: all(("id=dry:%d" % n) in p.log() for n in range(5)), 30,
                         what="dry-run output")
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("frondtail_config",
                        [test_corrupt_positions, test_unknown_key_exits_2, test_dry_run])
