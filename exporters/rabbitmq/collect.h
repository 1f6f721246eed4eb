/*
 * The management-API collector: at every scrape it reads /api/overview,
 * /api/nodes, /api/vhosts and then each vhost's /api/queues/<vhost>
 * (paginated, or one request per vhost with page_size 0), plus
 * /api/consumers when queues are listed without statistics, and turns
 * them into fresh samples. Whether a scrape lists statistics is decided
 * per scrape: queue_stats, unless the queue count is over
 * queue_stats_limit (see rmq_scrape_wants_stats).
 *
 * Each endpoint is all-or-nothing: records are kept aside while its pages
 * arrive and only become samples once the whole endpoint was read, so a
 * scrape that fails halfway exports no partial queue list (a queue missing
 * from a partial list would look deleted). `rabbitmq_up` is 1 only when
 * every endpoint succeeded; a connection, timeout, authentication or 404
 * failure stops the scrape early (the other endpoints would fail the same
 * way) and is logged once per scrape, without the password.
 *
 * The record store (store.h) and the mapping from records to samples
 * (emit.h) are separate from the HTTP side so unit tests and the fuzz
 * target can drive them with recorded replies; this header includes both.
 *
 * Ownership: struct rmq_collector and its filters are owned by main and
 * must outlive the registry. Thread-safety: rmq_collect may run in several
 * scrapes at once; it only reads the collector (but for its atomic
 * listing state), and every scrape has its own curl handle and record store.
 */
#ifndef RMQ_COLLECT_H
#define RMQ_COLLECT_H

#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/buf.h"
#include "frond/common.h"
#include "frond/registry.h"
#include "emit.h"
#include "json.h"
#include "mgmt.h"
#include "store.h"

enum rmq_endpoint {
    RMQ_EP_OVERVIEW = 0,
    RMQ_EP_NODES,
    RMQ_EP_VHOSTS,
    RMQ_EP_QUEUES,
    RMQ_EP_CONSUMERS, /* only in scrapes without queue statistics */
    RMQ_EP_AMQP,
    RMQ_EP_COUNT,
};

const char *rmq_endpoint_name(enum rmq_endpoint e);

enum rmq_listing { RMQ_LISTING_NONE = 0, RMQ_LISTING_STATS, RMQ_LISTING_NO_STATS };

struct rmq_collector {
    struct rmq_mgmt_opts mgmt;
    double timeout; /* seconds; caps every scrape */
    /* Queues per page, 1..500, or 0: one unpaginated request per vhost; by listing kind. */
    long page_size;          /* with statistics */
    long page_size_no_stats; /* without */
    long concurrency;        /* vhosts read at once, each on its own connection */
    /*
     * true: list queues with the management database's statistics (every
     * per-queue metric, message_stats counters included). false: list
     * them with disable_stats=true&enable_queue_totals=true (name, type,
     * durable, node, state, ready/unacked/total messages), and count
     * consumers from /api/consumers: about a third of the broker's CPU.
     */
    bool queue_stats;
    /*
     * With queue_stats, list without statistics in scrapes that expect
     * more queues than this (0: no limit). The statistics cost the broker
     * ~0.1 ms of CPU per queue and scrape (bench/README.md); like
     * mongodb_exporter's --collector.collstats-limit, a large cluster
     * degrades to the cheap listing instead of loading the broker.
     */
    long queue_stats_limit;
    /*
     * Queues exported by the last complete listing (valid once have_listed):
     * the expected size of the next one; and the listing kind of the last
     * scrape (enum rmq_listing), to log changes once. Zero-initialised
     * means "no scrape yet". Atomic: scrapes may run at once.
     */
    _Atomic long listed_queues;
    _Atomic bool have_listed;
    _Atomic int last_listing;
    struct rmq_filter include_vhost, exclude_vhost, include_queues, exclude_queues;
    bool push_queue_regex;       /* send include_queues to the server as name+use_regex */
    struct frond_metric *errors; /* rabbitmq_exporter_scrape_errors_total */
    struct frond_series *error_series[RMQ_EP_COUNT];
};

/*
 * Register the direct metrics (scrape errors per endpoint) and the
 * collector. The collector struct must already hold options and filters.
 * -ENOMEM or -EINVAL from the registry; what was registered before the
 * failure stays in the registry and is freed with it.
 */
FROND_MUST_CHECK int rmq_collector_register(struct rmq_collector *c, struct frond_registry *reg,
                                            bool amqp_mode);
/*
 * Whether a scrape lists queues with statistics: queue_stats, unless a
 * limit is set and the expected queue count is over it. The expected
 * count is what the last complete listing exported (after the filters),
 * or before any listing the cluster's total from /api/overview
 * (`cluster_queues`, -1 if unknown: statistics as configured).
 */
bool rmq_scrape_wants_stats(const struct rmq_collector *c, long cluster_queues);
/* The registry collector callback (frond_collect_fn). */
int rmq_collect(struct frond_scrape *s, void *ctx);

#endif
