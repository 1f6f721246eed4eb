/*
 * Discovery for the reader thread: the scans that walk the __path__ globs
 * and open, adopt or rotate the files they find, the inotify watches on
 * the directories the globs walk through, and the compiled globs of the
 * config's file targets. Everything here runs on the reader thread (or
 * before it starts), like the rest of struct tail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "frond/log.h"
#include "tail_int.h"

/* ---- inotify ---- */

struct scan_ctx {
    struct tail *t;
    const struct scrape_config *sc;
    const struct tail_target *tg;
    const struct glob_pattern *exclude;
    bool first;
};

static struct tail_dir **dir_slot(struct tail *t, const char *dir)
{
    struct tail_dir **pp = &t->dirs[tail_hash_str(dir) % TAIL_BUCKETS];
    while (*pp && strcmp((*pp)->path, dir) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

/*
 * Watch a directory the globs walk through. Every rescan visits them all
 * again; the path set skips the inotify_add_watch syscall for those already
 * watched, which is most of an idle node's rescan cost.
 */
static void watch_dir(void *ctx, const char *dir)
{
    struct tail *t = ((struct scan_ctx *)ctx)->t;
    if (t->ifd < 0 || *dir_slot(t, dir)) {
        return;
    }
    int wd = inotify_add_watch(t->ifd, dir,
                               IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                   IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
    if (wd < 0) {
        if ((errno == ENOSPC || errno == ENOMEM) && !t->poll_mode) {
            frond_warn("inotify watch limit reached; falling back to polling every few seconds",
                       "dir", dir, "err", strerror(errno));
            t->poll_mode = true;
        }
        return;
    }
    if ((size_t)wd >= t->nwdirs) {
        size_t n = (size_t)wd + 64;
        struct tail_dir **nw = realloc(t->wdirs, n * sizeof(*nw));
        if (!nw) {
            inotify_rm_watch(t->ifd, wd);
            return;
        }
        memset(nw + t->nwdirs, 0, (n - t->nwdirs) * sizeof(*nw));
        t->wdirs = nw;
        t->nwdirs = n;
    }
    if (t->wdirs[wd]) {
        /* The same directory under another path (a symlink): one watch serves both. */
        return;
    }
    size_t len = strlen(dir);
    struct tail_dir *d = malloc(sizeof(*d) + len + 1);
    if (!d) {
        inotify_rm_watch(t->ifd, wd);
        return;
    }
    d->wd = wd;
    memcpy(d->path, dir, len + 1);
    struct tail_dir **slot = dir_slot(t, dir);
    d->next = NULL;
    *slot = d;
    t->wdirs[wd] = d;
    t->nwatches++;
}

static void forget_dir(struct tail *t, int wd)
{
    struct tail_dir *d = t->wdirs[wd];
    struct tail_dir **pp = dir_slot(t, d->path);
    if (*pp == d) {
        *pp = d->next;
    }
    t->wdirs[wd] = NULL;
    t->nwatches--;
    free(d);
}

void tail_handle_events(struct tail *t)
{
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(t->ifd, buf, sizeof(buf));
        if (n <= 0) {
            return;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                t->rescan = true;
                for (struct tail_file *f = t->files; f; f = f->next) {
                    tail_mark_dirty(t, f);
                }
                continue;
            }
            if (ev->wd < 0 || (size_t)ev->wd >= t->nwdirs || !t->wdirs[ev->wd]) {
                continue;
            }
            if (ev->mask & IN_IGNORED) {
                forget_dir(t, ev->wd);
                t->rescan = true;
                continue;
            }
            if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
                            IN_MOVE_SELF)) {
                t->rescan = true;
            }
            if (ev->mask & IN_MOVE_SELF) {
                /* Its path is stale now; IN_IGNORED follows and the rescan watches the new one. */
                inotify_rm_watch(t->ifd, ev->wd);
                continue;
            }
            if ((ev->mask & IN_MODIFY) && ev->len) {
                char path[4096];
                const char *dir = t->wdirs[ev->wd]->path;
                snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", ev->name);
                struct tail_file *f = tail_path_lookup(t, path);
                if (f) {
                    tail_mark_dirty(t, f);
                }
            }
        }
    }
}

