"""Integration tests of frond_rabbitmq_exporter against a real RabbitMQ 3.10.

One private broker (broker.py) is booted once for the whole file, with a
fixed set of vhosts and queues, a few messages, and AMQP clients that hold
unacknowledged messages and consumers for the whole run. Each test starts
its own exporter(s) and checks exact numbers in /metrics, polling with a
deadline because management API statistics lag a few seconds (quorum
queues report on their own tick). The broker restart test runs last.

Fixture (vhost/queue: messages published, held unacked, consumers):
    tv1/orders  classic  7 published, 3 unacked by one consumer   -> ready 4
    tv1/qq      quorum   5 published, 2 unacked by one consumer   -> ready 3
    tv2/t2a, tv2/t2b  classic, empty
    //c1        classic, empty, two consumers
"""

import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import frondtest  # noqa: E402
from frondtest import TestFailure, http, parse_metrics, sample, series, wait_until  # noqa: E402
from broker import Broker  # noqa: E402

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "amqp_client.py")
B = None  # the shared broker
QUEUE_FAMILIES = ("rabbitmq_queue_info", "rabbitmq_queue_messages", "rabbitmq_queue_consumers",
                  "rabbitmq_queue_messages_ready", "rabbitmq_queue_state_info")


def exporter_bin():
    return frondtest.binary("exporters", "rabbitmq", "frond_rabbitmq_exporter")


def start_exporter(h, *args, name="exporter", env=None, url=None, password_env=True):
    port = frondtest.free_port()
    argv = [exporter_bin(), "--web.listen-address=127.0.0.1:%d" % port,
            "--rabbit.url=" + (url or B.mgmt_url), "--log.level=info"] + list(args)
    full_env = {"RABBIT_PASSWORD": B.password} if password_env else {}
    full_env.update(env or {})
    p = h.start(name, argv, env=full_env)
    base = "http://127.0.0.1:%d" % port
    wait_until(lambda: http(base + "/-/healthy", timeout=2).status == 200, 20,
               what="%s healthy" % name)
    return p, base


def scrape(base, timeout=20):
    r = http(base + "/metrics", timeout=timeout)
    if r.status != 200:
        raise TestFailure("/metrics answered %d: %s" % (r.status, r.text[:500]))
    return r.text, parse_metrics(r.text)


def wait_metrics(base, want, timeout=45, absent=()):
    """Poll until every (name, labels, value) in `want` holds and `absent` series are gone."""
    last = {}

    def ok():
        text, m = scrape(base)
        last["text"] = text
        bad = []
        for name, labels, v in want:
            got = sample(m, name, **labels)
            if got != v:
                bad.append("%s%s = %s (want %s)" % (name, labels, got, v))
        for name, labels in absent:
            if sample(m, name, **labels) is not None:
                bad.append("%s%s present (want absent)" % (name, labels))
        last["bad"] = bad
        return not bad and (text, m)
    try:
        return wait_until(ok, timeout, interval=0.5, what="metrics")
    except TestFailure:
        raise TestFailure("metrics never matched: %s" % "; ".join(last.get("bad", ["?"])))


def queue_set(m):
    return sorted({(d["vhost"], d["queue"]) for d, _ in series(m, "rabbitmq_queue_info")})


def q(vhost, queue):
    return {"vhost": vhost, "queue": queue}


# ---- fixture ----

def setup_fixture(fx):
    for vh in ("tv1", "tv2"):
        B.add_vhost(vh)
    B.declare_queue("tv1", "orders")
    B.declare_queue("tv1", "qq", qtype="quorum")
    B.declare_queue("tv2", "t2a")
    B.declare_queue("tv2", "t2b")
    B.declare_queue("/", "c1")
    amqp = "amqp://guest:guest@127.0.0.1:%d" % B.ports["amqp"]
    pub = fx.start("publish-orders", [frondtest.PYTHON, CLIENT, "publish", amqp, "tv1", "orders",
                                      "7"])
    pub2 = fx.start("publish-qq", [frondtest.PYTHON, CLIENT, "publish", amqp, "tv1", "qq", "5"])
    for p in (pub, pub2):
        if p.wait_exit(30) != 0:
            raise TestFailure("publisher failed:\n" + p.log())
    holders = [
        fx.start("hold-orders", [frondtest.PYTHON, CLIENT, "consume", amqp, "tv1", "orders",
                                 "--prefetch", "3"]),
        fx.start("hold-qq", [frondtest.PYTHON, CLIENT, "consume", amqp, "tv1", "qq",
                             "--prefetch", "2"]),
        fx.start("idle-c1-a", [frondtest.PYTHON, CLIENT, "consume", amqp, "/", "c1",
                               "--prefetch", "0"]),
        fx.start("idle-c1-b", [frondtest.PYTHON, CLIENT, "consume", amqp, "/", "c1",
                               "--prefetch", "0"]),
    ]
    for p in holders:
        wait_until(lambda: "ready" in p.log(), 30, what="%s ready" % p.name)


