/*
 * Oplog replies → oplog samples. The oplog (local.oplog.rs) is a capped
 * collection in insertion order, so its first and last entries in natural
 * order bound the window of history a lagging or restarting secondary can
 * still catch up from; "oplog headroom" for alerting is that window minus
 * the member's replication lag. The entries come from two `find` commands
 * (sort {$natural: 1/-1}, limit 1, projection {ts: 1}) and the sizes from
 * `collStats`.
 */
#include "mongo.h"

/* The `ts` of the single entry a limit-1 find returned, in Unix seconds. */
static bool entry_ts(const bson_t *reply, double *out)
{
    return reply && mongo_bson_get_time(reply, "cursor.firstBatch.0.ts", out) && *out > 0;
}

int mongo_map_oplog(struct frond_scrape *s, const bson_t *first, const bson_t *last,
                    const bson_t *stats)
{
    double head = 0, tail = 0, v;
    bool have_head = entry_ts(first, &head);
    bool have_tail = entry_ts(last, &tail);
    int rc = 0;

    if (have_head) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_FIRST, head, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (have_tail) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_LAST, tail, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (have_head && have_tail) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_WINDOW, tail - head, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (!stats) {
        return 0;
    }
    if (mongo_bson_get_number(stats, "size", &v)) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_SIZE, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(stats, "maxSize", &v)) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_MAX_SIZE, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(stats, "storageSize", &v)) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_STORAGE_SIZE, v, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(stats, "count", &v)) {
        rc = mongo_emit(s, &MONGO_M_OPLOG_ENTRIES, v, 0, NULL);
    }
    return rc;
}
