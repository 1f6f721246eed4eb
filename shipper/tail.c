/*
 * The reader thread: the loop that reads dirty files in budgeted rounds
 * so one busy file cannot starve the rest. Discovery scans and inotify
 * live in tail_discover.c; per-file reading, rotation and truncation
 * handling in tail_file.c; this file owns the thread, the tables and the
 * timers.
 *
 * Idle cost: with nothing written, the thread sleeps in poll(2) until an
 * inotify event, an ack for a paused file, or the next sync_period timer.
 * Nothing is polled unless inotify is unavailable.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "frond/log.h"
#include "journal.h"
#include "tail_int.h"

static double now_mono(void)
{
    return frond_now_monotonic();
}

/* ---- labels ---- */

/* The enricher (tail_set_enricher); set before the reader thread starts, read-only after. */
static tail_enrich_fn enrich_fn;
static tail_enrich_gen_fn enrich_gen_fn;
static void *enrich_ctx;
/* Whether the last tail_file_labels call on this thread found no metadata for its file. */
static _Thread_local bool enrich_missed;

void tail_set_enricher(tail_enrich_fn fn, tail_enrich_gen_fn gen, void *ctx)
{
    enrich_fn = fn;
    enrich_gen_fn = gen;
    enrich_ctx = ctx;
}

uint64_t tail_enrich_generation(void)
{
    return enrich_gen_fn ? enrich_gen_fn(enrich_ctx) : 0;
}

bool tail_labels_enrich_missed(void)
{
    return enrich_missed;
}

int tail_file_labels(const struct shipper_config *cfg, const struct ship_client_config *cc,
                     const struct scrape_config *sc, const struct labels_set *statics,
                     const char *path, enum parse_stream stream, struct frond_buf *out)
{
    struct labels_set s;
    labels_init(&s);
    int rc = 0;
    if (path) {
        int err = 0;
        labels_from_kubelet_path(path, cfg->pod_uid_label, &s, &err);
        rc = err;
    }
    enrich_missed = false;
    if (!rc && path && enrich_fn) {
        int erc = enrich_fn(enrich_ctx, path, &s);
        enrich_missed = erc == 0;
        rc = erc < 0 ? erc : 0;
    }
    if (!rc && statics) {
        rc = labels_merge(&s, statics);
    }
    if (!rc && path) {
        rc = labels_set(&s, "filename", path);
    }
    if (!rc && sc && sc->nrelabel) {
        rc = relabel_apply(sc->relabel, sc->nrelabel, &s);
        rc = rc == 0 ? -ENOENT : rc < 0 ? rc : 0;
    }
    /* external_labels have the lowest precedence (promtail merges them under the entry's). */
    for (size_t i = 0; cc && !rc && i < cc->nexternal_labels; i++) {
        if (!labels_get(&s, cc->external_label_names[i])) {
            rc = labels_set(&s, cc->external_label_names[i], cc->external_label_values[i]);
        }
    }
    if (!rc && stream != PARSE_STREAM_NONE) {
        rc = labels_set(&s, "stream", stream == PARSE_STREAM_STDOUT ? "stdout" : "stderr");
    }
    if (!rc) {
        rc = labels_render(&s, out);
    }
    labels_cleanup(&s);
    return rc;
}

/* ---- hash tables ---- */

size_t tail_hash_str(const char *s)
{
    return (size_t)positions_fp_hash(s, strlen(s));
}

static size_t hash_ino(uint64_t dev, uint64_t ino)
{
    return (size_t)((dev * 0x9E3779B97F4A7C15ULL) ^ (ino * 0xC2B2AE3D27D4EB4FULL));
}

struct tail_file *tail_path_lookup(struct tail *t, const char *path)
{
    for (struct tail_file *f = t->by_path[tail_hash_str(path) % TAIL_BUCKETS]; f;
         f = f->hnext_path) {
        if (strcmp(f->path, path) == 0) {
            return f;
        }
    }
    return NULL;
}

void tail_path_insert(struct tail *t, struct tail_file *f)
{
    size_t b = tail_hash_str(f->path) % TAIL_BUCKETS;
    f->hnext_path = t->by_path[b];
    t->by_path[b] = f;
    f->in_path = true;
}

