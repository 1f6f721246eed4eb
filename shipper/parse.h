/*
 * Line parsers for frondtail: CRI (containerd, CRI-O), Docker json-file and
 * raw lines. The tailer hands over one physical line at a time (without
 * its newline); the parser answers with zero or one entry. CRI partial
 * lines (`P`) are joined with the next full line (`F`) of the same stream,
 * bounded by a line count (promtail's max_partial_lines) and a byte limit,
 * so a runaway writer cannot grow memory.
 *
 * No per-line allocation: an entry points either into the caller's line or
 * into a buffer owned by the state (the join buffer or the JSON unescape
 * buffer), valid until the next call. Malformed lines are returned as they
 * are, with the read time and `malformed` set, like promtail does.
 * A buffer that grew past PARSE_KEEP_CAP for a huge line shrinks back once
 * its entry is finished, so memory follows the lines in flight, not the
 * largest line ever seen.
 *
 * Ownership: struct parse_state owns its buffers; parse_state_cleanup()
 * frees them. Not thread-safe (one state per file, used by one reader).
 */
#ifndef FROND_SHIPPER_PARSE_H
#define FROND_SHIPPER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"

enum parse_format {
    PARSE_RAW = 0,
    PARSE_CRI,
    PARSE_DOCKER,
};

enum parse_stream {
    PARSE_STREAM_NONE = 0,
    PARSE_STREAM_STDOUT = 1,
    PARSE_STREAM_STDERR = 2,
};

/* Used when max_line_size is 0 (no limit): joined CRI lines stop growing here. */
#define PARSE_DEFAULT_JOIN_LIMIT (1024 * 1024)
/*
 * Join and unescape buffers above this size are shrunk back to it once
 * their entry is finished, so one huge line does not pin its memory.
 */
#define PARSE_KEEP_CAP (64 * 1024)

struct parse_limits {
    size_t max_line_size;   /* 0 = no limit (limits_config.max_line_size) */
    bool truncate;          /* limits_config.max_line_size_truncate */
    long max_partial_lines; /* cri stage, default 100 */
};

struct parse_entry {
    int64_t ts_ns;
    enum parse_stream stream;
    const char *line;
    size_t len;
    bool malformed; /* shipped raw with the read time */
    bool truncated; /* cut to max_line_size */
    bool drop;      /* over max_line_size without truncation: count, do not ship */
};

struct parse_join {
    char *buf;
    size_t len, cap;
    long nlines;
    int64_t ts_ns;
    uint64_t start_offset; /* file offset of the first partial line */
    bool active;
    bool emitted; /* handed out as an entry; reset on the next call */
    bool cut;     /* bytes were lost (clipped at the bound, or a cut physical line) */
};

struct parse_state {
    enum parse_format format;
    struct parse_limits lim;
    struct parse_join join[3]; /* by enum parse_stream */
    char *scratch;             /* JSON unescape output */
    size_t scratch_cap;
    uint64_t flushed_partials; /* joins emitted because of a bound, for metrics */
    /*
     * Set by the caller before parse_line() when the physical line was cut
     * short (longer than its read buffer): the entry is counted as
     * truncated (or dropped without max_line_size_truncate) whatever its
     * length. Cleared by a parse_line() that did not fail.
     */
    bool line_cut;
};

void parse_state_init(struct parse_state *st, enum parse_format format,
                      const struct parse_limits *lim);
void parse_state_cleanup(struct parse_state *st);
/* Forget pending partial lines (the file was truncated). */
void parse_state_reset(struct parse_state *st);

/*
 * Parse one physical line starting at file offset `offset`; `read_ts_ns` is
 * used for raw and malformed lines. Returns 1 with *out filled, 0 when the
 * line was absorbed (a partial), -ENOMEM. -ENOMEM leaves the state as it
 * was, so the caller can pause and pass the same line again later.
 */
FROND_MUST_CHECK int parse_line(struct parse_state *st, const char *line, size_t len,
                                uint64_t offset, int64_t read_ts_ns, struct parse_entry *out);

/*
 * The file ends here for good (a rotated file drained to EOF): hand out one
 * pending partial join as an entry (counted like a bound flush). Returns 1
 * with *out filled, 0 when nothing is pending. Call until it returns 0;
 * the entry's line is valid until the next parse call.
 */
int parse_flush(struct parse_state *st, struct parse_entry *out);

/*
 * The lowest file offset still held in a partial join, or UINT64_MAX when
 * none: positions must not pass it, or a restart would lose the start of
 * the line.
 */
uint64_t parse_pending_offset(const struct parse_state *st);

/* RFC 3339 (any fraction, Z or ±hh:mm) to Unix nanoseconds. 0 or -EINVAL. */
FROND_MUST_CHECK int parse_rfc3339(const char *s, size_t len, int64_t *ns);

/*
 * Unescape the JSON string body `in` (between the quotes) into `out`
 * (capacity >= len; unescaping never grows). Lone surrogates become
 * U+FFFD. Returns the output length, or -EINVAL on a bad escape.
 */
long parse_json_unescape(const char *in, size_t len, char *out);

#endif
