/*
 * Journal reader thread. Journal rates are far below file rates (a busy
 * node writes a few thousand entries a second), so each entry gets its own
 * label set and label string; what matters here is that a position is
 * never committed past an entry some output has not acknowledged, and
 * that a full queue makes the reader wait instead of dropping.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "frond/buf.h"
#include "frond/log.h"
#include "journal.h"
#include "relabel.h"

#define JOURNAL_CHECKPOINT_EVERY 100
#define JOURNAL_MAX_CHECKPOINTS 4096
#define JOURNAL_MAX_LINE (1024 * 1024)

struct checkpoint {
    uint64_t seq;
    char *cursor;
};

struct journal_out {
    tail_push_fn push;
    void *ctx;
};

struct journal {
    const struct shipper_config *cfg;
    const struct scrape_config *sc;
    size_t noutputs;
    struct journal_out *out;
    uint64_t source_id;
    char *key;
    char *start_cursor;
    struct frond_series *s_entries;
    struct frond_series *s_no_message;   /* skipped: no MESSAGE field */
    struct frond_series *s_empty_labels; /* skipped: no label left after relabeling */
    struct frond_series *s_too_long;     /* skipped: json line over the limit */
    struct frond_series *s_truncated;    /* shipped, MESSAGE cut to the limit */

    sd_journal *jr;
    pthread_t thread;
    bool started;
    atomic_int stopping;

    uint64_t seq;          /* entries read (reader thread) */
    uint64_t checkpointed; /* seq of the newest checkpoint (reader thread) */

    pthread_mutex_t lock; /* protects everything below */
    uint64_t *acked;
    uint64_t pushed_end;
    struct checkpoint *cp;
    size_t ncp;
    char *committed;
};

struct journal *journal_new(const struct shipper_config *cfg, const struct scrape_config *sc,
                            size_t noutputs, uint64_t source_id, const char *cursor,
                            struct frond_metric *entries, struct frond_metric *skipped)
{
    struct journal *j = calloc(1, sizeof(*j));
    if (!j) {
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    j->cfg = cfg;
    j->sc = sc;
    j->noutputs = noutputs;
    j->source_id = source_id;
    j->out = calloc(noutputs, sizeof(*j->out));
    j->acked = calloc(noutputs, sizeof(uint64_t));
    j->cp = calloc(JOURNAL_MAX_CHECKPOINTS, sizeof(*j->cp));
    size_t klen = strlen(sc->job_name ? sc->job_name : "") + 16;
    j->key = malloc(klen);
    if (!j->out || !j->acked || !j->cp || !j->key) {
        journal_free(j);
        return NULL;
    }
    snprintf(j->key, klen, "journal-%s", sc->job_name ? sc->job_name : "");
    if (cursor) {
        j->start_cursor = strdup(cursor);
        j->committed = strdup(cursor);
        if (!j->start_cursor || !j->committed) {
            journal_free(j);
            return NULL;
        }
    }
    const char *job = sc->job_name ? sc->job_name : "";
    if (entries) {
        const char *v[] = {job, NULL};
        j->s_entries = frond_metric_series(entries, v);
    }
    if (skipped) {
        const char *v1[] = {job, "no_message", NULL}, *v2[] = {job, "empty_labels", NULL},
                   *v3[] = {job, "too_long", NULL}, *v4[] = {job, "truncated", NULL};
        j->s_no_message = frond_metric_series(skipped, v1);
        j->s_empty_labels = frond_metric_series(skipped, v2);
        j->s_too_long = frond_metric_series(skipped, v3);
        j->s_truncated = frond_metric_series(skipped, v4);
    }
    return j;
}

void journal_set_output(struct journal *j, size_t i, tail_push_fn push, void *ctx)
{
    if (i < j->noutputs) {
        j->out[i].push = push;
        j->out[i].ctx = ctx;
    }
}

uint64_t journal_source_id(const struct journal *j)
{
    return j->source_id;
}

const char *journal_position_key(const struct journal *j)
{
    return j->key;
}

/* Advance `committed` to the newest checkpoint every output has passed. Caller holds lock. */
static void advance(struct journal *j)
{
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < j->noutputs; i++) {
        min = j->acked[i] < min ? j->acked[i] : min;
    }
    /* Nothing in flight: entries dropped by relabeling count as done too. */
    bool idle = min >= j->pushed_end;
    size_t k = 0;
    while (k < j->ncp && (j->cp[k].seq <= min || idle)) {
        k++;
    }
    if (k == 0) {
        return;
    }
    free(j->committed);
    j->committed = j->cp[k - 1].cursor;
    for (size_t i = 0; i + 1 < k; i++) {
        free(j->cp[i].cursor);
    }
    memmove(j->cp, j->cp + k, (j->ncp - k) * sizeof(*j->cp));
    j->ncp -= k;
}

