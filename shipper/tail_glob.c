/*
 * Glob compilation, matching and directory walking for frondtail's file
 * discovery. Braces are expanded up front into plain alternatives, so the
 * matcher only deals with components: fnmatch(3) for one component and a
 * small recursion for `**`.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tail_glob.h"

static bool has_meta(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static void alt_cleanup(struct glob_alt *a)
{
    for (size_t i = 0; i < a->ncomp; i++) {
        free(a->comp[i]);
    }
    free(a->comp);
    a->comp = NULL;
    a->ncomp = 0;
}

void glob_cleanup(struct glob_pattern *g)
{
    for (size_t i = 0; i < g->nalt; i++) {
        alt_cleanup(&g->alt[i]);
    }
    free(g->alt);
    g->alt = NULL;
    g->nalt = 0;
}

static int add_alt(struct glob_pattern *g, const char *s)
{
    if (s[0] != '/') {
        return -EINVAL;
    }
    if (g->nalt >= GLOB_MAX_ALTERNATIVES) {
        return -EINVAL;
    }
    struct glob_alt *na = realloc(g->alt, (g->nalt + 1) * sizeof(*na));
    if (!na) {
        return -ENOMEM;
    }
    g->alt = na;
    struct glob_alt *a = &g->alt[g->nalt];
    memset(a, 0, sizeof(*a));
    g->nalt++;
    const char *p = s;
    while (*p) {
        while (*p == '/') {
            p++;
        }
        if (!*p) {
            break;
        }
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char **nc = realloc(a->comp, (a->ncomp + 1) * sizeof(*nc));
        if (!nc) {
            return -ENOMEM;
        }
        a->comp = nc;
        a->comp[a->ncomp] = strndup(p, len);
        if (!a->comp[a->ncomp]) {
            return -ENOMEM;
        }
        a->ncomp++;
        p += len;
    }
    return 0;
}

/* Expand the first brace group of `s` (recursively) into alternatives. */
static int expand(struct glob_pattern *g, const char *s, int depth)
{
    if (depth > 8) {
        return -EINVAL;
    }
    const char *open = strchr(s, '{');
    if (!open) {
        if (strchr(s, '}')) {
            return -EINVAL;
        }
        return add_alt(g, s);
    }
    /* Find the matching close brace and the top-level commas inside. */
    int level = 0;
    const char *close = NULL;
    for (const char *p = open; *p; p++) {
        if (*p == '{') {
            level++;
        } else if (*p == '}' && --level == 0) {
            close = p;
            break;
        }
    }
    if (!close) {
        return -EINVAL;
    }
    size_t pre = (size_t)(open - s);
    size_t total = strlen(s);
    const char *start = open + 1;
    level = 0;
    for (const char *p = open + 1; p <= close; p++) {
        if (*p == '{') {
            level++;
            continue;
        }
        if (*p == '}' && level > 0) {
            level--;
            continue;
        }
        if ((*p == ',' && level == 0) || p == close) {
            size_t mid = (size_t)(p - start);
            size_t post = total - (size_t)(close + 1 - s);
            char *buf = malloc(pre + mid + post + 1);
            if (!buf) {
                return -ENOMEM;
            }
            memcpy(buf, s, pre);
            memcpy(buf + pre, start, mid);
            memcpy(buf + pre + mid, close + 1, post);
            buf[pre + mid + post] = '\0';
            int rc = expand(g, buf, depth + 1);
            free(buf);
            if (rc) {
                return rc;
            }
            start = p + 1;
        }
    }
    return 0;
}

int glob_compile(const char *pattern, struct glob_pattern *out)
{
    memset(out, 0, sizeof(*out));
    if (!pattern || pattern[0] != '/') {
        return -EINVAL;
    }
    int rc = expand(out, pattern, 0);
    if (rc) {
        glob_cleanup(out);
    }
    return rc;
}

static bool match_comps(char *const *pc, size_t np, char *const *sc, size_t ns)
{
    while (np > 0) {
        if (strcmp(pc[0], "**") == 0) {
            /* Collapse runs of ** and try every split. */
            while (np > 1 && strcmp(pc[1], "**") == 0) {
                pc++;
                np--;
            }
            for (size_t skip = 0; skip <= ns; skip++) {
                if (match_comps(pc + 1, np - 1, sc + skip, ns - skip)) {
                    return true;
                }
            }
            return false;
        }
        if (ns == 0 || fnmatch(pc[0], sc[0], 0) != 0) {
            return false;
        }
        pc++;
        np--;
        sc++;
        ns--;
    }
    return ns == 0;
}

