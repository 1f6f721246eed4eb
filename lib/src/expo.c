/*
 * Exposition building blocks (see frond/expo.h): Accept negotiation, the
 * escaping rules of text 0.0.4 and OpenMetrics 1.0.0, number formatting,
 * name validation, and the line writers the registry renders with. All
 * knowledge of how the two formats differ lives here. The writers reserve
 * room once per line and fill it in place, so a sample costs no allocation
 * and no per-piece bounds checks.
 */
#include "frond/expo.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- content negotiation ---- */

static const char *const content_types[] = {
    "text/plain; version=0.0.4; charset=utf-8",
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

const char *frond_expo_content_type(enum frond_expo_format format)
{
    return content_types[format == FROND_EXPO_OPENMETRICS ? 1 : 0];
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trim optional whitespace from both ends of [*p, *e). */
static void trim(const char **p, const char **e)
{
    while (*p < *e && is_ows(**p)) {
        (*p)++;
    }
    while (*e > *p && is_ows((*e)[-1])) {
        (*e)--;
    }
}

static int token_eq(const char *p, const char *e, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(e - p) == n && strncasecmp(p, lit, n) == 0;
}

/* What one media range of an Accept header would let us send. */
enum accept_match {
    MATCH_NONE = 0,
    MATCH_TEXT,
    MATCH_OPENMETRICS,
};

/*
 * Judge one media range `[p, e)` (without the leading comma) and report
 * its q-value. A q that does not parse counts as 0, as in client_golang's
 * goautoneg (strconv.ParseFloat's zero on error), which here means "not
 * acceptable", as RFC 9110 says.
 */
static enum accept_match judge_range(const char *p, const char *e, double *q)
{
    const char *semi = memchr(p, ';', (size_t)(e - p));
    const char *type_end = semi ? semi : e;
    const char *tp = p, *te = type_end;
    trim(&tp, &te);
    const char *slash = memchr(tp, '/', (size_t)(te - tp));
    const char *sp, *se;
    if (slash) {
        sp = slash + 1;
        se = te;
        te = slash;
        trim(&tp, &te);
        trim(&sp, &se);
    } else if (token_eq(tp, te, "*")) {
        sp = "*";
        se = sp + 1;
    } else {
        *q = 0;
        return MATCH_NONE;
    }

    *q = 1.0;
    const char *version = NULL, *version_end = NULL;
    const char *pp = semi ? semi + 1 : e;
    while (pp < e) {
        const char *pe = memchr(pp, ';', (size_t)(e - pp));
        if (!pe) {
            pe = e;
        }
        const char *eq = memchr(pp, '=', (size_t)(pe - pp));
        if (eq) {
            const char *kp = pp, *ke = eq, *vp = eq + 1, *ve = pe;
            trim(&kp, &ke);
            trim(&vp, &ve);
            if (ve - vp >= 2 && *vp == '"' && ve[-1] == '"') {
                vp++;
                ve--;
            }
            if (token_eq(kp, ke, "q")) {
                char tmp[32];
                size_t n = (size_t)(ve - vp);
                char *end = NULL;
                double v = 0;
                if (n > 0 && n < sizeof(tmp)) {
                    memcpy(tmp, vp, n);
                    tmp[n] = '\0';
                    v = strtod(tmp, &end);
                    if (end != tmp + n || isnan(v)) {
                        v = 0;
                    }
                }
                *q = v;
            } else if (token_eq(kp, ke, "version")) {
                version = vp;
                version_end = ve;
            }
        }
        pp = pe + 1;
    }

    int any_type = token_eq(tp, te, "*");
    int any_sub = token_eq(sp, se, "*");
    if (token_eq(tp, te, "application") && token_eq(sp, se, "openmetrics-text")) {
        if (!version || token_eq(version, version_end, "1.0.0") ||
            token_eq(version, version_end, "0.0.1")) {
            return MATCH_OPENMETRICS;
        }
        return MATCH_NONE;
    }
    if (token_eq(tp, te, "text") && token_eq(sp, se, "plain")) {
        if (!version || token_eq(version, version_end, "0.0.4")) {
            return MATCH_TEXT;
        }
        return MATCH_NONE;
    }
    /*
     * Wildcards accept text (what we send by default) but never select
     * OpenMetrics: a client must name it, as client_golang requires.
     */
    if ((any_type && any_sub) || (token_eq(tp, te, "text") && any_sub)) {
        return MATCH_TEXT;
    }
    return MATCH_NONE;
}

enum frond_expo_format frond_expo_negotiate(const char *accept)
{
    if (!accept) {
        return FROND_EXPO_TEXT;
    }
    enum frond_expo_format best = FROND_EXPO_TEXT;
    double best_q = 0;
    const char *p = accept;
    for (;;) {
        /* Split on commas outside quoted strings. */
        const char *e = p;
        int quoted = 0;
        while (*e && (quoted || *e != ',')) {
            if (*e == '"') {
                quoted = !quoted;
            } else if (*e == '\\' && quoted && e[1]) {
                e++;
            }
            e++;
        }
        double q = 0;
        enum accept_match m = judge_range(p, e, &q);
        /* Strictly greater: among equal q-values the first listed wins. */
        if (m != MATCH_NONE && q > 0 && q > best_q) {
            best_q = q;
            best = m == MATCH_OPENMETRICS ? FROND_EXPO_OPENMETRICS : FROND_EXPO_TEXT;
        }
        if (!*e) {
            break;
        }
        p = e + 1;
    }
    return best;
}

/* ---- escaping ---- */

size_t frond_expo_escape_raw(char *dst, const char *s, size_t n, int quote)
{
    char *d = dst;
    const char *end = s + n;
    while (s < end) {
        /* Copy the run of ordinary bytes in one go; escapes are rare. */
        const char *run = s;
        while (s < end && *s != '\\' && *s != '\n' && (*s != '"' || !quote)) {
            s++;
        }
        memcpy(d, run, (size_t)(s - run));
        d += s - run;
        if (s == end) {
            break;
        }
        *d++ = '\\';
        *d++ = *s == '\n' ? 'n' : *s;
        s++;
    }
    return (size_t)(d - dst);
}

static int escape_into(struct frond_buf *out, const char *s, int quote)
{
    if (!s) {
        return 0;
    }
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 2) {
        return -ENOSPC;
    }
    /* Reserve the worst case; fall back to counting when that hits the cap. */
    int rc = frond_buf_reserve(out, 2 * n);
    if (rc == -ENOSPC) {
        size_t need = n;
        for (size_t i = 0; i < n; i++) {
            need += s[i] == '\\' || s[i] == '\n' || (quote && s[i] == '"');
        }
        rc = frond_buf_reserve(out, need);
    }
    if (rc) {
        return rc;
    }
    out->len += frond_expo_escape_raw(out->data + out->len, s, n, quote);
    out->data[out->len] = '\0';
    return 0;
}

int frond_expo_escape_label(struct frond_buf *out, const char *value)
{
    return escape_into(out, value, 1);
}

int frond_expo_escape_help(struct frond_buf *out, const char *help, enum frond_expo_format format)
{
    return escape_into(out, help, format == FROND_EXPO_OPENMETRICS);
}

/* ---- numbers ---- */

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Decimal digits of u, written backwards from `end`; returns the start. */
static char *utoa_back(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

/*
 * The shortest decimal string that reads back as exactly `v`. Most values
 * in exposition are integers or have a few decimal places, so two fast
 * paths come first: integers below 1e15 (exact, at most 15 digits), then
 * m / 10^k with m < 1e15, which round-trips because IEEE division of two
 * exact operands is correctly rounded, just like strtod. Anything else
 * takes the printf route: %.15g always reproduces a value whose shortest
 * form has at most 15 digits, and 17 digits always round-trip.
 */
size_t frond_expo_format_value(char *dst, double v, int canonical)
{
    if (isnan(v)) {
        memcpy(dst, "NaN", 3);
        return 3;
    }
    if (isinf(v)) {
        memcpy(dst, v > 0 ? "+Inf" : "-Inf", 4);
        return 4;
    }
    char tmp[FROND_EXPO_VALUE_MAX];
    char *end = tmp + sizeof(tmp);
    char *d = dst;
    double a = fabs(v);
    if (signbit(v) && a != 0) {
        *d++ = '-';
    }
    if (a < 1e15) {
        double ip = floor(a);
        if (ip == a) {
            char *s = utoa_back(end, (uint64_t)a);
            size_t n = (size_t)(end - s);
            memcpy(d, s, n);
            d += n;
            if (canonical) {
                memcpy(d, ".0", 2);
                d += 2;
            }
            return (size_t)(d - dst);
        }
        for (int k = 1; k <= 22; k++) {
            double scaled = a * pow10_tab[k];
            if (scaled >= 1e15) {
                break;
            }
            double m = nearbyint(scaled);
            if (m / pow10_tab[k] != a) {
                continue;
            }
            /* Write m with k digits after the point, padding with zeros. */
            uint64_t um = (uint64_t)m;
            char *s = utoa_back(end, um);
            size_t nd = (size_t)(end - s);
            if (nd <= (size_t)k) {
                *d++ = '0';
                *d++ = '.';
                for (size_t z = nd; z < (size_t)k; z++) {
                    *d++ = '0';
                }
                memcpy(d, s, nd);
                d += nd;
            } else {
                size_t ni = nd - (size_t)k;
                memcpy(d, s, ni);
                d += ni;
                *d++ = '.';
                memcpy(d, s + ni, (size_t)k);
                d += k;
            }
            return (size_t)(d - dst);
        }
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, a);
        if (prec == 17 || strtod(tmp, NULL) == a) {
            break;
        }
    }
    memcpy(d, tmp, (size_t)n);
    d += n;
    /* A canonical float always shows that it is one ("1e+20" already does). */
    if (canonical && !memchr(tmp, '.', (size_t)n) && !memchr(tmp, 'e', (size_t)n)) {
        memcpy(d, ".0", 2);
        d += 2;
    }
    return (size_t)(d - dst);
}

int frond_expo_value(struct frond_buf *out, double v)
{
    char tmp[FROND_EXPO_VALUE_MAX];
    size_t n = frond_expo_format_value(tmp, v, 0);
    return frond_buf_append(out, tmp, n);
}

/* ---- names ---- */

static int name_char(unsigned char c, int first, int colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':')) {
        return 1;
    }
    return !first && c >= '0' && c <= '9';
}

