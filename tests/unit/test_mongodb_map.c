/*
 * Unit tests of frond_mongodb_exporter's reply → metrics mapping: each
 * case feeds MongoDB 6/7-shaped replies (written as extended JSON) through
 * the same mapping the exporter runs, renders the registry to text, and
 * checks the samples that must be there, and those that must be absent
 * (lag without a primary, for arbiters, for unknown optimes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frond/buf.h"
#include "frond/registry.h"
#include "mongo.h"

/* ---- harness ---- */

struct map_case {
    const bson_t *status, *config, *ss, *first, *last, *stats;
    bool up;
    bool not_replset;
};

static int map_collect(struct frond_scrape *s, void *ctx)
{
    const struct map_case *c = ctx;
    struct mongo_replies r;
    int rc;
    mongo_replies_init(&r);
    r.up = c->up;
    /* The replies borrow the case's documents: copy them so cleanup frees copies. */
    const bson_t *src[] = {c->ss, c->status, c->config, c->first, c->last, c->stats};
    struct mongo_reply *dst[] = {&r.server_status, &r.rs_status,  &r.rs_config,
                                 &r.oplog_first,   &r.oplog_last, &r.oplog_stats};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(src); i++) {
        if (src[i]) {
            dst[i]->attempted = true;
            dst[i]->ok = true;
            dst[i]->doc = bson_copy(src[i]);
        }
    }
    if (c->not_replset) {
        r.rs_status.attempted = true;
        r.rs_status.domain = MONGOC_ERROR_SERVER;
        r.rs_status.code = 76;
    }
    rc = mongo_map_replies(s, &r);
    mongo_replies_cleanup(&r);
    return rc;
}

/* Render one case; the caller frees the returned text. */
static char *render(const struct map_case *c)
{
    struct frond_registry *reg = frond_registry_new();
    struct frond_buf out;
    char *text = NULL;
    frond_buf_init(&out, 1 << 20);
    if (!reg || frond_registry_add_collector(reg, map_collect, (void *)c) ||
        frond_registry_render(reg, FROND_EXPO_TEXT, 0, &out)) {
        fprintf(stderr, "render failed\n");
        CHECK(0);
    } else {
        text = strdup(frond_buf_cstr(&out));
    }
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
    return text;
}

/* The value of the series written exactly as `series` (name{labels}); NAN when absent. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p = strchr(p, '\n');
        if (p) {
            p++;
        }
    }
    return NAN;
}

static int has_name(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        if (*p != '#' && strncmp(p, name, n) == 0 && (p[n] == '{' || p[n] == ' ')) {
            return 1;
        }
        p = strchr(p, '\n');
        if (p) {
            p++;
        }
    }
    return 0;
}

static bson_t *J(const char *json)
{
    bson_error_t err;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &err);
    if (!b) {
        fprintf(stderr, "bad fixture JSON: %s\n%s\n", err.message, json);
        abort();
    }
    return b;
}

#define CHECK_VAL(text, series, want) CHECK_DBL(value_of((text), (series)), (want))
#define CHECK_ABSENT(text, series) CHECK(isnan(value_of((text), (series))))

/* ---- fixtures (MongoDB 6.0 shapes) ---- */

#define T0 1764356400 /* 2025-11-28T19:00:00Z */
#define DATE(ms) "{\"$date\":{\"$numberLong\":\"" #ms "\"}}"
#define TS(t) "{\"$timestamp\":{\"t\":" #t ",\"i\":1}}"
#define LONG(n) "{\"$numberLong\":\"" #n "\"}"
#define OPTIME(t) "{\"ts\":" TS(t) ",\"t\":" LONG(3) "}"
#define NULL_OPTIME "{\"ts\":{\"$timestamp\":{\"t\":0,\"i\":0}},\"t\":" LONG(-1) "}"

