/*
 * YAML configuration files for every frond binary: libyaml's event stream
 * turned into a small tree that remembers the line of every node, plus the
 * checks all our loaders need (unknown keys, wrong types) reported as
 * "file:line: reason" — what an operator needs to fix a config at 3 am.
 *
 * Anchors and aliases are resolved (an alias shares the anchored node, so
 * the tree is a DAG: a walker visits a shared node once per reference).
 * Merge keys (`<<: *defaults`, `<<: [*a, *b]`) are applied: explicit keys
 * win, then earlier merged mappings. Tags are ignored, except that a tagged
 * plain scalar (`!!str ~`) is not null. Duplicate keys in one mapping,
 * non-scalar keys, aliases to unknown anchors or to a collection that
 * contains them, and more than one document are errors with file:line.
 *
 * Limits, so a hostile or broken file cannot exhaust memory or hang a
 * walker: 16 MiB of text, 1,000,000 nodes, nesting depth 256, and
 * 1,000,000 nodes visited by a full walk with every alias expanded
 * (billion laughs).
 *
 * Ownership: a struct frond_yaml_doc owns its whole tree; nodes are valid
 * until frond_yaml_doc_cleanup(). Not thread-safe per document.
 */
#ifndef FROND_YAMLCFG_H
#define FROND_YAMLCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/buf.h"
#include "frond/common.h"
/* frond_expand_env, which config loaders use with this module, lives there. */
#include "frond/env.h"

enum frond_yaml_kind {
    FROND_YAML_SCALAR,
    FROND_YAML_MAP,
    FROND_YAML_SEQ,
};

struct frond_yaml_node {
    enum frond_yaml_kind kind;
    int line; /* 1-based */
    /* scalar */
    char *value;
    size_t value_len;
    bool plain; /* unquoted: "null", "~" and "" read as null only when plain */
    /* map: keys[i] -> items[i]; seq: items[i] */
    struct frond_yaml_node **keys;
    struct frond_yaml_node **items;
    size_t n;
};

struct frond_yaml_doc {
    char *name;                   /* file name for messages */
    struct frond_yaml_node *root; /* NULL for an empty document */
    void *arena_;                 /* internal */
};

/*
 * Parse a document; on error -EINVAL with "name:line: reason" in err (for an
 * unclosed quote or bracket, the reason also names the line where it began).
 * On failure the doc is left empty (cleanup is still safe). A document that
 * is empty, only comments, or only a null gives root == NULL.
 */
FROND_MUST_CHECK int frond_yaml_parse(const char *name, const char *text, size_t len,
                                      struct frond_yaml_doc *doc, char *err, size_t errlen);
/* Read and parse a file (optionally ${VAR} expanded first); -errno for I/O errors. */
FROND_MUST_CHECK int frond_yaml_load_file(const char *path, bool expand_env,
                                          struct frond_yaml_doc *doc, char *err, size_t errlen);
void frond_yaml_doc_cleanup(struct frond_yaml_doc *doc);

/* Write "name:line: message" into err and return -EINVAL. */
int frond_yaml_error(const struct frond_yaml_doc *doc, const struct frond_yaml_node *at, char *err,
                     size_t errlen, const char *fmt, ...) FROND_PRINTF(5, 6);

/* Is the node null (absent, or a plain null/~/empty scalar)? */
bool frond_yaml_is_null(const struct frond_yaml_node *n);
/* Value for `key` in a mapping, or NULL. */
const struct frond_yaml_node *frond_yaml_get(const struct frond_yaml_node *map, const char *key);
/*
 * Fail with "name:line: unknown key "k" in <where>" for any key not in the
 * NULL-terminated `known` list; also fails when `map` is not a mapping.
 */
FROND_MUST_CHECK int frond_yaml_check_keys(const struct frond_yaml_doc *doc,
                                           const struct frond_yaml_node *map,
                                           const char *const *known, const char *where, char *err,
                                           size_t errlen);
/*
 * Typed readers; each fails with file:line naming `what` when the node has
 * the wrong type: `config.yml:12: batchwait: expected a duration like "1s",
 * got "abc"`. For a NULL (absent) or null node, every reader but
 * frond_yaml_string leaves *out untouched and returns 0, so callers set the
 * default first. frond_yaml_string always gives a fresh heap string the
 * caller frees ("" for NULL/null, as yaml.v2 decodes null into a string);
 * it does not free what *out held. Scalars with an embedded NUL byte are
 * refused. -ENOMEM when a copy cannot be made. Booleans accept YAML 1.1 /
 * yaml.v2 words (true/false, yes/no, on/off, y/n in lower, Title or UPPER
 * case) and Go's 1/0/t/f.
 */
FROND_MUST_CHECK int frond_yaml_string(const struct frond_yaml_doc *doc,
                                       const struct frond_yaml_node *n, const char *what,
                                       char **out, char *err, size_t errlen);
FROND_MUST_CHECK int frond_yaml_bool(const struct frond_yaml_doc *doc,
                                     const struct frond_yaml_node *n, const char *what, bool *out,
                                     char *err, size_t errlen);
FROND_MUST_CHECK int frond_yaml_long(const struct frond_yaml_doc *doc,
                                     const struct frond_yaml_node *n, const char *what, long *out,
                                     char *err, size_t errlen);
FROND_MUST_CHECK int frond_yaml_double(const struct frond_yaml_doc *doc,
                                       const struct frond_yaml_node *n, const char *what,
                                       double *out, char *err, size_t errlen);
/* Prometheus durations ("1s", "500ms", "1m30s") in seconds. */
FROND_MUST_CHECK int frond_yaml_duration(const struct frond_yaml_doc *doc,
                                         const struct frond_yaml_node *n, const char *what,
                                         double *out, char *err, size_t errlen);
/* Sizes ("1MiB", "1MB", "1024") in bytes. */
FROND_MUST_CHECK int frond_yaml_bytes(const struct frond_yaml_doc *doc,
                                      const struct frond_yaml_node *n, const char *what, long *out,
                                      char *err, size_t errlen);

#endif
