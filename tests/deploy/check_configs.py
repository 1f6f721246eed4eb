#!/usr/bin/python3
"""The configs the manifests ship, checked by the real binaries (ctest deploy_configs).

frondtail's ConfigMap (frondtail.yml, with -config.expand-env=true and the
DaemonSet's env) must pass `frondtail -check-syntax`; the usage exporter's
generated ConfigMap must pass `frond_usage_exporter --check-config`. Each is
also run on a copy with an unknown key, which must be rejected (exit 2), so
this test can fail. Binaries come from $FROND_BUILD_DIR.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import render  # noqa: E402


def run(argv, env):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, **env))
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    build = os.environ.get("FROND_BUILD_DIR")
    if not build:
        print("FAIL FROND_BUILD_DIR is not set")
        return 1
    objs = render.build(os.path.join(ROOT, "deploy", "kubernetes", "overlays", "prod"))
    cms = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    ds = [o for o in objs if o["kind"] == "DaemonSet"][0]
    c = ds["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value", "node-1") for e in c.get("env") or []}
    cases = [
        ("frondtail", [os.path.join(build, "shipper", "frondtail")],
         cms["frondtail-config"]["data"]["frondtail.yml"], "frondtail.yml",
         [a for a in c["args"] if not a.startswith("-config.file=")] + ["-check-syntax"],
         "-config.file=", env),
        ("usage exporter", [os.path.join(build, "exporters", "usage", "frond_usage_exporter")],
         cms["frond-usage-exporter-config"]["data"]["usage.yml"], "usage.yml",
         ["--check-config"], "--config.file=",
         {"PALM_MONGODB_URI": "mongodb://u:p@mongo-1.example:27017/palm?replicaSet=rs0"}),
    ]
    failed = passed = 0
    with tempfile.TemporaryDirectory() as t:
        for name, argv, text, fname, args, flag, e in cases:
            for broken in (False, True):
                path = os.path.join(t, ("broken-" if broken else "") + fname)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text + ("\nno_such_key_anywhere: 1\n" if broken else ""))
                rc, out = run(argv + [flag + path] + args, e)
                ok = rc == 2 if broken else rc == 0
                what = "%s %s config" % (name, "broken" if broken else "shipped")
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s: exit %d: %s" % (what, rc, out))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