# ---- tests ----

def fixture_depth():
    """What every management-API listing must show for the fixture, statistics or not."""
    return [
        ("rabbitmq_up", {}, 1),
        ("rabbitmq_queue_messages_ready", q("tv1", "orders"), 4),
        ("rabbitmq_queue_messages_unacked", q("tv1", "orders"), 3),
        ("rabbitmq_queue_messages", q("tv1", "orders"), 7),
        ("rabbitmq_queue_consumers", q("tv1", "orders"), 1),
        ("rabbitmq_queue_messages_ready", q("tv1", "qq"), 3),
        ("rabbitmq_queue_messages_unacked", q("tv1", "qq"), 2),
        ("rabbitmq_queue_consumers", q("tv1", "qq"), 1),
        ("rabbitmq_queue_consumers", q("/", "c1"), 2),
        ("rabbitmq_queue_info", dict(q("tv1", "qq"), type="quorum", durable="true", policy="",
                                     node=B.nodename), 1),
    ]


def test_exact_counts(h):
    """Ready/unacked/total/consumers/counters match what the clients did; promtool passes."""
    # One queue per page: every vhost's listing spans several pages.
    exp, base = start_exporter(h, "--rabbit.page-size=1")
    want = fixture_depth() + [
        ("rabbitmq_queue_messages_published_total", q("tv1", "orders"), 7),
        ("rabbitmq_exporter_queue_stats_enabled", {}, 1),
        ("rabbitmq_queue_messages_delivered_total", q("tv1", "orders"), 3),
        ("rabbitmq_queue_messages", q("tv1", "qq"), 5),
        ("rabbitmq_queue_messages", q("/", "c1"), 0),
        ("rabbitmq_queue_info", dict(q("tv1", "orders"), type="classic", durable="true",
                                     policy="", node=B.nodename), 1),
        ("rabbitmq_queue_state_info", dict(q("tv1", "orders"), state="running"), 1),
        ("rabbitmq_cluster_nodes", {}, 1),
        ("rabbitmq_cluster_nodes_running", {}, 1),
        ("rabbitmq_cluster_queues", {}, 5),
        ("rabbitmq_cluster_consumers", {}, 4),
        ("rabbitmq_cluster_messages_ready", {}, 7),
        ("rabbitmq_cluster_messages_unacked", {}, 5),
        ("rabbitmq_node_running", {"node": B.nodename}, 1),
        ("rabbitmq_node_mem_alarm", {"node": B.nodename}, 0),
        ("rabbitmq_node_disk_free_alarm", {"node": B.nodename}, 0),
        ("rabbitmq_node_partitions", {"node": B.nodename}, 0),
    ]
    text, m = wait_metrics(base, want)
    # Present and plausible, exact values unknowable: uptime, memory, fds, head timestamp.
    node = {"node": B.nodename}
    for name in ("rabbitmq_node_uptime_seconds", "rabbitmq_node_memory_used_bytes",
                 "rabbitmq_node_memory_limit_bytes", "rabbitmq_node_fd_used",
                 "rabbitmq_node_fd_limit", "rabbitmq_node_erlang_processes_used",
                 "rabbitmq_node_disk_free_bytes"):
        v = sample(m, name, **node)
        if v is None or v <= 0:
            raise TestFailure("%s = %s" % (name, v))
    ts = sample(m, "rabbitmq_queue_head_message_timestamp_seconds", **q("tv1", "orders"))
    if ts is None or abs(ts - time.time()) > 600:
        raise TestFailure("head message timestamp %s" % ts)
    # An empty queue has no head message: absent, not 0.
    if sample(m, "rabbitmq_queue_head_message_timestamp_seconds", **q("/", "c1")) is not None:
        raise TestFailure("head timestamp exported for an empty queue")
    if queue_set(m) != [("/", "c1"), ("tv1", "orders"), ("tv1", "qq"), ("tv2", "t2a"),
                        ("tv2", "t2b")]:
        raise TestFailure("queues: %s" % queue_set(m))
    frondtest.promtool_check_metrics(text)
    r = http(base + "/metrics", headers={"Accept": "application/openmetrics-text"})
    if r.status != 200 or not r.text.rstrip().endswith("# EOF"):
        raise TestFailure("OpenMetrics reply: %d %r" % (r.status, r.text[-200:]))
    exp.stop()


