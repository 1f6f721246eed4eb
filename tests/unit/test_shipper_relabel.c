/*
 * Unit tests for frondtail's relabel_configs (shipper/relabel.c): each
 * supported action with Prometheus' defaults and group expansion.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "relabel.h"

static struct relabel_rule rule(enum relabel_action a, const char *src, const char *target,
                                const char *regex, const char *replacement)
{
    struct relabel_rule r;
    memset(&r, 0, sizeof(r));
    r.action = a;
    if (src) {
        r.source = calloc(2, sizeof(char *));
        char *copy = strdup(src);
        char *sep = strchr(copy, ',');
        if (sep) {
            *sep = '\0';
            r.source[r.nsource++] = strdup(copy);
            r.source[r.nsource++] = strdup(sep + 1);
        } else {
            r.source[r.nsource++] = strdup(copy);
        }
        free(copy);
    }
    r.target = target ? strdup(target) : NULL;
    r.replacement = replacement ? strdup(replacement) : NULL;
    char err[128];
    CHECK_INT(relabel_compile(&r, regex ? regex : "(.*)", err, sizeof(err)), 0);
    return r;
}

static const char *render(const struct labels_set *s)
{
    static char out[1024];
    struct frond_buf b;
    frond_buf_init(&b, 4096);
    CHECK_INT(labels_render(s, &b), 0);
    snprintf(out, sizeof(out), "%s", frond_buf_cstr(&b));
    frond_buf_cleanup(&b);
    return out;
}

int main(void)
{
    struct labels_set s;
    labels_init(&s);
    CHECK_INT(labels_set(&s, "__journal__systemd_unit", "ssh.service"), 0);
    CHECK_INT(labels_set(&s, "__journal_priority", "6"), 0);
    CHECK_INT(labels_set(&s, "job", "journal"), 0);
    struct relabel_rule rules[4];
    rules[0] = rule(RELABEL_REPLACE, "__journal__systemd_unit", "unit", NULL, NULL);
    rules[1] = rule(RELABEL_REPLACE, "__journal__systemd_unit,__journal_priority", "both",
                    "([a-z]+)\\.service;([0-9])", "$2-${1}$$");
    rules[2] = rule(RELABEL_LABELMAP, NULL, NULL, "__journal_(priority)", "p_$1");
    rules[3] = rule(RELABEL_REPLACE, "missing", "job", NULL, NULL);
    CHECK_INT(relabel_apply(rules, 4, &s), 1);
    /* A source that is absent gives "", and an empty result removes the target. */
    CHECK_STR(render(&s), "{both=\"6-ssh$\", p_priority=\"6\", unit=\"ssh.service\"}");
    for (int i = 0; i < 4; i++) {
        relabel_rule_cleanup(&rules[i]);
    }

    /* keep/drop decide on the joined value, fully anchored. */
    struct relabel_rule keep = rule(RELABEL_KEEP, "unit", NULL, "ssh", NULL);
    CHECK_INT(relabel_apply(&keep, 1, &s), 0);
    relabel_rule_cleanup(&keep);
    keep = rule(RELABEL_KEEP, "unit", NULL, "ssh\\..*", NULL);
    CHECK_INT(relabel_apply(&keep, 1, &s), 1);
    relabel_rule_cleanup(&keep);
    struct relabel_rule drop = rule(RELABEL_DROP, "unit", NULL, "ssh.service", NULL);
    CHECK_INT(relabel_apply(&drop, 1, &s), 0);
    relabel_rule_cleanup(&drop);

    struct relabel_rule ld = rule(RELABEL_LABELDROP, NULL, NULL, "p_.*|both", NULL);
    CHECK_INT(relabel_apply(&ld, 1, &s), 1);
    relabel_rule_cleanup(&ld);
    struct relabel_rule lk = rule(RELABEL_LABELKEEP, NULL, NULL, "unit|__.*", NULL);
    CHECK_INT(relabel_apply(&lk, 1, &s), 1);
    relabel_rule_cleanup(&lk);
    CHECK_STR(render(&s), "{unit=\"ssh.service\"}");
    CHECK_STR(labels_get(&s, "__journal_priority"), "6");
    labels_cleanup(&s);

    struct relabel_rule bad;
    memset(&bad, 0, sizeof(bad));
    char err[128];
    CHECK_INT(relabel_compile(&bad, "(", err, sizeof(err)), -EINVAL);
    CHECK(err[0] != '\0');
    relabel_rule_cleanup(&bad);
    return check_done("test_shipper_relabel");
}
