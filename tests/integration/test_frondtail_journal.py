"""frondtail's journal target against journal files written by systemd-journal-remote.

No journald runs here, so each test writes export-format entries and turns
them into `.journal` files with /lib/systemd/systemd-journal-remote (the
journal's own writer), in a directory frondtail reads with `journal.path`.
What must hold (issue 7, DESIGN.md "nothing lost"):

- every entry that passes `matches` and `relabel_configs` arrives once, with
  the entry's realtime timestamp, its message (multi-line and binary-safe),
  and labels taken from journal fields;
- `kill -9` at random moments while entries keep arriving loses nothing:
  the cursor is committed only after Loki acknowledged the entries;
- a saved cursor that no longer exists (journal vacuumed) resumes at
  `max_age`, with a log line saying so.
"""

import os
import random
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frondtail_testlib as tl  # noqa: E402
from frondtail_testlib import TestFailure, frondtest, wait_until  # noqa: E402

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"


def export_entry(fields, seq, usec):
    """One export-format entry; values with a newline use the binary form."""
    out = b"__CURSOR=s=%s;i=%x\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (
        BOOT.encode(), seq, usec, seq + 1, BOOT.encode())
    for k, v in fields:
        if isinstance(v, str):
            v = v.encode()
        if b"\n" in v or any(c < 0x20 and c not in (9,) for c in v):
            out += k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            out += k.encode() + b"=" + v + b"\n"
    return out + b"\n"


def write_journal(dirpath, name, entries):
    """entries: list of (seq, usec, [(field, value)]). Writes DIR/name.journal."""
    data = b"".join(export_entry(f, seq, usec) for seq, usec, f in entries)
    out = os.path.join(dirpath, name + ".journal")
    p = subprocess.run([JOURNAL_REMOTE, "-o", out, "-"], input=data, capture_output=True)
    if p.returncode != 0:
        raise TestFailure("systemd-journal-remote failed: %s" % p.stderr.decode())
    return out


class JournalConfig(tl.Config):
    """A frondtail config with one journal scrape config instead of files."""

    def __init__(self, h, loki_url, jdir, matches=None, json_mode=False, max_age="1h"):
        super().__init__(h, loki_url, glob=h.path("unused", "*.log"))
        self.jdir = jdir
        self.matches = matches
        self.json_mode = json_mode
        self.max_age = max_age

    def write(self):
        super().write()
        with open(self.path) as f:
            text = f.read()
        head = text[:text.index("scrape_configs:")]
        lines = ["scrape_configs:", "  - job_name: sys", "    journal:",
                 "      path: %s" % self.jdir, "      max_age: %s" % self.max_age,
                 "      json: %s" % ("true" if self.json_mode else "false"),
                 "      labels: {job: systemd-journal}"]
        if self.matches:
            lines.append("      matches: %s" % self.matches)
        lines += ["    relabel_configs:",
                  "      - source_labels: [__journal__systemd_unit]",
                  "        target_label: unit",
                  "      - source_labels: [__journal_priority_keyword]",
                  "        target_label: level",
                  "      - source_labels: [__journal__systemd_unit]",
                  "        regex: noisy\\.service",
                  "        action: drop"]
        with open(self.path, "w") as f:
            f.write(head + "\n".join(lines) + "\n" + self.extra)
        return self.path


def now_usec():
    return int(time.time() * 1e6)


def test_fields_labels_and_messages(h):
    jdir = h.path("journal")
    os.makedirs(jdir)
    base = now_usec() - 30 * 1000000
    entries = [
        (1, base + 1, [("MESSAGE", "Accepted publickey for root"), ("PRIORITY", "6"),
                       ("_SYSTEMD_UNIT", "ssh.service")]),
        (2, base + 2, [("MESSAGE", "line one\nline two\nline three"), ("PRIORITY", "3"),
                       ("_SYSTEMD_UNIT", "kubelet.service")]),
        (3, base + 3, [("MESSAGE", "dropped by relabel"), ("PRIORITY", "6"),
                       ("_SYSTEMD_UNIT", "noisy.service")]),
        (4, base + 4, [("MESSAGE", b"bin\x01ary \xff\xfe bytes"), ("PRIORITY", "4"),
                       ("_SYSTEMD_UNIT", "containerd.service"), ("BLOB", b"\x00\x01\x02")]),
        (5, base + 5, [("PRIORITY", "6"), ("_SYSTEMD_UNIT", "ssh.service"),
                       ("CODE_LINE", "no MESSAGE field, skipped like promtail")]),
    ]
    entries.append((6, base + 6, [("MESSAGE", "x" * 5000), ("PRIORITY", "6"),
                                  ("_SYSTEMD_UNIT", "ssh.service")]))
    write_journal(jdir, "system", entries)
    loki = tl.LokiStandin(h.tmp).start()
    h.on_cleanup(loki.stop)
    cfg = JournalConfig(h, loki.url, jdir)
    cfg.extra = "limits_config:\n  max_line_size: 4096\n  max_line_size_truncate: true\n"
    p = tl.start(h, cfg)
    loki.wait_count(4, timeout=30)
    got = sorted(loki.entries(), key=lambda e: e[2])
    want = [
        (base + 1, b"Accepted publickey for root", "ssh.service", "info"),
        (base + 2, b"line one\nline two\nline three", "kubelet.service", "err"),
        (base + 4, b"bin\x01ary \xff\xfe bytes", "containerd.service", "warning"),
        (base + 6, b"x" * 4096, "ssh.service", "info"),
    ]
    if len(got) != len(want):
        raise TestFailure("want %d entries, got %d: %r" % (len(want), len(got), got))
    for (tenant, labels, ts, line), (usec, msg, unit, level) in zip(got, want):
        lbl = tl.parse_labels(labels)
        if ts != usec * 1000 or line != msg:
            raise TestFailure("entry %r %r, want ts %d line %r" % (ts, line, usec * 1000, msg))
        if lbl != {"job": "systemd-journal", "unit": unit, "level": level}:
            raise TestFailure("labels %r for %s" % (lbl, unit))
    m = tl.metrics(cfg)
    for reason, want_n in (("no_message", 1), ("truncated", 1), ("too_long", 0)):
        n = tl.metric_sum(m, "frondtail_journal_entries_skipped_total", job="sys", reason=reason)
        if n != want_n:
            raise TestFailure("skipped{reason=%s} = %s, want %s" % (reason, n, want_n))
    p.stop(expect_code=0)


