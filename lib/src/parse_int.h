/*
 * Private to libfrond: the value parsers of parse.c with their error
 * codes kept apart, -EINVAL for a malformed value and -ERANGE for one out
 * of range, so flags.c can say which it was. The public frond_parse_*
 * (frond/parse.h) fold both into -EINVAL. *out is untouched on failure.
 * Pure functions: thread-safe.
 */
#ifndef FROND_PARSE_INT_H
#define FROND_PARSE_INT_H

#include "frond/common.h"

FROND_MUST_CHECK int frond_parse_duration_rc(const char *s, double *seconds);
FROND_MUST_CHECK int frond_parse_bytes_rc(const char *s, long *bytes);
FROND_MUST_CHECK int frond_parse_long_rc(const char *s, long *out);
FROND_MUST_CHECK int frond_parse_double_rc(const char *s, double *out);

#endif