def test_deleted_queue_vanishes(h):
    exp, base = start_exporter(h)
    B.declare_queue("/", "gone")
    B.publish("/", "gone", 2)
    wait_metrics(base, [("rabbitmq_queue_messages", q("/", "gone"), 2)])
    B.delete_queue("/", "gone")
    _, m = wait_metrics(base, [("rabbitmq_up", {}, 1)], absent=[
        (f, q("/", "gone")) for f in ("rabbitmq_queue_messages", "rabbitmq_queue_consumers")])
    leftovers = [k for k in m if dict(k[1]).get("queue") == "gone"]
    if leftovers:
        raise TestFailure("series of a deleted queue remain: %s" % leftovers)
    exp.stop()


def test_filters(h):
    """Include/exclude regexes select exactly the right queues.

    Flags match whole names; kbudde's environment variables match anywhere in the name (Go
    regexp.MatchString), with RE2's \\d translated; a flag wins over its variable.
    """
    pwfile = h.path("password")
    with open(pwfile, "w") as f:
        f.write(B.password + "\n")
    cases = [
        (["--include-vhost=tv1", "--exclude-queues=q.*", "--rabbit.concurrency=1"],
         [("tv1", "orders")]),
        (["--include-queues=t2.", "--exclude-vhost=tv1", "--rabbit.concurrency=16"],
         [("tv2", "t2a"), ("tv2", "t2b")]),
        (["--exclude-vhost=tv[0-9]+"], [("/", "c1")]),
        # Anchored: "t2" alone matches no queue name, and "rder" does not match "orders".
        (["--include-queues=t2|rder"], []),
        (["--include-queues=orders|c1", "--no-rabbit.server-side-filter"],
         [("/", "c1"), ("tv1", "orders")]),
        (["--include-vhost=/|tv2", "--exclude-queues=t2b", "--rabbit.page-size=1"],
         [("/", "c1"), ("tv2", "t2a")]),
    ]
    env_cases = [
        ({"SKIP_QUEUES": "t2"}, [], [("/", "c1"), ("tv1", "orders"), ("tv1", "qq")]),
        ({"INCLUDE_QUEUES": "rder"}, [], [("tv1", "orders")]),
        ({"INCLUDE_QUEUES": "rder"}, ["--no-rabbit.server-side-filter"], [("tv1", "orders")]),
        ({"INCLUDE_QUEUES": r"\d"}, [], [("/", "c1"), ("tv2", "t2a"), ("tv2", "t2b")]),
        ({"INCLUDE_VHOST": "v1", "SKIP_QUEUES": "^q"}, [], [("tv1", "orders")]),
        ({"INCLUDE_QUEUES": "t2"}, ["--include-queues=orders"], [("tv1", "orders")]),
    ]
    cases = [(args, want, {}) for args, want in cases] + [
        (args, want, env) for env, args, want in env_cases]
    running = []
    for i, (args, _, env) in enumerate(cases):
        # The password comes from a file here (FROND_FLAG_SECRET), not from the env.
        running.append(start_exporter(h, "--rabbit.password-file=" + pwfile, *args,
                                      name="exporter%d" % i, env=dict(env, RABBIT_PASSWORD="")))
    for (args, expected, env), (exp, base) in zip(cases, running):
        _, m = wait_metrics(base, [("rabbitmq_up", {}, 1)])
        got = queue_set(m)
        if got != sorted(expected):
            raise TestFailure("%s %s selected %s, want %s" % (args, env, got, sorted(expected)))
        for fam in QUEUE_FAMILIES:
            extra = {(d["vhost"], d["queue"]) for d, _ in series(m, fam)} - set(expected)
            if extra:
                raise TestFailure("%s: %s has unfiltered %s" % (args, fam, extra))
    for exp, _ in running:
        exp.stop()


