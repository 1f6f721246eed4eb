/*
 * Unit tests of the MongoDB URI preparation and password scrubbing: the
 * exporter must connect directly to one member unless told otherwise, keep
 * every timeout within --mongodb.timeout, and never let the password reach
 * a log line or an error message.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mongo.h"

static const struct mongo_conn_opts opts = {
    .timeout = 10.0, .connect_timeout = 3.0, .max_pool_size = 4};

static mongoc_uri_t *prep(const char *text, char *err, size_t errsz)
{
    return mongo_uri_prepare(text, &opts, err, errsz);
}

static void test_direct_connection(void)
{
    char err[512];
    mongoc_uri_t *u = prep("mongodb://127.0.0.1:27017", err, sizeof(err));
    CHECK(u != NULL);
    if (u) {
        CHECK(mongoc_uri_get_option_as_bool(u, MONGOC_URI_DIRECTCONNECTION, false));
        CHECK_INT(mongoc_uri_get_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, 0), 3000);
        CHECK_INT(mongoc_uri_get_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0), 3000);
        CHECK_INT(mongoc_uri_get_option_as_int32(u, MONGOC_URI_SOCKETTIMEOUTMS, 0), 10000);
        CHECK_INT(mongoc_uri_get_option_as_int32(u, MONGOC_URI_MAXPOOLSIZE, 0), 4);
        CHECK_STR(mongoc_uri_get_appname(u), "frond_mongodb_exporter");
        mongoc_uri_destroy(u);
    }
    /* With replicaSet= and one host it is still one exporter per member. */
    u = prep("mongodb://db-0.db:27017/?replicaSet=rs0", err, sizeof(err));
    CHECK(u != NULL);
    if (u) {
        CHECK(mongoc_uri_get_option_as_bool(u, MONGOC_URI_DIRECTCONNECTION, false));
        mongoc_uri_destroy(u);
    }
    /* Several hosts: the operator asked for discovery; leave it. */
    u = prep("mongodb://a:1,b:2/?replicaSet=rs0", err, sizeof(err));
    CHECK(u != NULL);
    if (u) {
        CHECK(!mongoc_uri_has_option(u, MONGOC_URI_DIRECTCONNECTION));
        mongoc_uri_destroy(u);
    }
    /* An explicit choice wins. */
    u = prep("mongodb://a:1/?directConnection=false", err, sizeof(err));
    CHECK(u != NULL);
    if (u) {
        CHECK(!mongoc_uri_get_option_as_bool(u, MONGOC_URI_DIRECTCONNECTION, true));
        mongoc_uri_destroy(u);
    }
}

static void test_timeouts_capped(void)
{
    char err[512];
    mongoc_uri_t *u = prep("mongodb://a:1/?socketTimeoutMS=600000&connectTimeoutMS=500&"
                           "serverSelectionTimeoutMS=0",
                           err, sizeof(err));
    CHECK(u != NULL);
    if (u) {
        CHECK_INT(mongoc_uri_get_option_as_int32(u, MONGOC_URI_SOCKETTIMEOUTMS, 0), 10000);
        CHECK_INT(mongoc_uri_get_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, 0), 500);
        /* 0 would mean "wait forever"; libmongoc drops it or we cap it, never keep it. */
        int32_t sel = mongoc_uri_get_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0);
        CHECK(sel > 0 && sel <= 10000);
        mongoc_uri_destroy(u);
    }
}

static void test_bad_uri_hides_password(void)
{
    char err[512];
    mongoc_uri_t *u = prep("mongodb://admin:hunter2@host:notaport/", err, sizeof(err));
    CHECK(u == NULL);
    CHECK(strstr(err, "hunter2") == NULL);
    CHECK(strstr(err, "invalid MongoDB URI") != NULL);
    mongoc_uri_destroy(u);
    u = prep("postgres://admin:s%40cret@host/", err, sizeof(err));
    CHECK(u == NULL);
    CHECK(strstr(err, "s%40cret") == NULL);
    u = prep("", err, sizeof(err));
    CHECK(u == NULL);
    CHECK(err[0] != '\0');
    u = prep("mongodb://admin:hunter2@host/?tls=maybe", err, sizeof(err));
    if (u) {
        mongoc_uri_destroy(u);
    } else {
        CHECK(strstr(err, "hunter2") == NULL);
    }
}

static void test_scrub(void)
{
    char m[128];
    snprintf(m, sizeof(m), "auth failed for pw hunter2 (hunter2)");
    mongo_scrub(m, sizeof(m), "hunter2");
    CHECK_STR(m, "auth failed for pw xxxxx (xxxxx)");
    snprintf(m, sizeof(m), "cannot reach mongodb://u:p4ss@h:1/?x=1 now");
    mongo_scrub(m, sizeof(m), NULL);
    CHECK(strstr(m, "p4ss") == NULL);
    CHECK(strstr(m, "u:xxxxx@h:1") != NULL);
    /* A one-letter password grows on replacement; the result stays bounded. */
    char small[8];
    snprintf(small, sizeof(small), "aaaaaaa");
    mongo_scrub(small, sizeof(small), "a");
    CHECK_INT(strlen(small), 7);
    CHECK(strchr(small, 'a') == NULL);
    snprintf(m, sizeof(m), "nothing secret");
    mongo_scrub(m, sizeof(m), "");
    CHECK_STR(m, "nothing secret");
}

int main(void)
{
    mongoc_init();
    test_direct_connection();
    test_timeouts_capped();
    test_bad_uri_hides_password();
    test_scrub();
    mongoc_cleanup();
    return check_done("test_mongodb_uri");
}
