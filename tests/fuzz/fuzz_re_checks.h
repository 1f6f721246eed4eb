/*
 * What the libFuzzer targets for frondtail's RE2-syntax engine share
 * (fuzz_regex.c, fuzz_relabel.c): turning the input into a bounded C string
 * and checking the capture spans of a match. Each target checks the same
 * invariants, so a fix to either check reaches both. Included by exactly
 * one target per binary, hence the static functions.
 */
#ifndef FUZZ_RE_CHECKS_H
#define FUZZ_RE_CHECKS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * The input as a NUL-terminated heap copy the caller frees; NULL when it is
 * over `max` bytes (the engine is linear, but long inputs only slow the
 * fuzzer) or when memory runs out.
 */
static char *fuzz_input_string(const uint8_t *data, size_t size, size_t max)
{
    if (size > max) {
        return NULL;
    }
    char *in = malloc(size + 1);
    if (!in) {
        return NULL;
    }
    memcpy(in, data, size);
    in[size] = '\0';
    return in;
}

/*
 * The spans of a match of `len` bytes, `ngroups` groups in `caps` (start,
 * end pairs): the match is fully anchored, so group 0 is the whole subject,
 * and every other group is either unset (both -1) or nested inside it.
 */
static void fuzz_check_spans(const int *caps, size_t ngroups, size_t len)
{
    if (caps[0] != 0 || caps[1] != (int)len) {
        abort();
    }
    for (size_t g = 1; g < ngroups; g++) {
        int a = caps[2 * g], b = caps[2 * g + 1];
        if ((a < 0) != (b < 0) || (a >= 0 && (a > b || b > (int)len))) {
            abort();
        }
    }
}

#endif
