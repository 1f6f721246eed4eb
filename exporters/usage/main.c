/*
 * frond_usage_exporter: platform usage and user activity from configured
 * MongoDB queries, as Prometheus metrics. This file is only wiring: flags,
 * config, the runtime (runner.c), the HTTP server, and SIGHUP reloads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "config.h"
#include "frond/flags.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/process.h"
#include "frond/registry.h"
#include "mongoc_log.h"
#include "runner.h"

#define PROG "frond_usage_exporter"

struct reload_ctx {
    const char *config_file;
    unsigned workers;
    struct usage_app *app;
    struct frond_series *reload_ok;
    struct frond_series *reload_ts;
};

/*
 * SIGHUP: load the file again; only a config that passes every check
 * replaces the running one, and the swap is one pointer under the app lock,
 * so a scrape sees either the old runtime or the new one, never a mix.
 */
static int reload(void *arg)
{
    struct reload_ctx *ctx = arg;
    struct usage_config *cfg = NULL;
    struct usage_runtime *rt = NULL, *old;
    char err[1024] = "";
    int rc;

    rc = usage_config_load(ctx->config_file, &cfg, err, sizeof(err));
    if (rc) {
        frond_error("reload rejected: keeping the running configuration", "err", err);
        goto fail;
    }
    /* Readers of the current runtime only take its own lock; the main thread is the only writer. */
    rt = usage_runtime_new(cfg, ctx->app->rt, ctx->workers, &rc);
    if (!rt) {
        frond_error("reload rejected: cannot build the new runtime", "err", strerror(-rc));
        goto fail;
    }
    rc = usage_runtime_start(rt);
    if (rc) {
        usage_runtime_free(rt);
        goto fail;
    }
    old = usage_app_swap(ctx->app, rt);
    usage_runtime_free(old);
    frond_series_set(ctx->reload_ok, 1);
    frond_series_set(ctx->reload_ts, frond_now_realtime());
    frond_info("configuration reloaded", "file", ctx->config_file);
    return 0;
fail:
    frond_series_set(ctx->reload_ok, 0);
    return rc ? rc : -EINVAL;
}

