#!/usr/bin/python3
"""Checks of the Loki stand-in itself (tests/integration/loki_standin.py),
so a frondtail test failure never comes from the tool that judges it:
protobuf+snappy and JSON decoding, Loki's label syntax, the scripted
answers (per request and for a period), go_down/come_back, and the control
API of the standalone script.
"""

import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import frondtest  # noqa: E402
from frondtest import TestFailure  # noqa: E402
from loki_standin import LokiStandin, Reply, loki_429, parse_labels  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def post(url, body, ctype="application/x-protobuf", headers=None):
    h = {"Content-Type": ctype}
    h.update(headers or {})
    req = urllib.request.Request(url, data=body, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def push_body(loki, streams):
    import snappy
    req = loki.pb.PushRequest()
    for labels, entries in streams:
        s = req.streams.add()
        s.labels = labels
        for ts, line in entries:
            e = s.entries.add()
            e.timestamp.seconds, e.timestamp.nanos = divmod(ts, 1000000000)
            e.line = line
    return snappy.compress(req.SerializeToString())


def expect(cond, what):
    if not cond:
        raise TestFailure(what)


def test_labels_parser(h):
    expect(parse_labels('{a="b", c="d\\"e\\\\f\\n"}') == {"a": "b", "c": 'd"e\\f\n'}, "escapes")
    expect(parse_labels('{a="1",b="2"}') == {"a": "1", "b": "2"}, "no spaces")
    for bad in ['a="b"', '{a=b}', '{a="b}', '{1a="b"}', '{a="b" c="d"}', "{}", '{a="b", a="c"}']:
        try:
            parse_labels(bad)
        except ValueError:
            continue
        raise TestFailure("accepted bad labels %r" % bad)


def test_decode_and_script(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    body = push_body(loki, [('{job="x"}', [(5 * 10**9 + 7, b"\xff\x00one"), (6 * 10**9, b"two")])])
    st, _, _ = post(loki.url, body, headers={"X-Scope-OrgID": "t1", "User-Agent": "ua/1"})
    expect(st == 204, "status %s" % st)
    expect(loki.entries() == [("t1", '{job="x"}', 5000000007, b"\xff\x00one"),
                              ("t1", '{job="x"}', 6000000000, b"two")], loki.entries())
    expect(loki.requests[0]["user_agent"] == "ua/1", "user agent not recorded")
    doc = {"streams": [{"stream": {"job": "y", "q": 'a"b'}, "values": [["9", "json line"]]}]}
    st, _, _ = post(loki.url, json.dumps(doc).encode(), ctype="application/json")
    expect(st == 204 and loki.entries(labels='{job="y", q="a\\"b"}')[0][3] == b"json line",
           "json push: %s" % loki.entries())
    st, msg, _ = post(loki.url, body, ctype="text/plain")
    expect(st == 400 and loki.errors, "bad content type accepted")
    st, msg, _ = post(loki.url, push_body(loki, [("{job=x}", [(1, b"z")])]))
    expect(st == 400 and b"error parsing labels" in msg, "bad labels accepted: %s" % msg)
    # Scripted answers, then a period of 500s, then back to 204.
    loki.script(loki_429(3), Reply(400, "entry out of order"))
    st, _, hdrs = post(loki.url, body)
    expect(st == 429 and hdrs.get("Retry-After") == "3", "429: %s %s" % (st, hdrs))
    expect(post(loki.url, body)[0] == 400, "scripted 400")
    n = loki.count()
    loki.mode(Reply(500), seconds=0.5)
    expect(post(loki.url, body)[0] == 500, "mode 500")
    expect(loki.count() == n, "a refused push was recorded")
    frondtest.wait_until(lambda: post(loki.url, body)[0] == 204, 10, what="mode period ends")
    # A dropped connection: the client sees no answer.
    loki.script(Reply(drop=True))
    try:
        post(loki.url, body)
        raise TestFailure("dropped connection answered")
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    loki.go_down()
    try:
        socket.create_connection(("127.0.0.1", loki.port), timeout=1).close()
        raise TestFailure("port still open after go_down")
    except OSError:
        pass
    loki.come_back()
    expect(post(loki.url, body)[0] == 204, "after come_back")


def test_standalone_script(h):
    port = frondtest.free_port()
    p = h.start("standin", [frondtest.PYTHON, os.path.join(HERE, "loki_standin.py"),
                            "--port", str(port), "--interval", "0.2"])
    frondtest.wait_until(lambda: frondtest.http("http://127.0.0.1:%d/ready" % port,
                                                timeout=1).status == 200, 30, what="stand-in")
    base = "http://127.0.0.1:%d" % port
    r = frondtest.http(base + "/control/script", method="POST",
                       data=json.dumps({"replies": [{"status": 503}]}).encode())
    expect(r.status == 204, "control/script %s" % r.status)
    helper = LokiStandin(h.path("pb"))  # only to build bodies with the same schema
    body = push_body(helper, [('{job="demo"}', [(1, b"a"), (2, b"b")])])
    url = base + "/loki/api/v1/push"
    expect(post(url, body)[0] == 503, "scripted 503 over the control API")
    expect(post(url, body)[0] == 204, "204 after the script")
    stats = json.loads(frondtest.http(base + "/control/stats").body)
    expect(stats["entries"] == 2 and stats["streams"][0]["labels"] == '{job="demo"}', stats)
    frondtest.wait_until(lambda: '{job="demo"}' in p.log(), 10, what="per-stream counts printed")
    p.p.send_signal(signal.SIGINT)
    p.wait_exit(10)


if __name__ == "__main__":
    frondtest.run_tests("loki_standin", [test_labels_parser, test_decode_and_script,
                                         test_standalone_script])
