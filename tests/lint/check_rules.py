#!/usr/bin/python3
"""Lint frond's Prometheus rules (alerts/*.rules.yml) against the conventions
an on-call engineer relies on, and check that every rule is tested.

Rules enforced (each has a --self-test mutation proving it fires):
  for            every alert waits `for:` at least 1m (no one-sample pages)
  severity       labels.severity is critical, warning or info
  summary        a static sentence (no templating: it groups notifications)
  description    templated: shows {{ $value }} and at least one {{ $labels.x }}
  runbook        runbook_url is RUNBOOK_BASE#<anchor> and docs/runbooks.md has
                 that section
  runbook-content  the section says what the alert means, how to check and how
                 to fix (**Meaning.**, **Check.**, **Fix.** paragraphs)
  record-name    recording rules are named level:metric:operations
  alert-tests    alerts/tests/*.test.yml evaluates the alert on both sides of
                 its `for:` boundary: a quiet eval and a firing eval (with
                 exp_annotations) one evaluation interval apart
  record-tests   every recording rule is checked by a promql_expr_test
  annotation-labels  no expected annotation renders "<no value>" (a label that
                 did not survive aggregation)

Usage: check_rules.py [--self-test]
"""

import copy
import glob
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNBOOK_BASE = "https://github.com/frond/frond/blob/main/docs/runbooks.md"
SEVERITIES = {"critical", "warning", "info"}
RECORD_RE = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")


def duration_s(d):
    total = 0
    for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(d)):
        total += int(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                           "w": 604800, "y": 31536000}[u]
    return total


def anchors(md_text):
    """GitHub-style anchors of every heading."""
    out = set()
    for m in re.finditer(r"^#+\s+(.*)$", md_text, re.M):
        a = m.group(1).strip().lower()
        a = re.sub(r"[^\w\- ]", "", a).replace(" ", "-")
        out.add(a)
    return out


def sections(md_text):
    """anchor -> text of the section under that heading (up to the next heading)."""
    out = {}
    heads = list(re.finditer(r"^#+\s+(.*)$", md_text, re.M))
    for i, m in enumerate(heads):
        a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        end = heads[i + 1].start() if i + 1 < len(heads) else len(md_text)
        out[a] = md_text[m.end():end]
    return out


