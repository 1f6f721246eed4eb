/*
 * The output side's decisions, kept apart from the sender thread so unit
 * tests and the fuzz target can reach them: what a push attempt's outcome
 * means (the verdict), how long to wait before the next try (exponential
 * backoff with jitter, Retry-After), and how to name a dropped batch's
 * reason. The queue itself (ship_queue_* in ship.h) lives in push.c.
 *
 * Everything here is pure: no allocation, no locking, no I/O, safe from
 * any thread.
 */
#ifndef FROND_SHIPPER_PUSH_H
#define FROND_SHIPPER_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"

enum push_verdict {
    PUSH_OK,         /* 2xx: ack the batch */
    PUSH_RETRY,      /* 429, 5xx, transport error: back off and send again */
    PUSH_RETRY_LOUD, /* 401/403/404/413: an operator's mistake; retry, log an error each time */
    PUSH_DROP,       /* 400 and other 4xx: Loki will never take it; drop, count, ack */
};

/*
 * Decide what to do with a batch after one push attempt. Loki answers 400
 * for entries it will never accept (out of order, too old, bad labels), so
 * retrying them would wedge the queue; 429, 5xx and transport errors are
 * worth retrying, and so are 401/403/404/413, which an operator can fix
 * (wrong credentials, wrong URL, a proxy's body limit) and which must not
 * cost data. `transport_ok` is false when no HTTP status was received
 * (connection refused or reset, timeout, TLS failure); `status` is then
 * ignored. Informational and redirect statuses (curl does not follow
 * redirects here) are retried loudly: they mean a misconfigured URL.
 */
enum push_verdict push_classify(bool transport_ok, long status);

/* The verdict's name for logs: "ok", "retry", "retry_operator_error", "drop". */
const char *push_verdict_name(enum push_verdict v);

/*
 * Exponential backoff with jitter, as promtail's (dskit) backoff: try n
 * waits a random time in [min * 2^(n-1), min * 2^n], both ends capped at
 * max. Not thread-safe; one per sender.
 */
struct push_backoff {
    double min, max;
    double lo, hi; /* the current window; 0 before the first failure */
    unsigned tries;
};

void push_backoff_init(struct push_backoff *b, double min, double max);
void push_backoff_reset(struct push_backoff *b);
/* The next wait in seconds; `rnd` in [0, 1) picks the point in the window. */
double push_backoff_next(struct push_backoff *b, double rnd);

/*
 * Parse a Retry-After header value (RFC 9110 10.2.3): delta-seconds
 * ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", and the
 * obsolete RFC 850 and asctime forms). `now_real` is the wall clock in Unix
 * seconds, to turn a date into a delay. Leading and trailing blanks are
 * ignored. 0 with *out >= 0 (a date in the past gives 0), -EINVAL for
 * anything else. Delays are capped at one day, so a hostile or broken
 * server cannot park the queue forever.
 */
FROND_MUST_CHECK int push_parse_retry_after(const char *value, size_t len, double now_real,
                                            double *out);

#define PUSH_RETRY_AFTER_MAX 86400.0

/*
 * The reason label for a batch Loki refused with 400, from its error body.
 * Loki's validation messages are stable strings; anything unrecognised is
 * "ingester_error", promtail's generic reason.
 */
const char *push_drop_reason(const char *body, size_t len);

/*
 * Copy the first line of an error body into `out` (always NUL-terminated,
 * truncated to outsz - 1), for the log. Returns the length copied.
 */
size_t push_first_line(const char *body, size_t len, char *out, size_t outsz);

/*
 * One attempt's outcome taken apart: what the sender does with a response.
 * The fuzz target drives this with arbitrary statuses, headers and bodies.
 */
struct push_outcome {
    enum push_verdict verdict;
    double retry_after; /* seconds, < 0 when absent or unparsable */
    const char *drop_reason;
    char first_line[256];
};

void push_outcome_from_response(bool transport_ok, long status, const char *retry_after,
                                size_t retry_after_len, const char *body, size_t body_len,
                                double now_real, struct push_outcome *out);

/*
 * The wait before the next attempt: the backoff's next value, or the
 * server's Retry-After when that is longer (honoured even past the
 * backoff's max, since the server asked for it).
 */
double push_next_delay(struct push_backoff *b, double retry_after, double rnd);

/*
 * Check a client URL the way the sender will use it: curl must parse it,
 * the scheme must be http or https and a host must be present. 0, or
 * -EINVAL with the reason (never the URL, which may hold a password) in
 * `why`. Thread-safe (curl_url() keeps no shared state).
 */
FROND_MUST_CHECK int push_url_check(const char *url, char *why, size_t whylen);

#endif
