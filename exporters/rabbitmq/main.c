/*
 * frond_rabbitmq_exporter: flags, wiring and the main loop. The work is in
 * collect.c (management API over mgmt.c and json.c) and amqp.c (AMQP mode);
 * this file only turns flags into their options, registers one of the two
 * collectors, starts the HTTP server and waits for a signal.
 *
 * Flag names follow kbudde/rabbitmq_exporter's settings (RABBIT_URL,
 * RABBIT_USER, RABBIT_PASSWORD, INCLUDE_VHOST, ...) as kingpin-style flags,
 * with the same environment variables as fallbacks, plus the
 * exporter-toolkit flags every frond exporter shares. The four name filter
 * variables (INCLUDE_VHOST, SKIP_VHOST, INCLUDE_QUEUES, SKIP_QUEUES) keep
 * kbudde's meaning, matching anywhere in the name; the flags match whole
 * names.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/common.h"
#include "frond/flags.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/process.h"
#include "frond/registry.h"

#include "rmq_amqp.h"
#include "collect.h"
#include "mgmt.h"

#define PROG "frond_rabbitmq_exporter"

struct options {
    struct frond_common_opts common;
    char *url;
    char *user;
    char *password;
    char *ca_file;
    char *cert_file;
    char *key_file;
    bool insecure;
    double timeout;
    long page_size;
    long concurrency;
    bool queue_stats;
    long queue_stats_limit;
    long max_reply;
    bool server_filter;
    char *include_vhost;
    char *exclude_vhost;
    char *include_queues;
    char *exclude_queues;
    char *amqp_url;
    char *amqp_queues;
};

static bool flag_given(const struct frond_flag *flags, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(flags[i].name, name) == 0) {
            return flags[i].set;
        }
    }
    return false;
}

/*
 * Move credentials written into --rabbit.url (http://user:pass@host:15672)
 * out of the URL: curl then gets them as CURLOPT_USERNAME/PASSWORD like the
 * flags, so the password is never part of a URL we log, and is scrubbed
 * from error text like any other. Explicit --rabbit.user/--rabbit.password
 * win. `url` is rewritten in place (it only gets shorter).
 */
static int split_userinfo(char *url, char **user, char **password, bool keep_user,
                          bool keep_password)
{
    char *authority = strstr(url, "://");
    if (!authority) {
        return 0;
    }
    authority += 3;
    size_t alen = strcspn(authority, "/?#");
    char *at = memrchr(authority, '@', alen);
    if (!at) {
        return 0;
    }
    char *colon = memchr(authority, ':', (size_t)(at - authority));
    size_t ulen = colon ? (size_t)(colon - authority) : (size_t)(at - authority);
    char u[512], pw[512];
    if (rmq_percent_decode(authority, ulen, u, sizeof(u)) ||
        (colon && rmq_percent_decode(colon + 1, (size_t)(at - colon - 1), pw, sizeof(pw)))) {
        return -EINVAL;
    }
    if (!keep_user) {
        char *d = strdup(u);
        if (!d) {
            return -ENOMEM;
        }
        free(*user);
        *user = d;
    }
    if (colon && !keep_password) {
        char *d = strdup(pw);
        if (!d) {
            return -ENOMEM;
        }
        free(*password);
        *password = d;
    }
    memmove(authority, at + 1, strlen(at + 1) + 1);
    return 0;
}

/*
 * Compile one name filter. The flag (--include-queues=...) is anchored, the
 * way frond documents it; when the flag is not given, the environment
 * variable kbudde/rabbitmq_exporter reads (INCLUDE_QUEUES, ...) is used with
 * kbudde's semantics: matching anywhere in the name, like Go's
 * regexp.MatchString. Patterns using RE2 syntax that POSIX ERE reads
 * differently get a startup warning naming the flag or variable.
 */