/* A member row as a secondary sees it from another member. */
#define PEER(id, name, state, statestr, optsec, optms)                                                                                                                                                       \
    "{\"_id\":" #id ",\"name\":\"" name "\",\"health\":1.0,\"state\":" #state                                                                                                                                \
    ",\"stateStr\":\"" statestr                                                                                                                                                                              \
    "\",\"uptime\":3700,\"optime\":" OPTIME(optsec) ",\"optimeDurable\":" OPTIME(                                                                                                                            \
        optsec) ",\"optimeDate\":" DATE(optms) ",\"optimeDurableDate\":" DATE(optms) ",\"lastHear"                                                                                                           \
                                                                                     "tbeat\""                                                                                                               \
                                                                                     ":" DATE(1764356399200) ",\"lastHeartbeatRecv\":" DATE(                                                                 \
                                                                                         1764356399400) ",\"pingMs\":" LONG(2) ",\"lastHeartbeatMessage\":\"\",\"syncSourceHost\":\"\",\"syncSourceId\":-1," \
                                                                                                                               "\"infoMessage\":\"\",\"configVersion\":5,\"configTerm\":3}"

#define SELF_PRIMARY(name)                                                                         \
    "{\"_id\":0,\"name\":\"" name "\",\"health\":1.0,\"state\":1,\"stateStr\":\"PRIMARY\","        \
    "\"uptime\":3600,\"optime\":" OPTIME(1764356399) ",\"optimeDate\":" DATE(                      \
        1764356399000) ",\"syncSourceHost\":\"\",\"syncSourceId\":-1,\"infoMessage\":\"\","        \
                       "\"electionTime\":" TS(1764353400) ",\"electionDate\":" DATE(               \
                           1764353400000) ",\"configVersion\":5,\"configTerm\":3,\"self\":true,"   \
                                          "\"lastHeartbeatMessage\":\"\"}"

#define STATUS(mystate, members)                                                                   \
    "{\"set\":\"rs0\",\"date\":" DATE(1764356400000) ",\"myState\":" #mystate ",\"term\":" LONG(   \
        3) ",\"heartbeatIntervalMillis\":" LONG(2000) ",\"members\":[" members "],\"ok\":1.0}"

static const char *config_json =
    "{\"config\":{\"_id\":\"rs0\",\"version\":5,\"term\":3,\"members\":["
    "{\"_id\":0,\"host\":\"a:1\",\"arbiterOnly\":false,\"buildIndexes\":true,\"hidden\":false,"
    "\"priority\":1.0,\"tags\":{},\"secondaryDelaySecs\":" LONG(
        0) ",\"votes\":1},"
           "{\"_id\":1,\"host\":\"b:2\",\"arbiterOnly\":false,\"buildIndexes\":true,\"hidden\":"
           "false,"
           "\"priority\":1.0,\"tags\":{},\"secondaryDelaySecs\":" LONG(
               0) ",\"votes\":1},"
                  "{\"_id\":2,\"host\":\"c:3\",\"arbiterOnly\":false,\"buildIndexes\":true,"
                  "\"hidden\":true,"
                  "\"priority\":0.0,\"tags\":{},\"secondaryDelaySecs\":" LONG(
                      3600) ",\"votes\":1}]},"
                            "\"ok\":1.0}";

/* ---- tests ---- */

