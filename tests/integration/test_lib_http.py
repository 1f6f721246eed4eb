#!/usr/bin/python3
"""Integration test of libfrond's exposition and HTTP server, through metrics_demo.

Real tools only: `promtool check metrics` on the text output, a real Prometheus
(Debian package) scraping metrics_demo over plain HTTP and over TLS + basic
auth (certificates made here with the openssl CLI, the bcrypt hash with
`metrics_demo --hash-password`), exact values read back from /api/v1/query.
Then the server's edges: concurrency, deadlines, methods, gzip, OpenMetrics,
garbage, a connection flood, bad flags/web configs (exit 2 with file:line),
and SIGTERM (exit 0, so ASan finds no leak) after every test.
"""

import gzip
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import frondtest as ft  # noqa: E402

DEMO = None
OM_ACCEPT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# Series whose values change between two scrapes (process state, clocks).
VOLATILE = re.compile(r"^(process_|demo_scrape_deadline_remaining_seconds|demo_collect_slept)")


def demo_bin():
    global DEMO
    if DEMO is None:
        DEMO = ft.binary("tests", "metrics_demo")
    return DEMO


def start_demo(h, name="demo", args=(), port=None):
    port = port or ft.free_port()
    p = h.start(name, [demo_bin(), "--web.listen-address=127.0.0.1:%d" % port] + list(args))
    return p, port


def wait_http(url, context=None, headers=None):
    ft.wait_until(lambda: ft.http(url, timeout=2, context=context, headers=headers).status
                  in (200, 401), 30, what=url)


def stable(text):
    return "\n".join(line for line in text.splitlines() if not VOLATILE.match(line))


def check_values(m):
    """The known values of metrics_demo, as parsed from text exposition."""
    def want(metric, expected, **labels):
        got = ft.sample(m, metric, **labels)
        if got is None or not (got == expected or (expected != expected and got != got)):
            raise ft.TestFailure("%s%r = %r, want %r" % (metric, labels, got, expected))
    want("demo_requests_total", 1027, code="200", method="get")
    want("demo_requests_total", 3, code="400", method="post")
    want("demo_temperature_celsius", 21.5, room="kitchen")
    want("demo_temperature_celsius", -4.25, room="freezer")
    want("demo_label_escaping", 1, case="quote", value='say "hi"')
    want("demo_label_escaping", 1, case="backslash", value="C:\\dir\\file")
    want("demo_label_escaping", 1, case="newline", value="line one\nline two")
    want("demo_label_escaping", 1, case="unicode", value="Grüße, 世界 ☃")
    want("demo_special_values", float("nan"), kind="nan")
    want("demo_special_values", float("inf"), kind="pos_inf")
    want("demo_special_values", float("-inf"), kind="neg_inf")
    want("demo_request_duration_seconds_bucket", 1, le="0.1")
    want("demo_request_duration_seconds_bucket", 3, le="0.5")
    want("demo_request_duration_seconds_bucket", 4, le="1")
    want("demo_request_duration_seconds_bucket", 5, le="+Inf")
    want("demo_request_duration_seconds_sum", 3.25)
    want("demo_request_duration_seconds_count", 5)
    want("demo_backend_state", 1, demo_backend_state="degraded")
    want("demo_backend_state", 0, demo_backend_state="up")
    want("demo_backend_state", 0, demo_backend_state="down")
    want("demo_build_info", 1, version="1.2.3", commit="abc123")


