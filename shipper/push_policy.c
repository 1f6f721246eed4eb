/*
 * The output side's rules, apart from its machinery (push.c): what a push
 * attempt's outcome means, how long to wait before the next one, how to read
 * Retry-After and how to name a dropped batch's reason. Everything here is
 * pure (no allocation, locking or I/O), so unit tests and the fuzz target
 * drive it directly; see push.h for the contracts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "push.h"

enum push_verdict push_classify(bool transport_ok, long status)
{
    if (!transport_ok) {
        return PUSH_RETRY;
    }
    if (status >= 200 && status < 300) {
        return PUSH_OK;
    }
    if (status == 429 || status >= 500) {
        return PUSH_RETRY;
    }
    if (status == 401 || status == 403 || status == 404 || status == 413) {
        return PUSH_RETRY_LOUD;
    }
    if (status >= 400 && status < 500) {
        return PUSH_DROP;
    }
    return PUSH_RETRY_LOUD;
}

const char *push_verdict_name(enum push_verdict v)
{
    switch (v) {
    case PUSH_OK:
        return "ok";
    case PUSH_RETRY:
        return "retry";
    case PUSH_RETRY_LOUD:
        return "retry_operator_error";
    case PUSH_DROP:
        return "drop";
    }
    return "unknown";
}

void push_backoff_init(struct push_backoff *b, double min, double max)
{
    b->min = min > 0 ? min : 0.5;
    b->max = max >= b->min ? max : b->min;
    push_backoff_reset(b);
}

void push_backoff_reset(struct push_backoff *b)
{
    b->lo = 0;
    b->hi = 0;
    b->tries = 0;
}

double push_backoff_next(struct push_backoff *b, double rnd)
{
    b->tries++;
    if (b->min >= b->max) {
        return b->min;
    }
    if (b->lo == 0) {
        b->lo = b->min;
        b->hi = b->min * 2 < b->max ? b->min * 2 : b->max;
    } else {
        b->lo = b->lo * 2 < b->max ? b->lo * 2 : b->max;
        b->hi = b->hi * 2 < b->max ? b->hi * 2 : b->max;
    }
    if (!(rnd >= 0) || rnd >= 1) {
        rnd = 0;
    }
    return b->lo + (b->hi - b->lo) * rnd;
}

double push_next_delay(struct push_backoff *b, double retry_after, double rnd)
{
    double d = push_backoff_next(b, rnd);
    if (retry_after > d) {
        d = retry_after;
    }
    return d;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int push_parse_retry_after(const char *value, size_t len, double now_real, double *out)
{
    while (len && is_blank(value[0])) {
        value++;
        len--;
    }
    while (len && is_blank(value[len - 1])) {
        len--;
    }
    if (len == 0) {
        return -EINVAL;
    }
    bool digits = true;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') {
            digits = false;
            break;
        }
    }
    if (digits) {
        double v = 0;
        for (size_t i = 0; i < len && v <= PUSH_RETRY_AFTER_MAX; i++) {
            v = v * 10 + (value[i] - '0');
        }
        *out = v < PUSH_RETRY_AFTER_MAX ? v : PUSH_RETRY_AFTER_MAX;
        return 0;
    }
    /*
     * An HTTP-date. curl_getdate() parses all three forms RFC 9110 names
     * and is what curl itself uses for cookies and If-Modified-Since; it
     * needs a NUL-terminated string, and no real date is longer than this.
     */
    char tmp[64];
    if (len >= sizeof(tmp)) {
        return -EINVAL;
    }
    memcpy(tmp, value, len);
    tmp[len] = '\0';
    time_t t = curl_getdate(tmp, NULL);
    if (t == (time_t)-1) {
        return -EINVAL;
    }
    double d = (double)t - now_real;
    if (d < 0) {
        d = 0;
    }
    *out = d < PUSH_RETRY_AFTER_MAX ? d : PUSH_RETRY_AFTER_MAX;
    return 0;
}

static bool contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (strncasecmp(hay + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

const char *push_drop_reason(const char *body, size_t len)
{
    /*
     * Loki's validation messages (pkg/validation/validate.go), most specific
     * first. Where promtail's client has a reason for the same thing
     * (ingester_error, rate_limited, stream_limited, line_too_long), its
     * name is used, so dashboards and alerts written for promtail match.
     */
    static const struct {
        const char *needle;
        const char *reason;
    } table[] = {
        {"out of order", "out_of_order"},
        {"too far behind", "out_of_order"},
        {"too old", "too_old"},
        {"greater than max", "line_too_long"},
        {"line too long", "line_too_long"},
        {"max entry size", "line_too_long"},
        {"stream limit", "stream_limited"},
        {"maximum active stream", "stream_limited"},
        {"rate limit", "rate_limited"},
        {"error parsing labels", "invalid_labels"},
        {"invalid labels", "invalid_labels"},
        {"label name", "invalid_labels"},
        {"too far in the future", "too_far_in_future"},
        {"too new", "too_far_in_future"},
    };
    if (!body) {
        return "ingester_error";
    }
    for (size_t i = 0; i < FROND_ARRAY_SIZE(table); i++) {
        if (contains(body, len, table[i].needle)) {
            return table[i].reason;
        }
    }
    return "ingester_error";
}

size_t push_first_line(const char *body, size_t len, char *out, size_t outsz)
{
    if (outsz == 0) {
        return 0;
    }
    size_t n = 0;
    while (body && n < len && n + 1 < outsz && body[n] != '\n' && body[n] != '\r') {
        /* The log writer escapes values, but a NUL would still cut the string short. */
        out[n] = body[n] ? body[n] : ' ';
        n++;
    }
    out[n] = '\0';
    return n;
}

void push_outcome_from_response(bool transport_ok, long status, const char *retry_after,
                                size_t retry_after_len, const char *body, size_t body_len,
                                double now_real, struct push_outcome *out)
{
    out->verdict = push_classify(transport_ok, status);
    out->retry_after = -1;
    out->drop_reason = NULL;
    out->first_line[0] = '\0';
    double ra = 0;
    if (transport_ok && retry_after && retry_after_len &&
        push_parse_retry_after(retry_after, retry_after_len, now_real, &ra) == 0) {
        out->retry_after = ra;
    }
    if (transport_ok && out->verdict != PUSH_OK) {
        push_first_line(body, body_len, out->first_line, sizeof(out->first_line));
    }
    if (out->verdict == PUSH_DROP) {
        out->drop_reason = push_drop_reason(body, body_len);
    }
}