/* ---- discovery ---- */

static void on_file(void *ctx, const char *path, const struct stat *st)
{
    struct scan_ctx *x = ctx;
    struct tail *t = x->t;
    if (x->exclude && glob_match(x->exclude, path)) {
        return;
    }
    struct tail_file *f = tail_path_lookup(t, path);
    if (f) {
        if (f->scan_gen == t->scan_gen) {
            return;
        }
        f->scan_gen = t->scan_gen;
        if (f->dev == (uint64_t)st->st_dev && f->ino == (uint64_t)st->st_ino) {
            tail_file_check(t, f, st);
            return;
        }
        /* The path names another file now: rename rotation. Drain the old one. */
        tail_file_rotate(t, f);
    }
    struct tail_file *g = tail_ino_lookup(t, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
    if (g) {
        /* A file we already follow, now under this path (renamed into the glob). */
        if (g->scan_gen != t->scan_gen || g->rotated) {
            tail_file_adopt(t, g, path, x->sc, x->tg);
            g->scan_gen = t->scan_gen;
        }
        return;
    }
    f = tail_file_open(t, x->sc, x->tg, path, x->first);
    if (f) {
        f->scan_gen = t->scan_gen;
    }
}

void tail_scan(struct tail *t, bool first)
{
    t->scan_gen++;
    for (size_t i = 0; i < t->ntargets; i++) {
        struct tail_target_rt *rt = &t->targets[i];
        struct scan_ctx x = {t, rt->sc, rt->tg, rt->has_exclude ? &rt->exclude : NULL, first};
        glob_walk(&rt->glob, on_file, watch_dir, &x);
    }
    /* Files no scan reached are gone from their path (deleted or renamed away). */
    for (struct tail_file *f = t->files; f; f = f->next) {
        if (!f->rotated && f->scan_gen != t->scan_gen) {
            tail_file_rotate(t, f);
        }
    }
    t->last_scan = frond_now_monotonic();
    t->next_scan = t->last_scan + t->cfg->target_sync_period;
    t->rescan = false;
    tail_metric_inc(t->s_scans);
    tail_metric_set(t->s_watches, (double)t->nwatches);
}

/* ---- targets ---- */

void tail_free_targets(struct tail_target_rt *targets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        glob_cleanup(&targets[i].glob);
        if (targets[i].has_exclude) {
            glob_cleanup(&targets[i].exclude);
        }
    }
    free(targets);
}

/* The compiled globs of cfg's file targets. 0, -ENOMEM or -EINVAL (logged). */
int tail_build_targets(const struct shipper_config *cfg, struct tail_target_rt **out, size_t *nout)
{
    size_t nt = 0, n = 0;
    for (size_t i = 0; i < cfg->nscrapes; i++) {
        nt += cfg->scrapes[i].ntargets;
    }
    struct tail_target_rt *targets = calloc(nt ? nt : 1, sizeof(*targets));
    if (!targets) {
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nscrapes; i++) {
        const struct scrape_config *sc = &cfg->scrapes[i];
        for (size_t j = 0; !rc && j < sc->ntargets; j++) {
            struct tail_target_rt *rt = &targets[n];
            rt->sc = sc;
            rt->tg = &sc->targets[j];
            if (glob_compile(rt->tg->path, &rt->glob) != 0) {
                frond_error("invalid __path__ glob", "glob", rt->tg->path);
                rc = -EINVAL;
                break;
            }
            n++;
            if (rt->tg->path_exclude) {
                if (glob_compile(rt->tg->path_exclude, &rt->exclude) != 0) {
                    frond_error("invalid __path_exclude__ glob", "glob", rt->tg->path_exclude);
                    rc = -EINVAL;
                    break;
                }
                rt->has_exclude = true;
            }
        }
    }
    if (rc) {
        tail_free_targets(targets, n);
        return rc;
    }
    *out = targets;
    *nout = n;
    return 0;
}
