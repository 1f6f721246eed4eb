/*
 * Value parsers for configuration: what a duration, a byte size, a number
 * or a boolean may look like, the same on the command line (frond/flags.h)
 * and in YAML config files (frond/yamlcfg.h).
 *
 * Pure functions on NUL-terminated strings: nothing is allocated, and they
 * are thread-safe.
 */
#ifndef FROND_PARSE_H
#define FROND_PARSE_H

#include <stdbool.h>

#include "frond/common.h"

/*
 * 0 or -EINVAL (also for out-of-range values); *out is untouched on
 * failure. Durations: Prometheus units y w d h m s ms (y = 365d) combined
 * like "1h30m", Go's us/µs/ns and fractions ("1.5s"), or a plain number of
 * seconds; never negative. Sizes:
 * go-humanize units, case-insensitive, SI (KB = 1000) and IEC (KiB = 1024),
 * fractions ("1.5MiB"), an optional blank before the unit. Longs: decimal,
 * no blanks. Doubles: finite only, no hex. Booleans: see frond_yaml_bool.
 */
FROND_MUST_CHECK int frond_parse_duration(const char *s, double *seconds);
FROND_MUST_CHECK int frond_parse_bytes(const char *s, long *bytes);
FROND_MUST_CHECK int frond_parse_long(const char *s, long *out);
FROND_MUST_CHECK int frond_parse_double(const char *s, double *out);
FROND_MUST_CHECK int frond_parse_bool(const char *s, bool *out);

#endif
