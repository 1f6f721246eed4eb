/*
 * Fixture loading shared by the RabbitMQ exporter's unit tests: recorded
 * management API replies under RMQ_TEST_DATA, read whole with the same
 * capped reader the library uses. Included by one test per binary, hence
 * the static function.
 */
#ifndef RMQ_TESTDATA_H
#define RMQ_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/buf.h"

/*
 * The fixture `name` as a NUL-terminated heap string (the caller frees it)
 * and its length in *len; NULL, with a line on stderr, when it cannot be
 * read.
 */
static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    struct frond_buf b;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", RMQ_TEST_DATA, name);
    frond_buf_init(&b, 64u << 20);
    int rc = frond_buf_append_file(&b, path, false);
    if (!rc) {
        rc = frond_buf_putc(&b, '\0');
    }
    if (rc) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(-rc));
        frond_buf_cleanup(&b);
        return NULL;
    }
    char *data = frond_buf_take(&b, &n);
    *len = n - 1;
    return data;
}

#endif
