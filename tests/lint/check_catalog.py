#!/usr/bin/python3
"""Every metric name frond's dashboards and rules use must exist.

Names come from one place, dashboards/metrics.yml (plus the recording rules
in alerts/ and the metrics of the usage exporter's example configuration).
Mixins break most often on metric names that do not exist; this check makes
that a lint failure instead of an empty panel. Rules enforced (each has a
--self-test mutation proving it fires):

  unknown-metric     a PromQL expression (panel, variable, rule) selects a
                     name that is not in the catalog
  usage-coverage     the platform-usage dashboard shows every metric of the
                     usage exporter's example configuration
  synthetic-coverage every query of the services dashboard over cAdvisor or
                     kube-state-metrics (not run in any test here) appears,
                     with the test's variable values, in
                     alerts/tests/services.test.yml, where promtool checks it
                     over synthetic series

Usage: check_catalog.py [--self-test]
"""

import copy
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import catalog  # noqa: E402
import check_queries  # noqa: E402

ROOT = catalog.ROOT
SERVICES_TEST = os.path.join(ROOT, "alerts", "tests", "services.test.yml")
# The variable values alerts/tests/services.test.yml was written for.
SYNTHETIC_VARS = {"namespace": "palm", "service": "palmdao", "job": ".*", "instance": ".*",
                  "__rate_interval": "5m"}


def substitute(expr, values):
    def repl(m):
        name = (m.group(1) or m.group(2)).split(":")[0]
        return values.get(name, m.group(0))
    return re.sub(r"\$\{([a-zA-Z0-9_:]+)\}|\$([a-zA-Z_][a-zA-Z0-9_]*)", repl, expr)


def normalise(expr):
    return re.sub(r"\s+", " ", expr.strip())


def load():
    items = list(check_queries.dashboard_queries()) + list(check_queries.rule_queries())
    with open(SERVICES_TEST) as f:
        st = yaml.safe_load(f)
    synthetic = {normalise(pt["expr"]) for case in st.get("tests") or []
                 for pt in case.get("promql_expr_test") or []}
    return catalog.Catalog(), items, synthetic


def lint(cat, items, synthetic):
    errs = []
    used = set()
    for where, kind, expr in items:
        if kind != "promql":
            continue
        names = catalog.metric_names(expr)
        for n in names:
            used.add(n)
            if not cat.known(n):
                errs.append(("unknown-metric", "%s: metric %s is not in dashboards/metrics.yml "
                             "(nor a recording rule)" % (where, n)))
        external = [n for n in names if cat.known(n) and not cat.live(n)]
        if external:
            if not where.startswith("services.json"):
                errs.append(("synthetic-coverage", "%s: cAdvisor/kube-state-metrics queries "
                             "belong on the services dashboard" % where))
            elif normalise(substitute(expr, SYNTHETIC_VARS)) not in synthetic:
                errs.append(("synthetic-coverage", "%s: %s has no promql_expr_test in "
                             "alerts/tests/services.test.yml (with namespace=palm, "
                             "service=palmdao, $__rate_interval=5m)" % (where, expr)))
    usage_used = {n for where, kind, expr in items if kind == "promql"
                  and where.startswith("platform-usage.json")
                  for n in catalog.metric_names(expr)}
    for name in sorted(cat.config_metrics):
        if name not in usage_used:
            errs.append(("usage-coverage", "platform-usage.json: no panel shows %s from the "
                         "usage exporter's example configuration" % name))
    return errs


def _mutations():
    def replace_in(items, prefix, old, new):
        for i, (w, k, e) in enumerate(items):
            if w.startswith(prefix) and old in e:
                items[i] = (w, k, e.replace(old, new))
                return

    return {
        "unknown-metric": lambda c, it, s: it.append(
            ("mutated.json panel 'x' A", "promql",
             'sum(rate(mongodb_replset_elections_total{job=~"$job"}[$__rate_interval]))')),
        "usage-coverage": lambda c, it, s: it.__setitem__(slice(None), [
            i for i in it if not (i[0].startswith("platform-usage.json")
                                  and "palm_discord_verified_accounts" in i[2])]),
        "synthetic-coverage": lambda c, it, s: replace_in(
            it, "services.json", "container_memory_working_set_bytes",
            "container_memory_rss"),
    }


def self_test():
    cat, items, synthetic = load()
    # The mutation for synthetic-coverage needs its new name to be a known
    # kubernetes metric, so only the coverage rule can fire.
    cat.types.setdefault("container_memory_rss", "gauge")
    cat.part_of.setdefault("container_memory_rss", "kubernetes")
    failures = passed = 0
    base = lint(cat, items, synthetic)
    if base:
        print("self-test: the repository itself fails: %s" % [m for _, m in base])
        failures += 1
    else:
        passed += 1
    for rule, mutate in sorted(_mutations().items()):
        it = copy.deepcopy(items)
        mutate(cat, it, synthetic)
        fired = {r for r, _ in lint(cat, it, synthetic)}
        if rule in fired:
            passed += 1
        else:
            print("self-test: breaking %r was not caught (fired: %s)" % (rule, sorted(fired)))
            failures += 1
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    cat, items, synthetic = load()
    if not cat.config_metrics:
        print("warning: no usage example configuration found; usage-coverage not checked")
    errs = lint(cat, items, synthetic)
    for _, m in errs:
        print(m)
    print("%d passed, %d failed" % (len(items) - len(errs), len(errs)))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