void tail_path_remove(struct tail *t, struct tail_file *f)
{
    if (!f->in_path) {
        return;
    }
    for (struct tail_file **pp = &t->by_path[tail_hash_str(f->path) % TAIL_BUCKETS]; *pp;
         pp = &(*pp)->hnext_path) {
        if (*pp == f) {
            *pp = f->hnext_path;
            break;
        }
    }
    f->in_path = false;
}

struct tail_file *tail_ino_lookup(struct tail *t, uint64_t dev, uint64_t ino)
{
    for (struct tail_file *f = t->by_ino[hash_ino(dev, ino) % TAIL_BUCKETS]; f; f = f->hnext_ino) {
        if (f->dev == dev && f->ino == ino) {
            return f;
        }
    }
    return NULL;
}

void tail_ino_insert(struct tail *t, struct tail_file *f)
{
    size_t b = hash_ino(f->dev, f->ino) % TAIL_BUCKETS;
    f->hnext_ino = t->by_ino[b];
    t->by_ino[b] = f;
}

void tail_ino_remove(struct tail *t, struct tail_file *f)
{
    for (struct tail_file **pp = &t->by_ino[hash_ino(f->dev, f->ino) % TAIL_BUCKETS]; *pp;
         pp = &(*pp)->hnext_ino) {
        if (*pp == f) {
            *pp = f->hnext_ino;
            return;
        }
    }
}

/* The id table is read by tail_ack() on sender threads: callers hold ack_lock. */
void tail_id_insert(struct tail *t, struct tail_file *f)
{
    size_t b = f->source_id % TAIL_BUCKETS;
    f->hnext_id = t->by_id[b];
    t->by_id[b] = f;
}

void tail_id_remove(struct tail *t, struct tail_file *f)
{
    for (struct tail_file **pp = &t->by_id[f->source_id % TAIL_BUCKETS]; *pp;
         pp = &(*pp)->hnext_id) {
        if (*pp == f) {
            *pp = f->hnext_id;
            return;
        }
    }
}

/* ---- acks ---- */

void *tail_ack_ctx(struct tail *t, size_t i)
{
    return i < t->noutputs ? &t->out[i] : NULL;
}

void tail_add_journal(struct tail *t, struct journal *j)
{
    if (t->njournals < TAIL_MAX_JOURNALS) {
        t->journals[t->njournals++] = j;
    }
}

void tail_set_output(struct tail *t, size_t i, tail_push_fn push, void *ctx)
{
    if (i < t->noutputs) {
        t->out[i].push = push;
        t->out[i].ctx = ctx;
    }
}

void tail_ack(void *ack_ctx, uint64_t source_id, uint64_t end_offset)
{
    struct tail_output *o = ack_ctx;
    struct tail *t = o->t;
    /* The journal list is fixed before the thread starts: no lock needed to read it. */
    for (size_t i = 0; i < t->njournals; i++) {
        if (journal_source_id(t->journals[i]) == source_id) {
            journal_ack(t->journals[i], o->index, end_offset);
            return;
        }
    }
    pthread_mutex_lock(&t->ack_lock);
    for (struct tail_file *f = t->by_id[source_id % TAIL_BUCKETS]; f; f = f->hnext_id) {
        if (f->source_id == source_id) {
            if (end_offset > f->acked[o->index]) {
                f->acked[o->index] = end_offset;
            }
            break;
        }
    }
    pthread_mutex_unlock(&t->ack_lock);
    /* A paused reader waits for room in the queue; an ack is the moment room appears. */
    if (atomic_load(&t->npaused) > 0) {
        tail_wake(t);
    }
}

void tail_wake(struct tail *t)
{
    uint64_t one = 1;
    ssize_t n = write(t->wake_fd, &one, sizeof(one));
    (void)n;
}

/* ---- dirty list ---- */

void tail_mark_dirty(struct tail *t, struct tail_file *f)
{
    if (f->dirty || f->fd < 0) {
        return;
    }
    f->dirty = true;
    f->dnext = NULL;
    if (t->dirty_tail) {
        t->dirty_tail->dnext = f;
    } else {
        t->dirty_head = f;
    }
    t->dirty_tail = f;
}

static struct tail_file *pop_dirty(struct tail *t)
{
    struct tail_file *f = t->dirty_head;
    if (f) {
        t->dirty_head = f->dnext;
        if (!t->dirty_head) {
            t->dirty_tail = NULL;
        }
        f->dnext = NULL;
        f->dirty = false;
    }
    return f;
}

