/*
 * Whole-file reads for frondtail's own files (config, positions). Room for
 * 64 KiB is reserved before every read(), so a file must fit in the bound
 * with 64 KiB to spare; the callers' bounds are far above what a real
 * config or positions file needs.
 */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "frond/buf.h"

int ship_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct frond_buf b;
    frond_buf_init(&b, max);
    int rc = 0;
    for (;;) {
        rc = frond_buf_reserve(&b, 65536);
        if (rc) {
            break;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0) {
            break;
        }
        b.len += (size_t)n;
    }
    close(fd);
    if (rc) {
        frond_buf_cleanup(&b);
        return rc;
    }
    *out = frond_buf_take(&b, len);
    return 0;
}
