/*
 * Environment expansion (see frond/env.h) as promtail's
 * -config.expand-env does it, applied to a whole config file's text before
 * it is parsed, so a reference may stand anywhere in the file.
 */
#include "frond/env.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Append the value of in[0..len) as an environment variable name. */
static const char *lookup_env(const char *name, size_t len)
{
    char tmp[256];

    if (len >= sizeof(tmp)) {
        return NULL;
    }
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    return getenv(tmp);
}

int frond_expand_env(const char *in, size_t len, struct frond_buf *out)
{
    size_t i = 0, lit = 0;
    int rc = 0;

    while (i < len) {
        size_t start = i;
        const char *val = NULL;

        if (in[i] != '$' || i + 1 >= len) {
            i++;
            continue;
        }
        /* Flush the literal run before this '$'. */
        rc = frond_buf_append(out, in + lit, start - lit);
        if (rc) {
            return rc;
        }
        if (in[i + 1] == '$') {
            rc = frond_buf_putc(out, '$');
            i += 2;
        } else if (in[i + 1] == '{') {
            size_t j = i + 2, nstart = j, nlen;
            const char *def = NULL;
            size_t deflen = 0, close;
            bool def_on_empty = false;

            while (j < len && name_char(in[j])) {
                j++;
            }
            nlen = j - nstart;
            close = j;
            while (close < len && in[close] != '}') {
                close++;
            }
            if (nlen == 0 || !name_start(in[nstart]) || close >= len) {
                /* Not a reference we understand: keep the text as written. */
                rc = frond_buf_putc(out, '$');
                i += 1;
            } else if (j == close) {
                val = lookup_env(in + nstart, nlen);
                rc = val ? frond_buf_puts(out, val) : 0;
                i = close + 1;
            } else if (in[j] == ':' && j + 1 < close && in[j + 1] == '-') {
                def_on_empty = true;
                def = in + j + 2;
                deflen = close - (j + 2);
            } else if (in[j] == '-') {
                def = in + j + 1;
                deflen = close - (j + 1);
            } else {
                rc = frond_buf_putc(out, '$');
                i += 1;
            }
            if (def) {
                val = lookup_env(in + nstart, nlen);
                if (val && (*val || !def_on_empty)) {
                    rc = frond_buf_puts(out, val);
                } else {
                    rc = frond_buf_append(out, def, deflen);
                }
                i = close + 1;
            }
        } else if (name_start(in[i + 1])) {
            size_t j = i + 1;
            while (j < len && name_char(in[j])) {
                j++;
            }
            val = lookup_env(in + i + 1, j - i - 1);
            rc = val ? frond_buf_puts(out, val) : 0;
            i = j;
        } else {
            rc = frond_buf_putc(out, '$');
            i += 1;
        }
        if (rc) {
            return rc;
        }
        lit = i;
    }
    rc = frond_buf_append(out, in + lit, len - lit);
    if (rc) {
        return rc;
    }
    /* Callers read the result as a C string; make it one even when empty. */
    rc = frond_buf_reserve(out, 1);
    if (rc) {
        return rc;
    }
    out->data[out->len] = '\0';
    return 0;
}
