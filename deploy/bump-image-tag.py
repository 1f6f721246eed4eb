#!/usr/bin/python3
"""Set the newTag of frond's images in a kustomization file, keeping the rest.

    deploy/bump-image-tag.py deploy/kubernetes/overlays/dev/kustomization.yaml 0.2.0-2026-12-01

Used by the gitops-bump job of .github/workflows/images.yml on a GitOps
config repository's overlay. Only the `newTag:` of image entries whose
`name:` is frond/<binary> changes; comments and order stay, so the commit
is a readable one-line-per-image diff. Exits 1 if the tag is not
<version>-<YYYY-MM-DD> or the file has no frond image.
"""
import re
import sys

FROND = re.compile(r"^\s*-\s*name:\s*frond/(frondtail|frond-[a-z]+-exporter)\s*$")
TAG = re.compile(r"^\d+\.\d+\.\d+-\d{4}-\d{2}-\d{2}$")


def bump(text, tag):
    out, in_frond, count = [], False, 0
    for line in text.splitlines(keepends=True):
        if re.match(r"^\s*-\s*name:", line):
            in_frond = bool(FROND.match(line))
        elif in_frond and re.match(r"^\s*newTag:", line):
            indent = line[:len(line) - len(line.lstrip())]
            line = "%snewTag: %s\n" % (indent, tag)
            count += 1
        out.append(line)
    return "".join(out), count


def main(argv):
    if len(argv) != 2 or not TAG.match(argv[1]):
        print("usage: bump-image-tag.py FILE <version>-<YYYY-MM-DD>", file=sys.stderr)
        return 1
    with open(argv[0], encoding="utf-8") as f:
        text, count = bump(f.read(), argv[1])
    if not count:
        print("%s: no frond image with a newTag" % argv[0], file=sys.stderr)
        return 1
    with open(argv[0], "w", encoding="utf-8") as f:
        f.write(text)
    print("%s: %d image tags set to %s" % (argv[0], count, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
