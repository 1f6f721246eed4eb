/*
 * Prometheus relabelling for frondtail's `relabel_configs`: the rules
 * promtail users write to turn discovery labels (`__journal__systemd_unit`,
 * `__meta_kubernetes_pod_uid`, `__path__`) into stream labels. The
 * semantics are those of Prometheus' model/relabel: every action
 * (replace, keep, drop, hashmod, labelmap, labeldrop, labelkeep,
 * lowercase, uppercase, keepequal, dropequal), the defaults (separator
 * ";", regex "(.*)", replacement "$1", action replace), the fully
 * anchored regex, Go's template expansion ($1, ${1}, $name, ${name}) and
 * Prometheus' config validation.
 *
 * Regexes are RE2 syntax, compiled and matched by the engine in regex.h.
 *
 * Ownership: a rule owns its strings and compiled regex;
 * relabel_rule_cleanup() releases them. Compiling is not thread-safe per
 * rule; applying compiled rules is (nothing shared is written).
 */
#ifndef FROND_SHIPPER_RELABEL_H
#define FROND_SHIPPER_RELABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"
#include "labels.h"
#include "regex.h"

enum relabel_action {
    RELABEL_REPLACE = 0,
    RELABEL_KEEP,
    RELABEL_DROP,
    RELABEL_LABELMAP,
    RELABEL_LABELDROP,
    RELABEL_LABELKEEP,
    RELABEL_HASHMOD,
    RELABEL_LOWERCASE,
    RELABEL_UPPERCASE,
    RELABEL_KEEPEQUAL,
    RELABEL_DROPEQUAL,
};

struct relabel_rule {
    enum relabel_action action;
    char **source;
    size_t nsource;
    bool source_set;   /* source_labels was given (labeldrop/labelkeep forbid it) */
    char *separator;   /* NULL: ";" */
    char *target;      /* NULL: none */
    char *replacement; /* NULL: "$1" */
    uint64_t modulus;  /* hashmod */
    struct relabel_re *re;
    bool regex_default; /* no regex given: "(.*)" */
};

/*
 * The action named `name` (case-insensitive like Prometheus), or -1.
 */
int relabel_action_parse(const char *name);
const char *relabel_action_name(enum relabel_action a);

/*
 * Compile `regex` (RE2 syntax, NULL for the default "(.*)") anchored at
 * both ends into r->re. 0, -EINVAL with the reason in err, or -ENOMEM.
 */
FROND_MUST_CHECK int relabel_compile(struct relabel_rule *r, const char *regex, char *err,
                                     size_t errlen);

/*
 * Prometheus' Config.Validate on a compiled rule: required target_label,
 * non-zero modulus, valid target/replacement templates, fields an action
 * does not allow. 0, or -EINVAL with the reason in err and the YAML key at
 * fault in *field (NULL when it is the rule as a whole).
 */
FROND_MUST_CHECK int relabel_validate(const struct relabel_rule *r, const char **field, char *err,
                                      size_t errlen);

/* Apply the rules in order. Returns 1 to keep the target, 0 to drop it, -ENOMEM. */
FROND_MUST_CHECK int relabel_apply(const struct relabel_rule *rules, size_t n,
                                   struct labels_set *s);
void relabel_rule_cleanup(struct relabel_rule *r);

#endif