def check_openmetrics(text):
    """OpenMetrics 1.0.0 structure that promtool does not check for us."""
    lines = text.split("\n")
    if lines[-1] != "" or lines[-2] != "# EOF":
        raise ft.TestFailure("OpenMetrics must end with '# EOF\\n': %r" % lines[-3:])
    seen, current = set(), None
    for line in lines[:-2]:
        if line == "# EOF":
            raise ft.TestFailure("# EOF before the end")
        if line.startswith("# TYPE ") or line.startswith("# HELP ") or line.startswith("# UNIT "):
            fam = line.split(" ")[2]
            if fam != current:
                if fam in seen:
                    raise ft.TestFailure("family %s is not contiguous" % fam)
                seen.add(fam)
                current = fam
            continue
        if line.startswith("#") or not line:
            raise ft.TestFailure("unexpected line %r" % line)
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        if not (name == current or name.startswith(current + "_")):
            raise ft.TestFailure("sample %r outside its family %s" % (line, current))
    for t in ("# TYPE demo_requests counter", "# TYPE demo_backend_state stateset",
              "# TYPE demo_build info", "# TYPE demo_request_duration_seconds histogram"):
        if t not in lines:
            raise ft.TestFailure("missing %r in OpenMetrics output" % t)
    for s in ('demo_requests_total{code="200",method="get"} 1027',
              'demo_build_info{version="1.2.3",commit="abc123"} 1',
              'demo_special_values{kind="pos_inf"} +Inf',
              'demo_label_escaping{case="newline",value="line one\\nline two"} 1'):
        if not any(line.startswith(s) for line in lines):
            raise ft.TestFailure("missing sample %r in OpenMetrics output" % s)


def test_promtool_both_formats(h):
    p, port = start_demo(h)
    url = "http://127.0.0.1:%d/metrics" % port
    wait_http(url)
    r = ft.http(url)
    assert r.status == 200, r.status
    assert r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8", \
        r.header("Content-Type")
    ft.promtool_check_metrics(r.text)
    check_values(ft.parse_metrics(r.text))
    assert "# HELP demo_temperature_celsius Temperature by room. Help with a \\\\ backslash " \
        "and a\\nnewline." in r.text, "HELP escaping"
    om = ft.http(url, headers={"Accept": OM_ACCEPT})
    assert om.status == 200
    assert om.header("Content-Type").startswith("application/openmetrics-text; version=1.0.0"), \
        om.header("Content-Type")
    check_openmetrics(om.text)
    # A client that prefers text by q-value gets text.
    r2 = ft.http(url, headers={"Accept": "application/openmetrics-text;q=0.1,text/plain;q=0.9"})
    assert r2.header("Content-Type").startswith("text/plain"), r2.header("Content-Type")
    p.stop()


def make_certs(h, name="tls"):
    """A CA, a server certificate for 127.0.0.1 (SAN IP) and a client one, with the openssl CLI."""
    d = h.path(name)
    os.makedirs(d)

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True,
                       timeout=60)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=frond test CA")
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    for name in ("server", "client"):
        run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + ("127.0.0.1" if name == "server" else "scraper"))
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", "san.cnf")
    return d


