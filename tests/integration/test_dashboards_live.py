#!/usr/bin/python3
"""frond's dashboards and rules against the real exporters, live.

A real Prometheus (Debian's) scrapes, every second, the real binaries:
three frond_mongodb_exporter (one per member of the MongoDB stand-in's
healthy replica set), frond_rabbitmq_exporter on a private real RabbitMQ
(the RabbitMQ engineer's launcher, tests/integration/rabbitmq/broker.py),
frond_usage_exporter with the example configuration
(exporters/usage/examples/palm.yaml) against a scripted stand-in, and
frondtail tailing kubelet-style CRI files and shipping them to the Loki
stand-in. All of alerts/*.rules.yml is loaded. Then:

1. every name in dashboards/metrics.yml of a live part is exposed by the
   binary that owns it (so the catalog cannot list names that do not exist);
2. every PromQL of every dashboard (panels and variables, variables
   substituted) returns at least one series, except the cAdvisor and
   kube-state-metrics ones (checked over synthetic series by
   alerts/tests/services.test.yml) — LogQL is only parsed (lint_queries):
   the Loki stand-in receives pushes, it does not answer queries;
3. every recording rule has produced series, and every alert's expression,
   with its comparisons made `bool` (and each side of an `unless`), returns series
   — so each alert reads metrics and labels that exist, and its vector
   matching joins;
4. in this healthy setup no alert is firing after more than a minute of
   evaluation (every alert has for: >= 1m), and none has been pending for
   more than a few seconds (so alerts with a longer for: are covered too);
5. then frondtail is made to retry (Loki 500) and drop (Loki 400), and the
   panels and names that only exist after such events return series too.
"""

import glob
import json
import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for p in (os.path.join(HERE, "lib"), HERE, os.path.join(HERE, "mongodb"),
          os.path.join(HERE, "rabbitmq"), os.path.join(HERE, "usage"),
          os.path.join(ROOT, "tests", "lint")):
    sys.path.insert(0, p)

import yaml  # noqa: E402

import catalog  # noqa: E402
import check_queries  # noqa: E402
import frondtail_testlib as fl  # noqa: E402
import frondtest  # noqa: E402
from broker import Broker  # noqa: E402
from frondtest import TestFailure, free_port, http, wait_until  # noqa: E402
from loki_standin import LokiStandin, loki_400, loki_500  # noqa: E402
from replset import ReplicaSet  # noqa: E402
from usagefix import UsageDB, start_exporter  # noqa: E402

# Grafana's own variables for the live queries ($__rate_interval as Grafana
# computes it for a 1 s scrape interval, with room to spare), and the values
# of the variables over cAdvisor/kube-state-metrics, which are not running.
LIVE_VARS = {"namespace": ".*", "service": "palmdao", "__rate_interval": "20s",
             "__auto": "20s", "__interval": "5s", "__range": "5m"}
EVAL_SECONDS = 65          # > the shortest for: (1m), so a wrongly true alert would fire
PENDING_GRACE = 20         # a pending alert older than this was true all along
QUEUE = "palmdao.tasks"    # named after the service, as the services dashboard expects


def substitute(expr, values):
    def repl(m):
        name = (m.group(1) or m.group(2)).split(":")[0]
        if name not in values:
            raise TestFailure("no live value for variable $%s in %s" % (name, expr))
        return values[name]
    return re.sub(r"\$\{([a-zA-Z0-9_:]+)\}|\$([a-zA-Z_][a-zA-Z0-9_]*)", repl, expr)


def probe(expr):
    """The alert expression with its comparisons made `bool`, split at `unless` into the
    expressions on each side: each returns a series wherever the alert's inputs exist and
    join, whether the alert is true or not."""
    parts = re.split(r"\bunless\b", expr)
    # The right side of `unless on (...)` starts with the matching clause.
    parts = [re.sub(r"^\s*(on|ignoring)\s*\([^)]*\)", "", p) for p in parts]
    return [_boolify(p) for p in parts]


def _boolify(expr):
    blank = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: "x" * len(m.group(0)), expr)
    blank = re.sub(r"\{[^}]*\}|\[[^\]]*\]", lambda m: "x" * len(m.group(0)), blank)
    out, last = [], 0
    for m in re.finditer(r"==|!=|>=|<=|>|<", blank):
        if re.match(r"\s*bool\b", blank[m.end():]):
            continue
        out.append(expr[last:m.end()] + " bool")
        last = m.end()
    out.append(expr[last:])
    return " ".join("".join(out).split())