int main(int argc, char **argv)
{
    struct frond_common_opts o;
    char *config_file = NULL;
    bool check_config = false;
    long workers = 4;
    int exit_code = FROND_EXIT_FAILURE;
    int rc;
    char err[1024] = "";
    struct usage_config *cfg = NULL;
    struct usage_runtime *rt = NULL;
    struct frond_registry *reg = NULL;
    struct frond_http *http = NULL;
    struct usage_app app;
    bool app_ok = false;

    memset(&o, 0, sizeof(o));
    struct frond_flag flags[] = {
        FROND_COMMON_FLAGS(&o, ":9412"),
        {"config.file", FROND_FLAG_STRING, &config_file, "usage.yml", "USAGE_EXPORTER_CONFIG",
         "Path to the YAML file with servers and queries.", 0, false},
        {"check-config", FROND_FLAG_BOOL, &check_config, "false", NULL,
         "Check the configuration file and exit (0 if valid, 2 otherwise).", 0, false},
        {"query.concurrency", FROND_FLAG_INT, &workers, "4", NULL,
         "How many queries may run at the same time.", 0, false},
    };
    struct frond_flagset fs = {PROG,
                               "Prometheus exporter for platform usage from configured MongoDB "
                               "queries.",
                               flags, FROND_ARRAY_SIZE(flags)};

    /*
     * The cached results are many small blocks that live for an interval,
     * and a scrape allocates and frees a few large ones: one arena keeps
     * the query workers and HTTP threads from each growing their own heap
     * (1 MiB less RSS with 200 queries and 10k samples, bench/README.md).
     */
    frond_process_tune_malloc(1);
    rc = frond_flags_parse(&fs, argc, argv);
    if (rc) {
        exit_code = rc > 0 ? FROND_EXIT_OK : FROND_EXIT_USAGE;
        goto out;
    }
    if (frond_log_setup(o.log_level, o.log_format)) {
        fprintf(stderr, "%s: bad --log.level or --log.format\n", PROG);
        exit_code = FROND_EXIT_USAGE;
        goto out;
    }
    if (workers < 1 || workers > 64) {
        fprintf(stderr, "%s: --query.concurrency must be 1..64\n", PROG);
        exit_code = FROND_EXIT_USAGE;
        goto out;
    }
    /*
     * libmongoc's warnings are per-socket details ("Failed to buffer 4
     * bytes") of failures the runner already reports once per query, so
     * they are debug; nothing more verbose than INFO is logged at all.
     */
    exporter_mongoc_init(NULL, MONGOC_LOG_LEVEL_INFO);

    rc = usage_config_load(config_file, &cfg, err, sizeof(err));
    if (rc) {
        if (check_config) {
            fprintf(stderr, "%s\n", err);
        } else {
            frond_error("invalid configuration", "err", err);
        }
        exit_code = FROND_EXIT_USAGE;
        goto out_mongoc;
    }
    if (check_config) {
        printf("%s: OK (%zu servers, %zu metrics)\n", config_file, cfg->nservers, cfg->nmetrics);
        exit_code = FROND_EXIT_OK;
        goto out_mongoc;
    }
    if (frond_process_init()) {
        frond_error("cannot set up signal handling");
        goto out_mongoc;
    }
    reg = frond_registry_new();
    if (!reg || frond_process_register_metrics(reg, PROG)) {
        frond_error("cannot create the metrics registry");
        goto out_mongoc;
    }
    struct frond_metric *m_ok = frond_registry_gauge(
        reg, "usage_config_last_reload_successful",
        "1 if the last configuration (re)load succeeded, 0 if it was rejected.", NULL);
    struct frond_metric *m_ts =
        frond_registry_gauge(reg, "usage_config_last_reload_success_timestamp_seconds",
                             "Unix time of the last successful configuration (re)load.", NULL);
    struct reload_ctx rctx = {config_file, (unsigned)workers, &app, NULL, NULL};
    if (m_ok) {
        rctx.reload_ok = frond_metric_series(m_ok, NULL);
    }
    if (m_ts) {
        rctx.reload_ts = frond_metric_series(m_ts, NULL);
    }
    if (!rctx.reload_ok || !rctx.reload_ts || usage_app_init(&app)) {
        frond_error("cannot create metrics");
        goto out_reg;
    }
    app_ok = true;
    frond_series_set(rctx.reload_ok, 1);
    frond_series_set(rctx.reload_ts, frond_now_realtime());

    rt = usage_runtime_new(cfg, NULL, (unsigned)workers, &rc);
    cfg = NULL;
    if (!rt || usage_runtime_start(rt)) {
        frond_error("cannot start the query runtime");
        goto out_reg;
    }
    (void)usage_app_swap(&app, rt);
    rt = NULL;
    if (frond_registry_add_collector(reg, usage_app_collect, &app)) {
        frond_error("cannot register the collector");
        goto out_reg;
    }

    struct frond_http_opts ho = {
        .listen_address = o.listen_address,
        .telemetry_path = o.telemetry_path,
        .web_config_file = o.web_config_file,
        .name = "frond usage exporter",
        .description = "Platform usage from configured MongoDB queries, run on their own "
                       "schedule and served from cache.",
        .max_connections = (unsigned)o.max_requests,
        .timeout_offset = o.scrape_timeout_offset,
        .ready = usage_app_ready,
        .ready_ctx = &app,
    };
    http = frond_http_start(reg, &ho, &rc);
    if (!http) {
        exit_code = rc == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        goto out_reg;
    }
    char port[16];
    snprintf(port, sizeof(port), "%u", frond_http_port(http));
    frond_info("listening", "address", o.listen_address, "port", port, "config", config_file);
    frond_process_run(reload, &rctx);
    exit_code = FROND_EXIT_OK;

out_reg:
    frond_http_stop(http);
    if (app_ok) {
        usage_runtime_free(usage_app_swap(&app, NULL));
        usage_app_cleanup(&app);
    }
    usage_runtime_free(rt);
    frond_registry_free(reg);
out_mongoc:
    usage_config_free(cfg);
    mongoc_cleanup();
out:
    frond_flags_free(&fs);
    return exit_code;
}
