/*
 * Typed reads from MongoDB reply documents. Every metric the exporter emits
 * goes through these helpers, so the rule "a field of an unexpected type
 * makes its sample absent" lives in one place: numbers are accepted as
 * int32, int64, double or bool (MongoDB uses all of them for the same field
 * across versions: `health` is a double, `state` an int32, `pingMs` an
 * int64), times as BSON dates or timestamps, and anything else is refused.
 */
#include <math.h>
#include <string.h>

#include "mongo.h"

bool mongo_bson_number(const bson_iter_t *iter, double *out)
{
    switch (bson_iter_type(iter)) {
    case BSON_TYPE_INT32:
        *out = (double)bson_iter_int32(iter);
        return true;
    case BSON_TYPE_INT64:
        *out = (double)bson_iter_int64(iter);
        return true;
    case BSON_TYPE_BOOL:
        *out = bson_iter_bool(iter) ? 1.0 : 0.0;
        return true;
    case BSON_TYPE_DOUBLE: {
        double v = bson_iter_double(iter);
        /* A NaN or infinite count is a server bug; exposing it would only confuse alerts. */
        if (!isfinite(v)) {
            return false;
        }
        *out = v;
        return true;
    }
    default:
        return false;
    }
}

bool mongo_bson_time(const bson_iter_t *iter, double *out)
{
    switch (bson_iter_type(iter)) {
    case BSON_TYPE_DATE_TIME:
        *out = (double)bson_iter_date_time(iter) / 1000.0;
        return true;
    case BSON_TYPE_TIMESTAMP: {
        uint32_t t = 0, i = 0;
        bson_iter_timestamp(iter, &t, &i);
        *out = (double)t;
        return true;
    }
    default:
        return false;
    }
}

bool mongo_bson_find(const bson_t *doc, const char *dotted, bson_iter_t *out)
{
    bson_iter_t it;
    if (!doc || !bson_iter_init(&it, doc)) {
        return false;
    }
    /*
     * bson_iter_find_descendant only descends into documents and arrays and
     * fails cleanly when an intermediate key holds a scalar, which is
     * exactly the "unexpected type means absent" behaviour we want.
     */
    return bson_iter_find_descendant(&it, dotted, out);
}

bool mongo_bson_get_number(const bson_t *doc, const char *dotted, double *out)
{
    bson_iter_t it;
    return mongo_bson_find(doc, dotted, &it) && mongo_bson_number(&it, out);
}

bool mongo_bson_get_time(const bson_t *doc, const char *dotted, double *out)
{
    bson_iter_t it;
    return mongo_bson_find(doc, dotted, &it) && mongo_bson_time(&it, out);
}

const char *mongo_bson_get_utf8(const bson_t *doc, const char *dotted)
{
    bson_iter_t it;
    if (!mongo_bson_find(doc, dotted, &it) || !BSON_ITER_HOLDS_UTF8(&it)) {
        return NULL;
    }
    uint32_t len = 0;
    const char *s = bson_iter_utf8(&it, &len);
    /*
     * Label values are C strings and Prometheus wants them in UTF-8, so a
     * string with an embedded NUL or invalid bytes is not one we can expose.
     */
    if (!s || strlen(s) != len || !bson_utf8_validate(s, len, false)) {
        return NULL;
    }
    return s;
}

bool mongo_bson_sub(const bson_iter_t *iter, bson_t *out)
{
    const uint8_t *data = NULL;
    uint32_t len = 0;
    if (BSON_ITER_HOLDS_DOCUMENT(iter)) {
        bson_iter_document(iter, &len, &data);
    } else if (BSON_ITER_HOLDS_ARRAY(iter)) {
        bson_iter_array(iter, &len, &data);
    } else {
        return false;
    }
    return data && bson_init_static(out, data, len);
}
