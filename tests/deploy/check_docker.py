#!/usr/bin/python3
"""Lint deploy/docker/Dockerfile without a Docker engine (there is none here).

    check_docker.py              the rules below (ctest deploy_docker_lint)
    check_docker.py --libs       also: every shared library the built binaries
                                 need (readelf -d NEEDED, mapped to Debian
                                 packages with dpkg -S) is installed in that
                                 binary's runtime stage, and nothing more
                                 (ctest deploy_docker_libs; needs FROND_BUILD_DIR)
    check_docker.py --self-test  broken copies of the Dockerfile must fail

Rules: multi-stage; the build stage is FROM debian:12 and the runtime
stages from debian:12-slim; one target per binary, each copying its binary
from the build stage and running it as ENTRYPOINT; a non-root USER; no
HEALTHCHECK; OCI labels version and source (own or inherited); runtime
stages install no -dev package or toolchain, only the libraries their
binary needs plus ca-certificates.
"""

import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOCKERFILE = os.path.join(ROOT, "deploy", "docker", "Dockerfile")

# target -> (binary, path in a build tree)
TARGETS = {
    "frondtail": ("frondtail", "shipper/frondtail"),
    "frond-mongodb-exporter": ("frond_mongodb_exporter", "exporters/mongodb/frond_mongodb_exporter"),
    "frond-rabbitmq-exporter": ("frond_rabbitmq_exporter",
                                "exporters/rabbitmq/frond_rabbitmq_exporter"),
    "frond-usage-exporter": ("frond_usage_exporter", "exporters/usage/frond_usage_exporter"),
}
# Always present in debian:12-slim (Essential: yes); never listed.
BASE_PACKAGES = {"libc6"}
# Sanitizer runtimes of the dev preset: the image builds the release preset,
# which links none of them.
SANITIZER_LIBS = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")
EXTRA_ALLOWED = {"ca-certificates"}


def parse(text):
    """[(stage_name, base, [(INSTRUCTION, args)])] with global ARG defaults applied to FROM."""
    logical, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        logical.append(cur + s)
        cur = ""
    if cur:
        logical.append(cur)
    args, stages = {}, []
    for ins in logical:
        word, _, rest = ins.partition(" ")
        word = word.upper()
        rest = rest.strip()
        if word == "FROM":
            toks = rest.split()
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""),
                          toks[0])
            name = toks[2] if len(toks) >= 3 and toks[1].upper() == "AS" else None
            stages.append({"name": name, "base": base, "ins": []})
        elif not stages:
            if word != "ARG":
                raise ValueError("only ARG may come before the first FROM: %s" % ins)
            k, _, v = rest.partition("=")
            args[k] = v
        else:
            stages[-1]["ins"].append((word, rest))
    return stages


def chain(stages, name):
    """The stage and its FROM ancestors inside this Dockerfile, nearest first."""
    by = {s["name"]: s for s in stages if s["name"]}
    out, s = [], by.get(name)
    while s:
        out.append(s)
        s = by.get(s["base"])
    return out


def apt_packages(stage):
    pkgs = set()
    for word, rest in stage["ins"]:
        if word != "RUN":
            continue
        for cmd in re.split(r"&&|;", rest):
            toks = shlex.split(cmd)
            if len(toks) >= 2 and toks[0] in ("apt-get", "apt") and "install" in toks:
                pkgs |= {t for t in toks[toks.index("install") + 1:] if not t.startswith("-")}
    return pkgs


def labels(stage):
    out = {}
    for word, rest in stage["ins"]:
        if word == "LABEL":
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                out[k] = v
    return out


