/*
 * Unit tests of the usage exporter's config loader: a full config read
 * back field by field, YAML and extended-JSON spellings of the same query
 * giving the same BSON, the $frondNowMinus placeholder, and errors that
 * name the right line.
 */
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "check.h"
#include "config.h"

static struct usage_config *parse(const char *text, char *err, size_t errlen)
{
    struct usage_config *cfg = NULL;
    err[0] = '\0';
    if (usage_config_parse("t.yml", text, strlen(text), &cfg, err, errlen) != 0) {
        return NULL;
    }
    return cfg;
}

static char *json_of(const bson_t *b)
{
    return bson_as_canonical_extended_json(b, NULL);
}

static void test_full(void)
{
    char err[512];
    setenv("TEST_USAGE_PASS", "s3cret", 1);
    const char *text =
        "global:\n"
        "  interval: 30s\n"
        "  timeout: 5s\n"
        "servers:\n"
        "  main:\n"
        "    uri: mongodb://u:${TEST_USAGE_PASS}@127.0.0.1:1/?directConnection=true\n"
        "metrics:\n"
        "  - name: palm_users\n"
        "    help: Registered users.\n"
        "    database: palm\n"
        "    collection: users\n"
        "    count: {deleted: {$ne: true}}\n"
        "    const_labels: {platform: palm}\n"
        "  - name: palm_proposals\n"
        "    server: main\n"
        "    database: palm\n"
        "    collection: proposals\n"
        "    aggregate:\n"
        "      - $group: {_id: $status, n: {$sum: 1}}\n"
        "    value: n\n"
        "    labels: {_id: status}\n"
        "    interval: 2m\n"
        "    empty: 0\n"
        "  - name: palm_validations_total\n"
        "    type: counter\n"
        "    database: palm\n"
        "    collection: validations\n"
        "    aggregate: '[{\"$group\": {\"_id\": {\"r\": \"$result\"}, \"count\": "
        "{\"$sum\": 1}}}]'\n"
        "    labels: [_id.r]\n"
        "    timeout: 250ms\n"
        "    max_samples: 7\n";
    struct usage_config *cfg = parse(text, err, sizeof(err));
    CHECK_STR(err, "");
    CHECK(cfg != NULL);
    if (!cfg) {
        return;
    }
    CHECK_INT(cfg->nservers, 1);
    CHECK_STR(cfg->servers[0].uri, "mongodb://u:s3cret@127.0.0.1:1/?directConnection=true");
    CHECK_INT(cfg->nmetrics, 3);

    struct usage_metric *m = &cfg->metrics[0];
    CHECK_STR(m->name, "palm_users");
    CHECK_INT(m->kind, USAGE_COUNT);
    CHECK_INT(m->type, FROND_GAUGE);
    CHECK_DBL(m->interval, 30);
    CHECK_DBL(m->timeout, 5);
    CHECK(m->value == NULL);
    CHECK(m->empty_absent);
    CHECK_INT(m->nconst, 1);
    CHECK_STR(m->const_names[0], "platform");
    CHECK_STR(m->const_values[0], "palm");
    char *j = json_of(m->query);
    CHECK_STR(j, "{ \"deleted\" : { \"$ne\" : true } }");
    bson_free(j);

    m = &cfg->metrics[1];
    CHECK_INT(m->kind, USAGE_AGGREGATE);
    CHECK_STR(m->value, "n");
    CHECK_INT(m->nlabels, 1);
    CHECK_STR(m->label_fields[0], "_id");
    CHECK_STR(m->label_names[0], "status");
    CHECK_DBL(m->interval, 120);
    CHECK(!m->empty_absent);
    CHECK_DBL(m->empty_value, 0);
    j = json_of(m->query);
    CHECK_STR(j, "{ \"0\" : { \"$group\" : { \"_id\" : \"$status\", \"n\" : { \"$sum\" : { "
                 "\"$numberInt\" : \"1\" } } } } }");
    bson_free(j);

    m = &cfg->metrics[2];
    CHECK_INT(m->type, FROND_COUNTER);
    CHECK_STR(m->value, "count");
    CHECK_STR(m->label_fields[0], "_id.r");
    CHECK_STR(m->label_names[0], "_id_r");
    CHECK_DBL(m->timeout, 0.25);
    CHECK_INT(m->max_samples, 7);
    usage_config_free(cfg);
}

/* YAML scalars keep their YAML types; quoted ones stay strings; extJSON wrappers work in both. */
static void test_yaml_types(void)
{
    char err[512];
    const char *text = "servers: {a: {uri: 'mongodb://h'}}\n"
                       "metrics:\n"
                       "  - {name: m1, database: d, collection: c, count: {i: 3, f: 1.5, "
                       "g: 2.0, s: '3', b: true, n: null, big: 12345678901, w: hello, "
                       "d: {$date: '2024-01-01T00:00:00Z'}, l: {$numberLong: '5'}}}\n"
                       "  - {name: m2, database: d, collection: c, count: '{\"d\": {\"$date\": "
                       "\"2024-01-01T00:00:00Z\"}, \"l\": {\"$numberLong\": \"5\"}}'}\n";
    struct usage_config *cfg = parse(text, err, sizeof(err));
    CHECK_STR(err, "");
    if (!cfg) {
        return;
    }
    char *j = json_of(cfg->metrics[0].query);
    CHECK_STR(j, "{ \"i\" : { \"$numberInt\" : \"3\" }, \"f\" : { \"$numberDouble\" : \"1.5\" }, "
                 "\"g\" : { \"$numberDouble\" : \"2.0\" }, \"s\" : \"3\", \"b\" : true, \"n\" : "
                 "null, \"big\" : { \"$numberLong\" : \"12345678901\" }, \"w\" : \"hello\", "
                 "\"d\" : { \"$date\" : { \"$numberLong\" : \"1704067200000\" } }, \"l\" : { "
                 "\"$numberLong\" : \"5\" } }");
    bson_free(j);
    j = json_of(cfg->metrics[1].query);
    CHECK_STR(j, "{ \"d\" : { \"$date\" : { \"$numberLong\" : \"1704067200000\" } }, \"l\" : { "
                 "\"$numberLong\" : \"5\" } }");
    bson_free(j);
    usage_config_free(cfg);
}

