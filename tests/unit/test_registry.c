/*
 * Unit tests of the metrics registry (lib/src/registry*.c): golden output
 * of both formats for every metric type and every escaping case, empty
 * families, duplicates (first kept, counted, logged once), sorting and
 * contiguity, collector failures, name validation, output caps, rendering
 * a piece at a time, and concurrent updates and scrapes.
 *
 * FROND_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing;
 * review the diff before committing them.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frond/expo.h"
#include "frond/log.h"
#include "frond/registry.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "golden"
#endif

/* ---- helpers ---- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    struct frond_buf b;
    frond_buf_init(&b, 1 << 24);
    char chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && !rc) {
        rc = frond_buf_append(&b, chunk, n);
    }
    fclose(f);
    if (rc || frond_buf_putc(&b, '\0') != 0) {
        frond_buf_cleanup(&b);
        return NULL;
    }
    return frond_buf_take(&b, NULL);
}

static void check_golden(const char *name, const char *got)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
    const char *update = getenv("FROND_UPDATE_GOLDEN");
    if (update && *update == '1') {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            fputs(got, f);
            fclose(f);
        }
        return;
    }
    char *want = read_file(path);
    CHECK(want != NULL);
    if (want && strcmp(want, got) != 0) {
        fprintf(stderr, "golden %s differs; got:\n%s\n", path, got);
    }
    CHECK(want && strcmp(want, got) == 0);
    free(want);
}

/* Log output goes to a temporary file so tests can count warnings. */
static FILE *log_file;

static void log_capture(void)
{
    log_file = tmpfile();
    CHECK(log_file != NULL);
    if (log_file) {
        frond_log_set_fd(fileno(log_file));
    }
}

static int log_count(const char *needle)
{
    if (!log_file) {
        return -1;
    }
    fflush(log_file);
    rewind(log_file);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), log_file)) {
        n += strstr(line, needle) != NULL;
    }
    fseek(log_file, 0, SEEK_END);
    return n;
}

static void log_release(void)
{
    frond_log_set_fd(2);
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
}

static int render(struct frond_registry *reg, enum frond_expo_format fmt, struct frond_buf *out)
{
    return frond_registry_render(reg, fmt, 0, out);
}

/* ---- the golden registry: every type, every escape, every corner ---- */

static int collect_main(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    struct frond_family *f;

    f = frond_scrape_family(s, "zz_escapes", FROND_GAUGE,
                            "Help with \\ backslash, \"quotes\" and\na second line.");
    frond_scrape_sample(s, f, 1, {"path", "C:\\dir\\\"quoted\""});
    frond_scrape_sample(s, f, 2, {"path", "line1\nline2"});
    frond_scrape_sample(s, f, 3, {"path", "Z\xc3\xbcrich \xe6\x97\xa5\xe6\x9c\xac"});
    frond_scrape_sample(s, f, 4, {"path", ""});

    f = frond_scrape_family(s, "special_values", FROND_GAUGE, "NaN, infinities and friends.");
    frond_scrape_sample(s, f, NAN, {"kind", "nan"});
    frond_scrape_sample(s, f, INFINITY, {"kind", "pinf"});
    frond_scrape_sample(s, f, -INFINITY, {"kind", "ninf"});
    frond_scrape_sample(s, f, -0.0, {"kind", "neg_zero"});
    frond_scrape_sample(s, f, 1e-9, {"kind", "tiny"});
    frond_scrape_sample(s, f, 1.5e300, {"kind", "big"});
    frond_scrape_sample(s, f, 0.1 + 0.2, {"kind", "inexact"});
    frond_scrape_sample(s, f, 1234567, {"kind", "integer"});

    /* Opened, never filled: must not appear at all. */
    frond_scrape_family(s, "empty_family", FROND_GAUGE, "Nothing here.");

    f = frond_scrape_family(s, "dup_values", FROND_GAUGE, "Duplicates: the first is kept.");
    frond_scrape_sample(s, f, 1, {"a", "1"}, {"b", "2"});
    frond_scrape_sample(s, f, 2, {"b", "2"}, {"a", "1"});
    frond_scrape_sample(s, f, 3, {"a", "1"});
    frond_scrape_sample(s, f, 4, {"a", "1"}, {"b", "2"});

    /* Reopened after another family: still rendered contiguously. */
    f = frond_scrape_family(s, "reopened", FROND_GAUGE, "Opened twice by one collector.");
    frond_scrape_sample(s, f, 1, {"x", "1"});
    f = frond_scrape_family(s, "aaa_first", FROND_GAUGE, "Sorted first.");
    frond_scrape_sample0(s, f, 1);
    f = frond_scrape_family(s, "reopened", FROND_GAUGE, NULL);
    frond_scrape_sample(s, f, 2, {"x", "2"});

    f = frond_scrape_family(s, "service_state", FROND_STATESET, "State of each service.");
    static const char *const states[] = {"starting", "running", "stopped"};
    struct frond_label api[] = {{"svc", "api"}};
    struct frond_label db[] = {{"svc", "db"}};
    CHECK_INT(frond_scrape_stateset(s, f, 1, api, states, 3, "running"), 0);
    CHECK_INT(frond_scrape_stateset(s, f, 1, db, states, 3, NULL), 0);

    f = frond_scrape_family(s, "frond_test_info", FROND_INFO, "Version information.");
    frond_scrape_sample(s, f, 1, {"version", "1.2.3"}, {"commit", "abc"});
    f = frond_scrape_family(s, "build", FROND_INFO, "Info declared without the _info suffix.");
    frond_scrape_sample(s, f, 1, {"version", "2"});

    f = frond_scrape_family(s, "legacy_untyped", FROND_UNTYPED, "An untyped metric.");
    frond_scrape_sample0(s, f, 7);

    f = frond_scrape_family(s, "rpc_duration_seconds", FROND_HISTOGRAM, "RPC latency.");
    const double bounds[] = {0.005, 1, 10};
    const double counts[] = {1, 5, 9};
    struct frond_label svc[] = {{"service", "x"}};
    CHECK_INT(frond_scrape_histogramv(s, f, 1, svc, bounds, counts, 3, 42.5, 10), 0);
    return 0;
}

