/*
 * The tailer: frondtail's input side. One thread discovers files by the
 * scrape configs' globs, follows them (inotify on the watched directories,
 * a full rescan every target_config.sync_period, stat polling only where
 * inotify is unavailable), reads them in large chunks straight into the
 * parser, labels each entry and hands it to every output.
 *
 * Files are identified by (device, inode) plus a fingerprint of their
 * first bytes, never by path alone:
 *   - rename rotation (kubelet): the path now names another inode; the old
 *     descriptor is drained to EOF (even when the file was deleted) and
 *     closed after a grace period, while the new file is read from 0;
 *   - copytruncate: size < offset (or changed first bytes) -> read from 0,
 *     counted in frondtail_file_truncations_total;
 *   - inode reuse across restarts: caught by the fingerprint.
 *
 * Delivery: entries carry their source id and end offset; positions
 * advance only from tail_ack() (the minimum over outputs), so a crash
 * re-sends at most what was not acknowledged. An output answering -EAGAIN
 * (backlog full) pauses that file until an ack arrives.
 *
 * Ownership: struct tail borrows the config, registry and positions table;
 * they must outlive tail_free(). Thread-safety: tail_ack() may be called
 * from any thread (the sender threads); everything else from main.
 */
#ifndef FROND_SHIPPER_TAIL_H
#define FROND_SHIPPER_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "frond/common.h"
#include "frond/registry.h"
#include "positions.h"
#include "ship.h"

/* An output: ship_queue_push, or the dry-run printer. 0, or -EAGAIN to pause. */
typedef int (*tail_push_fn)(void *ctx, const struct ship_entry *e);

struct tail_opts {
    const struct shipper_config *cfg;
    struct frond_registry *reg;
    struct positions *pos; /* loaded table; never written when dry_run */
    bool dry_run;
    size_t noutputs;      /* one per client (dry-run: 1) */
    double rotate_wait;   /* seconds a rotated file stays open after EOF; default 5 */
    double poll_interval; /* stat polling where inotify is unavailable; default 2 */
};

struct tail;

/* NULL on failure (logged). Outputs must be set before tail_start(). */
struct tail *tail_new(const struct tail_opts *o);
void tail_set_output(struct tail *t, size_t i, tail_push_fn push, void *ctx);
/* The ack context for output `i` (pass it with tail_ack to ship_queue_new). */
void *tail_ack_ctx(struct tail *t, size_t i);
/* ship_ack_fn: entries of `source_id` up to `end_offset` were delivered by one output. */
void tail_ack(void *ack_ctx, uint64_t source_id, uint64_t end_offset);
/*
 * Route acks for a journal source to it and save its cursor with the
 * positions (at most TAIL_MAX_JOURNALS; the journal must outlive the tail).
 */
struct journal;
void tail_add_journal(struct tail *t, struct journal *j);
/* Start the reader thread. 0 or -errno. */
FROND_MUST_CHECK int tail_start(struct tail *t);
/* 1 once the first discovery scan finished (for /ready). */
int tail_ready(void *t);
/* Stop reading and join the thread. Safe to call twice. */
void tail_stop(struct tail *t);
/* Write committed offsets to the positions file now (after tail_stop, at shutdown). */
FROND_MUST_CHECK int tail_save_positions(struct tail *t);
void tail_free(struct tail *t);
/*
 * SIGHUP: switch to `cfg`'s file scrape_configs (globs, labels, relabel
 * rules, formats). Files opened from now on use them; files still matched
 * keep the labels they have; files no longer matched are drained and
 * closed like rotated ones. Everything else in `cfg` must equal the
 * running config (the caller checks). Blocks until the reader thread
 * applied it: 0, -EINVAL (a glob does not compile; nothing changed),
 * -ETIMEDOUT or -ESHUTDOWN. `cfg` must outlive the tail once accepted.
 */
FROND_MUST_CHECK int tail_reload(struct tail *t, const struct shipper_config *cfg);

/*
 * Build the label string of one file and stream: kubelet path labels, the
 * enricher's (tail_set_enricher, when set and `path` is given), the
 * target's static labels and `filename`, then the scrape config's
 * relabel_configs (`sc` may be NULL), then the client's external_labels
 * where not set, then `stream`. Exposed for the tests and --stdin.
 * -ENOENT when relabeling drops the target; -ENOMEM/-ENOSPC.
 */
/*
 * Optional label enrichment (Kubernetes metadata, k8s.h): called by
 * tail_file_labels with a file's path once its kubelet path labels are
 * set, before static labels (which win) and relabel_configs (which see
 * the added labels). Returns 1 when it added the file's metadata, 0 when
 * it has none yet (the file is labelled again once `gen` moves, at its
 * next read), or -errno. Set once from main before tail_start; `gen` may
 * be NULL. Both are called from the reader thread and must not block.
 */
typedef int (*tail_enrich_fn)(void *ctx, const char *path, struct labels_set *s);
typedef uint64_t (*tail_enrich_gen_fn)(void *ctx);
void tail_set_enricher(tail_enrich_fn fn, tail_enrich_gen_fn gen, void *ctx);

FROND_MUST_CHECK int tail_file_labels(const struct shipper_config *cfg,
                                      const struct ship_client_config *cc,
                                      const struct scrape_config *sc,
                                      const struct labels_set *statics, const char *path,
                                      enum parse_stream stream, struct frond_buf *out);

#endif
