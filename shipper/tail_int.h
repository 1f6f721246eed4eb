/*
 * Internals shared by tail.c (thread, discovery, tables) and tail_file.c
 * (one followed file). Not an API: only these two files and the unit tests
 * include it.
 *
 * Threading: everything here belongs to the reader thread, except the
 * id table (by_id) and each file's acked[] array, which tail_ack() reads
 * and writes on sender threads under ack_lock.
 */
#ifndef FROND_SHIPPER_TAIL_INT_H
#define FROND_SHIPPER_TAIL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "parse.h"
#include "positions.h"
#include "tail.h"
#include "tail_glob.h"

#define TAIL_BUCKETS 4096
#define TAIL_CHUNK (256 * 1024)
#define TAIL_DEFAULT_LINE_CAP (1024 * 1024)
#define TAIL_MAX_LINE_CAP (16 * 1024 * 1024)
#define TAIL_ROUND_CHUNKS 4
#define TAIL_MAX_OUTPUTS 32
#define TAIL_MAX_JOURNALS 16
#define TAIL_FP_MAX 1024
#define TAIL_RESCAN_DEBOUNCE 0.05
#define TAIL_PAUSE_RETRY 0.25

enum { TAIL_EOF = 0, TAIL_MORE = 1, TAIL_PAUSED = 2 };

struct tail_output {
    struct tail *t;
    size_t index;
    tail_push_fn push;
    void *ctx;
};

struct tail_target_rt {
    const struct scrape_config *sc;
    const struct tail_target *tg;
    struct glob_pattern glob;
    struct glob_pattern exclude;
    bool has_exclude;
};

/* A watched directory, findable by path (to skip re-adding) and by watch descriptor. */
struct tail_dir {
    struct tail_dir *next;
    int wd;
    char path[];
};

struct tail_file {
    struct tail_file *next, *prev; /* all files */
    struct tail_file *hnext_path, *hnext_ino, *hnext_id;
    struct tail_file *dnext; /* dirty list */
    char *path;
    const struct scrape_config *sc;
    const struct tail_target *tg;
    int fd;
    uint64_t dev, ino;
    uint64_t source_id;
    struct parse_state ps;
    uint64_t read_off;   /* next byte to read; a line start unless skipping */
    uint64_t safe_off;   /* everything before is pushed, dropped, or not needed */
    uint64_t pushed_end; /* end offset of the last entry every output took */
    uint64_t *acked;     /* per output, under ack_lock */
    uint64_t size;
    int64_t mtime_ns;      /* when last looked at by a scan */
    uint64_t flushed_seen; /* ps.flushed_partials already counted */
    unsigned long scan_gen;
    bool in_path, dirty, rotated, paused, skipping;
    double rotated_at;
    /*
     * A rotated file: where it lives now (the key of its positions entry,
     * NULL until found or once deleted), whether its unterminated last line
     * was shipped, and whether its deletion before the ack was reported.
     * `path` stays the path it was tailed under: its labels come from it.
     */
    char *cur_path;
    bool finished, lost_reported;
    /* Label strings per output and stream: labels[out * 3 + stream]. */
    char **labels;
    size_t *labels_len;
    /* Built while the enricher had no metadata for the file: rebuilt when its generation moves. */
    bool enrich_miss;
    uint64_t enrich_gen;
    /* An entry an output refused with -EAGAIN, retried before reading on. */
    bool pending;
    /*
     * The pending entry was read before the file was truncated: still
     * shipped (it was in the file), but its offsets belong to the old
     * content and must not move the new one's.
     */
    bool pending_stale;
    /* Out of memory was logged for this file; said once until it recovers. */
    bool oom_logged;
    uint32_t pending_mask;
    struct ship_entry pe;
    char *pbuf;
    size_t pbuf_cap;
    uint32_t fp_len;
    uint64_t fp;
    struct frond_series *s_bytes, *s_lines, *s_size, *s_pos;
};

struct tail {
    const struct shipper_config *cfg;
    struct positions *pos;
    bool dry_run;
    size_t noutputs;
    struct tail_output *out;
    double rotate_wait, poll_interval;

    struct tail_target_rt *targets;
    size_t ntargets;
    struct journal *journals[TAIL_MAX_JOURNALS];
    size_t njournals;

    struct tail_file *files;
    struct tail_file *by_path[TAIL_BUCKETS];
    struct tail_file *by_ino[TAIL_BUCKETS];
    struct tail_file *by_id[TAIL_BUCKETS];
    struct tail_file *dirty_head, *dirty_tail;
    uint64_t next_id;
    size_t nfiles;

    char *rbuf;
    size_t rbuf_size;

    int ifd, wake_fd;
    struct tail_dir **wdirs;             /* by watch descriptor */
    struct tail_dir *dirs[TAIL_BUCKETS]; /* by path */
    size_t nwdirs, nwatches;
    bool poll_mode;
    bool rescan;
    unsigned long scan_gen;
    double last_scan, next_scan, next_save, next_poll;

    /* SIGHUP: a config handed over by tail_reload(), applied by the reader thread. */
    pthread_mutex_t reload_mu;
    pthread_cond_t reload_cv;
    const struct shipper_config *reload_cfg;
    int reload_rc;
    bool reload_done;
    atomic_int reload_pending;