static bool valid_name(const char *name, int colon)
{
    if (!name || !*name) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (!name_char(*p, p == (const unsigned char *)name, colon)) {
            return false;
        }
    }
    return true;
}

bool frond_expo_valid_metric_name(const char *name)
{
    return valid_name(name, 1);
}

bool frond_expo_valid_label_name(const char *name)
{
    return valid_name(name, 0);
}

/* ---- line writers ---- */

static size_t put(char *d, const char *s, size_t n)
{
    memcpy(d, s, n);
    return n;
}

static int ends_with(const char *s, size_t n, const char *suffix, size_t k)
{
    return n > k && memcmp(s + n - k, suffix, k) == 0;
}

/*
 * The family name a format shows in `# HELP`/`# TYPE`: OpenMetrics names
 * a counter's family without `_total` and an info family without `_info`;
 * text 0.0.4 shows the name as declared.
 */
static size_t family_name_len(const struct frond_expo_family *f, enum frond_expo_format fmt)
{
    if (fmt == FROND_EXPO_OPENMETRICS) {
        if (f->type == FROND_COUNTER && ends_with(f->name, f->nlen, "_total", 6)) {
            return f->nlen - 6;
        }
        if (f->type == FROND_INFO && ends_with(f->name, f->nlen, "_info", 5)) {
            return f->nlen - 5;
        }
    }
    return f->nlen;
}