static void unlink_dirty(struct tail *t, struct tail_file *f)
{
    struct tail_file *prev = NULL;
    for (struct tail_file *g = t->dirty_head; g; prev = g, g = g->dnext) {
        if (g == f) {
            if (prev) {
                prev->dnext = g->dnext;
            } else {
                t->dirty_head = g->dnext;
            }
            if (t->dirty_tail == g) {
                t->dirty_tail = prev;
            }
            break;
        }
    }
    f->dirty = false;
}

void tail_forget_dirty(struct tail *t, struct tail_file *f)
{
    if (f->dirty) {
        unlink_dirty(t, f);
    }
}

/* ---- positions ---- */

/*
 * f's committed offset, identity and fingerprint recorded under `path`;
 * `orig` is the path a rotated file was tailed as (NULL for a live file).
 */
static void put_file_position(struct tail *t, struct tail_file *f, char *path, char *orig,
                              uint64_t committed)
{
    tail_file_refresh_fp(t, f);
    struct positions_entry e = {
        .path = path,
        .offset = committed,
        .has_id = true,
        .dev = f->dev,
        .ino = f->ino,
        .fp_len = f->fp_len,
        .fp = f->fp,
        .orig = orig,
    };
    if (positions_put(t->pos, &e) != 0) {
        frond_warn("cannot record position (out of memory)", "path", path);
    }
}

/*
 * A rotated file still draining has lost its path to its successor, so it
 * is recorded under the name it has now, with the path it was tailed under
 * (for its labels): a crash before Loki acknowledged its end then resumes
 * it instead of losing its tail. A file already deleted cannot be reopened
 * after a crash; that is reported once per file while its end is unacked.
 */
static void record_rotated(struct tail *t, struct tail_file *f, uint64_t committed)
{
    char where[4096];
    int found = tail_file_locate(t, f, where, sizeof(where));
    if (found == 1 && tail_path_lookup(t, where)) {
        /* Its new name is another followed file's path (a race with a rescan): skip this round. */
        return;
    }
    if (found != 1) {
        if (found == 0 && f->cur_path) {
            positions_remove(t->pos, f->cur_path);
            free(f->cur_path);
            f->cur_path = NULL;
        }
        if (found == 0 && !f->lost_reported && !tail_file_drained(t, f)) {
            f->lost_reported = true;
            tail_metric_inc(t->s_rot_unsaved);
            char off[32], end[32];
            snprintf(off, sizeof(off), "%llu", (unsigned long long)committed);
            snprintf(end, sizeof(end), "%llu", (unsigned long long)f->safe_off);
            frond_warn("rotated file deleted before Loki acknowledged its end; it is still being "
                       "drained, but a crash now would lose its unacknowledged tail",
                       "path", f->path, "committed", off, "read", end);
        }
        return;
    }
    if (!f->cur_path || strcmp(f->cur_path, where) != 0) {
        char *np = strdup(where);
        if (!np) {
            frond_warn("cannot record a rotated file's position (out of memory)", "path", where);
            return;
        }
        if (f->cur_path) {
            positions_remove(t->pos, f->cur_path);
        }
        free(f->cur_path);
        f->cur_path = np;
    }
    put_file_position(t, f, f->cur_path, f->path, committed);
}

static void update_positions(struct tail *t)
{
    for (struct tail_file *f = t->files; f; f = f->next) {
        uint64_t committed = tail_file_committed(t, f);
        tail_metric_set(f->s_pos, (double)committed);
        if (t->dry_run) {
            continue;
        }
        if (f->rotated) {
            record_rotated(t, f, committed);
            continue;
        }
        put_file_position(t, f, f->path, NULL, committed);
    }
    for (size_t i = 0; i < t->njournals && !t->dry_run; i++) {
        char *cursor = journal_committed_cursor(t->journals[i]);
        struct positions_entry e = {.path = (char *)journal_position_key(t->journals[i]),
                                    .cursor = cursor};
        if (cursor && positions_put(t->pos, &e) != 0) {
            frond_warn("cannot record journal cursor (out of memory)", "key", e.path);
        }
        free(cursor);
    }
    /* Forget files that no longer exist, like promtail's positions cleanup. */
    for (size_t i = 0; i < t->pos->n;) {
        struct stat st;
        const char *p = t->pos->e[i].path;
        /* Journal cursors from a promtail file are not files: keep them. */
        if (!t->pos->e[i].cursor && !tail_path_lookup(t, p) && stat(p, &st) != 0 &&
            errno == ENOENT) {
            positions_remove(t->pos, p);
            continue;
        }
        i++;
    }
}

