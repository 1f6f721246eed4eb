/*
 * The HTTP server every frond binary exposes, on libmicrohttpd:
 *
 *   /metrics (or --web.telemetry-path)  the registry, negotiated format, gzip
 *   /                                   a landing page linking the others
 *   /-/healthy, /-/ready                liveness and readiness (200 or 503)
 *   extra routes                        e.g. frondtail's /ready
 *
 * Scrapes get a deadline of X-Prometheus-Scrape-Timeout-Seconds minus the
 * offset, capped by `max_scrape_timeout`. TLS and basic auth come from the
 * exporter-toolkit web config (frond/webconfig.h). Non-GET/HEAD methods get
 * 405, connections beyond `max_connections` are refused by the server.
 *
 * Ownership: the server borrows the registry and every pointer in the
 * options; they must outlive frond_http_stop(). Thread-safety: handlers run
 * on libmicrohttpd's threads (one per connection); start/stop from main.
 */
#ifndef FROND_HTTP_H
#define FROND_HTTP_H

#include <stddef.h>

#include "frond/buf.h"
#include "frond/common.h"
#include "frond/registry.h"

/*
 * A route handler: fill `body` and set `*content_type` (a static string),
 * return the HTTP status. Runs on a server thread.
 */
typedef int (*frond_http_handler_fn)(void *ctx, struct frond_buf *body, const char **content_type);

struct frond_http_route {
    const char *path;
    frond_http_handler_fn fn;
    void *ctx;
};

struct frond_http_opts {
    const char *listen_address;  /* "host:port", ":port", "[::1]:port" */
    const char *telemetry_path;  /* default "/metrics" */
    const char *web_config_file; /* NULL for plain HTTP without auth */
    const char *name;            /* landing page title, e.g. "frond MongoDB exporter" */
    const char *description;     /* landing page line */
    unsigned max_connections;    /* default 40 */
    double timeout_offset;       /* seconds, default 0.5 */
    double max_scrape_timeout;   /* seconds, cap on the header; 0 = 120 */
    /* Readiness for /-/ready; NULL = always ready. Returns 1 ready, 0 not. */
    int (*ready)(void *ctx);
    void *ready_ctx;
    const struct frond_http_route *routes; /* extra routes, may be NULL */
    size_t nroutes;
};

struct frond_http;

/*
 * Load the web config (if any), bind and start serving. On failure returns
 * NULL with *err set: -EINVAL for a bad address or web config (already
 * logged with the flag name or file:line; exit FROND_EXIT_USAGE), another
 * negative errno for bind failures (logged; exit 1).
 */
struct frond_http *frond_http_start(struct frond_registry *reg, const struct frond_http_opts *o,
                                    int *err);
/* Stop accepting, finish in-flight requests, free. Accepts NULL. */
void frond_http_stop(struct frond_http *h);
/* The port actually bound (useful with port 0 in tests). */
unsigned frond_http_port(const struct frond_http *h);

/*
 * Parse "host:port" / ":port" / "[v6]:port" into a sockaddr. -EINVAL for
 * anything malformed (no port, port > 65535, unresolvable literal).
 */
struct sockaddr_storage;
FROND_MUST_CHECK int frond_http_parse_listen(const char *addr, struct sockaddr_storage *out,
                                             unsigned *len);

/*
 * Deadline for a scrape that arrived with this header value (may be NULL)
 * at monotonic time `now`.
 */
double frond_http_scrape_deadline(const char *timeout_header, double offset, double max_timeout,
                                  double now);

#endif