/* Fails half-way: what it added before failing is kept. */
static int collect_failing(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    struct frond_family *f = frond_scrape_family(s, "partial_values", FROND_GAUGE, "Kept.");
    frond_scrape_sample0(s, f, 1);
    return -EIO;
}

/* Opens a direct metric's name with another type: refused, logged once. */
static int collect_clash(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    struct frond_family *f =
        frond_scrape_family(s, "app_temperature_celsius", FROND_COUNTER, "Clash.");
    CHECK(f == NULL);
    CHECK_INT(frond_scrape_sample0(s, f, 1), -EINVAL);
    return 0;
}

static void test_golden(void)
{
    struct frond_registry *reg = frond_registry_new();
    CHECK(reg != NULL);
    if (!reg) {
        return;
    }
    static const char *const req_labels[] = {"method", "code", NULL};
    struct frond_metric *req =
        frond_registry_counter(reg, "app_requests_total", "Requests handled.", req_labels);
    CHECK(req != NULL);
    static const char *const get200[] = {"GET", "200"};
    static const char *const post500[] = {"POST", "500"};
    frond_series_add(frond_metric_series(req, get200), 3);
    frond_series_inc(frond_metric_series(req, post500));
    frond_series_add(frond_metric_series(req, post500), -5); /* ignored: counters only go up */

    struct frond_metric *temp =
        frond_registry_gauge(reg, "app_temperature_celsius", "Temperature.", NULL);
    frond_series_set(frond_metric_series(temp, NULL), -2.5);

    static const char *const route_labels[] = {"route", NULL};
    static const double buckets[] = {0.1, 0.5, 1, 2.5};
    struct frond_metric *lat =
        frond_registry_histogram(reg, "app_latency_seconds", "Latency.", route_labels, buckets, 4);
    CHECK(lat != NULL);
    static const char *const route_a[] = {"/a"};
    struct frond_series *la = frond_metric_series(lat, route_a);
    frond_series_observe(la, 0.05);
    frond_series_observe(la, 0.3);
    frond_series_observe(la, 0.5); /* on the bound: le is inclusive */
    frond_series_observe(la, 0.7);
    frond_series_observe(la, 3);
    CHECK_DBL(frond_series_value(la), 5);

    /* Declared with labels but no series: an empty family, omitted. */
    static const char *const x_labels[] = {"x", NULL};
    CHECK(frond_registry_counter(reg, "app_unused_total", "Never used.", x_labels) != NULL);

    /* A series that comes and goes. */
    static const char *const gone[] = {"gone"};
    struct frond_metric *q = frond_registry_gauge(reg, "app_queue_depth", "Depth.", x_labels);
    frond_series_set(frond_metric_series(q, gone), 9);
    frond_metric_remove(q, gone);
    static const char *const kept[] = {"kept"};
    frond_series_set(frond_metric_series(q, kept), 1);

    CHECK_INT(frond_registry_add_collector(reg, collect_main, NULL), 0);
    CHECK_INT(frond_registry_add_collector(reg, collect_failing, NULL), 0);
    CHECK_INT(frond_registry_add_collector(reg, collect_clash, NULL), 0);

    log_capture();
    struct frond_buf out;
    frond_buf_init(&out, 1 << 20);
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    check_golden("registry.txt", frond_buf_cstr(&out));
    CHECK(strstr(frond_buf_cstr(&out), "frond_registry_duplicate_series_total 2\n") != NULL);

    CHECK_INT(render(reg, FROND_EXPO_OPENMETRICS, &out), 0);
    check_golden("registry.om.txt", frond_buf_cstr(&out));
    CHECK(strstr(frond_buf_cstr(&out), "frond_registry_duplicate_series_total 4\n") != NULL);

    /* Logged once per family however many scrapes find the duplicates. */
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    CHECK_INT(log_count("duplicate series"), 1);
    CHECK_INT(log_count("family=dup_values"), 1);
    CHECK_INT(log_count("two types"), 1);
    /* A failing collector is logged at every scrape. */
    CHECK_INT(log_count("collector failed"), 3);
    log_release();
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
}