int tail_save_positions(struct tail *t)
{
    if (t->dry_run || !t->pos) {
        return 0;
    }
    update_positions(t);
    if (!t->pos->dirty) {
        return 0;
    }
    int rc = positions_save(t->pos);
    if (rc) {
        tail_metric_inc(t->s_pos_errors);
        frond_error("cannot write positions file", "file", t->pos->filename, "err", strerror(-rc));
    } else {
        tail_metric_inc(t->s_pos_saves);
    }
    return rc;
}

/* ---- loop ---- */

static void read_round(struct tail *t)
{
    /* One pass over what is dirty now; files with more to read go to the back. */
    struct tail_file *last = t->dirty_tail;
    while (t->dirty_head && !atomic_load(&t->stopping)) {
        struct tail_file *f = pop_dirty(t);
        int r = tail_file_read(t, f, TAIL_ROUND_CHUNKS);
        if (r == TAIL_MORE) {
            tail_mark_dirty(t, f);
        }
        if (f == last) {
            break;
        }
    }
}

static void retry_paused(struct tail *t)
{
    for (struct tail_file *f = t->files; f; f = f->next) {
        if (f->paused) {
            tail_mark_dirty(t, f);
        }
    }
}

static void drain_rotated(struct tail *t, double now)
{
    for (struct tail_file *f = t->files, *next; f; f = next) {
        next = f->next;
        if (!f->rotated) {
            continue;
        }
        int r = f->paused ? TAIL_PAUSED : tail_file_read(t, f, TAIL_ROUND_CHUNKS);
        if (r != TAIL_EOF || f->pending || now - f->rotated_at < t->rotate_wait) {
            continue;
        }
        if (!f->finished) {
            if (tail_file_finish(t, f) != 0) {
                continue;
            }
            f->finished = true;
        }
        /*
         * Kept open (and in the positions file) until Loki acknowledged
         * everything read from it, so a crash meanwhile resumes it. In
         * -dry-run nothing is ever acknowledged.
         */
        if (!t->dry_run && !tail_file_drained(t, f)) {
            continue;
        }
        if (f->cur_path && t->pos) {
            positions_remove(t->pos, f->cur_path);
        }
        tail_file_close(t, f);
    }
}

static bool have_rotated(const struct tail *t)
{
    for (const struct tail_file *f = t->files; f; f = f->next) {
        if (f->rotated) {
            return true;
        }
    }
    return false;
}

/*
 * A crash between a rename rotation and the next positions save leaves the
 * rotated file recorded only under its old path, which now names its
 * successor. The old (dev, inode) is looked for next to that path; when
 * found with the same first bytes, it is resumed as a rotated file.
 */
static void resume_renamed(struct tail *t, const struct positions_entry *pe)
{
    if (pe->orig || pe->cursor || !pe->has_id || tail_ino_lookup(t, pe->dev, pe->ino)) {
        return;
    }
    char where[4096];
    if (tail_find_inode(pe->path, pe->dev, pe->ino, where, sizeof(where)) != 1 ||
        strcmp(where, pe->path) == 0 || positions_get(t->pos, where)) {
        return;
    }
    struct positions_entry e = *pe;
    e.path = where;
    e.orig = pe->path;
    (void)tail_file_resume(t, &e);
}

/*
 * After the first scan: rotated files the last run was still draining, no
 * longer under a watched path, are reopened and drained from their
 * committed offset. Entries whose file is gone or is another file now are
 * dropped (the next save would keep them otherwise).
 */
static void resume_rotated(struct tail *t)
{
    if (!t->pos || t->dry_run) {
        return;
    }
    size_t nplain = t->pos->n;
    for (size_t i = 0; i < nplain; i++) {
        resume_renamed(t, &t->pos->e[i]);
    }
    for (size_t i = 0; i < t->pos->n;) {
        struct positions_entry *pe = &t->pos->e[i];
        if (!pe->orig) {
            i++;
            continue;
        }
        if (tail_path_lookup(t, pe->path) || tail_ino_lookup(t, pe->dev, pe->ino)) {
            /* Followed already (renamed back into the globs): a plain entry from now on. */
            i++;
            continue;
        }
        struct tail_file *f = tail_file_resume(t, pe);
        if (!f) {
            frond_info("rotated file from the last run is gone; forgetting it", "path", pe->path);
            positions_remove(t->pos, pe->path);
            continue;
        }
        i++;
    }
}

