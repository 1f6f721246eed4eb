/*
 * The body of the libFuzzer targets for shipper/parse.c's line formats
 * (fuzz_cri.c, fuzz_docker.c): the input is a log file, split into lines
 * the way the tailer does; the first byte picks the limits (max_line_size,
 * truncation, max_partial_lines), so small bounds, the join path and the
 * JSON unescaper are exercised. Invariants checked: an entry never exceeds
 * max_line_size when truncating, an entry with bytes has a line, a pending
 * partial's offset never lies beyond the bytes read, and nothing leaks.
 * Included by exactly one target per binary, hence the static function.
 */
#ifndef FUZZ_PARSE_LINES_H
#define FUZZ_PARSE_LINES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int fuzz_parse_lines(enum parse_format format, const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    uint8_t mode = data[0];
    data++;
    size--;
    struct parse_limits lim = {
        .max_line_size = (mode & 3) == 0 ? 0 : (size_t)(mode & 3) * 16,
        .truncate = (mode & 4) != 0,
        .max_partial_lines = (mode >> 3) % 5,
    };
    struct parse_state st;
    parse_state_init(&st, format, &lim);
    const char *p = (const char *)data, *end = p + size;
    uint64_t off = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct parse_entry e;
        int rc = parse_line(&st, p, len, off, 1, &e);
        if (rc == 1 && lim.max_line_size && lim.truncate && e.len > lim.max_line_size) {
            abort();
        }
        if (rc == 1 && e.len && !e.line) {
            abort();
        }
        off += len + 1;
        uint64_t pend = parse_pending_offset(&st);
        if (pend != UINT64_MAX && pend >= off) {
            abort();
        }
        p += len + (nl ? 1 : 0);
    }
    parse_state_cleanup(&st);
    return 0;
}

#endif
