#!/usr/bin/python3
"""A Kubernetes API server stand-in for frondtail's metadata tests.

It serves the one resource frondtail reads, core/v1 pods, the way
kube-apiserver does:

- ``GET /api/v1/pods?fieldSelector=spec.nodeName=<node>``: a ``PodList``
  (``kind``, ``apiVersion``, ``metadata.resourceVersion``, ``items``);
- the same with ``watch=1`` (``true``), ``resourceVersion``,
  ``allowWatchBookmarks=true`` and ``timeoutSeconds``: a chunked stream of
  newline-delimited watch events ``{"type": "ADDED|MODIFIED|DELETED|
  BOOKMARK|ERROR", "object": ...}``, starting after the given version and
  ending after timeoutSeconds;
- a resourceVersion older than the compaction point: an ``ERROR`` event
  whose object is a ``Status`` with ``code: 410`` (reason ``Expired``), as
  the watch cache answers, or, with ``gone_style="http"``, an HTTP 410
  with the same Status body;
- ``Authorization: Bearer <token>`` checked (401 + Status otherwise);
- only ``fieldSelector=spec.nodeName=<x>`` is understood (anything else:
  400), and pods of other nodes are never in an answer.

Pods are the API's JSON (metadata.name/namespace/uid/resourceVersion/
labels/ownerReferences, spec.nodeName, status.phase), made by ``pod()``.
Every request is recorded (path, query, whether it was authorised) and
every pod served is remembered, so a test can prove what was asked.

Test controls: ``add``, ``modify``, ``delete``, ``drop_watches()`` (close
open watch streams mid-flight), ``compact()`` (make every version so far
too old), ``go_down()`` / ``come_back()`` (close / reopen the port).
Served over TLS when given (certfile, keyfile).
"""

import copy
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from httpstandin import HttpStandin  # noqa: E402


