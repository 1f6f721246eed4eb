#!/usr/bin/python3
"""Lint frond's Grafana dashboards against the conventions operators rely on.

The mixin dashboards SREs import today fail in a handful of known ways:
hard-coded datasource UIDs, `${DS_PROMETHEUS}` inputs that break file
provisioning, missing job/instance variables, unit-less panels, counters
graphed raw, and `rate()` windows that are too short for the scrape
interval. Each rule below catches one of those; `--self-test` proves that
every rule fires on a dashboard built to break it (tests/lint/
reference_dashboard.json, mutated once per rule):

  schema uid id editable tags ds-inputs   top-level conventions
  ds-variable datasource                  datasources only via ${prometheus_datasource}
                                          and ${loki_datasource} template variables
  job-instance variable variable-refresh variable-multi
                                          job/instance (and namespace) query variables,
                                          refresh 2, multi + includeAll
  panel-type                              timeseries/stat/table/logs (+ row/text) only
  unit                                    fieldConfig.defaults.unit on timeseries/stat/table
  targets                                 every panel has queries
  rate-interval                           $__rate_interval in rate()/increase()/...
  raw-counter                             counters (catalog types, else *_total) only
                                          through rate()/increase()
  logql-range                             LogQL ranges are [$__auto]
  undefined-variable                      every $var used is defined
  multi-regex                             multi-value variables matched with =~ (Grafana
                                          expands them to a|b), except in a row repeated
                                          over that variable
  namespace                               Kubernetes/Loki queries filter on $namespace

Usage: check_dashboards.py [--self-test] [dashboard.json ...]
(default: every dashboards/*.json)
"""

import glob
import json
import os
import re
import sys

ALLOWED_PANELS = {"timeseries", "stat", "table", "logs", "row", "text"}
DS_VARS = {"prometheus": "prometheus_datasource", "loki": "loki_datasource"}
RANGE_FUNCS = ("rate", "irate", "increase", "delta", "idelta", "deriv", "resets",
               "changes", "avg_over_time", "max_over_time", "min_over_time",
               "sum_over_time", "count_over_time", "last_over_time", "quantile_over_time",
               "stddev_over_time", "present_over_time", "absent_over_time", "predict_linear",
               "holt_winters", "bytes_over_time", "bytes_rate")
COUNTER_FUNCS = ("rate", "irate", "increase", "resets")
UID_RE = re.compile(r"^frond-[a-z0-9-]{2,30}$")


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def panels_with_repeat(panels):
    """Yield (panel, repeat variable of the row it sits in or None). A collapsed row holds
    its panels; an open row owns the panels after it, up to the next row."""
    current = None
    for p in panels or []:
        if p.get("type") == "row":
            current = p.get("repeat")
            yield p, None
            for c in p.get("panels") or []:
                yield c, current
            continue
        yield p, current if not p.get("repeat") else p.get("repeat")


BUILTIN_VARS = {"__rate_interval", "__auto", "__interval", "__interval_ms", "__range",
                "__range_s", "__range_ms", "__from", "__to", "__name", "__org", "__user",
                "__dashboard", "timeFilter", "__timeFilter"}
VAR_RE = re.compile(r"\$\{([a-zA-Z0-9_]+)(?::[^}]*)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)")
KUBE_RE = re.compile(r"\b(container_[a-z_]+|kube_[a-z_]+)\b")


def targets(panel):
    return panel.get("targets") or []


def ds_type(ds, default):
    if isinstance(ds, dict):
        return ds.get("type", default)
    return default


def strip_strings(expr):
    """Remove quoted strings so label matchers don't confuse the scanners."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)


def range_selectors(expr):
    """Yield (function name or '', window) for each `[...]` range in an expression."""
    e = strip_strings(expr)
    for m in re.finditer(r"\[([^\]]*)\]", e):
        # Find the function whose parenthesis encloses this selector.
        depth = 0
        func = ""
        i = m.start() - 1
        while i >= 0:
            c = e[i]
            if c == ")":
                depth += 1
            elif c == "(":
                if depth == 0:
                    fm = re.search(r"([a-zA-Z_]+)\s*$", e[:i])
                    func = fm.group(1) if fm else ""
                    break
                depth -= 1
            i -= 1
        yield func, m.group(1)


def _catalog():
    """dashboards/metrics.yml, for metric types; None when it cannot be read."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import catalog
        return catalog.Catalog()
    except Exception:  # the linter still works on a dashboard outside the repository
        return None


