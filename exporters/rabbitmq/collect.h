/*
 * The management-API collector: at every scrape it reads /api/overview,
 * /api/nodes and every page of /api/queues (per vhost when vhost filters
 * are set, after /api/vhosts), and turns them into fresh samples.
 *
 * Each endpoint is all-or-nothing: records are kept aside while its pages
 * arrive and only become samples once the whole endpoint was read, so a
 * scrape that fails halfway exports no partial queue list (a queue missing
 * from a partial list would look deleted). `rabbitmq_up` is 1 only when
 * every endpoint succeeded; a connection, timeout, authentication or 404
 * failure stops the scrape early (the other endpoints would fail the same
 * way) and is logged once per scrape, without the password.
 *
 * The mapping from records to samples (rmq_emit_*) is separate from the
 * HTTP side so unit tests and the fuzz target can drive it with recorded
 * replies.
 *
 * Ownership: struct rmq_collector and its filters are owned by main and
 * must outlive the registry. Thread-safety: rmq_collect may run in several
 * scrapes at once; it only reads the collector, and every scrape has its
 * own curl handle and record store.
 */
#ifndef RMQ_COLLECT_H
#define RMQ_COLLECT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/buf.h"
#include "frond/common.h"
#include "frond/registry.h"
#include "json.h"
#include "mgmt.h"

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

enum rmq_endpoint {
    RMQ_EP_OVERVIEW = 0,
    RMQ_EP_NODES,
    RMQ_EP_VHOSTS,
    RMQ_EP_QUEUES,
    RMQ_EP_AMQP,
    RMQ_EP_COUNT,
};

const char *rmq_endpoint_name(enum rmq_endpoint e);

struct rmq_collector {
    struct rmq_mgmt_opts mgmt;
    double timeout; /* seconds; caps every scrape */
    long page_size;
    long concurrency; /* vhosts read at once, each on its own connection */
    struct rmq_filter include_vhost, exclude_vhost, include_queues, exclude_queues;
    bool push_queue_regex;       /* send include_queues to the server as name+use_regex */
    struct frond_metric *errors; /* rabbitmq_exporter_scrape_errors_total */
    struct frond_series *error_series[RMQ_EP_COUNT];
};

/*
 * Register the direct metrics (scrape errors per endpoint) and the
 * collector. The collector struct must already hold options and filters.
 */
FROND_MUST_CHECK int rmq_collector_register(struct rmq_collector *c, struct frond_registry *reg,
                                            bool amqp_mode);
/* The registry collector callback (frond_collect_fn). */
int rmq_collect(struct frond_scrape *s, void *ctx);

/* ---- record store and mapping, public for tests and fuzzing ---- */

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

/* Emit the samples of each endpoint. 0 or -ENOMEM/-EINVAL from the registry. */
FROND_MUST_CHECK int rmq_emit_queues(struct frond_scrape *s, const struct rmq_store *st);
FROND_MUST_CHECK int rmq_emit_nodes(struct frond_scrape *s, const struct rmq_nodes *ns);
FROND_MUST_CHECK int rmq_emit_overview(struct frond_scrape *s, const struct rmq_record *ov);

#endif
