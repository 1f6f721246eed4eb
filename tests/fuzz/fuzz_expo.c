/*
 * Fuzz target for exposition rendering and escaping. The input is cut at
 * NUL bytes into strings that become HELP text, family names, label names,
 * label values, stateset states and (read as raw bytes) sample values and
 * histogram bounds; a collector feeds them to the registry and both formats
 * are rendered.
 *
 * Invariants checked on every output: every line is a `# HELP`/`# TYPE`
 * comment (or the final `# EOF` in OpenMetrics) or a sample
 * `name{label="value",...} value` with only the format's escapes, and a
 * parseable value; the label values and HELP text of the `fz_gauge` family
 * unescape back to exactly the input strings. A violation aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/expo.h"
#include "frond/log.h"
#include "frond/registry.h"

#define MAX_STRINGS 48

struct fz {
    const char *str[MAX_STRINGS];
    size_t nstr;
    const char *help;
    /* Label values of fz_gauge in the order they must come out. */
    const char *expect[MAX_STRINGS];
    size_t nexpect;
};

static double value_of(const char *s)
{
    size_t n = strlen(s);
    if (n >= 8) {
        double d;
        memcpy(&d, s, sizeof(d));
        return d;
    }
    return (double)n * 0.25 - 1;
}

static int collect_fuzz(struct frond_scrape *s, void *ctx)
{
    struct fz *fz = ctx;
    char idx[24];

    struct frond_family *g = frond_scrape_family(s, "fz_gauge", FROND_GAUGE, fz->help);
    fz->nexpect = 0;
    for (size_t i = 0; i < fz->nstr; i++) {
        snprintf(idx, sizeof(idx), "%zu", i);
        if (frond_scrape_sample(s, g, value_of(fz->str[i]), {"a", fz->str[i]}, {"i", idx}) == 0) {
            fz->expect[fz->nexpect++] = fz->str[i];
        }
    }

    /* Names from the input: mostly invalid, which must be refused cleanly. */
    for (size_t i = 0; i + 1 < fz->nstr; i += 2) {
        /* The fz_ families below are checked exactly; input names stay out of them. */
        if (strncmp(fz->str[i], "fz_", 3) == 0) {
            continue;
        }
        enum frond_metric_type t = (enum frond_metric_type)(strlen(fz->str[i]) % 6);
        struct frond_family *f = frond_scrape_family(s, fz->str[i], t, fz->str[i + 1]);
        if (t == FROND_HISTOGRAM) {
            double bounds[4], counts[4];
            for (size_t b = 0; b < 4; b++) {
                bounds[b] = value_of(fz->str[(i + b) % fz->nstr]);
                counts[b] = (double)b;
            }
            struct frond_label l[] = {{fz->str[i + 1], fz->str[i]}};
            (void)frond_scrape_histogramv(s, f, 1, l, bounds, counts, 4, value_of(fz->str[i]), 5);
        } else if (t == FROND_STATESET) {
            struct frond_label l[] = {{"x", fz->str[i + 1]}};
            (void)frond_scrape_stateset(s, f, 1, l, fz->str, fz->nstr, fz->str[i]);
        } else {
            (void)frond_scrape_sample(s, f, value_of(fz->str[i + 1]), {fz->str[i + 1], fz->str[i]});
        }
    }

    /* Fixed valid families of every type with input label values. */
    struct frond_family *c = frond_scrape_family(s, "fz_events_total", FROND_COUNTER, fz->help);
    struct frond_family *info = frond_scrape_family(s, "fz_build_info", FROND_INFO, fz->help);
    struct frond_family *st = frond_scrape_family(s, "fz_state", FROND_STATESET, fz->help);
    struct frond_family *h = frond_scrape_family(s, "fz_seconds", FROND_HISTOGRAM, fz->help);
    for (size_t i = 0; i < fz->nstr; i++) {
        (void)frond_scrape_sample(s, c, fabs(value_of(fz->str[i])), {"k", fz->str[i]});
        (void)frond_scrape_sample(s, info, 1, {"version", fz->str[i]});
        struct frond_label l[] = {{"k", fz->str[i]}};
        (void)frond_scrape_stateset(s, st, 1, l, fz->str, fz->nstr, fz->str[0]);
        const double bounds[] = {0.5, 1, value_of(fz->str[i])};
        const double counts[] = {1, 2, 3};
        (void)frond_scrape_histogramv(s, h, 1, l, bounds, counts, 3, value_of(fz->str[i]), 3);
    }
    return 0;
}

/* ---- the checker: a small strict parser of what we produce ---- */

static void fail(const char *what, const char *line, size_t len)
{
    fprintf(stderr, "fuzz_expo: %s in line: %.*s\n", what, (int)len, line);
    abort();
}

static int metric_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Parse an escaped run up to `stop` (or end); returns the end, unescaped into `u`. */
static const char *unescape(const char *p, const char *end, char stop, int quote_escape, char *u,
                            size_t *ulen, const char *line, size_t len)
{
    size_t n = 0;
    while (p < end && *p != stop) {
        char c = *p++;
        if (c == '\\') {
            if (p == end) {
                fail("dangling backslash", line, len);
            }
            c = *p++;
            if (c == 'n') {
                c = '\n';
            } else if (c != '\\' && !(quote_escape && c == '"')) {
                fail("bad escape", line, len);
            }
        } else if (c == '"' && stop == '"') {
            break;
        }
        u[n++] = c;
    }
    *ulen = n;
    return p;
}