bool glob_match(const struct glob_pattern *g, const char *path)
{
    char *comps[256];
    char buf[4096];
    size_t n = 0, len = strlen(path);
    if (len >= sizeof(buf) || path[0] != '/') {
        return false;
    }
    memcpy(buf, path, len + 1);
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (n == FROND_ARRAY_SIZE(comps)) {
            return false;
        }
        comps[n++] = c;
    }
    for (size_t i = 0; i < g->nalt; i++) {
        if (match_comps(g->alt[i].comp, g->alt[i].ncomp, comps, n)) {
            return true;
        }
    }
    return false;
}

struct walk {
    const struct glob_alt *a;
    glob_file_fn file;
    glob_dir_fn dir;
    void *ctx;
};

static void join(char *out, size_t outsz, const char *dir, const char *name)
{
    if (strcmp(dir, "/") == 0) {
        snprintf(out, outsz, "/%s", name);
    } else {
        snprintf(out, outsz, "%s/%s", dir, name);
    }
}

static void walk_dir(struct walk *w, const char *dir, size_t ci, int depth);

static void visit(struct walk *w, const char *path, size_t ci, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return;
    }
    bool last = ci + 1 == w->a->ncomp;
    if (S_ISREG(st.st_mode) && last) {
        w->file(w->ctx, path, &st);
    } else if (S_ISDIR(st.st_mode) && !last) {
        walk_dir(w, path, ci + 1, depth + 1);
    }
}

static void walk_dir(struct walk *w, const char *dir, size_t ci, int depth)
{
    if (depth > GLOB_MAX_DEPTH || ci >= w->a->ncomp) {
        return;
    }
    if (w->dir) {
        w->dir(w->ctx, dir);
    }
    const char *comp = w->a->comp[ci];
    char path[4096];
    bool star2 = strcmp(comp, "**") == 0;
    if (star2) {
        /* Zero directories: the rest of the pattern applies right here. */
        if (ci + 1 < w->a->ncomp) {
            walk_dir(w, dir, ci + 1, depth);
        }
    } else if (!has_meta(comp)) {
        join(path, sizeof(path), dir, comp);
        visit(w, path, ci, depth);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        join(path, sizeof(path), dir, e->d_name);
        if (star2) {
            /* One more directory swallowed by **; files are matched by the zero case. */
            struct stat st;
            if (e->d_type == DT_DIR ||
                (e->d_type == DT_UNKNOWN && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
                walk_dir(w, path, ci, depth + 1);
            }
            continue;
        }
        if (fnmatch(comp, e->d_name, 0) != 0) {
            continue;
        }
        bool last = ci + 1 == w->a->ncomp;
        /* Skip a stat for entries that cannot be what this level needs. */
        if (!last && e->d_type != DT_DIR && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) {
            continue;
        }
        if (last && e->d_type == DT_DIR) {
            continue;
        }
        if (!last && e->d_type == DT_DIR) {
            /* No stat needed to descend into a real directory. */
            walk_dir(w, path, ci + 1, depth + 1);
            continue;
        }
        visit(w, path, ci, depth);
    }
    closedir(d);
}

void glob_walk(const struct glob_pattern *g, glob_file_fn file, glob_dir_fn dir, void *ctx)
{
    for (size_t i = 0; i < g->nalt; i++) {
        const struct glob_alt *a = &g->alt[i];
        struct walk w = {a, file, dir, ctx};
        char base[4096] = "/";
        size_t ci = 0;
        /* Descend through the literal prefix without reading any directory. */
        while (ci + 1 < a->ncomp && !has_meta(a->comp[ci]) && strcmp(a->comp[ci], "**") != 0) {
            char next[4096];
            join(next, sizeof(next), base, a->comp[ci]);
            memcpy(base, next, sizeof(base));
            ci++;
        }
        if (a->ncomp == 0) {
            continue;
        }
        struct stat st;
        if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode)) {
            /* Watch the nearest existing ancestor so the tree is found when it appears. */
            if (dir) {
                char anc[4096];
                snprintf(anc, sizeof(anc), "%s", base);
                for (;;) {
                    char *sl = strrchr(anc, '/');
                    if (!sl) {
                        break;
                    }
                    if (sl == anc) {
                        anc[1] = '\0';
                    } else {
                        *sl = '\0';
                    }
                    if (stat(anc, &st) == 0 && S_ISDIR(st.st_mode)) {
                        dir(ctx, anc);
                        break;
                    }
                    if (sl == anc) {
                        break;
                    }
                }
            }
            continue;
        }
        walk_dir(&w, base, ci, 0);
    }
}