CATALOG = _catalog()


def is_counter(name):
    """Counters (and histogram buckets/counts/sums) per the catalog; else by the _total suffix."""
    if CATALOG is not None:
        return CATALOG.is_counter(name)
    return name.endswith("_total")


def raw_counters(expr):
    """Counter names that are not inside a counter function's range selector."""
    e = strip_strings(expr)
    bad = []
    for m in re.finditer(r"(?<![\w:$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\{[^}]*\})?(\s*\[)?", e):
        if m.group(3) is None and is_counter(m.group(1)):
            bad.append(m.group(1))
    return bad


class Linter:
    def __init__(self, path, dash):
        self.path = path
        self.d = dash
        self.errors = []

    def err(self, rule, msg):
        self.errors.append((rule, "%s: [%s] %s" % (os.path.basename(self.path), rule, msg)))

    def run(self):
        self.top_level()
        self.variables()
        for p, repeat in panels_with_repeat(self.d.get("panels")):
            self.repeat = repeat
            self.panel(p)
        self.namespace_variable()
        return self.errors

    def top_level(self):
        d = self.d
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 39:
            self.err("schema", "schemaVersion must be >= 39, got %r" % d.get("schemaVersion"))
        if not UID_RE.match(str(d.get("uid", ""))):
            self.err("uid", "uid must be fixed and readable (frond-<name>), got %r" % d.get("uid"))
        if d.get("id", "missing") is not None:
            self.err("id", "id must be null so Grafana assigns it")
        if d.get("editable") is not False:
            self.err("editable", "editable must be false (provisioned dashboards)")
        if "frond" not in (d.get("tags") or []):
            self.err("tags", "tags must include 'frond'")
        if "__inputs" in d or "${DS_" in json.dumps(d):
            self.err("ds-inputs", "no __inputs / ${DS_*}: they break file provisioning")

    def variables(self):
        tv = {v.get("name"): v for v in (self.d.get("templating") or {}).get("list", [])}
        self.vars = tv
        used = json.dumps(self.d.get("panels"))
        for kind, name in DS_VARS.items():
            if ('"type": "%s"' % kind) in used:
                v = tv.get(name)
                if not v or v.get("type") != "datasource" or v.get("query") != kind:
                    self.err("ds-variable",
                             "a %s datasource variable named %s is required" % (kind, name))
        for name in ("job", "instance"):
            v = tv.get(name)
            if not v:
                self.err("job-instance", "template variable %r is missing" % name)
                continue
            self.query_variable(v)
        for v in tv.values():
            if v.get("type") == "query":
                self.query_variable(v)

    def query_variable(self, v):
        name = v.get("name")
        if v.get("type") != "query":
            self.err("variable", "variable %s must be a query variable" % name)
            return
        if v.get("refresh") != 2:
            self.err("variable-refresh", "variable %s: refresh must be 2 (on time range change)" % name)
        if name in ("job", "instance", "namespace"):
            if v.get("multi") is not True or v.get("includeAll") is not True:
                self.err("variable-multi", "variable %s: multi and includeAll must be true" % name)
        ds = v.get("datasource")
        self.datasource(ds, "variable %s" % name)

    def datasource(self, ds, where):
        if not isinstance(ds, dict):
            self.err("datasource", "%s: datasource must be {type, uid: ${..._datasource}}" % where)
            return
        kind = ds.get("type")
        want = DS_VARS.get(kind)
        if not want or ds.get("uid") != "${%s}" % want:
            self.err("datasource", "%s: datasource uid must be ${%s}, got %r" % (
                where, want or "prometheus_datasource|loki_datasource", ds.get("uid")))

    def panel(self, p):
        t = p.get("type")
        title = p.get("title", "?")
        if t not in ALLOWED_PANELS:
            self.err("panel-type", "panel %r: type %r is not allowed (graph is legacy)" % (title, t))
        if t in ("row", "text"):
            return
        self.datasource(p.get("datasource"), "panel %r" % title)
        kind = ds_type(p.get("datasource"), "prometheus")
        if t in ("timeseries", "stat", "table"):
            unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
            if not unit:
                self.err("unit", "panel %r: fieldConfig.defaults.unit must be set" % title)
        if not targets(p):
            self.err("targets", "panel %r has no queries" % title)
        for tg in targets(p):
            self.datasource(tg.get("datasource"), "panel %r target %s" % (title, tg.get("refId")))
            expr = tg.get("expr", "")
            if not expr:
                self.err("targets", "panel %r target %s has no expr" % (title, tg.get("refId")))
                continue
            self.template_vars(title, expr)
            if ds_type(tg.get("datasource"), kind) == "loki":
                self.logql(title, expr)
            else:
                self.promql(title, expr)

    def template_vars(self, title, expr):
        """Every $var is defined; a multi-value variable is only matched with =~ or !~
        (Grafana expands it to a|b|c), except in a row repeated over that variable."""
        for m in VAR_RE.finditer(expr):
            name = m.group(1) or m.group(2)
            if name in BUILTIN_VARS:
                continue
            v = self.vars.get(name)
            if not v:
                self.err("undefined-variable", "panel %r: $%s is not a template variable"
                         % (title, name))
                continue
            if not v.get("multi") and not v.get("includeAll"):
                continue
            if name == self.repeat:
                continue
            before = expr[:m.start()]
            op = re.search(r'([=!]~|!=|=)\s*"[^"]*$', before)
            if op and op.group(1) in ("=", "!="):
                self.err("multi-regex", "panel %r: multi-value $%s matched with %s; use =~"
                         % (title, name, op.group(1)))

    def namespace_variable(self):
        """Kubernetes series and Loki streams are per namespace: such dashboards need a
        multi-value `namespace` variable, and their queries must use it."""
        scoped = []
        for p in walk_panels(self.d.get("panels")):
            pkind = ds_type(p.get("datasource"), "prometheus")
            for tg in targets(p):
                e = tg.get("expr", "")
                loki = ds_type(tg.get("datasource"), pkind) == "loki"
                if loki or KUBE_RE.search(strip_strings(e)):
                    scoped.append((p.get("title", "?"), e))
        if not scoped:
            return
        if "namespace" not in self.vars:
            self.err("namespace", "queries over Kubernetes metrics or Loki streams need a "
                     "namespace variable")
            return
        for title, e in scoped:
            if not re.search(r"\$\{?namespace\b", e):
                self.err("namespace", "panel %r: query does not filter on $namespace: %s"
                         % (title, e))

    def promql(self, title, expr):
        for func, window in range_selectors(expr):
            if ":" in window:
                continue  # subquery
            if func in RANGE_FUNCS and window != "$__rate_interval":
                self.err("rate-interval", "panel %r: %s(...[%s]) must use $__rate_interval" % (
                    title, func, window))
        for name in raw_counters(expr):
            self.err("raw-counter", "panel %r: counter %s graphed raw; wrap it in rate()/increase()"
                     % (title, name))
        for func, window in range_selectors(expr):
            if func and func not in RANGE_FUNCS:
                self.err("rate-interval", "panel %r: unexpected range selector in %s()" % (title, func))

    def logql(self, title, expr):
        for func, window in range_selectors(expr):
            if window != "$__auto":
                self.err("logql-range", "panel %r: LogQL range [%s] must be [$__auto]" % (title, window))


