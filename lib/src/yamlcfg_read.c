/*
 * Reading YAML configuration (see frond/yamlcfg.h): files loaded into
 * documents (with optional ${VAR} expansion; the file and its expansion
 * are bounded to the same 16 MiB as parsed text), and the typed readers every config loader uses,
 * which turn a node into a string, bool, number, duration or size, or into a "file:line: what:
 * expected X, got Y" message. Scalars are parsed with the same functions as command-line flags
 * (frond/flags.h), so a value means the same on the command line and in a file.
 */
#include "frond/yamlcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/env.h"
#include "frond/flags.h"
#include "yamlcfg_int.h"

int frond_yaml_load_file(const char *path, bool expand_env, struct frond_yaml_doc *doc, char *err,
                         size_t errlen)
{
    struct frond_buf text, expanded;
    int rc;

    memset(doc, 0, sizeof(*doc));
    frond_buf_init(&text, YAML_MAX_TEXT);
    frond_buf_init(&expanded, YAML_MAX_TEXT);
    rc = frond_buf_append_file(&text, path, false);
    if (rc) {
        if (rc == -ENOSPC) {
            rc = -EFBIG;
            snprintf(err, errlen, "%s: file too large (more than %u MiB)", path,
                     YAML_MAX_TEXT >> 20);
        } else {
            snprintf(err, errlen, "%s: %s", path, rc == -ENOMEM ? "out of memory" : strerror(-rc));
        }
        goto out;
    }
    if (expand_env) {
        rc = frond_expand_env(text.data ? text.data : "", text.len, &expanded);
        if (rc) {
            snprintf(err, errlen, "%s: %s", path,
                     rc == -ENOSPC ? "too large after expanding environment variables"
                                   : "out of memory");
            goto out;
        }
        rc = frond_yaml_parse(path, expanded.data ? expanded.data : "", expanded.len, doc, err,
                              errlen);
    } else {
        rc = frond_yaml_parse(path, frond_buf_cstr(&text), text.len, doc, err, errlen);
    }
out:
    frond_buf_cleanup(&text);
    frond_buf_cleanup(&expanded);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Readers                                                                */

int frond_yaml_error(const struct frond_yaml_doc *doc, const struct frond_yaml_node *at, char *err,
                     size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    frond_yaml_vfmt_error(err, errlen, doc ? doc->name : NULL, at ? at->line : 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

bool frond_yaml_is_null(const struct frond_yaml_node *n)
{
    if (!n) {
        return true;
    }
    if (n->kind != FROND_YAML_SCALAR || !n->plain) {
        return false;
    }
    return n->value_len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

const struct frond_yaml_node *frond_yaml_get(const struct frond_yaml_node *map, const char *key)
{
    size_t len;

    if (!map || map->kind != FROND_YAML_MAP || !key) {
        return NULL;
    }
    len = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        if (frond_yaml_key_is(map->keys[i], key, len)) {
            return map->items[i];
        }
    }
    return NULL;
}

int frond_yaml_check_keys(const struct frond_yaml_doc *doc, const struct frond_yaml_node *map,
                          const char *const *known, const char *where, char *err, size_t errlen)
{
    if (frond_yaml_is_null(map)) {
        return 0;
    }
    if (map->kind != FROND_YAML_MAP) {
        return frond_yaml_error(doc, map, err, errlen, "%s: expected a mapping, got %s", where,
                                frond_yaml_kind_name(map->kind));
    }
    for (size_t i = 0; i < map->n; i++) {
        const struct frond_yaml_node *k = map->keys[i];
        bool ok = false;

        for (size_t j = 0; known && known[j]; j++) {
            if (frond_yaml_key_is(k, known[j], strlen(known[j]))) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            char q[160];
            frond_yaml_quote(k->value, k->value_len, q, sizeof(q));
            return frond_yaml_error(doc, k, err, errlen, "unknown key %s in %s", q, where);
        }
    }
    return 0;
}

/*
 * Common front of the typed readers: a NULL or null node leaves *out as the
 * caller initialised it (the default), anything but a scalar is an error,
 * and so is a scalar with an embedded NUL, which C strings would silently
 * cut short.
 */
static int scalar_of(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     const char *what, const char *expect, char *err, size_t errlen, bool *skip)
{
    *skip = false;
    if (frond_yaml_is_null(n)) {
        *skip = true;
        return 0;
    }
    if (n->kind != FROND_YAML_SCALAR) {
        return frond_yaml_error(doc, n, err, errlen, "%s: expected %s, got %s", what, expect,
                                frond_yaml_kind_name(n->kind));
    }
    if (strlen(n->value) != n->value_len) {
        return frond_yaml_error(doc, n, err, errlen, "%s: expected %s, got a NUL byte", what,
                                expect);
    }
    return 0;
}

static int bad_value(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     const char *what, const char *expect, char *err, size_t errlen)
{
    char q[160];

    frond_yaml_quote(n->value, n->value_len, q, sizeof(q));
    return frond_yaml_error(doc, n, err, errlen, "%s: expected %s, got %s", what, expect, q);
}

int frond_yaml_string(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                      const char *what, char **out, char *err, size_t errlen)
{
    static const char expect[] = "a string";
    bool skip;
    char *copy;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc) {
        return rc;
    }
    /*
     * Null reads as "", as Go's yaml.v2 decodes it into a string, so that
     * callers always get a string to look at and never a NULL to trip on.
     */
    copy = skip ? strdup("") : strndup(n->value, n->value_len);
    if (!copy) {
        return -ENOMEM;
    }
    *out = copy;
    return 0;
}

int frond_yaml_bool(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                    const char *what, bool *out, char *err, size_t errlen)
{
    static const char expect[] = "a boolean (true or false)";
    bool skip, v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_bool(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_long(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                    const char *what, long *out, char *err, size_t errlen)
{
    static const char expect[] = "an integer";
    bool skip;
    long v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_long(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_double(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                      const char *what, double *out, char *err, size_t errlen)
{
    static const char expect[] = "a number";
    bool skip;
    double v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_double(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_duration(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                        const char *what, double *out, char *err, size_t errlen)
{
    static const char expect[] = "a duration like \"1s\"";
    bool skip;
    double v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_duration(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_bytes(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     const char *what, long *out, char *err, size_t errlen)
{
    static const char expect[] = "a size like \"1MiB\"";
    bool skip;
    long v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_bytes(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}