/* One sample line, described so that its worst-case size is known before writing. */
struct line {
    const char *name;
    size_t nlen;
    const char *suffix;
    size_t slen;
    const struct frond_expo_label *labels;
    size_t nlabels;
    const char *le; /* formatted bound of a bucket line, or NULL */
    size_t lelen;
    double value;
};

static size_t line_bound(const struct line *ln)
{
    /* name suffix { } space value newline, and name="value", per label. */
    size_t b = ln->nlen + ln->slen + 3 + FROND_EXPO_VALUE_MAX + 1;
    for (size_t i = 0; i < ln->nlabels; i++) {
        b += (size_t)ln->labels[i].nlen + 2 * (size_t)ln->labels[i].vlen + 4;
    }
    if (ln->le) {
        b += ln->lelen + 6;
    }
    return b;
}

static size_t line_fill(char *dst, const struct line *ln)
{
    char *d = dst;
    d += put(d, ln->name, ln->nlen);
    d += put(d, ln->suffix, ln->slen);
    if (ln->nlabels || ln->le) {
        *d++ = '{';
        for (size_t i = 0; i < ln->nlabels; i++) {
            const struct frond_expo_label *l = &ln->labels[i];
            if (i) {
                *d++ = ',';
            }
            d += put(d, l->name, l->nlen);
            *d++ = '=';
            *d++ = '"';
            d += frond_expo_escape_raw(d, l->value, l->vlen, 1);
            *d++ = '"';
        }
        if (ln->le) {
            if (ln->nlabels) {
                *d++ = ',';
            }
            d += put(d, "le=\"", 4);
            d += put(d, ln->le, ln->lelen);
            *d++ = '"';
        }
        *d++ = '}';
    }
    *d++ = ' ';
    d += frond_expo_format_value(d, ln->value, 0);
    *d++ = '\n';
    return (size_t)(d - dst);
}

/*
 * Reserve the worst case and write in place. When the worst case does not
 * fit under the cap, build the line on the heap and append it exactly, so
 * -ENOSPC means that the line itself does not fit.
 */