static void test_healthy_and_lag(void)
{
    bson_t *st = J(
        STATUS(1, SELF_PRIMARY("a:1") "," PEER(1, "b:2", 2, "SECONDARY", 1764356398,
                                               1764356398000) "," PEER(2, "c:3", 2, "SECONDARY",
                                                                       1764356354, 1764356354000)));
    bson_t *cfg = J(config_json);
    struct map_case c = {.status = st, .config = cfg, .up = true};
    char *t = render(&c);
    CHECK(t != NULL);
    if (!t) {
        goto out;
    }
    CHECK_VAL(t, "mongodb_up", 1);
    CHECK_VAL(t, "mongodb_replset_enabled", 1);
    CHECK_VAL(t, "mongodb_replset_info{set=\"rs0\",self=\"a:1\"}", 1);
    CHECK_VAL(t, "mongodb_replset_my_state{set=\"rs0\"}", 1);
    CHECK_VAL(t, "mongodb_replset_term{set=\"rs0\"}", 3);
    CHECK_VAL(t, "mongodb_replset_primary_present{set=\"rs0\"}", 1);
    CHECK_VAL(t, "mongodb_replset_members{set=\"rs0\"}", 3);
    CHECK_VAL(t, "mongodb_replset_heartbeat_interval_seconds{set=\"rs0\"}", 2);
    CHECK_VAL(t, "mongodb_replset_last_election_timestamp_seconds{set=\"rs0\"}", 1764353400);
    CHECK_VAL(t, "mongodb_replset_member_state{set=\"rs0\",member=\"b:2\"}", 2);
    CHECK_VAL(t, "mongodb_replset_member_self{set=\"rs0\",member=\"a:1\"}", 1);
    CHECK_VAL(t, "mongodb_replset_member_self{set=\"rs0\",member=\"b:2\"}", 0);
    CHECK_VAL(t, "mongodb_replset_member_health{set=\"rs0\",member=\"c:3\"}", 1);
    CHECK_VAL(t, "mongodb_replset_member_uptime_seconds{set=\"rs0\",member=\"b:2\"}", 3700);
    CHECK_VAL(t, "mongodb_replset_member_optime_timestamp_seconds{set=\"rs0\",member=\"c:3\"}",
              1764356354);
    CHECK_VAL(t, "mongodb_replset_member_ping_seconds{set=\"rs0\",member=\"b:2\"}", 0.002);
    CHECK_VAL(t,
              "mongodb_replset_member_last_heartbeat_timestamp_seconds{set=\"rs0\",member=\"b:2\"}",
              1764356399.2);
    CHECK_VAL(t,
              "mongodb_replset_member_last_heartbeat_received_timestamp_seconds{set=\"rs0\","
              "member=\"b:2\"}",
              1764356399.4);
    /* A member does not heartbeat itself. */
    CHECK_ABSENT(
        t, "mongodb_replset_member_last_heartbeat_timestamp_seconds{set=\"rs0\",member=\"a:1\"}");
    CHECK_ABSENT(t, "mongodb_replset_member_ping_seconds{set=\"rs0\",member=\"a:1\"}");
    CHECK_VAL(t, "mongodb_replset_member_config_version{set=\"rs0\",member=\"a:1\"}", 5);
    CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"a:1\"}", 0);
    CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"b:2\"}", 1);
    CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"c:3\"}", 45);
    /* The stateset: every state present, only the current one set. */
    CHECK_VAL(t,
              "mongodb_replset_member_state_name{set=\"rs0\",member=\"b:2\","
              "mongodb_replset_member_state_name=\"SECONDARY\"}",
              1);
    CHECK_VAL(t,
              "mongodb_replset_member_state_name{set=\"rs0\",member=\"b:2\","
              "mongodb_replset_member_state_name=\"PRIMARY\"}",
              0);
    CHECK_VAL(t,
              "mongodb_replset_member_state_name{set=\"rs0\",member=\"b:2\","
              "mongodb_replset_member_state_name=\"REMOVED\"}",
              0);
    /* From replSetGetConfig. */
    CHECK_VAL(t, "mongodb_replset_config_version{set=\"rs0\"}", 5);
    CHECK_VAL(t, "mongodb_replset_config_term{set=\"rs0\"}", 3);
    CHECK_VAL(t, "mongodb_replset_member_hidden{set=\"rs0\",member=\"c:3\"}", 1);
    CHECK_VAL(t, "mongodb_replset_member_hidden{set=\"rs0\",member=\"a:1\"}", 0);
    CHECK_VAL(t, "mongodb_replset_member_secondary_delay_seconds{set=\"rs0\",member=\"c:3\"}",
              3600);
    CHECK_VAL(t, "mongodb_replset_member_priority{set=\"rs0\",member=\"c:3\"}", 0);
    CHECK_VAL(t, "mongodb_replset_member_votes{set=\"rs0\",member=\"b:2\"}", 1);
    CHECK_VAL(t, "mongodb_replset_member_arbiter_only{set=\"rs0\",member=\"b:2\"}", 0);
out:
    free(t);
    bson_destroy(st);
    bson_destroy(cfg);
}