def test_memory_alarm(h):
    exp, base = start_exporter(h)
    node = {"node": B.nodename}
    wait_metrics(base, [("rabbitmq_node_mem_alarm", node, 0)])
    B.ctl("set_vm_memory_high_watermark", "0.0001")
    try:
        wait_metrics(base, [("rabbitmq_node_mem_alarm", node, 1)], timeout=30)
    finally:
        B.ctl("set_vm_memory_high_watermark", "0.4")
    wait_metrics(base, [("rabbitmq_node_mem_alarm", node, 0)], timeout=30)
    exp.stop()


def test_amqp_mode_matches_management(h):
    mgmt, mbase = start_exporter(h, name="mgmt")
    amqp_url = "amqp://guest:guest@127.0.0.1:%d" % B.ports["amqp"]
    # "missing" comes first: its 404 closes the channel, which must be reopened for the rest.
    listed = [("tv1", "missing"), ("tv1", "orders"), ("tv1", "qq"), ("/", "c1"), ("tv2", "t2a")]
    spec = ",".join("%s/%s" % ("%2F" if v == "/" else v, n) for v, n in listed)
    amqp, abase = start_exporter(h, "--amqp.url=" + amqp_url, "--amqp.queues=" + spec,
                                 name="amqp")
    want = [
        ("rabbitmq_amqp_up", {}, 1),
        ("rabbitmq_up", {}, 1),
        ("rabbitmq_queue_messages_ready", q("tv1", "orders"), 4),
        ("rabbitmq_queue_consumers", q("tv1", "orders"), 1),
        ("rabbitmq_queue_messages_ready", q("tv1", "qq"), 3),
        ("rabbitmq_queue_consumers", q("tv1", "qq"), 1),
        ("rabbitmq_queue_messages_ready", q("/", "c1"), 0),
        ("rabbitmq_queue_consumers", q("/", "c1"), 2),
        ("rabbitmq_queue_consumers", q("tv2", "t2a"), 0),
    ]
    _, am = wait_metrics(abase, want, absent=[("rabbitmq_queue_messages_ready",
                                               q("tv1", "missing"))])
    # The same numbers from the management API, through the other exporter.
    _, mm = wait_metrics(mbase, [w for w in want if w[0].startswith("rabbitmq_queue")])
    for v, n in listed[1:]:
        for fam in ("rabbitmq_queue_messages_ready", "rabbitmq_queue_consumers"):
            if sample(am, fam, **q(v, n)) != sample(mm, fam, **q(v, n)):
                raise TestFailure("%s %s/%s: amqp %s vs management %s" % (
                    fam, v, n, sample(am, fam, **q(v, n)), sample(mm, fam, **q(v, n))))
    # A second scrape reuses the connection and still sees everything.
    wait_metrics(abase, want)
    frondtest.promtool_check_metrics(scrape(abase)[0])
    amqp.stop()
    mgmt.stop()