static void test_placeholder(void)
{
    char err[512];
    const char *text =
        "servers: {a: {uri: 'mongodb://h'}}\n"
        "metrics:\n"
        "  - name: active\n"
        "    database: d\n"
        "    collection: c\n"
        "    count: {lastSeen: {$gte: {$frondNowMinus: 24h}}, x: [{$frondNowMinus: 1s}]}\n"
        "  - name: active_now\n"
        "    database: d\n"
        "    collection: c\n"
        "    count: {$expr: {$gte: [$lastSeen, {$subtract: [$$NOW, 86400000]}]}}\n";
    struct usage_config *cfg = parse(text, err, sizeof(err));
    CHECK_STR(err, "");
    if (!cfg) {
        return;
    }
    CHECK(cfg->metrics[0].has_placeholders);
    CHECK(!cfg->metrics[1].has_placeholders);
    bson_t out = BSON_INITIALIZER;
    CHECK_INT(usage_bson_subst_now(cfg->metrics[0].query, &out, 100000000), 0);
    char *j = json_of(&out);
    CHECK_STR(j, "{ \"lastSeen\" : { \"$gte\" : { \"$date\" : { \"$numberLong\" : \"13600000\" } "
                 "} }, \"x\" : [ { \"$date\" : { \"$numberLong\" : \"99999000\" } } ] }");
    bson_free(j);
    bson_destroy(&out);
    /* $$NOW goes to the server untouched. */
    j = json_of(cfg->metrics[1].query);
    CHECK(strstr(j, "\"$$NOW\"") != NULL);
    bson_free(j);
    usage_config_free(cfg);
}

struct bad {
    const char *text;
    const char *want; /* substring of the error, starting with "t.yml:LINE:" */
};

static void test_errors(void)
{
    static const struct bad bad[] = {
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    databse: d\n",
         "t.yml:4: unknown key \"databse\""},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    count: {}\n    interval: soon\n",
         "t.yml:7:"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    count: '{\"a\": }'\n",
         "t.yml:6: count: invalid extended JSON"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    aggregate: [1]\n",
         "t.yml:6: aggregate: stage 0 is not a document"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    count: {}\n    server: b\n",
         "t.yml:7: unknown server \"b\""},
        {"servers: {a: {uri: 'http://h'}}\nmetrics: []\n", "t.yml:1: server \"a\": invalid"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x-y\n", "t.yml:3: metric name"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    type: counter\n",
         "t.yml:3: counter \"x\" must be named *_total"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    count: {}\n    labels: [a]\n",
         "t.yml:7: labels apply to aggregate only"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    aggregate: []\n    labels: {a: 'bad-name'}\n",
         "t.yml:7: label name \"bad-name\""},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    count: {t: {$frondNowMinus: 3}}\n",
         "t.yml:6: malformed {$frondNowMinus"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - {name: x, database: d, collection: "
         "c, count: {}}\n  - {name: x, database: d, collection: c, count: {}}\n",
         "t.yml:4: metric \"x\" already defined at line 3"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - {name: usage_up, database: d, "
         "collection: c, count: {}}\n",
         "reserved"},
        {"servers: {a: {uri_env: TEST_USAGE_UNSET_VAR}}\nmetrics: []\n",
         "t.yml:1: environment variable TEST_USAGE_UNSET_VAR"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - {name: x, database: d, collection: "
         "c, aggregate: [], empty: nothing}\n",
         "t.yml:3: empty (absent or a number)"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - name: x\n    database: d\n"
         "    collection: c\n    count: {}\n    empty: 0\n",
         "t.yml:7: empty applies to aggregate only"},
        {"servers: {a: {uri: 'mongodb://h'}}\nmetrics:\n  - {name: x, database: d, collection: "
         "c, aggregate: [], const_labels: {a: b}, labels: {f: a}}\n",
         "label \"a\" given twice"},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        char err[512];
        struct usage_config *cfg = parse(bad[i].text, err, sizeof(err));
        CHECK(cfg == NULL);
        usage_config_free(cfg);
        if (!strstr(err, bad[i].want)) {
            fprintf(stderr, "case %zu: error \"%s\" lacks \"%s\"\n", i, err, bad[i].want);
            CHECK(!"error text");
        }
        if (strstr(err, "s3cret")) {
            CHECK(!"secret in error");
        }
    }
}

int main(void)
{
    mongoc_init();
    test_full();
    test_yaml_types();
    test_placeholder();
    test_errors();
    mongoc_cleanup();
    return check_done("test_usage_config");
}