/* No primary (election in progress): lag is absent everywhere, never -1 or huge. */
static void test_no_primary(void)
{
    bson_t *st = J(STATUS(
        2, "{\"_id\":0,\"name\":\"a:1\",\"health\":0.0,\"state\":8,\"stateStr\":\"(not "
           "reachable/healthy)\",\"uptime\":0,\"optime\":" NULL_OPTIME
           ",\"optimeDate\":" DATE(0) ",\"lastHeartbeat\":" DATE(1764356399500) ",\"pingMs\":" LONG(
               0) ",\"configVersion\":-1},"
                  "{\"_id\":1,\"name\":\"b:2\",\"health\":1.0,"
                  "\"state\":2,\"stateStr\":\"SECONDARY\","
                  "\"uptime\":3700,\"optime\":" OPTIME(1764356398) ",\"optimeDate\":" DATE(
                      1764356398000) ",\"self\":true}," PEER(2, "c:3", 2, "SECONDARY", 1764356397,
                                                             1764356397000)));
    struct map_case c = {.status = st, .up = true};
    char *t = render(&c);
    if (!t) {
        bson_destroy(st);
        return;
    }
    CHECK_VAL(t, "mongodb_replset_primary_present{set=\"rs0\"}", 0);
    CHECK(!has_name(t, "mongodb_replset_member_replication_lag_seconds"));
    CHECK(!has_name(t, "mongodb_replset_last_election_timestamp_seconds"));
    CHECK_VAL(t, "mongodb_replset_member_health{set=\"rs0\",member=\"a:1\"}", 0);
    CHECK_VAL(t, "mongodb_replset_member_state{set=\"rs0\",member=\"a:1\"}", 8);
    CHECK_VAL(t,
              "mongodb_replset_member_state_name{set=\"rs0\",member=\"a:1\","
              "mongodb_replset_member_state_name=\"DOWN\"}",
              1);
    /* The null optime of an unreachable member is unknown, not 1970. */
    CHECK_ABSENT(t, "mongodb_replset_member_optime_timestamp_seconds{set=\"rs0\",member=\"a:1\"}");
    CHECK(!has_name(t, "mongodb_replset_config_version")); /* no config given */
    free(t);
    bson_destroy(st);
}

/* Arbiter (no optime), STARTUP2 (null optime), a down member with a stale optime. */
static void test_lag_absent_cases(void)
{
    bson_t *st = J(STATUS(
        1,
        SELF_PRIMARY(
            "a:1") ","
                   "{\"_id\":1,\"name\":\"b:2\",\"health\":1.0,\"state\":7,"
                   "\"stateStr\":\"ARBITER\",\"uptime\":3700,\"lastHeartbeat\":" DATE(1764356399000) ",\"pingMs\":" LONG(
                       0) ",\"configVersion\":5},"
                          "{\"_id\":2,\"name\":"
                          "\"c:3\",\"health\":1.0,"
                          "\"state\":5,"
                          "\"stateStr\":"
                          "\"STARTUP2\","
                          "\"optime\":" NULL_OPTIME ",\"optimeDate\":" DATE(
                              0) "},"
                                 "{\"_id\":3,\"name\":\"d:4\",\"health\":0.0,\"state\":8,"
                                 "\"optime\":" OPTIME(1764356000) ",\"optimeDate\":" DATE(
                                     1764356000000) "},"
                                                    "{\"_id\":4,\"name\":\"e:5\",\"health\":1."
                                                    "0,\"state\":2,\"optime\":" OPTIME(
                                                        1764356300) ",\"optimeDate\":" DATE(1764356300000) "}"));
    /* e:5 is an arbiter by config although its status looks like a secondary. */
    bson_t *cfg = J("{\"config\":{\"_id\":\"rs0\",\"version\":6,\"members\":["
                    "{\"_id\":4,\"host\":\"e:5\",\"arbiterOnly\":true,\"votes\":1}]},\"ok\":1}");
    struct map_case c = {.status = st, .config = cfg, .up = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"a:1\"}",
                  0);
        CHECK_ABSENT(t,
                     "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"b:2\"}");
        CHECK_ABSENT(t,
                     "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"c:3\"}");
        CHECK_ABSENT(t,
                     "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"d:4\"}");
        CHECK_ABSENT(t,
                     "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"e:5\"}");
        CHECK_VAL(t, "mongodb_replset_member_state{set=\"rs0\",member=\"b:2\"}", 7);
        CHECK_VAL(t, "mongodb_replset_member_state{set=\"rs0\",member=\"c:3\"}", 5);
        CHECK_VAL(t, "mongodb_replset_member_arbiter_only{set=\"rs0\",member=\"e:5\"}", 1);
        /* Absent options take their documented defaults. */
        CHECK_VAL(t, "mongodb_replset_member_hidden{set=\"rs0\",member=\"e:5\"}", 0);
        CHECK_VAL(t, "mongodb_replset_member_secondary_delay_seconds{set=\"rs0\",member=\"e:5\"}",
                  0);
        CHECK_ABSENT(t, "mongodb_replset_member_priority{set=\"rs0\",member=\"e:5\"}");
        CHECK_VAL(t, "mongodb_replset_members{set=\"rs0\"}", 5);
    }
    free(t);
    bson_destroy(st);
    bson_destroy(cfg);
}

