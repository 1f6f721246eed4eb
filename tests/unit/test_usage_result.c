/*
 * Unit tests of the result -> sample rules of the usage exporter (see
 * exporters/usage/result.h): every value type, every label type, missing
 * fields, duplicates, the sample limit and the empty-result sample.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "result.h"

static bson_t *doc(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (!b) {
        fprintf(stderr, "bad test json %s: %s\n", json, e.message);
    }
    return b;
}

/* Value of field "v" in a JSON document, or -1000 - reason. */
static double value_of(const char *json)
{
    bson_t *b = doc(json);
    bson_iter_t it;
    double v = 0;
    enum usage_skip why = USAGE_SKIP_MISSING;
    int r = -EINVAL;
    if (b && bson_iter_init_find(&it, b, "v")) {
        r = usage_value_of(&it, &v, &why);
    }
    bson_destroy(b);
    return r ? -1000 - (double)why : v;
}

static char label_buf[2048];

static const char *label_of(const char *json)
{
    bson_t *b = doc(json);
    bson_iter_t it;
    struct frond_buf out;
    frond_buf_init(&out, 4096);
    label_buf[0] = '\0';
    if (b && bson_iter_init_find(&it, b, "v") && usage_label_of(&it, &out) == 0) {
        snprintf(label_buf, sizeof(label_buf), "%s", out.data ? out.data : "");
    }
    frond_buf_cleanup(&out);
    bson_destroy(b);
    return label_buf;
}

static void test_values(void)
{
    CHECK_DBL(value_of("{\"v\": 3}"), 3);
    CHECK_DBL(value_of("{\"v\": {\"$numberLong\": \"9007199254740993\"}}"), 9007199254740992.0);
    CHECK_DBL(value_of("{\"v\": 2.5}"), 2.5);
    CHECK_DBL(value_of("{\"v\": {\"$numberDecimal\": \"12.75\"}}"), 12.75);
    CHECK(isinf(value_of("{\"v\": {\"$numberDecimal\": \"Infinity\"}}")));
    CHECK(isnan(value_of("{\"v\": {\"$numberDecimal\": \"NaN\"}}")));
    CHECK_DBL(value_of("{\"v\": true}"), 1);
    CHECK_DBL(value_of("{\"v\": false}"), 0);
    CHECK_DBL(value_of("{\"v\": {\"$date\": \"2024-01-01T00:00:01.500Z\"}}"), 1704067201.5);
    CHECK_DBL(value_of("{\"v\": {\"$timestamp\": {\"t\": 42, \"i\": 1}}}"), 42);
    CHECK_DBL(value_of("{\"v\": \"17\"}"), 17);
    CHECK_DBL(value_of("{\"v\": \" 1.5e3 \"}"), 1500);
    CHECK_DBL(value_of("{\"v\": \"12 apples\"}"), -1000 - USAGE_SKIP_NON_NUMERIC);
    CHECK_DBL(value_of("{\"v\": \"0x10\"}"), -1000 - USAGE_SKIP_NON_NUMERIC);
    CHECK_DBL(value_of("{\"v\": \"\"}"), -1000 - USAGE_SKIP_NON_NUMERIC);
    CHECK_DBL(value_of("{\"v\": [1, 2]}"), -1000 - USAGE_SKIP_NON_NUMERIC);
    CHECK_DBL(value_of("{\"v\": {\"a\": 1}}"), -1000 - USAGE_SKIP_NON_NUMERIC);
    CHECK_DBL(value_of("{\"v\": {\"$oid\": \"5f1d7f2e9d1e8a3b4c5d6e7f\"}}"),
              -1000 - USAGE_SKIP_NON_NUMERIC);
    CHECK_DBL(value_of("{\"v\": null}"), -1000 - USAGE_SKIP_MISSING);
}

static void test_labels(void)
{
    CHECK_STR(label_of("{\"v\": \"open\"}"), "open");
    CHECK_STR(label_of("{\"v\": 7}"), "7");
    CHECK_STR(label_of("{\"v\": {\"$numberLong\": \"-12345678901\"}}"), "-12345678901");
    CHECK_STR(label_of("{\"v\": 3.0}"), "3");
    CHECK_STR(label_of("{\"v\": 0.1}"), "0.1");
    CHECK_STR(label_of("{\"v\": true}"), "true");
    CHECK_STR(label_of("{\"v\": null}"), "");
    CHECK_STR(label_of("{\"v\": {\"$date\": \"2024-03-05T06:07:08Z\"}}"), "2024-03-05T06:07:08Z");
    CHECK_STR(label_of("{\"v\": {\"$date\": \"2024-03-05T06:07:08.250Z\"}}"),
              "2024-03-05T06:07:08.250Z");
    CHECK_STR(label_of("{\"v\": {\"$oid\": \"5f1d7f2e9d1e8a3b4c5d6e7f\"}}"),
              "5f1d7f2e9d1e8a3b4c5d6e7f");
    CHECK_STR(label_of("{\"v\": {\"$numberDecimal\": \"1.50\"}}"), "1.50");
    CHECK_STR(label_of("{\"v\": [\"a\", 1]}"), "[ \"a\", 1 ]");
    CHECK_STR(label_of("{\"v\": {\"k\": \"x\"}}"), "{ \"k\" : \"x\" }");

    /* Invalid UTF-8 is replaced, not passed to the exposition (Prometheus would reject it). */
    bson_t b = BSON_INITIALIZER;
    bson_append_utf8(&b, "v", 1,
                     "a\xff"
                     "b",
                     3);
    bson_iter_t it;
    struct frond_buf out;
    frond_buf_init(&out, 8192);
    CHECK(bson_iter_init_find(&it, &b, "v"));
    CHECK_INT(usage_label_of(&it, &out), 0);
    CHECK_STR(out.data, "a\xEF\xBF\xBD"
                        "b");
    bson_destroy(&b);

    /* Long values are cut at USAGE_LABEL_VALUE_MAX bytes, on a character boundary. */
    char big[3000];
    memset(big, 'x', sizeof(big));
    big[0] = '\xC3';
    big[1] = '\xA9';
    bson_init(&b);
    bson_append_utf8(&b, "v", 1, big, (int)sizeof(big));
    frond_buf_reset(&out);
    CHECK(bson_iter_init_find(&it, &b, "v"));
    CHECK_INT(usage_label_of(&it, &out), 0);
    CHECK_INT(strlen(out.data), USAGE_LABEL_VALUE_MAX);
    bson_destroy(&b);
    frond_buf_cleanup(&out);
}

