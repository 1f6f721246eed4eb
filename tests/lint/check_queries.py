#!/usr/bin/python3
"""Every PromQL and LogQL expression frond ships must parse.

PromQL comes from dashboards/*.json (panel targets, template variable
queries) and alerts/*.yml (alert and recording rules); it is checked by
the real Prometheus parser through `promtool check rules` on a generated
rule file. LogQL comes from Loki targets in the dashboards and is checked
with Grafana's Lezer grammar (tests/lint/logql_parse.cjs).

Grafana template variables are substituted first, the way Grafana would:
$__rate_interval/$__auto/$__interval/$__range become durations and other
$vars a plain value.

Usage: check_queries.py [--list]   (--list prints the expressions found)
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DURATIONS = {"__rate_interval": "5m", "__auto": "5m", "__interval": "1m", "__range": "1h",
             "__range_s": "3600", "__interval_ms": "60000"}


def substitute(expr):
    def repl(m):
        name = m.group(1) or m.group(2)
        name = name.split(":")[0]
        return DURATIONS.get(name, "x")
    return re.sub(r"\$\{([a-zA-Z0-9_:]+)\}|\$([a-zA-Z_][a-zA-Z0-9_]*)", repl, expr)


def variable_query(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    if not isinstance(q, str) or not q:
        return None
    m = re.match(r"^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$", q)
    if m:
        return m.group(1)
    m = re.match(r"^\s*label_values\(\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", q)
    if m:
        return None
    m = re.match(r"^\s*query_result\((.*)\)\s*$", q)
    return m.group(1) if m else q


def walk(panels):
    for p in panels or []:
        yield p
        yield from walk(p.get("panels"))


def dashboard_queries():
    """Yield (where, kind, expr) from every dashboard."""
    for path in sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json"))):
        with open(path) as f:
            d = json.load(f)
        name = os.path.basename(path)
        for v in (d.get("templating") or {}).get("list", []):
            if v.get("type") == "query":
                kind = (v.get("datasource") or {}).get("type", "prometheus")
                q = variable_query(v)
                if q and kind == "prometheus":
                    yield "%s variable %s" % (name, v.get("name")), "promql", q
        for p in walk(d.get("panels")):
            pkind = (p.get("datasource") or {}).get("type", "prometheus")
            for t in p.get("targets") or []:
                kind = (t.get("datasource") or {}).get("type", pkind)
                if t.get("expr"):
                    yield ("%s panel %r %s" % (name, p.get("title"), t.get("refId")),
                           "logql" if kind == "loki" else "promql", t["expr"])


def rule_queries():
    for path in sorted(glob.glob(os.path.join(ROOT, "alerts", "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        if not isinstance(doc, dict) or "groups" not in doc:
            continue  # promtool test files live next to the rules
        for g in doc["groups"]:
            for r in g.get("rules", []):
                yield ("%s %s" % (os.path.basename(path), r.get("alert") or r.get("record")),
                       "promql", r["expr"])


def check_promql(items):
    rules = [{"record": "frond:lint:expr%d" % i, "expr": substitute(e)}
             for i, (_, _, e) in enumerate(items)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump({"groups": [{"name": "lint", "rules": rules}]}, f)
        path = f.name
    try:
        p = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if p.returncode == 0:
        return []
    out = p.stdout + p.stderr
    bad = []
    for i, (where, _, e) in enumerate(items):
        if re.search(r"\bexpr%d\b" % i, out) or ("group %d, rule %d" % (0, i + 1)) in out:
            bad.append("%s: PromQL does not parse: %s" % (where, e))
    return bad or ["promtool check rules failed:\n" + out]


def check_logql(items):
    if not items:
        return []
    node_modules = os.path.join(HERE, "node_modules", "@grafana", "lezer-logql")
    if not os.path.isdir(node_modules):
        return ["tests/lint/node_modules missing: run `npm ci --prefix tests/lint` (scripts/test.sh does)"]
    data = "".join(json.dumps(substitute(e)) + "\n" for _, _, e in items)
    p = subprocess.run(["node", os.path.join(HERE, "logql_parse.cjs")], input=data,
                       capture_output=True, text=True)
    bad = []
    for (where, _, e), res in zip(items, p.stdout.splitlines()):
        if res != "ok":
            bad.append("%s: LogQL does not parse (%s): %s" % (where, res, e))
    if p.returncode != 0 and not bad:
        bad.append("logql_parse.cjs failed: " + p.stderr)
    return bad


def main(argv):
    items = list(dashboard_queries()) + list(rule_queries())
    if "--list" in argv:
        for where, kind, e in items:
            print("%s\t%s\t%s" % (kind, where, e))
        return 0
    if not items:
        print("no queries found")
        return 1
    prom = [i for i in items if i[1] == "promql"]
    logql = [i for i in items if i[1] == "logql"]
    bad = check_promql(prom) + check_logql(logql)
    for b in bad:
        print(b)
    print("%d passed, %d failed" % (len(items) - len(bad), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
