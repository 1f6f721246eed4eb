/*
 * Exposition formats: content negotiation and the escaping rules of the
 * Prometheus text format 0.0.4 and OpenMetrics 1.0.0. The registry uses
 * these to render; the HTTP server uses the negotiation; they are public so
 * that tests and fuzz targets can reach them.
 *
 * All functions are pure and thread-safe.
 */
#ifndef FROND_EXPO_H
#define FROND_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/buf.h"
#include "frond/common.h"
#include "frond/registry.h"

/*
 * Pick the format for an Accept header, honouring q-values the way
 * client_golang's expfmt.Negotiate does: OpenMetrics only when the client
 * asks for application/openmetrics-text (version 1.0.0 or 0.0.1, or none);
 * text 0.0.4 otherwise, including for NULL, empty or garbage headers.
 * Clarifications: the acceptable range with the highest q wins (the first
 * listed on a tie); q=0 or an unparsable q means "not acceptable" (RFC
 * 9110); the wildcard ranges (any type, or any text subtype) count as
 * accepting text 0.0.4, so OpenMetrics at q=0.5 loses to a wildcard at
 * q=1, and a wildcard never selects OpenMetrics. Type and
 * parameter names are case-insensitive; a quoted version is unquoted.
 */
enum frond_expo_format frond_expo_negotiate(const char *accept);
/* The exact Content-Type header value for a format. */
const char *frond_expo_content_type(enum frond_expo_format format);

/* Label value escaping: `\` `"` and newline (both formats). */
FROND_MUST_CHECK int frond_expo_escape_label(struct frond_buf *out, const char *value);
/* HELP escaping: `\` and newline in text 0.0.4; also `"` in OpenMetrics. */
FROND_MUST_CHECK int frond_expo_escape_help(struct frond_buf *out, const char *help,
                                            enum frond_expo_format format);
/* A sample value: shortest round-trip form, "NaN", "+Inf", "-Inf". */
FROND_MUST_CHECK int frond_expo_value(struct frond_buf *out, double v);
/* Is this a valid metric name / label name? */
bool frond_expo_valid_metric_name(const char *name);
bool frond_expo_valid_label_name(const char *name);

/*
 * Raw writers for the registry's renderer, which reserves room once per
 * line and fills it in place (no allocation, no bounds checks here).
 *
 * frond_expo_format_value() writes at most FROND_EXPO_VALUE_MAX bytes (no
 * NUL) and returns the length. `canonical` adds ".0" to integral values,
 * as OpenMetrics wants for `le` ("1.0"); sample values use 0.
 *
 * frond_expo_escape_raw() writes at most 2 * n bytes: `\` and newline
 * escaped, and `"` too when `quote` is set (label values, OpenMetrics HELP).
 */
#define FROND_EXPO_VALUE_MAX 40
size_t frond_expo_format_value(char *dst, double v, int canonical);
size_t frond_expo_escape_raw(char *dst, const char *s, size_t n, int quote);

/*
 * Line writers: what frond_registry_render() calls for every family and
 * series; public so that tests and fuzz targets reach them. Each call
 * appends whole lines; on failure (-ENOSPC past the buffer's cap, -ENOMEM)
 * the lines already written stay and the caller discards the buffer.
 * Names are not validated here (the registry did it); label values and
 * HELP are escaped per format; lengths are given, so strings need no NUL.
 *
 * Format differences handled here: text 0.0.4 types stateset and info as
 * gauge and untyped as untyped, OpenMetrics as stateset, info, unknown;
 * OpenMetrics family names drop a counter's `_total` and an info's
 * `_info`, and its samples always carry them; histogram `le` is "1" in
 * text and the canonical "1.0" in OpenMetrics; `# EOF` ends OpenMetrics.
 */
struct frond_expo_label {
    const char *name;
    const char *value;
    uint32_t nlen;
    uint32_t vlen;
};

struct frond_expo_family {
    const char *name; /* as declared: counters with `_total`, info with `_info` */
    size_t nlen;
    enum frond_metric_type type;
    const char *help; /* NULL or hlen 0: no `# HELP` line */
    size_t hlen;
};

/* `# HELP` (when there is help) and `# TYPE`. */
FROND_MUST_CHECK int frond_expo_write_header(struct frond_buf *out, enum frond_expo_format format,
                                             const struct frond_expo_family *f);
/* One sample of a counter, gauge, untyped, stateset or info family. */
FROND_MUST_CHECK int frond_expo_write_sample(struct frond_buf *out, enum frond_expo_format format,
                                             const struct frond_expo_family *f,
                                             const struct frond_expo_label *labels, size_t nlabels,
                                             double value);
/* A histogram series: `_bucket` per finite bound and +Inf (= count), `_sum`, `_count`. */
FROND_MUST_CHECK int
frond_expo_write_histogram(struct frond_buf *out, enum frond_expo_format format,
                           const struct frond_expo_family *f, const struct frond_expo_label *labels,
                           size_t nlabels, const double *bounds, const double *cumulative,
                           size_t nbounds, double sum, double count);
/* What ends an exposition: `# EOF` in OpenMetrics, nothing in text. */
FROND_MUST_CHECK int frond_expo_write_end(struct frond_buf *out, enum frond_expo_format format);

#endif
