/*
 * Unit tests of the exposition building blocks (lib/src/expo.c): the
 * Accept negotiation table, the exact Content-Type strings, escaping of
 * label values and HELP per format, number formatting (shortest
 * round-trip, special values, OpenMetrics canonical `le`) and name
 * validation.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frond/expo.h"

struct neg_case {
    const char *accept;
    enum frond_expo_format want;
};

static const struct neg_case neg_cases[] = {
    {NULL, FROND_EXPO_TEXT},
    {"", FROND_EXPO_TEXT},
    {"text/plain", FROND_EXPO_TEXT},
    {"text/plain; version=0.0.4", FROND_EXPO_TEXT},
    {"application/openmetrics-text", FROND_EXPO_OPENMETRICS},
    {"application/openmetrics-text; version=1.0.0", FROND_EXPO_OPENMETRICS},
    {"application/openmetrics-text; version=0.0.1", FROND_EXPO_OPENMETRICS},
    {"application/openmetrics-text; version=2.0.0", FROND_EXPO_TEXT},
    /* Prometheus 2.x scrape header. */
    {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
     FROND_EXPO_OPENMETRICS},
    /* Prometheus 3.x scrape header (text 1.0.0 is not ours; OpenMetrics has the best q). */
    {"application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;"
     "q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
     FROND_EXPO_OPENMETRICS},
    /* Prometheus with scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]. */
    {"text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,*/*;q=0.1",
     FROND_EXPO_TEXT},
    {"text/plain;q=0.9, application/openmetrics-text;q=1", FROND_EXPO_OPENMETRICS},
    {"application/openmetrics-text;q=0.5, text/plain;q=0.9", FROND_EXPO_TEXT},
    {"application/openmetrics-text;q=0", FROND_EXPO_TEXT},
    {"application/openmetrics-text;q=0.000, text/plain", FROND_EXPO_TEXT},
    {"text/plain;q=0, application/openmetrics-text;q=0.1", FROND_EXPO_OPENMETRICS},
    {"application/openmetrics-text;q=abc", FROND_EXPO_TEXT},
    {"*/*", FROND_EXPO_TEXT},
    {"*", FROND_EXPO_TEXT},
    {"application/*", FROND_EXPO_TEXT},
    {"application/openmetrics-text;q=0.5, */*", FROND_EXPO_TEXT},
    {"application/openmetrics-text;q=0.5, text/*;q=0.4", FROND_EXPO_OPENMETRICS},
    {"APPLICATION/OpenMetrics-Text; Version=1.0.0", FROND_EXPO_OPENMETRICS},
    {"application/openmetrics-text; version=\"1.0.0\"", FROND_EXPO_OPENMETRICS},
    {"  application/openmetrics-text  ;  version = 1.0.0  ;  q = 0.8  ", FROND_EXPO_OPENMETRICS},
    /* Equal q: the first listed wins. */
    {"text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.3",
     FROND_EXPO_TEXT},
    {"application/openmetrics-text;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.3",
     FROND_EXPO_OPENMETRICS},
    /* A browser. */
    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8", FROND_EXPO_TEXT},
    {"application/json", FROND_EXPO_TEXT},
    {"garbage;;;==,,,", FROND_EXPO_TEXT},
    {",,,", FROND_EXPO_TEXT},
    {"application/openmetrics-text;version=1.0.0;q=", FROND_EXPO_TEXT},
    {"application/openmetrics-text;version=1.0.0;q=1e400", FROND_EXPO_OPENMETRICS},
    {"/", FROND_EXPO_TEXT},
    {"application/openmetrics-text;q=nan", FROND_EXPO_TEXT},
    {"a/b;x=\"q=1,application/openmetrics-text\"", FROND_EXPO_TEXT},
};

