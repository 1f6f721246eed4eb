/*
 * Fuzz target for what frondtail does with Loki's answers (shipper/push_policy.c):
 * the verdict, the Retry-After parser (delta-seconds and HTTP-dates, via
 * curl_getdate), the drop-reason matcher and the first-line extractor.
 * Input layout: two bytes of HTTP status (big-endian, 0 = no response),
 * then the Retry-After value up to the first newline, then the body.
 */
#include <stdint.h>
#include <string.h>

#include "../../shipper/push_policy.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    long status = ((long)data[0] << 8) | data[1];
    const char *rest = (const char *)data + 2;
    size_t len = size - 2;
    const char *nl = memchr(rest, '\n', len);
    size_t ra_len = nl ? (size_t)(nl - rest) : len;
    const char *body = nl ? nl + 1 : rest + len;
    size_t body_len = nl ? len - ra_len - 1 : 0;

    struct push_outcome oc;
    push_outcome_from_response(status != 0, status, rest, ra_len, body, body_len, 1.7e9, &oc);
    if (oc.retry_after > PUSH_RETRY_AFTER_MAX || strlen(oc.first_line) >= sizeof(oc.first_line)) {
        __builtin_trap();
    }
    double v = 0;
    if (push_parse_retry_after(rest, ra_len, 0, &v) == 0 && (v < 0 || v > PUSH_RETRY_AFTER_MAX)) {
        __builtin_trap();
    }
    struct push_backoff b;
    push_backoff_init(&b, 0.5, 300);
    double d = push_next_delay(&b, oc.retry_after, (double)(status & 0xff) / 256.0);
    if (!(d >= 0.5) || d > PUSH_RETRY_AFTER_MAX) {
        __builtin_trap();
    }
    (void)push_drop_reason(body, body_len);
    return 0;
}
