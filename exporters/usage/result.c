/*
 * Result documents to samples (see result.h for the rules). This is the
 * code that meets whatever the database holds, so every branch is bounded
 * and fuzzed: no value can make a label longer than USAGE_LABEL_VALUE_MAX,
 * and the whole label text of one result is capped.
 */
#include "result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bound on the label text of one result (10k samples of a few labels fit easily). */
#define RESULT_TEXT_MAX (64u << 20)

const char *const usage_skip_names[USAGE_SKIP_N] = {"missing_value", "non_numeric", "limit"};

void usage_result_init(struct usage_result *r, size_t nlabels, long max_samples)
{
    memset(r, 0, sizeof(*r));
    r->nlabels = nlabels;
    r->max_samples = max_samples > 0 ? max_samples : 1;
    frond_buf_init(&r->text, RESULT_TEXT_MAX);
}

void usage_result_cleanup(struct usage_result *r)
{
    free(r->samples);
    free(r->slots);
    frond_buf_cleanup(&r->text);
    memset(r, 0, sizeof(*r));
}

void usage_result_seal(struct usage_result *r)
{
    free(r->slots);
    r->slots = NULL;
    r->nslots = 0;
    if (r->n && r->n < r->cap) {
        struct usage_sample *p = realloc(r->samples, r->n * sizeof(*p));
        if (p) {
            r->samples = p;
            r->cap = r->n;
        }
    }
    frond_buf_shrink(&r->text);
}

/* ---- values ---- */

static bool parse_number_string(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    /* strtod would take hex floats and "infinity"-like words; a count in a string is decimal. */
    if (!*s || strpbrk(s, "xX")) {
        return false;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ' || *end == '\t') {
        end++;
    }
    if (end == s || *end || errno == ERANGE) {
        return false;
    }
    *out = d;
    return true;
}

static int value_of(const bson_iter_t *it, double *out)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        *out = bson_iter_int32(it);
        return 0;
    case BSON_TYPE_INT64:
        *out = (double)bson_iter_int64(it);
        return 0;
    case BSON_TYPE_DOUBLE:
        *out = bson_iter_double(it);
        return 0;
    case BSON_TYPE_BOOL:
        *out = bson_iter_bool(it) ? 1.0 : 0.0;
        return 0;
    case BSON_TYPE_DATE_TIME:
        *out = (double)bson_iter_date_time(it) / 1000.0;
        return 0;
    case BSON_TYPE_TIMESTAMP: {
        uint32_t t, i;
        bson_iter_timestamp(it, &t, &i);
        *out = t;
        return 0;
    }
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        char s[BSON_DECIMAL128_STRING];
        if (!bson_iter_decimal128(it, &d)) {
            return USAGE_SKIP_N + USAGE_SKIP_NON_NUMERIC;
        }
        bson_decimal128_to_string(&d, s);
        /* libbson prints NaN, Infinity and -Infinity, which strtod reads. */
        char *end;
        *out = strtod(s, &end);
        return *end ? USAGE_SKIP_N + USAGE_SKIP_NON_NUMERIC : 0;
    }
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        if (len > 64 || strlen(s) != len || !parse_number_string(s, out)) {
            return USAGE_SKIP_N + USAGE_SKIP_NON_NUMERIC;
        }
        return 0;
    }
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_EOD:
        return USAGE_SKIP_N + USAGE_SKIP_MISSING;
    default:
        return USAGE_SKIP_N + USAGE_SKIP_NON_NUMERIC;
    }
}

int usage_value_of(const bson_iter_t *it, double *out, enum usage_skip *why)
{
    /* The internal form returns 0 for a number, else USAGE_SKIP_N plus the reason. */
    int r = value_of(it, out);
    if (r == 0) {
        return 0;
    }
    *why = (enum usage_skip)(r - USAGE_SKIP_N);
    return -EINVAL;
}