static void test_negotiate(void)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(neg_cases); i++) {
        enum frond_expo_format got = frond_expo_negotiate(neg_cases[i].accept);
        if (got != neg_cases[i].want) {
            fprintf(stderr, "negotiate case %zu: \"%s\"\n", i,
                    neg_cases[i].accept ? neg_cases[i].accept : "(null)");
        }
        CHECK_INT(got, neg_cases[i].want);
    }
    CHECK(FROND_ARRAY_SIZE(neg_cases) >= 15);
}

static void test_content_type(void)
{
    CHECK_STR(frond_expo_content_type(FROND_EXPO_TEXT), "text/plain; version=0.0.4; charset=utf-8");
    CHECK_STR(frond_expo_content_type(FROND_EXPO_OPENMETRICS),
              "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static void test_escape(void)
{
    struct frond_buf b;
    frond_buf_init(&b, 1 << 20);
    CHECK_INT(frond_expo_escape_label(&b, "a\\b\"c\nd"), 0);
    CHECK_STR(frond_buf_cstr(&b), "a\\\\b\\\"c\\nd");
    frond_buf_reset(&b);
    CHECK_INT(frond_expo_escape_help(&b, "a\\b\"c\nd", FROND_EXPO_TEXT), 0);
    CHECK_STR(frond_buf_cstr(&b), "a\\\\b\"c\\nd");
    frond_buf_reset(&b);
    CHECK_INT(frond_expo_escape_help(&b, "a\\b\"c\nd", FROND_EXPO_OPENMETRICS), 0);
    CHECK_STR(frond_buf_cstr(&b), "a\\\\b\\\"c\\nd");
    /* UTF-8 and even invalid bytes pass through unchanged. */
    frond_buf_reset(&b);
    CHECK_INT(frond_expo_escape_label(&b, "Z\xc3\xbcrich \xe6\x97\xa5\xe6\x9c\xac \xff\xfe"), 0);
    CHECK_STR(frond_buf_cstr(&b), "Z\xc3\xbcrich \xe6\x97\xa5\xe6\x9c\xac \xff\xfe");
    frond_buf_reset(&b);
    CHECK_INT(frond_expo_escape_label(&b, ""), 0);
    CHECK_INT(b.len, 0);
    frond_buf_cleanup(&b);

    /* At the cap: the worst-case reservation fails, the exact size still fits. */
    frond_buf_init(&b, 6);
    CHECK_INT(frond_expo_escape_label(&b, "ab\"c"), 0);
    CHECK_STR(frond_buf_cstr(&b), "ab\\\"c");
    CHECK_INT(frond_expo_escape_label(&b, "\""), -ENOSPC);
    CHECK_STR(frond_buf_cstr(&b), "ab\\\"c");
    frond_buf_cleanup(&b);
}

struct val_case {
    double v;
    const char *text;
    const char *canonical;
};

static void check_value(double v, const char *want, int canonical)
{
    char out[FROND_EXPO_VALUE_MAX + 1];
    size_t n = frond_expo_format_value(out, v, canonical);
    CHECK(n <= FROND_EXPO_VALUE_MAX);
    out[n] = '\0';
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "value %.17g (canonical %d): got %s want %s\n", v, canonical, out, want);
    }
    CHECK_STR(out, want);
}