/* Lag is signed: a member reported ahead of the primary shows a negative lag. */
static void test_signed_lag_and_pv0(void)
{
    bson_t *st =
        J(STATUS(
            2,
            "{\"_id\":0,\"name\":\"a:1\",\"health\":1,\"state\":1,\"optime\":" OPTIME(1764356390) ",\"optimeDate\":" DATE(
                1764356390000) "},"
                               "{\"_id\":1,\"name\":\"b:2\",\"health\":1,"
                               "\"state\":2,\"optime\":" OPTIME(1764356392) ",\"optimeDate\":" DATE(
                                   1764356392500) ",\"self\":true},"
                                                  "{\"_id\":2,\"name\":\"c:3\",\"health\":1,"
                                                  "\"state\":2,\"optime\":" TS(1764356380) "}"));
    struct map_case c = {.status = st, .up = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"b:2\"}",
                  -2.5);
        /* Protocol version 0: optime is a bare Timestamp. */
        CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"c:3\"}",
                  10);
        CHECK_VAL(t, "mongodb_replset_info{set=\"rs0\",self=\"b:2\"}", 1);
    }
    free(t);
    bson_destroy(st);
}

/* Two members claim PRIMARY after a partition heals: lag is against the newer optime. */
static void test_two_primaries(void)
{
    bson_t *st = J(
        STATUS(2, "{\"_id\":0,\"name\":\"a:1\",\"health\":1,\"state\":1,\"optimeDate\":" DATE(
                      1764356300000) "},"
                                     "{\"_id\":1,\"name\":\"b:2\",\"health\":1,\"state\":1,"
                                     "\"optimeDate\":" DATE(
                                         1764356390000) "},"
                                                        "{\"_id\":2,\"name\":\"c:3\","
                                                        "\"health\":1,\"state\":2,"
                                                        "\"optimeDate\":" DATE(1764356380000) "}"));
    struct map_case c = {.status = st, .up = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"a:1\"}",
                  90);
        CHECK_VAL(t, "mongodb_replset_member_replication_lag_seconds{set=\"rs0\",member=\"c:3\"}",
                  10);
    }
    free(t);
    bson_destroy(st);
}

