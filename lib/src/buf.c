/*
 * Capped growable buffer (see frond/buf.h). Growth doubles up to the cap so
 * that appending n bytes costs amortised O(n); the cap turns a runaway
 * producer into -ENOSPC instead of an OOM kill.
 */
#include "frond/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void frond_buf_init(struct frond_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void frond_buf_cleanup(struct frond_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void frond_buf_reset(struct frond_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

int frond_buf_reserve(struct frond_buf *b, size_t n)
{
    /* One byte more than asked, always, for the terminating NUL. */
    if (n > b->max - b->len) {
        return -ENOSPC;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        return -ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int frond_buf_append(struct frond_buf *b, const void *p, size_t n)
{
    int rc = frond_buf_reserve(b, n);
    if (rc) {
        return rc;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int frond_buf_puts(struct frond_buf *b, const char *s)
{
    return frond_buf_append(b, s, strlen(s));
}

int frond_buf_putc(struct frond_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return frond_buf_append(b, &c, 1);
}

int frond_buf_vprintf(struct frond_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return -EINVAL;
    }
    if ((size_t)n < sizeof(small)) {
        return frond_buf_append(b, small, (size_t)n);
    }
    int rc = frond_buf_reserve(b, (size_t)n);
    if (rc) {
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int frond_buf_printf(struct frond_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = frond_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int frond_buf_append_file(struct frond_buf *b, const char *path, bool regular_only)
{
    int fd = -1, rc = 0;
    char chunk[8192];

    /* O_NONBLOCK: opening a FIFO to check that it is one must not wait for a writer. */
    fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (regular_only) {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = -EINVAL;
            goto out;
        }
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0) {
            break;
        }
        rc = frond_buf_append(b, chunk, (size_t)n);
        if (rc) {
            goto out;
        }
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

const char *frond_buf_cstr(struct frond_buf *b)
{
    return b->data ? b->data : "";
}

void frond_buf_shrink(struct frond_buf *b)
{
    if (b->data && b->len + 1 < b->cap) {
        char *p = realloc(b->data, b->len + 1);
        if (p) {
            b->data = p;
            b->cap = b->len + 1;
        }
    }
}

char *frond_buf_take(struct frond_buf *b, size_t *len)
{
    char *p = b->data;
    if (len) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