def test_backend_failures(h):
    """Wrong password, plugin off (404), refused, timeout: 200, up 0, one log line, no secret."""
    secret = "S3cr3t-Wr0ng-pw"
    bad, bbase = start_exporter(h, "--rabbit.password=" + secret, name="badpw")
    notfound, nbase = start_exporter(h, name="plugin-off", url=B.prom_url)
    refused, rbase = start_exporter(h, name="refused",
                                    url="http://127.0.0.1:%d" % frondtest.free_port())
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts at the kernel level, never answers
    h.on_cleanup(silent.close)
    slow, sbase = start_exporter(h, "--rabbit.timeout=1s", name="timeout",
                                 url="http://127.0.0.1:%d" % silent.getsockname()[1])
    for proc, base, reason in ((bad, bbase, "reason=auth"), (notfound, nbase, "reason=not_found"),
                               (refused, rbase, "reason=connect"), (slow, sbase, "reason=timeout")):
        t0 = time.monotonic()
        text, m = scrape(base)
        if time.monotonic() - t0 > 5:
            raise TestFailure("%s: scrape took %.1fs" % (proc.name, time.monotonic() - t0))
        if sample(m, "rabbitmq_up") != 0:
            raise TestFailure("%s: rabbitmq_up = %s" % (proc.name, sample(m, "rabbitmq_up")))
        if any(k[0].startswith(("rabbitmq_queue_", "rabbitmq_node_", "rabbitmq_cluster_"))
               for k in m):
            raise TestFailure("%s: backend series exported while down" % proc.name)
        if sample(m, "rabbitmq_exporter_scrape_duration_seconds") is None:
            raise TestFailure("%s: no scrape duration" % proc.name)
        # The failure is counted in the very scrape that reports it (not one scrape late).
        errs = sum(v for k, v in m.items() if k[0] == "rabbitmq_exporter_scrape_errors_total")
        if errs < 1:
            raise TestFailure("%s: rabbitmq_up 0 but scrape_errors_total %s" % (proc.name, errs))
        frondtest.promtool_check_metrics(text)
        log = proc.log()
        lines = [ln for ln in log.splitlines() if "scrape failed" in ln]
        if len(lines) != 1 or reason not in lines[0]:
            raise TestFailure("%s: want one log line with %s, got:\n%s" % (
                proc.name, reason, log))
        if secret in log or secret in text:
            raise TestFailure("%s: password leaked:\n%s" % (proc.name, log))
    # The per-endpoint error counter counts each failed scrape.
    wait_until(lambda: (sample(scrape(bbase)[1], "rabbitmq_exporter_scrape_errors_total",
                               endpoint="overview") or 0) >= 2, 10, what="errors counter")
    for p in (bad, notfound, refused, slow):
        p.stop()


def test_url_credentials(h):
    """user:password in --rabbit.url works, and a wrong one is never logged."""
    hostport = B.mgmt_url.split("://", 1)[1]
    good, gbase = start_exporter(h, name="url-good", password_env=False,
                                 url="http://guest:guest@%s" % hostport)
    secret = "Url-Secr3t"
    bad, bbase = start_exporter(h, name="url-bad", password_env=False,
                                url="http://guest:%s@%s/" % (secret, hostport))
    wait_metrics(gbase, [("rabbitmq_up", {}, 1)])
    _, m = scrape(bbase)
    if sample(m, "rabbitmq_up") != 0:
        raise TestFailure("wrong password in the URL: rabbitmq_up = %s" % sample(m, "rabbitmq_up"))
    if "reason=auth" not in bad.log() or secret in bad.log() or secret in good.log():
        raise TestFailure("log:\n%s" % bad.log())
    good.stop()
    bad.stop()


def test_real_prometheus(h):
    exp, base = start_exporter(h)
    port = int(base.rsplit(":", 1)[1])
    prom = frondtest.Prometheus(h, [{"job_name": "rabbitmq",
                                     "static_configs": [{"targets": ["127.0.0.1:%d" % port]}]}])
    prom.wait_value('rabbitmq_up{job="rabbitmq"}', 1)
    prom.wait_value('rabbitmq_queue_messages_ready{vhost="tv1",queue="orders"}', 4)
    prom.wait_value('rabbitmq_queue_info{vhost="tv1",queue="qq",type="quorum"}', 1)
    res = prom.query('up{job="rabbitmq"}')
    if not res or float(res[0]["value"][1]) != 1:
        raise TestFailure("Prometheus up = %s" % res)
    prom.stop()
    exp.stop()


