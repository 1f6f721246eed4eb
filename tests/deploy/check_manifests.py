#!/usr/bin/python3
"""Render every kustomization under deploy/ and check what frond depends on.

Modes (each a ctest in tests/lint/deploy.cmake):

  (none)        render deploy/kubernetes/overlays/*, deploy/kubernetes/cluster
                and deploy/alertmanager with render.py, add the plain
                manifests of deploy/argocd and deploy/hpa, validate every
                object against the real schemas (validate.mjs), then check
                frond's own rules (below) on each overlay
  --self-test   break a rendered overlay in one way at a time and require
                each check to notice
  --promtool    `promtool check rules` on the rules taken out of every
                rendered PrometheusRule, and on the HPA/KEDA queries
  --amtool      `amtool check-config` on alertmanager.yaml taken out of the
                rendered Alertmanager Secret

frond's rules: the DaemonSet's mounts, port, positions path and pod glob
match frondtail's compiled-in defaults (shipper/config.h, config.c) and the
shipped config; HOSTNAME from spec.nodeName; every taint tolerated;
priorityClassName exists; read-only root, no privilege escalation, all
capabilities dropped (frondtail may add only DAC_READ_SEARCH); requests and
limits everywhere; each exporter's arguments are flags the binary has
(parsed from its main.c) and its port is the binary's default; Services
select exactly one workload and name a container port; ServiceMonitors
select a Service port; mounted Secrets come from an ExternalSecret and
mounted ConfigMaps exist with the key used; PrometheusRules and dashboard
ConfigMaps equal alerts/ and dashboards/; RBAC for frondtail is get/list/watch
pods only; image tags follow <version>-<YYYY-MM-DD>.
"""

import base64
import copy
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
sys.path.insert(0, HERE)
import render  # noqa: E402

DEPLOY = os.path.join(ROOT, "deploy")
OVERLAYS = sorted(glob.glob(os.path.join(DEPLOY, "kubernetes", "overlays", "*")))
KUSTOMIZE_DIRS = [os.path.join(DEPLOY, "kubernetes", "cluster"), os.path.join(DEPLOY, "alertmanager")]
PLAIN_DIRS = [os.path.join(DEPLOY, "argocd"), os.path.join(DEPLOY, "hpa")]
# Manifests that are alternatives, not part of any kustomization: validated alone.
EXTRA_FILES = [os.path.join(DEPLOY, "kubernetes", "cluster", "secretstore-namespaced.yaml")]
# Every YAML file under these must be read by a render or be an extra file,
# so no manifest in the tree escapes validation.
COVERED_TREES = [os.path.join(DEPLOY, "kubernetes"), os.path.join(DEPLOY, "alertmanager")]
TAG_RE = re.compile(r"^\d+\.\d+\.\d+-\d{4}-\d{2}-\d{2}$")

EXPORTERS = {
    "frond-mongodb-exporter": "exporters/mongodb/main.c",
    "frond-rabbitmq-exporter": "exporters/rabbitmq/main.c",
    "frond-usage-exporter": "exporters/usage/main.c",
}


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


# ---- facts from the sources ----------------------------------------------------------

def frondtail_defaults():
    h = read("shipper/config.h")
    c = read("shipper/config.c")
    pos = re.search(r'#define CONFIG_DEFAULT_POSITIONS "([^"]+)"', h).group(1)
    glob_ = re.search(r'#define CONFIG_DEFAULT_PODS_GLOB "([^"]+)"', h).group(1)
    port = int(re.search(r"c->http_listen_port = (\d+);", c).group(1))
    return {"positions": pos, "pods_glob": glob_, "port": port}


def binary_flags(rel):
    """Flag names of a binary, its default listen port, and which take a -file twin."""
    src = read(rel)
    names = set(re.findall(r'\{\s*"([a-z][a-z0-9._-]*)",\s*FROND_FLAG_', src))
    secret = set(re.findall(r'\{\s*"([a-z][a-z0-9._-]*)",\s*FROND_FLAG_STRING,[^}]*?FROND_FLAG_SECRET',
                            src, re.S))
    m = re.search(r'FROND_COMMON_FLAGS\([^,]+,\s*"(:\d+)"\)', src)
    common = read("lib/include/frond/flags.h")
    names |= set(re.findall(r'\{"([a-z][a-z0-9._-]*)", FROND_FLAG_', common))
    names |= set(re.findall(r'"(log\.format)", FROND_FLAG_', common))
    names |= {n + "-file" for n in secret}
    return names, int(m.group(1)[1:]) if m else None