/* ---- contracts: names, types, limits ---- */

static int collect_invalid(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    struct frond_family *f;
    CHECK(frond_scrape_family(s, "1bad", FROND_GAUGE, "x") == NULL);
    CHECK(frond_scrape_family(s, "ok", 99, "x") == NULL);
    CHECK(frond_scrape_family(s, "has:colon", FROND_STATESET, "x") == NULL);
    struct frond_family *g = frond_scrape_family(s, "ok", FROND_GAUGE, "x");
    CHECK(g != NULL);
    CHECK_INT(frond_scrape_sample(s, g, 1, {"bad-name", "v"}), -EINVAL);
    CHECK_INT(frond_scrape_sample(s, g, 1, {"a", "1"}, {"a", "2"}), -EINVAL);
    CHECK_INT(frond_scrape_sample(s, g, 1, {NULL, "v"}), -EINVAL);
    CHECK_INT(frond_scrape_sample(s, g, 1, {"a", NULL}), 0); /* NULL value is "" */
    struct frond_label many[FROND_MAX_LABELS + 1];
    for (size_t i = 0; i < FROND_ARRAY_SIZE(many); i++) {
        many[i].name = "l";
        many[i].value = "v";
    }
    CHECK_INT(frond_scrape_samplev(s, g, 1, FROND_ARRAY_SIZE(many), many), -EINVAL);
    static const char *const st[] = {"a"};
    CHECK_INT(frond_scrape_stateset(s, g, 0, NULL, st, 1, "a"), -EINVAL);

    struct frond_family *h = frond_scrape_family(s, "hist", FROND_HISTOGRAM, "x");
    CHECK_INT(frond_scrape_sample0(s, h, 1), -EINVAL);
    const double unsorted[] = {1, 0.5};
    const double counts[] = {1, 2};
    CHECK_INT(frond_scrape_histogramv(s, h, 0, NULL, unsorted, counts, 2, 1, 2), -EINVAL);
    struct frond_label le[] = {{"le", "1"}};
    const double sorted[] = {0.5, INFINITY};
    CHECK_INT(frond_scrape_histogramv(s, h, 1, le, sorted, counts, 2, 1, 2), -EINVAL);
    CHECK_INT(frond_scrape_histogramv(s, h, 0, NULL, sorted, counts, 2, 1.5, 2), 0);

    /* Outside the golden files because promtool's lint rejects them, though valid. */
    f = frond_scrape_family(s, "odd_counter", FROND_COUNTER, "Counter without _total.");
    frond_scrape_sample0(s, f, 5);
    f = frond_scrape_family(s, "no_help", FROND_GAUGE, NULL);
    frond_scrape_sample0(s, f, 0.25);

    struct frond_family *ss = frond_scrape_family(s, "state", FROND_STATESET, "x");
    struct frond_label self[] = {{"state", "x"}};
    CHECK_INT(frond_scrape_stateset(s, ss, 1, self, st, 1, "a"), -EINVAL);
    CHECK_INT(frond_scrape_sample0(s, ss, 1), -EINVAL);
    return 0;
}