static int emit_line(struct frond_buf *out, const struct line *ln)
{
    size_t bound = line_bound(ln);
    int rc = frond_buf_reserve(out, bound);
    if (rc == 0) {
        out->len += line_fill(out->data + out->len, ln);
        out->data[out->len] = '\0';
        return 0;
    }
    if (rc != -ENOSPC) {
        return rc;
    }
    char *tmp = malloc(bound);
    if (!tmp) {
        return -ENOMEM;
    }
    size_t n = line_fill(tmp, ln);
    rc = frond_buf_append(out, tmp, n);
    free(tmp);
    return rc;
}

static const char *type_name(enum frond_metric_type t, enum frond_expo_format fmt)
{
    /* Text 0.0.4 has no stateset or info: both are gauges there. */
    static const char *const text[] = {"untyped",   "counter", "gauge",
                                       "histogram", "gauge",   "gauge"};
    static const char *const om[] = {"unknown",   "counter",  "gauge",
                                     "histogram", "stateset", "info"};
    size_t i = (size_t)t < FROND_ARRAY_SIZE(text) ? (size_t)t : 0;
    return fmt == FROND_EXPO_OPENMETRICS ? om[i] : text[i];
}

int frond_expo_write_header(struct frond_buf *out, enum frond_expo_format format,
                            const struct frond_expo_family *f)
{
    size_t nlen = family_name_len(f, format);
    size_t hlen = f->help ? f->hlen : 0;
    const char *tn = type_name(f->type, format);
    size_t tlen = strlen(tn);
    size_t bound = 2 * nlen + 2 * hlen + tlen + 20;
    char small[512];
    char *buf = bound <= sizeof(small) ? small : malloc(bound);
    if (!buf) {
        return -ENOMEM;
    }
    char *d = buf;
    if (hlen) {
        d += put(d, "# HELP ", 7);
        d += put(d, f->name, nlen);
        *d++ = ' ';
        d += frond_expo_escape_raw(d, f->help, hlen, format == FROND_EXPO_OPENMETRICS);
        *d++ = '\n';
    }
    d += put(d, "# TYPE ", 7);
    d += put(d, f->name, nlen);
    *d++ = ' ';
    d += put(d, tn, tlen);
    *d++ = '\n';
    int rc = frond_buf_append(out, buf, (size_t)(d - buf));
    if (buf != small) {
        free(buf);
    }
    return rc;
}

int frond_expo_write_sample(struct frond_buf *out, enum frond_expo_format format,
                            const struct frond_expo_family *f,
                            const struct frond_expo_label *labels, size_t nlabels, double value)
{
    struct line ln = {.name = f->name,
                      .nlen = f->nlen,
                      .suffix = "",
                      .labels = labels,
                      .nlabels = nlabels,
                      .value = value};
    /* OpenMetrics samples carry the suffix even when the declared name lacks it. */
    if (format == FROND_EXPO_OPENMETRICS && f->type == FROND_COUNTER) {
        ln.nlen = family_name_len(f, format);
        ln.suffix = "_total";
        ln.slen = 6;
    } else if (format == FROND_EXPO_OPENMETRICS && f->type == FROND_INFO) {
        ln.nlen = family_name_len(f, format);
        ln.suffix = "_info";
        ln.slen = 5;
    }
    return emit_line(out, &ln);
}

int frond_expo_write_histogram(struct frond_buf *out, enum frond_expo_format format,
                               const struct frond_expo_family *f,
                               const struct frond_expo_label *labels, size_t nlabels,
                               const double *bounds, const double *cumulative, size_t nbounds,
                               double sum, double count)
{
    char le[FROND_EXPO_VALUE_MAX];
    struct line ln = {.name = f->name,
                      .nlen = f->nlen,
                      .suffix = "_bucket",
                      .slen = 7,
                      .labels = labels,
                      .nlabels = nlabels,
                      .le = le};
    int rc = 0;
    /* OpenMetrics wants `le` as a canonical float ("1.0"); text keeps "1" like client_golang. */
    for (size_t i = 0; i < nbounds && !rc; i++) {
        ln.lelen = frond_expo_format_value(le, bounds[i], format == FROND_EXPO_OPENMETRICS);
        ln.value = cumulative[i];
        rc = emit_line(out, &ln);
    }
    if (!rc) {
        ln.lelen = frond_expo_format_value(le, INFINITY, 0);
        ln.value = count;
        rc = emit_line(out, &ln);
    }
    ln.le = NULL;
    if (!rc) {
        ln.suffix = "_sum";
        ln.slen = 4;
        ln.value = sum;
        rc = emit_line(out, &ln);
    }
    if (!rc) {
        ln.suffix = "_count";
        ln.slen = 6;
        ln.value = count;
        rc = emit_line(out, &ln);
    }
    return rc;
}

int frond_expo_write_end(struct frond_buf *out, enum frond_expo_format format)
{
    return format == FROND_EXPO_OPENMETRICS ? frond_buf_puts(out, "# EOF\n") : 0;
}