static void apply_reload(struct tail *t);

static void *tail_main(void *arg)
{
    struct tail *t = arg;
    double now = now_mono();
    t->next_save = now + t->cfg->positions_sync_period;
    t->next_poll = now + t->poll_interval;
    tail_scan(t, true);
    resume_rotated(t);
    atomic_store(&t->ready, 1);
    while (!atomic_load(&t->stopping)) {
        if (atomic_load(&t->reload_pending)) {
            apply_reload(t);
        }
        read_round(t);
        now = now_mono();
        if (now >= t->next_scan || (t->rescan && now - t->last_scan >= TAIL_RESCAN_DEBOUNCE)) {
            tail_scan(t, false);
        }
        if (now >= t->next_save) {
            if (!t->dry_run) {
                /* A failed write is logged and counted; the next period tries again. */
                if (tail_save_positions(t) != 0) {
                    t->next_save = now + 1;
                }
            } else {
                update_positions(t);
            }
            if (t->next_save <= now) {
                t->next_save = now + t->cfg->positions_sync_period;
            }
        }
        if ((t->poll_mode || t->ifd < 0) && now >= t->next_poll) {
            for (struct tail_file *f = t->files; f; f = f->next) {
                tail_mark_dirty(t, f);
            }
            t->next_poll = now + t->poll_interval;
        }
        bool rotated = have_rotated(t);
        if (rotated) {
            drain_rotated(t, now);
        }
        double wake = t->next_scan < t->next_save ? t->next_scan : t->next_save;
        if (t->rescan) {
            double r = t->last_scan + TAIL_RESCAN_DEBOUNCE;
            wake = r < wake ? r : wake;
        }
        if (t->poll_mode || t->ifd < 0) {
            wake = t->next_poll < wake ? t->next_poll : wake;
        }
        if (rotated) {
            wake = now + 0.25 < wake ? now + 0.25 : wake;
        }
        if (atomic_load(&t->npaused) > 0) {
            wake = now + TAIL_PAUSE_RETRY < wake ? now + TAIL_PAUSE_RETRY : wake;
        }
        int timeout = t->dirty_head ? 0 : (int)((wake - now) * 1000) + 1;
        if (timeout < 0) {
            timeout = 0;
        }
        struct pollfd pfd[2] = {{t->wake_fd, POLLIN, 0}, {t->ifd, POLLIN, 0}};
        int n = poll(pfd, t->ifd >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR) {
            frond_error("poll failed", "err", strerror(errno));
            break;
        }
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t r = read(t->wake_fd, &v, sizeof(v));
            (void)r;
        }
        if (n > 0 && t->ifd >= 0 && (pfd[1].revents & POLLIN)) {
            tail_handle_events(t);
        }
        if (atomic_load(&t->npaused) > 0) {
            retry_paused(t);
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

static struct frond_series *series0(struct frond_metric *m)
{
    return m ? frond_metric_series(m, NULL) : NULL;
}

static struct frond_series *series1(struct frond_metric *m, const char *v)
{
    const char *vals[] = {v, NULL};
    return m ? frond_metric_series(m, vals) : NULL;
}

/*
 * The tail's metrics without labels, one series each, so that adding one is
 * a row here and a field in struct tail. The registry sorts families by name,
 * so the order of the rows does not show in the exposition.
 */
struct plain_metric {
    size_t at; /* offsetof(struct tail, the series pointer) */
    bool gauge;
    const char *name, *help;
};

static const struct plain_metric plain_metrics[] = {
    {offsetof(struct tail, s_files), true, "frondtail_files_active",
     "Files currently open, rotated ones draining included."},
    {offsetof(struct tail, s_partial_flush), false, "frondtail_cri_partial_flushes_total",
     "CRI partial lines shipped unjoined because max_partial_lines or the byte bound was hit."},
    {offsetof(struct tail, s_rotations), false, "frondtail_file_rotations_total",
     "Files renamed or deleted under the reader (drained to EOF before close)."},
    {offsetof(struct tail, s_truncations), false, "frondtail_file_truncations_total",
     "Files truncated in place (copytruncate) or replaced under the same inode; read again from "
     "0."},
    {offsetof(struct tail, s_pauses), false, "frondtail_backpressure_pauses_total",
     "Times a file stopped being read because an output's backlog was full."},
    {offsetof(struct tail, s_rot_resumed), false, "frondtail_rotated_files_resumed_total",
     "Rotated files a previous run had not finished draining, reopened from the positions file "
     "and drained."},
    {offsetof(struct tail, s_rot_unsaved), false, "frondtail_rotated_files_unsaved_total",
     "Rotated files deleted before Loki acknowledged their end: they cannot be recorded in the "
     "positions file, so a crash before the ack would lose their tail."},
    {offsetof(struct tail, s_scans), false, "frondtail_discovery_scans_total",
     "Discovery scans of the path globs."},
    {offsetof(struct tail, s_watches), true, "frondtail_inotify_watches",
     "Directories watched with inotify."},
    {offsetof(struct tail, s_pos_saves), false, "frondtail_positions_saves_total",
     "Positions file writes."},
    {offsetof(struct tail, s_pos_errors), false, "frondtail_positions_save_errors_total",
     "Failed positions file writes."},
};

static void register_metrics(struct tail *t, struct frond_registry *reg)
{
    static const char *const path_label[] = {"path", NULL};
    static const char *const action[] = {"action", NULL};
    static const char *const format[] = {"format", NULL};
    static const char *const reason_label[] = {"reason", NULL};
    if (!reg) {
        return;
    }
    t->m_read_bytes =
        frond_registry_counter(reg, "frondtail_read_bytes_total",
                               "Bytes of complete lines read from the file.", path_label);
    t->m_read_lines = frond_registry_counter(reg, "frondtail_read_lines_total",
                                             "Lines read from the file.", path_label);
    t->m_size = frond_registry_gauge(reg, "frondtail_file_size_bytes",
                                     "Size of the tailed file when last looked at.", path_label);
    t->m_position = frond_registry_gauge(
        reg, "frondtail_file_position_bytes",
        "Offset up to which Loki acknowledged the file (lag = size - position).", path_label);
    for (size_t i = 0; i < FROND_ARRAY_SIZE(plain_metrics); i++) {
        const struct plain_metric *pm = &plain_metrics[i];
        struct frond_metric *pl = pm->gauge ? frond_registry_gauge(reg, pm->name, pm->help, NULL)
                                            : frond_registry_counter(reg, pm->name, pm->help, NULL);
        *(struct frond_series **)((char *)t + pm->at) = series0(pl);
    }
    struct frond_metric *m;
    m = frond_registry_counter(reg, "frondtail_lines_too_long_total",
                               "Lines over limits_config.max_line_size or longer than the read "
                               "buffer, by what was done.",
                               action);
    t->s_long_trunc = series1(m, "truncated");
    t->s_long_drop = series1(m, "dropped");
    m = frond_registry_counter(reg, "frondtail_lines_dropped_total",
                               "Lines read from a file but not shipped for a reason other than "
                               "max_line_size (oom: no memory to hold a line a full output "
                               "queue refused).",
                               reason_label);
    t->s_drop_oom = series1(m, "oom");
    m = frond_registry_counter(
        reg, "frondtail_lines_malformed_total",
        "Lines that did not parse in the file's format; shipped raw with the read time.", format);
    t->s_malformed[PARSE_RAW] = series1(m, "raw");
    t->s_malformed[PARSE_CRI] = series1(m, "cri");
    t->s_malformed[PARSE_DOCKER] = series1(m, "docker");
}

/* On the reader thread: swap in the targets of the config tail_reload() handed over. */
static void apply_reload(struct tail *t)
{
    pthread_mutex_lock(&t->reload_mu);
    const struct shipper_config *cfg = t->reload_cfg;
    pthread_mutex_unlock(&t->reload_mu);
    struct tail_target_rt *targets = NULL;
    size_t n = 0;
    int rc = cfg ? tail_build_targets(cfg, &targets, &n) : -EINVAL;
    if (rc == 0) {
        tail_free_targets(t->targets, t->ntargets);
        t->targets = targets;
        t->ntargets = n;
        t->cfg = cfg;
        /* New globs find their files now; files no glob reaches any more are drained. */
        tail_scan(t, false);
    }
    atomic_store(&t->reload_pending, 0);
    pthread_mutex_lock(&t->reload_mu);
    t->reload_rc = rc;
    t->reload_done = true;
    pthread_cond_broadcast(&t->reload_cv);
    pthread_mutex_unlock(&t->reload_mu);
}

int tail_reload(struct tail *t, const struct shipper_config *cfg)
{
    if (!t->started || atomic_load(&t->stopping)) {
        return -ESHUTDOWN;
    }
    pthread_mutex_lock(&t->reload_mu);
    t->reload_cfg = cfg;
    t->reload_done = false;
    atomic_store(&t->reload_pending, 1);
    tail_wake(t);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    int rc = 0;
    while (!t->reload_done && rc == 0) {
        rc = pthread_cond_timedwait(&t->reload_cv, &t->reload_mu, &until);
    }
    int result = t->reload_done ? t->reload_rc : -ETIMEDOUT;
    if (!t->reload_done) {
        /* Not applied yet and given up on: the reader thread must not pick it up later. */
        t->reload_cfg = NULL;
    }
    pthread_mutex_unlock(&t->reload_mu);
    return result;
}

struct tail *tail_new(const struct tail_opts *o)
{
    struct tail *t = calloc(1, sizeof(*t));
    if (!t) {
        return NULL;
    }
    t->cfg = o->cfg;
    t->pos = o->pos;
    t->dry_run = o->dry_run;
    t->noutputs = o->noutputs;
    t->rotate_wait = o->rotate_wait > 0 ? o->rotate_wait : 5;
    t->poll_interval = o->poll_interval > 0 ? o->poll_interval : 2;
    t->ifd = -1;
    t->wake_fd = -1;
    pthread_mutex_init(&t->ack_lock, NULL);
    pthread_mutex_init(&t->reload_mu, NULL);
    pthread_cond_init(&t->reload_cv, NULL);
    if (t->noutputs == 0 || t->noutputs > TAIL_MAX_OUTPUTS) {
        frond_error("frondtail supports 1 to 32 clients");
        goto fail;
    }
    t->out = calloc(t->noutputs, sizeof(*t->out));
    if (!t->out) {
        goto fail;
    }
    for (size_t i = 0; i < t->noutputs; i++) {
        t->out[i].t = t;
        t->out[i].index = i;
    }
    /* Physical lines are cut at this size; max_line_size applies to the parsed message. */
    size_t limit = o->cfg->max_line_size > 0 ? (size_t)o->cfg->max_line_size : 0;
    size_t cap = limit ? limit * 8 + 4096 : TAIL_DEFAULT_LINE_CAP;
    if (cap > TAIL_MAX_LINE_CAP) {
        cap = TAIL_MAX_LINE_CAP;
    }
    t->rbuf_size = cap > TAIL_CHUNK ? cap : TAIL_CHUNK;
    t->rbuf = malloc(t->rbuf_size);
    if (!t->rbuf) {
        goto fail;
    }
    if (tail_build_targets(o->cfg, &t->targets, &t->ntargets) != 0) {
        goto fail;
    }
    t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->wake_fd < 0) {
        frond_error("eventfd failed", "err", strerror(errno));
        goto fail;
    }
    t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->ifd < 0) {
        frond_warn("inotify unavailable; polling files every few seconds", "err", strerror(errno));
    }
    register_metrics(t, o->reg);
    return t;
fail:
    tail_free(t);
    return NULL;
}

