#!/usr/bin/python3
"""frondtail end to end, configuration and CLI:
- a corrupt positions file is set aside and frondtail starts anyway;
- an unknown config key exits 2 naming file:line;
- --check-config accepts a good file and rejects a bad one;
- a client URL curl rejects exits 2 with file:line and without its password;
- promtail's -client.* flags apply to every client;
- -dry-run prints entries to stdout instead of pushing;
- SIGHUP applies new file scrape_configs to newly found files, refuses a
  changed client (restart needed) and an invalid file, and keeps shipping.
"""

import glob
import os
import signal
import subprocess

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, frondtail_binary,
                               parse_labels, pod_log, start, wait_delivered)
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


def test_bad_url_exits_2(h):
    """A client URL curl rejects is a config error: exit 2 naming file:line, caught by
    --check-config, and the password in its userinfo never reaches the log."""
    secret = "S3cretPW"
    cfg = Config(h, "http://user:%s@exa mple.com:3100/loki/api/v1/push" % secret,
                 h.path("pods") + "/*/*/*.log", name="badurl")
    cfg.write()
    with open(cfg.path) as f:
        lines = f.read().splitlines()
    at = next(i for i, l in enumerate(lines) if secret in l) + 1
    for args in (["-config.file=%s" % cfg.path],
                 ["--check-config", "-config.file=%s" % cfg.path]):
        r = run(args)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if r.returncode != 2:
            raise TestFailure("%s: exit %d, want 2; output:\n%s" % (args, r.returncode, out))
        if secret in out:
            raise TestFailure("%s: the password is in the output:\n%s" % (args, out))
        if "%s:%d" % (cfg.path, at) not in out:
            raise TestFailure("%s: error does not name %s:%d:\n%s" % (args, cfg.path, at, out))
    # The same through -client.url, and a scheme curl would not push to.
    for url in ("http://user:%s@exa mple.com:3100/x" % secret, "ftp://loki:21/x", "loki:3100/x"):
        good = Config(h, "http://127.0.0.1:1/loki/api/v1/push", h.path("pods") + "/*/*/*.log",
                      name="flagurl")
        good.write()
        r = run(["--check-config", "-config.file=%s" % good.path, "-client.url=%s" % url])
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if r.returncode != 2 or secret in out or "-client.url" not in out:
            raise TestFailure("-client.url=%s: exit %d, want 2 naming the flag without the "
                              "password:\n%s" % (url, r.returncode, out))


def test_client_flags(h):
    """promtail's -client.tenant-id, -client.external-labels, -client.batch-wait and
    -client.batch-size-bytes apply to every client; a client's own external_labels win."""
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    path = pod_log(root, "ns", "flags", "app")
    with open(path, "wb") as f:
        f.write(cri_line(BASE_TS, "stdout", "F", b"id=fl:0 flags"))
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    cfg.client["batchwait"] = "30s"
    cfg.client["external_labels"] = {"env": "prod"}
    cfg.client["tenant_id"] = "from-config"
    p = start(h, cfg, args=["-client.tenant-id=team-x",
                            "-client.external-labels=cluster=c1,env=dev",
                            "-client.batch-wait=100ms", "-client.batch-size-bytes=65536"])
    # batchwait 30s in the file: only the flag's 100ms makes this arrive quickly.
    wait_delivered(loki, ["fl:0"], 15)
    tenant, labels, _, _ = next(e for e in loki.entries() if b"id=fl:0" in e[3])
    got = parse_labels(labels)
    if tenant != "team-x":
        raise TestFailure("tenant %r, want team-x from -client.tenant-id" % tenant)
    if got.get("cluster") != "c1" or got.get("env") != "prod":
        raise TestFailure("labels %s: want cluster=c1 from the flag, env=prod from the client"
                          % got)
    p.stop()
    r = run(["--check-config", "-config.file=%s" % cfg.path,
             "-client.external-labels=bad-name=1"])
    if r.returncode != 2:
        raise TestFailure("a bad -client.external-labels exited %d, want 2" % r.returncode)


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


def _append(path, ident):
    with open(path, "ab") as f:
        f.write(cri_line(BASE_TS, "stdout", "F", b"id=%s reload" % ident.encode()))


def _labels_of(loki, ident):
    for _, labels, _, line in loki.entries():
        if (b"id=%s " % ident.encode()) in line:
            return parse_labels(labels)
    raise TestFailure("entry %s not found" % ident)


def _hup_and_wait_log(p, text, seen):
    """SIGHUP, then wait for the (seen+1)-th occurrence of `text` in the log."""
    p.p.send_signal(signal.SIGHUP)
    frondtest.wait_until(lambda: p.log().count(text) > seen, 10, what="log: %s" % text)
    return seen + 1


def test_sighup_reload(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root_a, root_b = h.path("pods-a"), h.path("pods-b")
    a = pod_log(root_a, "ns", "a", "app")
    b = pod_log(root_b, "ns", "b", "app")
    _append(a, "a:0")
    _append(b, "b:0")
    cfg = Config(h, loki.url, root_a + "/*/*/*.log")
    p = start(h, cfg)
    wait_delivered(loki, ["a:0"], 20)
    if "b:0" in str(loki.entries()):
        raise TestFailure("b shipped before it was configured")

    # A second job and a new static label for the first: new files get them.
    cfg.extra = ("  - job_name: more\n"
                 "    pipeline_stages: [{cri: {}}]\n"
                 "    static_configs:\n"
                 "      - targets: [localhost]\n"
                 "        labels: {job: more, __path__: %s}\n" % (root_b + "/*/*/*.log"))
    cfg.write()
    ok = _hup_and_wait_log(p, "scrape_configs reloaded", 0)
    wait_delivered(loki, ["b:0"], 20)
    if _labels_of(loki, "b:0").get("job") != "more":
        raise TestFailure("b:0 labels: %s" % _labels_of(loki, "b:0"))
    _append(a, "a:1")
    wait_delivered(loki, ["a:1"], 20)
    if _labels_of(loki, "a:1").get("job") != "pods":
        raise TestFailure("a:1 labels: %s" % _labels_of(loki, "a:1"))

    # A changed client is refused (restart needed); the running config stays.
    saved = dict(cfg.client)
    cfg.client["batchwait"] = "300ms"
    cfg.write()
    _hup_and_wait_log(p, "needs a restart", 0)
    if "section=clients" not in p.log():
        raise TestFailure("refusal does not name the clients section:\n" + p.log()[-2000:])
    cfg.client = saved

    # An invalid file is refused too.
    with open(cfg.path, "a") as f:
        f.write("no_such_key: 1\n")
    _hup_and_wait_log(p, "invalid config; keeping the running configuration", 0)

    # Still shipping both, and the good config reloads again.
    cfg.write()
    _hup_and_wait_log(p, "scrape_configs reloaded", ok)
    _append(a, "a:2")
    _append(b, "b:1")
    wait_delivered(loki, ["a:2", "b:1"], 20)
    if not p.alive():
        raise TestFailure("frondtail died on SIGHUP")
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("frondtail_config",
                        [test_corrupt_positions, test_unknown_key_exits_2, test_bad_url_exits_2,
                         test_client_flags, test_dry_run, test_sighup_reload])
