#!/usr/bin/python3
"""frondtail end to end with Kubernetes metadata: the real binary, the Loki
stand-in, and the Kubernetes API stand-in (k8s_standin.py) served over TLS
with a CA made by the openssl CLI and a bearer token.

- test_listed_and_watched: pods listed at start label their files (app
  from app.kubernetes.io/name or the ReplicaSet name without its hash,
  copied pod labels, controller, and a relabel rule on promtail's
  __meta_kubernetes_pod_label_* name); a pod ADDED later through the watch
  labels a file created after it; only this node's pods are ever asked
  for or served (fieldSelector spec.nodeName), every request carries the
  token, and a rotated token file is picked up by the next request.
- test_rewatch_and_gone: a dropped watch stream is re-opened from the last
  resourceVersion (no re-list); a 410 Gone as an ERROR event and as an
  HTTP 410 both lead to a re-list, after which new pods still resolve.
- test_api_down_at_start: with the API unreachable, lines are shipped at
  once with the path labels only (misses counted); once the API answers,
  the same file's next lines carry the pod's labels.
- test_untrusted_ca: a server certificate from another CA is refused
  (no request reaches the API, lines ship without metadata).
"""

import subprocess
import time

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, ids_of, metric_sum,
                               metrics, parse_labels, pod_log, start, wait_until)
from k8s_standin import K8sStandin, pod
import frondtest

BASE_TS = 1764300000 * 1000000000
NODE = "node-a"


