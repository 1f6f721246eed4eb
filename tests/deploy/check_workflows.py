#!/usr/bin/python3
"""Check .github/workflows/ without GitHub (ctest deploy_workflows).

- ci.yml runs on every push and runs ./scripts/test.sh, the README's test
  command, and can be called by images.yml;
- images.yml runs the tests first, logs in to ECR through
  aws-actions/configure-aws-credentials + amazon-ecr-login, builds every
  target of deploy/docker/Dockerfile with that Dockerfile, and tags it with
  the meta job's tag; the meta step's shell, run here for real, prints
  <version>-<YYYY-MM-DD> with the version of CMakeLists.txt and today's UTC date;
- the gitops job is optional (guarded by a variable) and uses
  deploy/bump-image-tag.py, which is run here on a copy of the dev overlay:
  the rendered overlay must then carry the new tag on every frond image.

`--self-test` breaks the parsed workflows one way at a time.
"""

import copy
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import check_docker  # noqa: E402
import render  # noqa: E402

WF = os.path.join(ROOT, ".github", "workflows")


def load(name):
    with open(os.path.join(WF, name), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps(job):
    return job.get("steps") or []


def uses(job, prefix):
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(prefix)]


def lint(ci, images):
    errs = []
    on = ci.get("on") or {}
    if "push" not in on or (on.get("push") or {}).get("branches"):
        errs.append("ci.yml must run on every push (no branch filter)")
    if "workflow_call" not in on:
        errs.append("ci.yml must be callable (workflow_call) by images.yml")
    runs = [s.get("run", "") for j in (ci.get("jobs") or {}).values() for s in steps(j)]
    if not any(re.search(r"(^|\s)\./scripts/test\.sh(\s|$)", r) for r in runs):
        errs.append("ci.yml does not run ./scripts/test.sh")
    jobs = images.get("jobs") or {}
    if (jobs.get("test") or {}).get("uses") != "./.github/workflows/ci.yml":
        errs.append("images.yml must run the tests (uses ./.github/workflows/ci.yml)")
    build = jobs.get("images") or {}
    if "test" not in (build.get("needs") or []):
        errs.append("images.yml: images must need the test job")
    if not uses(build, "aws-actions/configure-aws-credentials@") or not uses(
            build, "aws-actions/amazon-ecr-login@"):
        errs.append("images.yml: ECR login through aws-actions is missing")
    targets = set(((build.get("strategy") or {}).get("matrix") or {}).get("target") or [])
    if targets != set(check_docker.TARGETS):
        errs.append("images.yml: matrix targets %s != Dockerfile targets %s" % (
            sorted(targets), sorted(check_docker.TARGETS)))
    bp = uses(build, "docker/build-push-action@")
    w = (bp[0].get("with") or {}) if bp else {}
    if w.get("file") != "deploy/docker/Dockerfile" or "matrix.target" not in str(
            w.get("target")) or w.get("push") is not True:
        errs.append("images.yml: build-push must push deploy/docker/Dockerfile's matrix target")
    if "needs.meta.outputs.tag" not in str(w.get("tags")):
        errs.append("images.yml: images must be tagged with the meta job's tag")
    if "vars.IMAGE_REGISTRY" not in yaml.safe_dump(build):
        errs.append("images.yml: the registry must be configurable (vars.IMAGE_REGISTRY)")
    meta = [s for s in steps(jobs.get("meta") or {}) if s.get("id") == "tag"]
    if not meta:
        errs.append("images.yml: no meta step with id tag")
    else:
        errs += check_tag_script(meta[0]["run"])
    bump = jobs.get("gitops-bump") or {}
    if "vars.GITOPS_REPO" not in str(bump.get("if", "")):
        errs.append("images.yml: the gitops job must be optional (if: vars.GITOPS_REPO)")
    if not any("deploy/bump-image-tag.py" in s.get("run", "") for s in steps(bump)):
        errs.append("images.yml: the gitops job must use deploy/bump-image-tag.py")
    return errs


