/*
 * Prometheus-style relabeling for frondtail's `relabel_configs`: the rules
 * promtail users write to turn discovery labels (`__journal__systemd_unit`,
 * `__path__`, `filename`) into stream labels. Supported actions: replace
 * (default), keep, drop, labelmap, labeldrop, labelkeep, with
 * source_labels, separator (";"), regex ("(.*)", fully anchored),
 * replacement ("$1", with $N / ${N} groups) and target_label.
 *
 * Regexes are POSIX extended (regcomp), not RE2: the common subset
 * (classes, groups, alternation, `.*`) behaves the same; `\d`, `(?i)` and
 * named groups do not exist and fail at load time with file:line.
 *
 * Ownership: rules own their strings and compiled regex; relabel_free()
 * releases an array. Applying rules is thread-safe (regexec is reentrant).
 */
#ifndef FROND_SHIPPER_RELABEL_H
#define FROND_SHIPPER_RELABEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"
#include "labels.h"

enum relabel_action {
    RELABEL_REPLACE = 0,
    RELABEL_KEEP,
    RELABEL_DROP,
    RELABEL_LABELMAP,
    RELABEL_LABELDROP,
    RELABEL_LABELKEEP,
};

struct relabel_rule {
    enum relabel_action action;
    char **source;
    size_t nsource;
    char *separator;
    char *target;
    char *replacement;
    regex_t re;
    bool compiled;
};

/* Compile `regex` anchored at both ends into r->re. 0 or -EINVAL (msg in err). */
FROND_MUST_CHECK int relabel_compile(struct relabel_rule *r, const char *regex, char *err,
                                     size_t errlen);
/* Apply the rules in order. Returns 1 to keep the target, 0 to drop it, -ENOMEM. */
FROND_MUST_CHECK int relabel_apply(const struct relabel_rule *rules, size_t n,
                                   struct labels_set *s);
void relabel_rule_cleanup(struct relabel_rule *r);

#endif