def load():
    rules, tests = [], []
    for path in sorted(glob.glob(os.path.join(ROOT, "alerts", "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for g in (doc or {}).get("groups", []):
            for r in g.get("rules", []):
                rules.append((os.path.basename(path), r))
    for path in sorted(glob.glob(os.path.join(ROOT, "alerts", "tests", "*.test.yml"))):
        with open(path) as f:
            tests.append((os.path.basename(path), yaml.safe_load(f)))
    with open(os.path.join(ROOT, "docs", "runbooks.md")) as f:
        md = f.read()
    return rules, tests, md


def lint(rules, tests, md):
    errs = []

    def err(rule, msg):
        errs.append((rule, "[%s] %s" % (rule, msg)))

    known_anchors = anchors(md)
    section_text = sections(md)
    quiet, firing, annotated, exprs = {}, {}, {}, set()
    interval = {}
    for tname, t in tests:
        ev = duration_s(t.get("evaluation_interval", "1m"))
        for case in t.get("tests") or []:
            for pt in case.get("promql_expr_test") or []:
                exprs.add(pt["expr"].strip())
            for at in case.get("alert_rule_test") or []:
                name = at["alertname"]
                when = duration_s(at["eval_time"])
                interval[name] = ev
                exp = at.get("exp_alerts") or []
                if exp:
                    firing.setdefault(name, []).append(when)
                    for a in exp:
                        ann = a.get("exp_annotations") or {}
                        if ann:
                            annotated[name] = True
                        for k, v in ann.items():
                            if "<no value>" in str(v):
                                err("annotation-labels", "%s: %s: expected %s renders <no value>"
                                    % (tname, name, k))
                else:
                    quiet.setdefault(name, []).append(when)

    for fname, r in rules:
        if "record" in r:
            name = r["record"]
            if not RECORD_RE.match(name):
                err("record-name", "%s: %s is not level:metric:operations" % (fname, name))
            if name not in exprs:
                err("record-tests", "%s: recording rule %s has no promql_expr_test"
                    % (fname, name))
            continue
        name = r.get("alert", "?")
        where = "%s: %s" % (fname, name)
        if duration_s(r.get("for", "0s")) < 60:
            err("for", "%s: for: must be at least 1m, got %r" % (where, r.get("for")))
        if (r.get("labels") or {}).get("severity") not in SEVERITIES:
            err("severity", "%s: severity must be one of %s" % (where, sorted(SEVERITIES)))
        ann = r.get("annotations") or {}
        summary = ann.get("summary", "")
        if not summary or "{{" in summary or not summary.strip().endswith("."):
            err("summary", "%s: summary must be a static sentence" % where)
        desc = ann.get("description", "")
        if "$value" not in desc or "$labels." not in desc:
            err("description", "%s: description must show {{ $value }} and the labels" % where)
        url = ann.get("runbook_url", "")
        anchor = url[len(RUNBOOK_BASE) + 1:] if url.startswith(RUNBOOK_BASE + "#") else None
        if not anchor or anchor not in known_anchors:
            err("runbook", "%s: runbook_url %r must be %s#<section of docs/runbooks.md>"
                % (where, url, RUNBOOK_BASE))
        elif not all(k in section_text.get(anchor, "")
                     for k in ("**Meaning.**", "**Check.**", "**Fix.**")):
            err("runbook-content", "%s: docs/runbooks.md#%s needs **Meaning.**, **Check.** and "
                "**Fix.** paragraphs" % (where, anchor))
        ev = interval.get(name, 60)
        pairs = [(q, f) for q in quiet.get(name, []) for f in firing.get(name, [])
                 if 0 < f - q <= ev]
        if not pairs or not annotated.get(name):
            err("alert-tests", "%s: needs a quiet and a firing alert_rule_test one evaluation "
                "apart, the firing one with exp_annotations" % where)
    return errs


def _mutations():
    def alert(rules, name):
        return [r for _, r in rules if r.get("alert") == name][0]

    def record(rules):
        return [r for _, r in rules if "record" in r][0]

    def drop_tests(tests, pred):
        for _, t in tests:
            for case in t.get("tests") or []:
                if "alert_rule_test" in case:
                    case["alert_rule_test"] = [a for a in case["alert_rule_test"] if not pred(a)]

    return {
        "for": lambda r, t: alert(r, "MongodbDown").update({"for": "30s"}),
        "severity": lambda r, t: alert(r, "MongodbDown")["labels"].update(severity="page"),
        "summary": lambda r, t: alert(r, "MongodbDown")["annotations"].update(
            summary="{{ $labels.instance }} is down"),
        "description": lambda r, t: alert(r, "MongodbDown")["annotations"].update(
            description="The member is down."),
        "runbook": lambda r, t: alert(r, "MongodbDown")["annotations"].update(
            runbook_url=RUNBOOK_BASE + "#no-such-section"),
        "record-name": lambda r, t: record(r).update(record="mongodb_lag_min"),
        "record-tests": lambda r, t: record(r).update(record="set:frond_untested:max"),
        "alert-tests": lambda r, t: drop_tests(
            t, lambda a: a["alertname"] == "MongodbDown" and not a.get("exp_alerts")),
        "annotation-labels": lambda r, t: [
            a["exp_alerts"][0]["exp_annotations"].update(description="<no value> is down")
            for _, d in t for c in d["tests"] for a in c.get("alert_rule_test") or []
            if a["alertname"] == "MongodbDown" and a.get("exp_alerts")],
    }


def self_test():
    rules, tests, md = load()
    failures = passed = 0
    base = lint(rules, tests, md)
    mutated_md = {"runbook-content": md.replace("### MongodbDown\n\n**Meaning.**",
                                                "### MongodbDown\n\n**What.**")}
    if base:
        print("self-test: the rules themselves fail: %s" % [m for _, m in base])
        failures += 1
    else:
        passed += 1
    muts = _mutations()
    muts["runbook-content"] = lambda r, t: None
    for rule, mutate in sorted(muts.items()):
        r, t = copy.deepcopy(rules), copy.deepcopy(tests)
        mutate(r, t)
        fired = {k for k, _ in lint(r, t, mutated_md.get(rule, md))}
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
    rules, tests, md = load()
    errs = lint(rules, tests, md)
    for _, m in errs:
        print(m)
    n = len(rules)
    print("%d passed, %d failed" % (n - len(errs), len(errs)))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