def lint_file(path):
    with open(path) as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            return [("json", "%s: invalid JSON: %s" % (path, e))]
    return Linter(path, d).run()


def _mutations():
    """rule -> function that breaks a copy of the reference dashboard in that one way."""
    def panel(d, i=0):
        return [p for p in walk_panels(d["panels"]) if p["type"] not in ("row", "text")][i]

    def loki_panel(d):
        return [p for p in walk_panels(d["panels"]) if p["type"] == "logs"][0]

    def table_panel(d):
        return [p for p in walk_panels(d["panels"]) if p["type"] == "table"][0]

    def var(d, name):
        return [v for v in d["templating"]["list"] if v["name"] == name][0]

    return {
        "schema": lambda d: d.update(schemaVersion=27),
        "uid": lambda d: d.update(uid="a8Xk2Lm"),
        "id": lambda d: d.update(id=12),
        "editable": lambda d: d.update(editable=True),
        "tags": lambda d: d.update(tags=["mongodb"]),
        "ds-inputs": lambda d: panel(d).update(datasource={"type": "prometheus",
                                                           "uid": "${DS_PROMETHEUS}"}),
        "ds-variable": lambda d: d["templating"].update(list=[
            v for v in d["templating"]["list"] if v["name"] != "loki_datasource"]),
        "job-instance": lambda d: d["templating"].update(list=[
            v for v in d["templating"]["list"] if v["name"] != "instance"]),
        "variable-refresh": lambda d: var(d, "job").update(refresh=1),
        "variable-multi": lambda d: var(d, "instance").update(includeAll=False),
        "datasource": lambda d: panel(d)["targets"][0].update(
            datasource={"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}),
        "panel-type": lambda d: panel(d).update(type="graph"),
        "unit": lambda d: panel(d)["fieldConfig"]["defaults"].pop("unit"),
        "targets": lambda d: panel(d).update(targets=[]),
        "rate-interval": lambda d: panel(d)["targets"][0].update(
            expr='sum(rate(frondtail_sent_entries_total{job=~"$job"}[5m]))'),
        "raw-counter": lambda d: panel(d)["targets"][0].update(
            expr='frondtail_sent_entries_total{job=~"$job"}'),
        "logql-range": lambda d: loki_panel(d)["targets"][0].update(
            expr='sum(count_over_time({namespace=~"$namespace"}[5m]))'),
        "undefined-variable": lambda d: panel(d)["targets"][0].update(
            expr='sum(rate(frondtail_sent_entries_total{job=~"$jobs"}[$__rate_interval]))'),
        "multi-regex": lambda d: panel(d)["targets"][0].update(
            expr='sum(rate(frondtail_sent_entries_total{job="$job"}[$__rate_interval]))'),
        "namespace": lambda d: loki_panel(d)["targets"][0].update(
            expr='sum(count_over_time({container="app"} |= "error" [$__auto]))'),
        "panel-type#gauge": lambda d: panel(d).update(type="gauge"),
        "unit#table": lambda d: table_panel(d)["fieldConfig"]["defaults"].pop("unit"),
    }


def self_test(here):
    """Prove every rule fires: break the reference dashboard once per rule and lint it."""
    import copy
    with open(os.path.join(here, "reference_dashboard.json")) as f:
        good = json.load(f)
    failures = passed = 0
    errs = Linter("reference_dashboard.json", good).run()
    if errs:
        print("self-test: the reference dashboard itself fails: %s" % [m for _, m in errs])
        failures += 1
    else:
        passed += 1
    for rule, mutate in sorted(_mutations().items()):
        d = copy.deepcopy(good)
        mutate(d)
        rules = {r for r, _ in Linter("mutated-%s.json" % rule, d).run()}
        if rule.split("#")[0] in rules:
            passed += 1
        else:
            print("self-test: breaking %r was not caught (rules fired: %s)" % (rule, sorted(rules)))
            failures += 1
    print("%d passed, %d failed" % (passed, failures))
    return failures


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    if argv and argv[0] == "--self-test":
        return 1 if self_test(here) else 0
    files = argv or sorted(glob.glob(os.path.join(root, "dashboards", "*.json")))
    if not files:
        print("no dashboards found")
        return 1
    errors = []
    for path in files:
        errors += [m for _, m in lint_file(path)]
    for m in errors:
        print(m)
    print("%d passed, %d failed" % (len(files) - len({m.split(':')[0] for m in errors}),
                                    len({m.split(':')[0] for m in errors})))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
