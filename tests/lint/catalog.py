"""Read dashboards/metrics.yml, the one list of metric names frond's
dashboards and rules may use, and pull metric names out of PromQL.

Shared by the lint checks (check_catalog.py, check_dashboards.py,
check_rules.py) and the live test (tests/integration/test_dashboards_live.py),
so every check agrees on what a name is and where it comes from.
"""

import glob
import os
import re

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CATALOG = os.path.join(ROOT, "dashboards", "metrics.yml")

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")

# Words that look like metric names in PromQL but are not: functions,
# aggregations, keywords. Anything followed by "(" is skipped anyway.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan", "atan2", "sum", "min", "max", "avg", "count",
            "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group"}


class Catalog:
    def __init__(self, path=CATALOG, root=ROOT):
        with open(path) as f:
            doc = yaml.safe_load(f)
        self.parts = doc["parts"]
        self.types = {}     # name -> counter|gauge|histogram|stateset
        self.part_of = {}   # name -> part
        self.event = set()  # names that only get series after an event
        self.optional = set()  # names only some modes expose
        self.config_metrics = {}  # name -> type, from the usage example configs
        for part, d in self.parts.items():
            for key in ("metrics", "event", "optional"):
                for name, typ in (d.get(key) or {}).items():
                    self.types[name] = typ
                    self.part_of[name] = part
                    if key == "event":
                        self.event.add(name)
                    if key == "optional":
                        self.optional.add(name)
            for cfg in d.get("config_examples") or []:
                p = os.path.join(root, cfg)
                if not os.path.exists(p):
                    continue
                with open(p) as f:
                    c = yaml.safe_load(f)
                for m in c.get("metrics") or []:
                    typ = m.get("type", "gauge")
                    self.config_metrics[m["name"]] = typ
                    self.types[m["name"]] = typ
                    self.part_of[m["name"]] = part
        self.recorded = recording_rules(root)

    def live(self, name):
        """Whether a running binary here exposes the name (recording rules: Prometheus)."""
        if name in self.recorded:
            return True
        return self.parts[self.part_of[self.base(name)]].get("live", False)

    def base(self, name):
        """The catalog name for a series name (histogram suffixes stripped)."""
        if name in self.types or name in self.recorded:
            return name
        for suf in HISTOGRAM_SUFFIXES:
            if name.endswith(suf) and self.types.get(name[:-len(suf)]) == "histogram":
                return name[:-len(suf)]
        return name

    def known(self, name):
        return self.base(name) in self.types or name in self.recorded

    def is_counter(self, name):
        """Counters, and the cumulative series of histograms: graph them only through rate()."""
        b = self.base(name)
        if b != name and self.types.get(b) == "histogram":
            return True
        t = self.types.get(name)
        if t is not None:
            return t == "counter"
        return name.endswith("_total")


def recording_rules(root=ROOT):
    names = set()
    for path in glob.glob(os.path.join(root, "alerts", "*.yml")):
        with open(path) as f:
            doc = yaml.safe_load(f)
        if not isinstance(doc, dict) or "groups" not in doc:
            continue
        for g in doc["groups"]:
            for r in g.get("rules") or []:
                if "record" in r:
                    names.add(r["record"])
    return names


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'', '""', expr)


def metric_names(expr):
    """Metric names a PromQL expression selects (not functions, labels or keywords)."""
    e = strip_strings(expr)
    e = re.sub(r"\{[^}]*\}", "{}", e)          # label matchers
    e = re.sub(r"\[[^\]]*\]", "[]", e)          # ranges
    # Label lists of by/without/on/ignoring/group_x (...)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    names = []
    for m in re.finditer(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])", e):
        n = m.group(1)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation
        if n.lower() in KEYWORDS:
            continue
        if re.match(r"^\d", n):
            continue
        names.append(n)
    return names


def _blank_strings(expr):
    """Strings with their contents blanked, same length, so offsets still match expr."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: '"' + "x" * (len(m.group(0)) - 2) + '"', expr)


def selectors(expr):
    """Each metric selector of an expression as text, e.g. 'foo{a="b"}' (ranges dropped)."""
    out = []
    clean = _blank_strings(expr)
    for name in set(metric_names(expr)):
        for m in re.finditer(r"(?<![\w:.$])%s(?![\w:])(\s*\{)?" % re.escape(name), clean):
            if m.group(1):
                start = m.end() - 1
                depth, i = 0, start
                while i < len(expr):
                    if expr[i] == '"':
                        i += 1
                        while i < len(expr) and expr[i] != '"':
                            i += 2 if expr[i] == "\\" else 1
                    elif expr[i] == "{":
                        depth += 1
                    elif expr[i] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
                out.append(name + expr[start:i + 1])
            else:
                out.append(name)
    return sorted(set(out))
