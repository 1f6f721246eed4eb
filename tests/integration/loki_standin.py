#!/usr/bin/python3
"""A Loki stand-in for frondtail's tests and demo.

It speaks the receiving half of Loki's push API: POST /loki/api/v1/push
with a snappy-compressed protobuf PushRequest (decoded with its own copy of
the schema, tests/integration/loki/push.proto, compiled by protoc at start
into a temp dir), or Loki's JSON form. It checks what Loki checks at the
door (Content-Type, the labels string parses), records every entry in
arrival order with the request's headers (X-Scope-OrgID, User-Agent,
Authorization), and can be scripted to answer like a Loki in trouble:
204, 400 with a Loki-like body, 429 with Retry-After, 500, a delay, a
dropped connection — for the next requests, or for a period — or be "down"
(its port closed) for a while.

Two ways to use it:

- imported by a test: ``loki = LokiStandin(tmpdir).start()``; then
  ``loki.url``, ``loki.entries()``, ``loki.script(...)``, ``loki.mode(...)``,
  ``loki.go_down()`` / ``loki.come_back()``, ``loki.stop()``;
- as a script (the demo): ``loki_standin.py --port N`` prints per-stream
  counts as lines arrive, and offers the same recordings over a small
  control API: GET /control/stats, POST /control/script, POST /control/mode.
"""

import argparse
import base64
import gzip
import http.server
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
PUSH_PATH = "/loki/api/v1/push"

sys.path.insert(0, os.path.join(HERE, "lib"))
from httpstandin import HttpStandin  # noqa: E402


def compile_schema(outdir):
    """Compile loki/push.proto into outdir and import it; returns the push_pb2 module."""
    # google/protobuf/timestamp.proto: the system copy when libprotobuf-dev is
    # installed, else the one in proto/ (the Python runtime brings its own
    # compiled Timestamp either way; protoc only needs the .proto to resolve
    # the import).
    includes = ["-I", os.path.join(HERE, "loki")]
    if os.path.exists("/usr/include/google/protobuf/timestamp.proto"):
        includes += ["-I", "/usr/include"]
    else:
        includes += ["-I", os.path.join(SOURCE_DIR, "proto")]
    subprocess.run(["protoc"] + includes + ["--python_out=" + outdir,
                                            os.path.join(HERE, "loki", "push.proto")],
                   check=True, capture_output=True)
    if outdir not in sys.path:
        sys.path.insert(0, outdir)
    return importlib.import_module("push_pb2")


def parse_labels(s):
    """Parse a Loki label string {a="b", c="d"} like Loki's parser; ValueError if invalid."""
    s = s.strip()
    if not (s.startswith("{") and s.endswith("}")):
        raise ValueError("labels must be enclosed in {}")
    body = s[1:-1]
    out = {}
    i, n = 0, len(body)
    while True:
        while i < n and body[i] in " \t":
            i += 1
        if i >= n:
            break
        j = i
        while j < n and (body[j].isalnum() or body[j] == "_"):
            j += 1
        name = body[i:j]
        if not name or name[0].isdigit():
            raise ValueError("bad label name at %d" % i)
        if j >= n or body[j] != "=":
            raise ValueError("expected = after %s" % name)
        j += 1
        if j >= n or body[j] != '"':
            raise ValueError("expected quoted value for %s" % name)
        j += 1
        val = []
        while True:
            if j >= n:
                raise ValueError("unterminated value for %s" % name)
            c = body[j]
            if c == "\\":
                if j + 1 >= n:
                    raise ValueError("dangling escape")
                e = body[j + 1]
                val.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(e, "\\" + e))
                j += 2
                continue
            if c == '"':
                j += 1
                break
            val.append(c)
            j += 1
        if name in out:
            raise ValueError("duplicate label name %s" % name)
        out[name] = "".join(val)
        while j < n and body[j] in " \t":
            j += 1
        if j < n:
            if body[j] != ",":
                raise ValueError("expected , at %d" % j)
            j += 1
        i = j
    if not out:
        raise ValueError("empty label set")
    return out