static struct usage_metric metric(char **fields, char **names, size_t n)
{
    struct usage_metric m;
    memset(&m, 0, sizeof(m));
    m.name = "t";
    m.value = "count";
    m.label_fields = fields;
    m.label_names = names;
    m.nlabels = n;
    m.max_samples = 100;
    return m;
}

static const char *sample_label(const struct usage_result *r, size_t k, size_t i)
{
    const char *v = r->text.data + r->samples[k].labels;
    while (i--) {
        v += strlen(v) + 1;
    }
    return v;
}

static int add(struct usage_result *r, const struct usage_metric *m, const char *json)
{
    bson_t *b = doc(json);
    int rc = b ? usage_result_add_doc(r, m, b) : -1;
    bson_destroy(b);
    return rc;
}

static void test_mapping(void)
{
    char *fields[] = {"_id.status", "region"};
    char *names[] = {"status", "region"};
    struct usage_metric m = metric(fields, names, 2);
    struct usage_result r;
    usage_result_init(&r, 2, 100);
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"open\"}, \"region\": \"eu\", \"count\": 4}"),
              0);
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"closed\"}, \"count\": 2}"), 0);
    /* Same label set as the first: dropped and counted. */
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"open\"}, \"region\": \"eu\", \"count\": 9}"),
              0);
    /* A missing label field and an explicit null give the same (empty) label. */
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"closed\"}, \"region\": null, \"count\": 3}"),
              0);
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"x\"}, \"count\": \"many\"}"), 0);
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"y\"}}"), 0);
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"z\"}, \"count\": [1]}"), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(r.docs, 7);
    CHECK_INT(r.duplicates, 2);
    CHECK_INT(r.skipped[USAGE_SKIP_NON_NUMERIC], 2);
    CHECK_INT(r.skipped[USAGE_SKIP_MISSING], 1);
    CHECK_STR(r.first_duplicate, "open,eu,");
    CHECK_DBL(r.samples[0].value, 4);
    CHECK_STR(sample_label(&r, 0, 0), "open");
    CHECK_STR(sample_label(&r, 0, 1), "eu");
    CHECK_DBL(r.samples[1].value, 2);
    CHECK_STR(sample_label(&r, 1, 0), "closed");
    CHECK_STR(sample_label(&r, 1, 1), "");
    /* Sealed: trimmed, same content; later documents are still mapped and deduplicated. */
    usage_result_seal(&r);
    CHECK(r.slots == NULL && r.cap == r.n && r.text.cap == r.text.len + 1);
    CHECK_STR(sample_label(&r, 1, 0), "closed");
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"open\"}, \"region\": \"eu\", \"count\": 1}"),
              0);
    CHECK_INT(add(&r, &m, "{\"_id\": {\"status\": \"new\"}, \"count\": 5}"), 0);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.duplicates, 3);
    CHECK_STR(sample_label(&r, 2, 0), "new");
    usage_result_cleanup(&r);
}

static void test_limit_and_plain(void)
{
    char *fields[] = {"k"};
    char *names[] = {"k"};
    struct usage_metric m = metric(fields, names, 1);
    struct usage_result r;
    char json[64];
    usage_result_init(&r, 1, 3);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) {
        snprintf(json, sizeof(json), "{\"k\": %d, \"count\": %d}", i, i);
        rc = add(&r, &m, json);
    }
    CHECK_INT(rc, 1);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.skipped[USAGE_SKIP_LIMIT], 1);
    usage_result_cleanup(&r);

    /* Many samples: the dedup table grows and keeps finding duplicates. */
    usage_result_init(&r, 1, 100000);
    for (int i = 0; i < 20000; i++) {
        snprintf(json, sizeof(json), "{\"k\": %d, \"count\": 1}", i % 10000);
        rc = add(&r, &m, json);
        if (rc) {
            break;
        }
    }
    CHECK_INT(rc, 0);
    CHECK_INT(r.n, 10000);
    CHECK_INT(r.duplicates, 10000);
    usage_result_cleanup(&r);

    usage_result_init(&r, 2, 10);
    CHECK_INT(usage_result_add_plain(&r, 0), 0);
    CHECK_INT(r.n, 1);
    CHECK_STR(sample_label(&r, 0, 0), "");
    CHECK_STR(sample_label(&r, 0, 1), "");
    usage_result_cleanup(&r);
}

int main(void)
{
    test_values();
    test_labels();
    test_mapping();
    test_limit_and_plain();
    return check_done("test_usage_result");
}
