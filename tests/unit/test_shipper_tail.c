/*
 * Unit tests for frondtail's tailer (shipper/tail.c, shipper/tail_file.c)
 * on real temporary files, driven step by step without the reader thread:
 * discovery, partial last lines, acks and committed positions, backpressure
 * pauses, rename rotation drained to EOF (also after deletion),
 * copytruncate, resuming from the positions file, and inode reuse caught by
 * the fingerprint.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tail.c"
#include "tail_discover.c"
#include "tail_file.c"

#define MAX_GOT 256

struct capture {
    char lines[MAX_GOT][128];
    char labels[MAX_GOT][512];
    uint64_t end[MAX_GOT];
    uint64_t source[MAX_GOT];
    int n;
    bool full; /* answer -EAGAIN like a queue at its backlog bound */
};

static int cap_push(void *ctx, const struct ship_entry *e)
{
    struct capture *c = ctx;
    if (c->full || c->n >= MAX_GOT) {
        return -EAGAIN;
    }
    snprintf(c->lines[c->n], sizeof(c->lines[0]), "%.*s", (int)e->line_len, e->line);
    snprintf(c->labels[c->n], sizeof(c->labels[0]), "%.*s", (int)e->labels_len, e->labels);
    c->end[c->n] = e->end_offset;
    c->source[c->n] = e->source_id;
    c->n++;
    return 0;
}

static char root[64];
static char pods[128];

static void path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", pods, rel);
}

static void append(const char *rel, const char *text)
{
    char p[256];
    path_of(p, sizeof(p), rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, text, strlen(text));
        (void)w;
        close(fd);
    }
}

struct fixture {
    struct shipper_config cfg;
    struct positions pos;
    struct capture cap;
    struct tail *t;
};

static void setup_cfg(struct shipper_config *cfg)
{
    CHECK_INT(config_defaults(cfg), 0);
    free(cfg->scrapes[0].targets[0].path);
    char pat[256];
    snprintf(pat, sizeof(pat), "%s/*/*/*.log", pods);
    cfg->scrapes[0].targets[0].path = strdup(pat);
    CHECK_INT(labels_set(&cfg->scrapes[0].targets[0].labels, "job", "pods"), 0);
    free(cfg->positions_file);
    char pf[256];
    snprintf(pf, sizeof(pf), "%s/positions.yaml", root);
    cfg->positions_file = strdup(pf);
}

static struct tail *start(struct fixture *fx)
{
    CHECK_INT(positions_load(&fx->pos, fx->cfg.positions_file, NULL), 0);
    struct tail_opts o = {
        .cfg = &fx->cfg, .reg = NULL, .pos = &fx->pos, .noutputs = 1, .rotate_wait = 0.001};
    fx->t = tail_new(&o);
    CHECK(fx->t != NULL);
    tail_set_output(fx->t, 0, cap_push, &fx->cap);
    tail_scan(fx->t, true);
    return fx->t;
}

static void stop(struct fixture *fx)
{
    tail_free(fx->t);
    fx->t = NULL;
    positions_cleanup(&fx->pos);
}

static void pump(struct tail *t)
{
    for (int i = 0; i < 10 && t->dirty_head; i++) {
        read_round(t);
    }
}

static void ack_all(struct fixture *fx)
{
    for (int i = 0; i < fx->cap.n; i++) {
        tail_ack(tail_ack_ctx(fx->t, 0), fx->cap.source[i], fx->cap.end[i]);
    }
}

#define L1 "2024-01-01T00:00:00Z stdout F one\n"
#define L2 "2024-01-01T00:00:01Z stderr F two\n"
#define L3 "2024-01-01T00:00:02Z stdout F three\n"

