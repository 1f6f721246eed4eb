"""Shared harness for frond's integration tests.

Every test starts the real binaries (and real RabbitMQ/Prometheus, or the
Python stand-ins for MongoDB and Loki) on 127.0.0.1 with ephemeral ports,
polls for conditions with deadlines instead of sleeping, and stops every
process it started, even when an assertion fails. Binaries built with ASan
report leaks at exit; `Proc.stop()` fails the test when a frond binary
exits non-zero after SIGTERM, so a leak fails the test that caused it.
"""

import contextlib
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.environ.get(
    "FROND_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BUILD_DIR = os.environ.get("FROND_BUILD_DIR", os.path.join(SOURCE_DIR, "build", "dev"))
PYTHON = "/usr/bin/python3"


class TestFailure(AssertionError):
    pass


def binary(*parts):
    """Path of a built binary, e.g. binary('exporters', 'rabbitmq', 'frond_rabbitmq_exporter')."""
    path = os.path.join(BUILD_DIR, *parts)
    if not os.path.exists(path):
        raise TestFailure("binary not built: %s" % path)
    return path


def free_port():
    """An ephemeral TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=30.0, interval=0.05, what="condition"):
    """Poll `cond()` until it returns a truthy value; return it, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the condition may fail while a server starts
            last_exc = e
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s%s" % (
                timeout, what, (": last error %r" % last_exc) if last_exc else ""))
        time.sleep(interval)


def wait_port(port, timeout=30.0, host="127.0.0.1"):
    def up():
        with socket.create_connection((host, port), timeout=0.5):
            return True
    return wait_until(up, timeout, what="port %d" % port)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name):
        return self.headers.get(name)


def http(url, method="GET", headers=None, data=None, timeout=10.0, context=None):
    """One HTTP request; returns Response for any status (never raises on 4xx/5xx)."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            body = r.read()
            if r.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return Response(r.status, r.headers, body)
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


def parse_metrics(text):
    """Parse exposition text into {(name, frozenset(labels.items())): value}."""
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            raise TestFailure("unparsable exposition line: %r" % line)
        labels = {}
        if m.group(3):
            for lm in label_re.finditer(m.group(3)):
                labels[lm.group(1)] = (lm.group(2).replace('\\n', '\n')
                                       .replace('\\"', '"').replace('\\\\', '\\'))
        v = m.group(4)
        out[(m.group(1), frozenset(labels.items()))] = float(v.replace("Inf", "inf"))
    return out


def sample(metrics, name, **labels):
    """The value of one series, or None when absent."""
    return metrics.get((name, frozenset(labels.items())))


def series(metrics, name):
    """All series of a metric name as a list of (labels dict, value)."""
    return [(dict(k[1]), v) for k, v in metrics.items() if k[0] == name]


def promtool_check_metrics(text):
    """Run `promtool check metrics` on exposition text; fail with its output."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise TestFailure("promtool check metrics failed:\n%s%s" % (
            p.stdout.decode(), p.stderr.decode()))


class Proc:
    """A child process whose output goes to a log file under the test's tmpdir."""

    def __init__(self, name, argv, tmpdir, env=None, stdin=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(tmpdir, "%s.log" % name)
        self._log = open(self.log_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                  stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                  env=full_env, start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_exit(self, timeout=30.0):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s did not exit within %.0fs" % (self.name, timeout))

    def stop(self, sig=signal.SIGTERM, timeout=30.0, expect_code=0):
        """Signal the process and wait; check its exit code unless expect_code is None."""
        if self.p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.p.send_signal(sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise TestFailure("%s did not stop within %.0fs after %s" % (
                    self.name, timeout, signal.Signals(sig).name))
        self._log.close()
        code = self.p.returncode
        if expect_code is not None and code != expect_code:
            raise TestFailure("%s exited with %s (want %s); log:\n%s" % (
                self.name, code, expect_code, self.log()[-4000:]))
        return code

    def kill(self):
        if self.p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.p.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.p.wait(timeout=10)
        with contextlib.suppress(Exception):
            self._log.close()


class Harness:
    """Owns a temp dir and every process started through it; cleans up at exit."""

    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="frond-%s-" % name)
        self.procs = []
        self.cleanups = []

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def start(self, name, argv, env=None, stdin=None):
        p = Proc(name, argv, self.tmp, env=env, stdin=stdin)
        self.procs.append(p)
        return p

    def on_cleanup(self, fn):
        self.cleanups.append(fn)

    def close(self, failed):
        for p in reversed(self.procs):
            p.kill()
        for fn in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                fn()
        if failed:
            for p in self.procs:
                with contextlib.suppress(Exception):
                    sys.stderr.write("---- log of %s (%s)\n%s\n" % (
                        p.name, " ".join(p.argv), p.log()[-6000:]))
            sys.stderr.write("(temp dir kept: %s)\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def run_tests(name, tests):
    """Run test functions `f(h)` each with a fresh Harness; print 'N passed, N failed'."""
    only = sys.argv[1:]
    passed = failed = 0
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        h = Harness("%s-%s" % (name, fn.__name__))
        ok = False
        t0 = time.monotonic()
        try:
            fn(h)
            ok = True
        except Exception:
            traceback.print_exc()
        finally:
            h.close(not ok)
        dt = time.monotonic() - t0
        if ok:
            passed += 1
            print("ok   %s (%.1fs)" % (fn.__name__, dt), flush=True)
        else:
            failed += 1
            print("FAIL %s (%.1fs)" % (fn.__name__, dt), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or passed == 0 else 0)


class Prometheus:
    """A real Prometheus (Debian package) scraping the given targets."""

    def __init__(self, h, scrape_configs, scrape_interval="1s"):
        import yaml  # python3-yaml
        self.port = free_port()
        cfg = {"global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval},
               "scrape_configs": scrape_configs}
        cfg_path = h.path("prometheus.yml")
        with open(cfg_path, "w") as f:
            yaml.safe_dump(cfg, f)
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = h.start("prometheus", [
            "prometheus", "--config.file=%s" % cfg_path,
            "--storage.tsdb.path=%s" % h.path("prom-data"),
            "--web.listen-address=127.0.0.1:%d" % self.port,
            "--log.level=warn"])
        wait_until(lambda: http(self.url + "/-/ready", timeout=1).status == 200, 30,
                   what="prometheus ready")

    def query(self, expr):
        r = http(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        if r.status != 200:
            raise TestFailure("query %s: HTTP %d %s" % (expr, r.status, r.text))
        return json.loads(r.body)["data"]["result"]

    def wait_value(self, expr, want, timeout=60.0):
        """Poll until the query returns exactly one sample equal to `want`."""
        def ok():
            res = self.query(expr)
            return len(res) == 1 and float(res[0]["value"][1]) == float(want)
        return wait_until(ok, timeout, interval=0.5, what="%s == %s" % (expr, want))

    def stop(self):
        self.proc.stop(expect_code=None)
