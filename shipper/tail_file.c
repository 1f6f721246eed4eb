/*
 * One followed file: open (resuming from the positions table when the
 * identity matches), read in large chunks straight into the parser, push
 * each entry to every output, pause on a full backlog, detect truncation,
 * drain after rotation, close.
 *
 * Reading never keeps a per-file line buffer: after a chunk, read_off is
 * left at the start of the first incomplete line, and the next read starts
 * there. A half-written line costs a re-read of its bytes (from the page
 * cache), while a thousand quiet files cost no memory at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frond/log.h"
#include "tail_int.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Hash of the first `len` bytes; -1 when the file is shorter. */
static int fp_of(int fd, uint32_t len, uint64_t *out)
{
    char buf[TAIL_FP_MAX];
    if (len > sizeof(buf)) {
        return -1;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    *out = positions_fp_hash(buf, len);
    return 0;
}

static void path_series(struct tail *t, struct tail_file *f)
{
    const char *v[] = {f->path, NULL};
    f->s_bytes = t->m_read_bytes ? frond_metric_series(t->m_read_bytes, v) : NULL;
    f->s_lines = t->m_read_lines ? frond_metric_series(t->m_read_lines, v) : NULL;
    f->s_size = t->m_size ? frond_metric_series(t->m_size, v) : NULL;
    f->s_pos = t->m_position ? frond_metric_series(t->m_position, v) : NULL;
}

/* Per-path series go away with the file's path (promtail does the same). */
static void drop_series(struct tail *t, struct tail_file *f)
{
    const char *v[] = {f->path, NULL};
    if (f->s_bytes) {
        frond_metric_remove(t->m_read_bytes, v);
    }
    if (f->s_lines) {
        frond_metric_remove(t->m_read_lines, v);
    }
    if (f->s_size) {
        frond_metric_remove(t->m_size, v);
    }
    if (f->s_pos) {
        frond_metric_remove(t->m_position, v);
    }
    f->s_bytes = f->s_lines = f->s_size = f->s_pos = NULL;
}

static void free_labels(struct tail *t, struct tail_file *f)
{
    if (f->labels) {
        for (size_t i = 0; i < t->noutputs * 3; i++) {
            free(f->labels[i]);
        }
    }
    free(f->labels);
    free(f->labels_len);
    f->labels = NULL;
    f->labels_len = NULL;
}

static int build_labels(struct tail *t, struct tail_file *f)
{
    /* Read before building, so a change while building triggers another rebuild. */
    uint64_t gen = tail_enrich_generation();
    bool missed = false;
    char **labels = calloc(t->noutputs * 3, sizeof(char *));
    size_t *lens = calloc(t->noutputs * 3, sizeof(size_t));
    struct frond_buf b;
    frond_buf_init(&b, 64 * 1024);
    int rc = labels && lens ? 0 : -ENOMEM;
    for (size_t o = 0; !rc && o < t->noutputs; o++) {
        const struct ship_client_config *cc = o < t->cfg->nclients ? &t->cfg->clients[o] : NULL;
        for (int s = 0; !rc && s < 3; s++) {
            frond_buf_reset(&b);
            rc = tail_file_labels(t->cfg, cc, f->sc, &f->tg->labels, f->path, (enum parse_stream)s,
                                  &b);
            missed = missed || (!rc && tail_labels_enrich_missed());
            if (!rc) {
                labels[o * 3 + (size_t)s] = strndup(b.data, b.len);
                lens[o * 3 + (size_t)s] = b.len;
                rc = labels[o * 3 + (size_t)s] ? 0 : -ENOMEM;
            }
        }
    }
    frond_buf_cleanup(&b);
    if (rc) {
        if (labels) {
            for (size_t i = 0; i < t->noutputs * 3; i++) {
                free(labels[i]);
            }
        }
        free(labels);
        free(lens);
        return rc;
    }
    free_labels(t, f);
    f->labels = labels;
    f->labels_len = lens;
    f->enrich_miss = missed;
    f->enrich_gen = gen;
    return 0;
}

static void new_source(struct tail *t, struct tail_file *f, uint64_t off)
{
    pthread_mutex_lock(&t->ack_lock);
    if (f->source_id) {
        tail_id_remove(t, f);
    }
    f->source_id = ++t->next_id;
    for (size_t i = 0; i < t->noutputs; i++) {
        f->acked[i] = off;
    }
    tail_id_insert(t, f);
    pthread_mutex_unlock(&t->ack_lock);
    f->read_off = f->safe_off = f->pushed_end = off;
}

static void set_paused(struct tail *t, struct tail_file *f, bool paused)
{
    if (f->paused == paused) {
        return;
    }
    f->paused = paused;
    if (paused) {
        atomic_fetch_add(&t->npaused, 1);
        tail_metric_inc(t->s_pauses);
    } else {
        atomic_fetch_sub(&t->npaused, 1);
    }
}

static void truncated(struct tail *t, struct tail_file *f, const char *why)
{
    char off[32];
    snprintf(off, sizeof(off), "%llu", (unsigned long long)f->read_off);
    frond_info("file truncated; reading it again from the start", "path", f->path, "offset", off,
               "reason", why);
    tail_metric_inc(t->s_truncations);
    /* A new source id: acks still in flight for the old content must not move the new position. */
    new_source(t, f, 0);
    parse_state_reset(&f->ps);
    f->skipping = false;
    /*
     * A line read from the old content and refused by a full queue was in
     * the file: it is still shipped (first), only its offsets are ignored.
     */
    if (f->pending) {
        f->pending_stale = true;
    } else {
        set_paused(t, f, false);
    }
    f->fp_len = 0;
    f->fp = 0;
    tail_file_refresh_fp(t, f);
    tail_mark_dirty(t, f);
}

void tail_file_refresh_fp(struct tail *t, struct tail_file *f)
{
    (void)t;
    /* f->size is fresh from the last read or scan; an unchanged small file needs no syscall. */
    if (f->fd < 0 || f->fp_len >= TAIL_FP_MAX || f->size <= f->fp_len) {
        return;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint32_t want = size < TAIL_FP_MAX ? (uint32_t)size : TAIL_FP_MAX;
    uint64_t h;
    if (want > f->fp_len && fp_of(f->fd, want, &h) == 0) {
        f->fp_len = want;
        f->fp = h;
    }
}

/*
 * A file record for an open descriptor, with its parser and labels built
 * from `path`. NULL with *err = -ENOENT when relabel_configs drop the file,
 * -ENOMEM otherwise; the caller keeps (and closes) fd on failure.
 */
static struct tail_file *file_new(struct tail *t, const struct scrape_config *sc,
                                  const struct tail_target *tg, const char *path, int fd,
                                  const struct stat *st, int *err)
{
    struct tail_file *f = calloc(1, sizeof(*f));
    *err = -ENOMEM;
    if (!f) {
        return NULL;
    }
    f->fd = fd;
    f->path = strdup(path);
    f->acked = calloc(t->noutputs, sizeof(uint64_t));
    f->sc = sc;
    f->tg = tg;
    f->dev = (uint64_t)st->st_dev;
    f->ino = (uint64_t)st->st_ino;
    f->size = (uint64_t)st->st_size;
    f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    parse_state_init(&f->ps, sc->format,
                     &(struct parse_limits){.max_line_size = (size_t)t->cfg->max_line_size,
                                            .truncate = t->cfg->max_line_size_truncate,
                                            .max_partial_lines = sc->max_partial_lines});
    if (f->path && f->acked) {
        *err = build_labels(t, f);
    }
    if (*err) {
        parse_state_cleanup(&f->ps);
        free_labels(t, f);
        free(f->path);
        free(f->acked);
        free(f);
        return NULL;
    }
    *err = 0;
    return f;
}

/* Enter a new file in the tables and start reading it at `start`. */
static void link_file(struct tail *t, struct tail_file *f, uint64_t start)
{
    f->next = t->files;
    if (t->files) {
        t->files->prev = f;
    }
    t->files = f;
    t->nfiles++;
    if (!f->rotated) {
        tail_path_insert(t, f);
    }
    tail_ino_insert(t, f);
    new_source(t, f, start);
    if (!f->rotated) {
        path_series(t, f);
    }
    tail_metric_set(f->s_size, (double)f->size);
    tail_metric_set(f->s_pos, (double)start);
    tail_metric_set(t->s_files, (double)t->nfiles);
    tail_mark_dirty(t, f);
}

struct tail_file *tail_file_open(struct tail *t, const struct scrape_config *sc,
                                 const struct tail_target *tg, const char *path, bool first_scan)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        frond_debug("cannot open file", "path", path, "err", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    int lrc;
    struct tail_file *f = file_new(t, sc, tg, path, fd, &st, &lrc);
    if (!f) {
        /* -ENOENT: relabel_configs dropped this file: not an error, not tailed. */
        if (lrc != -ENOENT) {
            frond_error("out of memory opening file", "path", path);
        }
        close(fd);
        return NULL;
    }
    tail_file_refresh_fp(t, f);

    /*
     * Where to start. A recorded identity must match (same device and
     * inode, same first bytes) or this is another file that reuses the
     * path or the inode: read it from 0. A promtail entry has no identity;
     * like promtail, trust it unless the file is now shorter.
     */
    uint64_t start = 0;
    struct positions_entry *pe = t->pos ? positions_get(t->pos, path) : NULL;
    if (pe) {
        bool same = true;
        if (pe->has_id) {
            uint64_t h = 0;
            same = pe->dev == f->dev && pe->ino == f->ino &&
                   (pe->fp_len == 0 || (fp_of(fd, pe->fp_len, &h) == 0 && h == pe->fp));
        }
        if (same && pe->offset <= f->size) {
            start = pe->offset;
        } else if (same) {
            tail_metric_inc(t->s_truncations);
        }
    } else if (first_scan && t->cfg->start_at_end) {
        /* frondtail.start_position: end skips the history of files found at the first start. */
        start = f->size;
    }
    link_file(t, f, start);
    char off[32];
    snprintf(off, sizeof(off), "%llu", (unsigned long long)start);
    frond_info("tailing file", "path", path, "offset", off);
    return f;
}

/* The first target whose globs take `path`, so a resumed file gets the labels it had. */
static const struct tail_target_rt *target_for(struct tail *t, const char *path)
{
    for (size_t i = 0; i < t->ntargets; i++) {
        const struct tail_target_rt *rt = &t->targets[i];
        if (glob_match(&rt->glob, path) && !(rt->has_exclude && glob_match(&rt->exclude, path))) {
            return rt;
        }
    }
    return NULL;
}

struct tail_file *tail_file_resume(struct tail *t, const struct positions_entry *pe)
{
    if (!pe->orig || !pe->has_id) {
        return NULL;
    }
    const struct tail_target_rt *rt = target_for(t, pe->orig);
    if (!rt) {
        frond_warn("rotated file left from the last run matches no __path__ now; not resumed",
                   "path", pe->path, "tailed_as", pe->orig);
        return NULL;
    }
    int fd = open(pe->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return NULL;
    }
    struct stat st;
    uint64_t h = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != pe->dev ||
        (uint64_t)st.st_ino != pe->ino || pe->offset > (uint64_t)st.st_size ||
        (pe->fp_len > 0 && (fp_of(fd, pe->fp_len, &h) != 0 || h != pe->fp))) {
        /* Another file under that name now: the one we drained is gone. */
        close(fd);
        return NULL;
    }
    int lrc;
    struct tail_file *f = file_new(t, rt->sc, rt->tg, pe->orig, fd, &st, &lrc);
    if (f) {
        f->cur_path = strdup(pe->path);
    }
    if (!f || !f->cur_path) {
        if (f) {
            parse_state_cleanup(&f->ps);
            free_labels(t, f);
            free(f->path);
            free(f->acked);
            free(f);
        }
        if (lrc != -ENOENT) {
            frond_error("out of memory resuming a rotated file", "path", pe->path);
        }
        close(fd);
        return NULL;
    }
    f->fp_len = pe->fp_len;
    f->fp = pe->fp;
    tail_file_refresh_fp(t, f);
    f->rotated = true;
    f->rotated_at = frond_now_monotonic();
    link_file(t, f, pe->offset);
    tail_metric_inc(t->s_rot_resumed);
    char off[32], size[32];
    snprintf(off, sizeof(off), "%llu", (unsigned long long)pe->offset);
    snprintf(size, sizeof(size), "%llu", (unsigned long long)f->size);
    frond_info("resuming a rotated file the last run had not finished draining", "path", pe->path,
               "tailed_as", pe->orig, "offset", off, "size", size);
    return f;
}

int tail_file_locate(struct tail *t, struct tail_file *f, char *buf, size_t size)
{
    (void)t;
    char link[64];
    struct stat st;
    if (f->fd < 0 || size < 2) {
        return -EINVAL;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", f->fd);
    ssize_t n = readlink(link, buf, size - 1);
    if (n > 0 && (size_t)n < size - 1) {
        buf[n] = '\0';
        if (buf[0] == '/' && stat(buf, &st) == 0 && (uint64_t)st.st_dev == f->dev &&
            (uint64_t)st.st_ino == f->ino) {
            return 1;
        }
    }
    /* No /proc (or a name we cannot trust): look for the inode next to where it was tailed. */
    return tail_find_inode(f->cur_path ? f->cur_path : f->path, f->dev, f->ino, buf, size);
}

int tail_find_inode(const char *near, uint64_t dev, uint64_t ino, char *buf, size_t size)
{
    char dir[4096];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s", near);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        return 0;
    }
    *slash = '\0';
    DIR *d = opendir(slash == dir ? "/" : dir);
    if (!d) {
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    }
    int found = 0;
    for (struct dirent *de; !found && (de = readdir(d)) != NULL;) {
        if ((uint64_t)de->d_ino != ino) {
            continue;
        }
        int w = snprintf(buf, size, "%s/%s", dir, de->d_name);
        if (w > 0 && (size_t)w < size && stat(buf, &st) == 0 && (uint64_t)st.st_dev == dev &&
            (uint64_t)st.st_ino == ino && S_ISREG(st.st_mode)) {
            found = 1;
        }
    }
    closedir(d);
    return found;
}

bool tail_file_drained(struct tail *t, struct tail_file *f)
{
    return !f->pending && tail_file_committed(t, f) >= f->safe_off;
}

void tail_file_close(struct tail *t, struct tail_file *f)
{
    tail_forget_dirty(t, f);
    set_paused(t, f, false);
    if (f->in_path) {
        tail_path_remove(t, f);
        drop_series(t, f);
    }
    tail_ino_remove(t, f);
    pthread_mutex_lock(&t->ack_lock);
    tail_id_remove(t, f);
    pthread_mutex_unlock(&t->ack_lock);
    if (f->prev) {
        f->prev->next = f->next;
    } else {
        t->files = f->next;
    }
    if (f->next) {
        f->next->prev = f->prev;
    }
    t->nfiles--;
    tail_metric_set(t->s_files, (double)t->nfiles);
    if (f->fd >= 0) {
        close(f->fd);
    }
    parse_state_cleanup(&f->ps);
    free_labels(t, f);
    free(f->pbuf);
    free(f->acked);
    free(f->path);
    free(f->cur_path);
    free(f);
}

void tail_file_rotate(struct tail *t, struct tail_file *f)
{
    if (f->rotated) {
        return;
    }
    frond_info("file rotated or removed; draining it", "path", f->path);
    tail_metric_inc(t->s_rotations);
    tail_path_remove(t, f);
    drop_series(t, f);
    f->rotated = true;
    f->rotated_at = frond_now_monotonic();
    tail_mark_dirty(t, f);
}

void tail_file_adopt(struct tail *t, struct tail_file *f, const char *path,
                     const struct scrape_config *sc, const struct tail_target *tg)
{
    char *np = strdup(path);
    if (!np) {
        return;
    }
    if (f->in_path) {
        tail_path_remove(t, f);
        drop_series(t, f);
    }
    free(f->path);
    f->path = np;
    f->rotated = false;
    f->finished = false;
    if (f->cur_path) {
        /* Followed under a watched path again: its rotated-file entry is obsolete. */
        if (t->pos && strcmp(f->cur_path, path) != 0) {
            positions_remove(t->pos, f->cur_path);
        }
        free(f->cur_path);
        f->cur_path = NULL;
    }
    f->sc = sc;
    f->tg = tg;
    if (build_labels(t, f) != 0) {
        frond_warn("out of memory relabelling a renamed file; keeping its old labels", "path",
                   path);
    }
    tail_path_insert(t, f);
    path_series(t, f);
    frond_info("followed file renamed into the watched paths", "path", path);
    tail_mark_dirty(t, f);
}

void tail_file_check(struct tail *t, struct tail_file *f, const struct stat *st)
{
    int64_t mtime = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    bool changed = (uint64_t)st->st_size != f->size || mtime != f->mtime_ns;
    f->size = (uint64_t)st->st_size;
    f->mtime_ns = mtime;
    tail_metric_set(f->s_size, (double)f->size);
    if (f->size < f->read_off) {
        truncated(t, f, "size below offset");
        return;
    }
    /*
     * Truncated and rewritten past our offset between two looks: the first
     * bytes changed. An untouched file (same size and mtime) needs no read,
     * which keeps rescans of a thousand quiet files cheap.
     */
    uint64_t h;
    if (changed && f->fp_len > 0 && fp_of(f->fd, f->fp_len, &h) == 0 && h != f->fp) {
        truncated(t, f, "first bytes changed");
        return;
    }
    if (f->size > f->read_off) {
        tail_mark_dirty(t, f);
    }
}

uint64_t tail_file_committed(struct tail *t, struct tail_file *f)
{
    uint64_t min = UINT64_MAX;
    pthread_mutex_lock(&t->ack_lock);
    for (size_t i = 0; i < t->noutputs; i++) {
        if (f->acked[i] < min) {
            min = f->acked[i];
        }
    }
    pthread_mutex_unlock(&t->ack_lock);
    /*
     * With nothing in flight, lines that produced no entry (dropped, empty
     * partial joins already shipped) may be committed too.
     */
    if (min >= f->pushed_end && !f->pending && f->safe_off > min) {
        min = f->safe_off;
    }
    return min;
}

static int push_all(struct tail *t, struct tail_file *f, const struct ship_entry *e, uint32_t *mask)
{
    uint32_t failed = 0;
    for (size_t i = 0; i < t->noutputs; i++) {
        if (!(*mask & (1u << i))) {
            continue;
        }
        struct ship_entry ce = *e;
        ce.labels = f->labels[i * 3 + (size_t)(e->labels_len)];
        ce.labels_len = f->labels_len[i * 3 + (size_t)(e->labels_len)];
        int rc = t->out[i].push ? t->out[i].push(t->out[i].ctx, &ce) : 0;
        if (rc) {
            failed |= 1u << i;
        }
    }
    *mask = failed;
    return failed ? -EAGAIN : 0;
}

static int ship_parsed(struct tail *t, struct tail_file *f, const struct parse_entry *pp,
                       uint64_t safe);

/*
 * The stream travels in labels_len until push_all() swaps in the real
 * per-output label string; it saves a field in the pending copy.
 */
/*
 * Returns 0, -EAGAIN (the entry is held pending: the line is consumed) or
 * -ENOMEM (nothing changed: the caller pauses the file and passes the same
 * line again later). `cut` says the line is only the start of a physical
 * line longer than the read buffer.
 */
static int handle_line(struct tail *t, struct tail_file *f, const char *line, size_t len,
                       uint64_t start, uint64_t end, int64_t read_ts, bool cut)
{
    struct parse_entry pe;
    f->ps.line_cut = cut;
    int rc = parse_line(&f->ps, line, len, start, read_ts, &pe);
    if (rc < 0) {
        if (!f->oom_logged) {
            frond_error("out of memory parsing a line; pausing the file to try again", "path",
                        f->path);
            f->oom_logged = true;
        }
        return -ENOMEM;
    }
    if (f->ps.flushed_partials != f->flushed_seen) {
        tail_metric_add(t->s_partial_flush, (double)(f->ps.flushed_partials - f->flushed_seen));
        f->flushed_seen = f->ps.flushed_partials;
    }
    uint64_t pend = parse_pending_offset(&f->ps);
    uint64_t safe = end < pend ? end : pend;
    if (rc == 0) {
        f->safe_off = safe;
        f->oom_logged = false;
        return 0;
    }
    rc = ship_parsed(t, f, &pe, safe);
    if (rc != -ENOMEM) {
        f->oom_logged = false;
    }
    return rc;
}

/*
 * Hand one parsed entry to every output; -EAGAIN keeps a copy pending.
 * -ENOMEM: no output took it and no copy could be made; the entry came
 * straight from the caller's line, so passing that line again re-creates
 * it (the caller pauses the file and retries).
 */
/*
 * No memory to copy an entry a full queue refused. When no output took it
 * and it was not handed out of a CRI join (which the parser has already
 * retired), the same line parses to the same entry again: pause and retry.
 * Otherwise some outputs already have it, or it cannot be rebuilt: it is
 * dropped for the rest and counted (reason "oom").
 */
/* Counted once the entry's fate is settled, so a retried line is not counted twice. */
static void count_entry(struct tail *t, struct tail_file *f, const struct parse_entry *pe)
{
    if (pe->malformed) {
        tail_metric_inc(t->s_malformed[f->ps.format]);
    }
    if (pe->truncated) {
        tail_metric_inc(t->s_long_trunc);
    }
}

static int hold_failed(struct tail *t, struct tail_file *f, const struct parse_entry *pe,
                       uint32_t mask, uint64_t safe)
{
    uint32_t all = (uint32_t)((1ULL << t->noutputs) - 1);
    const struct parse_join *j = &f->ps.join[pe->stream];
    if (mask == all && !(j->emitted && pe->line == j->buf)) {
        if (!f->oom_logged) {
            frond_error("out of memory holding a line for a full queue; pausing the file", "path",
                        f->path);
            f->oom_logged = true;
        }
        return -ENOMEM;
    }
    frond_error("out of memory holding a line for a full queue; dropped and counted", "path",
                f->path);
    count_entry(t, f, pe);
    tail_metric_inc(t->s_drop_oom);
    f->safe_off = safe;
    return 0;
}

static int ship_parsed(struct tail *t, struct tail_file *f, const struct parse_entry *pp,
                       uint64_t safe)
{
    struct parse_entry pe = *pp;
    if (pe.drop) {
        count_entry(t, f, &pe);
        tail_metric_inc(t->s_long_drop);
        f->safe_off = safe;
        return 0;
    }
    struct ship_entry e = {
        .ts_ns = pe.ts_ns,
        .line = pe.line,
        .line_len = pe.len,
        .labels = NULL,
        .labels_len = (size_t)pe.stream,
        .tenant = NULL,
        .source_id = f->source_id,
        .end_offset = safe,
    };
    uint32_t mask = (uint32_t)((1ULL << t->noutputs) - 1);
    if (push_all(t, f, &e, &mask) == 0) {
        count_entry(t, f, &pe);
        f->pushed_end = safe;
        f->safe_off = safe;
        return 0;
    }
    /* Keep a copy: the line lives in the read buffer or the parser's join buffer. */
    if (pe.len > f->pbuf_cap) {
        char *nb = realloc(f->pbuf, pe.len ? pe.len : 1);
        if (!nb) {
            return hold_failed(t, f, &pe, mask, safe);
        }
        f->pbuf = nb;
        f->pbuf_cap = pe.len;
    }
    count_entry(t, f, &pe);
    memcpy(f->pbuf, pe.line, pe.len);
    e.line = f->pbuf;
    f->pe = e;
    f->pending = true;
    f->pending_mask = mask;
    return -EAGAIN;
}

static int retry_pending(struct tail *t, struct tail_file *f)
{
    if (!f->pending) {
        return 0;
    }
    if (push_all(t, f, &f->pe, &f->pending_mask)) {
        return -EAGAIN;
    }
    f->pending = false;
    /* The copy of a huge line need not stay: back to a small buffer. */
    if (f->pbuf_cap > PARSE_KEEP_CAP) {
        free(f->pbuf);
        f->pbuf = NULL;
        f->pbuf_cap = 0;
    }
    if (f->pending_stale) {
        /* Read from the content a truncation replaced: its offsets mean nothing now. */
        f->pending_stale = false;
        return 0;
    }
    f->pushed_end = f->pe.end_offset;
    if (f->safe_off < f->pe.end_offset) {
        f->safe_off = f->pe.end_offset;
    }
    return 0;
}

int tail_file_read(struct tail *t, struct tail_file *f, int chunks)
{
    if (f->fd < 0) {
        return TAIL_EOF;
    }
    /*
     * A file opened before its pod's metadata arrived (API down, pod just
     * created) gets it at its next read once the cache changed. A pending
     * entry keeps only its stream index, so it is pushed with the new labels.
     */
    if (f->enrich_miss && tail_enrich_generation() != f->enrich_gen && build_labels(t, f) != 0) {
        f->enrich_gen = tail_enrich_generation();
    }
    if (retry_pending(t, f)) {
        set_paused(t, f, true);
        return TAIL_PAUSED;
    }
    set_paused(t, f, false);
    struct stat st;
    if (fstat(f->fd, &st) == 0) {
        f->size = (uint64_t)st.st_size;
        tail_metric_set(f->s_size, (double)f->size);
        if (f->size < f->read_off) {
            truncated(t, f, "size below offset");
        } else if (f->size > f->read_off && f->read_off > 0 && f->fp_len > 0) {
            /*
             * copytruncate while a writer keeps appending can regrow the file
             * past our offset before we look: the first bytes tell. One small
             * pread per read call, which is a 256 KiB chunk when it matters.
             */
            uint64_t h;
            if (fp_of(f->fd, f->fp_len, &h) == 0 && h != f->fp) {
                truncated(t, f, "first bytes changed");
            }
        }
        if (f->fp_len < TAIL_FP_MAX && f->size > f->fp_len) {
            tail_file_refresh_fp(t, f);
        }
        if (f->size == f->read_off) {
            return TAIL_EOF;
        }
    }
    for (int c = 0; c < chunks; c++) {
        ssize_t n = pread(f->fd, t->rbuf, t->rbuf_size, (off_t)f->read_off);
        if (n < 0) {
            if (errno == EINTR) {
                c--;
                continue;
            }
            frond_warn("read failed", "path", f->path, "err", strerror(errno));
            return TAIL_EOF;
        }
        if (n == 0) {
            return TAIL_EOF;
        }
        uint64_t base = f->read_off;
        const char *buf = t->rbuf, *p = buf, *end = buf + n;
        if (f->skipping) {
            const char *nl = memchr(p, '\n', (size_t)n);
            if (!nl) {
                f->read_off += (uint64_t)n;
                continue;
            }
            p = nl + 1;
            f->skipping = false;
            f->safe_off = base + (uint64_t)(p - buf);
        }
        int64_t ts = now_ns();
        uint64_t lines = 0;
        const char *nl;
        int rc = 0;
        while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            uint64_t s = base + (uint64_t)(p - buf);
            uint64_t e = base + (uint64_t)(nl + 1 - buf);
            rc = handle_line(t, f, p, (size_t)(nl - p), s, e, ts, false);
            if (rc == -ENOMEM) {
                /* Not consumed: read again from this line once memory is back. */
                break;
            }
            lines++;
            p = nl + 1;
            if (rc) {
                break;
            }
        }
        size_t consumed = (size_t)(p - buf);
        if (!rc && consumed == 0 && (size_t)n == t->rbuf_size) {
            /*
             * One line longer than the whole buffer: ship its start, counted
             * as truncated (or dropped by max_line_size without
             * truncation), and skip the rest up to its newline.
             */
            rc = handle_line(t, f, buf, (size_t)n, base, base + (uint64_t)n, ts, true);
            if (rc != -ENOMEM) {
                lines++;
                consumed = (size_t)n;
                f->skipping = true;
            }
        }
        f->read_off = base + consumed;
        tail_metric_add(f->s_bytes, (double)consumed);
        tail_metric_add(f->s_lines, (double)lines);
        if (rc) {
            set_paused(t, f, true);
            return TAIL_PAUSED;
        }
        if ((size_t)n < t->rbuf_size) {
            return TAIL_EOF;
        }
    }
    return TAIL_MORE;
}