static void test_not_replset_and_down(void)
{
    bson_t *ss = J("{\"version\":\"7.0.2\",\"process\":\"mongod\",\"uptime\":12.5,\"ok\":1}");
    struct map_case c = {.ss = ss, .up = true, .not_replset = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_up", 1);
        CHECK_VAL(t, "mongodb_replset_enabled", 0);
        CHECK(!has_name(t, "mongodb_replset_member_state"));
        CHECK(!has_name(t, "mongodb_oplog_window_seconds"));
        CHECK_VAL(t, "mongodb_version_info{version=\"7.0.2\",process=\"mongod\"}", 1);
        CHECK_VAL(t, "mongodb_uptime_seconds", 12.5);
    }
    free(t);
    /* Down: only mongodb_up 0, whatever documents might linger. */
    struct map_case d = {.ss = ss, .up = false};
    t = render(&d);
    if (t) {
        CHECK_VAL(t, "mongodb_up", 0);
        CHECK(!has_name(t, "mongodb_version_info"));
        CHECK(!has_name(t, "mongodb_replset_enabled"));
    }
    free(t);
    bson_destroy(ss);
    CHECK(mongo_error_not_replset(MONGOC_ERROR_SERVER, 76));
    CHECK(mongo_error_not_replset(MONGOC_ERROR_SERVER, 94));
    CHECK(mongo_error_not_replset(MONGOC_ERROR_QUERY, 76));
    CHECK(!mongo_error_not_replset(MONGOC_ERROR_SERVER, 13));
    CHECK(!mongo_error_not_replset(MONGOC_ERROR_STREAM, 76));
}

static void test_server_status(void)
{
    bson_t *ss = J(
        "{\"host\":\"m0\",\"version\":\"6.0.12\",\"process\":\"mongod\","
        "\"uptime\":3600.0,\"uptimeMillis\":" LONG(
            3600000) ","
                     "\"asserts\":{\"regular\":0,\"warning\":1,\"msg\":0,\"user\":17,"
                     "\"tripwire\":0,\"rollovers\":0},"
                     "\"connections\":{\"current\":12,\"available\":838848,\"totalCreated\":345},"
                     "\"opcounters\":{\"insert\":" LONG(1000) ",\"query\":" LONG(
                         2000) ","
                               "\"update\":" LONG(300) ",\"delete\":" LONG(40) ",\"getmore\":" LONG(
                                   5000) ","
                                         "\"command\":" LONG(
                                             9000) "},"
                                                   "\"opcountersRepl\":{\"insert\":" LONG(
                                                       7) "},\"ok\":1.0}");
    struct map_case c = {.ss = ss, .up = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_connections_current", 12);
        CHECK_VAL(t, "mongodb_connections_available", 838848);
        CHECK_VAL(t, "mongodb_connections_created_total", 345);
        CHECK_VAL(t, "mongodb_opcounters_total{type=\"insert\"}", 1000);
        CHECK_VAL(t, "mongodb_opcounters_total{type=\"command\"}", 9000);
        CHECK_VAL(t, "mongodb_opcounters_repl_total{type=\"insert\"}", 7);
        CHECK_ABSENT(t, "mongodb_opcounters_repl_total{type=\"update\"}");
        CHECK_VAL(t, "mongodb_asserts_total{type=\"user\"}", 17);
        CHECK_VAL(t, "mongodb_asserts_total{type=\"warning\"}", 1);
        CHECK_VAL(t, "mongodb_uptime_seconds", 3600);
        CHECK(strstr(t, "# TYPE mongodb_opcounters_total counter") != NULL);
        CHECK(!has_name(t, "mongodb_replset_enabled")); /* replSetGetStatus not attempted */
    }
    free(t);
    bson_destroy(ss);
}