static void test_contracts(void)
{
    struct frond_registry *reg = frond_registry_new();
    static const char *const le[] = {"le", NULL};
    static const char *const twice[] = {"a", "a", NULL};
    static const char *const bad[] = {"a-b", NULL};
    static const double unsorted[] = {1, 1};
    log_capture();
    CHECK(frond_registry_counter(reg, "1bad", "x", NULL) == NULL);
    CHECK(frond_registry_counter(reg, NULL, "x", NULL) == NULL);
    CHECK(frond_registry_histogram(reg, "h", "x", le, NULL, 0) == NULL);
    CHECK(frond_registry_gauge(reg, "g", "x", twice) == NULL);
    CHECK(frond_registry_gauge(reg, "g", "x", bad) == NULL);
    CHECK(frond_registry_histogram(reg, "h", "x", NULL, unsorted, 2) == NULL);
    CHECK(frond_registry_gauge(reg, "g", "x", NULL) != NULL);
    CHECK(frond_registry_gauge(reg, "g", "x", NULL) == NULL);
    CHECK(frond_registry_counter(reg, "frond_registry_duplicate_series_total", "x", NULL) == NULL);
    log_release();

    /* An explicit +Inf bucket is the implicit one: rendered once. */
    static const double with_inf[] = {1, INFINITY};
    struct frond_metric *h = frond_registry_histogram(reg, "h", "x", NULL, with_inf, 2);
    CHECK(h != NULL);
    frond_series_observe(frond_metric_series(h, NULL), NAN);
    frond_series_observe(frond_metric_series(h, NULL), 0.5);
    /* Wrong-type updates do nothing. */
    frond_series_set(frond_metric_series(h, NULL), 100);
    frond_series_observe(frond_metric_series(frond_registry_gauge(reg, "g2", "x", NULL), NULL), 1);
    CHECK_INT(frond_registry_add_collector(reg, NULL, NULL), -EINVAL);
    CHECK_INT(frond_registry_add_collector(reg, collect_invalid, NULL), 0);

    struct frond_buf out;
    frond_buf_init(&out, 1 << 20);
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    const char *txt = frond_buf_cstr(&out);
    CHECK(strstr(txt, "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum NaN\nh_count 2\n"));
    CHECK(strstr(txt, "g2 0\n") != NULL);
    CHECK(strstr(txt, "ok{a=\"\"} 1\n") != NULL);
    CHECK(strstr(txt, "hist_bucket{le=\"0.5\"} 1\nhist_bucket{le=\"+Inf\"} 2\n") != NULL);
    CHECK(strstr(txt, "# TYPE odd_counter counter\nodd_counter 5\n") != NULL);
    CHECK(strstr(txt, "\n# TYPE no_help gauge\nno_help 0.25\n") != NULL);
    CHECK_INT(render(reg, FROND_EXPO_OPENMETRICS, &out), 0);
    txt = frond_buf_cstr(&out);
    CHECK(strstr(txt, "h_bucket{le=\"1.0\"} 1\n") != NULL);
    CHECK(strstr(txt, "# TYPE odd_counter counter\nodd_counter_total 5\n") != NULL);

    /* A cap too small for the output: -ENOSPC, and the registry is fine afterwards. */
    struct frond_buf small;
    frond_buf_init(&small, 64);
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &small), -ENOSPC);
    frond_buf_cleanup(&small);
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    CHECK_INT(frond_registry_render(NULL, FROND_EXPO_TEXT, 0, &out), -EINVAL);

    frond_buf_cleanup(&out);
    frond_registry_free(reg);
    frond_registry_free(NULL);
}

/* Adds 1 MiB label values until the scrape's memory bound refuses one. */
static int huge_rc;

static int collect_huge(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    size_t n = 1u << 20;
    char *v = malloc(n + 1);
    if (!v) {
        return -ENOMEM;
    }
    memset(v, 'x', n);
    v[n] = '\0';
    struct frond_family *f = frond_scrape_family(s, "huge", FROND_GAUGE, "Huge.");
    huge_rc = 0;
    for (int i = 0; i < 40 && !huge_rc; i++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", i);
        v[0] = (char)('a' + i % 26); /* distinct values: no shared copy */
        v[1] = (char)('a' + i / 26);
        huge_rc = frond_scrape_sample(s, f, i, {"k", k}, {"v", v});
    }
    free(v);
    return huge_rc;
}

