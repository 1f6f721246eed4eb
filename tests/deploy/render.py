#!/usr/bin/python3
"""Render a kustomization the way `kustomize build` does, for the subset frond uses.

There is no kustomize or kubectl Debian package, and the tests may not
download one, so this module implements exactly the kustomize features that
deploy/ uses, and refuses every other field, so a kustomization that would
render differently under the real tool cannot slip through:

  apiVersion/kind    kustomize.config.k8s.io/v1beta1 Kustomization
  resources          files (YAML, several documents) and directories holding
                     a kustomization.yaml, built recursively first
  configMapGenerator name, files ([key=]path), literals, options
  secretGenerator    {disableNameSuffixHash: true (required), labels,
                     annotations}; secretGenerator also type
  patches            path or patch, optional target {group, version, kind,
                     name (anchored regex, as kustomize), namespace}; a patch
                     whose document is a list is JSON 6902 (add, remove,
                     replace, test) and needs a target; otherwise it is a
                     strategic merge patch for maps and name-keyed lists
  namespace          set on every namespaced object
  labels             pairs, includeSelectors: false, includeTemplates
  replicas           name, count
  images             name, newName, newTag

Transformers run in kustomize's order: patches, namespace, labels,
replicas, images. Files other than kustomization directories must lie in
or below the kustomization's directory (kustomize's default load
restriction). Resource ids (group, kind, namespace, name) must be unique.
Output keeps resource order (resources, then generators).

    /usr/bin/python3 tests/deploy/render.py DIR [--json]
    /usr/bin/python3 tests/deploy/render.py --self-test
"""

import base64
import copy
import json
import os
import re
import sys

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

TOP_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
              "patches", "configMapGenerator", "secretGenerator"}
GEN_FIELDS = {"name", "files", "literals", "options"}
SECRET_GEN_FIELDS = GEN_FIELDS | {"type"}
GEN_OPTION_FIELDS = {"disableNameSuffixHash", "labels", "annotations"}
PATCH_FIELDS = {"path", "patch", "target"}
TARGET_FIELDS = {"group", "version", "kind", "name", "namespace"}
LABEL_FIELDS = {"pairs", "includeSelectors", "includeTemplates"}
IMAGE_FIELDS = {"name", "newName", "newTag"}
REPLICA_FIELDS = {"name", "count"}
JSON6902_OPS = {"add", "remove", "replace", "test"}

# Kinds kustomize treats as cluster-scoped among those frond could use;
# anything else (custom resources included) is namespaced, as in kustomize.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
                  "ClusterSecretStore", "CustomResourceDefinition", "StorageClass",
                  "PersistentVolume", "APIService", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration", "IngressClass", "RuntimeClass"}
REPLICA_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"}
TEMPLATE_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                  "ReplicationController"}

# Strategic merge keys of the lists frond's patches touch (from the
# Kubernetes API's patchMergeKey tags). Every other list is replaced whole,
# which is also what kustomize does for lists without a merge key and for
# custom resources (no schema).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name",
              "env": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name",
              "ports": "containerPort"}


class RenderError(Exception):
    pass


# Every file a build read (kustomizations, resources, patches, generator
# files), so a caller can tell which files of a tree were never rendered.
LOADED = set()


def _load_docs(path):
    LOADED.add(os.path.realpath(path))
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            raise RenderError("%s: every document needs apiVersion and kind" % path)
        if not isinstance(d.get("metadata"), dict) or not d["metadata"].get("name"):
            raise RenderError("%s: %s without metadata.name" % (path, d.get("kind")))
    return docs


def _within(root, path):
    root = os.path.realpath(root)
    path = os.path.realpath(path)
    return path == root or path.startswith(root + os.sep)


def _file_in_root(root, rel, what):
    path = os.path.join(root, rel)
    if not _within(root, path):
        raise RenderError("%s: %s %r is outside the kustomization directory "
                          "(kustomize's load restriction)" % (root, what, rel))
    if not os.path.isfile(path):
        raise RenderError("%s: %s %r does not exist" % (root, what, rel))
    LOADED.add(os.path.realpath(path))
    return path


