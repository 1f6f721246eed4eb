/*
 * Relabelling after Prometheus' model/relabel (relabel.go): each rule reads
 * the current label set and rewrites it, in order. It runs once per file
 * and once per journal entry, so rules are compiled once at load and
 * applying them allocates nothing for ordinary label sizes (stack scratch,
 * heap only past it).
 *
 * This file holds the relabel actions with Prometheus' validation and MD5
 * for hashmod; the regexes they match and the Go template expansion of
 * replacements are the RE2 engine's, in regex.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frond/buf.h"
#include "relabel.h"

static bool is_word_byte(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* ---- MD5 (RFC 1321), for hashmod ------------------------------------- */

static uint32_t rol(uint32_t x, int c)
{
    return (x << c) | (x >> (32 - c));
}

static void md5(const unsigned char *msg, size_t len, unsigned char out[16])
{
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    static const int R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    uint64_t bits = (uint64_t)len * 8;
    size_t total = ((len + 8) / 64 + 1) * 64;
    for (size_t off = 0; off < total; off += 64) {
        unsigned char blk[64];
        for (size_t i = 0; i < 64; i++) {
            size_t k = off + i;
            blk[i] = k < len ? msg[k] : k == len ? 0x80 : 0;
        }
        if (off + 64 == total) {
            for (int i = 0; i < 8; i++) {
                blk[56 + i] = (unsigned char)(bits >> (8 * i));
            }
        }
        uint32_t w[16];
        for (int i = 0; i < 16; i++) {
            w[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
                   (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        for (int i = 0; i < 64; i++) {
            uint32_t f;
            int g;
            if (i < 16) {
                f = (b & c) | (~b & d), g = i;
            } else if (i < 32) {
                f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
            } else if (i < 48) {
                f = b ^ c ^ d, g = (3 * i + 5) % 16;
            } else {
                f = c ^ (b | ~d), g = (7 * i) % 16;
            }
            uint32_t tmp = d;
            d = c;
            c = b;
            b = b + rol(a + f + K[i] + w[g], R[i]);
            a = tmp;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d;
    }
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            out[4 * i + j] = (unsigned char)(h[i] >> (8 * j));
        }
    }
}

/* ---- Actions ---------------------------------------------------------- */

static const char *const action_names[] = {
    "replace", "keep",      "drop",      "labelmap",  "labeldrop", "labelkeep",
    "hashmod", "lowercase", "uppercase", "keepequal", "dropequal",
};

int relabel_action_parse(const char *name)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(action_names); i++) {
        if (strcasecmp(action_names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *relabel_action_name(enum relabel_action a)
{
    return (size_t)a < FROND_ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

int relabel_compile(struct relabel_rule *r, const char *regex, char *err, size_t errlen)
{
    relabel_re_free(r->re);
    r->re = NULL;
    r->regex_default = regex == NULL;
    return relabel_re_compile(regex ? regex : "(.*)", &r->re, err, errlen);
}

void relabel_rule_cleanup(struct relabel_rule *r)
{
    for (size_t i = 0; i < r->nsource; i++) {
        free(r->source[i]);
    }
    free(r->source);
    free(r->separator);
    free(r->target);
    free(r->replacement);
    relabel_re_free(r->re);
    memset(r, 0, sizeof(*r));
}

/* Prometheus' legacy model.LabelName.IsValid (what Loki accepts). */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

/* Prometheus' relabelTarget: ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$ */
static bool valid_template(const char *s)
{
    if (!*s) {
        return false;
    }
    bool started = false;
    for (const char *p = s; *p;) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            started = true;
            p++;
        } else if (c >= '0' && c <= '9') {
            if (!started) {
                return false;
            }
            p++;
        } else if (c == '$') {
            p++;
            bool brace = *p == '{';
            if (brace) {
                p++;
            }
            const char *w = p;
            while (is_word_byte((unsigned char)*p)) {
                p++;
            }
            if (p == w || (brace && *p != '}')) {
                return false;
            }
            if (brace) {
                p++;
            }
            started = true;
        } else {
            return false;
        }
    }
    return true;
}

static int verr(char *err, size_t errlen, const char *fmt, ...) FROND_PRINTF(3, 4);
static int verr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int relabel_validate(const struct relabel_rule *r, const char **field, char *err, size_t errlen)
{
    enum relabel_action a = r->action;
    const char *an = relabel_action_name(a);
    const char *t = r->target ? r->target : "";
    bool def_sep = !r->separator || strcmp(r->separator, ";") == 0;
    bool def_repl = !r->replacement || strcmp(r->replacement, "$1") == 0;
    *field = NULL;
    if (a == RELABEL_HASHMOD && r->modulus == 0) {
        *field = "modulus";
        return verr(err, errlen, "relabel configuration for hashmod requires non-zero modulus");
    }
    bool needs_target = a == RELABEL_REPLACE || a == RELABEL_HASHMOD || a == RELABEL_LOWERCASE ||
                        a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL;
    if (needs_target && !*t) {
        return verr(err, errlen,
                    "relabel configuration for %s action requires 'target_label' value", an);
    }
    *field = "target_label";
    if (a == RELABEL_REPLACE && !strchr(t, '$') && !valid_name(t, strlen(t))) {
        return verr(err, errlen, "\"%s\" is invalid 'target_label' for %s action", t, an);
    }
    if (a == RELABEL_REPLACE && strchr(t, '$') && !valid_template(t)) {
        return verr(err, errlen, "\"%s\" is invalid 'target_label' for %s action", t, an);
    }
    bool eq_like = a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL ||
                   a == RELABEL_DROPEQUAL;
    if ((eq_like || a == RELABEL_HASHMOD) && !valid_name(t, strlen(t))) {
        return verr(err, errlen, "\"%s\" is invalid 'target_label' for %s action", t, an);
    }
    *field = "replacement";
    if (eq_like && !def_repl) {
        return verr(err, errlen, "'replacement' can not be set for %s action", an);
    }
    if (a == RELABEL_LABELMAP && !valid_template(r->replacement ? r->replacement : "$1")) {
        return verr(err, errlen, "\"%s\" is invalid 'replacement' for %s action", r->replacement,
                    an);
    }
    *field = NULL;
    if ((a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) &&
        (!r->regex_default || r->modulus || !def_sep || !def_repl)) {
        return verr(err, errlen,
                    "%s action requires only 'source_labels' and `target_label`, and no other "
                    "fields",
                    an);
    }
    if ((a == RELABEL_LABELDROP || a == RELABEL_LABELKEEP) &&
        (r->source_set || *t || r->modulus || !def_sep || !def_repl)) {
        return verr(err, errlen, "%s action requires only 'regex', and no other fields", an);
    }
    return 0;
}

/* labels.Builder.Set: an empty value deletes. */
static int set_label(struct labels_set *s, const char *name, const char *value, size_t vlen)
{
    if (vlen == 0) {
        labels_remove(s, name);
        return 0;
    }
    return labels_setn(s, name, value, vlen);
}

/* A byte buffer on the stack that moves to the heap when it must grow. */
struct sbuf {
    char *p;
    size_t cap;
    char local[512];
};

static char *sbuf_get(struct sbuf *b, size_t n)
{
    if (b->p && b->p != b->local) {
        if (b->cap >= n) {
            return b->p;
        }
        free(b->p);
        b->p = NULL;
    }
    if (n <= sizeof(b->local)) {
        b->p = b->local;
        return b->p;
    }
    b->p = malloc(n);
    b->cap = n;
    return b->p;
}

static void sbuf_free(struct sbuf *b)
{
    if (b->p && b->p != b->local) {
        free(b->p);
    }
    b->p = NULL;
}

/* Go's strings.ToLower/ToUpper: simple Unicode case mapping, invalid bytes become U+FFFD. */
static int change_case(const char *v, size_t n, bool upper, struct sbuf *out, size_t *olen)
{
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        ascii &= (unsigned char)v[i] < 0x80;
    }
    char *d = sbuf_get(out, ascii ? n + 1 : 3 * n + 1);
    if (!d) {
        return -ENOMEM;
    }
    size_t k = 0;
    if (ascii) {
        for (size_t i = 0; i < n; i++) {
            char c = v[i];
            if (upper && c >= 'a' && c <= 'z') {
                c = (char)(c - 32);
            } else if (!upper && c >= 'A' && c <= 'Z') {
                c = (char)(c + 32);
            }
            d[k++] = c;
        }
    } else {
        for (size_t i = 0; i < n;) {
            size_t w;
            uint32_t r = relabel_re_utf8_decode((const unsigned char *)v + i, n - i, &w);
            i += w;
            k += relabel_re_utf8_encode(relabel_re_case_map(r, upper), d + k);
        }
    }
    d[k] = '\0';
    *olen = k;
    return 0;
}

/* Match one rule's regex; caps gets 2 slots per group when want_caps. */
struct matcher {
    int local[32];
    int *caps;
    size_t ncap;
};

static int matcher_init(struct matcher *m, const struct relabel_re *re, bool want_caps)
{
    m->ncap = want_caps ? 2 * relabel_re_groups(re) : 0;
    m->caps = m->ncap <= FROND_ARRAY_SIZE(m->local) ? m->local : malloc(m->ncap * sizeof(int));
    return m->caps ? 0 : -ENOMEM;
}

static void matcher_cleanup(struct matcher *m)
{
    if (m->caps != m->local) {
        free(m->caps);
    }
}

static int apply_one(const struct relabel_rule *r, struct labels_set *s)
{
    const char *sep = r->separator ? r->separator : ";";
    const char *repl = r->replacement ? r->replacement : "$1";
    size_t seplen = strlen(sep), total = 0;
    for (size_t i = 0; i < r->nsource; i++) {
        const char *val = labels_get(s, r->source[i]);
        total += (i ? seplen : 0) + (val ? strlen(val) : 0);
    }
    struct sbuf vb, ob, tb;
    vb.p = ob.p = tb.p = NULL;
    struct matcher m;
    int rc = 0, keep = 1;
    char *v = sbuf_get(&vb, total + 1);
    if (!v) {
        return -ENOMEM;
    }
    size_t vlen = 0;
    for (size_t i = 0; i < r->nsource; i++) {
        const char *val = labels_get(s, r->source[i]);
        if (i) {
            memcpy(v + vlen, sep, seplen);
            vlen += seplen;
        }
        size_t l = val ? strlen(val) : 0;
        memcpy(v + vlen, val ? val : "", l);
        vlen += l;
    }
    v[vlen] = '\0';
    bool caps = r->action == RELABEL_REPLACE || r->action == RELABEL_LABELMAP;
    rc = matcher_init(&m, r->re, caps);
    if (rc) {
        sbuf_free(&vb);
        return rc;
    }
    const char *t = r->target ? r->target : "";
    switch (r->action) {
    case RELABEL_KEEP:
    case RELABEL_DROP: {
        int mt = relabel_re_match(r->re, v, vlen, m.caps, 0);
        if (mt < 0) {
            rc = mt;
        } else {
            keep = (mt == 1) == (r->action == RELABEL_KEEP);
        }
        break;
    }
    case RELABEL_KEEPEQUAL:
    case RELABEL_DROPEQUAL: {
        const char *cur = labels_get(s, t);
        bool eq = strcmp(cur ? cur : "", v) == 0;
        keep = eq == (r->action == RELABEL_KEEPEQUAL);
        break;
    }
    case RELABEL_REPLACE: {
        int mt = relabel_re_match(r->re, v, vlen, m.caps, m.ncap);
        if (mt <= 0) {
            rc = mt;
            break;
        }
        size_t tl = relabel_re_expand_into(r->re, t, v, m.caps, NULL);
        char *tn = sbuf_get(&tb, tl + 1);
        size_t ol = relabel_re_expand_into(r->re, repl, v, m.caps, NULL);
        char *o = sbuf_get(&ob, ol + 1);
        if (!tn || !o) {
            rc = -ENOMEM;
            break;
        }
        relabel_re_expand_into(r->re, t, v, m.caps, tn);
        relabel_re_expand_into(r->re, repl, v, m.caps, o);
        if (!valid_name(tn, tl)) {
            break; /* Prometheus skips an invalid expanded target_label. */
        }
        rc = set_label(s, tn, o, ol);
        break;
    }
    case RELABEL_LOWERCASE:
    case RELABEL_UPPERCASE: {
        size_t ol;
        rc = change_case(v, vlen, r->action == RELABEL_UPPERCASE, &ob, &ol);
        if (!rc) {
            rc = set_label(s, t, ob.p, ol);
        }
        break;
    }
    case RELABEL_HASHMOD: {
        unsigned char h[16];
        md5((const unsigned char *)v, vlen, h);
        uint64_t x = 0;
        for (int i = 8; i < 16; i++) {
            x = (x << 8) | h[i];
        }
        char num[24];
        int nl = snprintf(num, sizeof(num), "%llu", (unsigned long long)(x % r->modulus));
        rc = set_label(s, t, num, (size_t)nl);
        break;
    }
    case RELABEL_LABELDROP:
    case RELABEL_LABELKEEP:
        for (size_t i = 0; !rc && i < s->n;) {
            const char *name = s->l[i].name;
            int mt = relabel_re_match(r->re, name, strlen(name), m.caps, 0);
            if (mt < 0) {
                rc = mt;
            } else if ((mt == 1) == (r->action == RELABEL_LABELDROP)) {
                labels_remove(s, name);
            } else {
                i++;
            }
        }
        break;
    case RELABEL_LABELMAP: {
        /* Range over a snapshot: the set changes under the loop (Builder.Range). */
        struct labels_set copy;
        labels_init(&copy);
        rc = labels_merge(&copy, s);
        for (size_t i = 0; !rc && i < copy.n; i++) {
            const char *name = copy.l[i].name;
            int mt = relabel_re_match(r->re, name, strlen(name), m.caps, m.ncap);
            if (mt <= 0) {
                rc = mt;
                continue;
            }
            size_t ol = relabel_re_expand_into(r->re, repl, name, m.caps, NULL);
            char *o = sbuf_get(&ob, ol + 1);
            if (!o) {
                rc = -ENOMEM;
                break;
            }
            relabel_re_expand_into(r->re, repl, name, m.caps, o);
            if (valid_name(o, ol)) {
                rc = set_label(s, o, copy.l[i].value, strlen(copy.l[i].value));
            }
        }
        labels_cleanup(&copy);
        break;
    }
    }
    matcher_cleanup(&m);
    sbuf_free(&vb);
    sbuf_free(&ob);
    sbuf_free(&tb);
    return rc ? rc : keep;
}

int relabel_apply(const struct relabel_rule *rules, size_t n, struct labels_set *s)
{
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(&rules[i], s);
        if (rc <= 0) {
            return rc;
        }
    }
    return 1;
}