static void test_scrape_bound(void)
{
    struct frond_registry *reg = frond_registry_new();
    CHECK_INT(frond_registry_add_collector(reg, collect_huge, NULL), 0);
    struct frond_buf out;
    /* A 64-byte cap bounds the scrape's memory at 4 x 64 B + 16 MiB. */
    frond_buf_init(&out, 64);
    log_capture();
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), -ENOSPC);
    log_release();
    CHECK_INT(huge_rc, -ENOSPC);
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
}

static double seen_deadline;

static int collect_deadline(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    seen_deadline = frond_scrape_deadline(s);
    return 0;
}

static void test_deadline(void)
{
    struct frond_registry *reg = frond_registry_new();
    CHECK_INT(frond_registry_add_collector(reg, collect_deadline, NULL), 0);
    struct frond_buf out;
    frond_buf_init(&out, 1 << 20);
    CHECK_INT(frond_registry_render(reg, FROND_EXPO_TEXT, 1234.5, &out), 0);
    CHECK_DBL(seen_deadline, 1234.5);
    double now = frond_now_monotonic();
    CHECK_INT(frond_registry_render(reg, FROND_EXPO_TEXT, 0, &out), 0);
    CHECK(seen_deadline > now + 60);
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
}

/* ---- a collector that updates a direct metric: seen in the same render ---- */

struct same_scrape {
    struct frond_series *errors;
    struct frond_metric *up;
};

static int collect_counts_error(struct frond_scrape *s, void *ctx)
{
    struct same_scrape *st = ctx;
    /* As an exporter does on a failed backend call: count it, then report up 0. */
    frond_series_inc(st->errors);
    frond_series_set(frond_metric_series(st->up, NULL), 0);
    /* The same series as the direct gauge: the direct value must win (first kept). */
    struct frond_family *f = frond_scrape_family(s, "same_up", FROND_GAUGE, NULL);
    CHECK_INT(frond_scrape_samplev(s, f, 7, 0, NULL), 0);
    f = frond_scrape_family(s, "same_up", FROND_GAUGE, NULL);
    static const struct frond_label extra[] = {{"from", "collector"}};
    CHECK_INT(frond_scrape_samplev(s, f, 5, 1, extra), 0);
    return 0;
}

static void test_direct_after_collectors(void)
{
    struct frond_registry *reg = frond_registry_new();
    struct same_scrape st;
    st.errors = frond_metric_series(
        frond_registry_counter(reg, "same_errors_total", "Errors.", NULL), NULL);
    st.up = frond_registry_gauge(reg, "same_up", "Up.", NULL);
    frond_series_set(frond_metric_series(st.up, NULL), 1);
    CHECK_INT(frond_registry_add_collector(reg, collect_counts_error, &st), 0);
    struct frond_buf out;
    frond_buf_init(&out, 1 << 20);
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    const char *txt = frond_buf_cstr(&out);
    /* Before the fix the snapshot preceded the collectors: 0 errors and up 1. */
    CHECK(strstr(txt, "\nsame_errors_total 1\n") != NULL);
    CHECK(strstr(txt, "# TYPE same_up gauge\nsame_up 0\nsame_up{from=\"collector\"} 5\n") != NULL);
    CHECK(strstr(txt, "same_up 7") == NULL);
    CHECK(strstr(txt, "frond_registry_duplicate_series_total 1\n") != NULL);
    /* The next render counts once more, not twice. */
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    CHECK(strstr(frond_buf_cstr(&out), "\nsame_errors_total 2\n") != NULL);
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
}

/* ---- scale: many series (past 2 MiB of arena: huge-page chunks), many duplicates ---- */

static int collect_many(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    struct frond_family *f = frond_scrape_family(s, "many", FROND_GAUGE, "Many.");
    char a[32], b[32];
    for (int i = 0; i < 60000; i++) {
        /* Every 10th series repeats the one before (same labels, other order). */
        int k = i % 10 == 9 ? i - 1 : i;
        snprintf(a, sizeof(a), "a%d", k);
        snprintf(b, sizeof(b), "b%d", k % 7);
        if (i % 10 == 9) {
            frond_scrape_sample(s, f, i, {"y", b}, {"x", a});
        } else {
            frond_scrape_sample(s, f, i, {"x", a}, {"y", b});
        }
    }
    return 0;
}