static void test_basic_and_positions(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    append("ns_pod_uid/app/0.log", L1 L2 "2024-01-01T00:00:02Z stdout F thr");
    struct tail *t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 2);
    CHECK_STR(fx.cap.lines[0], "one");
    CHECK_STR(fx.cap.lines[1], "two");
    char want[512];
    snprintf(want, sizeof(want),
             "{container=\"app\", filename=\"%s/ns_pod_uid/app/0.log\", job=\"pods\", "
             "namespace=\"ns\", pod=\"pod\", stream=\"stderr\"}",
             pods);
    CHECK_STR(fx.cap.labels[1], want);
    CHECK_INT(fx.cap.end[1], strlen(L1 L2));
    struct tail_file *f = t->files;
    /* Nothing acknowledged yet: the committed offset stays at the start. */
    CHECK_INT(tail_file_committed(t, f), 0);
    tail_ack(tail_ack_ctx(t, 0), fx.cap.source[0], fx.cap.end[0]);
    CHECK_INT(tail_file_committed(t, f), strlen(L1));
    /* An ack of an unknown source is ignored. */
    tail_ack(tail_ack_ctx(t, 0), 9999, 1);
    /* The half-written line ships once its newline arrives. */
    append("ns_pod_uid/app/0.log", "ee\n");
    tail_mark_dirty(t, f);
    pump(t);
    CHECK_INT(fx.cap.n, 3);
    CHECK_STR(fx.cap.lines[2], "three");
    ack_all(&fx);
    CHECK_INT(tail_file_committed(t, f), strlen(L1 L2 L3));
    CHECK_INT(tail_save_positions(t), 0);
    stop(&fx);

    /* A restart resumes after the acknowledged lines: no duplicates. */
    memset(&fx.cap, 0, sizeof(fx.cap));
    append("ns_pod_uid/app/0.log", "2024-01-01T00:00:03Z stdout F four\n");
    t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 1);
    CHECK_STR(fx.cap.lines[0], "four");
    stop(&fx);

    /* Same path, other content (inode reused or file replaced): fingerprint differs, read from 0.
     */
    char p[256];
    path_of(p, sizeof(p), "ns_pod_uid/app/0.log");
    unlink(p);
    append("ns_pod_uid/app/0.log", "2024-01-01T00:00:09Z stdout F new file, same length!!!\n");
    append("ns_pod_uid/app/0.log", L1 L1);
    memset(&fx.cap, 0, sizeof(fx.cap));
    t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 3);
    CHECK_STR(fx.cap.lines[0], "new file, same length!!!");
    stop(&fx);
    unlink(p);
    config_cleanup(&fx.cfg);
}

static void test_backpressure(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    append("ns_bp_uid/app/0.log", L1 L2 L3);
    struct tail *t = start(&fx);
    fx.cap.full = true;
    pump(t);
    CHECK_INT(fx.cap.n, 0);
    struct tail_file *f = t->files;
    CHECK(f->paused);
    CHECK_INT(atomic_load(&t->npaused), 1);
    /* Still full: a retry changes nothing. */
    retry_paused(t);
    pump(t);
    CHECK_INT(fx.cap.n, 0);
    fx.cap.full = false;
    retry_paused(t);
    pump(t);
    CHECK_INT(fx.cap.n, 3);
    CHECK_STR(fx.cap.lines[0], "one");
    CHECK_STR(fx.cap.lines[2], "three");
    CHECK(!f->paused);
    CHECK_INT(atomic_load(&t->npaused), 0);
    stop(&fx);
    char p[256];
    path_of(p, sizeof(p), "ns_bp_uid/app/0.log");
    unlink(p);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

static int find_line(const struct capture *c, const char *line)
{
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->lines[i], line) == 0) {
            return i;
        }
    }
    return -1;
}

/*
 * A crash while a renamed file is still unacknowledged: the restart
 * reopens it under its rotated name and ships what was not acknowledged,
 * with the labels of the path it was tailed under. `saved` says whether a
 * positions save happened after the rotation; without one, the old
 * identity under the old path leads to the file by its inode.
 */