class Reply:
    """One scripted answer. kind: 'status' (code, body, headers), 'drop' (close, no answer)."""

    def __init__(self, status=204, body=b"", headers=None, delay=0.0, drop=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = headers or {}
        self.delay = delay
        self.drop = drop

    @staticmethod
    def from_json(d):
        return Reply(status=int(d.get("status", 204)), body=d.get("body", ""),
                     headers=d.get("headers"), delay=float(d.get("delay", 0)),
                     drop=bool(d.get("drop", False)))

    def __repr__(self):
        return "Reply(%s%s%s)" % ("drop" if self.drop else self.status,
                                  " delay=%g" % self.delay if self.delay else "",
                                  " %r" % self.headers if self.headers else "")


OK = Reply(204)


def loki_400(msg="entry with timestamp 1970-01-01 00:00:00 +0000 UTC ignored, reason: "
                 "'entry too far behind' for stream: {job=\"x\"},\ntotal ignored: 1 out of 1"):
    return Reply(400, msg + "\n")


def loki_429(retry_after="1"):
    h = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Reply(429, "Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec)\n", h)


def loki_500():
    return Reply(500, "rpc error: code = Unavailable desc = no healthy ingesters\n")


class LokiStandin(HttpStandin):
    def __init__(self, tmpdir=None, port=0, quiet=True, on_entries=None, tls=None):
        self._own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="loki-standin-")
        pbdir = os.path.join(self.tmpdir, "loki_pb")
        os.makedirs(pbdir, exist_ok=True)
        self.pb = compile_schema(pbdir)
        self.port = port
        self.quiet = quiet
        self.on_entries = on_entries
        self.tls = tls                 # (certfile, keyfile): serve HTTPS
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._entries = []        # (tenant, labels, ts_ns, line bytes), arrival order
        self.requests = []        # per request: dict of headers and outcome
        self.errors = []          # protocol violations seen (bad content type, labels, ...)
        self._script = []         # Replies for the next requests
        self._mode = None         # (Reply, until_monotonic or None)
        self._conns = set()       # open client connections, closed by go_down()

    # ---- lifecycle ----

    def stop(self):
        self.close_port()
        if self._own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def go_down(self):
        """Close the port and every open connection: pushes fail until come_back()."""
        self.close_port()
        with self.lock:
            conns = list(self._conns)
            self._conns.clear()
        for c in conns:
            with_suppressed(lambda: c.shutdown(socket.SHUT_RDWR))

    @property
    def url(self):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http", self.port, PUSH_PATH)

    # ---- scripting ----

    def script(self, *replies):
        """Answer the next requests with these replies, in order."""
        with self.lock:
            self._script.extend(replies)

    def mode(self, reply, seconds=None):
        """Answer every request with `reply` (after the script runs out), for `seconds` or until reset."""
        with self.lock:
            self._mode = (reply, time.monotonic() + seconds if seconds else None) if reply else None

    def _next_reply(self):
        with self.lock:
            if self._script:
                return self._script.pop(0)
            if self._mode:
                reply, until = self._mode
                if until is None or time.monotonic() < until:
                    return reply
                self._mode = None
            return OK

    # ---- what it got ----

    def entries(self, labels=None, tenant=None):
        """Recorded entries as (tenant, labels, ts_ns, line) in arrival order, optionally filtered."""
        with self.lock:
            return [e for e in self._entries
                    if (labels is None or e[1] == labels) and (tenant is None or e[0] == tenant)]

    def count(self):
        with self.lock:
            return len(self._entries)

    def streams(self):
        """{(tenant, labels): [(ts_ns, line), ...]} in arrival order."""
        out = {}
        with self.lock:
            for t, l, ts, line in self._entries:
                out.setdefault((t, l), []).append((ts, line))
        return out

    def stream_counts(self):
        with self.lock:
            counts = {}
            for t, l, _, _ in self._entries:
                counts[(t, l)] = counts.get((t, l), 0) + 1
            return counts

    def wait_count(self, n, timeout=60.0):
        """Block until at least n entries arrived; returns the count (may be short at timeout)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self._entries) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(min(left, 0.5))
            return len(self._entries)

    def statuses(self):
        with self.lock:
            return [r["status"] for r in self.requests]

    # ---- decoding ----

    def _decode(self, ctype, body):
        """Return [(labels, [(ts_ns, line bytes)])] or raise ValueError with Loki-like text."""
        if ctype.startswith("application/x-protobuf"):
            import snappy  # python3-snappy
            try:
                raw = snappy.uncompress(body)
            except Exception as e:
                raise ValueError("snappy: %s" % e)
            req = self.pb.PushRequest()
            try:
                req.ParseFromString(raw)
            except Exception as e:
                raise ValueError("protobuf: %s" % e)
            out = []
            for s in req.streams:
                out.append((s.labels, [(e.timestamp.seconds * 1000000000 + e.timestamp.nanos,
                                        bytes(e.line)) for e in s.entries]))
            return out
        if ctype.startswith("application/json"):
            doc = json.loads(body)
            out = []
            for s in doc.get("streams", []):
                labels = "{%s}" % ", ".join(
                    '%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
                    for k, v in sorted(s["stream"].items()))
                out.append((labels, [(int(v[0]), v[1].encode()) for v in s.get("values", [])]))
            return out
        raise ValueError("unsupported Content-Type %r" % ctype)

    def _handler_class(self):
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with standin.lock:
                    standin._conns.add(self.connection)

            def finish(self):
                with standin.lock:
                    standin._conns.discard(self.connection)
                with_suppressed(super().finish)

            def _send(self, status, body=b"", headers=None, ctype="text/plain; charset=utf-8"):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if body:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self):
                if self.path == "/ready":
                    return self._send(200, b"ready\n")
                if self.path == "/control/stats":
                    counts = standin.stream_counts()
                    doc = {"entries": sum(counts.values()),
                           "requests": len(standin.requests),
                           "statuses": standin.statuses(),
                           "errors": standin.errors[-20:],
                           "streams": [{"tenant": t, "labels": l, "count": c}
                                       for (t, l), c in sorted(counts.items())]}
                    return self._send(200, json.dumps(doc).encode(), ctype="application/json")
                self._send(404, b"404 page not found\n")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.path.startswith("/control/"):
                    return self._control(body)
                if self.path != PUSH_PATH:
                    return self._send(404, b"404 page not found\n")
                reply = standin._next_reply()
                if reply.delay:
                    time.sleep(reply.delay)
                rec = {"tenant": self.headers.get("X-Scope-OrgID"),
                       "user_agent": self.headers.get("User-Agent"),
                       "content_type": self.headers.get("Content-Type"),
                       "authorization": self.headers.get("Authorization"),
                       "headers": dict(self.headers.items()),
                       "bytes": len(body), "status": None, "entries": 0,
                       "time": time.monotonic()}
                if reply.drop:
                    rec["status"] = "drop"
                    with standin.lock:
                        standin.requests.append(rec)
                    self.close_connection = True
                    with_suppressed(lambda: self.connection.shutdown(socket.SHUT_RDWR))
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                try:
                    streams = standin._decode(rec["content_type"] or "", body)
                    for labels, _ in streams:
                        parse_labels(labels)
                except ValueError as e:
                    msg = str(e)
                    if "labels" in msg or "label" in msg or "expected" in msg:
                        msg = "error parsing labels: %s" % msg
                    rec["status"] = 400
                    with standin.lock:
                        standin.errors.append(msg)
                        standin.requests.append(rec)
                    return self._send(400, (msg + "\n").encode())
                rec["status"] = reply.status
                if 200 <= reply.status < 300:
                    tenant = rec["tenant"] or ""
                    added = []
                    for labels, ents in streams:
                        for ts, line in ents:
                            added.append((tenant, labels, ts, line))
                    rec["entries"] = len(added)
                    with standin.cond:
                        standin._entries.extend(added)
                        standin.requests.append(rec)
                        standin.cond.notify_all()
                    if standin.on_entries:
                        standin.on_entries(added)
                else:
                    with standin.lock:
                        standin.requests.append(rec)
                self._send(reply.status, reply.body, reply.headers)

            def _control(self, body):
                try:
                    doc = json.loads(body or b"{}")
                except ValueError:
                    return self._send(400, b"bad json\n")
                if self.path == "/control/script":
                    standin.script(*[Reply.from_json(d) for d in doc.get("replies", [])])
                elif self.path == "/control/mode":
                    standin.mode(Reply.from_json(doc["reply"]) if doc.get("reply") else None,
                                 doc.get("seconds"))
                else:
                    return self._send(404, b"no such control\n")
                self._send(204)

        return Handler


def with_suppressed(fn):
    try:
        fn()
    except OSError:
        pass


def basic_auth(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=3100)
    ap.add_argument("--interval", type=float, default=2.0,
                    help="seconds between per-stream count reports")
    args = ap.parse_args()
    loki = LokiStandin(port=args.port).start()
    print("loki stand-in listening on %s (stats: http://127.0.0.1:%d/control/stats)"
          % (loki.url, loki.port), flush=True)
    last = None
    try:
        while True:
            time.sleep(args.interval)
            counts = loki.stream_counts()
            if counts != last:
                total = sum(counts.values())
                print("%s  %d entries in %d streams" % (time.strftime("%H:%M:%S"), total,
                                                         len(counts)), flush=True)
                for (t, l), c in sorted(counts.items()):
                    print("  %8d  %s%s" % (c, ("[%s] " % t) if t else "", l), flush=True)
                last = counts
    except KeyboardInterrupt:
        pass
    finally:
        loki.stop()


if __name__ == "__main__":
    main()