static void test_values(void)
{
    const struct val_case cases[] = {
        {0.0, "0", "0.0"},
        {-0.0, "0", "0.0"},
        {1.0, "1", "1.0"},
        {-1.0, "-1", "-1.0"},
        {0.5, "0.5", "0.5"},
        {0.1, "0.1", "0.1"},
        {-2.5, "-2.5", "-2.5"},
        {0.001, "0.001", "0.001"},
        {0.005, "0.005", "0.005"},
        {2.5, "2.5", "2.5"},
        {10.0, "10", "10.0"},
        {100.0, "100", "100.0"},
        {123.456, "123.456", "123.456"},
        {1e-7, "0.0000001", "0.0000001"},
        {1.5e-10, "0.00000000015", "0.00000000015"},
        {1234567890123.0, "1234567890123", "1234567890123.0"},
        {999999999999999.0, "999999999999999", "999999999999999.0"},
        {1e15, "1e+15", "1e+15"},
        {9007199254740992.0, "9007199254740992", "9007199254740992.0"},
        {1e21, "1e+21", "1e+21"},
        {1e300, "1e+300", "1e+300"},
        {1.0 / 3.0, "0.3333333333333333", "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"},
        {DBL_MAX, "1.7976931348623157e+308", "1.7976931348623157e+308"},
        {NAN, "NaN", "NaN"},
        {INFINITY, "+Inf", "+Inf"},
        {-INFINITY, "-Inf", "-Inf"},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        check_value(cases[i].v, cases[i].text, 0);
        check_value(cases[i].v, cases[i].canonical, 1);
    }

    struct frond_buf b;
    frond_buf_init(&b, 64);
    CHECK_INT(frond_expo_value(&b, 42.25), 0);
    CHECK_STR(frond_buf_cstr(&b), "42.25");
    frond_buf_cleanup(&b);
}

/* Significant digits of a decimal string, without leading or trailing zeros. */
static int sig_digits(const char *s)
{
    const char *e = strchr(s, 'e');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char digits[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof(digits); i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            digits[k++] = s[i];
        }
    }
    size_t lo = 0;
    while (lo < k && digits[lo] == '0') {
        lo++;
    }
    while (k > lo && digits[k - 1] == '0') {
        k--;
    }
    return (int)(k - lo);
}

/*
 * Random doubles (random bit patterns and random short decimals): every
 * output reads back as the same double and is never longer, in significant
 * digits, than the shortest %.Ng that round-trips.
 */
static void test_values_roundtrip(void)
{
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 10; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (i % 2) {
            memcpy(&v, &x, sizeof(v));
        } else {
            /* Values like the ones exporters produce: a few decimal places. */
            v = (double)(int64_t)(x % 2000000001ull - 1000000000ll) / pow(10, (double)(x >> 60));
        }
        if (isnan(v) || isinf(v)) {
            continue;
        }
        char out[FROND_EXPO_VALUE_MAX + 1];
        size_t n = frond_expo_format_value(out, v, 0);
        out[n] = '\0';
        char *end = NULL;
        double back = strtod(out, &end);
        int ok = *end == '\0' && back == v;
        if (ok && fabs(v) >= DBL_MIN) {
            char ref[64];
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(ref, sizeof(ref), "%.*g", prec, v);
                if (strtod(ref, NULL) == v) {
                    break;
                }
            }
            ok = sig_digits(out) <= sig_digits(ref);
        }
        if (!ok) {
            fprintf(stderr, "value %.17g formatted as %s\n", v, out);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
}

static void test_names(void)
{
    CHECK(frond_expo_valid_metric_name("foo"));
    CHECK(frond_expo_valid_metric_name("_foo_bar:baz1"));
    CHECK(frond_expo_valid_metric_name(":a"));
    CHECK(!frond_expo_valid_metric_name(""));
    CHECK(!frond_expo_valid_metric_name(NULL));
    CHECK(!frond_expo_valid_metric_name("1foo"));
    CHECK(!frond_expo_valid_metric_name("foo-bar"));
    CHECK(!frond_expo_valid_metric_name("f\xc3\xb6o"));
    CHECK(!frond_expo_valid_metric_name("foo bar"));
    CHECK(frond_expo_valid_label_name("le"));
    CHECK(frond_expo_valid_label_name("_x9"));
    CHECK(!frond_expo_valid_label_name("a:b"));
    CHECK(!frond_expo_valid_label_name("9a"));
    CHECK(!frond_expo_valid_label_name(""));
}