static void test_rotation_crash(bool saved)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256], rotated[256];
    path_of(p, sizeof(p), "ns_crash_uid/app/0.log");
    path_of(rotated, sizeof(rotated), "ns_crash_uid/app/0.log.20240101-000000");
    append("ns_crash_uid/app/0.log", L1 L2);
    struct tail *t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 2);
    /* Only the first line is acknowledged before the rotation. */
    tail_ack(tail_ack_ctx(t, 0), fx.cap.source[0], fx.cap.end[0]);
    CHECK_INT(tail_save_positions(t), 0);
    CHECK(rename(p, rotated) == 0);
    append("ns_crash_uid/app/0.log", L3);
    tail_scan(t, false);
    pump(t);
    drain_rotated(t, frond_now_monotonic() + 10);
    CHECK_INT(t->nfiles, 2);
    if (saved) {
        CHECK_INT(tail_save_positions(t), 0);
        struct positions_entry *pe = positions_get(&fx.pos, rotated);
        CHECK(pe != NULL && pe->offset == strlen(L1) && pe->orig && strcmp(pe->orig, p) == 0);
    }
    /* kill -9: nothing more is saved. */
    stop(&fx);
    fx.cap.n = 0;

    t = start(&fx);
    resume_rotated(t);
    pump(t);
    CHECK_INT(t->nfiles, 2);
    int two = find_line(&fx.cap, "two");
    CHECK(two >= 0);
    CHECK(find_line(&fx.cap, "three") >= 0);
    /* The acknowledged first line is not sent again (its offset was saved either way). */
    CHECK(find_line(&fx.cap, "one") < 0);
    char want[300];
    snprintf(want, sizeof(want), "filename=\"%s\"", p);
    CHECK(two >= 0 && strstr(fx.cap.labels[two], want) != NULL);
    CHECK(two >= 0 && strstr(fx.cap.labels[two], "container=\"app\"") != NULL);
    CHECK(two >= 0 && strstr(fx.cap.labels[two], "stream=\"stderr\"") != NULL);
    CHECK_INT(tail_save_positions(t), 0);
    CHECK(positions_get(&fx.pos, rotated) != NULL);
    ack_all(&fx);
    drain_rotated(t, frond_now_monotonic() + 10);
    CHECK_INT(t->nfiles, 1);
    CHECK_INT(tail_save_positions(t), 0);
    CHECK(positions_get(&fx.pos, rotated) == NULL);
    stop(&fx);

    /* Gone for good: the next start neither resumes nor keeps it. */
    fx.cap.n = 0;
    t = start(&fx);
    resume_rotated(t);
    CHECK_INT(t->nfiles, 1);
    stop(&fx);
    unlink(p);
    unlink(rotated);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

/* A rotated file ending in CRI partials: they are shipped at close, not lost. */
static void test_rotation_partial_tail(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256], rotated[256];
    path_of(p, sizeof(p), "ns_crash_uid/app/1.log");
    path_of(rotated, sizeof(rotated), "ns_crash_uid/app/1.log.20240101-000000");
#define PARTIALS "2024-01-01T00:00:01Z stderr P half \n2024-01-01T00:00:02Z stderr P of it\n"
    append("ns_crash_uid/app/1.log", L1 PARTIALS);
    struct tail *t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 1);
    CHECK(rename(p, rotated) == 0);
    tail_scan(t, false);
    for (int i = 0; i < 3; i++) {
        pump(t);
        drain_rotated(t, frond_now_monotonic() + 10);
    }
    CHECK_INT(fx.cap.n, 2);
    CHECK_STR(fx.cap.lines[1], "half of it");
    CHECK(strstr(fx.cap.labels[1], "stream=\"stderr\"") != NULL);
    /* Its end is the end of the file: the whole file is committed once acknowledged. */
    CHECK_INT(fx.cap.end[1], strlen(L1 PARTIALS));
    ack_all(&fx);
    drain_rotated(t, frond_now_monotonic() + 10);
    CHECK_INT(t->nfiles, 0);
    stop(&fx);
    unlink(rotated);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