def _only(obj, allowed, where):
    if not isinstance(obj, dict):
        raise RenderError("%s: expected a map" % where)
    extra = sorted(set(obj) - allowed)
    if extra:
        raise RenderError("%s: unsupported field(s) %s (tests/deploy/render.py implements only "
                          "the kustomize subset frond uses)" % (where, ", ".join(extra)))


def _group(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def res_id(obj):
    md = obj["metadata"]
    return (_group(obj["apiVersion"]), obj["kind"], md.get("namespace", ""), md["name"])


def kustomization_file(d):
    for n in KUSTOMIZATION_NAMES:
        p = os.path.join(d, n)
        if os.path.isfile(p):
            return p
    return None


# ---- generators --------------------------------------------------------------------

def _generator(root, gen, kind, where):
    _only(gen, SECRET_GEN_FIELDS if kind == "Secret" else GEN_FIELDS, where)
    if not gen.get("name"):
        raise RenderError("%s: name is required" % where)
    opts = gen.get("options") or {}
    _only(opts, GEN_OPTION_FIELDS, where + ".options")
    if opts.get("disableNameSuffixHash") is not True:
        raise RenderError("%s: options.disableNameSuffixHash: true is required (the renderer "
                          "does not rename references to hashed names)" % where)
    data = {}
    for lit in gen.get("literals") or []:
        k, sep, v = str(lit).partition("=")
        if not sep or not k:
            raise RenderError("%s: literal %r is not key=value" % (where, lit))
        data[k] = v
    for spec in gen.get("files") or []:
        key, sep, rel = str(spec).partition("=")
        if not sep:
            key, rel = os.path.basename(spec), spec
        path = _file_in_root(root, rel, "generator file")
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RenderError("%s: %s is not UTF-8 (binaryData is not supported)" % (where, rel))
        if key in data:
            raise RenderError("%s: key %r given twice" % (where, key))
        data[key] = text
    md = {"name": gen["name"]}
    if opts.get("labels"):
        md["labels"] = dict(opts["labels"])
    if opts.get("annotations"):
        md["annotations"] = dict(opts["annotations"])
    obj = {"apiVersion": "v1", "kind": kind, "metadata": md}
    if kind == "Secret":
        obj["type"] = gen.get("type", "Opaque")
        obj["data"] = {k: base64.b64encode(v.encode("utf-8")).decode("ascii")
                       for k, v in data.items()}
    else:
        obj["data"] = data
    return obj


# ---- patches -----------------------------------------------------------------------

def smp(base, patch, path="", list_key=None):
    """Strategic merge of `patch` into `base` (both plain YAML values)."""
    if isinstance(patch, dict):
        for k in patch:
            if isinstance(k, str) and k.startswith("$"):
                raise RenderError("patch directive %s at %s is not supported" % (k, path or "/"))
        if not isinstance(base, dict):
            return copy.deepcopy(patch)
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = smp(out[k], v, path + "/" + k, MERGE_KEYS.get(k))
            else:
                out[k] = smp(None, v, path + "/" + k, MERGE_KEYS.get(k))
        return out
    if isinstance(patch, list):
        if list_key and isinstance(base, list) and all(isinstance(x, dict) for x in patch):
            # kustomize (kyaml) order: the patch's items first, in patch
            # order (merged with the base item of the same key), then the
            # base items the patch did not name, in base order.
            out, used = [], set()
            for item in patch:
                if list_key not in item:
                    raise RenderError("patch list item at %s lacks its merge key %s"
                                      % (path, list_key))
                cur = None
                for i, b in enumerate(base):
                    if isinstance(b, dict) and b.get(list_key) == item[list_key]:
                        cur = b
                        used.add(i)
                        break
                out.append(smp(cur, item, "%s[%s]" % (path, item[list_key])))
            out.extend(b for i, b in enumerate(base) if i not in used)
            return out
        return [smp(None, x, path) for x in patch]
    return patch


def _pointer(p):
    if p == "":
        return []
    if not p.startswith("/"):
        raise RenderError("JSON pointer %r must start with /" % p)
    return [t.replace("~1", "/").replace("~0", "~") for t in p[1:].split("/")]


def _walk(doc, toks, path):
    cur = doc
    for t in toks:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise RenderError("JSON 6902 path %s does not exist" % path)
    return cur


def json6902(doc, ops):
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in JSON6902_OPS:
            raise RenderError("JSON 6902 op %r is not one of %s" % (op, sorted(JSON6902_OPS)))
        _only(op, {"op", "path", "value"}, "JSON 6902 op")
        toks = _pointer(op["path"])
        if not toks:
            raise RenderError("JSON 6902 ops on the whole document are not supported")
        parent = _walk(doc, toks[:-1], op["path"])
        last = toks[-1]
        kind = op["op"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise RenderError("JSON 6902 %s at %s needs a value" % (kind, op["path"]))
        if isinstance(parent, dict):
            if kind == "add":
                parent[last] = copy.deepcopy(op["value"])
                continue
            if last not in parent:
                raise RenderError("JSON 6902 path %s does not exist" % op["path"])
            if kind == "replace":
                parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[last]
            elif parent[last] != op["value"]:
                raise RenderError("JSON 6902 test failed at %s" % op["path"])
        elif isinstance(parent, list):
            if kind == "add" and last == "-":
                parent.append(copy.deepcopy(op["value"]))
                continue
            if not last.isdigit():
                raise RenderError("JSON 6902 index %r at %s" % (last, op["path"]))
            i = int(last)
            if kind == "add":
                if i > len(parent):
                    raise RenderError("JSON 6902 add index out of range at %s" % op["path"])
                parent.insert(i, copy.deepcopy(op["value"]))
                continue
            if i >= len(parent):
                raise RenderError("JSON 6902 path %s does not exist" % op["path"])
            if kind == "replace":
                parent[i] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[i]
            elif parent[i] != op["value"]:
                raise RenderError("JSON 6902 test failed at %s" % op["path"])
        else:
            raise RenderError("JSON 6902 path %s goes through a scalar" % op["path"])
    return doc


def _matches(obj, target):
    api = obj["apiVersion"]
    version = api.split("/")[-1]
    md = obj["metadata"]
    if "group" in target and target["group"] != _group(api):
        return False
    if "version" in target and target["version"] != version:
        return False
    if "kind" in target and target["kind"] != obj["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], md["name"]):
        return False
    if "namespace" in target and target["namespace"] != md.get("namespace", ""):
        return False
    return True


def _apply_patch(root, objs, entry, where):
    _only(entry, PATCH_FIELDS, where)
    if ("path" in entry) == ("patch" in entry):
        raise RenderError("%s: exactly one of path and patch" % where)
    if "path" in entry:
        with open(_file_in_root(root, entry["path"], "patch"), encoding="utf-8") as f:
            text = f.read()
    else:
        text = entry["patch"]
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(docs) != 1:
        raise RenderError("%s: one patch document per entry" % where)
    body = docs[0]
    target = entry.get("target")
    if target is not None:
        _only(target, TARGET_FIELDS, where + ".target")
    if isinstance(body, list):
        if target is None:
            raise RenderError("%s: a JSON 6902 patch needs a target" % where)
        hits = [i for i, o in enumerate(objs) if _matches(o, target)]
        if not hits:
            raise RenderError("%s: target %s matches nothing" % (where, target))
        for i in hits:
            objs[i] = json6902(objs[i], body)
        return
    if not isinstance(body, dict) or not body.get("kind") or not body.get("metadata", {}).get(
            "name"):
        raise RenderError("%s: a strategic merge patch needs kind and metadata.name" % where)
    if target is None:
        target = {"kind": body["kind"], "name": re.escape(body["metadata"]["name"]),
                  "group": _group(body.get("apiVersion", ""))}
        if body["metadata"].get("namespace"):
            target["namespace"] = body["metadata"]["namespace"]
    hits = [i for i, o in enumerate(objs) if _matches(o, target)]
    if not hits:
        raise RenderError("%s: no resource matches the patch %s/%s" % (
            where, body["kind"], body["metadata"]["name"]))
    for i in hits:
        p = copy.deepcopy(body)
        # The patch's own id fields select; they never rename the target.
        p.pop("apiVersion", None)
        p.pop("kind", None)
        p["metadata"] = {k: v for k, v in p["metadata"].items() if k not in ("name", "namespace")}
        objs[i] = smp(objs[i], p)


# ---- transformers ------------------------------------------------------------------

def _set_namespace(objs, ns):
    for o in objs:
        if o["kind"] not in CLUSTER_SCOPED:
            o["metadata"]["namespace"] = ns
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for s in o.get("subjects") or []:
                if s.get("kind") == "ServiceAccount" and s.get("namespace") != ns:
                    # kustomize rewrites some subjects (by its own rules) and
                    # leaves others: refuse the case where that would matter.
                    raise RenderError("%s %s: ServiceAccount subject namespace %r differs from "
                                      "the kustomization namespace %r" % (
                                          o["kind"], o["metadata"]["name"], s.get("namespace"),
                                          ns))


def _add_labels(objs, entry, where):
    _only(entry, LABEL_FIELDS, where)
    if entry.get("includeSelectors"):
        raise RenderError("%s: includeSelectors: true is not supported (selectors are immutable "
                          "on live objects; keep them explicit)" % where)
    pairs = entry.get("pairs") or {}
    for k, v in pairs.items():
        if not isinstance(v, str):
            raise RenderError("%s: label %s must be a string" % (where, k))
    for o in objs:
        o["metadata"].setdefault("labels", {}).update(pairs)
        if entry.get("includeTemplates") and o["kind"] in TEMPLATE_KINDS:
            tmd = o.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
            tmd.setdefault("labels", {}).update(pairs)


def _set_replicas(objs, entry, where):
    _only(entry, REPLICA_FIELDS, where)
    if not isinstance(entry.get("count"), int) or entry["count"] < 0:
        raise RenderError("%s: count must be a non-negative integer" % where)
    hits = [o for o in objs if o["kind"] in REPLICA_KINDS and o["metadata"]["name"] == entry.get(
        "name")]
    if not hits:
        raise RenderError("%s: no Deployment/StatefulSet/ReplicaSet named %r" % (
            where, entry.get("name")))
    for o in hits:
        o.setdefault("spec", {})["replicas"] = entry["count"]


def _image_name(image):
    if "@" in image:
        raise RenderError("image %r: digests are not supported" % image)
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, None


def _set_images(objs, entry, where):
    _only(entry, IMAGE_FIELDS, where)
    if not entry.get("name") or not (entry.get("newName") or entry.get("newTag")):
        raise RenderError("%s: name and newName or newTag are required" % where)
    count = 0

    def visit(node):
        nonlocal count
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("containers", "initContainers") and isinstance(v, list):
                    for c in v:
                        if isinstance(c, dict) and isinstance(c.get("image"), str):
                            name, tag = _image_name(c["image"])
                            if name == entry["name"]:
                                name = entry.get("newName", name)
                                tag = str(entry["newTag"]) if "newTag" in entry else tag
                                c["image"] = name + (":" + tag if tag else "")
                                count += 1
                visit(v)
        elif isinstance(node, list):
            for x in node:
                visit(x)

    for o in objs:
        visit(o)
    if not count:
        raise RenderError("%s: no container uses image %r" % (where, entry["name"]))


# ---- build -------------------------------------------------------------------------

def build(directory, _stack=()):
    directory = os.path.realpath(directory)
    if directory in _stack:
        raise RenderError("%s: kustomization cycle" % directory)
    kfile = kustomization_file(directory)
    if not kfile:
        raise RenderError("%s: no kustomization.yaml" % directory)
    LOADED.add(os.path.realpath(kfile))
    with open(kfile, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    _only(k, TOP_FIELDS, kfile)
    if k.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or k.get("kind") != (
            "Kustomization"):
        raise RenderError("%s: apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization "
                          "expected" % kfile)
    objs = []
    for rel in k.get("resources") or []:
        path = os.path.join(directory, rel)
        if os.path.isdir(path):
            objs.extend(build(path, _stack + (directory,)))
        else:
            objs.extend(_load_docs(_file_in_root(directory, rel, "resource")))
    for i, gen in enumerate(k.get("configMapGenerator") or []):
        objs.append(_generator(directory, gen, "ConfigMap", "%s: configMapGenerator[%d]" % (
            kfile, i)))
    for i, gen in enumerate(k.get("secretGenerator") or []):
        objs.append(_generator(directory, gen, "Secret", "%s: secretGenerator[%d]" % (kfile, i)))
    seen = set()
    for o in objs:
        rid = res_id(o)
        if rid in seen:
            raise RenderError("%s: resource %s is defined twice" % (kfile, "/".join(rid)))
        seen.add(rid)
    for i, p in enumerate(k.get("patches") or []):
        _apply_patch(directory, objs, p, "%s: patches[%d]" % (kfile, i))
    if k.get("namespace"):
        _set_namespace(objs, k["namespace"])
    for i, entry in enumerate(k.get("labels") or []):
        _add_labels(objs, entry, "%s: labels[%d]" % (kfile, i))
    for i, entry in enumerate(k.get("replicas") or []):
        _set_replicas(objs, entry, "%s: replicas[%d]" % (kfile, i))
    for i, entry in enumerate(k.get("images") or []):
        _set_images(objs, entry, "%s: images[%d]" % (kfile, i))
    return objs


# ---- self-test ---------------------------------------------------------------------

def self_test():
    """Each feature against a known answer, and each refusal against a bad input."""
    import tempfile

    failures = []

    def expect(name, cond):
        if not cond:
            failures.append(name)

    def write(d, name, text):
        os.makedirs(os.path.dirname(os.path.join(d, name)) or d, exist_ok=True)
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(text)

    deploy = """apiVersion: apps/v1
kind: Deployment
metadata: {name: app, labels: {a: "1"}}
spec:
  replicas: 1
  selector: {matchLabels: {a: "1"}}
  template:
    metadata: {labels: {a: "1"}}
    spec:
      containers:
        - name: c
          image: repo/app:old
          env: [{name: X, value: "1"}, {name: Y, value: "2"}]
          args: [--a, --b]
          volumeMounts: [{name: v1, mountPath: /a}, {name: v2, mountPath: /b}]
        - {name: side, image: other/img}
"""
    with tempfile.TemporaryDirectory() as t:
        write(t, "base/d.yaml", deploy)
        write(t, "base/cfg.txt", "hello\n")
        write(t, "base/kustomization.yaml", """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ns1
resources: [d.yaml]
configMapGenerator:
  - {name: cfg, files: [cfg.txt, k2=cfg.txt], literals: [l=v], options: {disableNameSuffixHash: true}}
secretGenerator:
  - {name: sec, literals: [pw=s3cret], options: {disableNameSuffixHash: true}}
""")
        write(t, "ov/p.yaml", """apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
        - name: c
          env: [{name: Y, value: "20"}, {name: Z, value: "3"}]
          args: [--only]
          volumeMounts: [{name: v3, mountPath: /b}]
        - {name: new, image: n}
""")
        write(t, "ov/kustomization.yaml", """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
labels: [{pairs: {env: dev}, includeSelectors: false, includeTemplates: true}]
replicas: [{name: app, count: 3}]
images: [{name: repo/app, newName: reg/x/app, newTag: 1.0-2026-01-01}]
patches:
  - path: p.yaml
  - target: {kind: Deployment, name: ap.}
    patch: |-
      - {op: add, path: /spec/template/spec/containers/0/args/-, value: --added}
      - {op: remove, path: /metadata/labels/a}
      - {op: test, path: /spec/replicas, value: 1}
""")
        objs = build(os.path.join(t, "ov"))
        d = [o for o in objs if o["kind"] == "Deployment"][0]
        c = d["spec"]["template"]["spec"]["containers"][0]
        expect("images newName+newTag", c["image"] == "reg/x/app:1.0-2026-01-01")
        expect("other image untouched",
               d["spec"]["template"]["spec"]["containers"][2]["image"] == "other/img")
        # Known answer from kustomize v5.5 on the same input: patch items
        # first, then the base items the patch did not name.
        expect("smp env merged by name", c["env"] == [{"name": "Y", "value": "20"},
                                                       {"name": "Z", "value": "3"},
                                                       {"name": "X", "value": "1"}])
        expect("smp volumeMounts merged by mountPath", c["volumeMounts"] == [
            {"name": "v3", "mountPath": "/b"}, {"name": "v1", "mountPath": "/a"}])
        expect("smp containers: patch first, then the rest", [
            x["name"] for x in d["spec"]["template"]["spec"]["containers"]] == ["c", "new",
                                                                                  "side"])
        expect("smp plain list replaced, then json6902 append", c["args"] == ["--only", "--added"])
        expect("json6902 remove + labels", d["metadata"]["labels"] == {"env": "dev"})
        expect("labels not in selectors", d["spec"]["selector"]["matchLabels"] == {"a": "1"})
        expect("labels in templates", d["spec"]["template"]["metadata"]["labels"] == {
            "a": "1", "env": "dev"})
        expect("replicas after patches", d["spec"]["replicas"] == 3)
        expect("namespace", all(o["metadata"].get("namespace") == "ns1" for o in objs))
        cm = [o for o in objs if o["kind"] == "ConfigMap"][0]
        expect("configMapGenerator", cm["data"] == {"cfg.txt": "hello\n", "k2": "hello\n",
                                                    "l": "v"} and cm["metadata"]["name"] == "cfg")
        sec = [o for o in objs if o["kind"] == "Secret"][0]
        expect("secretGenerator", sec["data"] == {"pw": "czNjcmV0"} and sec["type"] == "Opaque")

        bad = {
            "unknown field": "commonLabels: {a: b}\n",
            "hash suffix": "configMapGenerator: [{name: x, literals: [a=b]}]\n",
            "outside root": "resources: [../base/d.yaml]\n",
            "selectors": "resources: [../base]\nlabels: [{pairs: {a: b}, includeSelectors: true}]\n",
            "patch directive": "resources: [../base]\npatches:\n  - patch: |-\n      "
                               "{apiVersion: apps/v1, kind: Deployment, metadata: {name: app}, "
                               "spec: {$patch: replace}}\n",
            "json6902 bad path": "resources: [../base]\npatches:\n  - target: {kind: Deployment}\n"
                                 "    patch: '[{op: replace, path: /spec/nope/x, value: 1}]'\n",
            "json6902 failing test": "resources: [../base]\npatches:\n  - target: {kind: "
                                     "Deployment}\n    patch: '[{op: test, path: /spec/replicas, "
                                     "value: 9}]'\n",
            "patch matches nothing": "resources: [../base]\npatches:\n  - patch: '{apiVersion: "
                                     "v1, kind: Service, metadata: {name: app}}'\n",
            "image not used": "resources: [../base]\nimages: [{name: nope/x, newTag: t}]\n",
            "digest": "resources: [../base]\nimages: [{name: repo/app, digest: sha256:00}]\n",
            "replicas of nothing": "resources: [../base]\nreplicas: [{name: nope, count: 1}]\n",
            "duplicate resource": "resources: [../base, ../base2]\n",
        }
        write(t, "base2/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                                             "kind: Kustomization\nnamespace: ns1\n"
                                             "resources: [d.yaml]\n")
        write(t, "base2/d.yaml", deploy)
        for name, body in bad.items():
            write(t, "bad/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                                               "kind: Kustomization\n" + body)
            try:
                build(os.path.join(t, "bad"))
                failures.append("accepted: " + name)
            except RenderError:
                pass
    for f in failures:
        print("FAIL", f)
    print("render.py self-test: %d failed" % len(failures))
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
        return 2
    try:
        objs = build(argv[0])
    except (RenderError, OSError, yaml.YAMLError) as e:
        print("render: %s" % e, file=sys.stderr)
        return 1
    if "--json" in argv:
        json.dump(objs, sys.stdout, indent=1)
        print()
    else:
        sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=False, default_flow_style=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
