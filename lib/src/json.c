/*
 * yajl status to return code and message (see frond/json.h). yajl's error
 * text is allocated by the handle and ends with a newline; both are dealt
 * with here once instead of in every parser.
 */
#include "frond/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int frond_json_status(yajl_handle h, yajl_status st, const void *data, size_t len, int cb_rc,
                      char *err, size_t errlen)
{
    if (st == yajl_status_ok) {
        return 0;
    }
    if (st == yajl_status_client_canceled && cb_rc) {
        return cb_rc;
    }
    unsigned char *e = yajl_get_error(h, 0, data, len);
    snprintf(err, errlen, "invalid JSON: %s", e ? (const char *)e : "parse error");
    if (e) {
        yajl_free_error(h, e);
    }
    /* yajl's message ends with a newline; a log line must not. */
    size_t n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' ')) {
        err[--n] = '\0';
    }
    return -EPROTO;
}