def test_matches_and_json(h):
    jdir = h.path("journal")
    os.makedirs(jdir)
    base = now_usec() - 10 * 1000000
    write_journal(jdir, "system", [
        (1, base + 1, [("MESSAGE", "kernel: oom"), ("_TRANSPORT", "kernel"), ("PRIORITY", "2")]),
        (2, base + 2, [("MESSAGE", "user stuff"), ("_TRANSPORT", "stdout"), ("PRIORITY", "6")]),
    ])
    loki = tl.LokiStandin(h.tmp).start()
    h.on_cleanup(loki.stop)
    cfg = JournalConfig(h, loki.url, jdir, matches="_TRANSPORT=kernel", json_mode=True)
    p = tl.start(h, cfg)
    loki.wait_count(1, timeout=30)
    wait_until(lambda: tl.metric_sum(tl.metrics(cfg), "frondtail_journal_entries_total") >= 1, 10,
               what="journal entry counted")
    got = loki.entries()
    if len(got) != 1:
        raise TestFailure("matches let through %d entries: %r" % (len(got), got))
    import json
    doc = json.loads(got[0][3])
    if doc.get("MESSAGE") != "kernel: oom" or doc.get("_TRANSPORT") != "kernel":
        raise TestFailure("json line %r" % got[0][3])
    p.stop(expect_code=0)


def test_kill9_no_loss(h):
    """Entries keep arriving in new journal files; frondtail is killed -9 at random moments."""
    jdir = h.path("journal")
    os.makedirs(jdir)
    loki = tl.LokiStandin(h.tmp).start()
    h.on_cleanup(loki.stop)
    cfg = JournalConfig(h, loki.url, jdir)
    cfg.positions_sync = "200ms"
    rng = random.Random(7)
    seq = 0
    want = []
    p = tl.start(h, cfg)
    for round_ in range(8):
        batch = []
        for _ in range(rng.randint(20, 80)):
            seq += 1
            batch.append((seq, now_usec(), [("MESSAGE", "id=j:%d" % seq), ("PRIORITY", "6"),
                                            ("_SYSTEMD_UNIT", "app.service")]))
            want.append("j:%d" % seq)
        write_journal(jdir, "part%02d" % round_, batch)
        time.sleep(rng.uniform(0.05, 0.6))  # a random moment to kill at, not a wait
        os.kill(p.pid, signal.SIGKILL)
        p.wait_exit(10)
        p = tl.start(h, cfg, name="frondtail%d" % round_)
    tl.wait_delivered(loki, want, timeout=60)
    p.stop(expect_code=0)


def test_vacuumed_cursor_resumes_at_max_age(h):
    jdir = h.path("journal")
    os.makedirs(jdir)
    loki = tl.LokiStandin(h.tmp).start()
    h.on_cleanup(loki.stop)
    cfg = JournalConfig(h, loki.url, jdir, max_age="10m")
    now = now_usec()
    old = write_journal(jdir, "old", [(1, now - 60 * 1000000, [("MESSAGE", "first life")])])
    p = tl.start(h, cfg)
    loki.wait_count(1, timeout=30)
    p.stop(expect_code=0)
    with open(cfg.positions) as f:
        if "journal-sys" not in f.read():
            raise TestFailure("no journal cursor saved in the positions file")
    # Vacuum: the file holding the saved cursor disappears; a new one has an
    # entry older than max_age (must not ship) and a recent one (must ship).
    os.unlink(old)
    write_journal(jdir, "new", [
        (100, now - 3600 * 1000000, [("MESSAGE", "too old for max_age")]),
        (101, now - 5 * 1000000, [("MESSAGE", "after the vacuum")]),
    ])
    p = tl.start(h, cfg, name="frondtail2")
    loki.wait_count(2, timeout=30)
    wait_until(lambda: "resuming at max_age" in p.log(), 10, what="vacuumed-cursor log line")
    lines = [e[3] for e in loki.entries()]
    if lines != [b"first life", b"after the vacuum"]:
        raise TestFailure("after the vacuum got %r" % lines)
    p.stop(expect_code=0)


if __name__ == "__main__":
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        print("%s is required (package systemd-journal-remote)" % JOURNAL_REMOTE)
        sys.exit(1)
    frondtest.run_tests("frondtail_journal", [test_fields_labels_and_messages,
                                              test_matches_and_json, test_kill9_no_loss,
                                              test_vacuumed_cursor_resumes_at_max_age])