def hash_password(pw):
    p = subprocess.run([demo_bin(), "--hash-password"], input=(pw + "\n").encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode().strip()
    assert re.match(r"^\$2y\$10\$[./A-Za-z0-9]{53}$", out), out
    return out


def basic(user, pw):
    import base64
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


def test_prometheus_plain_and_tls(h):
    certs = make_certs(h)
    web = h.path("web.yml")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
                "  min_version: TLS12\n"
                "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
                "basic_auth_users:\n  prometheus: '%s'\n" % hash_password("s3cret"))
    plain, pport = start_demo(h, "plain")
    tls, tport = start_demo(h, "tls", ["--web.config.file=" + web])
    # A body large enough to be streamed (chunked, gzipped on the fly) through TLS.
    big, bport = start_demo(h, "tls-big", ["--web.config.file=" + web, "--demo.series=20000"])
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    turl = "https://127.0.0.1:%d/metrics" % tport
    wait_http("http://127.0.0.1:%d/metrics" % pport)
    wait_http(turl, context=ctx)

    # The TLS server speaks only TLS, checks the password, and adds the configured header.
    r = ft.http(turl, context=ctx)
    assert r.status == 401, r.status
    assert r.header("WWW-Authenticate") == 'Basic realm="frond"', r.header("WWW-Authenticate")
    assert ft.http(turl, context=ctx, headers=basic("prometheus", "wrong")).status == 401
    assert ft.http(turl, context=ctx, headers=basic("nobody", "s3cret")).status == 401
    r = ft.http(turl, context=ctx, headers=basic("prometheus", "s3cret"))
    assert r.status == 200, r.status
    assert r.header("X-Content-Type-Options") == "nosniff"
    check_values(ft.parse_metrics(r.text))

    prom = ft.Prometheus(h, [
        {"job_name": "plain", "static_configs": [{"targets": ["127.0.0.1:%d" % pport]}]},
        {"job_name": "tls", "scheme": "https",
         "tls_config": {"ca_file": os.path.join(certs, "ca.crt")},
         "basic_auth": {"username": "prometheus", "password": "s3cret"},
         "static_configs": [{"targets": ["127.0.0.1:%d" % tport]}]},
        {"job_name": "tls-big", "scheme": "https",
         "tls_config": {"ca_file": os.path.join(certs, "ca.crt")},
         "basic_auth": {"username": "prometheus", "password": "s3cret"},
         "static_configs": [{"targets": ["127.0.0.1:%d" % bport]}]},
    ])
    prom.wait_value('up{job="tls-big"}', 1)
    prom.wait_value('count(demo_bulk{job="tls-big"})', 20000)
    prom.wait_value('demo_bulk{job="tls-big",series="19999"}', 19999)
    prom.wait_value('demo_requests_total{job="tls-big",code="200",method="get"}', 1027)
    for job in ("plain", "tls"):
        prom.wait_value('up{job="%s"}' % job, 1)
        prom.wait_value('demo_requests_total{job="%s",code="200",method="get"}' % job, 1027)
        prom.wait_value('demo_temperature_celsius{job="%s",room="freezer"}' % job, -4.25)
        prom.wait_value('demo_request_duration_seconds_bucket{job="%s",le="0.5"}' % job, 3)
        prom.wait_value('demo_request_duration_seconds_sum{job="%s"}' % job, 3.25)
        prom.wait_value('demo_backend_state{job="%s",demo_backend_state="degraded"}' % job, 1)
        prom.wait_value('demo_special_values{job="%s",kind="pos_inf"}' % job, float("inf"))
        res = prom.query('demo_label_escaping{job="%s"}' % job)
        values = sorted(s["metric"]["value"] for s in res)
        assert values == sorted(['say "hi"', "C:\\dir\\file", "line one\nline two",
                                 "Grüße, 世界 ☃"]), values
        res = prom.query('demo_special_values{job="%s",kind="nan"}' % job)
        assert len(res) == 1 and res[0]["value"][1] == "NaN", res
    prom.stop()
    big.stop()
    tls.stop()
    plain.stop()


