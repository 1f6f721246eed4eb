/*
 * The MongoDB queries of the usage exporter's config (see query.h): a
 * `count` filter or an `aggregate` pipeline written as YAML (turned into
 * extended JSON here, so that YAML's types and libbson's JSON parser agree
 * on every value) or as an extended JSON string, and the {"$frondNowMinus":
 * "<duration>"} placeholder, checked at load and replaced by a date at
 * every run.
 */
#include "query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/buf.h"
#include "frond/flags.h"

/* Nesting deeper than this in a filter or pipeline is refused (libbson has its own limit too). */
#define JSON_MAX_DEPTH 64
/* Bound on the JSON text of one filter or pipeline. */
#define JSON_MAX_BYTES (4u << 20)

/* ---- YAML to JSON ---- */

static int json_string(struct frond_buf *out, const char *s, size_t n)
{
    int rc = frond_buf_putc(out, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = frond_buf_append(out, esc, 2);
        } else if (c < 0x20) {
            rc = frond_buf_printf(out, "\\u%04x", c);
        } else {
            rc = frond_buf_putc(out, (char)c);
        }
    }
    if (rc == 0) {
        rc = frond_buf_putc(out, '"');
    }
    return rc;
}

/*
 * A plain (unquoted) YAML scalar keeps the type YAML 1.2's core schema
 * gives it: null, booleans, integers and floats become JSON literals, the
 * rest strings. Quoted scalars are always strings, so `"42"` stays a string
 * as the operator wrote it.
 */
static int json_scalar(struct frond_buf *out, const struct frond_yaml_node *n)
{
    const char *v = n->value ? n->value : "";
    if (!n->plain) {
        return json_string(out, v, n->value_len);
    }
    if (frond_yaml_is_null(n)) {
        return frond_buf_puts(out, "null");
    }
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
        return frond_buf_puts(out, "true");
    }
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
        return frond_buf_puts(out, "false");
    }
    bool numeric = n->value_len > 0 && strlen(v) == n->value_len;
    bool has_digit = false;
    for (const char *p = v; numeric && *p; p++) {
        if (*p >= '0' && *p <= '9') {
            has_digit = true;
        } else if (!strchr("+-.eE", *p)) {
            numeric = false;
        }
    }
    if (numeric && has_digit) {
        char *end;
        errno = 0;
        long long ll = strtoll(v, &end, 10);
        if (*end == '\0' && errno == 0) {
            return frond_buf_printf(out, "%lld", ll);
        }
        errno = 0;
        double d = strtod(v, &end);
        if (*end == '\0' && isfinite(d)) {
            char tmp[40];
            snprintf(tmp, sizeof(tmp), "%.17g", d);
            /* Keep a float a float, so 1.0 does not turn into an int32. */
            if (!strpbrk(tmp, ".eE")) {
                return frond_buf_printf(out, "%s.0", tmp);
            }
            return frond_buf_puts(out, tmp);
        }
    }
    return json_string(out, v, n->value_len);
}

