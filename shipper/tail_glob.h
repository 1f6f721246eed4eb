/*
 * Path globs for `__path__` / `__path_exclude__`, with the syntax promtail
 * takes from doublestar: `*`, `?`, `[...]` inside one path component,
 * `**` as a whole component for any number of directories (zero
 * included), and `{a,b}` alternatives. `*` matches dot files, like
 * doublestar.
 *
 * glob_walk() finds the matching files without reading directories a
 * match cannot be under: it starts at the longest literal prefix and
 * descends component by component. Every directory it looks at is reported
 * so the tailer can watch it with inotify.
 *
 * Ownership: struct glob_pattern owns its expanded alternatives;
 * glob_cleanup() frees them. Matching is thread-safe on a compiled pattern.
 */
#ifndef FROND_SHIPPER_TAIL_GLOB_H
#define FROND_SHIPPER_TAIL_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "frond/common.h"

#define GLOB_MAX_ALTERNATIVES 64
#define GLOB_MAX_DEPTH 32

struct glob_alt {
    char **comp; /* components, without slashes */
    size_t ncomp;
};

struct glob_pattern {
    struct glob_alt *alt;
    size_t nalt;
};

/* Compile an absolute glob. -EINVAL for a relative path, unbalanced braces or too many
 * alternatives. */
FROND_MUST_CHECK int glob_compile(const char *pattern, struct glob_pattern *out);
void glob_cleanup(struct glob_pattern *g);
/* Does the absolute `path` match? */
bool glob_match(const struct glob_pattern *g, const char *path);

typedef void (*glob_file_fn)(void *ctx, const char *path, const struct stat *st);
typedef void (*glob_dir_fn)(void *ctx, const char *dir);

/*
 * Call `file` for every regular file matching `g` (symlinks followed, as
 * /var/log/containers holds symlinks), and `dir` for every directory
 * visited. A file may be reported twice when alternatives overlap; the
 * caller deduplicates. Unreadable directories are skipped.
 */
void glob_walk(const struct glob_pattern *g, glob_file_fn file, glob_dir_fn dir, void *ctx);

#endif