void journal_ack(struct journal *j, size_t i, uint64_t end_offset)
{
    pthread_mutex_lock(&j->lock);
    if (i < j->noutputs && end_offset > j->acked[i]) {
        j->acked[i] = end_offset;
        advance(j);
    }
    pthread_mutex_unlock(&j->lock);
}

char *journal_committed_cursor(struct journal *j)
{
    pthread_mutex_lock(&j->lock);
    advance(j);
    char *c = j->committed ? strdup(j->committed) : NULL;
    pthread_mutex_unlock(&j->lock);
    return c;
}

static void checkpoint(struct journal *j)
{
    if (j->seq == j->checkpointed) {
        return;
    }
    char *cursor = NULL;
    if (sd_journal_get_cursor(j->jr, &cursor) < 0 || !cursor) {
        return;
    }
    pthread_mutex_lock(&j->lock);
    if (j->ncp == JOURNAL_MAX_CHECKPOINTS) {
        /* Keep the oldest ones exact; the newest is replaced (positions lag a little). */
        free(j->cp[j->ncp - 1].cursor);
        j->ncp--;
    }
    j->cp[j->ncp].seq = j->seq;
    j->cp[j->ncp].cursor = cursor;
    j->ncp++;
    advance(j);
    pthread_mutex_unlock(&j->lock);
    j->checkpointed = j->seq;
}

static int json_escape(struct frond_buf *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            rc = frond_buf_putc(b, '\\');
            if (!rc) {
                rc = frond_buf_putc(b, (char)c);
            }
        } else if (c < 0x20) {
            rc = frond_buf_printf(b, "\\u%04x", c);
        } else {
            rc = frond_buf_putc(b, (char)c);
        }
    }
    return rc;
}

static void inc(struct frond_series *s)
{
    if (s) {
        frond_series_inc(s);
    }
}

/* Does the set hold a label that will be sent (not a __ one)? */
static bool has_visible_label(const struct labels_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strncmp(s->l[i].name, "__", 2) != 0) {
            return true;
        }
    }
    return false;
}

/*
 * promtail adds the syslog keyword of PRIORITY as __journal_priority_keyword
 * ("err", "warning", ...), which is what people relabel into a `level`
 * label; keep that name and those words so their relabel_configs carry over.
 */
static int add_priority_keyword(struct labels_set *s)
{
    static const char *const keywords[] = {"emerg",   "alert",  "crit", "err",
                                           "warning", "notice", "info", "debug"};
    const char *p = labels_get(s, "__journal_priority");
    if (!p || p[0] < '0' || p[0] > '7' || p[1] != '\0') {
        return 0;
    }
    return labels_set(s, "__journal_priority_keyword", keywords[p[0] - '0']);
}

/* Push to every output, waiting (not dropping) while a queue is full. */
static void push_wait(struct journal *j, const struct ship_entry *base, struct frond_buf *labels)
{
    for (size_t i = 0; i < j->noutputs; i++) {
        struct ship_entry e = *base;
        e.labels = labels[i].data;
        e.labels_len = labels[i].len;
        while (j->out[i].push && j->out[i].push(j->out[i].ctx, &e) == -EAGAIN &&
               !atomic_load(&j->stopping)) {
            struct timespec w = {0, 50 * 1000 * 1000};
            nanosleep(&w, NULL);
        }
    }
}