static void test_many(void)
{
    struct frond_registry *reg = frond_registry_new();
    CHECK_INT(frond_registry_add_collector(reg, collect_many, NULL), 0);
    struct frond_buf out;
    frond_buf_init(&out, 1 << 24);
    log_capture();
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    log_release();
    size_t lines = 0;
    for (size_t i = 0; i < out.len; i++) {
        lines += out.data[i] == '\n';
    }
    /* 54000 kept series, 2 header lines, and the duplicate counter family (3 lines). */
    CHECK_INT(lines, 54000 + 2 + 3);
    CHECK(strstr(frond_buf_cstr(&out), "frond_registry_duplicate_series_total 6000\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "many{x=\"a8\",y=\"b1\"} 8\nmany{x=\"a10\"") != NULL);
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
}

/* ---- rendering a piece at a time ---- */

static int collect_pieces(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    static const char *const fams[] = {"piece_b", "piece_a", "piece_c"};
    for (size_t f = 0; f < 3; f++) {
        struct frond_family *fam = frond_scrape_family(s, fams[f], FROND_GAUGE, "Pieces.");
        for (int i = 0; i < 2000; i++) {
            char v[16];
            snprintf(v, sizeof(v), "v%d", i);
            int rc = frond_scrape_sample(s, fam, i, {"k", v});
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

/* Concatenated pieces of any size equal the whole render, in both formats; the byte cap holds. */
static void test_pieces(void)
{
    struct frond_registry *reg = frond_registry_new();
    CHECK_INT(frond_registry_add_collector(reg, collect_pieces, NULL), 0);
    static const char *const lab[] = {"route", NULL};
    static const double buckets[] = {1, 2};
    struct frond_metric *h = frond_registry_histogram(reg, "piece_h", "Hist.", lab, buckets, 2);
    static const char *const route[] = {"/x"};
    frond_series_observe(frond_metric_series(h, route), 1.5);
    static const size_t mins[] = {1, 100, 4096, 65536, SIZE_MAX};
    for (int fmt = 0; fmt < 2; fmt++) {
        struct frond_buf whole, joined, piece;
        frond_buf_init(&whole, 1 << 24);
        frond_buf_init(&joined, 1 << 24);
        frond_buf_init(&piece, 1 << 24);
        CHECK_INT(render(reg, (enum frond_expo_format)fmt, &whole), 0);
        for (size_t m = 0; m < sizeof(mins) / sizeof(mins[0]); m++) {
            struct frond_render *r = NULL;
            frond_buf_reset(&joined);
            CHECK_INT(frond_render_start(reg, (enum frond_expo_format)fmt, 0, 1 << 24, &r), 0);
            int more = 1, pieces = 0;
            while (more == 1 && r) {
                frond_buf_reset(&piece);
                more = frond_render_next(r, &piece, mins[m]);
                /* A piece stops at the first line that reaches `min`, or at the end. */
                CHECK(more != 1 || piece.len >= mins[m]);
                CHECK_INT(frond_buf_append(&joined, piece.data, piece.len), 0);
                pieces++;
            }
            CHECK_INT(more, 0);
            CHECK_INT(frond_render_next(r, &piece, 1), 0); /* done stays done */
            frond_render_free(r);
            CHECK(pieces > (mins[m] == 1 ? 6000 : 0));
            CHECK_INT(joined.len, whole.len);
            CHECK(joined.len == whole.len && memcmp(joined.data, whole.data, whole.len) == 0);
        }
        /* Past max_bytes the render fails instead of going on. */
        struct frond_render *r = NULL;
        CHECK_INT(frond_render_start(reg, (enum frond_expo_format)fmt, 0, 1000, &r), 0);
        int rc = 1;
        while (rc == 1) {
            frond_buf_reset(&piece);
            rc = frond_render_next(r, &piece, 100);
        }
        CHECK_INT(rc, -ENOSPC);
        frond_render_free(r);
        frond_buf_cleanup(&whole);
        frond_buf_cleanup(&joined);
        frond_buf_cleanup(&piece);
    }
    frond_registry_free(reg);
}

/* ---- concurrency: updates, series churn and scrapes at the same time ---- */

#define UPDATERS 4
#define UPDATES 20000

struct conc {
    struct frond_registry *reg;
    struct frond_metric *counter;
    struct frond_metric *hist;
    struct frond_metric *churn;
    struct frond_series *shared;
    int id;
    int scrapes;
    int errors;
    volatile int *done;
};

static void *updater(void *arg)
{
    struct conc *c = arg;
    char name[32];
    snprintf(name, sizeof(name), "t%d", c->id);
    const char *values[] = {name};
    struct frond_series *own = frond_metric_series(c->counter, values);
    struct frond_series *h = frond_metric_series(c->hist, NULL);
    for (int i = 0; i < UPDATES; i++) {
        frond_series_inc(c->shared);
        frond_series_add(own, 0.5);
        frond_series_observe(h, (double)(i % 4));
        if (i % 100 == 0) {
            char churn[32];
            snprintf(churn, sizeof(churn), "c%d_%d", c->id, i);
            const char *cv[] = {churn};
            frond_series_set(frond_metric_series(c->churn, cv), i);
            if (i % 200 == 0) {
                frond_metric_remove(c->churn, cv);
            }
        }
    }
    return NULL;
}

static int collect_conc(struct frond_scrape *s, void *ctx)
{
    (void)ctx;
    struct frond_family *f = frond_scrape_family(s, "conc_collected", FROND_GAUGE, "x");
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        frond_scrape_sample(s, f, i, {"i", v});
    }
    return 0;
}

static void *scraper(void *arg)
{
    struct conc *c = arg;
    struct frond_buf out;
    frond_buf_init(&out, 1 << 24);
    while (!*c->done || c->scrapes < 5) {
        enum frond_expo_format fmt = c->scrapes % 2 ? FROND_EXPO_OPENMETRICS : FROND_EXPO_TEXT;
        if (render(c->reg, fmt, &out) != 0 ||
            !strstr(frond_buf_cstr(&out), "conc_collected{i=\"99\"} 99\n")) {
            c->errors++;
        }
        c->scrapes++;
    }
    frond_buf_cleanup(&out);
    return NULL;
}

static void test_concurrency(void)
{
    struct frond_registry *reg = frond_registry_new();
    static const char *const t_labels[] = {"thread", NULL};
    static const double b[] = {1, 2};
    struct conc base = {
        .reg = reg,
        .counter = frond_registry_counter(reg, "conc_total", "x", t_labels),
        .hist = frond_registry_histogram(reg, "conc_hist", "x", NULL, b, 2),
        .churn = frond_registry_gauge(reg, "conc_churn", "x", t_labels),
    };
    struct frond_metric *shared = frond_registry_counter(reg, "conc_shared_total", "x", NULL);
    base.shared = frond_metric_series(shared, NULL);
    CHECK_INT(frond_registry_add_collector(reg, collect_conc, NULL), 0);
    volatile int done = 0;
    base.done = &done;

    pthread_t up[UPDATERS], sc[2];
    struct conc uc[UPDATERS], scc[2];
    for (int i = 0; i < 2; i++) {
        scc[i] = base;
        pthread_create(&sc[i], NULL, scraper, &scc[i]);
    }
    for (int i = 0; i < UPDATERS; i++) {
        uc[i] = base;
        uc[i].id = i;
        pthread_create(&up[i], NULL, updater, &uc[i]);
    }
    for (int i = 0; i < UPDATERS; i++) {
        pthread_join(up[i], NULL);
    }
    __atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2; i++) {
        pthread_join(sc[i], NULL);
        CHECK_INT(scc[i].errors, 0);
        CHECK(scc[i].scrapes >= 5);
    }
    CHECK_DBL(frond_series_value(base.shared), UPDATERS * UPDATES);
    CHECK_DBL(frond_series_value(frond_metric_series(base.hist, NULL)), UPDATERS * UPDATES);
    struct frond_buf out;
    frond_buf_init(&out, 1 << 24);
    CHECK_INT(render(reg, FROND_EXPO_TEXT, &out), 0);
    CHECK(strstr(frond_buf_cstr(&out), "conc_shared_total 80000\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "conc_total{thread=\"t3\"} 10000\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "conc_hist_bucket{le=\"1\"} 40000\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "conc_hist_sum 120000\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "conc_churn{thread=\"c0_100\"} 100\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "conc_churn{thread=\"c0_200\"}") == NULL);
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
}

int main(void)
{
    test_golden();
    test_contracts();
    test_deadline();
    test_direct_after_collectors();
    test_scrape_bound();
    test_many();
    test_pieces();
    test_concurrency();
    return check_done("test_registry");
}