static void check_output(const struct fz *fz, const char *out, size_t outlen, int om)
{
    char *u = malloc(outlen + 1);
    size_t next_expect = 0;
    int saw_eof = 0;
    const char *p = out, *end = out + outlen;
    if (!u) {
        return;
    }
    if (outlen && out[outlen - 1] != '\n') {
        fail("output does not end with a newline", out, 0);
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line = p, *le = nl;
        size_t len = (size_t)(le - line);
        p = nl + 1;
        if (saw_eof) {
            fail("data after # EOF", line, len);
        }
        if (len >= 1 && line[0] == '#') {
            if (om && len == 5 && memcmp(line, "# EOF", 5) == 0) {
                saw_eof = 1;
                continue;
            }
            int help = len > 7 && memcmp(line, "# HELP ", 7) == 0;
            int type = len > 7 && memcmp(line, "# TYPE ", 7) == 0;
            if (!help && !type) {
                fail("unknown comment", line, len);
            }
            const char *q = line + 7;
            const char *name = q;
            while (q < le && metric_char(*q, q == name)) {
                q++;
            }
            if (q == name || q == le || *q != ' ') {
                fail("bad name in comment", line, len);
            }
            size_t nlen = (size_t)(q - name);
            q++;
            if (help) {
                size_t ulen;
                unescape(q, le, '\0', om, u, &ulen, line, len);
                if (nlen == 8 && memcmp(name, "fz_gauge", 8) == 0 &&
                    (ulen != strlen(fz->help) || memcmp(u, fz->help, ulen) != 0)) {
                    fail("HELP does not round-trip", line, len);
                }
            }
            continue;
        }
        const char *q = line;
        while (q < le && metric_char(*q, q == line)) {
            q++;
        }
        if (q == line) {
            fail("sample without a name", line, len);
        }
        int is_gauge = (size_t)(q - line) == 8 && memcmp(line, "fz_gauge", 8) == 0;
        if (q < le && *q == '{') {
            q++;
            for (;;) {
                const char *ln = q;
                while (q < le && metric_char(*q, q == ln) && *q != ':') {
                    q++;
                }
                if (q == ln || q + 1 >= le || q[0] != '=' || q[1] != '"') {
                    fail("bad label", line, len);
                }
                int is_a = q - ln == 1 && *ln == 'a';
                size_t ulen;
                q = unescape(q + 2, le, '"', 1, u, &ulen, line, len);
                if (q >= le || *q != '"') {
                    fail("unterminated label value", line, len);
                }
                q++;
                if (is_gauge && is_a) {
                    if (next_expect >= fz->nexpect) {
                        fail("unexpected fz_gauge sample", line, len);
                    }
                    const char *want = fz->expect[next_expect++];
                    if (ulen != strlen(want) || memcmp(u, want, ulen) != 0) {
                        fail("label value does not round-trip", line, len);
                    }
                }
                if (q < le && *q == ',') {
                    q++;
                    continue;
                }
                if (q < le && *q == '}') {
                    q++;
                    break;
                }
                fail("bad label separator", line, len);
            }
        }
        if (q >= le || *q != ' ') {
            fail("no space before the value", line, len);
        }
        q++;
        size_t vlen = (size_t)(le - q);
        char v[64];
        if (vlen == 0 || vlen >= sizeof(v)) {
            fail("bad value length", line, len);
        }
        memcpy(v, q, vlen);
        v[vlen] = '\0';
        if (strcmp(v, "NaN") && strcmp(v, "+Inf") && strcmp(v, "-Inf")) {
            char *e = NULL;
            double d = strtod(v, &e);
            if (*e || isnan(d) || isinf(d)) {
                fail("bad value", line, len);
            }
        }
    }
    if (om && !saw_eof) {
        fail("no # EOF", out, 0);
    }
    if (next_expect != fz->nexpect) {
        fail("fz_gauge samples missing", out, 0);
    }
    free(u);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Duplicates and type clashes are logged; keep the fuzzer's output readable. */
    frond_log_set_level(FROND_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    char *copy = malloc(size + 1);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    struct fz fz = {.help = copy};
    /* Strings: the first is HELP, the rest cut at NUL bytes. */
    const char *p = copy;
    const char *end = copy + size;
    p += strlen(p) + 1;
    while (p < end && fz.nstr < MAX_STRINGS) {
        fz.str[fz.nstr++] = p;
        p += strlen(p) + 1;
    }
    if (fz.nstr == 0) {
        fz.str[fz.nstr++] = "";
    }

    struct frond_registry *reg = frond_registry_new();
    struct frond_buf out;
    frond_buf_init(&out, 1 << 22);
    if (reg && frond_registry_add_collector(reg, collect_fuzz, &fz) == 0) {
        if (frond_registry_render(reg, FROND_EXPO_TEXT, 0, &out) == 0) {
            check_output(&fz, out.data, out.len, 0);
        }
        if (frond_registry_render(reg, FROND_EXPO_OPENMETRICS, 0, &out) == 0) {
            check_output(&fz, out.data, out.len, 1);
        }
        /* The same render in small pieces (as the HTTP server streams it) joins into a valid one.
         */
        struct frond_render *r = NULL;
        if (frond_render_start(reg, FROND_EXPO_OPENMETRICS, 0, 1 << 22, &r) == 0) {
            struct frond_buf piece;
            size_t min = 1 + (unsigned char)copy[0] % 200;
            int more = 1;
            frond_buf_init(&piece, 1 << 22);
            frond_buf_reset(&out);
            while (more == 1) {
                frond_buf_reset(&piece);
                more = frond_render_next(r, &piece, min);
                if (more >= 0 && frond_buf_append(&out, piece.data, piece.len) != 0) {
                    more = -1;
                }
            }
            if (more == 0) {
                check_output(&fz, out.data, out.len, 1);
            }
            frond_buf_cleanup(&piece);
            frond_render_free(r);
        }
    }
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
    free(copy);
    return 0;
}