def test_broker_restart(h):
    """Stop RabbitMQ mid-run: up 0 and 200, nothing stale; start it: both modes recover."""
    mgmt, mbase = start_exporter(h, name="mgmt")
    amqp_url = "amqp://guest:guest@127.0.0.1:%d" % B.ports["amqp"]
    amqp, abase = start_exporter(h, "--amqp.url=" + amqp_url, "--amqp.queues=tv1/orders",
                                 "--rabbit.timeout=3s", name="amqp")
    wait_metrics(mbase, [("rabbitmq_up", {}, 1)])
    wait_metrics(abase, [("rabbitmq_amqp_up", {}, 1)])
    B.stop_node()
    for base, up in ((mbase, "rabbitmq_up"), (abase, "rabbitmq_amqp_up")):
        _, m = scrape(base)
        if sample(m, up) != 0:
            raise TestFailure("%s = %s with the broker down" % (up, sample(m, up)))
        stale = [k for k in m if k[0].startswith("rabbitmq_queue_")]
        if stale:
            raise TestFailure("stale series with the broker down: %s" % stale[:5])
    B.start()
    # Unacked messages went back to the queue when the holding consumer's connection died.
    wait_metrics(mbase, [("rabbitmq_up", {}, 1),
                         ("rabbitmq_queue_messages_ready", q("tv1", "orders"), 7)], timeout=60)
    wait_metrics(abase, [("rabbitmq_amqp_up", {}, 1),
                         ("rabbitmq_queue_messages_ready", q("tv1", "orders"), 7)], timeout=60)
    if "scrape failed" not in amqp.log() or "scrape failed" not in mgmt.log():
        raise TestFailure("broker outage was not logged")
    amqp.stop()
    mgmt.stop()


