"""frond_mongodb_exporter: how it connects, and what it never reveals.

Authentication failure (SCRAM refused by the stand-in with 18
AuthenticationFailed) through --mongodb.uri-file and through MONGODB_URI,
a URI the exporter cannot parse, and the rule that the password appears in
no log line, no error and no /metrics output. Every exporter is stopped
with SIGTERM and must exit 0 (ASan leak check).
"""

import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "mongodb"))

import frondtest  # noqa: E402
from frondtest import TestFailure, promtool_check_metrics  # noqa: E402
from mongofix import EXPORTER, absent, eq, expect, scrape, start_exporter  # noqa: E402
from mongostandin import TLS_CA_FILE, CommandError, MongoStandin  # noqa: E402

PASSWORD = "S3cr@t-pw"          # decoded
PASSWORD_ENC = "S3cr%40t-pw"    # as written in the URI


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def no_secret(text, where):
    for s in (PASSWORD, PASSWORD_ENC, "S3cr"):
        check(s not in text, "the password (%r) leaked into %s:\n%s" % (s, where, text[-3000:]))


def test_auth_failure(h):
    """Wrong credentials: up 0, HTTP 200, one clear log line, no password anywhere."""
    s = MongoStandin(auth="fail")
    s.start()
    h.on_cleanup(s.stop)
    uri = "mongodb://monitor:%s@127.0.0.1:%d/?authSource=admin" % (PASSWORD_ENC, s.port)
    uri_file = h.path("mongodb-uri")
    with open(uri_file, "w") as f:
        f.write(uri + "\n")
    p1, port1 = start_exporter(h, "exporter-file", extra=["--mongodb.uri-file=%s" % uri_file,
                                                           "--log.level=debug"])
    p2, port2 = start_exporter(h, "exporter-env", env={"MONGODB_URI": uri})
    for port in (port1, port2):
        def chk(m):
            eq(m, "mongodb_up", 0)
            absent(m, "mongodb_replset_enabled")
        r, _ = expect(port, chk, what="auth failure")
        promtool_check_metrics(r.text)
        no_secret(r.text, "/metrics")
        for _ in range(3):
            r, m, dt = scrape(port)
            check(dt < 3.0, "auth failure scrape took %.2fs" % dt)
    # The stand-in really was asked to authenticate (SCRAM), as the URI says.
    s.wait_command("saslStart")
    check(s.commands("saslStart")[0].doc.get("mechanism") in ("SCRAM-SHA-256", "SCRAM-SHA-1"),
          "not SCRAM: %r" % s.commands("saslStart")[0].doc)
    for p in (p1, p2):
        p.stop()
        log = p.log()
        no_secret(log, "the log of %s" % p.name)
        n = log.count("MongoDB is not reachable")
        check(n == 1, "%s logged the auth failure %d times:\n%s" % (p.name, n, log))
        check("Authentication failed" in log, "%s does not say why:\n%s" % (p.name, log))
        check("xxxxx" in log, "%s does not show the redacted URI:\n%s" % (p.name, log))


def test_scram_ok(h):
    """Right credentials: SCRAM-SHA-256 succeeds, up 1, and even debug logs hold no password."""
    s = MongoStandin(auth=("monitor", PASSWORD), handlers={"serverStatus": _server_status,
                                                          "replSetGetStatus": _standalone})
    s.start()
    h.on_cleanup(s.stop)
    uri = "mongodb://monitor:%s@127.0.0.1:%d/?authSource=admin" % (PASSWORD_ENC, s.port)
    p, port = start_exporter(h, "exporter-scram", uri, extra=["--log.level=debug"])
    r, _ = expect(port, lambda m: eq(m, "mongodb_up", 1), what="authenticated scrape")
    no_secret(r.text, "/metrics")
    check("monitor" in s.authenticated, "the stand-in saw no successful SCRAM exchange")
    # SCRAM is libmongoc's own code: with libmongoc linked in (the default
    # build), Cyrus SASL loads no plugin but GSSAPI's (mongoc_sasl.h).
    filtered = os.environ.get("FROND_MONGOC_STATIC", "ON").upper() not in ("OFF", "0", "NO")
    if filtered:
        with open("/proc/%d/maps" % p.pid) as f:
            plugins = sorted({line.split()[-1] for line in f
                              if "/sasl2/" in line and "/sasl2/libgssapiv2." not in line})
        check(not plugins, "Cyrus SASL plugins mapped: %s" % plugins)
    p.stop()
    no_secret(p.log(), "the debug log")
    if filtered:
        check("GSSAPI only" in p.log(), "no debug line about the SASL plugins:\n%s" % p.log())