def make_tls(h, prefix=""):
    """A CA and a server certificate for 127.0.0.1 signed by it, with the openssl CLI."""
    ca_key, ca, key, csr, cert = (h.path(prefix + n) for n in ("ca.key", "ca.crt", "srv.key",
                                                               "srv.csr", "srv.crt"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=frond-test-ca")
    run("openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=kubernetes")
    with open(h.path(prefix + "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", h.path(prefix + "san.ext"))
    return ca, (cert, key)


def k8s_config(h, cfg, api_url, ca, token_file, extra=""):
    # The scrape config ends the file Config writes, so these lines continue it: a
    # promtail-style rule on a kubernetes_sd meta label, which frondtail provides too.
    relabel = "\n".join([
        "    relabel_configs:",
        "      - source_labels: [__meta_kubernetes_pod_label_team]",
        "        target_label: squad",
    ]) + "\n"
    cfg.extra = relabel + "\n".join([
        "kubernetes_metadata:",
        "  enabled: true",
        "  api_server: %s" % api_url,
        "  token_file: %s" % token_file,
        "  ca_file: %s" % ca,
        "  node_name: %s" % NODE,
        "  labels: [team, app.kubernetes.io/version]",
        "  controller_label: true",
        "  resync_period: 30s",
        "  backoff_config: {min_period: 100ms, max_period: 500ms}",
    ]) + "\n" + extra


def write_token(path, token):
    with open(path + ".tmp", "w") as f:
        f.write(token + "\n")
    # Atomic, like the kubelet's projected volume update.
    import os
    os.replace(path + ".tmp", path)


class Writer:
    """Appends CRI lines with unique ids to pod log files."""

    def __init__(self, root):
        self.root = root
        self.n = 0

    def write(self, ns, name, uid, count=3, tag="x"):
        path = pod_log(self.root, ns, name, "app", uid=uid)
        ids = []
        with open(path, "ab") as f:
            for _ in range(count):
                self.n += 1
                i = "%s:%d" % (tag, self.n)
                ids.append(i)
                f.write(cri_line(BASE_TS + self.n * 1000, "stdout", "F", b"id=%s hi" % i.encode()))
        return ids


def labels_of(loki, want_ids, timeout=30):
    """Wait until every id arrived; returns {id: labels dict} (first arrival)."""
    want = set(want_ids)
    out = {}

    def done():
        for e in loki.entries():
            for i in ids_of([e]):
                if i in want and i not in out:
                    out[i] = parse_labels(e[1])
        return want <= set(out)
    wait_until(done, timeout, interval=0.1, what="%d entries delivered" % len(want))
    return out


def check_node_filter(api, other_pods):
    reqs = api.requests
    if not reqs:
        raise TestFailure("frondtail never called the API")
    for r in reqs:
        if r["query"].get("fieldSelector") != "spec.nodeName=" + NODE:
            raise TestFailure("request without this node's field selector: %r" % (r,))
    leaked = api.served & set(other_pods)
    if leaked:
        raise TestFailure("pods of another node were served: %r" % (leaked,))


def setup(h, api_up=True):
    ca, tls = make_tls(h)
    token_file = h.path("token")
    write_token(token_file, "tok-1")
    api = K8sStandin(token="tok-1", tls=tls, port=frondtest.free_port(), bookmark_interval=0.3)
    if api_up:
        api.start()
    h.on_cleanup(api.stop)
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    k8s_config(h, cfg, "https://127.0.0.1:%d" % api.port, ca, token_file)
    return api, loki, root, cfg, token_file


def test_listed_and_watched(h):
    api, loki, root, cfg, token_file = setup(h)
    api.add(pod("palmdao-7d9c8b5f4-x2k9q", "palm", NODE,
                {"app.kubernetes.io/name": "palmdao", "app.kubernetes.io/version": "1.4.2",
                 "pod-template-hash": "7d9c8b5f4", "team": "dao"},
                ("ReplicaSet", "palmdao-7d9c8b5f4"), uid="uid-dao"))
    api.add(pod("worker-6c8f9d7b5-abcde", "palm", NODE, {"pod-template-hash": "6c8f9d7b5"},
                ("ReplicaSet", "worker-6c8f9d7b5"), uid="uid-worker"))
    api.add(pod("rabbitmq-0", "mq", NODE, {}, ("StatefulSet", "rabbitmq"), uid="uid-rmq"))
    api.add(pod("spy-0", "palm", "node-b", {"app": "spy"}, ("StatefulSet", "spy"), uid="uid-spy"))
    p = start(h, cfg)
    wait_until(lambda: metric_sum(metrics(cfg), "frondtail_kubernetes_metadata_pods_cached") == 3,
               20, what="3 pods of node-a cached")

    w = Writer(root)
    ids_dao = w.write("palm", "palmdao-7d9c8b5f4-x2k9q", "uid-dao")
    ids_worker = w.write("palm", "worker-6c8f9d7b5-abcde", "uid-worker")
    ids_rmq = w.write("mq", "rabbitmq-0", "uid-rmq")
    got = labels_of(loki, ids_dao + ids_worker + ids_rmq)
    lab = got[ids_dao[0]]
    want = {"app": "palmdao", "team": "dao", "squad": "dao", "app_kubernetes_io_version": "1.4.2",
            "controller": "ReplicaSet/palmdao-7d9c8b5f4", "namespace": "palm",
            "pod": "palmdao-7d9c8b5f4-x2k9q", "container": "app", "job": "pods"}
    for k, v in want.items():
        if lab.get(k) != v:
            raise TestFailure("palmdao label %s=%r, want %r (all: %r)" % (k, lab.get(k), v, lab))
    if got[ids_worker[0]].get("app") != "worker":
        raise TestFailure("ReplicaSet hash not stripped: %r" % got[ids_worker[0]])
    if got[ids_rmq[0]].get("app") != "rabbitmq" or \
            got[ids_rmq[0]].get("controller") != "StatefulSet/rabbitmq":
        raise TestFailure("StatefulSet pod labels: %r" % got[ids_rmq[0]])

    # A pod that appears later arrives through the watch; its file gets labels at open.
    api.add(pod("palmvalidator-5b7xkz6fd8-q1w2e", "palm", NODE,
                {"app": "palmvalidator", "pod-template-hash": "5b7xkz6fd8"},
                ("ReplicaSet", "palmvalidator-5b7xkz6fd8"), uid="uid-val"))
    wait_until(lambda: metric_sum(metrics(cfg), "frondtail_kubernetes_metadata_pods_cached") == 4,
               20, what="watched pod cached")
    ids_val = w.write("palm", "palmvalidator-5b7xkz6fd8-q1w2e", "uid-val")
    lab = labels_of(loki, ids_val)[ids_val[0]]
    if lab.get("app") != "palmvalidator":
        raise TestFailure("watched pod labels: %r" % lab)
    if len(api.list_requests()) != 1:
        raise TestFailure("expected one list, got %d" % len(api.list_requests()))

    # Token rotation: the stand-in only accepts the new token; the file changes too.
    api.token = "tok-2"
    write_token(token_file, "tok-2")
    n0 = len(api.requests)
    api.drop_watches()
    wait_until(lambda: any(r["authorized"] for r in api.requests[n0:]), 20,
               what="a request with the rotated token")
    check_node_filter(api, [("palm", "spy-0")])
    if any(not r["authorized"] for r in api.requests[:n0]):
        raise TestFailure("a request before the rotation was not authorised")
    m = metrics(cfg)
    # Counted per file (4 files), not per client and stream the labels are built for.
    hits = metric_sum(m, "frondtail_kubernetes_metadata_hits_total")
    if hits != 4:
        raise TestFailure("hits_total %s, want 4" % hits)
    frondtest.promtool_check_metrics(frondtest.http(cfg.base + "/metrics").text)
    p.stop()


def test_rewatch_and_gone(h):
    api, loki, root, cfg, _ = setup(h)
    api.add(pod("a-0", "ns", NODE, {"app": "a"}, ("StatefulSet", "a"), uid="uid-a"))
    start(h, cfg)
    wait_until(lambda: len(api.watch_requests()) >= 1, 20, what="first watch")
    w = Writer(root)

    # Dropped stream: re-watch from the last version, no re-list.
    api.add(pod("b-0", "ns", NODE, {"app": "b"}, ("StatefulSet", "b"), uid="uid-b"))
    wait_until(lambda: metric_sum(metrics(cfg), "frondtail_kubernetes_metadata_pods_cached") == 2,
               20, what="b-0 cached")
    rv_seen = api.rv
    api.drop_watches()
    wait_until(lambda: len(api.watch_requests()) >= 2, 20, what="re-watch after a drop")
    rewatch = api.watch_requests()[1]
    if int(rewatch["query"].get("resourceVersion", "0")) < rv_seen - 1:
        raise TestFailure("re-watch from an old version: %r" % rewatch["query"])
    if rewatch["query"].get("allowWatchBookmarks") != "true" or \
            "timeoutSeconds" not in rewatch["query"]:
        raise TestFailure("watch parameters: %r" % rewatch["query"])
    if len(api.list_requests()) != 1:
        raise TestFailure("a dropped watch caused a re-list")
    ids = w.write("ns", "b-0", "uid-b", tag="b")
    if labels_of(loki, ids)[ids[0]].get("app") != "b":
        raise TestFailure("b-0 not labelled after the re-watch")

    # 410 Gone as an ERROR event in the stream -> re-list.
    api.compact()
    api.drop_watches()
    wait_until(lambda: len(api.list_requests()) >= 2, 20, what="re-list after ERROR 410")
    if len(api.list_requests()) != 2:
        raise TestFailure("one 410 caused %d lists" % (len(api.list_requests()) - 1))
    api.add(pod("c-0", "ns", NODE, {"app": "c"}, ("StatefulSet", "c"), uid="uid-c"))
    ids = w.write("ns", "c-0", "uid-c", tag="c")
    wait_until(lambda: metric_sum(metrics(cfg), "frondtail_kubernetes_metadata_pods_cached") == 3,
               20, what="c-0 cached")
    lab = labels_of(loki, ids)
    # c-0's file may have opened before the pod arrived: its next lines carry the labels.
    ids2 = w.write("ns", "c-0", "uid-c", tag="c2")
    if labels_of(loki, ids2)[ids2[-1]].get("app") != "c":
        raise TestFailure("c-0 not labelled after the 410 re-list: %r" % lab)

    # 410 Gone as the HTTP status of the watch -> re-list.
    api.gone_style = "http"
    api.compact()
    api.drop_watches()
    wait_until(lambda: any(r["status"] == 410 for r in api.watch_requests()), 20,
               what="a watch answered HTTP 410")
    wait_until(lambda: len(api.list_requests()) >= 3, 20, what="re-list after HTTP 410")
    m = metrics(cfg)
    if metric_sum(m, "frondtail_kubernetes_metadata_relists_total") < 2:
        raise TestFailure("relists not counted")
    if metric_sum(m, "frondtail_kubernetes_metadata_watch_restarts_total") < 1:
        raise TestFailure("watch restarts not counted")
    check_node_filter(api, [])


def test_api_down_at_start(h):
    api, loki, root, cfg, _ = setup(h, api_up=False)
    api.add(pod("late-0", "ns", NODE, {"app.kubernetes.io/name": "late", "team": "t"},
                ("StatefulSet", "late"), uid="uid-late"))
    start(h, cfg)
    w = Writer(root)
    ids = w.write("ns", "late-0", "uid-late", tag="early")
    lab = labels_of(loki, ids, timeout=20)[ids[0]]
    if "app" in lab or lab.get("pod") != "late-0":
        raise TestFailure("lines shipped while the API is down must carry path labels only: %r"
                          % lab)
    m = metrics(cfg)
    if metric_sum(m, "frondtail_kubernetes_metadata_misses_total") < 1:
        raise TestFailure("miss not counted")
    if metric_sum(m, "frondtail_kubernetes_metadata_api_errors_total") < 1:
        raise TestFailure("API errors not counted")
    api.come_back()
    wait_until(lambda: metric_sum(metrics(cfg), "frondtail_kubernetes_metadata_synced") == 1,
               20, what="metadata synced once the API is back")
    # The file opened during the outage is labelled again at its next read.
    deadline = time.monotonic() + 20
    while True:
        more = w.write("ns", "late-0", "uid-late", count=1, tag="later")
        lab = labels_of(loki, more)[more[0]]
        if lab.get("app") == "late" and lab.get("team") == "t":
            break
        if time.monotonic() > deadline:
            raise TestFailure("file never enriched after the API came back: %r" % lab)


def test_untrusted_ca(h):
    """A server certificate the configured CA did not sign is refused: no request, no labels."""
    api, loki, root, cfg, token_file = setup(h)
    api.add(pod("m-0", "ns", NODE, {"app": "m"}, ("StatefulSet", "m"), uid="uid-m"))
    other_ca, _ = make_tls(h, prefix="other-")
    k8s_config(h, cfg, "https://127.0.0.1:%d" % api.port, other_ca, token_file)
    start(h, cfg)
    wait_until(lambda: metric_sum(metrics(cfg),
                                  "frondtail_kubernetes_metadata_api_errors_total") >= 2,
               20, what="TLS failures counted")
    ids = Writer(root).write("ns", "m-0", "uid-m")
    lab = labels_of(loki, ids)[ids[0]]
    if "app" in lab:
        raise TestFailure("metadata from an unverified server: %r" % lab)
    if api.requests:
        raise TestFailure("a request went through TLS with an untrusted certificate")


if __name__ == "__main__":
    frondtest.run_tests("frondtail_k8s", [test_listed_and_watched, test_rewatch_and_gone,
                                          test_api_down_at_start, test_untrusted_ca])
