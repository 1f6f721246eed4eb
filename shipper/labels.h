/*
 * Loki label sets for frondtail: the canonical label string every entry
 * carries (`{a="b", c="d"}`, names sorted, values escaped the way Loki's
 * label parser reads them) and the labels the kubelet encodes in a log
 * file's path.
 *
 * Ownership: a struct labels_set owns copies of every name and value.
 * Functions that fail leave the set as it was before the call. Not
 * thread-safe per set.
 */
#ifndef FROND_SHIPPER_LABELS_H
#define FROND_SHIPPER_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/buf.h"
#include "frond/common.h"

struct labels_pair {
    char *name;
    char *value;
};

struct labels_set {
    struct labels_pair *l;
    size_t n;
    size_t cap;
};

void labels_init(struct labels_set *s);
void labels_cleanup(struct labels_set *s);
/* Set `name` to `value`, replacing an earlier value of the same name. -ENOMEM. */
FROND_MUST_CHECK int labels_set(struct labels_set *s, const char *name, const char *value);
FROND_MUST_CHECK int labels_setn(struct labels_set *s, const char *name, const char *value,
                                 size_t value_len);
/* Remove `name` if present. */
void labels_remove(struct labels_set *s, const char *name);
/* Value of `name`, or NULL. */
const char *labels_get(const struct labels_set *s, const char *name);
/* Copy every pair of `from` into `to` (later wins). -ENOMEM. */
FROND_MUST_CHECK int labels_merge(struct labels_set *to, const struct labels_set *from);

/*
 * Render the canonical Loki label string into `out` (appended): names
 * sorted bytewise, labels starting with "__" left out (promtail's internal
 * labels), empty values left out (Loki ignores them), values escaped
 * (backslash, double quote, newline, carriage return, tab). `{}` when
 * nothing is left. -ENOSPC/-ENOMEM from the buffer.
 */
FROND_MUST_CHECK int labels_render(const struct labels_set *s, struct frond_buf *out);

/*
 * Labels the kubelet encodes in a container log path, from its last
 * components wherever the root is:
 *   .../<namespace>_<pod>_<uid>/<container>/<n>.log     (/var/log/pods)
 *   .../<pod>_<namespace>_<container>-<64 hex id>.log    (/var/log/containers)
 * Sets namespace, pod, container and, when `with_uid`, pod_uid. Returns
 * true when the path had the shape (labels set), false otherwise (set
 * untouched). *err gets -ENOMEM on allocation failure.
 */
bool labels_from_kubelet_path(const char *path, bool with_uid, struct labels_set *s, int *err);

#endif
