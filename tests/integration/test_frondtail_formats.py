#!/usr/bin/python3
"""frondtail end to end, formats: every line of a generated CRI log (partial
lines, unicode, invalid UTF-8, a NUL byte, 100 KiB lines split the way
kubelet splits them) and of a docker json-file log (escapes, surrogate
pairs) arrives at the Loki stand-in exactly once, in order per stream,
with the kubelet-path labels and the runtime's timestamps. Half of each
file exists before frondtail starts, half is appended while it runs.
"""


from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, docker_line, ids_of,
                               metrics, metric_sum, parse_labels, pod_log, start)
import frondtest

BASE_TS = 1764300000 * 1000000000  # 2025-11-28, well inside Loki's accepted window


def cri_messages(tag):
    """[(stream, [physical CRI chunks], expected line bytes, id)] for one file."""
    out = []
    n = 0

    def add(stream, body_chunks):
        nonlocal n
        ident = "%s:%d" % (tag, n)
        n += 1
        first = b"id=%s " % ident.encode()
        chunks = [first + body_chunks[0]] + body_chunks[1:]
        out.append((stream, chunks, b"".join(chunks), ident))

    for i in range(60):
        stream = "stderr" if i % 3 == 0 else "stdout"
        kind = i % 6
        if kind == 0:
            add(stream, [b"plain line %d" % i])
        elif kind == 1:
            add(stream, [("unicode h\u00e9llo \u4e16\u754c \U0001F680 %d" % i).encode()])
        elif kind == 2:
            add(stream, [b"invalid utf8 \xff\xfe\xc3\x28 and a nul \x00 byte %d" % i])
        elif kind == 3:
            add(stream, [b"partial one ", b"partial two ", b"partial end %d" % i])
        elif kind == 4:
            # 100 KiB, cut into kubelet's 16 KiB chunks.
            big = (b"0123456789abcdef" * 6400)[:100 * 1024]
            add(stream, [big[k:k + 16384] for k in range(0, len(big), 16384)])
        else:
            add(stream, [b"tabs\tand \"quotes\" and \\backslashes\\ %d" % i])
    return out


def write_cri(path, msgs, ts0, interleave=True):
    """Append messages; chunks of one message get successive timestamps, F last."""
    ts = ts0
    expect = []
    with open(path, "ab") as f:
        for stream, chunks, line, ident in msgs:
            for k, c in enumerate(chunks):
                ts += 1000
                tag = "F" if k == len(chunks) - 1 else "P"
                f.write(cri_line(ts, stream, tag, c))
            expect.append((stream, ts, line, ident))
    return expect, ts


def check_stream_order(loki, expect_by_stream, labels_want):
    """Every expected entry exactly once, in order, with its labels and timestamp."""
    got = {}
    for tenant, labels, ts, line in loki.entries():
        got.setdefault(labels, []).append((ts, line))
    seen_streams = {}
    for labels, ents in got.items():
        lab = parse_labels(labels)
        key = (lab.get("namespace"), lab.get("pod"), lab.get("container"), lab.get("stream"))
        if key in seen_streams:
            raise TestFailure("two label strings for one stream: %s and %s" % (
                seen_streams[key], labels))
        seen_streams[key] = labels
        for k, v in labels_want.items():
            if lab.get(k) != v:
                raise TestFailure("stream %s: label %s=%r, want %r" % (labels, k, lab.get(k), v))
        want = expect_by_stream.get(key)
        if want is None:
            raise TestFailure("unexpected stream %s (%d entries)" % (labels, len(ents)))
        if len(ents) != len(want):
            got_ids = ids_of([("", labels, t, l) for t, l in ents])
            raise TestFailure("stream %s: %d entries, want %d; ids %s" % (
                labels, len(ents), len(want), got_ids[:20]))
        for (ts, line), (wts, wline, ident) in zip(ents, want):
            if line != wline:
                raise TestFailure("stream %s entry %s: line differs (%d bytes vs %d): %r..." % (
                    labels, ident, len(line), len(wline), line[:80]))
            if ts != wts:
                raise TestFailure("stream %s entry %s: ts %d, want %d" % (labels, ident, ts, wts))
    missing = set(expect_by_stream) - set(seen_streams)
    if missing:
        raise TestFailure("streams never arrived: %s" % sorted(missing))