static int yaml_to_json(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                        struct frond_buf *out, int depth, char *err, size_t errlen)
{
    int rc = 0;
    if (depth > JSON_MAX_DEPTH) {
        return frond_yaml_error(doc, n, err, errlen, "query nested deeper than %d levels",
                                JSON_MAX_DEPTH);
    }
    switch (n->kind) {
    case FROND_YAML_SCALAR:
        rc = json_scalar(out, n);
        break;
    case FROND_YAML_SEQ:
        rc = frond_buf_putc(out, '[');
        for (size_t i = 0; i < n->n && rc == 0; i++) {
            if (i) {
                rc = frond_buf_putc(out, ',');
            }
            if (rc == 0) {
                rc = yaml_to_json(doc, n->items[i], out, depth + 1, err, errlen);
            }
        }
        if (rc == 0) {
            rc = frond_buf_putc(out, ']');
        }
        break;
    case FROND_YAML_MAP:
        rc = frond_buf_putc(out, '{');
        for (size_t i = 0; i < n->n && rc == 0; i++) {
            const struct frond_yaml_node *k = n->keys[i];
            if (k->kind != FROND_YAML_SCALAR) {
                return frond_yaml_error(doc, k, err, errlen, "query keys must be strings");
            }
            if (i) {
                rc = frond_buf_putc(out, ',');
            }
            if (rc == 0) {
                rc = json_string(out, k->value ? k->value : "", k->value_len);
            }
            if (rc == 0) {
                rc = frond_buf_putc(out, ':');
            }
            if (rc == 0) {
                rc = yaml_to_json(doc, n->items[i], out, depth + 1, err, errlen);
            }
        }
        if (rc == 0) {
            rc = frond_buf_putc(out, '}');
        }
        break;
    }
    if (rc == -ENOSPC) {
        return frond_yaml_error(doc, n, err, errlen, "query larger than %u bytes", JSON_MAX_BYTES);
    }
    if (rc == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

/* ---- placeholders ---- */

#define NOW_KEY "$frondNowMinus"

/*
 * Is this sub-document a placeholder? *bad is set when it names the
 * placeholder but is malformed (extra keys, not a duration string).
 */
static bool placeholder_ms(const bson_iter_t *doc_it, int64_t *ms, bool *bad)
{
    bson_iter_t it;
    *bad = false;
    if (!bson_iter_recurse(doc_it, &it) || !bson_iter_next(&it) ||
        strcmp(bson_iter_key(&it), NOW_KEY) != 0) {
        return false;
    }
    double secs;
    if (!BSON_ITER_HOLDS_UTF8(&it) || frond_parse_duration(bson_iter_utf8(&it, NULL), &secs) ||
        secs < 0 || secs > 3.2e9 || bson_iter_next(&it)) {
        *bad = true;
        return false;
    }
    *ms = (int64_t)llround(secs * 1000.0);
    return true;
}

static int subst(bson_iter_t *it, bson_t *out, int64_t now_ms, int depth, bool *found)
{
    if (depth > JSON_MAX_DEPTH) {
        return -EINVAL;
    }
    while (bson_iter_next(it)) {
        const char *key = bson_iter_key(it);
        uint32_t klen = bson_iter_key_len(it);
        if (BSON_ITER_HOLDS_DOCUMENT(it) || BSON_ITER_HOLDS_ARRAY(it)) {
            int64_t ms;
            bool bad;
            if (BSON_ITER_HOLDS_DOCUMENT(it) && placeholder_ms(it, &ms, &bad)) {
                *found = true;
                if (!bson_append_date_time(out, key, (int)klen, now_ms - ms)) {
                    return -ENOMEM;
                }
                continue;
            }
            if (BSON_ITER_HOLDS_DOCUMENT(it) && bad) {
                return -EINVAL;
            }
            bson_iter_t child;
            bson_t sub;
            bool is_array = BSON_ITER_HOLDS_ARRAY(it);
            if (!bson_iter_recurse(it, &child)) {
                return -EINVAL;
            }
            bool ok = is_array ? bson_append_array_begin(out, key, (int)klen, &sub)
                               : bson_append_document_begin(out, key, (int)klen, &sub);
            if (!ok) {
                return -ENOMEM;
            }
            int rc = subst(&child, &sub, now_ms, depth + 1, found);
            ok = is_array ? bson_append_array_end(out, &sub) : bson_append_document_end(out, &sub);
            if (rc) {
                return rc;
            }
            if (!ok) {
                return -ENOMEM;
            }
            continue;
        }
        if (!bson_append_iter(out, key, (int)klen, it)) {
            return -ENOMEM;
        }
    }
    return 0;
}

int usage_bson_subst_now(const bson_t *in, bson_t *out, int64_t now_ms)
{
    bson_iter_t it;
    bool found = false;
    if (!bson_iter_init(&it, in)) {
        return -EINVAL;
    }
    return subst(&it, out, now_ms, 0, &found);
}

static int check_placeholders(const struct frond_yaml_doc *doc, const struct frond_yaml_node *at,
                              bson_t *q, bool *found, char *err, size_t errlen)
{
    bson_t tmp = BSON_INITIALIZER;
    bson_iter_t it;
    int rc = -EINVAL;
    *found = false;
    if (bson_iter_init(&it, q)) {
        rc = subst(&it, &tmp, 0, 0, found);
    }
    bson_destroy(&tmp);
    if (rc) {
        return frond_yaml_error(doc, at, err, errlen,
                                "malformed {%s: <duration>} placeholder (want e.g. \"24h\")",
                                NOW_KEY);
    }
    return 0;
}

int usage_query_load(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     bool pipeline, bson_t **query, bool *has_placeholders, char *err,
                     size_t errlen)
{
    const char *what = pipeline ? "aggregate" : "count";
    struct frond_buf b;
    bson_error_t berr;
    int rc = 0;

    frond_buf_init(&b, JSON_MAX_BYTES);
    if (!pipeline && frond_yaml_is_null(n)) {
        *query = bson_new();
        goto out;
    }
    if (n->kind == FROND_YAML_SCALAR) {
        /* Extended JSON written as a string, as mongosh or Compass would print it. */
        const char *t = n->value ? n->value : "";
        while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') {
            t++;
        }
        if (*t != (pipeline ? '[' : '{')) {
            rc = frond_yaml_error(doc, n, err, errlen,
                                  "%s must be a %s (YAML, or an extended JSON string)", what,
                                  pipeline ? "list of stages" : "filter document");
            goto out;
        }
        rc = frond_buf_append(&b, t, strlen(t));
    } else {
        if (n->kind != (pipeline ? FROND_YAML_SEQ : FROND_YAML_MAP)) {
            rc = frond_yaml_error(doc, n, err, errlen, "%s must be a %s", what,
                                  pipeline ? "list of stages" : "filter document (a mapping)");
            goto out;
        }
        rc = yaml_to_json(doc, n, &b, 0, err, errlen);
    }
    if (rc) {
        goto out;
    }
    *query = bson_new_from_json((const uint8_t *)b.data, (ssize_t)b.len, &berr);
    if (!*query) {
        rc = frond_yaml_error(doc, n, err, errlen, "%s: invalid extended JSON: %s", what,
                              berr.message);
        goto out;
    }
    if (pipeline) {
        bson_iter_t it;
        if (!bson_iter_init(&it, *query)) {
            rc = frond_yaml_error(doc, n, err, errlen, "aggregate: invalid pipeline");
            goto out;
        }
        while (bson_iter_next(&it)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
                rc = frond_yaml_error(doc, n, err, errlen, "aggregate: stage %s is not a document",
                                      bson_iter_key(&it));
                goto out;
            }
        }
    }
    rc = check_placeholders(doc, n, *query, has_placeholders, err, errlen);
out:
    frond_buf_cleanup(&b);
    return rc;
}