int tail_start(struct tail *t)
{
    int rc = pthread_create(&t->thread, NULL, tail_main, t);
    if (rc) {
        return -rc;
    }
    t->started = true;
    return 0;
}

int tail_ready(void *p)
{
    struct tail *t = p;
    return atomic_load(&t->ready);
}

void tail_stop(struct tail *t)
{
    if (!t || !t->started) {
        return;
    }
    atomic_store(&t->stopping, 1);
    tail_wake(t);
    pthread_join(t->thread, NULL);
    t->started = false;
}

void tail_free(struct tail *t)
{
    if (!t) {
        return;
    }
    tail_stop(t);
    while (t->files) {
        tail_file_close(t, t->files);
    }
    tail_free_targets(t->targets, t->ntargets);
    for (size_t i = 0; i < t->nwdirs; i++) {
        free(t->wdirs[i]);
    }
    /* The path buckets point at the same nodes; nothing more to free. */
    free(t->wdirs);
    if (t->ifd >= 0) {
        close(t->ifd);
    }
    if (t->wake_fd >= 0) {
        close(t->wake_fd);
    }
    free(t->rbuf);
    free(t->out);
    pthread_mutex_destroy(&t->ack_lock);
    pthread_mutex_destroy(&t->reload_mu);
    pthread_cond_destroy(&t->reload_cv);
    free(t);
}