class RulesPrometheus(frondtest.Prometheus):
    """frondtest.Prometheus with rule files loaded, scraping every 2 s, evaluating every 1 s."""

    def __init__(self, h, scrape_configs, rule_files):
        self.port = free_port()
        # 2 s scrapes: the exporters' deadline is the scrape timeout minus
        # their 0.5 s offset, and sanitizer builds on a busy machine need room.
        cfg = {"global": {"scrape_interval": "2s", "scrape_timeout": "2s",
                          "evaluation_interval": "1s"},
               "rule_files": rule_files, "scrape_configs": scrape_configs}
        path = h.path("prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = h.start("prometheus", [
            "prometheus", "--config.file=%s" % path, "--storage.tsdb.path=%s" % h.path("prom"),
            "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"])
        wait_until(lambda: http(self.url + "/-/ready", timeout=1).status == 200, 30,
                   what="prometheus ready")


def label_values(prom, expr, label):
    return sorted({r["metric"][label] for r in prom.query(expr) if r["metric"].get(label)})


def resolve_variables(prom, dash, cat, name):
    """Values for a dashboard's variables as Grafana would fill them with "All" selected:
    each query variable's label_values(), in order, as a regex-escaped (a|b|c). Variables
    over cAdvisor/kube-state-metrics (not running here) get the services test's values."""
    values = {k: v for k, v in LIVE_VARS.items() if k.startswith("__")}
    for v in (dash.get("templating") or {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.match(r"^\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*$", q)
        if not m:
            raise TestFailure("%s: variable %s: not a label_values() query" % (name, v["name"]))
        expr, label = m.groups()
        if any(cat.known(n) and not cat.live(n) for n in catalog.metric_names(expr)):
            values[v["name"]] = LIVE_VARS[v["name"]]
            continue
        expr = substitute(expr, values)
        got = wait_until(lambda: label_values(prom, expr, label), 30, interval=0.5,
                         what="%s: values of variable %s (%s)" % (name, v["name"], q))
        values[v["name"]] = "(%s)" % "|".join(re.escape(x).replace("\\", "\\\\")
                                              for x in got)
    return values


def wait_all(prom, items, timeout, what):
    """Poll until every (where, expr) returns >= 1 series; fail listing the ones that never did."""
    pending = dict(items)
    deadline = time.monotonic() + timeout
    while pending:
        for where, expr in list(pending.items()):
            try:
                if prom.query(expr):
                    del pending[where]
            except TestFailure as e:
                raise TestFailure("%s: %s" % (where, e))
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if pending:
        raise TestFailure("%d %s returned no series after %.0fs:\n%s" % (
            len(pending), what, timeout,
            "\n".join("  %s: %s" % kv for kv in sorted(pending.items()))))


# ---- the system under test ----------------------------------------------------------

def start_broker(h, box):
    try:
        b = Broker(h.path("rabbitmq"))
        box["broker"] = b
        b.start()
        b.declare_queue("/", QUEUE)
        b.declare_queue("/", "palmvalidator.results", qtype="quorum")
        b.publish("/", QUEUE, 5)
        # One delivery requeued and one acknowledged, so the queue's
        # delivered/redelivered/acked counters exist.
        for mode in ("reject_requeue_true", "ack_requeue_false"):
            b.api_ok("POST", "/api/queues/%%2F/%s/get" % QUEUE,
                     {"count": 1, "ackmode": mode, "encoding": "auto"})
    except BaseException as e:  # reported by the main thread
        box["error"] = e


def usage_db():
    """The example configuration's collections with plausible platform data."""
    db = UsageDB().start()

    def users(cmd):
        q = repr(cmd.get("query"))
        if "discord" in q:
            return 310
        if "86400000" in q:
            return 420
        if "604800000" in q:
            return 900
        if "lastSeenAt" in q:
            return 1500
        return 2048

    def validations(cmd):
        if "$match" in repr(cmd.get("pipeline")):
            return [{"result": "valid", "count": 12}, {"result": "invalid", "count": 2}]
        return [{"_id": "valid", "count": 5100}, {"_id": "invalid", "count": 240}]

    db.counts[("palm", "users")] = users
    db.aggs[("palm", "proposals")] = [{"_id": "active", "count": 4}, {"_id": "passed", "count": 31},
                                      {"_id": "rejected", "count": 9}]
    db.aggs[("palm", "validations")] = validations
    return db


def write_pod_logs(root, n, tag):
    """Append n CRI lines to two palmdao pods' logs (kubelet layout)."""
    for pod in ("palmdao-7d9f-abcde", "palmdao-7d9f-fghij"):
        with open(fl.pod_log(root, "palm", pod, "app"), "ab") as f:
            for i in range(n):
                f.write(fl.cri_line(time.time_ns(), "stdout", "F",
                                    "%s line %d level=info msg=\"handled\"" % (tag, i)))


def test_dashboards_and_rules_live(h):
    t0 = time.monotonic()
    cat = catalog.Catalog()
    box = {}
    broker_thread = threading.Thread(target=start_broker, args=(h, box), daemon=True)
    broker_thread.start()
    h.on_cleanup(lambda: box["broker"].stop() if "broker" in box else None)

    # MongoDB: the healthy 3-member set and one exporter per member.
    rs = ReplicaSet().start()
    h.on_cleanup(rs.stop)
    rs.set_scenario("healthy")
    targets = {"mongodb": [], "rabbitmq": [], "usage": [], "frondtail": []}
    procs = []
    for i in range(3):
        port = free_port()
        procs.append(h.start("mongodb%d" % i, [
            frondtest.binary("exporters", "mongodb", "frond_mongodb_exporter"),
            "--web.listen-address=127.0.0.1:%d" % port, "--mongodb.uri=" + rs.uri(i)]))
        targets["mongodb"].append("127.0.0.1:%d" % port)

    # Usage: the example configuration against the scripted stand-in.
    db = usage_db()
    h.on_cleanup(db.stop)
    with open(os.path.join(ROOT, "exporters", "usage", "examples", "palm.yaml")) as f:
        usage_cfg = f.read()
    up, usage_url = start_exporter(h, usage_cfg, env={"PALM_MONGODB_URI": db.uri})
    procs.append(up)
    targets["usage"].append(usage_url[len("http://"):])

    # frondtail: kubelet-style files shipped to the Loki stand-in.
    loki = LokiStandin(h.tmp).start()
    h.on_cleanup(loki.stop)
    pods = h.path("pods")
    write_pod_logs(pods, 20, "boot")
    cfg = fl.Config(h, loki.url, pods + "/*/*/*.log")
    procs.append(fl.start(h, cfg))
    targets["frondtail"].append(cfg.base[len("http://"):])

    broker_thread.join(120)
    if "error" in box or broker_thread.is_alive():
        raise TestFailure("RabbitMQ did not start: %r" % box.get("error"))
    b = box["broker"]
    port = free_port()
    procs.append(h.start("rabbitmq_exporter", [
        frondtest.binary("exporters", "rabbitmq", "frond_rabbitmq_exporter"),
        "--web.listen-address=127.0.0.1:%d" % port, "--rabbit.url=" + b.mgmt_url]))
    targets["rabbitmq"].append("127.0.0.1:%d" % port)

    rule_files = sorted(os.path.join(ROOT, "alerts", f) for f in os.listdir(
        os.path.join(ROOT, "alerts")) if f.endswith(".rules.yml"))
    prom = RulesPrometheus(h, [{"job_name": job, "static_configs": [{"targets": tg}]}
                               for job, tg in targets.items()], rule_files)
    h.on_cleanup(prom.stop)
    print("setup done after %.1fs" % (time.monotonic() - t0), flush=True)

    # Keep logs flowing so rates and the lag have something to show.
    stop_writer = threading.Event()

    def writer():
        n = 0
        while not stop_writer.wait(0.5):
            write_pod_logs(pods, 5, "tick%d" % n)
            n += 1
    wt = threading.Thread(target=writer, daemon=True)
    wt.start()
    h.on_cleanup(stop_writer.set)

    # 1. Every catalog name of a live part is exposed by its binary.
    wait_until(lambda: all(prom.query('up{job="%s"} == 1' % j) for j in targets), 60,
               interval=0.5, what="every target up")
    first_eval = time.monotonic()

    def not_exposed():
        """Catalog names each binary should expose but does not (yet)."""
        missing = []
        for job, tg in targets.items():
            text = http("http://%s/metrics" % tg[0]).text
            expositions[job] = text
            names = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.M))
            need = [n for n, part in cat.part_of.items()
                    if part in (job, "libfrond") and n not in cat.event
                    and n not in cat.optional and n not in cat.config_metrics]
            if job == "usage":
                need += list(cat.config_metrics)
            for n in need:
                series = n + "_bucket" if cat.types.get(n) == "histogram" else n
                if series not in names:
                    missing.append("%s (from %s)" % (n, job))
        return sorted(missing)

    # The usage exporter's queries run in the background: poll briefly.
    expositions = {}
    deadline = time.monotonic() + 30
    missing = not_exposed()
    while missing and time.monotonic() < deadline:
        time.sleep(0.5)
        missing = not_exposed()
    if missing:
        raise TestFailure("names in dashboards/metrics.yml not exposed:\n  " +
                          "\n  ".join(missing))
    exposed = set()
    for text in expositions.values():
        exposed |= set(re.findall(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", text, re.M))
    extra = sorted(n for n in exposed if n not in cat.types)
    if extra:
        print("exposed but not in dashboards/metrics.yml (not usable by dashboards yet): %s"
              % ", ".join(extra), flush=True)

    # 2. Dashboard queries, with each dashboard's variables resolved the way
    #    Grafana does it (not the cAdvisor/kube-state-metrics ones; the ones
    #    that need an event are checked in step 5).
    event_items, panel_items = {}, {}
    nvars = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json"))):
        with open(path) as f:
            dash = json.load(f)
        name = os.path.basename(path)
        values = resolve_variables(prom, dash, cat, name)
        nvars += len([k for k in values if not k.startswith("__")])
        for p in check_queries.walk(dash.get("panels")):
            pkind = (p.get("datasource") or {}).get("type", "prometheus")
            for tg in p.get("targets") or []:
                if (tg.get("datasource") or {}).get("type", pkind) != "prometheus":
                    continue
                expr = tg["expr"]
                names = catalog.metric_names(expr)
                if any(cat.known(n) and not cat.live(n) for n in names):
                    continue
                dest = event_items if any(cat.base(n) in cat.event for n in names) \
                    else panel_items
                dest["%s panel %r %s" % (name, p.get("title"), tg.get("refId"))] = \
                    substitute(expr, values)
    # The check can fail: a selector that matches nothing returns nothing.
    if prom.query('mongodb_up{job="no-such-job"}'):
        raise TestFailure("a query for a job that does not exist returned series")
    wait_all(prom, panel_items, 60, "dashboard queries")
    print("%d dashboard variables resolved, %d dashboard queries return series (%.1fs)" % (
        nvars, len(panel_items), time.monotonic() - t0), flush=True)

    # 3. Recording rules produced series; alert inputs exist and join.
    rule_items, alert_items = {}, {}
    for path in rule_files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for g in doc["groups"]:
            for r in g["rules"]:
                if "record" in r:
                    rule_items["record " + r["record"]] = r["record"]
                else:
                    names = catalog.metric_names(r["expr"])
                    dest = event_items if any(cat.base(n) in cat.event for n in names) \
                        else alert_items
                    for pr in probe(r["expr"]):
                        dest["alert %s: %s" % (r["alert"], pr)] = pr
    wait_all(prom, rule_items, 30, "recording rules")
    wait_all(prom, alert_items, 30, "alert expressions (comparisons as bool)")
    print("%d recording rules and %d alert expressions return series (%.1fs)" % (
        len(rule_items), len(alert_items), time.monotonic() - t0), flush=True)

    # 4. Healthy: after more than a minute of evaluation nothing fires, and
    #    nothing has been pending for long (a single slow scrape of a busy
    #    sanitizer build may make an exporter-down alert pending for a moment:
    #    that is what `for:` is for).
    while time.monotonic() - first_eval < EVAL_SECONDS:
        if prom.query('ALERTS{alertstate="firing"}'):
            break
        time.sleep(1)
    firing = prom.query('ALERTS{alertstate="firing"}')
    stuck = prom.query("time() - ALERTS_FOR_STATE > %d" % PENDING_GRACE)
    if firing or stuck:
        raise TestFailure("alerts active in the healthy setup:\n  " + "\n  ".join(
            ["firing %s" % a["metric"] for a in firing] +
            ["pending for %.0fs %s" % (float(a["value"][1]), a["metric"]) for a in stuck]))
    print("no alert firing after %.0fs of evaluation, none pending for more than %ds "
          "(%.1fs)" % (time.monotonic() - first_eval, PENDING_GRACE, time.monotonic() - t0),
          flush=True)

    # 5. Events: one 500 (retried) and one 400 (dropped) from Loki.
    loki.script(loki_500(), loki_400())
    wait_until(lambda: loki.statuses().count(400) >= 1, 30, interval=0.2,
               what="Loki answered 400 to a push")
    text = http(cfg.base + "/metrics").text
    for n in sorted(cat.event):
        if cat.part_of[n] == "frondtail" and not re.search(r"^%s[{ ]" % n, text, re.M):
            raise TestFailure("%s not exposed after a retry and a drop" % n)
    wait_all(prom, event_items, 30, "queries over event metrics")
    print("%d queries over event metrics return series (%.1fs)" % (
        len(event_items), time.monotonic() - t0), flush=True)

    stop_writer.set()
    wt.join(5)
    for p in procs:
        p.stop()


if __name__ == "__main__":
    frondtest.run_tests("dashboards_live", [test_dashboards_and_rules_live])