    pthread_t thread;
    bool started;
    atomic_int stopping;
    atomic_int ready;
    atomic_int npaused;
    pthread_mutex_t ack_lock;

    struct frond_metric *m_read_bytes, *m_read_lines, *m_size, *m_position;
    struct frond_series *s_files, *s_long_trunc, *s_long_drop, *s_malformed[3];
    struct frond_series *s_partial_flush, *s_rotations, *s_truncations, *s_pauses;
    struct frond_series *s_scans, *s_watches, *s_pos_saves, *s_pos_errors;
    struct frond_series *s_rot_resumed, *s_rot_unsaved;
    /* frondtail_lines_dropped_total{reason}: lines read but never shipped, on purpose. */
    struct frond_series *s_drop_oom;
};

static inline void tail_metric_inc(struct frond_series *s)
{
    if (s) {
        frond_series_inc(s);
    }
}

static inline void tail_metric_add(struct frond_series *s, double v)
{
    if (s) {
        frond_series_add(s, v);
    }
}

static inline void tail_metric_set(struct frond_series *s, double v)
{
    if (s) {
        frond_series_set(s, v);
    }
}

/* tail.c */
struct tail_file *tail_path_lookup(struct tail *t, const char *path);
void tail_path_insert(struct tail *t, struct tail_file *f);
void tail_path_remove(struct tail *t, struct tail_file *f);
struct tail_file *tail_ino_lookup(struct tail *t, uint64_t dev, uint64_t ino);
void tail_ino_insert(struct tail *t, struct tail_file *f);
void tail_ino_remove(struct tail *t, struct tail_file *f);
void tail_id_insert(struct tail *t, struct tail_file *f);
void tail_id_remove(struct tail *t, struct tail_file *f);
void tail_mark_dirty(struct tail *t, struct tail_file *f);
void tail_forget_dirty(struct tail *t, struct tail_file *f);
void tail_wake(struct tail *t);

/* Bucket of a path in the path and directory tables (tail.c). */
size_t tail_hash_str(const char *s);

/* tail_discover.c */
/* Walk every target's globs: open new files, rotate vanished ones, watch their directories. */
void tail_scan(struct tail *t, bool first);
/* Drain the inotify queue: mark written files dirty, ask for a rescan on directory changes. */
void tail_handle_events(struct tail *t);
/* The compiled globs of cfg's file targets. 0, -ENOMEM or -EINVAL (logged). */
FROND_MUST_CHECK int tail_build_targets(const struct shipper_config *cfg,
                                        struct tail_target_rt **out, size_t *nout);
void tail_free_targets(struct tail_target_rt *targets, size_t n);

/* tail_file.c */
struct tail_file *tail_file_open(struct tail *t, const struct scrape_config *sc,
                                 const struct tail_target *tg, const char *path, bool first_scan);
/* Read up to `chunks` buffers: TAIL_EOF, TAIL_MORE or TAIL_PAUSED. */
/* The enricher's generation (0 without one), and whether the last label build missed. */
uint64_t tail_enrich_generation(void);
bool tail_labels_enrich_missed(void);
int tail_file_read(struct tail *t, struct tail_file *f, int chunks);
/* Same (dev, inode) still at its path: look for truncation. */
void tail_file_check(struct tail *t, struct tail_file *f, const struct stat *st);
/* The path no longer names this file: drain it, close it after rotate_wait. */
void tail_file_rotate(struct tail *t, struct tail_file *f);
/* A followed file found under a new matching path. */
void tail_file_adopt(struct tail *t, struct tail_file *f, const char *path,
                     const struct scrape_config *sc, const struct tail_target *tg);
/*
 * Reopen a rotated file recorded in the positions table (pe->orig set) to
 * finish draining it after a restart. NULL when it is gone or is another
 * file now (identity mismatch), or no target matches its original path.
 */
struct tail_file *tail_file_resume(struct tail *t, const struct positions_entry *pe);
/*
 * Where a rotated file lives now: 1 and its path in buf, 0 when it was
 * deleted (or cannot be found), -errno on other errors.
 */
int tail_file_locate(struct tail *t, struct tail_file *f, char *buf, size_t size);
/* Look in the directory of `near` for a regular file with this (dev, inode): 1, 0, -errno. */
int tail_find_inode(const char *near, uint64_t dev, uint64_t ino, char *buf, size_t size);
/* Everything read from the file is acknowledged (or needs no ack). */
bool tail_file_drained(struct tail *t, struct tail_file *f);
/*
 * Ship a last line that never got its newline and CRI partials that never
 * got their full line (the writer is gone). 0 when done, 1 when an output
 * refused an entry (pending, retried by the next read) or new lines
 * appeared: call again later.
 */
int tail_file_finish(struct tail *t, struct tail_file *f);
void tail_file_close(struct tail *t, struct tail_file *f);
/* Offset safe to write to the positions file. */
uint64_t tail_file_committed(struct tail *t, struct tail_file *f);
/* Extend the fingerprint while the file is shorter than TAIL_FP_MAX. */
void tail_file_refresh_fp(struct tail *t, struct tail_file *f);

#endif