static void process_entry(struct journal *j, struct frond_buf *line, struct frond_buf *labels)
{
    const void *data;
    size_t len;
    uint64_t usec = 0;
    struct labels_set s;
    labels_init(&s);
    frond_buf_reset(line);
    j->seq++;
    (void)sd_journal_get_realtime_usec(j->jr, &usec);
    int rc = labels_merge(&s, &j->sc->journal->labels);
    bool have_message = false;
    if (!rc && j->sc->journal->json) {
        rc = frond_buf_putc(line, '{');
    }
    bool first = true;
    SD_JOURNAL_FOREACH_DATA(j->jr, data, len)
    {
        const char *d = data, *eq = memchr(d, '=', len);
        if (rc || !eq) {
            continue;
        }
        size_t klen = (size_t)(eq - d), vlen = len - klen - 1;
        char name[128];
        if (klen == 0 || klen + 10 >= sizeof(name)) {
            continue;
        }
        memcpy(name, "__journal_", 10);
        for (size_t i = 0; i < klen; i++) {
            name[10 + i] = (char)tolower((unsigned char)d[i]);
        }
        name[10 + klen] = '\0';
        rc = labels_setn(&s, name, eq + 1, vlen);
        if (!rc && j->sc->journal->json) {
            rc = frond_buf_puts(line, first ? "\"" : ",\"");
            first = false;
            if (!rc) {
                rc = json_escape(line, d, klen);
            }
            if (!rc) {
                rc = frond_buf_puts(line, "\":\"");
            }
            if (!rc) {
                rc = json_escape(line, eq + 1, vlen);
            }
            if (!rc) {
                rc = frond_buf_putc(line, '"');
            }
        } else if (!rc && klen == 7 && memcmp(d, "MESSAGE", 7) == 0) {
            /* Like max_line_size_truncate for files: ship what fits, count the cut. */
            size_t room = line->max - line->len;
            rc = frond_buf_append(line, eq + 1, vlen < room ? vlen : room);
            if (!rc && vlen > room) {
                inc(j->s_truncated);
            }
            have_message = true;
        }
    }
    if (!rc) {
        rc = add_priority_keyword(&s);
    }
    if (!rc && j->sc->journal->json) {
        rc = frond_buf_putc(line, '}');
        have_message = true;
    }
    if (rc || !have_message) {
        /* A JSON line too big for the bound, or no MESSAGE (promtail skips those too). */
        inc(rc ? j->s_too_long : j->s_no_message);
        labels_cleanup(&s);
        return;
    }
    int keep = j->sc->nrelabel ? relabel_apply(j->sc->relabel, j->sc->nrelabel, &s) : 1;
    if (keep == 1 && !has_visible_label(&s)) {
        /* promtail drops an entry whose relabeled label set is empty: Loki would refuse it. */
        inc(j->s_empty_labels);
        keep = 0;
    }
    for (size_t i = 0; keep == 1 && i < j->noutputs; i++) {
        const struct ship_client_config *cc = i < j->cfg->nclients ? &j->cfg->clients[i] : NULL;
        for (size_t k = 0; cc && k < cc->nexternal_labels; k++) {
            if (!labels_get(&s, cc->external_label_names[k]) &&
                labels_set(&s, cc->external_label_names[k], cc->external_label_values[k])) {
                keep = -ENOMEM;
            }
        }
        frond_buf_reset(&labels[i]);
        if (keep == 1 && labels_render(&s, &labels[i]) != 0) {
            keep = -ENOMEM;
        }
    }
    labels_cleanup(&s);
    if (keep != 1) {
        return;
    }
    struct ship_entry e = {
        .ts_ns = (int64_t)usec * 1000,
        .line = line->data,
        .line_len = line->len,
        .source_id = j->source_id,
        .end_offset = j->seq,
    };
    push_wait(j, &e, labels);
    pthread_mutex_lock(&j->lock);
    j->pushed_end = j->seq;
    pthread_mutex_unlock(&j->lock);
    if (j->s_entries) {
        frond_series_inc(j->s_entries);
    }
}

static void *journal_main(void *arg)
{
    struct journal *j = arg;
    struct frond_buf line;
    struct frond_buf *labels = calloc(j->noutputs, sizeof(*labels));
    /* limits_config.max_line_size bounds journal lines too (MESSAGE is cut to it, counted). */
    size_t max_line = JOURNAL_MAX_LINE;
    if (j->cfg->max_line_size > 0 && (size_t)j->cfg->max_line_size < max_line) {
        max_line = (size_t)j->cfg->max_line_size;
    }
    frond_buf_init(&line, max_line);
    for (size_t i = 0; labels && i < j->noutputs; i++) {
        frond_buf_init(&labels[i], 64 * 1024);
    }
    while (labels && !atomic_load(&j->stopping)) {
        int r = sd_journal_next(j->jr);
        if (r < 0) {
            frond_error("reading the journal failed", "job", j->sc->job_name, "err", strerror(-r));
            struct timespec w = {1, 0};
            nanosleep(&w, NULL);
            continue;
        }
        if (r == 0) {
            checkpoint(j);
            (void)sd_journal_wait(j->jr, 250 * 1000);
            continue;
        }
        process_entry(j, &line, labels);
        if (j->seq - j->checkpointed >= JOURNAL_CHECKPOINT_EVERY) {
            checkpoint(j);
        }
    }
    checkpoint(j);
    for (size_t i = 0; labels && i < j->noutputs; i++) {
        frond_buf_cleanup(&labels[i]);
    }
    free(labels);
    frond_buf_cleanup(&line);
    return NULL;
}

