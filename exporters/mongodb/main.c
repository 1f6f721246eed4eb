/*
 * frond_mongodb_exporter: Prometheus metrics for one MongoDB replica set
 * member (replication state and lag, oplog window, basic server health).
 * This file is only wiring: flags, logging, the libmongoc pool, the
 * registry collector and the HTTP server; the work is in collect.c and the
 * mapping files. See README.md for every metric and flag.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "frond/flags.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/process.h"
#include "frond/registry.h"
#include "mongo.h"
#include "mongoc_log.h"

#define PROG "frond_mongodb_exporter"

int main(int argc, char **argv)
{
    struct frond_common_opts common = {0};
    char *uri_text = NULL;
    double timeout = 0, connect_timeout = 0;
    long pool_size = 0;
    struct frond_flag flags[] = {
        FROND_COMMON_FLAGS(&common, ":9216"),
        {"mongodb.uri", FROND_FLAG_STRING, &uri_text, "mongodb://127.0.0.1:27017", "MONGODB_URI",
         "MongoDB URI of the one member to watch (SCRAM credentials and TLS options go here). "
         "directConnection=true is added unless the URI sets it or names several hosts.",
         FROND_FLAG_SECRET, false},
        {"mongodb.timeout", FROND_FLAG_DURATION, &timeout, "10s", NULL,
         "Upper bound for one scrape's MongoDB work and for the socket timeout of every "
         "connection.",
         0, false},
        {"mongodb.connect-timeout", FROND_FLAG_DURATION, &connect_timeout, "3s", NULL,
         "Connect and server-selection timeout (capped by --mongodb.timeout).", 0, false},
        {"mongodb.max-connections", FROND_FLAG_INT, &pool_size, "4", NULL,
         "Pooled connections to MongoDB, i.e. scrapes that can run at the same time.", 0, false},
    };
    struct frond_flagset fs = {
        .prog = PROG,
        .summary = "Prometheus exporter for MongoDB replica set members.",
        .flags = flags,
        .nflags = FROND_ARRAY_SIZE(flags),
    };
    struct frond_registry *reg = NULL;
    struct frond_http *http = NULL;
    struct mongo_exporter *exp = NULL;
    mongoc_uri_t *uri = NULL;
    bool mongoc_started = false;
    char err[512];
    char shown[512];
    int status = FROND_EXIT_FAILURE;
    int rc;

    /* Small scrapes on a few threads: one arena is enough (see frond/process.h). */
    frond_process_tune_malloc(1);
    rc = frond_process_init();
    if (rc) {
        fprintf(stderr, "%s: cannot install signal handlers\n", PROG);
        goto out;
    }
    rc = frond_flags_parse(&fs, argc, argv);
    if (rc == 1) {
        status = FROND_EXIT_OK;
        goto out;
    }
    if (rc) {
        status = FROND_EXIT_USAGE;
        goto out;
    }
    if (frond_log_setup(common.log_level, common.log_format)) {
        fprintf(stderr, "%s: bad --log.level or --log.format\n", PROG);
        status = FROND_EXIT_USAGE;
        goto out;
    }
    if (timeout <= 0 || connect_timeout <= 0 || pool_size < 1 || pool_size > 100) {
        frond_error("--mongodb.timeout and --mongodb.connect-timeout must be positive, "
                    "--mongodb.max-connections between 1 and 100");
        status = FROND_EXIT_USAGE;
        goto out;
    }

    exporter_mongoc_init(mongo_log_scrub, MONGOC_LOG_LEVEL_TRACE);
    mongoc_started = true;
    struct mongo_conn_opts co = {
        .timeout = timeout,
        .connect_timeout = connect_timeout,
        .max_pool_size = (unsigned)pool_size,
    };
    uri = mongo_uri_prepare(uri_text, &co, err, sizeof(err));
    if (!uri) {
        frond_error("bad --mongodb.uri", "err", err);
        status = FROND_EXIT_USAGE;
        goto out;
    }
    exp = mongo_exporter_new(uri, &co);
    if (!exp) {
        goto out;
    }

    reg = frond_registry_new();
    if (!reg) {
        frond_error("out of memory creating the registry");
        goto out;
    }
    rc = frond_process_register_metrics(reg, PROG);
    if (rc) {
        frond_error("cannot register process metrics");
        goto out;
    }
    rc = frond_registry_add_collector(reg, mongo_collect, exp);
    if (rc) {
        frond_error("cannot register the MongoDB collector");
        goto out;
    }

    struct frond_http_opts ho = {
        .listen_address = common.listen_address,
        .telemetry_path = common.telemetry_path,
        .web_config_file = common.web_config_file,
        .name = "frond MongoDB exporter",
        .description = "Replica set state, replication lag, oplog window and server health of "
                       "one MongoDB member.",
        .max_connections = (unsigned)common.max_requests,
        .timeout_offset = common.scrape_timeout_offset,
        .max_scrape_timeout = timeout,
    };
    http = frond_http_start(reg, &ho, &rc);
    if (!http) {
        status = rc == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        goto out;
    }
    frond_redact_uri(mongoc_uri_get_string(uri), shown, sizeof(shown));
    frond_info("serving MongoDB metrics", "address", common.listen_address, "mongodb", shown);

    frond_process_run(NULL, NULL);
    frond_info("shutting down");
    status = FROND_EXIT_OK;

out:
    frond_http_stop(http);
    frond_registry_free(reg);
    /* A fetch stuck past the socket timeout still uses libmongoc: leave it initialised. */
    if (!mongo_exporter_free(exp)) {
        mongoc_started = false;
    }
    if (uri) {
        mongoc_uri_destroy(uri);
    }
    if (mongoc_started) {
        mongoc_cleanup();
    }
    frond_flags_free(&fs);
    return status;
}