def test_cri_exactly_once(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    files = [("ns1", "pod-a", "app"), ("ns1", "pod-a", "sidecar"), ("kube-system", "dns-x", "dns")]
    expect = {}
    total = 0
    halves = []
    for i, (ns, pod, ctr) in enumerate(files):
        msgs = cri_messages("f%d" % i)
        path = pod_log(root, ns, pod, ctr)
        halves.append((path, msgs[len(msgs) // 2:], ns, pod, ctr))
        ex, _ = write_cri(path, msgs[:len(msgs) // 2], BASE_TS + i * 10**12)
        for stream, ts, line, ident in ex:
            expect.setdefault((ns, pod, ctr, stream), []).append((ts, line, ident))
        total += len(msgs)
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    p = start(h, cfg)
    # The second halves are appended while frondtail tails the files.
    for i, (path, msgs, ns, pod, ctr) in enumerate(halves):
        ex, _ = write_cri(path, msgs, BASE_TS + i * 10**12 + 10**11)
        for stream, ts, line, ident in ex:
            expect.setdefault((ns, pod, ctr, stream), []).append((ts, line, ident))
    if loki.wait_count(total, 90) < total:
        raise TestFailure("only %d of %d entries arrived" % (loki.count(), total))
    # Anything extra would show up as a duplicate: give a straggler batch a moment to land.
    frondtest.wait_until(lambda: metric_sum(metrics(cfg), "frondtail_backlog_bytes") == 0, 30,
                         what="backlog drained")
    check_stream_order(loki, expect, {"job": "pods"})
    for r in loki.requests:
        if r["content_type"] != "application/x-protobuf":
            raise TestFailure("Content-Type %r" % r["content_type"])
        if not (r["user_agent"] or "").startswith("frondtail/"):
            raise TestFailure("User-Agent %r" % r["user_agent"])
    m = metrics(cfg)
    sent = metric_sum(m, "frondtail_sent_entries_total")
    if sent != total:
        raise TestFailure("frondtail_sent_entries_total = %s, want %d" % (sent, total))
    if loki.errors:
        raise TestFailure("stand-in saw protocol errors: %s" % loki.errors[:3])
    p.stop()


def test_docker_exactly_once(h):
    loki = LokiStandin(h.path("loki")).start()
    h.on_cleanup(loki.stop)
    root = h.path("pods")
    path = pod_log(root, "ns2", "web-1", "nginx")
    msgs = []
    for i in range(120):
        stream = "stderr" if i % 4 == 0 else "stdout"
        text = [
            "plain %d",
            "json escapes \"q\" \\ / \b \f \t and \u00e9\u4e16 %d",
            "surrogate pair \U0001F680\U0001F4A9 %d",
            "control \u0001\u001f %d",
        ][i % 4] % i
        msgs.append((stream, "id=d:%d %s" % (i, text)))
    ts = BASE_TS
    expect = {}

    def write(part):
        nonlocal ts
        with open(path, "ab") as f:
            for stream, text in part:
                ts += 1000
                f.write(docker_line(ts, stream, text))
                expect.setdefault(("ns2", "web-1", "nginx", stream), []).append(
                    (ts, text.encode("utf-8"), text.split()[0]))
    write(msgs[:60])
    cfg = Config(h, loki.url, root + "/*/*/*.log", fmt="docker")
    p = start(h, cfg)
    write(msgs[60:])
    if loki.wait_count(len(msgs), 90) < len(msgs):
        raise TestFailure("only %d of %d entries arrived" % (loki.count(), len(msgs)))
    frondtest.wait_until(lambda: metric_sum(metrics(cfg), "frondtail_backlog_bytes") == 0, 30,
                         what="backlog drained")
    # Docker's "log" keeps the line's newline; promtail ships it as is. Accept
    # either that or the line without it, but nothing else.
    stripped = []
    for tenant, labels, t, line in loki.entries():
        stripped.append((tenant, labels, t, line[:-1] if line.endswith(b"\n") else line))
    loki._entries = stripped
    check_stream_order(loki, expect, {"job": "pods"})
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("frondtail_formats", [test_cri_exactly_once, test_docker_exactly_once])