static void test_oplog(void)
{
    bson_t *first = J("{\"cursor\":{\"firstBatch\":[{\"ts\":" TS(1764270000) "}],\"id\":" LONG(
        0) ",\"ns\":\"local.oplog.rs\"},\"ok\":1.0}");
    bson_t *last = J("{\"cursor\":{\"firstBatch\":[{\"ts\":" TS(1764356399) "}],\"id\":" LONG(
        0) ",\"ns\":\"local.oplog.rs\"},\"ok\":1.0}");
    bson_t *empty =
        J("{\"cursor\":{\"firstBatch\":[],\"id\":" LONG(0) ",\"ns\":\"local.oplog.rs\"},\"ok\":1}");
    bson_t *stats = J("{\"ns\":\"local.oplog.rs\",\"size\":536870912,\"count\":1200000,"
                      "\"storageSize\":188743680,\"capped\":true,\"max\":" LONG(
                          0) ",\"maxSize\":" LONG(1038090240) ",\"ok\":1.0}");
    struct map_case c = {.first = first, .last = last, .stats = stats, .up = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_oplog_first_timestamp_seconds", 1764270000);
        CHECK_VAL(t, "mongodb_oplog_last_timestamp_seconds", 1764356399);
        CHECK_VAL(t, "mongodb_oplog_window_seconds", 86399);
        CHECK_VAL(t, "mongodb_oplog_size_bytes", 536870912);
        CHECK_VAL(t, "mongodb_oplog_max_size_bytes", 1038090240);
        CHECK_VAL(t, "mongodb_oplog_storage_size_bytes", 188743680);
        CHECK_VAL(t, "mongodb_oplog_entries", 1200000);
    }
    free(t);
    /* An empty oplog: no timestamps, no window. */
    struct map_case e = {.first = empty, .last = empty, .up = true};
    t = render(&e);
    if (t) {
        CHECK(!has_name(t, "mongodb_oplog_window_seconds"));
        CHECK(!has_name(t, "mongodb_oplog_first_timestamp_seconds"));
    }
    free(t);
    bson_destroy(first);
    bson_destroy(last);
    bson_destroy(empty);
    bson_destroy(stats);
}

/* Every field of the wrong type: the samples go away, nothing crashes, up stays 1. */
static void test_unexpected_types(void)
{
    bson_t *st = J("{\"set\":\"rs0\",\"myState\":\"PRIMARY\",\"term\":\"three\","
                   "\"heartbeatIntervalMillis\":[2000],\"electionCandidateMetrics\":\"x\","
                   "\"members\":[{\"name\":\"a:1\",\"health\":\"1\",\"state\":\"1\","
                   "\"uptime\":{\"s\":1},\"optime\":12345,\"optimeDate\":\"2026-01-01\","
                   "\"self\":\"yes\",\"configVersion\":null},"
                   "{\"name\":\"b:2\",\"health\":1.0,\"state\":2.0,"
                   "\"optime\":{\"ts\":\"Timestamp(1,1)\"},\"optimeDate\":" LONG(
                       5) ","
                          "\"lastHeartbeat\":17,\"pingMs\":\"fast\",\"configVersion\":5.5},"
                          "{\"name\":42,\"state\":2},\"not a member\",null,[1,2,3],"
                          "{\"name\":\"c:3\",\"state\":-4},{\"name\":\"d:4\",\"state\":1e300},"
                          "{\"name\":\"\",\"state\":1}],\"ok\":1}");
    bson_t *cfg = J("{\"config\":{\"version\":\"5\",\"term\":[],\"members\":[{\"host\":\"a:1\","
                    "\"hidden\":\"no\",\"arbiterOnly\":{},\"secondaryDelaySecs\":\"3600\","
                    "\"priority\":null,\"votes\":\"1\"},{\"host\":7},\"x\"]},\"ok\":1}");
    bson_t *ss =
        J("{\"version\":6.0,\"process\":[\"mongod\"],\"uptime\":\"long\","
          "\"connections\":[12,800],\"opcounters\":{\"insert\":\"many\",\"query\":null,"
          "\"update\":-5,\"getmore\":{\"n\":1},\"command\":" LONG(
              9000) "},"
                    "\"opcountersRepl\":\"none\",\"asserts\":{\"regular\":true,\"user\":3.5},"
                    "\"ok\":1}");
    bson_t *first = J("{\"cursor\":{\"firstBatch\":[{\"ts\":\"Timestamp(1, 1)\"}]},\"ok\":1}");
    bson_t *last = J("{\"cursor\":{\"firstBatch\":\"none\"},\"ok\":1}");
    bson_t *stats = J("{\"size\":\"512MB\",\"maxSize\":[990],\"storageSize\":null,"
                      "\"count\":{\"n\":3},\"ok\":1}");
    struct map_case c = {.status = st,
                         .config = cfg,
                         .ss = ss,
                         .first = first,
                         .last = last,
                         .stats = stats,
                         .up = true};
    char *t = render(&c);
    if (t) {
        CHECK_VAL(t, "mongodb_up", 1);
        CHECK_VAL(t, "mongodb_replset_enabled", 1);
        CHECK(!has_name(t, "mongodb_replset_my_state"));
        CHECK(!has_name(t, "mongodb_replset_term"));
        CHECK(!has_name(t, "mongodb_replset_heartbeat_interval_seconds"));
        CHECK(!has_name(t, "mongodb_replset_member_replication_lag_seconds"));
        CHECK(!has_name(t, "mongodb_replset_config_version"));
        CHECK_ABSENT(t, "mongodb_replset_member_state{set=\"rs0\",member=\"a:1\"}");
        CHECK_ABSENT(t, "mongodb_replset_member_state{set=\"rs0\",member=\"c:3\"}");
        CHECK_ABSENT(t, "mongodb_replset_member_state{set=\"rs0\",member=\"d:4\"}");
        CHECK_VAL(t, "mongodb_replset_member_state{set=\"rs0\",member=\"b:2\"}", 2);
        CHECK_VAL(t, "mongodb_replset_member_config_version{set=\"rs0\",member=\"b:2\"}", 5.5);
        CHECK_ABSENT(t, "mongodb_replset_member_ping_seconds{set=\"rs0\",member=\"b:2\"}");
        CHECK_ABSENT(t, "mongodb_replset_member_hidden{set=\"rs0\",member=\"a:1\"}");
        CHECK_ABSENT(t,
                     "mongodb_replset_member_secondary_delay_seconds{set=\"rs0\",member=\"a:1\"}");
        CHECK(!has_name(t, "mongodb_version_info"));
        CHECK(!has_name(t, "mongodb_connections_current"));
        CHECK_VAL(t, "mongodb_opcounters_total{type=\"command\"}", 9000);
        CHECK_ABSENT(t, "mongodb_opcounters_total{type=\"update\"}");
        CHECK_ABSENT(t, "mongodb_opcounters_total{type=\"insert\"}");
        CHECK(!has_name(t, "mongodb_oplog_first_timestamp_seconds"));
        CHECK(!has_name(t, "mongodb_oplog_size_bytes"));
    }
    free(t);
    /* No set name: nothing can be labelled, so no replica set samples at all. */
    bson_t *noset = J("{\"members\":[{\"name\":\"a:1\",\"state\":1}],\"ok\":1}");
    struct map_case n = {.status = noset, .up = true};
    t = render(&n);
    if (t) {
        CHECK(!has_name(t, "mongodb_replset_member_state"));
        CHECK_VAL(t, "mongodb_replset_enabled", 1);
    }
    free(t);
    bson_destroy(noset);
    bson_destroy(st);
    bson_destroy(cfg);
    bson_destroy(ss);
    bson_destroy(first);
    bson_destroy(last);
    bson_destroy(stats);
}

