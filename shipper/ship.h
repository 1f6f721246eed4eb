/*
 * The hand-off between frondtail's two halves: the input side (discovery,
 * tailing, parsing, labels, positions: tail*.c, parse.c, labels.c,
 * positions.c) and the output side (batching, protobuf, snappy, HTTP push,
 * verdicts, backoff: batch.c, push.c).
 *
 * The contract that makes "nothing lost" hold:
 *
 *   1. A reader hands each entry to every client queue with
 *      ship_queue_push(), in read order per source. The queue copies it.
 *   2. A queue sends batches one at a time, oldest first. When Loki
 *      acknowledges a batch (2xx), or the queue drops it on purpose (400,
 *      max_retries exhausted; counted by reason), it calls the ack callback
 *      once per source in that batch with the largest end_offset of that
 *      source in the batch. Acks for one source therefore arrive in
 *      increasing offset order.
 *   3. Only acked offsets are written to the positions file. With several
 *      clients the input side commits the minimum acked over clients.
 *
 * Backpressure: a queue holds at most `max_backlog_bytes` of entries
 * (counted as line + labels bytes). ship_queue_push() returns -EAGAIN when
 * the entry does not fit; the reader stops reading that source and tries
 * again later. Memory therefore does not grow with Loki's downtime.
 *
 * Threads: each queue runs its own sender thread. ship_queue_push() and
 * ship_queue_backlog() may be called from any thread; the ack callback runs
 * on the sender thread and must not call back into the queue.
 */
#ifndef FROND_SHIP_H
#define FROND_SHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"
#include "frond/registry.h"

/* One log entry on its way to Loki. Pointers are borrowed for the call. */
struct ship_entry {
    int64_t ts_ns;    /* the runtime's timestamp, Unix nanoseconds */
    const char *line; /* may contain invalid UTF-8; not NUL-terminated */
    size_t line_len;
    const char *labels; /* canonical Loki label string {a="b", c="d"} (sorted, escaped) */
    size_t labels_len;
    const char *tenant;  /* X-Scope-OrgID override from the pipeline, or NULL */
    uint64_t source_id;  /* the input-side source (file or journal) owning the position */
    uint64_t end_offset; /* position just after this entry in its source */
};

struct ship_header {
    char *name;
    char *value;
};

/* One `clients:` entry of the promtail config. Strings are owned by the config. */
struct ship_client_config {
    char *url;
    char *tenant_id;
    double batchwait;       /* seconds, default 1 */
    long batchsize;         /* bytes, default 1 MiB */
    double timeout;         /* seconds, default 10 */
    double backoff_min;     /* seconds, default 0.5 */
    double backoff_max;     /* seconds, default 300 */
    long max_retries;       /* 0 = retry forever (frondtail's default) */
    long max_backlog_bytes; /* default 64 MiB */
    char *basic_auth_user;
    char *basic_auth_password; /* already read from password_file if given */
    char *bearer_token;        /* already read from bearer_token_file if given */
    char *tls_ca_file;
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_server_name;
    bool tls_insecure_skip_verify;
    struct ship_header *headers;
    size_t nheaders;
    /*
     * The files the password and token were read from, or NULL: the sender
     * re-reads one when it changes (rotated projected service account
     * tokens), like promtail, keeping the last good value if a read fails.
     */
    char *basic_auth_password_file;
    char *bearer_token_file;
    /* external_labels are merged into every entry's labels by the input side. */
    char **external_label_names;
    char **external_label_values;
    size_t nexternal_labels;
};

/* Called when every entry of `source_id` up to `end_offset` is acknowledged or dropped. */
typedef void (*ship_ack_fn)(void *ctx, uint64_t source_id, uint64_t end_offset);

struct ship_queue;

/*
 * Start a queue and its sender thread for one client. `index` numbers the
 * client in metric labels (`host` label = URL host, like promtail). The
 * config must outlive the queue. NULL on failure (logged).
 */
struct ship_queue *ship_queue_new(const struct ship_client_config *cfg, unsigned index,
                                  struct frond_registry *reg, ship_ack_fn ack, void *ack_ctx);
/* Copy an entry into the queue. 0, -EAGAIN when the backlog bound is reached. */
FROND_MUST_CHECK int ship_queue_push(struct ship_queue *q, const struct ship_entry *e);
/* Bytes currently buffered (pending + in flight). */
size_t ship_queue_backlog(const struct ship_queue *q);
/*
 * Flush what is buffered, trying until the monotonic `deadline`, then stop
 * the thread and free the queue. Unsent entries are not acked (their
 * positions stay behind, so the next start re-reads them). Accepts NULL.
 */
void ship_queue_stop(struct ship_queue *q, double deadline);

#endif
