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

#endif