# ---- rendering -----------------------------------------------------------------------

def render_all():
    """{label: [objects]} for every overlay, kustomization and plain directory."""
    out = {}
    for d in OVERLAYS + KUSTOMIZE_DIRS:
        out[os.path.relpath(d, ROOT)] = render.build(d)
    for d in PLAIN_DIRS:
        objs = []
        for path in sorted(glob.glob(os.path.join(d, "**", "*.yaml"), recursive=True)):
            if os.path.basename(path) in render.KUSTOMIZATION_NAMES:
                raise render.RenderError("%s: plain manifest directories hold no kustomization"
                                         % path)
            objs.extend(render._load_docs(path))
        out[os.path.relpath(d, ROOT)] = objs
    out["extra"] = [o for path in EXTRA_FILES for o in render._load_docs(path)]
    seen = render.LOADED | {os.path.realpath(p) for p in EXTRA_FILES}
    for tree in COVERED_TREES:
        for path in sorted(glob.glob(os.path.join(tree, "**", "*.y*ml"), recursive=True)):
            if os.path.realpath(path) not in seen:
                raise render.RenderError("%s is read by no kustomization and is not an extra "
                                         "file: it would never be validated" % os.path.relpath(
                                             path, ROOT))
    return out


def validate_schemas(rendered, quiet=False):
    with tempfile.TemporaryDirectory() as t:
        files = []
        for label, objs in rendered.items():
            path = os.path.join(t, label.replace("/", "_") + ".json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(objs, f)
            files.append(path)
        r = subprocess.run(["node", os.path.join(HERE, "validate.mjs")] + files,
                           capture_output=True, text=True)
    if not quiet:
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
    return r.returncode == 0


# ---- checks on one overlay -----------------------------------------------------------

def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def find(objs, kind, name):
    for o in objs:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    return None


def pod_spec(o):
    return o["spec"]["template"]["spec"]


def check_container_basics(errs, where, c, allowed_caps=()):
    sc = c.get("securityContext") or {}
    if sc.get("readOnlyRootFilesystem") is not True:
        errs.append("%s: readOnlyRootFilesystem must be true" % where)
    if sc.get("allowPrivilegeEscalation") is not False:
        errs.append("%s: allowPrivilegeEscalation must be false" % where)
    if sc.get("privileged"):
        errs.append("%s: must not be privileged" % where)
    caps = sc.get("capabilities") or {}
    if caps.get("drop") != ["ALL"]:
        errs.append("%s: capabilities.drop must be [ALL]" % where)
    extra = set(caps.get("add") or []) - set(allowed_caps)
    if extra:
        errs.append("%s: capabilities beyond what it needs: %s" % (where, sorted(extra)))
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(part) or {}):
                errs.append("%s: resources.%s.%s missing" % (where, part, r))
    if not TAG_RE.match(c["image"].rpartition(":")[2]):
        errs.append("%s: image %s is not tagged <version>-<YYYY-MM-DD>" % (where, c["image"]))