def _tls_fake_api(h):
    """An https management API stand-in serving recorded 3.10.8 replies; it wants a client cert.

    RabbitMQ's own TLS listener would need a second broker boot; the exporter's TLS options are
    libcurl's, so a Python ssl server answering the same JSON exercises them just as well.
    """
    import base64
    import http.server
    import json
    import ssl
    import subprocess
    import threading
    d = h.path("pki")
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=frond test CA")
    for name, san in (("server", "subjectAltName=IP:127.0.0.1"), ("client", None)):
        run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
        ext = []
        if san:
            with open(os.path.join(d, "san.cnf"), "w") as f:
                f.write(san + "\n")
            ext = ["-extfile", "san.cnf"]
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2", *ext)
    data = os.path.join(frondtest.SOURCE_DIR, "tests", "unit", "data", "rabbitmq")

    def load(name):
        with open(os.path.join(data, name), "rb") as f:
            return f.read()
    queues = json.loads(load("queues_page.json"))["items"]
    want_auth = "Basic " + base64.b64encode(b"monitor:tls-pw").decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.headers.get("Authorization") != want_auth:
                self.send_response(401)
                self.end_headers()
                return
            path = self.path.split("?")[0]
            if path == "/api/overview":
                body = load("overview.json")
            elif path == "/api/nodes":
                body = load("nodes.json")
            elif path == "/api/vhosts":
                body = load("vhosts.json")
            elif path.startswith("/api/queues/"):
                vh = urllib.parse.unquote(path[len("/api/queues/"):])
                items = [q for q in queues if q["vhost"] == vh]
                body = json.dumps({"items": items, "page": 1, "page_count": 1,
                                   "filtered_count": len(items),
                                   "item_count": len(items)}).encode()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    ctx.load_verify_locations(os.path.join(d, "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()

    def stop():
        srv.shutdown()
        srv.server_close()
    h.on_cleanup(stop)
    return "https://127.0.0.1:%d" % srv.server_address[1], d


def test_tls_options(h):
    """https with --rabbit.ca-file and a client certificate; a wrong CA fails cleanly."""
    url, pki = _tls_fake_api(h)
    pem = lambda n: os.path.join(pki, n)  # noqa: E731
    ok, obase = start_exporter(h, "--rabbit.user=monitor", "--rabbit.ca-file=" + pem("ca.crt"),
                               "--rabbit.cert-file=" + pem("client.crt"),
                               "--rabbit.key-file=" + pem("client.key"),
                               name="tls", url=url, env={"RABBIT_PASSWORD": "tls-pw"})
    text, m = wait_metrics(obase, [("rabbitmq_up", {}, 1),
                                   ("rabbitmq_queue_messages_ready", q("/", "work"), 5),
                                   ("rabbitmq_queue_messages_ready", q("v1", "orders"), 0)])
    frondtest.promtool_check_metrics(text)
    # Unknown CA (system store only): up 0 with a connect error; no client cert: the same.
    bad, bbase = start_exporter(h, "--rabbit.user=monitor", name="tls-unknown-ca", url=url,
                                env={"RABBIT_PASSWORD": "tls-pw"})
    nocert, nbase = start_exporter(h, "--rabbit.user=monitor", "--rabbit.insecure-skip-verify",
                                   name="tls-no-client-cert", url=url,
                                   env={"RABBIT_PASSWORD": "tls-pw"})
    for p, base in ((bad, bbase), (nocert, nbase)):
        _, bm = scrape(base)
        if sample(bm, "rabbitmq_up") != 0:
            raise TestFailure("%s: rabbitmq_up = %s" % (p.name, sample(bm, "rabbitmq_up")))
        if "reason=connect" not in p.log() or "tls-pw" in p.log():
            raise TestFailure("%s log:\n%s" % (p.name, p.log()))
    for p in (ok, bad, nocert):
        p.stop()


def test_bad_rabbit_url(h):
    """--rabbit.url must be http(s) with a host: one line naming the flag, exit 2, no secret."""
    import subprocess
    for url in ("ftp://x", "http://", "127.0.0.1:15672", "gopher://u:Sekr1t@h"):
        r = subprocess.run([exporter_bin(), "--rabbit.url=" + url,
                            "--web.listen-address=127.0.0.1:0"],
                           capture_output=True, text=True, timeout=20)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or "--rabbit.url" not in lines[0]:
            raise TestFailure("%s: exit %d, stderr:\n%s" % (url, r.returncode, r.stderr))
        if "Sekr1t" in r.stderr:
            raise TestFailure("password echoed: " + r.stderr)


def test_no_queue_stats_mode(h):
    """--no-rabbit.queue-stats: same depth and consumer counts, no message_stats counters.

    The fixture's 5 queues over --rabbit.queue-stats-limit=2 give the same
    statistics-free listing with the statistics left on.
    """
    for flag in ("--no-rabbit.queue-stats", "--rabbit.queue-stats-limit=2"):
        check_statistics_free(h, flag)
    # A pushed include filter still selects exactly (paginated requests, server-side name filter).
    exp, base = start_exporter(h, "--no-rabbit.queue-stats", "--include-queues=t2.",
                               name="exporter-filtered")
    _, m = wait_metrics(base, [("rabbitmq_up", {}, 1)])
    if queue_set(m) != [("tv2", "t2a"), ("tv2", "t2b")]:
        raise TestFailure("filtered queues: %s" % queue_set(m))
    exp.stop()


def check_statistics_free(h, flag):
    exp, base = start_exporter(h, flag, name="exporter" + flag.split("=")[0].replace(".", "-"))
    want = fixture_depth() + [
        ("rabbitmq_queue_consumers", q("tv2", "t2a"), 0),
        ("rabbitmq_exporter_scrape_errors_total", {"endpoint": "consumers"}, 0),
        ("rabbitmq_exporter_queue_stats_enabled", {}, 0),
    ]
    absent = [("rabbitmq_queue_messages_published_total", q("tv1", "orders")),
              ("rabbitmq_queue_head_message_timestamp_seconds", q("tv1", "orders"))]
    text, m = wait_metrics(base, want, absent=absent)
    if queue_set(m) != [("/", "c1"), ("tv1", "orders"), ("tv1", "qq"), ("tv2", "t2a"),
                        ("tv2", "t2b")]:
        raise TestFailure("%s: queues: %s" % (flag, queue_set(m)))
    frondtest.promtool_check_metrics(text)
    exp.stop()


TESTS = [test_bad_rabbit_url, test_tls_options, test_exact_counts, test_no_queue_stats_mode,
         test_deleted_queue_vanishes, test_filters, test_memory_alarm,
         test_amqp_mode_matches_management, test_backend_failures, test_url_credentials,
         test_real_prometheus,
         test_broker_restart]


def main():
    global B
    tmp = tempfile.mkdtemp(prefix="frond-rabbitmq-broker-")
    fx = frondtest.Harness("rabbitmq-fixture")
    ok = False
    try:
        B = Broker(tmp)
        t0 = time.monotonic()
        B.start()
        setup_fixture(fx)
        print("broker and fixture ready in %.1fs" % (time.monotonic() - t0), flush=True)
        ok = True
        frondtest.run_tests("rabbitmq", TESTS)
    finally:
        fx.close(not ok)
        if B:
            if not ok:
                sys.stderr.write(B.tail_log())
            B.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