static void test_rotation(bool delete_old)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256], rotated[256];
    path_of(p, sizeof(p), "ns_rot_uid/app/0.log");
    path_of(rotated, sizeof(rotated), "ns_rot_uid/app/0.log.20240101-000000");
    append("ns_rot_uid/app/0.log", L1);
    struct tail *t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 1);
    /* The runtime still holds the old file open and writes a last line after the rename. */
    int wfd = open(p, O_WRONLY | O_APPEND);
    CHECK(rename(p, rotated) == 0);
    if (delete_old) {
        CHECK(unlink(rotated) == 0);
    }
    ssize_t w = write(wfd, L2, strlen(L2));
    CHECK_INT(w, strlen(L2));
    close(wfd);
    append("ns_rot_uid/app/0.log", L3);
    tail_scan(t, false);
    pump(t);
    drain_rotated(t, frond_now_monotonic() + 10);
    pump(t);
    CHECK_INT(fx.cap.n, 3);
    CHECK_STR(fx.cap.lines[1], "two");
    CHECK_STR(fx.cap.lines[2], "three");
    /*
     * Drained but not acknowledged: it stays open, recorded in the
     * positions file under its rotated name (unless it was deleted).
     */
    CHECK_INT(t->nfiles, 2);
    CHECK_INT(tail_save_positions(t), 0);
    struct positions_entry *pe = positions_get(&fx.pos, rotated);
    if (delete_old) {
        CHECK(pe == NULL);
    } else {
        CHECK(pe != NULL && pe->orig && strcmp(pe->orig, p) == 0 && pe->offset == 0);
    }
    /* Once acknowledged, the drained file is closed and forgotten; one file is left. */
    ack_all(&fx);
    drain_rotated(t, frond_now_monotonic() + 10);
    CHECK_INT(t->nfiles, 1);
    CHECK(positions_get(&fx.pos, rotated) == NULL);
    stop(&fx);
    unlink(p);
    unlink(rotated);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

static void test_copytruncate(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256];
    path_of(p, sizeof(p), "ns_ct_uid/app/0.log");
    append("ns_ct_uid/app/0.log", L1 L2 L3);
    struct tail *t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 3);
    uint64_t old_source = fx.cap.source[0];
    CHECK(truncate(p, 0) == 0);
    append("ns_ct_uid/app/0.log", L2);
    struct tail_file *f = t->files;
    tail_mark_dirty(t, f);
    pump(t);
    CHECK_INT(fx.cap.n, 4);
    CHECK_STR(fx.cap.lines[3], "two");
    /* New content, new source: late acks for the old content cannot move the position. */
    CHECK(fx.cap.source[3] != old_source);
    tail_ack(tail_ack_ctx(t, 0), old_source, 1000);
    CHECK_INT(tail_file_committed(t, f), 0);

    /* Truncated and regrown past the old offset before the next read: the first bytes tell. */
    CHECK(truncate(p, 0) == 0);
    append("ns_ct_uid/app/0.log", L1 L1 L1);
    tail_mark_dirty(t, f);
    pump(t);
    CHECK_INT(fx.cap.n, 7);
    CHECK_STR(fx.cap.lines[4], "one");
    fx.cap.n = 4;

    /* Truncated and regrown past the old offset between two looks: the first bytes tell. */
    CHECK(truncate(p, 0) == 0);
    append("ns_ct_uid/app/0.log", L3 L3 L3);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    tail_file_check(t, f, &st);
    pump(t);
    CHECK_INT(fx.cap.n, 7);
    CHECK_STR(fx.cap.lines[4], "three");
    stop(&fx);
    unlink(p);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

/*
 * A physical line longer than the read buffer (1 MiB with max_line_size 0)
 * ships its start counted as truncated, the rest is skipped and the next
 * line arrives intact. Held for a full queue, its 1 MiB copy is given back
 * once shipped.
 */
