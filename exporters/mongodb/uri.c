/*
 * Turning the operator's MongoDB URI into the one the exporter connects
 * with, and keeping its password out of every message.
 *
 * The exporter is meant to run once per member (the Prometheus guidance for
 * replica sets), so a single-host URI gets directConnection=true: without
 * it libmongoc would discover the set and talk to whichever member it
 * likes, and with replicaSet= and unresolvable member names libmongoc
 * 1.23.1 can deadlock (CDRIVER-4666). Timeouts the URI does not set are
 * filled in, and all of them are capped by --mongodb.timeout, so a dead or
 * silent server never holds a pooled client longer than that.
 */
#include <stdio.h>
#include <string.h>

#include "frond/log.h"
#include "mongo.h"

/* Copy at most dstsz-1 bytes of [s, s+n) and NUL-terminate. */
static void copy_span(char *dst, size_t dstsz, const char *s, size_t n)
{
    if (dstsz == 0) {
        return;
    }
    if (n >= dstsz) {
        n = dstsz - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void mongo_scrub(char *msg, size_t msgsz, const char *secret)
{
    char tmp[1024];
    size_t slen = secret ? strlen(secret) : 0;

    if (!msg || msgsz == 0) {
        return;
    }
    if (slen > 0) {
        size_t out = 0;
        const char *p = msg;
        const char *hit;
        while ((hit = strstr(p, secret)) != NULL && out < sizeof(tmp) - 1) {
            size_t pre = (size_t)(hit - p);
            if (pre > sizeof(tmp) - 1 - out) {
                pre = sizeof(tmp) - 1 - out;
            }
            memcpy(tmp + out, p, pre);
            out += pre;
            size_t rep = 5;
            if (rep > sizeof(tmp) - 1 - out) {
                rep = sizeof(tmp) - 1 - out;
            }
            memcpy(tmp + out, "xxxxx", rep);
            out += rep;
            p = hit + slen;
        }
        size_t rest = strlen(p);
        if (rest > sizeof(tmp) - 1 - out) {
            rest = sizeof(tmp) - 1 - out;
        }
        memcpy(tmp + out, p, rest);
        out += rest;
        tmp[out] = '\0';
        copy_span(msg, msgsz, tmp, out);
    }
    if (strstr(msg, "://")) {
        frond_redact_uri(msg, tmp, sizeof(tmp));
        copy_span(msg, msgsz, tmp, strlen(tmp));
    }
}

/*
 * The password as typed in `text` (still percent-encoded), for scrubbing
 * messages about a URI libmongoc could not parse. Empty when there is none.
 */
static void raw_password(const char *text, char *out, size_t outsz)
{
    const char *auth = strstr(text, "://");
    const char *at = NULL, *colon;
    size_t auth_len;

    out[0] = '\0';
    if (!auth) {
        return;
    }
    auth += 3;
    auth_len = strcspn(auth, "/?#");
    for (const char *p = auth; p < auth + auth_len; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (!at) {
        return;
    }
    colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon && at > colon + 1) {
        copy_span(out, outsz, colon + 1, (size_t)(at - colon - 1));
    }
}

/* Set a millisecond option when absent, and cap it at `max_ms` either way. */
static void bound_ms(mongoc_uri_t *uri, const char *opt, int32_t def_ms, int32_t max_ms)
{
    int32_t v = def_ms;
    if (mongoc_uri_has_option(uri, opt)) {
        v = mongoc_uri_get_option_as_int32(uri, opt, def_ms);
    }
    /* 0 means "no timeout" to libmongoc, which is exactly what must not happen here. */
    if (v <= 0 || v > max_ms) {
        v = max_ms;
    }
    (void)mongoc_uri_set_option_as_int32(uri, opt, v);
}

mongoc_uri_t *mongo_uri_prepare(const char *text, const struct mongo_conn_opts *o, char *err,
                                size_t errsz)
{
    bson_error_t error;
    mongoc_uri_t *uri = NULL;
    char secret[512];
    const mongoc_host_list_t *hosts;
    int32_t max_ms, connect_ms;

    memset(&error, 0, sizeof(error));
    if (errsz) {
        err[0] = '\0';
    }
    if (!text || !*text) {
        snprintf(err, errsz, "empty MongoDB URI");
        return NULL;
    }
    uri = mongoc_uri_new_with_error(text, &error);
    if (!uri) {
        raw_password(text, secret, sizeof(secret));
        mongo_scrub(error.message, sizeof(error.message), secret);
        snprintf(err, errsz, "invalid MongoDB URI: %s", error.message);
        return NULL;
    }

    hosts = mongoc_uri_get_hosts(uri);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_DIRECTCONNECTION) &&
        !mongoc_uri_get_srv_hostname(uri) && hosts && !hosts->next) {
        if (!mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true)) {
            snprintf(err, errsz, "cannot set directConnection on the MongoDB URI");
            mongoc_uri_destroy(uri);
            return NULL;
        }
    }

    max_ms = (int32_t)(o->timeout * 1000.0);
    if (max_ms < 1) {
        max_ms = 1;
    }
    connect_ms = (int32_t)(o->connect_timeout * 1000.0);
    if (connect_ms < 1 || connect_ms > max_ms) {
        connect_ms = max_ms;
    }
    bound_ms(uri, MONGOC_URI_CONNECTTIMEOUTMS, connect_ms, max_ms);
    bound_ms(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, connect_ms, max_ms);
    bound_ms(uri, MONGOC_URI_SOCKETTIMEOUTMS, max_ms, max_ms);

    if (!mongoc_uri_get_appname(uri)) {
        (void)mongoc_uri_set_appname(uri, "frond_mongodb_exporter");
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_MAXPOOLSIZE) && o->max_pool_size > 0) {
        (void)mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE,
                                             (int32_t)o->max_pool_size);
    }
    return uri;
}
