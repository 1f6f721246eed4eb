/*
 * libmongoc's log handler for the MongoDB exporters (see mongoc_log.h).
 * Errors libmongoc logs are mostly about connections the exporters already
 * report once (mongodb_up, a query's error counter), so only what
 * libmongoc itself calls errors reaches warn; the rest is debug detail.
 */
#include "mongoc_log.h"

#include <stdbool.h>
#include <stdio.h>

#include "frond/log.h"
#include "mongoc_sasl.h"

/* Set once by exporter_mongoc_init() before libmongoc can call the handler. */
static exporter_mongoc_scrub_fn log_scrub;
static mongoc_log_level_t log_debug_upto;

static void mongoc_log_to_frond(mongoc_log_level_t level, const char *domain, const char *message,
                                void *user_data)
{
    char msg[1024];
    (void)user_data;
    bool severe = level <= MONGOC_LOG_LEVEL_CRITICAL; /* ERROR is 0, CRITICAL 1 */
    if (!severe && (level > log_debug_upto || !frond_log_enabled(FROND_LOG_DEBUG))) {
        return;
    }
    snprintf(msg, sizeof(msg), "%s", message ? message : "");
    if (log_scrub) {
        log_scrub(msg, sizeof(msg));
    }
    if (severe) {
        frond_warn("libmongoc", "domain", domain ? domain : "", "detail", msg);
    } else {
        frond_debug("libmongoc", "domain", domain ? domain : "", "detail", msg);
    }
}

void exporter_mongoc_init(exporter_mongoc_scrub_fn scrub, mongoc_log_level_t debug_upto)
{
    log_scrub = scrub;
    log_debug_upto = debug_upto;
    mongoc_log_set_handler(mongoc_log_to_frond, NULL);
    mongoc_init();
    mongoc_log_trace_disable();
    frond_debug("Cyrus SASL plugins", "loaded",
                exporter_mongoc_sasl_gssapi_only() ? "GSSAPI only" : "all in the plugin directory");
}
