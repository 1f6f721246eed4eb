/*
 * The scrape_configs section of frondtail's config: file targets
 * (static_configs with __path__ globs), the cri/docker pipeline stages,
 * relabel_configs compiled with the RE2-syntax engine, and journal
 * sections. What frondtail does not implement fails loudly here, because
 * ignoring it would ship the wrong logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "frond/log.h"
#include "relabel.h"

static void target_cleanup(struct tail_target *t)
{
    free(t->path);
    free(t->path_exclude);
    labels_cleanup(&t->labels);
}

void cfg_scrape_cleanup(struct scrape_config *s)
{
    for (size_t i = 0; i < s->nrelabel; i++) {
        relabel_rule_cleanup(&s->relabel[i]);
    }
    free(s->relabel);
    if (s->journal) {
        free(s->journal->path);
        free(s->journal->matches);
        labels_cleanup(&s->journal->labels);
        free(s->journal);
    }
    free(s->job_name);
    for (size_t i = 0; i < s->ntargets; i++) {
        target_cleanup(&s->targets[i]);
    }
    free(s->targets);
    memset(s, 0, sizeof(*s));
}

static int load_stages(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind != FROND_YAML_SEQ) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen, "pipeline_stages must be a list");
    }
    bool have = false;
    for (size_t i = 0; i < n->n; i++) {
        const struct frond_yaml_node *st = n->items[i];
        if (st->kind != FROND_YAML_MAP || st->n != 1 || !st->keys[0]->value) {
            return frond_yaml_error(x->doc, st, x->err, x->errlen,
                                    "each pipeline stage must be a mapping with one key");
        }
        const char *name = st->keys[0]->value;
        const struct frond_yaml_node *body = st->items[0];
        enum parse_format f;
        if (strcmp(name, "cri") == 0) {
            f = PARSE_CRI;
        } else if (strcmp(name, "docker") == 0) {
            f = PARSE_DOCKER;
        } else {
            return frond_yaml_error(x->doc, st->keys[0], x->err, x->errlen,
                                    "pipeline stage \"%s\" is not supported by frondtail "
                                    "(supported: cri, docker)",
                                    name);
        }
        if (have) {
            return frond_yaml_error(x->doc, st->keys[0], x->err, x->errlen,
                                    "only one of cri/docker may be given per scrape config");
        }
        have = true;
        s->format = f;
        if (!frond_yaml_is_null(body)) {
            static const char *const ck[] = {"max_partial_lines", "max_partial_line_size",
                                             "max_partial_line_size_truncate", NULL};
            static const char *const dk[] = {NULL};
            int rc = cfg_check(x, body, f == PARSE_CRI ? ck : dk, name);
            if (!rc && f == PARSE_CRI) {
                rc = cfg_num(x, body, "max_partial_lines", &s->max_partial_lines);
                if (!rc) {
                    cfg_ignored(x, body, "max_partial_line_size");
                    cfg_ignored(x, body, "max_partial_line_size_truncate");
                }
            }
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

static int load_target(struct ctx *x, const struct frond_yaml_node *n, struct tail_target *t)
{
    static const char *const known[] = {"targets", "labels", NULL};
    int rc = cfg_check(x, n, known, "static_configs");
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *tg = frond_yaml_get(n, "targets");
    if (tg && !frond_yaml_is_null(tg)) {
        /* promtail requires `targets` but ignores its content; check the type only. */
        if (tg->kind != FROND_YAML_SEQ) {
            return frond_yaml_error(x->doc, tg, x->err, x->errlen, "targets must be a list");
        }
        for (size_t i = 0; i < tg->n; i++) {
            if (tg->items[i]->kind != FROND_YAML_SCALAR) {
                return frond_yaml_error(x->doc, tg->items[i], x->err, x->errlen,
                                        "targets must be a list of strings");
            }
        }
    }
    const struct frond_yaml_node *l = frond_yaml_get(n, "labels");
    rc = cfg_string_map(x, l, "labels", true, &t->labels);
    if (rc) {
        return rc;
    }
    const char *p = labels_get(&t->labels, "__path__");
    if (!p || !*p) {
        return frond_yaml_error(x->doc, l ? l : n, x->err, x->errlen,
                                "static_configs: labels.__path__ is required");
    }
    if (p[0] != '/') {
        return frond_yaml_error(x->doc, l, x->err, x->errlen,
                                "__path__ must be an absolute path glob: %s", p);
    }
    t->path = strdup(p);
    const char *ex = labels_get(&t->labels, "__path_exclude__");
    if (ex && *ex) {
        t->path_exclude = strdup(ex);
        if (!t->path_exclude) {
            return -ENOMEM;
        }
    }
    return t->path ? 0 : -ENOMEM;
}