def check_tag_script(script):
    with tempfile.TemporaryDirectory() as t:
        out = os.path.join(t, "out")
        open(out, "w").close()
        r = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=ROOT,
                           env=dict(os.environ, GITHUB_OUTPUT=out), capture_output=True, text=True)
        with open(out, encoding="utf-8") as f:
            kv = dict(line.strip().split("=", 1) for line in f if "=" in line)
    if r.returncode != 0:
        return ["images.yml: the tag step failed: %s" % r.stderr.strip()]
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        version = re.search(r"project\(frond VERSION ([0-9.]+)", f.read()).group(1)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    want = "%s-%s" % (version, today)
    if kv.get("tag") != want:
        return ["images.yml: the tag step printed %r, expected %r" % (kv.get("tag"), want)]
    return []


def check_bump():
    errs = []
    with tempfile.TemporaryDirectory() as t:
        shutil.copytree(os.path.join(ROOT, "deploy", "kubernetes"), os.path.join(t, "k"))
        kfile = os.path.join(t, "k", "overlays", "dev", "kustomization.yaml")
        with open(kfile, encoding="utf-8") as f:
            before = f.read()
        tag = "9.8.7-2031-01-02"
        r = subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "bump-image-tag.py"),
                            kfile, tag], capture_output=True, text=True)
        if r.returncode != 0:
            return ["bump-image-tag.py failed: %s" % r.stderr.strip()]
        with open(kfile, encoding="utf-8") as f:
            after = f.read()
        changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
        if len(before.splitlines()) != len(after.splitlines()) or len(changed) != 4 or not all(
                "newTag:" in b for _, b in changed):
            errs.append("bump-image-tag.py must change exactly the 4 newTag lines")
        images = [c["image"] for o in render.build(os.path.dirname(kfile))
                  for c in (o.get("spec", {}).get("template", {}).get("spec", {})
                            .get("containers") or [])]
        if not images or not all(i.endswith(":" + tag) for i in images):
            errs.append("after the bump, the rendered images are %s" % sorted(set(images)))
        r = subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "bump-image-tag.py"),
                            kfile, "latest"], capture_output=True)
        if r.returncode == 0:
            errs.append("bump-image-tag.py accepted a tag outside <version>-<YYYY-MM-DD>")
    return errs


MUTATIONS = {
    "branch filter": lambda ci, im: ci["on"].update(push={"branches": ["main"]}),
    "no test command": lambda ci, im: [s.update(run="make") for s in ci["jobs"]["test"]["steps"]
                                       if "test.sh" in s.get("run", "")],
    "no ECR login": lambda ci, im: im["jobs"]["images"]["steps"].pop(2),
    "untested images": lambda ci, im: im["jobs"]["images"].update(needs=["meta"]),
    "missing target": lambda ci, im: im["jobs"]["images"]["strategy"]["matrix"]["target"].pop(),
    "bad tag": lambda ci, im: [s.update(run=s["run"].replace("%Y-%m-%d", "%Y%m%d"))
                               for s in im["jobs"]["meta"]["steps"] if s.get("id") == "tag"],
    "mandatory bump": lambda ci, im: im["jobs"]["gitops-bump"].pop("if"),
}


def main(argv):
    ci, images = load("ci.yml"), load("images.yml")
    if argv == ["--self-test"]:
        failed = 0
        if lint(ci, images):
            print("FAIL the committed workflows fail: %s" % lint(ci, images))
            failed += 1
        for name, mutate in MUTATIONS.items():
            c, i = copy.deepcopy(ci), copy.deepcopy(images)
            mutate(c, i)
            if not lint(c, i):
                print("FAIL self-test %s: not caught" % name)
                failed += 1
        total = len(MUTATIONS) + 1
        print("check_workflows self-test: %d passed, %d failed" % (total - failed, failed))
        return 1 if failed else 0
    errs = lint(ci, images) + check_bump()
    for e in errs:
        print("FAIL", e)
    print(".github/workflows: %s" % ("ok" if not errs else "%d problems" % len(errs)))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
