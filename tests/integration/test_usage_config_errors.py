"""frond_usage_exporter refuses broken configs with exit 2 and "file:line: reason".

Each file in tests/integration/usage/bad/ starts with a comment
`# want: LINE: TEXT`; `--check-config` (and a normal start) must exit 2
and print "<path>:LINE: ...TEXT...". The example configs must pass.
"""

import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "usage"))

import frondtest  # noqa: E402
from frondtest import TestFailure, binary  # noqa: E402
from usagefix import EXPORTER  # noqa: E402

BAD_DIR = os.path.join(HERE, "usage", "bad")


def run(args, env=None):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([binary(*EXPORTER)] + args, capture_output=True, timeout=30, env=full)


def test_broken_files(h):
    files = sorted(glob.glob(os.path.join(BAD_DIR, "*.yml")))
    if len(files) < 10:
        raise TestFailure("expected at least 10 broken configs, found %d" % len(files))
    failures = []
    for path in files:
        with open(path) as f:
            first = f.readline()
        if not first.startswith("# want: "):
            raise TestFailure("%s: first line must be '# want: LINE: TEXT'" % path)
        line, _, text = first[len("# want: "):].strip().partition(": ")
        want = "%s:%s:" % (path, line)
        p = run(["--check-config", "--config.file=%s" % path])
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 2 or want not in err or text not in err:
            failures.append("%s: exit %d, stderr %r; want exit 2 with %r and %r" % (
                os.path.basename(path), p.returncode, err.strip(), want, text))
        if "hunter2" in err:
            failures.append("%s: password in the error message" % path)
    # A normal start refuses the same way (exit 2, error logged with file:line).
    path = os.path.join(BAD_DIR, "02_unknown_metric_key.yml")
    p = run(["--config.file=%s" % path, "--web.listen-address=127.0.0.1:0"])
    if p.returncode != 2 or (path + ":8:") not in p.stderr.decode():
        failures.append("start with a bad config: exit %d, %r" % (p.returncode, p.stderr))
    if failures:
        raise TestFailure("\n".join(failures))


def test_examples_pass(h):
    for path in sorted(glob.glob(os.path.join(frondtest.SOURCE_DIR, "exporters", "usage",
                                              "examples", "*.yml"))):
        p = run(["--check-config", "--config.file=%s" % path],
                env={"PALM_MONGODB_URI": "mongodb://exporter:secret@127.0.0.1:27017/"
                                         "?directConnection=true"})
        if p.returncode != 0:
            raise TestFailure("%s: exit %d: %s" % (path, p.returncode, p.stderr.decode()))


def test_bad_flags(h):
    p = run(["--no-such-flag"])
    if p.returncode != 2:
        raise TestFailure("unknown flag: exit %d" % p.returncode)
    p = run(["--config.file=/nonexistent/usage.yml", "--check-config"])
    if p.returncode != 2 or b"/nonexistent/usage.yml" not in p.stderr:
        raise TestFailure("missing file: exit %d %r" % (p.returncode, p.stderr))


if __name__ == "__main__":
    frondtest.run_tests("usage-config", [test_broken_files, test_examples_pass, test_bad_flags])
