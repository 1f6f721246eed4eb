/*
 * Shared definitions for every libfrond module and frond binary: the
 * must-check attribute, array sizing, the version stamped in at build
 * time, and the one string hash of the hash tables that need no speed
 * beyond it. Nothing here allocates.
 */
#ifndef FROND_COMMON_H
#define FROND_COMMON_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * 64-bit FNV-1a of n bytes: simple, and good enough for hash tables keyed
 * by short strings (YAML keys and anchors, label sets). The value is the
 * standard FNV-1a, so it may also be stored (it will not change).
 */
static inline uint64_t frond_fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