/* ---- labels ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid or NUL. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c == 0) {
        return 0;
    }
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > left) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid UTF-8. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

/* Append s as a clean, bounded label value (no terminator). */
static int put_label_text(struct frond_buf *out, const char *s, size_t len)
{
    static const char repl[] = "\xEF\xBF\xBD";
    size_t used = 0;
    int rc = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len && rc == 0;) {
        size_t n = utf8_seq(p + i, len - i);
        const char *piece = n ? s + i : repl;
        size_t plen = n ? n : 3;
        if (used + plen > USAGE_LABEL_VALUE_MAX) {
            break;
        }
        rc = frond_buf_append(out, piece, plen);
        used += plen;
        i += n ? n : 1;
    }
    return rc;
}

static int put_double(struct frond_buf *out, double d)
{
    char tmp[40];
    if (isnan(d)) {
        return frond_buf_puts(out, "NaN");
    }
    if (isinf(d)) {
        return frond_buf_puts(out, d > 0 ? "+Inf" : "-Inf");
    }
    if (d == 0) {
        return frond_buf_puts(out, "0");
    }
    /* $group keys are often doubles holding integers: print them as integers. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    return frond_buf_puts(out, tmp);
}

static int put_json_value(struct frond_buf *out, const bson_iter_t *it)
{
    /* Wrap the value in a one-field document and cut the JSON of the value out of it. */
    bson_t tmp = BSON_INITIALIZER;
    int rc = 0;
    size_t len = 0;
    char *json = NULL;
    if (!bson_append_iter(&tmp, "v", 1, it)) {
        rc = -ENOMEM;
        goto out;
    }
    json = bson_as_relaxed_extended_json(&tmp, &len);
    if (!json) {
        /* Unprintable (e.g. invalid nested UTF-8): the label is empty, not an error. */
        goto out;
    }
    /* The form is `{ "v" : <value> }`. */
    const char *start = strstr(json, ": ");
    if (start && len >= 2 && json[len - 1] == '}') {
        start += 2;
        size_t vlen = (size_t)(json + len - 2 - start);
        if (start + vlen <= json + len) {
            rc = put_label_text(out, start, vlen);
        }
    }
out:
    bson_free(json);
    bson_destroy(&tmp);
    return rc;
}

int usage_label_of(const bson_iter_t *it, struct frond_buf *out)
{
    int rc = 0;
    char tmp[64];
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        rc = put_label_text(out, s, len);
        break;
    }
    case BSON_TYPE_INT32:
        rc = frond_buf_printf(out, "%d", (int)bson_iter_int32(it));
        break;
    case BSON_TYPE_INT64:
        rc = frond_buf_printf(out, "%lld", (long long)bson_iter_int64(it));
        break;
    case BSON_TYPE_DOUBLE:
        rc = put_double(out, bson_iter_double(it));
        break;
    case BSON_TYPE_BOOL:
        rc = frond_buf_puts(out, bson_iter_bool(it) ? "true" : "false");
        break;
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        char s[BSON_DECIMAL128_STRING];
        if (bson_iter_decimal128(it, &d)) {
            bson_decimal128_to_string(&d, s);
            rc = frond_buf_puts(out, s);
        }
        break;
    }
    case BSON_TYPE_DATE_TIME: {
        int64_t ms = bson_iter_date_time(it);
        time_t secs = (time_t)(ms / 1000);
        int frac = (int)(ms % 1000);
        if (frac < 0) {
            frac += 1000;
            secs--;
        }
        struct tm tm;
        if (!gmtime_r(&secs, &tm) || tm.tm_year > 9999 - 1900 || tm.tm_year < -1900) {
            rc = frond_buf_printf(out, "%lld", (long long)ms);
            break;
        }
        size_t n = strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
        if (frac) {
            rc = frond_buf_printf(out, "%.*s.%03dZ", (int)n, tmp, frac);
        } else {
            rc = frond_buf_printf(out, "%.*sZ", (int)n, tmp);
        }
        break;
    }
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), tmp);
        rc = frond_buf_puts(out, tmp);
        break;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_EOD:
        break;
    default:
        rc = put_json_value(out, it);
        break;
    }
    if (rc == 0) {
        rc = frond_buf_putc(out, '\0');
    }
    return rc;
}