def test_scram_saslprep(h):
    """A non-ASCII password: libmongoc SASLprep's it (ICU, linked into the binary) as mongod does.

    U+00A0 (no-break space) maps to a space and U+00AD (soft hyphen) to
    nothing, so the stand-in only accepts the proof if the exporter
    prepared the password exactly as RFC 4013 says.
    """
    password = "pass\u00a0w\u00adord"
    s = MongoStandin(auth=("monitor", password), handlers={"serverStatus": _server_status,
                                                           "replSetGetStatus": _standalone})
    s.start()
    h.on_cleanup(s.stop)
    uri = "mongodb://monitor:%s@127.0.0.1:%d/?authSource=admin&authMechanism=SCRAM-SHA-256" % (
        urllib.parse.quote(password, safe=""), s.port)
    p, port = start_exporter(h, "exporter-saslprep", uri)
    expect(port, lambda m: eq(m, "mongodb_up", 1), what="scrape authenticated with SASLprep")
    check("monitor" in s.authenticated, "the stand-in saw no successful SCRAM exchange")
    p.stop()


def _server_status(cmd, standin):
    return {"version": "7.0.2", "process": "mongod", "uptime": 5.0,
            "connections": {"current": 3, "available": 100, "totalCreated": 9}}


def _standalone(cmd, standin):
    raise CommandError(76, "not running with --replSet", "NoReplicationEnabled")


def test_tls(h):
    """TLS through the URI: the exporter verifies the server against tlsCAFile."""
    s = MongoStandin(tls=True, handlers={"serverStatus": _server_status,
                                         "replSetGetStatus": _standalone})
    s.start()
    h.on_cleanup(s.stop)
    uri = ("mongodb://127.0.0.1:%d/?tls=true&tlsCAFile=%s&tlsAllowInvalidHostnames=true"
           % (s.port, TLS_CA_FILE))
    p, port = start_exporter(h, "exporter-tls", uri)

    def chk(m):
        eq(m, "mongodb_up", 1)
        eq(m, "mongodb_connections_current", 3)
        eq(m, "mongodb_version_info", 1, version="7.0.2", process="mongod")
        eq(m, "mongodb_replset_enabled", 0)
    r, _ = expect(port, chk, what="TLS connection")
    promtool_check_metrics(r.text)
    check(s.commands("serverStatus"), "no serverStatus over TLS")
    p.stop()


def test_bad_uri(h):
    """An unparsable URI: exit 2 with a message that does not quote the password."""
    p = h.start("bad-uri", [frondtest.binary(*EXPORTER), "--web.listen-address=127.0.0.1:0",
                            "--mongodb.uri=mongodb://monitor:%s@host:notaport/" % PASSWORD_ENC])
    code = p.wait_exit(20)
    check(code == 2, "exit code %r, want 2:\n%s" % (code, p.log()))
    check("bad --mongodb.uri" in p.log(), "no clear message:\n%s" % p.log())
    no_secret(p.log(), "the bad-URI error")


def test_help(h):
    """--help lists the MongoDB flags and exits 0."""
    out = subprocess.run([frondtest.binary(*EXPORTER), "--help"], capture_output=True,
                         timeout=20)
    text = out.stdout.decode()
    check(out.returncode == 0, "--help exited %d" % out.returncode)
    for flag in ("--mongodb.uri", "--mongodb.uri-file", "MONGODB_URI", "--mongodb.timeout",
                 "--mongodb.connect-timeout", "--mongodb.max-connections",
                 "--web.listen-address", ":9216"):
        check(flag in text, "--help does not mention %s:\n%s" % (flag, text))


if __name__ == "__main__":
    frondtest.run_tests("mongodb-connection", [test_auth_failure, test_scram_ok,
                                                  test_scram_saslprep, test_tls,
                                                  test_bad_uri, test_help])