static int compile(struct rmq_filter *f, const struct frond_flag *flags, size_t nflags,
                   const char *flag, const char *src, const char *env)
{
    bool anchored = true;
    char name[64];
    snprintf(name, sizeof(name), "--%s", flag);
    if (!flag_given(flags, nflags, flag)) {
        const char *e = getenv(env);
        if (e && e[0]) {
            src = e;
            anchored = false;
            snprintf(name, sizeof(name), "%s", env);
        }
    }
    char warn[200] = "";
    int rc = rmq_filter_init_ex(f, src, anchored, warn, sizeof(warn));
    if (rc == -EINVAL) {
        fprintf(stderr, "%s: %s: invalid POSIX extended regular expression\n", PROG, name);
        return rc;
    }
    if (rc) {
        return rc;
    }
    if (warn[0]) {
        frond_warn("name filter uses Go RE2/PCRE syntax that POSIX extended regex (used here) "
                   "reads differently; rewrite it with POSIX classes such as [[:digit:]]",
                   "filter", name, "pattern", f->src, "problem", warn);
    }
    if (f->set) {
        frond_info("name filter", "filter", name, "match", anchored ? "whole name" : "anywhere",
                   "regex", f->ere);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    struct frond_flag flags[] = {
        FROND_COMMON_FLAGS(&o.common, ":9419"),
        {"rabbit.url", FROND_FLAG_STRING, &o.url, "http://127.0.0.1:15672", "RABBIT_URL",
         "Base URL of the RabbitMQ management API (http or https).", 0, false},
        {"rabbit.user", FROND_FLAG_STRING, &o.user, "guest", "RABBIT_USER",
         "User for the management API (needs the 'monitoring' tag).", 0, false},
        {"rabbit.password", FROND_FLAG_STRING, &o.password, "guest", "RABBIT_PASSWORD",
         "Password for the management API; prefer the env var or --rabbit.password-file.",
         FROND_FLAG_SECRET, false},
        {"rabbit.ca-file", FROND_FLAG_STRING, &o.ca_file, NULL, "RABBIT_CA_FILE",
         "CA bundle to verify the management API's TLS certificate.", 0, false},
        {"rabbit.cert-file", FROND_FLAG_STRING, &o.cert_file, NULL, "RABBIT_CERT_FILE",
         "Client certificate (PEM) for TLS to the management API.", 0, false},
        {"rabbit.key-file", FROND_FLAG_STRING, &o.key_file, NULL, "RABBIT_KEY_FILE",
         "Client key (PEM) for TLS to the management API.", 0, false},
        {"rabbit.insecure-skip-verify", FROND_FLAG_BOOL, &o.insecure, "false",
         "RABBIT_INSECURE_SKIP_VERIFY", "Do not verify the management API's TLS certificate.", 0,
         false},
        {"rabbit.timeout", FROND_FLAG_DURATION, &o.timeout, "10s", "RABBIT_TIMEOUT",
         "Longest time a scrape may spend on RabbitMQ (Prometheus' own timeout applies too).", 0,
         false},
        {"rabbit.page-size", FROND_FLAG_INT, &o.page_size, "500", "RABBIT_PAGE_SIZE",
         "Queues per /api/queues/<vhost> page, 1 to 500, or 0 for one unpaginated request per "
         "vhost. Default 500 for listings with statistics, 0 for listings without.",
         0, false},
        {"rabbit.queue-stats", FROND_FLAG_BOOL, &o.queue_stats, "true", "RABBIT_QUEUE_STATS",
         "List queues with their statistics (message_stats counters, consumer utilisation, "
         "bytes, head message age). --no-rabbit.queue-stats lists depth and state only "
         "(disable_stats=true) and counts consumers from /api/consumers: a third of the "
         "broker's CPU.",
         0, false},
        {"rabbit.queue-stats-limit", FROND_FLAG_INT, &o.queue_stats_limit, "5000",
         "RABBIT_QUEUE_STATS_LIMIT",
         "With --rabbit.queue-stats, list queues without statistics while there are more "
         "queues than this (as exported by the last scrape; 0: no limit). The statistics cost "
         "the broker about 0.1 ms of CPU per queue and scrape.",
         0, false},
        {"rabbit.concurrency", FROND_FLAG_INT, &o.concurrency, "2", "RABBIT_CONCURRENCY",
         "Vhosts whose queue pages are read at once, each on its own connection, 1 to 16.", 0,
         false},
        {"rabbit.max-reply-size", FROND_FLAG_BYTES, &o.max_reply, "256MiB", NULL,
         "Largest management API reply accepted.", 0, false},
        {"rabbit.server-side-filter", FROND_FLAG_BOOL, &o.server_filter, "true", NULL,
         "Send --include-queues to the server (name + use_regex) to shrink replies; the "
         "exporter's own match stays authoritative.",
         0, false},
        {"include-vhost", FROND_FLAG_STRING, &o.include_vhost, NULL, NULL,
         "Only vhosts fully matching this POSIX extended regex (default: all). Env INCLUDE_VHOST "
         "instead matches anywhere in the name, as kbudde/rabbitmq_exporter does.",
         0, false},
        {"exclude-vhost", FROND_FLAG_STRING, &o.exclude_vhost, NULL, NULL,
         "Skip vhosts fully matching this regex. Env SKIP_VHOST instead matches anywhere in the "
         "name (kbudde).",
         0, false},
        {"include-queues", FROND_FLAG_STRING, &o.include_queues, NULL, NULL,
         "Only queues whose name fully matches this regex (default: all). Env INCLUDE_QUEUES "
         "instead matches anywhere in the name (kbudde).",
         0, false},
        {"exclude-queues", FROND_FLAG_STRING, &o.exclude_queues, NULL, NULL,
         "Skip queues whose name fully matches this regex. Env SKIP_QUEUES instead matches "
         "anywhere in the name (kbudde).",
         0, false},
        {"amqp.url", FROND_FLAG_STRING, &o.amqp_url, NULL, "AMQP_URL",
         "AMQP mode: amqp://user:pass@host:5672/vhost; replaces the management API.",
         FROND_FLAG_SECRET, false},
        {"amqp.queues", FROND_FLAG_STRING, &o.amqp_queues, NULL, "AMQP_QUEUES",
         "AMQP mode: queues to watch, vhost/queue,... (percent-encoded; %2F/q is vhost /).",
         FROND_FLAG_REPEAT, false},
    };
    struct frond_flagset fs = {
        .prog = PROG,
        .summary = "Prometheus exporter for RabbitMQ (management API or AMQP).",
        .flags = flags,
        .nflags = FROND_ARRAY_SIZE(flags),
    };
    struct rmq_collector col = {0};
    struct rmq_amqp *amqp = NULL;
    struct frond_registry *reg = NULL;
    struct frond_http *http = NULL;
    bool curl_ready = false;
    int code = FROND_EXIT_USAGE;
    int rc;

    /*
     * A scrape of 10k queues allocates megabytes (records, samples, the
     * body) and frees them at its end: keep those blocks out of the heap.
     * Two arenas, because the queue workers of a scrape allocate at once.
     */
    frond_process_tune_malloc(2);
    rc = frond_flags_parse(&fs, argc, argv);
    if (rc == 1) {
        code = FROND_EXIT_OK;
        goto out;
    }
    if (rc) {
        goto out;
    }
    if (frond_log_setup(o.common.log_level, o.common.log_format)) {
        fprintf(stderr, "%s: bad --log.level or --log.format\n", PROG);
        goto out;
    }
    if (o.page_size < 0 || o.page_size > 500) {
        fprintf(stderr, "%s: --rabbit.page-size must be between 0 and 500\n", PROG);
        goto out;
    }
    /*
     * Without statistics the broker's cost of a page is mostly sorting the
     * vhost's queues, once per page: one request per vhost is cheapest
     * (bench/README.md). With statistics, paging costs little extra and
     * bounds the size of each reply the broker builds.
     */
    long page_size_no_stats =
        flag_given(flags, FROND_ARRAY_SIZE(flags), "rabbit.page-size") ? o.page_size : 0;
    if (o.queue_stats_limit < 0) {
        fprintf(stderr, "%s: --rabbit.queue-stats-limit must be 0 (no limit) or more\n", PROG);
        goto out;
    }
    if (o.concurrency < 1 || o.concurrency > 16) {
        fprintf(stderr, "%s: --rabbit.concurrency must be between 1 and 16\n", PROG);
        goto out;
    }
    if (!(o.timeout > 0)) {
        fprintf(stderr, "%s: --rabbit.timeout must be positive\n", PROG);
        goto out;
    }
    bool amqp_mode = o.amqp_url && o.amqp_url[0];
    if (amqp_mode != (o.amqp_queues && o.amqp_queues[0])) {
        fprintf(stderr, "%s: --amqp.url and --amqp.queues go together\n", PROG);
        goto out;
    }
    const size_t nf = FROND_ARRAY_SIZE(flags);
    if (compile(&col.include_vhost, flags, nf, "include-vhost", o.include_vhost, "INCLUDE_VHOST") ||
        compile(&col.exclude_vhost, flags, nf, "exclude-vhost", o.exclude_vhost, "SKIP_VHOST") ||
        compile(&col.include_queues, flags, nf, "include-queues", o.include_queues,
                "INCLUDE_QUEUES") ||
        compile(&col.exclude_queues, flags, nf, "exclude-queues", o.exclude_queues,
                "SKIP_QUEUES")) {
        goto out;
    }
    if (!amqp_mode) {
        char err[160];
        if (rmq_mgmt_check_url(o.url, err, sizeof(err))) {
            fprintf(stderr, "%s: --rabbit.url: %s\n", PROG, err);
            goto out;
        }
    }
    if (!amqp_mode &&
        split_userinfo(o.url, &o.user, &o.password,
                       flag_given(flags, FROND_ARRAY_SIZE(flags), "rabbit.user"),
                       flag_given(flags, FROND_ARRAY_SIZE(flags), "rabbit.password"))) {
        fprintf(stderr, "%s: --rabbit.url: bad user information\n", PROG);
        goto out;
    }
    col.mgmt = (struct rmq_mgmt_opts){
        .url = o.url,
        .user = o.user,
        .password = o.password,
        .ca_file = o.ca_file,
        .cert_file = o.cert_file,
        .key_file = o.key_file,
        .insecure = o.insecure,
        .max_reply_bytes = (size_t)o.max_reply,
    };
    col.timeout = o.timeout;
    col.page_size = o.page_size;
    col.page_size_no_stats = page_size_no_stats;
    col.queue_stats_limit = o.queue_stats_limit;
    col.concurrency = o.concurrency;
    col.queue_stats = o.queue_stats;
    col.push_queue_regex = o.server_filter;
    if (o.server_filter && col.include_queues.set && !col.include_queues.server_ok) {
        frond_info("queue include filter applied by the exporter only: RabbitMQ's PCRE would read "
                   "it differently (or may), so it is not sent as name+use_regex",
                   "regex", col.include_queues.src);
    }

    code = FROND_EXIT_FAILURE;
    if (frond_process_init()) {
        frond_error("cannot set up signal handling");
        goto out;
    }
    if (rmq_mgmt_global_init()) {
        frond_error("cannot initialise libcurl");
        goto out;
    }
    curl_ready = true;
    reg = frond_registry_new();
    if (!reg || frond_process_register_metrics(reg, PROG)) {
        frond_error("cannot create the metrics registry");
        goto out;
    }
    if (rmq_collector_register(&col, reg, amqp_mode)) {
        frond_error("cannot register the collector");
        goto out;
    }
    if (amqp_mode) {
        char err[256] = "";
        rc = rmq_amqp_new(o.amqp_url, o.amqp_queues, o.user, o.password, o.timeout,
                          col.error_series[RMQ_EP_AMQP], &amqp, err, sizeof(err));
        if (rc == -EINVAL) {
            fprintf(stderr, "%s: %s\n", PROG, err);
            code = FROND_EXIT_USAGE;
            goto out;
        }
        if (rc || frond_registry_add_collector(reg, rmq_amqp_collect, amqp)) {
            frond_error("cannot set up AMQP mode");
            goto out;
        }
    }

    struct frond_http_opts ho = {
        .listen_address = o.common.listen_address,
        .telemetry_path = o.common.telemetry_path,
        .web_config_file = o.common.web_config_file,
        .name = "frond RabbitMQ exporter",
        .description = amqp_mode ? "Queue depth and consumers over AMQP (passive queue.declare)."
                                 : "Queues, nodes and cluster health from the RabbitMQ "
                                   "management API.",
        .max_connections = (unsigned)(o.common.max_requests > 0 ? o.common.max_requests : 40),
        .timeout_offset = o.common.scrape_timeout_offset,
        .max_scrape_timeout = o.timeout,
    };
    http = frond_http_start(reg, &ho, &rc);
    if (!http) {
        code = rc == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        goto out;
    }
    char shown[512];
    frond_redact_uri(amqp_mode ? o.amqp_url : o.url, shown, sizeof(shown));
    char port[16];
    snprintf(port, sizeof(port), "%u", frond_http_port(http));
    frond_info("listening", "address", o.common.listen_address, "port", port, "mode",
               amqp_mode ? "amqp" : "management", "rabbit", shown);
    frond_process_run(NULL, NULL);
    frond_info("stopping");
    code = FROND_EXIT_OK;
out:
    frond_http_stop(http);
    rmq_amqp_free(amqp);
    frond_registry_free(reg);
    rmq_filter_cleanup(&col.include_vhost);
    rmq_filter_cleanup(&col.exclude_vhost);
    rmq_filter_cleanup(&col.include_queues);
    rmq_filter_cleanup(&col.exclude_queues);
    if (curl_ready) {
        rmq_mgmt_global_cleanup();
    }
    frond_flags_free(&fs);
    return code;
}
