/*
 * Label sets and the canonical label string. Loki identifies a stream by
 * the exact label string in the push request, so the same set must always
 * render to the same bytes: names are sorted and the escaping is fixed.
 * The set is small (a dozen labels at most), so a sorted insert into an
 * array beats any map.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

void labels_init(struct labels_set *s)
{
    s->l = NULL;
    s->n = 0;
    s->cap = 0;
}

void labels_cleanup(struct labels_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->l[i].name);
        free(s->l[i].value);
    }
    free(s->l);
    labels_init(s);
}

int labels_setn(struct labels_set *s, const char *name, const char *value, size_t value_len)
{
    char *v = strndup(value, value_len);
    if (!v) {
        return -ENOMEM;
    }
    /* Keep the array sorted by name so rendering needs no sort. */
    size_t i = 0;
    for (; i < s->n; i++) {
        int c = strcmp(s->l[i].name, name);
        if (c == 0) {
            free(s->l[i].value);
            s->l[i].value = v;
            return 0;
        }
        if (c > 0) {
            break;
        }
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        struct labels_pair *nl = realloc(s->l, ncap * sizeof(*nl));
        if (!nl) {
            free(v);
            return -ENOMEM;
        }
        s->l = nl;
        s->cap = ncap;
    }
    char *n = strdup(name);
    if (!n) {
        free(v);
        return -ENOMEM;
    }
    memmove(&s->l[i + 1], &s->l[i], (s->n - i) * sizeof(s->l[0]));
    s->l[i].name = n;
    s->l[i].value = v;
    s->n++;
    return 0;
}

int labels_set(struct labels_set *s, const char *name, const char *value)
{
    return labels_setn(s, name, value, strlen(value));
}

void labels_remove(struct labels_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->l[i].name, name) == 0) {
            free(s->l[i].name);
            free(s->l[i].value);
            memmove(&s->l[i], &s->l[i + 1], (s->n - i - 1) * sizeof(s->l[0]));
            s->n--;
            return;
        }
    }
}

const char *labels_get(const struct labels_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->l[i].name, name) == 0) {
            return s->l[i].value;
        }
    }
    return NULL;
}

int labels_merge(struct labels_set *to, const struct labels_set *from)
{
    for (size_t i = 0; i < from->n; i++) {
        int rc = labels_set(to, from->l[i].name, from->l[i].value);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/*
 * Loki parses the label string with the PromQL lexer, which reads Go
 * string-literal escapes; a raw newline inside quotes is a syntax error.
 */
static int put_escaped(struct frond_buf *out, const char *v)
{
    const char *run = v;
    int rc = 0;
    for (const char *p = v;; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '\\':
            esc = "\\\\";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\0':
            return frond_buf_append(out, run, (size_t)(p - run));
        default:
            continue;
        }
        rc = frond_buf_append(out, run, (size_t)(p - run));
        if (!rc) {
            rc = frond_buf_puts(out, esc);
        }
        if (rc) {
            return rc;
        }
        run = p + 1;
    }
}

int labels_render(const struct labels_set *s, struct frond_buf *out)
{
    size_t start = out->len;
    int rc = frond_buf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; !rc && i < s->n; i++) {
        const struct labels_pair *p = &s->l[i];
        if ((p->name[0] == '_' && p->name[1] == '_') || p->value[0] == '\0') {
            continue;
        }
        if (!first) {
            rc = frond_buf_puts(out, ", ");
        }
        first = false;
        if (!rc) {
            rc = frond_buf_puts(out, p->name);
        }
        if (!rc) {
            rc = frond_buf_puts(out, "=\"");
        }
        if (!rc) {
            rc = put_escaped(out, p->value);
        }
        if (!rc) {
            rc = frond_buf_putc(out, '"');
        }
    }
    if (!rc) {
        rc = frond_buf_putc(out, '}');
    }
    if (rc) {
        out->len = start;
    }
    return rc;
}

/* The component of `path` ending just before `end` (exclusive), or NULL. */
static const char *prev_component(const char *path, const char *end, size_t *len)
{
    const char *p = end;
    while (p > path && p[-1] != '/') {
        p--;
    }
    *len = (size_t)(end - p);
    return *len ? p : NULL;
}

static bool all_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* Apply the three-or-four labels atomically: copy into a scratch set first. */
static int apply(struct labels_set *s, const char *ns, size_t nsl, const char *pod, size_t podl,
                 const char *ctr, size_t ctrl, const char *uid, size_t uidl)
{
    struct labels_set tmp;
    labels_init(&tmp);
    int rc = labels_setn(&tmp, "namespace", ns, nsl);
    if (!rc) {
        rc = labels_setn(&tmp, "pod", pod, podl);
    }
    if (!rc) {
        rc = labels_setn(&tmp, "container", ctr, ctrl);
    }
    if (!rc && uid) {
        rc = labels_setn(&tmp, "pod_uid", uid, uidl);
    }
    if (!rc) {
        rc = labels_merge(s, &tmp);
    }
    labels_cleanup(&tmp);
    return rc;
}

bool labels_from_kubelet_path(const char *path, bool with_uid, struct labels_set *s, int *err)
{
    *err = 0;
    size_t plen = strlen(path);
    size_t flen, clen, dlen;
    const char *file = prev_component(path, path + plen, &flen);
    if (!file) {
        return false;
    }
    /* /var/log/containers/<pod>_<ns>_<container>-<id>.log */
    if (flen > 4 + 65 && memcmp(file + flen - 4, ".log", 4) == 0) {
        const char *id = file + flen - 4 - 64;
        const char *u1 = memchr(file, '_', flen);
        const char *u2 = u1 ? memchr(u1 + 1, '_', (size_t)(file + flen - u1 - 1)) : NULL;
        if (id[-1] == '-' && all_hex(id, 64) && u1 && u2 && u2 < id - 1 && u1 > file &&
            u2 > u1 + 1 && !memchr(u2 + 1, '_', (size_t)(id - 1 - (u2 + 1)))) {
            *err = apply(s, u1 + 1, (size_t)(u2 - u1 - 1), file, (size_t)(u1 - file), u2 + 1,
                         (size_t)(id - 1 - (u2 + 1)), NULL, 0);
            return *err == 0;
        }
    }
    if (file == path + 1 || file == path) {
        return false;
    }
    const char *ctr = prev_component(path, file - 1, &clen);
    if (!ctr || ctr == path + 1 || ctr == path) {
        return false;
    }
    const char *dir = prev_component(path, ctr - 1, &dlen);
    if (!dir) {
        return false;
    }
    /*
     * Namespaces and pod names are DNS labels/subdomains and cannot hold
     * '_', and neither can a UID, so exactly two underscores split the
     * directory name unambiguously.
     */
    const char *u1 = memchr(dir, '_', dlen);
    if (!u1) {
        return false;
    }
    const char *u2 = memchr(u1 + 1, '_', (size_t)(dir + dlen - u1 - 1));
    if (!u2 || memchr(u2 + 1, '_', (size_t)(dir + dlen - u2 - 1)) || u1 == dir || u2 == u1 + 1 ||
        u2 + 1 == dir + dlen) {
        return false;
    }
    *err = apply(s, dir, (size_t)(u1 - dir), u1 + 1, (size_t)(u2 - u1 - 1), ctr, clen,
                 with_uid ? u2 + 1 : NULL, (size_t)(dir + dlen - u2 - 1));
    return *err == 0;
}
