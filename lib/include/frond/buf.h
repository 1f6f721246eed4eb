/*
 * A growable byte buffer with a hard cap, after curl's dynbuf. Every
 * producer of text in frond (exposition, JSON bodies, log lines) writes into
 * one, so no output can grow without bound.
 *
 * Ownership: the buffer owns `data`. After a failed append the buffer keeps
 * what it held before the call (nothing partial is added). `data` is always
 * NUL-terminated when len > 0 or after frond_buf_cstr(). Not thread-safe.
 */
#ifndef FROND_BUF_H
#define FROND_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"

struct frond_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len, excluding the terminating NUL */
};

/* Start empty with a hard limit of `max` bytes; allocates nothing yet. */
void frond_buf_init(struct frond_buf *b, size_t max);
/* Free the storage; the buffer may be reused after frond_buf_init(). */
void frond_buf_cleanup(struct frond_buf *b);
/* Forget the content but keep the storage for reuse. */
void frond_buf_reset(struct frond_buf *b);

/* Append n bytes. -ENOSPC past `max`, -ENOMEM when allocation fails. */
FROND_MUST_CHECK int frond_buf_append(struct frond_buf *b, const void *p, size_t n);
FROND_MUST_CHECK int frond_buf_puts(struct frond_buf *b, const char *s);
FROND_MUST_CHECK int frond_buf_putc(struct frond_buf *b, char c);
FROND_MUST_CHECK int frond_buf_printf(struct frond_buf *b, const char *fmt, ...) FROND_PRINTF(2, 3);
FROND_MUST_CHECK int frond_buf_vprintf(struct frond_buf *b, const char *fmt, va_list ap)
    FROND_PRINTF(2, 0);
/* Make room for n more bytes without changing len (for writers that fill in place). */
FROND_MUST_CHECK int frond_buf_reserve(struct frond_buf *b, size_t n);

/*
 * Append the whole content of the file at `path`, so that every reader of
 * a config, certificate or secret file obeys a limit. 0; -errno from
 * open() or read() (a directory reads as -EISDIR); -ENOSPC past `max`;
 * -ENOMEM. With `regular_only`, anything but a regular file is -EINVAL and
 * is not read: a path of /dev/stdin or a FIFO would block startup forever.
 * After a failure the buffer holds what was read up to it.
 */
FROND_MUST_CHECK int frond_buf_append_file(struct frond_buf *b, const char *path,
                                           bool regular_only);

/* A NUL-terminated view of the content ("" when empty); valid until the next change. */
const char *frond_buf_cstr(struct frond_buf *b);
/* Give back unused capacity (a buffer that is done growing and kept for long). */
void frond_buf_shrink(struct frond_buf *b);
/* Move the storage out to the caller (who frees it); the buffer is left empty. */
char *frond_buf_take(struct frond_buf *b, size_t *len);

#endif