static void test_long_line(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256];
    path_of(p, sizeof(p), "ns_ll_uid/app/0.log");
    const char *pfx = "2024-01-01T00:00:00Z stdout F ";
    size_t plen = strlen(pfx), big = 3 * 1024 * 1024;
    char *line = malloc(plen + big + 2);
    CHECK(line != NULL);
    memcpy(line, pfx, plen);
    memset(line + plen, 'x', big);
    memcpy(line + plen + big, "\n", 2);
    append("ns_ll_uid/app/0.log", line);
    append("ns_ll_uid/app/0.log", L2);
    free(line);

    struct frond_registry *reg = frond_registry_new();
    CHECK(reg != NULL);
    CHECK_INT(positions_load(&fx.pos, fx.cfg.positions_file, NULL), 0);
    struct tail_opts o = {
        .cfg = &fx.cfg, .reg = reg, .pos = &fx.pos, .noutputs = 1, .rotate_wait = 0.001};
    fx.t = tail_new(&o);
    CHECK(fx.t != NULL);
    struct tail *t = fx.t;
    tail_set_output(t, 0, cap_push, &fx.cap);
    fx.cap.full = true;
    tail_scan(t, true);
    pump(t);
    struct tail_file *f = t->files;
    CHECK(f->pending);
    CHECK(f->pbuf_cap >= 1024 * 1024 - plen);
    fx.cap.full = false;
    retry_paused(t);
    pump(t);
    CHECK_INT(fx.cap.n, 2);
    CHECK(strncmp(fx.cap.lines[0], "xxxxxxxx", 8) == 0);
    CHECK_STR(fx.cap.lines[1], "two");
    CHECK(frond_series_value(t->s_long_trunc) == 1.0);
    CHECK(frond_series_value(t->s_long_drop) == 0.0);
    CHECK(f->pbuf_cap <= PARSE_KEEP_CAP);
    CHECK(f->ps.join[PARSE_STREAM_STDOUT].cap <= PARSE_KEEP_CAP);
    stop(&fx);
    frond_registry_free(reg);
    unlink(p);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

/*
 * A line read before a copytruncate and refused by a full queue was in the
 * file: it is shipped before the new content, and its old offsets do not
 * move the new content's position.
 */
static void test_truncate_while_pending(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256];
    path_of(p, sizeof(p), "ns_tp_uid/app/0.log");
    append("ns_tp_uid/app/0.log", L1);
    struct tail *t = start(&fx);
    fx.cap.full = true;
    pump(t);
    struct tail_file *f = t->files;
    CHECK(f->pending);
    CHECK(truncate(p, 0) == 0);
    append("ns_tp_uid/app/0.log", L2);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    tail_file_check(t, f, &st);
    fx.cap.full = false;
    retry_paused(t);
    pump(t);
    CHECK_INT(fx.cap.n, 2);
    CHECK_STR(fx.cap.lines[0], "one");
    CHECK_STR(fx.cap.lines[1], "two");
    CHECK(fx.cap.source[0] != fx.cap.source[1]);
    /* The old line's end (past the new content's size) never became a position. */
    ack_all(&fx);
    CHECK_INT(tail_file_committed(t, f), strlen(L2));
    stop(&fx);
    unlink(p);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

