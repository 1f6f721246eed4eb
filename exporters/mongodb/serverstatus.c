/*
 * serverStatus reply → basic server health samples: version, uptime,
 * connections, opcounters and asserts. The exporter asks for serverStatus
 * with the heavy sections (metrics, locks, wiredTiger, tcmalloc, repl)
 * turned off, so the reply stays a few kilobytes; everything used here is
 * in the default sections of MongoDB 4.4 through 7.0.
 */
#include <string.h>

#include "mongo.h"

/* Counters of one sub-document, one series per known key, labelled `type`. */
static int map_counters(struct frond_scrape *s, const bson_t *ss, const struct mongo_metric *m,
                        const char *section, const char *const *keys, size_t nkeys)
{
    char path[64];
    double v;
    int rc = 0;
    for (size_t i = 0; i < nkeys; i++) {
        int n = snprintf(path, sizeof(path), "%s.%s", section, keys[i]);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            continue;
        }
        /* A counter cannot go below zero; a negative value is a wrapped int32, not a count. */
        if (!mongo_bson_get_number(ss, path, &v) || v < 0) {
            continue;
        }
        rc = mongo_emit(s, m, v, 1, (struct frond_label[]){{"type", keys[i]}});
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int mongo_map_server_status(struct frond_scrape *s, const bson_t *ss)
{
    static const char *const opcounter_keys[] = {"insert", "query",   "update",
                                                 "delete", "getmore", "command"};
    static const char *const assert_keys[] = {"regular", "warning",  "msg",
                                              "user",    "tripwire", "rollovers"};
    const char *version, *process;
    double v;
    int rc = 0;

    if (!ss) {
        return 0;
    }
    version = mongo_bson_get_utf8(ss, "version");
    if (version) {
        process = mongo_bson_get_utf8(ss, "process");
        rc = mongo_emit(
            s, &MONGO_M_VERSION, 1, 2,
            (struct frond_label[]){{"version", version}, {"process", process ? process : ""}});
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(ss, "uptime", &v)) {
        rc = mongo_emit(s, &MONGO_M_UPTIME, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(ss, "connections.current", &v)) {
        rc = mongo_emit(s, &MONGO_M_CONN_CURRENT, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(ss, "connections.available", &v)) {
        rc = mongo_emit(s, &MONGO_M_CONN_AVAILABLE, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(ss, "connections.totalCreated", &v) && v >= 0) {
        rc = mongo_emit(s, &MONGO_M_CONN_CREATED, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    rc = map_counters(s, ss, &MONGO_M_OPCOUNTERS, "opcounters", opcounter_keys,
                      FROND_ARRAY_SIZE(opcounter_keys));
    if (rc) {
        return rc;
    }
    rc = map_counters(s, ss, &MONGO_M_OPCOUNTERS_REPL, "opcountersRepl", opcounter_keys,
                      FROND_ARRAY_SIZE(opcounter_keys));
    if (rc) {
        return rc;
    }
    return map_counters(s, ss, &MONGO_M_ASSERTS, "asserts", assert_keys,
                        FROND_ARRAY_SIZE(assert_keys));
}