def mem_bytes(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(q))
    return int(m.group(1)) * {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[m.group(2)]


def check_frondtail(errs, objs):
    d = frondtail_defaults()
    ds = find(objs, "DaemonSet", "frondtail")
    if not ds:
        errs.append("no DaemonSet frondtail")
        return
    spec = pod_spec(ds)
    (c,) = [c for c in spec["containers"] if c["name"] == "frondtail"]
    where = "DaemonSet frondtail"
    check_container_basics(errs, where, c, allowed_caps=("DAC_READ_SEARCH",))
    if not any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t
               for t in spec.get("tolerations") or []):
        errs.append("%s: must tolerate every taint (operator: Exists, no key/effect)" % where)
    pc = spec.get("priorityClassName")
    if not pc or not find(objs, "PriorityClass", pc):
        errs.append("%s: priorityClassName %r is not a rendered PriorityClass" % (where, pc))
    env = {e["name"]: e for e in c.get("env") or []}
    if (env.get("HOSTNAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            != "spec.nodeName"):
        errs.append("%s: HOSTNAME must come from spec.nodeName" % where)
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts") or []}
    pods_root = d["pods_glob"].split("*")[0].rstrip("/")
    m = mounts.get(pods_root)
    if not m or m.get("readOnly") is not True or vols.get(m["name"], {}).get(
            "hostPath", {}).get("path") != pods_root:
        errs.append("%s: %s must be a read-only hostPath mount of %s" % (where, pods_root,
                                                                           pods_root))
    pos_dir = os.path.dirname(d["positions"])
    m = mounts.get(pos_dir)
    hp = vols.get(m["name"], {}).get("hostPath", {}) if m else {}
    if not m or m.get("readOnly") or not hp.get("path", "").startswith(pos_dir):
        errs.append("%s: positions dir %s must be a writable hostPath under %s" % (
            where, pos_dir, pos_dir))
    # The shipped config: find it through the -config.file argument.
    args = c.get("args") or []
    flags, _ = binary_flags("shipper/main.c")
    for a in args:
        if a.lstrip("-").split("=", 1)[0] not in flags:
            errs.append("%s: %s is not a flag of frondtail (shipper/main.c)" % (where, a))
    cfg_arg = [a for a in args if a.startswith("-config.file=")]
    if len(cfg_arg) != 1:
        errs.append("%s: exactly one -config.file= argument expected" % where)
        return
    if "-config.expand-env=true" not in args:
        errs.append("%s: the config uses ${VAR}: -config.expand-env=true is needed" % where)
    cfg_path = cfg_arg[0].split("=", 1)[1]
    m = mounts.get(os.path.dirname(cfg_path))
    cm_name = vols.get(m["name"], {}).get("configMap", {}).get("name") if m else None
    cm = find(objs, "ConfigMap", cm_name) if cm_name else None
    key = os.path.basename(cfg_path)
    if not cm or key not in cm.get("data", {}):
        errs.append("%s: %s is not a key of a mounted ConfigMap" % (where, cfg_path))
        return
    cfg = yaml.safe_load(cm["data"][key])
    port = (cfg.get("server") or {}).get("http_listen_port", d["port"])
    ports = [p for p in c.get("ports") or [] if p.get("name") == "http-metrics"]
    if port != d["port"] or not ports or ports[0]["containerPort"] != port:
        errs.append("%s: containerPort, config port and frondtail's default %d differ" % (
            where, d["port"]))
    if (cfg.get("positions") or {}).get("filename", d["positions"]) != d["positions"]:
        errs.append("%s: positions file differs from frondtail's default %s" % (
            where, d["positions"]))
    globs = [sc_["labels"]["__path__"] for s in cfg.get("scrape_configs") or []
             for sc_ in s.get("static_configs") or []]
    if d["pods_glob"] not in globs:
        errs.append("%s: config does not tail %s" % (where, d["pods_glob"]))
    if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/ready":
        errs.append("%s: readiness probe must be /ready" % where)
    probe_port = (c.get("readinessProbe") or {}).get("httpGet", {}).get("port")
    if probe_port not in ("http-metrics", port):
        errs.append("%s: readiness probe port %r is not frondtail's" % (where, probe_port))
    # Memory: the backlog bound plus the RSS target must fit under the limit.
    backlog = (cfg.get("clients") or [{}])[0].get("max_backlog_bytes", "64MiB")
    m2 = re.fullmatch(r"(\d+)MiB", str(backlog))
    limit = mem_bytes(c["resources"]["limits"]["memory"])
    if not m2 or limit < (int(m2.group(1)) + 32) << 20:
        errs.append("%s: memory limit %s is below max_backlog_bytes %s + 32 MiB RSS" % (
            where, c["resources"]["limits"]["memory"], backlog))
    # RBAC: pods get/list/watch only, bound to the DaemonSet's ServiceAccount.
    sa = spec.get("serviceAccountName")
    bindings = [b for b in by_kind(objs, "ClusterRoleBinding")
                if any(s.get("kind") == "ServiceAccount" and s.get("name") == sa
                       and s.get("namespace") == ds["metadata"].get("namespace")
                       for s in b.get("subjects") or [])]
    if not find(objs, "ServiceAccount", sa) or len(bindings) != 1:
        errs.append("%s: ServiceAccount %r must exist and be bound once" % (where, sa))
    else:
        role = find(objs, "ClusterRole", bindings[0]["roleRef"]["name"])
        want = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
        if not role or role.get("rules") != want:
            errs.append("%s: ClusterRole must allow exactly get/list/watch on pods" % where)


def check_exporters(errs, objs):
    for name, src in EXPORTERS.items():
        flags, default_port = binary_flags(src)
        deps = [o for o in by_kind(objs, "Deployment")
                if o["metadata"]["labels"].get("app.kubernetes.io/name") == name]
        if not deps:
            errs.append("no Deployment for %s" % name)
        for dep in deps:
            where = "Deployment %s" % dep["metadata"]["name"]
            spec = pod_spec(dep)
            psc = spec.get("securityContext") or {}
            if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
                errs.append("%s: must run as a non-root user" % where)
            for c in spec["containers"]:
                check_container_basics(errs, where, c)
                for a in c.get("args") or []:
                    flag = a.lstrip("-").split("=", 1)[0]
                    if flag.startswith("no-"):
                        flag = flag[3:]
                    if flag not in flags:
                        errs.append("%s: %s is not a flag of %s" % (where, a, src))
                listen = [a.split("=", 1)[1] for a in c.get("args") or []
                          if a.startswith("--web.listen-address=")]
                port = int(listen[-1].rpartition(":")[2]) if listen else default_port
                cports = [p["containerPort"] for p in c.get("ports") or []]
                if port != default_port or cports != [port]:
                    errs.append("%s: port %s, containerPorts %s, binary default %s differ" % (
                        where, port, cports, default_port))
                for probe, path in (("readinessProbe", "/-/ready"),
                                    ("livenessProbe", "/-/healthy")):
                    if (c.get(probe) or {}).get("httpGet", {}).get("path") != path:
                        errs.append("%s: %s must be %s" % (where, probe, path))
    members = [o for o in by_kind(objs, "Deployment")
               if o["metadata"]["labels"].get("app.kubernetes.io/name") == "frond-mongodb-exporter"]
    if len({o["metadata"]["labels"].get("app.kubernetes.io/instance") for o in members}) != 3:
        errs.append("expected one MongoDB exporter Deployment per member (3)")


def check_wiring(errs, objs):
    workloads = by_kind(objs, "Deployment") + by_kind(objs, "DaemonSet")
    secret_targets = {}
    for es in by_kind(objs, "ExternalSecret"):
        spec = es["spec"]
        keys = {d["secretKey"] for d in spec.get("data") or []}
        secret_targets[spec.get("target", {}).get("name", es["metadata"]["name"])] = (
            keys, bool(spec.get("dataFrom")))
    for w in workloads:
        spec = pod_spec(w)
        where = "%s %s" % (w["kind"], w["metadata"]["name"])
        for v in spec.get("volumes") or []:
            if "secret" in v:
                name = v["secret"]["secretName"]
                if name not in secret_targets:
                    errs.append("%s: Secret %s is made by no ExternalSecret" % (where, name))
                    continue
                keys, extract = secret_targets[name]
                for item in v["secret"].get("items") or []:
                    if item["key"] not in keys and not extract:
                        errs.append("%s: Secret %s has no key %s" % (where, name, item["key"]))
            if "configMap" in v and not find(objs, "ConfigMap", v["configMap"]["name"]):
                errs.append("%s: ConfigMap %s is not rendered" % (where, v["configMap"]["name"]))
        for c in spec["containers"]:
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    keys, extract = secret_targets.get(ref["name"], (set(), False))
                    if ref["key"] not in keys and not extract:
                        errs.append("%s: env %s: Secret %s key %s comes from no ExternalSecret"
                                    % (where, e["name"], ref["name"], ref["key"]))
    services = by_kind(objs, "Service")
    for s in services:
        sel = s["spec"].get("selector") or {}
        hits = [w for w in workloads
                if sel and all(w["spec"]["template"]["metadata"]["labels"].get(k) == v
                               for k, v in sel.items())]
        if len(hits) != 1:
            errs.append("Service %s selects %d workloads" % (s["metadata"]["name"], len(hits)))
            continue
        names = {p.get("name") for c in pod_spec(hits[0])["containers"] for p in c.get("ports")
                 or []}
        for p in s["spec"]["ports"]:
            if p.get("targetPort") not in names:
                errs.append("Service %s: targetPort %r is no container port name" % (
                    s["metadata"]["name"], p.get("targetPort")))
    for sm in by_kind(objs, "ServiceMonitor"):
        sel = sm["spec"]["selector"].get("matchLabels") or {}
        hits = [s for s in services if sel and all(s["metadata"].get("labels", {}).get(k) == v
                                                   for k, v in sel.items())]
        ports = {p.get("name") for s in hits for p in s["spec"]["ports"]}
        if not hits or any(e.get("port") not in ports for e in sm["spec"]["endpoints"]):
            errs.append("ServiceMonitor %s: selects no Service with its endpoint port" % (
                sm["metadata"]["name"]))


def check_generated(errs, objs):
    rules = {os.path.basename(p)[:-len(".rules.yml")]: p
             for p in glob.glob(os.path.join(ROOT, "alerts", "*.rules.yml"))}
    prs = {o["metadata"]["name"]: o for o in by_kind(objs, "PrometheusRule")}
    if set(prs) != {"frond-" + n for n in rules}:
        errs.append("PrometheusRules %s do not match alerts/*.rules.yml %s" % (
            sorted(prs), sorted(rules)))
    for n, path in rules.items():
        with open(path, encoding="utf-8") as f:
            want = yaml.safe_load(f)
        pr = prs.get("frond-" + n)
        if pr and pr["spec"] != want:
            errs.append("PrometheusRule frond-%s differs from alerts/%s.rules.yml" % (n, n))
    boards = {os.path.basename(p)[:-len(".json")]: p
              for p in glob.glob(os.path.join(ROOT, "dashboards", "*.json"))}
    cms = {o["metadata"]["name"]: o for o in by_kind(objs, "ConfigMap")
           if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"}
    if set(cms) != {"frond-dashboard-" + n for n in boards}:
        errs.append("dashboard ConfigMaps %s do not match dashboards/*.json" % sorted(cms))
    for n, path in boards.items():
        cm = cms.get("frond-dashboard-" + n)
        with open(path, encoding="utf-8") as f:
            if cm and cm["data"] != {n + ".json": f.read()}:
                errs.append("ConfigMap frond-dashboard-%s differs from dashboards/%s.json" % (n, n))
    cm = find(objs, "ConfigMap", "frond-usage-exporter-config")
    if not cm or cm["data"].get("usage.yml") != read("exporters/usage/examples/palm.yml"):
        errs.append("ConfigMap frond-usage-exporter-config differs from "
                    "exporters/usage/examples/palm.yml")


def check_overlay(objs):
    errs = []
    for fn in (check_frondtail, check_exporters, check_wiring, check_generated):
        try:
            fn(errs, objs)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            errs.append("%s: malformed manifest (%s: %s)" % (fn.__name__, type(e).__name__, e))
    return errs


# ---- self-test: every check must be able to fail -------------------------------------

def _c(objs, kind, name, cname=None):
    o = find(objs, kind, name)
    cs = pod_spec(o)["containers"]
    return [c for c in cs if cname is None or c["name"] == cname][0]


MUTATIONS = {
    "pods mount writable": lambda o: [m.pop("readOnly") for m in _c(
        o, "DaemonSet", "frondtail")["volumeMounts"] if m["mountPath"] == "/var/log/pods"],
    "port differs": lambda o: _c(o, "DaemonSet", "frondtail")["ports"][0].update(
        containerPort=9081),
    "positions moved": lambda o: [m.update(mountPath="/positions") for m in _c(
        o, "DaemonSet", "frondtail")["volumeMounts"] if m["mountPath"] == "/var/lib/frondtail"],
    "extra capability": lambda o: _c(o, "DaemonSet", "frondtail")["securityContext"][
        "capabilities"].update(add=["SYS_ADMIN"]),
    "writable root": lambda o: _c(o, "Deployment", "frond-usage-exporter")[
        "securityContext"].update(readOnlyRootFilesystem=False),
    "no HOSTNAME": lambda o: _c(o, "DaemonSet", "frondtail").update(env=[
        e for e in _c(o, "DaemonSet", "frondtail")["env"] if e["name"] != "HOSTNAME"]),
    "no toleration": lambda o: pod_spec(find(o, "DaemonSet", "frondtail")).pop("tolerations"),
    "readiness path": lambda o: _c(o, "DaemonSet", "frondtail")["readinessProbe"][
        "httpGet"].update(path="/-/ready-not"),
    "unknown flag": lambda o: _c(o, "Deployment", "frond-rabbitmq-exporter")["args"].append(
        "--rabbit.pasword-file=/x"),
    "unknown frondtail flag": lambda o: _c(o, "DaemonSet", "frondtail")["args"].append(
        "-config.expand-envs=true"),
    "exporter port": lambda o: _c(o, "Deployment", "frond-mongodb-exporter-rs0-0")[
        "ports"][0].update(containerPort=9217),
    "no limits": lambda o: _c(o, "Deployment", "frond-rabbitmq-exporter")["resources"].pop(
        "limits"),
    "rbac widened": lambda o: find(o, "ClusterRole", "frond-frondtail")["rules"][0][
        "verbs"].append("delete"),
    "rule edited": lambda o: find(o, "PrometheusRule", "frond-usage")["spec"]["groups"][0][
        "rules"][0].update(expr="vector(1)"),
    "dashboard label": lambda o: find(o, "ConfigMap", "frond-dashboard-rabbitmq")["metadata"][
        "labels"].pop("grafana_dashboard"),
    "secret key": lambda o: [v["secret"]["items"][0].update(key="nope") for v in pod_spec(
        find(o, "Deployment", "frond-rabbitmq-exporter"))["volumes"] if "secret" in v],
    "service selector": lambda o: find(o, "Service", "frond-usage-exporter")["spec"][
        "selector"].update(x="y"),
    "tag scheme": lambda o: _c(o, "DaemonSet", "frondtail").update(image="x/frondtail:latest"),
    "memory limit": lambda o: _c(o, "DaemonSet", "frondtail")["resources"]["limits"].update(
        memory="32Mi"),
}


def self_test():
    base = render.build(OVERLAYS[0])
    failed = 0
    errs = check_overlay(base)
    if errs:
        print("FAIL the unmodified overlay has errors: %s" % errs)
        failed += 1
    for name, mutate in MUTATIONS.items():
        objs = copy.deepcopy(base)
        mutate(objs)
        if not check_overlay(objs):
            print("FAIL check missed: %s" % name)
            failed += 1
    # The schema validator must see a broken rendered object too.
    objs = copy.deepcopy(base)
    _c(objs, "DaemonSet", "frondtail")["ports"][0]["containerPort"] = "http"
    if validate_schemas({"broken": objs}, quiet=True):
        print("FAIL validate.mjs accepted a string containerPort")
        failed += 1
    total = len(MUTATIONS) + 2
    print("check_manifests self-test: %d passed, %d failed" % (total - failed, failed))
    return 1 if failed else 0


# ---- promtool / amtool ---------------------------------------------------------------

def run_tool(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.returncode == 0


def hpa_queries(rendered):
    """PromQL of the KEDA trigger and the prometheus-adapter rule, templates filled in."""
    out = []
    for o in rendered.get("deploy/hpa", []):
        if o["kind"] == "ScaledObject":
            out += [t["metadata"]["query"] for t in o["spec"]["triggers"]
                    if t["type"] == "prometheus"]
        if o["kind"] == "ConfigMap" and "config.yaml" in o.get("data", {}):
            cfg = yaml.safe_load(o["data"]["config.yaml"])
            for rule in cfg.get("externalRules") or []:
                out.append(rule["seriesQuery"])
                out.append(rule["metricsQuery"]
                           .replace("<<.Series>>", "rabbitmq_queue_messages_ready")
                           .replace("<<.LabelMatchers>>", 'queue="palm.validate"')
                           .replace("<<.GroupBy>>", "queue"))
    return out


def promtool(rendered):
    ok = True
    with tempfile.TemporaryDirectory() as t:
        files = []
        for label in OVERLAYS:
            for pr in by_kind(rendered[os.path.relpath(label, ROOT)], "PrometheusRule"):
                path = os.path.join(t, "%s-%s.yml" % (os.path.basename(label),
                                                      pr["metadata"]["name"]))
                with open(path, "w", encoding="utf-8") as f:
                    yaml.safe_dump(pr["spec"], f, sort_keys=False)
                files.append(path)
        queries = hpa_queries(rendered)
        if len(queries) < 3:
            print("FAIL expected the KEDA query and the adapter's series and metrics queries")
            ok = False
        hpa = os.path.join(t, "hpa-queries.yml")
        with open(hpa, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": [{"name": "hpa", "rules": [
                {"record": "frond:hpa_query_%d" % i, "expr": q}
                for i, q in enumerate(queries)]}]}, f)
        files.append(hpa)
        if not files[:-1]:
            print("FAIL no PrometheusRule rendered")
            return False
        ok = run_tool(["promtool", "check", "rules"] + files) and ok
        # Self-check: promtool must reject a broken rule taken the same way.
        bad = os.path.join(t, "broken.yml")
        with open(bad, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": [{"name": "x", "rules": [
                {"alert": "Broken", "expr": "sum(rate(x[5m])"}]}]}, f)
        r = subprocess.run(["promtool", "check", "rules", bad], capture_output=True)
        if r.returncode == 0:
            print("FAIL promtool accepted a broken expression")
            ok = False
    print("promtool: %d rule files %s" % (len(files), "ok" if ok else "FAILED"))
    return ok