static void test_partials_hold_position(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    char p[256];
    path_of(p, sizeof(p), "ns_pp_uid/app/0.log");
    append("ns_pp_uid/app/0.log", "2024-01-01T00:00:00Z stdout P start-"
                                  "\n" L2);
    struct tail *t = start(&fx);
    pump(t);
    CHECK_INT(fx.cap.n, 1);
    CHECK_STR(fx.cap.lines[0], "two");
    /* The stderr line is after a pending stdout partial: its position may not pass the partial. */
    CHECK_INT(fx.cap.end[0], 0);
    ack_all(&fx);
    CHECK_INT(tail_file_committed(t, t->files), 0);
    append("ns_pp_uid/app/0.log", "2024-01-01T00:00:05Z stdout F end\n");
    tail_mark_dirty(t, t->files);
    pump(t);
    CHECK_INT(fx.cap.n, 2);
    CHECK_STR(fx.cap.lines[1], "start-end");
    ack_all(&fx);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    CHECK_INT(tail_file_committed(t, t->files), st.st_size);
    stop(&fx);
    unlink(p);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

static void test_start_at_end(void)
{
    struct fixture fx = {0};
    setup_cfg(&fx.cfg);
    fx.cfg.start_at_end = true;
    char p[256];
    path_of(p, sizeof(p), "ns_end_uid/app/0.log");
    append("ns_end_uid/app/0.log", L1 L2);
    struct tail *t = start(&fx);
    pump(t);
    /* History of a file found at the first start is skipped; what follows is read. */
    CHECK_INT(fx.cap.n, 0);
    append("ns_end_uid/app/0.log", L3);
    tail_mark_dirty(t, t->files);
    pump(t);
    CHECK_INT(fx.cap.n, 1);
    CHECK_STR(fx.cap.lines[0], "three");
    stop(&fx);
    unlink(p);
    unlink(fx.cfg.positions_file);
    config_cleanup(&fx.cfg);
}

static void test_labels_fn(void)
{
    struct shipper_config cfg;
    CHECK_INT(config_defaults(&cfg), 0);
    struct ship_client_config *cc = &cfg.clients[0];
    cc->external_label_names = calloc(1, sizeof(char *));
    cc->external_label_values = calloc(1, sizeof(char *));
    cc->external_label_names[0] = strdup("cluster");
    cc->external_label_values[0] = strdup("c1");
    cc->nexternal_labels = 1;
    struct labels_set st;
    labels_init(&st);
    CHECK_INT(labels_set(&st, "cluster", "override"), 0);
    CHECK_INT(labels_set(&st, "__path__", "/x"), 0);
    struct frond_buf b;
    frond_buf_init(&b, 4096);
    CHECK_INT(tail_file_labels(&cfg, cc, NULL, &st, "/l/ns_p_u/c/0.log", PARSE_STREAM_STDOUT, &b),
              0);
    CHECK_STR(frond_buf_cstr(&b), "{cluster=\"override\", container=\"c\", filename=\"/l/ns_p_u/c/"
                                  "0.log\", namespace=\"ns\", pod=\"p\", stream=\"stdout\"}");
    frond_buf_cleanup(&b);
    labels_cleanup(&st);
    config_cleanup(&cfg);
}

int main(void)
{
    snprintf(root, sizeof(root), "/tmp/frondtail-tail-XXXXXX");
    if (!mkdtemp(root)) {
        return 1;
    }
    snprintf(pods, sizeof(pods), "%s/pods", root);
    mkdir(pods, 0755);
    const char *dirs[] = {"ns_pod_uid",   "ns_pod_uid/app",   "ns_bp_uid",  "ns_bp_uid/app",
                          "ns_rot_uid",   "ns_rot_uid/app",   "ns_ct_uid",  "ns_ct_uid/app",
                          "ns_pp_uid",    "ns_pp_uid/app",    "ns_end_uid", "ns_end_uid/app",
                          "ns_crash_uid", "ns_crash_uid/app", "ns_ll_uid",  "ns_ll_uid/app",
                          "ns_tp_uid",    "ns_tp_uid/app"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(dirs); i++) {
        char p[256];
        path_of(p, sizeof(p), dirs[i]);
        mkdir(p, 0755);
    }
    test_basic_and_positions();
    test_backpressure();
    test_rotation(false);
    test_rotation(true);
    test_rotation_crash(true);
    test_rotation_crash(false);
    test_rotation_partial_tail();
    test_copytruncate();
    test_long_line();
    test_truncate_while_pending();
    test_partials_hold_position();
    test_start_at_end();
    test_labels_fn();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0) {
        fprintf(stderr, "cleanup failed\n");
    }
    return check_done("test_shipper_tail");
}