def lint(text, needed=None):
    errs = []
    try:
        stages = parse(text)
    except ValueError as e:
        return [str(e)]
    if len(stages) < 2:
        errs.append("not a multi-stage build")
        return errs
    build = [s for s in stages if s["name"] == "build"]
    if not build or not re.fullmatch(r"debian:12(\.\d+)?", build[0]["base"]):
        errs.append("the build stage must be FROM debian:12")
    for s in stages:
        for word, rest in s["ins"]:
            if word == "HEALTHCHECK":
                errs.append("stage %s: HEALTHCHECK (Kubernetes probes do that)" % s["name"])
    for target, (binary, _) in TARGETS.items():
        ch = chain(stages, target)
        if not ch:
            errs.append("no stage named %s" % target)
            continue
        root_base = ch[-1]["base"]
        if not re.fullmatch(r"debian:12(\.\d+)?-slim", root_base):
            errs.append("%s: runtime must be based on debian:12-slim, not %s" % (target, root_base))
        ins = ch[0]["ins"]
        if not any(w == "COPY" and "--from=build" in r and binary in r for w, r in ins):
            errs.append("%s: does not copy %s from the build stage" % (target, binary))
        ep = [r for w, r in ins if w == "ENTRYPOINT"]
        if not ep or binary not in ep[-1]:
            errs.append("%s: ENTRYPOINT must run %s" % (target, binary))
        users = [r for s in reversed(ch) for w, r in s["ins"] if w == "USER"]
        if not users or users[-1].split(":")[0] in ("0", "root"):
            errs.append("%s: must end with a non-root USER" % target)
        lab = {}
        for s in reversed(ch):
            lab.update(labels(s))
        for k in ("org.opencontainers.image.version", "org.opencontainers.image.source"):
            if not lab.get(k):
                errs.append("%s: label %s missing" % (target, k))
        pkgs = set()
        for s in ch:
            pkgs |= apt_packages(s)
        bad = sorted(p for p in pkgs if p.endswith("-dev") or p in (
            "build-essential", "gcc", "cmake", "pkg-config", "clang"))
        if bad:
            errs.append("%s: build packages in a runtime image: %s" % (target, bad))
        if needed is not None:
            want = needed[target] - BASE_PACKAGES
            missing = sorted(want - pkgs)
            extra = sorted(pkgs - want - EXTRA_ALLOWED)
            if missing:
                errs.append("%s: runtime libraries not installed: %s" % (target, missing))
            if extra:
                errs.append("%s: packages the binary does not need: %s" % (target, extra))
    return errs


_LDCONFIG = []


def _lib_path(soname):
    if not _LDCONFIG:
        _LDCONFIG.append(subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout)
    out = _LDCONFIG[0]
    for line in out.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split()[0] == soname and "x86-64" in parts[0]:
            return parts[1]
    for line in out.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split()[0] == soname:
            return parts[1]
    return None


_PKG_CACHE = {}


def _package_of(path):
    if path not in _PKG_CACHE:
        _PKG_CACHE[path] = _dpkg_search(path)
    return _PKG_CACHE[path]


def _dpkg_search(path):
    real = os.path.realpath(path)
    candidates = [path, real]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def needed_packages(build_dir):
    out, errs = {}, []
    for target, (_, rel) in TARGETS.items():
        path = os.path.join(build_dir, rel)
        if not os.path.isfile(path):
            errs.append("%s: not built (%s)" % (target, path))
            continue
        dyn = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
        pkgs = set()
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn):
            if SANITIZER_LIBS.match(soname):
                continue
            lib = _lib_path(soname)
            pkg = _package_of(lib) if lib else None
            if not pkg:
                errs.append("%s: cannot map %s to a Debian package" % (target, soname))
                continue
            pkgs.add(pkg)
        if not pkgs:
            errs.append("%s: readelf found no NEEDED libraries" % target)
        out[target] = pkgs
    return out, errs