def amtool(rendered):
    objs = rendered.get("deploy/alertmanager", [])
    secrets = [o for o in objs if o["kind"] == "Secret" and "alertmanager.yaml" in o.get(
        "data", {})]
    if len(secrets) != 1:
        print("FAIL expected one Secret with alertmanager.yaml in deploy/alertmanager")
        return False
    text = base64.b64decode(secrets[0]["data"]["alertmanager.yaml"]).decode("utf-8")
    cfg = yaml.safe_load(text)
    ok = True
    receivers = {r["name"]: r for r in cfg.get("receivers") or []}
    critical = [r for r in cfg["route"].get("routes") or []
                if any("severity" in m and "critical" in m for m in r.get("matchers") or [])]
    if not critical or "telegram_configs" not in receivers.get(critical[0]["receiver"], {}):
        print("FAIL critical alerts must route to a receiver with telegram_configs")
        ok = False
    with tempfile.TemporaryDirectory() as t:
        path = os.path.join(t, "alertmanager.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        ok = run_tool(["amtool", "check-config", path]) and ok
        broken = copy.deepcopy(cfg)
        broken["route"]["receiver"] = "no-such-receiver"
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(broken, f)
        r = subprocess.run(["amtool", "check-config", path], capture_output=True)
        if r.returncode == 0:
            print("FAIL amtool accepted a route to an undefined receiver")
            ok = False
    return ok


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    try:
        rendered = render_all()
    except (render.RenderError, OSError, yaml.YAMLError) as e:
        print("FAIL render: %s" % e)
        return 1
    if argv == ["--promtool"]:
        return 0 if promtool(rendered) else 1
    if argv == ["--amtool"]:
        return 0 if amtool(rendered) else 1
    failed = 0 if validate_schemas(rendered) else 1
    passed = 0
    for d in OVERLAYS:
        label = os.path.relpath(d, ROOT)
        errs = check_overlay(rendered[label])
        for e in errs:
            print("FAIL %s: %s" % (label, e))
        if errs:
            failed += 1
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