static int load_relabel(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind != FROND_YAML_SEQ) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen, "relabel_configs must be a list");
    }
    s->relabel = calloc(n->n ? n->n : 1, sizeof(*s->relabel));
    if (!s->relabel) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n->n; i++) {
        static const char *const known[] = {"source_labels", "separator", "target_label", "regex",
                                            "replacement",   "action",    "modulus",      NULL};
        const struct frond_yaml_node *r = n->items[i];
        struct relabel_rule *rule = &s->relabel[i];
        s->nrelabel++;
        char *action = NULL, *regex = NULL;
        int rc = cfg_check(x, r, known, "relabel_configs");
        if (!rc) {
            rc = cfg_str(x, r, "separator", &rule->separator);
        }
        if (!rc) {
            rc = cfg_str(x, r, "target_label", &rule->target);
        }
        if (!rc) {
            rc = cfg_str(x, r, "replacement", &rule->replacement);
        }
        if (!rc) {
            rc = cfg_str(x, r, "action", &action);
        }
        if (!rc) {
            rc = cfg_str(x, r, "regex", &regex);
        }
        /*
         * promtail's yaml.v2 turns a key given with no value into "" (not
         * the default): an empty separator or replacement, a regex that
         * matches only "", and no action at all.
         */
        static const char *const nullable[] = {"separator", "replacement", "regex", "action"};
        char **slot[] = {&rule->separator, &rule->replacement, &regex, &action};
        for (size_t k = 0; !rc && k < FROND_ARRAY_SIZE(nullable); k++) {
            const struct frond_yaml_node *v = frond_yaml_get(r, nullable[k]);
            if (v && frond_yaml_is_null(v) && !*slot[k]) {
                *slot[k] = strdup("");
                rc = *slot[k] ? 0 : -ENOMEM;
            }
        }
        long modulus = 0;
        if (!rc) {
            rc = cfg_num(x, r, "modulus", &modulus);
            rule->modulus = (uint64_t)modulus;
        }
        if (!rc && action) {
            int k = relabel_action_parse(action);
            if (k < 0) {
                rc = frond_yaml_error(x->doc, frond_yaml_get(r, "action"), x->err, x->errlen,
                                      *action ? "unknown relabel action \"%s\""
                                              : "relabel action cannot be empty%s",
                                      action);
            }
            rule->action = (enum relabel_action)k;
        }
        const struct frond_yaml_node *sl = frond_yaml_get(r, "source_labels");
        rule->source_set = sl && !frond_yaml_is_null(sl);
        if (!rc && rule->source_set) {
            if (sl->kind != FROND_YAML_SEQ) {
                rc =
                    frond_yaml_error(x->doc, sl, x->err, x->errlen, "source_labels must be a list");
            } else {
                rule->source = calloc(sl->n ? sl->n : 1, sizeof(char *));
                rc = rule->source ? 0 : -ENOMEM;
                for (size_t k = 0; !rc && k < sl->n; k++) {
                    rc = frond_yaml_string(x->doc, sl->items[k], "source_labels", &rule->source[k],
                                           x->err, x->errlen);
                    if (!rc) {
                        rule->nsource++;
                    }
                }
            }
        }
        if (!rc) {
            char msg[160];
            rc = relabel_compile(rule, regex, msg, sizeof(msg));
            if (rc == -EINVAL) {
                const struct frond_yaml_node *at = frond_yaml_get(r, "regex");
                rc = frond_yaml_error(x->doc, at ? at : r, x->err, x->errlen,
                                      "invalid regex (RE2 syntax): %s", msg);
            }
        }
        if (!rc) {
            /* Prometheus' Config.Validate, pointed at the key at fault. */
            char msg[256];
            const char *field = NULL;
            rc = relabel_validate(rule, &field, msg, sizeof(msg));
            if (rc == -EINVAL) {
                const struct frond_yaml_node *at = field ? frond_yaml_get(r, field) : NULL;
                rc = frond_yaml_error(x->doc, at ? at : r, x->err, x->errlen, "%s", msg);
            }
        }
        free(action);
        free(regex);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int load_journal(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    static const char *const known[] = {"json", "max_age", "path", "matches", "labels", NULL};
    s->journal = calloc(1, sizeof(*s->journal));
    if (!s->journal) {
        return -ENOMEM;
    }
    struct journal_config *j = s->journal;
    labels_init(&j->labels);
    j->max_age = 7 * 3600;
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    static const struct field fields[] = {
        FIELD(struct journal_config, json, "json", FIELD_BOOL),
        FIELD(struct journal_config, max_age, "max_age", FIELD_DUR),
        FIELD(struct journal_config, path, "path", FIELD_STR),
        FIELD(struct journal_config, matches, "matches", FIELD_STR),
    };
    int rc = cfg_check(x, n, known, "journal");
    if (!rc) {
        rc = cfg_read_fields(x, n, j, fields, FROND_ARRAY_SIZE(fields));
    }
    if (!rc) {
        rc = cfg_string_map(x, frond_yaml_get(n, "labels"), "labels", true, &j->labels);
    }
    return rc;
}

int cfg_load_scrape(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    static const char *const known[] = {"job_name", "static_configs",  "pipeline_stages",
                                        "journal",  "relabel_configs", "kubernetes_sd_configs",
                                        NULL};
    int rc = cfg_check(x, n, known, "scrape_configs");
    if (rc) {
        return rc;
    }
    s->max_partial_lines = 100;
    rc = cfg_str(x, n, "job_name", &s->job_name);
    if (rc) {
        return rc;
    }
    rc = load_relabel(x, frond_yaml_get(n, "relabel_configs"), s);
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *j = frond_yaml_get(n, "journal");
    const struct frond_yaml_node *k = frond_yaml_get(n, "kubernetes_sd_configs");
    if (k) {
        return frond_yaml_error(x->doc, cfg_key_of(n, "kubernetes_sd_configs"), x->err, x->errlen,
                                "kubernetes_sd_configs is not supported: frondtail reads pod "
                                "labels from kubelet log paths (static_configs with __path__)");
    }
    rc = load_stages(x, frond_yaml_get(n, "pipeline_stages"), s);
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *sc = frond_yaml_get(n, "static_configs");
    if (j) {
        if (sc) {
            return frond_yaml_error(x->doc, cfg_key_of(n, "static_configs"), x->err, x->errlen,
                                    "a scrape config has either journal or static_configs");
        }
        if (s->format != PARSE_RAW) {
            return frond_yaml_error(x->doc, cfg_key_of(n, "pipeline_stages"), x->err, x->errlen,
                                    "cri/docker stages do not apply to journal entries");
        }
        return load_journal(x, j, s);
    }
    if (!sc || frond_yaml_is_null(sc)) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen,
                                "scrape config needs static_configs with a __path__ label");
    }
    if (sc->kind != FROND_YAML_SEQ) {
        return frond_yaml_error(x->doc, sc, x->err, x->errlen, "static_configs must be a list");
    }
    s->targets = calloc(sc->n ? sc->n : 1, sizeof(*s->targets));
    if (!s->targets) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < sc->n; i++) {
        labels_init(&s->targets[i].labels);
        s->ntargets++;
        rc = load_target(x, sc->items[i], &s->targets[i]);
        if (rc) {
            return rc;
        }
    }
    return 0;
}