/* The catalogue is the documentation's checklist: README.md names every metric. */
static void test_readme_documents_every_metric(void)
{
    FILE *f = fopen(MONGO_README, "rb");
    char *text = NULL;
    size_t len = 0;
    CHECK(f != NULL);
    if (!f) {
        return;
    }
    text = calloc(1, 1 << 20);
    if (text) {
        len = fread(text, 1, (1 << 20) - 1, f);
    }
    fclose(f);
    CHECK(len > 0);
    for (size_t i = 0; text && i < mongo_metrics_count; i++) {
        char quoted[160], labelled[160];
        /* Written `name` or `name{labels}` in the tables. */
        snprintf(quoted, sizeof(quoted), "`%s`", mongo_metrics_all[i]->name);
        snprintf(labelled, sizeof(labelled), "`%s{", mongo_metrics_all[i]->name);
        if (!strstr(text, quoted) && !strstr(text, labelled)) {
            fprintf(stderr, "README.md does not document %s\n", mongo_metrics_all[i]->name);
            CHECK(0);
        }
    }
    free(text);
}

int main(void)
{
    test_healthy_and_lag();
    test_no_primary();
    test_lag_absent_cases();
    test_signed_lag_and_pv0();
    test_two_primaries();
    test_not_replset_and_down();
    test_server_status();
    test_oplog();
    test_unexpected_types();
    test_readme_documents_every_metric();
    return check_done("test_mongodb_map");
}
