"""Shared pieces of frondtail's integration tests (test_frondtail_*.py).

Kubelet-style pod directories under a temp root, CRI and docker json-file
line writers, a promtail-style config writer, and starting the real
`frondtail` binary against the Loki stand-in (loki_standin.py). Every line
the tests write carries a unique `id=<file>:<n>` marker, so a check can tell
exactly which lines arrived, how often, and in which order.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import frondtest  # noqa: E402
from frondtest import TestFailure, http, wait_until  # noqa: E402,F401
from loki_standin import LokiStandin, parse_labels  # noqa: E402,F401 (re-exported)


def frondtail_binary():
    return frondtest.binary("shipper", "frondtail")


def rfc3339nano(ts_ns):
    sec, ns = divmod(ts_ns, 1000000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%09dZ" % ns


def pod_log(root, ns, pod, container, uid="0c0ffee0-1111-2222-3333-444455556666", n=0):
    d = os.path.join(root, "%s_%s_%s" % (ns, pod, uid), container)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, "%d.log" % n)


def cri_line(ts_ns, stream, tag, msg):
    """One physical CRI line (bytes), newline included."""
    if isinstance(msg, str):
        msg = msg.encode()
    return b"%s %s %s %s\n" % (rfc3339nano(ts_ns).encode(), stream.encode(), tag.encode(), msg)


def docker_line(ts_ns, stream, msg):
    """One docker json-file line; msg is str (json.dumps escapes it)."""
    return (json.dumps({"log": msg + "\n", "stream": stream,
                        "time": rfc3339nano(ts_ns)}, ensure_ascii=True) + "\n").encode()


class Config:
    """A promtail-compatible config for one frondtail run."""

    def __init__(self, h, loki_url, glob, fmt="cri", name="frondtail"):
        self.h = h
        self.port = frondtest.free_port()
        self.path = h.path("%s.yaml" % name)
        self.positions = h.path("positions.yaml")
        self.loki_url = loki_url
        self.glob = glob
        self.fmt = fmt
        self.client = {"batchwait": "200ms", "batchsize": 1048576, "timeout": "10s",
                       "backoff_config": {"min_period": "100ms", "max_period": "1s",
                                          "max_retries": 0}}
        self.labels = {"job": "pods"}
        self.positions_sync = "500ms"
        self.target_sync = "1s"
        self.extra = ""
        self.more_clients = []  # further `clients:` entries (dicts with their own url)

    def write(self):
        client = dict(self.client)
        client["url"] = self.loki_url
        lines = [
            "server:",
            "  http_listen_address: 127.0.0.1",
            "  http_listen_port: %d" % self.port,
            "  grpc_listen_port: 0",
            "positions:",
            "  filename: %s" % self.positions,
            "  sync_period: %s" % self.positions_sync,
            "target_config:",
            "  sync_period: %s" % self.target_sync,
            "clients:",
            "  - " + json.dumps(client),
        ] + ["  - " + json.dumps(c) for c in self.more_clients] + [
            "scrape_configs:",
            "  - job_name: pods",
            "    pipeline_stages:",
            "      - %s: {}" % self.fmt,
            "    static_configs:",
            "      - targets: [localhost]",
            "        labels:",
        ]
        for k, v in sorted(self.labels.items()):
            lines.append("          %s: %s" % (k, json.dumps(v)))
        lines.append("          __path__: %s" % json.dumps(self.glob))
        with open(self.path, "w") as f:
            f.write("\n".join(lines) + "\n" + self.extra)
        return self.path

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port


def start(h, cfg, name="frondtail", env=None, args=()):
    """Start frondtail with cfg and wait until /ready answers."""
    cfg.write()
    p = h.start(name, [frondtail_binary(), "-config.file=%s" % cfg.path] + list(args), env=env)

    def ready():
        if not p.alive():
            raise TestFailure("frondtail exited early (%s):\n%s" % (p.p.returncode, p.log()[-3000:]))
        return http(cfg.base + "/ready", timeout=1).status == 200
    wait_until(ready, 60, interval=0.1, what="frondtail /ready")
    return p


def metrics(cfg):
    r = http(cfg.base + "/metrics", timeout=10)
    if r.status != 200:
        raise TestFailure("/metrics answered %d" % r.status)
    return frondtest.parse_metrics(r.text)


def metric_sum(m, name, **labels):
    """Sum of every series of `name` whose labels include `labels`."""
    total = 0.0
    for lbls, v in frondtest.series(m, name):
        if all(lbls.get(k) == want for k, want in labels.items()):
            total += v
    return total


def ids_of(entries, prefix=b"id="):
    """The id markers of recorded entries, in arrival order."""
    out = []
    for e in entries:
        line = e[3]
        i = line.find(prefix)
        if i < 0:
            out.append(None)
            continue
        j = i + len(prefix)
        k = j
        while k < len(line) and line[k:k + 1] not in (b" ", b"\n"):
            k += 1
        out.append(line[j:k].decode())
    return out


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_delivered(loki, want_ids, timeout=120.0):
    """Poll until every id in want_ids arrived at least once; returns the arrival list."""
    want = set(want_ids)

    def done():
        got = set(ids_of(loki.entries()))
        return want <= got
    try:
        wait_until(done, timeout, interval=0.2, what="%d entries delivered" % len(want))
    except TestFailure:
        got = set(ids_of(loki.entries()))
        missing = sorted(want - got)
        raise TestFailure("%d of %d entries missing after %.0fs, e.g. %s" % (
            len(missing), len(want), timeout, missing[:10]))
    return ids_of(loki.entries())
