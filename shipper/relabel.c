/*
 * Relabeling, after Prometheus' relabel.Process: each rule reads the
 * current label set and rewrites it, in order. Runs once per file (at
 * open) and once per journal entry, so clarity wins over speed here; every
 * buffer is bounded by the label values it was built from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/buf.h"
#include "relabel.h"

#define RELABEL_MAX_VALUE (64 * 1024)

int relabel_compile(struct relabel_rule *r, const char *regex, char *err, size_t errlen)
{
    /* Prometheus anchors the whole expression; the extra group shifts $N by one. */
    size_t len = strlen(regex) + 8;
    char *anchored = malloc(len);
    if (!anchored) {
        return -ENOMEM;
    }
    snprintf(anchored, len, "^(%s)$", regex);
    int rc = regcomp(&r->re, anchored, REG_EXTENDED);
    free(anchored);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &r->re, msg, sizeof(msg));
        snprintf(err, errlen, "%s", msg);
        return -EINVAL;
    }
    r->compiled = true;
    return 0;
}

void relabel_rule_cleanup(struct relabel_rule *r)
{
    for (size_t i = 0; i < r->nsource; i++) {
        free(r->source[i]);
    }
    free(r->source);
    free(r->separator);
    free(r->target);
    free(r->replacement);
    if (r->compiled) {
        regfree(&r->re);
    }
    memset(r, 0, sizeof(*r));
}

#define NGROUPS 11

/* Expand $N and ${N} in `tmpl` from the match of `s` (group N is pmatch[N + 1]). */
static int expand(const char *tmpl, const char *s, const regmatch_t *m, struct frond_buf *out)
{
    int rc = 0;
    for (const char *p = tmpl; !rc && *p; p++) {
        int g = -1;
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            g = p[1] - '0';
            p++;
        } else if (p[0] == '$' && p[1] == '{' && p[2] >= '0' && p[2] <= '9' && p[3] == '}') {
            g = p[2] - '0';
            p += 3;
        } else if (p[0] == '$' && p[1] == '$') {
            rc = frond_buf_putc(out, '$');
            p++;
            continue;
        }
        if (g < 0) {
            rc = frond_buf_putc(out, *p);
            continue;
        }
        const regmatch_t *gm = &m[g + 1];
        if (g + 1 < NGROUPS && gm->rm_so >= 0) {
            rc = frond_buf_append(out, s + gm->rm_so, (size_t)(gm->rm_eo - gm->rm_so));
        }
    }
    return rc;
}

static bool valid_name(const char *s)
{
    if (!*s) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (p != s && c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

static int apply_one(const struct relabel_rule *r, struct labels_set *s)
{
    regmatch_t m[NGROUPS];
    struct frond_buf v, out;
    frond_buf_init(&v, RELABEL_MAX_VALUE);
    frond_buf_init(&out, RELABEL_MAX_VALUE);
    int rc = 0, keep = 1;
    for (size_t i = 0; !rc && i < r->nsource; i++) {
        const char *val = labels_get(s, r->source[i]);
        if (i > 0) {
            rc = frond_buf_puts(&v, r->separator ? r->separator : ";");
        }
        if (!rc && val) {
            rc = frond_buf_puts(&v, val);
        }
    }
    if (rc) {
        goto out;
    }
    const char *value = frond_buf_cstr(&v);
    bool match = regexec(&r->re, value, NGROUPS, m, 0) == 0;
    switch (r->action) {
    case RELABEL_KEEP:
        keep = match;
        break;
    case RELABEL_DROP:
        keep = !match;
        break;
    case RELABEL_REPLACE:
        if (!match || !r->target) {
            break;
        }
        rc = expand(r->replacement ? r->replacement : "$1", value, m, &out);
        if (!rc) {
            const char *nv = frond_buf_cstr(&out);
            if (*nv) {
                rc = labels_set(s, r->target, nv);
            } else {
                labels_remove(s, r->target);
            }
        }
        break;
    case RELABEL_LABELMAP:
    case RELABEL_LABELDROP:
    case RELABEL_LABELKEEP: {
        /* Work on a copy: the set changes under the loop. */
        struct labels_set copy;
        labels_init(&copy);
        rc = labels_merge(&copy, s);
        for (size_t i = 0; !rc && i < copy.n; i++) {
            const char *name = copy.l[i].name;
            bool nm = regexec(&r->re, name, NGROUPS, m, 0) == 0;
            if (r->action == RELABEL_LABELDROP && nm) {
                labels_remove(s, name);
            } else if (r->action == RELABEL_LABELKEEP && !nm) {
                labels_remove(s, name);
            } else if (r->action == RELABEL_LABELMAP && nm) {
                frond_buf_reset(&out);
                rc = expand(r->replacement ? r->replacement : "$1", name, m, &out);
                if (!rc && valid_name(frond_buf_cstr(&out))) {
                    rc = labels_set(s, frond_buf_cstr(&out), copy.l[i].value);
                }
            }
        }
        labels_cleanup(&copy);
        break;
    }
    }
out:
    frond_buf_cleanup(&v);
    frond_buf_cleanup(&out);
    if (rc == -ENOSPC) {
        /* A value too long to relabel leaves the set as it is. */
        rc = 0;
    }
    return rc ? rc : keep;
}

int relabel_apply(const struct relabel_rule *rules, size_t n, struct labels_set *s)
{
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(&rules[i], s);
        if (rc <= 0) {
            return rc;
        }
    }
    return 1;
}