static void test_writers(void)
{
    struct frond_buf b;
    frond_buf_init(&b, 1 << 16);
    const struct frond_expo_label l[] = {{"path", "a\"b\\c\nd", 4, 7}, {"k", "v", 1, 1}};
    const struct frond_expo_family counter = {"req_total", 9, FROND_COUNTER, "Help \"x\"", 8};
    const struct frond_expo_family odd = {"odd", 3, FROND_COUNTER, NULL, 0};
    const struct frond_expo_family info = {"b_info", 6, FROND_INFO, "", 0};
    const struct frond_expo_family hist = {"lat", 3, FROND_HISTOGRAM, "L", 1};

    CHECK_INT(frond_expo_write_header(&b, FROND_EXPO_TEXT, &counter), 0);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_TEXT, &counter, l, 2, 3), 0);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_TEXT, &odd, NULL, 0, 1), 0);
    CHECK_INT(frond_expo_write_header(&b, FROND_EXPO_TEXT, &info), 0);
    CHECK_INT(frond_expo_write_end(&b, FROND_EXPO_TEXT), 0);
    CHECK_STR(frond_buf_cstr(&b), "# HELP req_total Help \"x\"\n"
                                  "# TYPE req_total counter\n"
                                  "req_total{path=\"a\\\"b\\\\c\\nd\",k=\"v\"} 3\n"
                                  "odd 1\n"
                                  "# TYPE b_info gauge\n");
    frond_buf_reset(&b);
    CHECK_INT(frond_expo_write_header(&b, FROND_EXPO_OPENMETRICS, &counter), 0);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_OPENMETRICS, &counter, l + 1, 1, 3), 0);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_OPENMETRICS, &odd, NULL, 0, 1), 0);
    CHECK_INT(frond_expo_write_header(&b, FROND_EXPO_OPENMETRICS, &info), 0);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_OPENMETRICS, &info, l + 1, 1, 1), 0);
    const double bounds[] = {0.25, 1, 1e20};
    const double cum[] = {1, 2, 3};
    CHECK_INT(frond_expo_write_histogram(&b, FROND_EXPO_OPENMETRICS, &hist, NULL, 0, bounds, cum, 3,
                                         2.5, 4),
              0);
    CHECK_INT(frond_expo_write_end(&b, FROND_EXPO_OPENMETRICS), 0);
    CHECK_STR(frond_buf_cstr(&b), "# HELP req Help \\\"x\\\"\n"
                                  "# TYPE req counter\n"
                                  "req_total{k=\"v\"} 3\n"
                                  "odd_total 1\n"
                                  "# TYPE b info\n"
                                  "b_info{k=\"v\"} 1\n"
                                  "lat_bucket{le=\"0.25\"} 1\n"
                                  "lat_bucket{le=\"1.0\"} 2\n"
                                  "lat_bucket{le=\"1e+20\"} 3\n"
                                  "lat_bucket{le=\"+Inf\"} 4\n"
                                  "lat_sum 2.5\n"
                                  "lat_count 4\n"
                                  "# EOF\n");
    frond_buf_cleanup(&b);

    /* A line that fits the cap exactly, though its worst case does not: written. */
    const struct frond_expo_family g = {"a", 1, FROND_GAUGE, NULL, 0};
    const struct frond_expo_label q[] = {{"l", "\"", 1, 1}};
    frond_buf_init(&b, 12);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_TEXT, &g, q, 1, 1), 0);
    CHECK_STR(frond_buf_cstr(&b), "a{l=\"\\\"\"} 1\n");
    frond_buf_cleanup(&b);
    frond_buf_init(&b, 11);
    CHECK_INT(frond_expo_write_sample(&b, FROND_EXPO_TEXT, &g, q, 1, 1), -ENOSPC);
    CHECK_INT(b.len, 0);
    frond_buf_cleanup(&b);
}

int main(void)
{
    test_negotiate();
    test_content_type();
    test_escape();
    test_values();
    test_values_roundtrip();
    test_names();
    test_writers();
    return check_done("test_expo");
}
