/*
 * Shared definitions for every libfrond module and frond binary: the
 * must-check attribute, array sizing, and the version stamped in at build
 * time. Nothing here allocates.
 */
#ifndef FROND_COMMON_H
#define FROND_COMMON_H

#include <stddef.h>

#define FROND_MUST_CHECK __attribute__((warn_unused_result))
#define FROND_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define FROND_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef FROND_VERSION
#define FROND_VERSION "0.0.0-dev"
#endif
#ifndef FROND_REVISION
#define FROND_REVISION "unknown"
#endif

/* Exit codes shared by every binary: 2 is for usage and configuration errors. */
#define FROND_EXIT_OK 0
#define FROND_EXIT_FAILURE 1
#define FROND_EXIT_USAGE 2

/* Monotonic and wall-clock time in seconds, for deadlines and timestamps. */
double frond_now_monotonic(void);
double frond_now_realtime(void);

#endif