SELF_TEST_BREAKS = {
    "HEALTHCHECK": lambda t: t.replace("EXPOSE 9080\n", "EXPOSE 9080\nHEALTHCHECK CMD true\n"),
    "root user": lambda t: t.replace("USER 65532:65532\nEXPOSE 9419", "USER root\nEXPOSE 9419"),
    "no version label": lambda t: t.replace('org.opencontainers.image.version="${VERSION}" ', ""),
    "not debian": lambda t: t.replace("ARG DEBIAN_IMAGE=debian:12\n",
                                      "ARG DEBIAN_IMAGE=ubuntu:24.04\n"),
    "dev package": lambda t: t.replace("libcurl4 libyajl2", "libcurl4 libcurl4-openssl-dev libyajl2"),
    "missing copy": lambda t: t.replace(
        "COPY --from=build /out/frond_usage_exporter /usr/local/bin/frond_usage_exporter\n", ""),
}
SELF_TEST_LIB_BREAKS = {
    "missing library": lambda t: t.replace("libsnappy1v5 ", ""),
    "extra library": lambda t: t.replace("libsasl2-2 libssl3 \\\n",
                                         "libsasl2-2 libssl3 libcurl4 \\\n"),
}


def main(argv):
    with open(DOCKERFILE, encoding="utf-8") as f:
        text = f.read()
    needed = None
    if "--libs" in argv or "--self-test" in argv:
        build_dir = os.environ.get("FROND_BUILD_DIR")
        if "--libs" in argv:
            if not build_dir:
                print("FAIL FROND_BUILD_DIR is not set")
                return 1
            needed, errs = needed_packages(build_dir)
            if errs:
                for e in errs:
                    print("FAIL", e)
                return 1
            for t, p in sorted(needed.items()):
                print("%s needs %s" % (t, " ".join(sorted(p))))
    if "--self-test" in argv:
        failed = 0
        if lint(text):
            print("FAIL the committed Dockerfile does not pass: %s" % lint(text))
            failed += 1
        for name, brk in SELF_TEST_BREAKS.items():
            broken = brk(text)
            if broken == text:
                print("FAIL self-test %s: the break did not apply" % name)
                failed += 1
            elif not lint(broken):
                print("FAIL self-test %s: not caught" % name)
                failed += 1
        # Library rules against a fixed answer, so the self-test needs no build.
        fixed = {
            "frondtail": {"libmicrohttpd12", "libgnutls30", "libyaml-0-2", "zlib1g", "libcrypt1",
                          "libsystemd0", "libcurl4", "libsnappy1v5", "libprotobuf-c1", "libyajl2", "libc6"},
            "frond-mongodb-exporter": {"libmicrohttpd12", "libgnutls30", "libyaml-0-2", "zlib1g",
                                       "libcrypt1", "libmongocrypt0",
                                       "libsasl2-2", "libssl3", "libc6"},
            "frond-rabbitmq-exporter": {"libmicrohttpd12", "libgnutls30", "libyaml-0-2", "zlib1g",
                                        "libcrypt1", "libcurl4", "libyajl2",
                                        "librabbitmq4", "libc6"},
            "frond-usage-exporter": {"libmicrohttpd12", "libgnutls30", "libyaml-0-2", "zlib1g",
                                     "libcrypt1", "libmongocrypt0",
                                     "libsasl2-2", "libssl3", "libc6"},
        }
        if lint(text, fixed):
            print("FAIL the Dockerfile does not match the expected libraries: %s" % lint(text, fixed))
            failed += 1
        for name, brk in SELF_TEST_LIB_BREAKS.items():
            broken = brk(text)
            if broken == text or not lint(broken, fixed):
                print("FAIL self-test %s: not caught" % name)
                failed += 1
        total = len(SELF_TEST_BREAKS) + len(SELF_TEST_LIB_BREAKS) + 2
        print("check_docker self-test: %d passed, %d failed" % (total - failed, failed))
        return 1 if failed else 0
    errs = lint(text, needed)
    for e in errs:
        print("FAIL", e)
    print("deploy/docker/Dockerfile: %s" % ("ok" if not errs else "%d problems" % len(errs)))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