static int add_matches(sd_journal *jr, const char *matches)
{
    char *copy = strdup(matches);
    if (!copy) {
        return -ENOMEM;
    }
    int rc = 0;
    char *save = NULL;
    for (char *m = strtok_r(copy, " ", &save); !rc && m; m = strtok_r(NULL, " ", &save)) {
        rc = strcmp(m, "+") == 0 ? sd_journal_add_disjunction(jr) : sd_journal_add_match(jr, m, 0);
    }
    free(copy);
    return rc < 0 ? rc : 0;
}

int journal_start(struct journal *j)
{
    const struct journal_config *jc = j->sc->journal;
    int rc = jc->path ? sd_journal_open_directory(&j->jr, jc->path, 0)
                      : sd_journal_open(&j->jr, SD_JOURNAL_LOCAL_ONLY);
    if (rc < 0) {
        frond_error("cannot open the journal", "job", j->sc->job_name, "path",
                    jc->path ? jc->path : "(system)", "err", strerror(-rc));
        return rc;
    }
    if (jc->matches && (rc = add_matches(j->jr, jc->matches)) < 0) {
        frond_error("invalid journal matches", "job", j->sc->job_name, "matches", jc->matches,
                    "err", strerror(-rc));
        return rc;
    }
    bool resumed = false;
    if (j->start_cursor && sd_journal_seek_cursor(j->jr, j->start_cursor) >= 0) {
        /*
         * The saved cursor names the last entry shipped: the main loop's
         * next() steps past it. sd-journal seeks to the nearest entry when
         * the cursor's own entry is gone (the journal was vacuumed or
         * rotated away), which may be far older than anything the
         * operator wants re-shipped; promtail's rule for that case is to
         * start again at max_age, and so do we, loudly.
         */
        if (sd_journal_next(j->jr) > 0 && sd_journal_test_cursor(j->jr, j->start_cursor) > 0) {
            resumed = true;
        } else {
            frond_warn("saved journal cursor no longer exists (journal vacuumed?); "
                       "resuming at max_age",
                       "job", j->sc->job_name);
        }
    }
    if (!resumed) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t usec = (uint64_t)now.tv_sec * 1000000ULL + (uint64_t)now.tv_nsec / 1000;
        uint64_t age = (uint64_t)(jc->max_age * 1e6);
        rc = sd_journal_seek_realtime_usec(j->jr, usec > age ? usec - age : 0);
        if (rc < 0) {
            frond_warn("cannot seek the journal; reading from its start", "job", j->sc->job_name);
        }
    }
    rc = pthread_create(&j->thread, NULL, journal_main, j);
    if (rc) {
        return -rc;
    }
    j->started = true;
    frond_info("reading the journal", "job", j->sc->job_name, "path",
               jc->path ? jc->path : "(system)", "resumed", resumed ? "true" : "false");
    return 0;
}

void journal_stop(struct journal *j)
{
    if (!j || !j->started) {
        return;
    }
    atomic_store(&j->stopping, 1);
    pthread_join(j->thread, NULL);
    j->started = false;
}

void journal_free(struct journal *j)
{
    if (!j) {
        return;
    }
    journal_stop(j);
    if (j->jr) {
        sd_journal_close(j->jr);
    }
    for (size_t i = 0; j->cp && i < j->ncp; i++) {
        free(j->cp[i].cursor);
    }
    free(j->cp);
    free(j->committed);
    free(j->start_cursor);
    free(j->key);
    free(j->acked);
    free(j->out);
    pthread_mutex_destroy(&j->lock);
    free(j);
}