def pod(name, namespace="default", node="node-a", labels=None, owner=None, uid=None):
    """A v1 Pod as the API returns it; owner = (kind, name) of its controller."""
    md = {
        "name": name,
        "namespace": namespace,
        "uid": uid or str(uuid.uuid4()),
        "creationTimestamp": "2026-11-28T10:00:00Z",
        "labels": dict(labels or {}),
    }
    if owner:
        md["generateName"] = owner[1] + "-"
        md["ownerReferences"] = [{
            "apiVersion": "apps/v1" if owner[0] != "Job" else "batch/v1",
            "kind": owner[0],
            "name": owner[1],
            "uid": str(uuid.uuid4()),
            "controller": True,
            "blockOwnerDeletion": True,
        }]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": md,
        "spec": {
            "containers": [{"name": "app", "image": "registry.example/app:1"}],
            "nodeName": node,
            "restartPolicy": "Always",
        },
        "status": {"phase": "Running", "podIP": "10.0.0.7"},
    }


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class K8sStandin(HttpStandin):
    def __init__(self, token="k8s-token", tls=None, port=0, bookmark_interval=0.5):
        self.token = token
        self.tls = tls
        self.port = port
        self.bookmark_interval = bookmark_interval
        self.gone_style = "event"    # or "http"
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.rv = 100
        self.compacted = 0           # versions <= this are gone
        self.pods = {}               # (ns, name) -> pod
        self.history = []            # (rv, type, pod) for watches
        self.requests = []           # dicts: watch, query, authorized, status
        self.served = set()          # (ns, name) of every pod in any answer
        self._gen = 0                # bumped by drop_watches() and go_down()
        self._conns = set()

    # ---- lifecycle ----

    def stop(self):
        self.go_down()

    def go_down(self):
        self.close_port()
        self.drop_watches()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    # ---- the store ----

    def _event(self, etype, p):
        self.rv += 1
        p["metadata"]["resourceVersion"] = str(self.rv)
        self.history.append((self.rv, etype, copy.deepcopy(p)))
        self.cond.notify_all()

    def add(self, p):
        with self.lock:
            self.pods[(p["metadata"]["namespace"], p["metadata"]["name"])] = p
            self._event("ADDED", p)
        return p

    def modify(self, namespace, name, labels):
        with self.lock:
            p = self.pods[(namespace, name)]
            p["metadata"]["labels"] = dict(labels)
            self._event("MODIFIED", p)

    def delete(self, namespace, name):
        with self.lock:
            p = self.pods.pop((namespace, name))
            self._event("DELETED", p)

    def compact(self):
        """Every resourceVersion handed out so far becomes too old to watch from."""
        with self.lock:
            self.compacted = self.rv
            self.rv += 1

    def drop_watches(self):
        """Close every open watch stream abruptly (a load balancer idle cut, an apiserver restart)."""
        with self.lock:
            self._gen += 1
            conns = list(self._conns)
            self._conns.clear()
            self.cond.notify_all()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def watch_requests(self):
        with self.lock:
            return [r for r in self.requests if r["watch"]]

    def list_requests(self):
        with self.lock:
            return [r for r in self.requests if not r["watch"]]

    # ---- HTTP ----

    def _handler_class(self):
        sa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
                auth = self.headers.get("Authorization", "")
                ok = auth == "Bearer " + sa.token
                watch = q.get("watch") in ("1", "true")
                rec = {"path": u.path, "query": q, "watch": watch, "authorized": ok,
                       "status": 0, "time": time.monotonic()}
                with sa.lock:
                    sa.requests.append(rec)
                if not ok:
                    rec["status"] = 401
                    return self._json(401, status(401, "Unauthorized", "Unauthorized"))
                if u.path != "/api/v1/pods":
                    rec["status"] = 404
                    return self._json(404, status(404, "NotFound", "the server could not "
                                                  "find the requested resource"))
                sel = q.get("fieldSelector", "")
                node = None
                if sel:
                    if not sel.startswith("spec.nodeName="):
                        rec["status"] = 400
                        return self._json(400, status(400, "BadRequest",
                                                      "field label not supported: " + sel))
                    node = sel[len("spec.nodeName="):]

                def visible(p):
                    return node is None or p["spec"].get("nodeName") == node
                if not watch:
                    with sa.lock:
                        items = [copy.deepcopy(p) for p in sa.pods.values() if visible(p)]
                        rv = sa.rv
                        for p in items:
                            sa.served.add((p["metadata"]["namespace"], p["metadata"]["name"]))
                    for p in items:
                        # List items carry no kind/apiVersion, as in the real API.
                        p.pop("kind", None)
                        p.pop("apiVersion", None)
                    rec["status"] = 200
                    return self._json(200, {"kind": "PodList", "apiVersion": "v1",
                                            "metadata": {"resourceVersion": str(rv)},
                                            "items": items})
                self._watch(q, visible, rec)

            def _watch(self, q, visible, rec):
                try:
                    since = int(q.get("resourceVersion") or "0")
                except ValueError:
                    since = 0
                timeout = float(q.get("timeoutSeconds") or "1800")
                bookmarks = q.get("allowWatchBookmarks") == "true"
                with sa.lock:
                    stale = since != 0 and since <= sa.compacted
                    gen = sa._gen
                    cur = sa.rv
                    if not stale:
                        sa._conns.add(self.connection)
                gone = status(410, "Expired", "too old resource version: %d (%d)" % (since, cur))
                if stale and sa.gone_style == "http":
                    rec["status"] = 410
                    return self._json(410, gone)
                rec["status"] = 200
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def send(obj):
                    data = json.dumps(obj).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                try:
                    if stale:
                        send({"type": "ERROR", "object": gone})
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    end = time.monotonic() + timeout
                    next_bm = time.monotonic() + sa.bookmark_interval
                    pos = since
                    while True:
                        with sa.lock:
                            evs = [(rv, t, p) for rv, t, p in sa.history if rv > pos]
                            if not evs and sa._gen == gen:
                                wait = min(end, next_bm) - time.monotonic()
                                if wait > 0:
                                    sa.cond.wait(wait)
                                evs = [(rv, t, p) for rv, t, p in sa.history if rv > pos]
                            dropped = sa._gen != gen
                            cur = sa.rv
                            for rv, t, p in evs:
                                if visible(p):
                                    sa.served.add((p["metadata"]["namespace"],
                                                   p["metadata"]["name"]))
                        if dropped:
                            # The socket was shut down under us; nothing more to write.
                            return
                        for rv, t, p in evs:
                            pos = rv
                            if visible(p):
                                send({"type": t, "object": p})
                        now = time.monotonic()
                        if bookmarks and now >= next_bm:
                            pos = max(pos, cur)
                            send({"type": "BOOKMARK", "object": {
                                "kind": "Pod", "apiVersion": "v1",
                                "metadata": {"resourceVersion": str(pos)}}})
                            next_bm = now + sa.bookmark_interval
                        if now >= end:
                            self.wfile.write(b"0\r\n\r\n")
                            self.wfile.flush()
                            return
                finally:
                    with sa.lock:
                        sa._conns.discard(self.connection)

        return Handler


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="k8s-token")
    ap.add_argument("--node", default="node-a")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    s = K8sStandin(token=a.token, port=a.port,
                   tls=(a.cert, a.key) if a.cert else None).start()
    # The demo's pods; their log directories are <ns>_<name>_<uid>.
    s.add(pod("palmdao-7d9c8b5f4-x2k9q", "palm", a.node,
              {"app.kubernetes.io/name": "palmdao", "pod-template-hash": "7d9c8b5f4",
               "team": "dao"},
              ("ReplicaSet", "palmdao-7d9c8b5f4"), uid="uid-palmdao"))
    s.add(pod("rabbitmq-0", "mq", a.node, {"team": "platform"}, ("StatefulSet", "rabbitmq"),
              uid="uid-rabbitmq"))
    s.add(pod("elsewhere-0", "palm", "node-b", {"app": "elsewhere"},
              ("StatefulSet", "elsewhere"), uid="uid-elsewhere"))
    print("kubernetes API stand-in on %s (token %s)" % (s.url, a.token), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s.stop()


if __name__ == "__main__":
    main()
