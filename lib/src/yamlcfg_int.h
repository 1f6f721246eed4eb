/*
 * Private to the YAML modules (yamlcfg.c builds trees, yamlcfg_read.c
 * loads files and reads typed values): the limits and the few message
 * helpers both use. The public contract is frond/yamlcfg.h. Everything
 * here is pure (no shared state), so thread-safe.
 */
#ifndef FROND_YAMLCFG_INT_H
#define FROND_YAMLCFG_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "frond/common.h"
#include "frond/yamlcfg.h"

/* The largest document text (a file, or a file after environment expansion). */
#define YAML_MAX_TEXT (16u * 1024 * 1024)

/*
 * Write "name:line: message" (or "name: message" for line <= 0) into err;
 * always returns -EINVAL (also for a NULL or empty err).
 */
int frond_yaml_vfmt_error(char *err, size_t errlen, const char *name, int line, const char *fmt,
                          va_list ap) FROND_PRINTF(5, 0);

/*
 * Quote a scalar for a message into out (always terminated when outsz > 0):
 * printable ASCII as is, the rest escaped, cut after 64 bytes.
 */
void frond_yaml_quote(const char *s, size_t len, char *out, size_t outsz);

static inline const char *frond_yaml_kind_name(enum frond_yaml_kind k)
{
    switch (k) {
    case FROND_YAML_SCALAR:
        return "a scalar";
    case FROND_YAML_MAP:
        return "a mapping";
    case FROND_YAML_SEQ:
        return "a sequence";
    }
    return "a node";
}

static inline bool frond_yaml_key_is(const struct frond_yaml_node *k, const char *s, size_t len)
{
    return k->kind == FROND_YAML_SCALAR && k->value_len == len && memcmp(k->value, s, len) == 0;
}

#endif
