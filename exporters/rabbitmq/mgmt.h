/*
 * A client for the RabbitMQ management HTTP API over libcurl, built for
 * scrapes: a session is one curl easy handle that lives for one scrape, so
 * the pages of /api/queues reuse one keep-alive connection and concurrent
 * scrapes never share a handle. Every request is bounded by the scrape's
 * deadline (CURLOPT_TIMEOUT_MS from the time left), and the body of a 2xx
 * reply is streamed straight into a JSON parser (json.h) as it arrives.
 *
 * Failures are classified so the collector can say what went wrong in one
 * log line: connection refused, timeout, 401/403 (bad credentials),
 * 404 (management plugin off or an old broker), another HTTP status, or a
 * reply that did not parse. Error messages never contain the password: it
 * is given to curl separately (CURLOPT_PASSWORD), URLs are redacted, and
 * curl's error text is scrubbed of it anyway.
 *
 * Ownership: options are borrowed and must outlive the session. A session
 * is not thread-safe; use one per scrape. rmq_mgmt_global_init() must run
 * once from main before any thread starts.
 */
#ifndef RMQ_MGMT_H
#define RMQ_MGMT_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"
#include "json.h"

struct rmq_mgmt_opts {
    const char *url; /* base, e.g. http://127.0.0.1:15672 or https://lb/rabbitmq */
    const char *user;
    const char *password;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    bool insecure;          /* skip TLS verification */
    size_t max_reply_bytes; /* a reply larger than this fails the request */
};

enum rmq_mgmt_err {
    RMQ_MGMT_OK = 0,
    RMQ_MGMT_CONNECT,   /* connection refused, DNS, TLS handshake */
    RMQ_MGMT_TIMEOUT,   /* deadline reached */
    RMQ_MGMT_AUTH,      /* 401 or 403 */
    RMQ_MGMT_NOT_FOUND, /* 404 */
    RMQ_MGMT_HTTP,      /* any other non-2xx status */
    RMQ_MGMT_PARSE,     /* 2xx but not the JSON we expect, or too large */
    RMQ_MGMT_INTERNAL,  /* out of memory, curl setup */
};

struct rmq_mgmt_result {
    enum rmq_mgmt_err err;
    long status;
    char msg[256]; /* human-readable, password-free */
};

struct rmq_mgmt;

FROND_MUST_CHECK int rmq_mgmt_global_init(void);
void rmq_mgmt_global_cleanup(void);

/* A session for one scrape ending at `deadline` (monotonic seconds). NULL on ENOMEM. */
struct rmq_mgmt *rmq_mgmt_open(const struct rmq_mgmt_opts *o, double deadline);
void rmq_mgmt_close(struct rmq_mgmt *m);

/*
 * GET base + `path` (already percent-encoded, starting with "/api/") and
 * stream a 2xx body into `parser`, then finish it. 0 on success; otherwise
 * a negative code with `res` filled in.
 */
FROND_MUST_CHECK int rmq_mgmt_get(struct rmq_mgmt *m, const char *path, struct rmq_json *parser,
                                  struct rmq_mgmt_result *res);

/* Percent-encode `s` for a path segment or query value. NULL on ENOMEM; free() it. */
char *rmq_mgmt_escape(const char *s);

/* The short name of an error class, for logs and the errors metric ("timeout", ...). */
const char *rmq_mgmt_err_name(enum rmq_mgmt_err e);

/*
 * Check --rabbit.url before anything starts: an absolute http:// or https://
 * URL with a host, as libcurl's URL parser reads it. 0 if usable; otherwise
 * -EINVAL with a one-line reason in `err` that never quotes the URL (it may
 * hold a password). Safe from any thread; needs no rmq_mgmt_global_init().
 */
FROND_MUST_CHECK int rmq_mgmt_check_url(const char *url, char *err, size_t errsz);

/* Replace every occurrence of `secret` in `s` by "xxxxx" in place (truncating if needed). */
void rmq_scrub_secret(char *s, size_t cap, const char *secret);

#endif
