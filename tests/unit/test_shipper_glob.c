/*
 * Unit tests for frondtail's path globs (shipper/tail_glob.c): matching
 * with `*`, `?`, classes, `**` and braces, and the directory walk over a
 * temporary kubelet-like tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tail_glob.h"

static bool m(const char *pattern, const char *path)
{
    struct glob_pattern g;
    if (glob_compile(pattern, &g) != 0) {
        return false;
    }
    bool r = glob_match(&g, path);
    glob_cleanup(&g);
    return r;
}

static void test_match(void)
{
    CHECK(m("/var/log/pods/*/*/*.log", "/var/log/pods/ns_p_u/c/0.log"));
    CHECK(!m("/var/log/pods/*/*/*.log", "/var/log/pods/ns_p_u/c/0.log.20240101-000000"));
    CHECK(!m("/var/log/pods/*/*/*.log", "/var/log/pods/ns_p_u/0.log"));
    CHECK(m("/var/log/*.log", "/var/log/.hidden.log"));
    CHECK(m("/var/log/?.log", "/var/log/a.log"));
    CHECK(!m("/var/log/?.log", "/var/log/ab.log"));
    CHECK(m("/var/log/[ab].log", "/var/log/b.log"));
    CHECK(m("/var/log/**/*.log", "/var/log/x.log"));
    CHECK(m("/var/log/**/*.log", "/var/log/a/b/c/x.log"));
    CHECK(m("/var/log/**", "/var/log/a/b"));
    CHECK(m("/var/**/**/x.log", "/var/x.log"));
    CHECK(!m("/var/log/**/*.log", "/var/other/x.log"));
    CHECK(m("/var/log/{a,b}/*.log", "/var/log/b/x.log"));
    CHECK(m("/var/log/{a,b{c,d}}/*.log", "/var/log/bd/x.log"));
    CHECK(!m("/var/log/{a,b}/*.log", "/var/log/c/x.log"));
    CHECK(m("/var//log/x", "/var/log/x"));
    struct glob_pattern g;
    CHECK_INT(glob_compile("relative/*.log", &g), -EINVAL);
    CHECK_INT(glob_compile("/a/{b", &g), -EINVAL);
    CHECK_INT(glob_compile("/a/b}", &g), -EINVAL);
    CHECK_INT(glob_compile("/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}", &g), -EINVAL);
}

struct found {
    char paths[32][512];
    int n;
    int dirs;
};

static void on_file(void *ctx, const char *path, const struct stat *st)
{
    struct found *f = ctx;
    (void)st;
    if (f->n < 32) {
        snprintf(f->paths[f->n++], 512, "%s", path);
    }
}

static void on_dir(void *ctx, const char *dir)
{
    struct found *f = ctx;
    (void)dir;
    f->dirs++;
}

static bool has(const struct found *f, const char *suffix)
{
    for (int i = 0; i < f->n; i++) {
        size_t a = strlen(f->paths[i]), b = strlen(suffix);
        if (a >= b && strcmp(f->paths[i] + a - b, suffix) == 0) {
            return true;
        }
    }
    return false;
}

static void touch(const char *root, const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    FILE *f = fopen(p, "w");
    if (f) {
        fclose(f);
    }
}

static void test_walk(void)
{
    char root[] = "/tmp/frondtail-glob-XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    touch(root, "pods/ns_a_1/app/0.log");
    touch(root, "pods/ns_a_1/app/0.log.20240101-010101");
    touch(root, "pods/ns_a_1/side/1.log");
    touch(root, "pods/ns_b_2/app/0.log");
    touch(root, "pods/stray.log");
    touch(root, "deep/x/y/z/w.log");
    char pat[512];
    struct glob_pattern g;
    struct found f = {0};
    snprintf(pat, sizeof(pat), "%s/pods/*/*/*.log", root);
    CHECK_INT(glob_compile(pat, &g), 0);
    glob_walk(&g, on_file, on_dir, &f);
    glob_cleanup(&g);
    CHECK_INT(f.n, 3);
    CHECK(has(&f, "/pods/ns_a_1/app/0.log"));
    CHECK(has(&f, "/pods/ns_a_1/side/1.log"));
    CHECK(has(&f, "/pods/ns_b_2/app/0.log"));
    /* pods/, two pod dirs, three container dirs. */
    CHECK_INT(f.dirs, 6);

    memset(&f, 0, sizeof(f));
    snprintf(pat, sizeof(pat), "%s/**/*.log", root);
    CHECK_INT(glob_compile(pat, &g), 0);
    glob_walk(&g, on_file, NULL, &f);
    glob_cleanup(&g);
    CHECK(has(&f, "/deep/x/y/z/w.log"));
    CHECK(has(&f, "/pods/stray.log"));
    CHECK(has(&f, "/pods/ns_b_2/app/0.log"));
    CHECK_INT(f.n, 5);

    /* A missing root: nothing found, the nearest existing ancestor is watched. */
    memset(&f, 0, sizeof(f));
    snprintf(pat, sizeof(pat), "%s/missing/later/*.log", root);
    CHECK_INT(glob_compile(pat, &g), 0);
    glob_walk(&g, on_file, on_dir, &f);
    glob_cleanup(&g);
    CHECK_INT(f.n, 0);
    CHECK_INT(f.dirs, 1);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    test_match();
    test_walk();
    return check_done("test_shipper_glob");
}