def test_concurrent_scrapes(h):
    # Each scrape sleeps 300 ms in a collector: 50 of them finishing in well under
    # 50 * 0.3 s proves they run in parallel, and all must succeed with equal bodies.
    # The default limit is 40 connections: the other 10 wait in the listen backlog
    # for a free slot instead of being reset.
    p, port = start_demo(h, args=["--demo.collect-delay=300ms"])
    url = "http://127.0.0.1:%d/metrics" % port
    wait_http(url)
    results = [None] * 50

    def scrape(i):
        try:
            r = ft.http(url, timeout=30)
            results[i] = (r.status, stable(r.text))
        except Exception as e:  # recorded, asserted below
            results[i] = ("error", repr(e))
    threads = [threading.Thread(target=scrape, args=(i,)) for i in range(50)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    dt = time.monotonic() - t0
    bad = [r for r in results if r is None or r[0] != 200]
    assert not bad, bad[:3]
    assert len(set(r[1] for r in results)) == 1, "bodies differ"
    assert "demo_collect_slept_seconds" in results[0][1]
    assert dt < 8, "50 scrapes of 0.3 s took %.1fs: not concurrent" % dt
    p.stop()


def test_deadline(h):
    # The collector sleeps up to 5 s but must stop at the deadline: header 1 s minus the
    # default 0.5 s offset.
    p, port = start_demo(h, args=["--demo.collect-delay=5s"])
    url = "http://127.0.0.1:%d/metrics" % port
    wait_http("http://127.0.0.1:%d/-/healthy" % port)
    t0 = time.monotonic()
    r = ft.http(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": "1"})
    dt = time.monotonic() - t0
    assert r.status == 200
    m = ft.parse_metrics(r.text)
    slept = ft.sample(m, "demo_collect_slept_seconds")
    # Bounded by the 0.5 s deadline, not the 5 s delay (slack for a loaded machine).
    assert slept is not None and 0.4 <= slept <= 1.0, slept
    remaining = ft.sample(m, "demo_scrape_deadline_remaining_seconds")
    assert remaining is not None and remaining <= 0.01, remaining
    assert dt < 2.5, "a scrape with a 1 s timeout took %.2fs" % dt
    p.stop()

    # Without the slow collector, the deadline is visible as time remaining.
    p, port = start_demo(h, "demo2", args=["--web.timeout-offset=250ms"])
    url = "http://127.0.0.1:%d/metrics" % port
    wait_http(url)
    m = ft.parse_metrics(ft.http(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": "1"}).text)
    remaining = ft.sample(m, "demo_scrape_deadline_remaining_seconds")
    assert remaining is not None and 0.1 < remaining <= 0.75, remaining
    m = ft.parse_metrics(ft.http(url).text)
    remaining = ft.sample(m, "demo_scrape_deadline_remaining_seconds")
    assert remaining is not None and 100 < remaining <= 120, remaining
    p.stop()


def test_http_behaviour(h):
    p, port = start_demo(h, args=["--web.telemetry-path=/custom"])
    base = "http://127.0.0.1:%d" % port
    wait_http(base + "/custom")
    r = ft.http(base + "/custom", method="POST", data=b"x=1")
    assert r.status == 405, r.status
    assert r.header("Allow") == "GET, HEAD", r.header("Allow")
    assert ft.http(base + "/custom", method="PUT", data=b"").status == 405
    assert ft.http(base + "/metrics").status == 404
    assert ft.http(base + "/nope").status == 404
    r = ft.http(base + "/custom", method="HEAD")
    assert r.status == 200 and r.body == b"", (r.status, r.body[:50])
    assert int(r.header("Content-Length")) > 1000
    r = ft.http(base + "/")
    assert r.status == 200 and 'href="/custom"' in r.text and "/-/healthy" in r.text, r.text
    assert ft.http(base + "/-/healthy").status == 200
    assert ft.http(base + "/-/ready").status == 200

    # gzip round trip (urllib does not decompress; frondtest.http does on Content-Encoding).
    import urllib.request
    req = urllib.request.Request(base + "/custom", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers.get("Content-Encoding") == "gzip"
        assert "Accept-Encoding" in (resp.headers.get("Vary") or "")
        raw = resp.read()
    unzipped = gzip.decompress(raw).decode()
    assert len(raw) < len(unzipped) / 2, (len(raw), len(unzipped))
    assert stable(unzipped) == stable(ft.http(base + "/custom").text)
    req = urllib.request.Request(base + "/custom", headers={"Accept-Encoding": "gzip;q=0, *"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers.get("Content-Encoding") is None
    # OpenMetrics and gzip together.
    req = urllib.request.Request(base + "/custom", headers={"Accept-Encoding": "gzip",
                                                             "Accept": OM_ACCEPT})
    with urllib.request.urlopen(req, timeout=10) as resp:
        check_openmetrics(gzip.decompress(resp.read()).decode())
    p.stop()


def raw(port, data, timeout=1):
    """Send raw bytes, return whatever comes back before the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def test_large_body_streamed(h):
    """A body over 64 KiB is sent while it is rendered: chunked, identical, also gzipped."""
    n = 20000
    p, port = start_demo(h, args=["--demo.series=%d" % n])
    base = "http://127.0.0.1:%d/metrics" % port
    wait_http(base)
    plain = ft.http(base)
    assert plain.status == 200, plain.status
    assert plain.header("Transfer-Encoding") == "chunked", plain.headers
    assert plain.header("Content-Length") is None, plain.headers
    assert len(plain.body) > 256 * 1024, len(plain.body)
    m = ft.parse_metrics(plain.text)
    bulk = ft.series(m, "demo_bulk")
    assert len(bulk) == n and {int(v) for _, v in bulk} == set(range(n)), len(bulk)
    check_values(m)
    ft.promtool_check_metrics(plain.text)
    gz = ft.http(base, headers={"Accept-Encoding": "gzip"})
    assert gz.status == 200 and gz.header("Content-Encoding") == "gzip", gz.headers
    assert stable(gz.text) == stable(plain.text)
    om = ft.http(base, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.text.endswith("# EOF\n") and om.text.count("# EOF") == 1, om.text[-200:]
    check_openmetrics(om.text)
    # HEAD still answers with the length of the whole body.
    head = ft.http(base, method="HEAD")
    assert head.status == 200 and int(head.header("Content-Length")) > 256 * 1024, head.headers
    # Clients that leave mid-body do not hurt the server or leak.
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        s.recv(1000)
        s.close()
    assert len(ft.series(ft.parse_metrics(ft.http(base).text), "demo_bulk")) == n
    p.stop()


def test_garbage_and_flood(h):
    p, port = start_demo(h)
    url = "http://127.0.0.1:%d/metrics" % port
    wait_http(url)
    junk = [
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64) + b"\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/7.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost\r\n\r\n",
        b"GET /\x00\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"A" * 100000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"H: v\r\n" * 5000 + b"\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ####\r\n\r\n",
        os.urandom(4096),
        b"\r\n" * 1000,
    ]
    for j in junk:
        try:
            raw(port, j)
        except OSError:
            pass  # a reset is an acceptable answer to garbage
    assert p.alive(), "server died on garbage"
    assert ft.http(url).status == 200

    # 10,000 connection attempts at once, held open, then dropped; the server must
    # neither crash nor stay wedged.
    # 10,000 descriptors: raise our soft limit (CI machines often start at 1024).
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 10000 + 200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want and os.geteuid() == 0:
            hard = want  # root may raise the hard limit too
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass  # unprivileged: flood with what the limit allows, and say so below
    n = min(10000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200)
    assert n >= 500, "cannot open enough descriptors for the flood (limit %d)" % soft
    if n < 10000:
        print("note: descriptor limit allows only %d connections for the flood" % n)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append(s)
    # Half of them send a partial request line to occupy the server's threads.
    for s in socks[::2]:
        try:
            s.send(b"GET /metrics HTTP/1.1\r\n")
        except OSError:
            pass
    select.select([], [], [], 0)
    assert p.alive(), "server died during the connection flood"
    for s in socks:
        s.close()
    r = ft.wait_until(lambda: ft.http(url, timeout=5), 30, what="scrape after the flood")
    assert r.status == 200
    check_values(ft.parse_metrics(r.text))
    p.stop()


def expect_exit2(h, name, args, want):
    p = h.start(name, [demo_bin()] + args)
    code = p.wait_exit(30)
    log = p.log()
    if code != 2 or want not in log:
        raise ft.TestFailure("%s: exit %s (want 2), want %r in:\n%s" % (name, code, want, log))


def test_bad_config(h):
    expect_exit2(h, "unknown_flag", ["--web.listen-adress=:1"], "web.listen-adress")
    expect_exit2(h, "bad_listen", ["--web.listen-address=127.0.0.1"], "127.0.0.1")
    expect_exit2(h, "bad_port", ["--web.listen-address=127.0.0.1:99999"], "99999")
    expect_exit2(h, "bad_path", ["--web.listen-address=127.0.0.1:0",
                                 "--web.telemetry-path=metrics"], "telemetry-path")
    web = h.path("bad.yml")
    with open(web, "w") as f:
        f.write("basic_auth_users:\n  alice: $2y$10$x\ntls_server_config:\n  certfile: a\n")
    expect_exit2(h, "bad_web", ["--web.listen-address=127.0.0.1:0", "--web.config.file=" + web],
                 "bad.yml:4: unknown key")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
    expect_exit2(h, "missing_cert", ["--web.listen-address=127.0.0.1:0",
                                     "--web.config.file=" + web], "missing.crt")
    expect_exit2(h, "missing_web", ["--web.listen-address=127.0.0.1:0",
                                    "--web.config.file=" + h.path("nope.yml")], "nope.yml")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: bad.yml\n  key_file: bad.yml\n")
    expect_exit2(h, "garbage_cert", ["--web.listen-address=127.0.0.1:0",
                                     "--web.config.file=" + web], "")
    # Port already in use: a runtime failure, exit 1.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        p = h.start("busy", [demo_bin(), "--web.listen-address=127.0.0.1:%d" % s.getsockname()[1]])
        code = p.wait_exit(30)
        assert code == 1 and "cannot listen" in p.log(), (code, p.log())


def test_client_cert(h):
    certs = make_certs(h)
    web = h.path("web.yml")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: tls/ca.crt\n")
    p, port = start_demo(h, args=["--web.config.file=" + web])
    url = "https://127.0.0.1:%d/metrics" % port
    with_cert = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    with_cert.load_cert_chain(os.path.join(certs, "client.crt"), os.path.join(certs, "client.key"))
    wait_http(url, context=with_cert)
    assert ft.http(url, context=with_cert).status == 200
    without = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    r = ft.http(url, context=without)
    assert r.status == 403 and "client certificate required" in r.text, (r.status, r.text)
    # A certificate from another CA is presented but fails verification.
    other = make_certs(h, "other")
    wrong = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    wrong.load_cert_chain(os.path.join(other, "client.crt"), os.path.join(other, "client.key"))
    r = ft.http(url, context=wrong)
    assert r.status == 403 and "verification failed" in r.text, (r.status, r.text)
    p.stop()


def test_tls_versions(h):
    certs = make_certs(h)
    web = h.path("web.yml")
    with open(web, "w") as f:
        f.write("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
                "  min_version: TLS13\n")
    p, port = start_demo(h, args=["--web.config.file=" + web])
    url = "https://127.0.0.1:%d/-/healthy" % port
    ctx13 = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    wait_http(url, context=ctx13)
    assert ft.http(url, context=ctx13).status == 200
    ctx12 = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        ft.http(url, context=ctx12)
        raise ft.TestFailure("a TLS 1.2 client was accepted with min_version TLS13")
    except (ssl.SSLError, ConnectionResetError):
        pass
    except urllib.error.URLError as e:
        assert isinstance(e.reason, (ssl.SSLError, ConnectionResetError)), e
    # Plain HTTP on the TLS port is garbage to it; it must survive that too.
    try:
        raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    except OSError:
        pass
    assert ft.http(url, context=ctx13).status == 200
    p.stop()


if __name__ == "__main__":
    ft.run_tests("lib_http", [
        test_promtool_both_formats,
        test_http_behaviour,
        test_deadline,
        test_concurrent_scrapes,
        test_garbage_and_flood,
        test_large_body_streamed,
        test_bad_config,
        test_client_cert,
        test_tls_versions,
        test_prometheus_plain_and_tls,
    ])