int tail_file_finish(struct tail *t, struct tail_file *f)
{
    /* A rotated file's last bytes without a newline are still a line of the container. */
    if (f->fd < 0 || f->skipping || f->pending) {
        return f->pending ? 1 : 0;
    }
    ssize_t n = pread(f->fd, t->rbuf, t->rbuf_size, (off_t)f->read_off);
    if (n > 0 && memchr(t->rbuf, '\n', (size_t)n)) {
        /* Written to since the last read: read it the normal way first. */
        tail_mark_dirty(t, f);
        return 1;
    }
    if (n > 0) {
        /* Pushed or pending (retried by the next read): either way these bytes are consumed. */
        int rc = handle_line(t, f, t->rbuf, (size_t)n, f->read_off, f->read_off + (uint64_t)n,
                             now_ns(), (size_t)n == t->rbuf_size);
        if (rc == -ENOMEM) {
            /* Not consumed: the next drain round tries again. */
            return 1;
        }
        f->read_off += (uint64_t)n;
        if (rc) {
            return 1;
        }
    }
    /*
     * CRI partial lines still waiting for their full line never get it in
     * this file: ship them as they are rather than lose them at close.
     */
    struct parse_entry pe;
    while (parse_flush(&f->ps, &pe) == 1) {
        tail_metric_inc(t->s_partial_flush);
        f->flushed_seen = f->ps.flushed_partials;
        uint64_t pend = parse_pending_offset(&f->ps);
        uint64_t safe = f->read_off < pend ? f->read_off : pend;
        if (ship_parsed(t, f, &pe, safe)) {
            return 1;
        }
    }
    return 0;
}