/* ---- dedup ---- */

static int grow_slots(struct usage_result *r)
{
    size_t ns = r->nslots ? r->nslots * 2 : 64;
    uint32_t *slots = calloc(ns, sizeof(*slots));
    if (!slots) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct usage_sample *s = &r->samples[i];
        size_t h = (size_t)frond_fnv1a64(r->text.data + s->labels, s->labels_len) & (ns - 1);
        while (slots[h]) {
            h = (h + 1) & (ns - 1);
        }
        slots[h] = (uint32_t)(i + 1);
    }
    free(r->slots);
    r->slots = slots;
    r->nslots = ns;
    return 0;
}

/* Label values now sit at text[off..len): keep them as a new sample unless they repeat. */
static int commit_sample(struct usage_result *r, size_t off, double value)
{
    size_t len = r->text.len - off;
    const char *lab = r->text.data ? r->text.data + off : "";
    int rc;
    if ((r->n + 1) * 2 > r->nslots) {
        rc = grow_slots(r);
        if (rc) {
            return rc;
        }
    }
    size_t h = (size_t)frond_fnv1a64(lab, len) & (r->nslots - 1);
    while (r->slots[h]) {
        const struct usage_sample *o = &r->samples[r->slots[h] - 1];
        if (o->labels_len == len && memcmp(r->text.data + o->labels, lab, len) == 0) {
            if (r->duplicates++ == 0) {
                /* Keep a printable copy of the first duplicate for the log line. */
                size_t n =
                    len < sizeof(r->first_duplicate) - 1 ? len : sizeof(r->first_duplicate) - 1;
                memcpy(r->first_duplicate, lab, n);
                for (size_t i = 0; i < n; i++) {
                    if (r->first_duplicate[i] == '\0') {
                        r->first_duplicate[i] = ',';
                    }
                }
                r->first_duplicate[n] = '\0';
            }
            r->text.len = off;
            return 0;
        }
        h = (h + 1) & (r->nslots - 1);
    }
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        struct usage_sample *s = realloc(r->samples, nc * sizeof(*s));
        if (!s) {
            r->text.len = off;
            return -ENOMEM;
        }
        r->samples = s;
        r->cap = nc;
    }
    r->samples[r->n] = (struct usage_sample){value, off, len};
    r->slots[h] = (uint32_t)(r->n + 1);
    r->n++;
    return 0;
}

int usage_result_add_plain(struct usage_result *r, double value)
{
    size_t off = r->text.len;
    int rc = 0;
    for (size_t i = 0; i < r->nlabels && rc == 0; i++) {
        rc = frond_buf_putc(&r->text, '\0');
    }
    if (rc) {
        r->text.len = off;
        return rc;
    }
    return commit_sample(r, off, value);
}

int usage_result_add_doc(struct usage_result *r, const struct usage_metric *m, const bson_t *doc)
{
    bson_iter_t root, it;
    double value = 0;
    enum usage_skip reason;
    int rc = 0;

    r->docs++;
    if ((long)r->n >= r->max_samples) {
        r->skipped[USAGE_SKIP_LIMIT]++;
        return 1;
    }
    if (!bson_iter_init(&root, doc) || !bson_iter_find_descendant(&root, m->value, &it)) {
        r->skipped[USAGE_SKIP_MISSING]++;
        return 0;
    }
    if (usage_value_of(&it, &value, &reason)) {
        r->skipped[reason]++;
        return 0;
    }
    size_t off = r->text.len;
    for (size_t i = 0; i < r->nlabels && rc == 0; i++) {
        if (bson_iter_init(&root, doc) &&
            bson_iter_find_descendant(&root, m->label_fields[i], &it)) {
            rc = usage_label_of(&it, &r->text);
        } else {
            rc = frond_buf_putc(&r->text, '\0');
        }
    }
    if (rc) {
        r->text.len = off;
        if (rc == -ENOSPC) {
            r->skipped[USAGE_SKIP_LIMIT]++;
            return 1;
        }
        return rc;
    }
    return commit_sample(r, off, value);
}
