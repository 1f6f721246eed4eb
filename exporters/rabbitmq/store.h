/*
 * The record store of one management-API scrape, and the vhost/queue name
 * filters it applies: queue records are filtered and copied as they are
 * parsed (strings into one arena capped at 512 MiB, at most 2,000,000
 * queues), merged from the per-vhost workers, then sorted by (vhost, name)
 * with duplicates dropped (a queue seen on two pages). Node records are
 * kept whole. Public for the collector, unit tests and the fuzz target.
 *
 * Ownership: a store owns its records and arena until rmq_store_cleanup();
 * it borrows the collector whose filters it applies. A store belongs to
 * one thread; filters are read-only once compiled (regexec is thread-safe).
 */
#ifndef RMQ_STORE_H
#define RMQ_STORE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/buf.h"
#include "frond/common.h"
#include "json.h"

struct rmq_collector;

/* A fully anchored POSIX extended regex, or none (matches everything). */
struct rmq_filter {
    bool set;
    char *src; /* the expression as given */
    regex_t re;
};

/* Compile `src` anchored as ^(src)$; NULL or "" leaves the filter unset. -EINVAL on a bad regex. */
FROND_MUST_CHECK int rmq_filter_init(struct rmq_filter *f, const char *src);
void rmq_filter_cleanup(struct rmq_filter *f);
/* Include/exclude pair: kept when the include is unset or matches, and the exclude does not. */
bool rmq_filter_keep(const struct rmq_filter *inc, const struct rmq_filter *exc, const char *s);

/* Compact copy of a queue record; strings live in the store's arena. */
struct rmq_qrec {
    double num[RMQ_Q_NUM_COUNT];
    uint32_t have_num;
    uint32_t have_str;
    uint32_t str[RMQ_Q_STR_COUNT]; /* offsets into arena */
};

struct rmq_store {
    struct rmq_qrec *q;
    size_t nq, capq, maxq;
    struct frond_buf arena;
    const struct rmq_collector *filters; /* may be NULL: keep everything */
    size_t filtered_out;
};

void rmq_store_init(struct rmq_store *st, const struct rmq_collector *filters);
void rmq_store_cleanup(struct rmq_store *st);
/* rmq_record_fn for queue replies: filter, then copy into the store. */
int rmq_store_add_queue(const struct rmq_record *r, void *ctx);
/* Append every record of `src` (another scrape worker's store). 0, -ENOMEM, -E2BIG. */
FROND_MUST_CHECK int rmq_store_merge(struct rmq_store *dst, const struct rmq_store *src);
/* Sort by (vhost, name) and drop duplicates (a queue seen on two pages). */
void rmq_store_finish(struct rmq_store *st);
const char *rmq_store_str(const struct rmq_store *st, const struct rmq_qrec *q, int slot);

/* Node records, kept whole (a cluster has a handful). */
struct rmq_nodes {
    struct rmq_record *n;
    size_t count, cap;
};
int rmq_nodes_add(const struct rmq_record *r, void *ctx);
void rmq_nodes_cleanup(struct rmq_nodes *ns);

#endif
