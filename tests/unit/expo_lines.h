/*
 * Line checks on rendered exposition text, for unit tests that assert on
 * what a collector produced. Header-only (static inline) so each test
 * binary takes only what it uses.
 */
#ifndef FROND_EXPO_LINES_H
#define FROND_EXPO_LINES_H

#include <stdio.h>
#include <string.h>

#include "check.h"

/* Does the exposition contain this exact line (not just a prefix of one)? */
static inline int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += n) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/* CHECK that a line is in the exposition, printing it when it is not. */
#define CHECK_LINE(text, line)                                                                     \
    do {                                                                                           \
        int found_ = has_line((text), (line));                                                     \
        if (!found_) {                                                                             \
            fprintf(stderr, "missing line: %s\n", (line));                                         \
        }                                                                                          \
        CHECK(found_);                                                                             \
    } while (0)

#endif
