/*
 * Management-API collector (see collect.h): the scrape sequence, which
 * reads every endpoint (queue pages per vhost on a few connections at
 * once) into record stores (store.c) and, once an endpoint is complete,
 * has emit.c turn its records into samples.
 */
#include "collect.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/log.h"

/* Hard cap so a broken or hostile server cannot make a scrape unbounded. */
#define RMQ_MAX_PAGES 100000

const char *rmq_endpoint_name(enum rmq_endpoint e)
{
    static const char *const names[RMQ_EP_COUNT] = {"overview", "nodes",     "vhosts",
                                                    "queues",   "consumers", "amqp"};
    return e < RMQ_EP_COUNT ? names[e] : "unknown";
}

/* ---- the scrape ---- */

/* Columns asked for: only what the tables above export. */
#define QUEUE_COLUMNS                                                                              \
    "name,vhost,type,durable,policy,node,leader,state,messages,messages_ready,"                    \
    "messages_unacknowledged,consumers,consumer_utilisation,consumer_capacity,message_bytes,"      \
    "head_message_timestamp,message_stats.publish,message_stats.deliver_get,"                      \
    "message_stats.ack,message_stats.redeliver"
/*
 * Without statistics (disable_stats=true&enable_queue_totals=true) RabbitMQ
 * 3.10 answers only these of the exported fields; asking for the others
 * would cost nothing but they never come.
 */
#define QUEUE_COLUMNS_NO_STATS                                                                     \
    "name,vhost,type,durable,node,leader,state,messages,messages_ready,messages_unacknowledged"
#define CONSUMERS_PATH "/api/consumers?columns=queue.name,queue.vhost"
#define NODE_COLUMNS                                                                               \
    "name,running,uptime,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,"                  \
    "disk_free_alarm,fd_used,fd_total,sockets_used,sockets_total,proc_used,proc_total,partitions"
#define OVERVIEW_COLUMNS "cluster_name,rabbitmq_version,erlang_version,object_totals,queue_totals"

/* What the queue workers of one scrape share; guarded by `lock`. */
struct scrape_shared {
    pthread_mutex_t lock;
    bool failed;
    bool fatal; /* stop the scrape: the next request would fail the same way */
};

struct scrape {
    struct rmq_collector *c;
    struct rmq_mgmt *m;
    double deadline;
    struct rmq_mgmt_result res;
    struct scrape_shared *sh;
    bool stats; /* list queues with statistics (rmq_scrape_wants_stats) */
};

/* Record a failed endpoint; log only the first failure of a scrape. */
static void fail(struct scrape *sc, enum rmq_endpoint ep)
{
    if (sc->c->error_series[ep]) {
        frond_series_inc(sc->c->error_series[ep]);
    }
    enum rmq_mgmt_err e = sc->res.err;
    pthread_mutex_lock(&sc->sh->lock);
    if (!sc->sh->failed) {
        char url[512];
        frond_redact_uri(sc->c->mgmt.url, url, sizeof(url));
        frond_error("RabbitMQ management API scrape failed", "endpoint", rmq_endpoint_name(ep),
                    "url", url, "reason", rmq_mgmt_err_name(e), "err", sc->res.msg);
    }
    sc->sh->failed = true;
    if (e == RMQ_MGMT_CONNECT || e == RMQ_MGMT_TIMEOUT || e == RMQ_MGMT_AUTH ||
        e == RMQ_MGMT_NOT_FOUND || e == RMQ_MGMT_INTERNAL) {
        sc->sh->fatal = true;
    }
    pthread_mutex_unlock(&sc->sh->lock);
}

static bool stop_requested(struct scrape *sc)
{
    pthread_mutex_lock(&sc->sh->lock);
    bool stop = sc->sh->fatal;
    pthread_mutex_unlock(&sc->sh->lock);
    return stop;
}

static int fetch(struct scrape *sc, enum rmq_endpoint ep, const char *path,
                 enum rmq_reply_kind kind, rmq_record_fn fn, void *ctx, struct rmq_page_info *pg)
{
    struct rmq_json *p = rmq_json_new(kind, fn, ctx);
    if (!p) {
        sc->res.err = RMQ_MGMT_INTERNAL;
        snprintf(sc->res.msg, sizeof(sc->res.msg), "out of memory");
        fail(sc, ep);
        return -ENOMEM;
    }
    int rc = rmq_mgmt_get(sc->m, path, p, &sc->res);
    if (pg) {
        *pg = *rmq_json_page(p);
    }
    rmq_json_free(p);
    if (rc) {
        fail(sc, ep);
    }
    return rc;
}

static int overview_one(const struct rmq_record *r, void *ctx)
{
    *(struct rmq_record *)ctx = *r;
    return 0;
}

static int vhost_add(const struct rmq_record *r, void *ctx)
{
    struct frond_buf *names = ctx;
    /* Names are stored NUL-separated; the vhost filters apply here, before any queue request. */
    return frond_buf_append(names, r->str[RMQ_V_NAME], r->len[RMQ_V_NAME] + 1);
}

/* Fetch every page of a queue listing (base = "/api/queues" or "/api/queues/<vhost>"). */
static int fetch_queue_pages(struct scrape *sc, const char *base, const char *name_re,
                             struct rmq_store *st)
{
    struct frond_buf path;
    int rc = 0;
    bool stats = sc->stats;
    /*
     * RabbitMQ applies name+use_regex only to paginated listings, so a
     * pushed filter keeps pages even when --rabbit.page-size=0 asked for
     * one request per vhost.
     */
    long page_size = stats ? sc->c->page_size : sc->c->page_size_no_stats;
    if (page_size <= 0) {
        page_size = name_re ? 500 : 0;
    }
    /* Heap-built: an escaped vhost name and include regex may each be kilobytes. */
    frond_buf_init(&path, 1u << 20);
    for (long page = 1; page <= RMQ_MAX_PAGES; page++) {
        frond_buf_reset(&path);
        rc = frond_buf_printf(&path, "%s?%scolumns=%s", base,
                              stats ? "" : "disable_stats=true&enable_queue_totals=true&",
                              stats ? QUEUE_COLUMNS : QUEUE_COLUMNS_NO_STATS);
        if (!rc && page_size > 0) {
            rc = frond_buf_printf(&path, "&page=%ld&page_size=%ld", page, page_size);
        }
        if (!rc && name_re) {
            rc = frond_buf_printf(&path, "&name=%s&use_regex=true", name_re);
        }
        if (rc) {
            sc->res.err = RMQ_MGMT_INTERNAL;
            snprintf(sc->res.msg, sizeof(sc->res.msg), "cannot build the request path");
            fail(sc, RMQ_EP_QUEUES);
            break;
        }
        struct rmq_page_info pg;
        rc = fetch(sc, RMQ_EP_QUEUES, frond_buf_cstr(&path), RMQ_REPLY_QUEUES, rmq_store_add_queue,
                   st, &pg);
        if (rc) {
            break;
        }
        /* An unpaginated reply (no envelope) or the last page ends the listing. */
        if (page_size == 0 || pg.page_count < 0 || page >= pg.page_count) {
            break;
        }
    }
    frond_buf_cleanup(&path);
    return rc;
}

/*
 * The vhosts of one scrape, handed out to up to --rabbit.concurrency
 * workers. Each worker has its own curl session and record store; the
 * stores are merged when all are done. Concurrent requests let a broker
 * with several cores build several pages at once (its work, not ours, is
 * what a 10k-queue scrape waits for).
 */
struct queue_work {
    struct scrape *main;
    const char *name_re;
    char **bases; /* "/api/queues/<escaped vhost>" */
    size_t nbases;
    size_t next; /* guarded by main->sh->lock, like `stop` */
    bool stop;
};

struct queue_worker {
    struct queue_work *w;
    struct rmq_store *st;
    struct rmq_mgmt *m; /* borrowed (worker 0 uses the scrape's session) or owned */
    bool own_m;
    int rc;
    pthread_t thread;
    bool started;
};

static void *queue_worker_run(void *arg)
{
    struct queue_worker *me = arg;
    struct queue_work *w = me->w;
    struct scrape sc = {
        .c = w->main->c, .deadline = w->main->deadline, .sh = w->main->sh, .stats = w->main->stats};
    if (!me->m) {
        me->m = rmq_mgmt_open(&sc.c->mgmt, sc.deadline);
        me->own_m = true;
        if (!me->m) {
            sc.res.err = RMQ_MGMT_INTERNAL;
            snprintf(sc.res.msg, sizeof(sc.res.msg), "out of memory");
            fail(&sc, RMQ_EP_QUEUES);
            me->rc = -ENOMEM;
            return NULL;
        }
    }
    sc.m = me->m;
    for (;;) {
        pthread_mutex_lock(&sc.sh->lock);
        bool done = w->stop || sc.sh->fatal || w->next >= w->nbases;
        size_t i = w->next++;
        pthread_mutex_unlock(&sc.sh->lock);
        if (done) {
            break;
        }
        me->rc = fetch_queue_pages(&sc, w->bases[i], w->name_re, me->st);
        if (me->rc) {
            /* The queue list is all-or-nothing: the other workers can stop too. */
            pthread_mutex_lock(&sc.sh->lock);
            w->stop = true;
            pthread_mutex_unlock(&sc.sh->lock);
            break;
        }
    }
    return NULL;
}

static int collect_queues(struct scrape *sc, struct rmq_store *st)
{
    struct rmq_collector *c = sc->c;
    char *name_re = NULL;
    struct frond_buf vhosts;
    struct queue_work w = {.main = sc};
    struct queue_worker *workers = NULL;
    size_t nworkers = 0;
    int rc = 0;
    frond_buf_init(&vhosts, 64u << 20);

    if (c->push_queue_regex && c->include_queues.set && c->include_queues.server_ok) {
        /*
         * The server matches with PCRE, unanchored: anchor it like our own
         * match when the filter is anchored. Only expressions that read the
         * same in ERE and PCRE get here; our own match stays authoritative.
         */
        size_t n = strlen(c->include_queues.ere) + 5;
        char *anchored = malloc(n);
        if (!anchored) {
            rc = -ENOMEM;
            goto out;
        }
        snprintf(anchored, n, c->include_queues.anchored ? "^(%s)$" : "%s", c->include_queues.ere);
        name_re = rmq_mgmt_escape(anchored);
        free(anchored);
        if (!name_re) {
            rc = -ENOMEM;
            goto out;
        }
    }
    w.name_re = name_re;
    /*
     * List per vhost, always: RabbitMQ lists and sorts the whole collection
     * for every page it serves, so a page of /api/queues/<vhost> costs the
     * broker time in proportion to that vhost's queues, not the cluster's
     * (measured on 10 x 1,000 queues: 0.05 s against 0.2 s per page). The
     * same sort is why one unpaginated request per vhost is cheapest when
     * statistics are off (bench/README.md).
     */
    rc = fetch(sc, RMQ_EP_VHOSTS, "/api/vhosts?columns=name", RMQ_REPLY_VHOSTS, vhost_add, &vhosts,
               NULL);
    if (rc) {
        goto out;
    }
    size_t nv = 0;
    for (size_t off = 0; off < vhosts.len; off += strlen(vhosts.data + off) + 1) {
        nv++;
    }
    w.bases = calloc(nv ? nv : 1, sizeof(*w.bases));
    if (!w.bases) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t off = 0; off < vhosts.len; off += strlen(vhosts.data + off) + 1) {
        const char *vh = vhosts.data + off;
        if (!rmq_filter_keep(&c->include_vhost, &c->exclude_vhost, vh)) {
            continue;
        }
        char *esc = rmq_mgmt_escape(vh);
        size_t n = esc ? strlen(esc) + sizeof("/api/queues/") : 0;
        char *base = esc ? malloc(n) : NULL;
        if (!base) {
            free(esc);
            rc = -ENOMEM;
            goto out;
        }
        snprintf(base, n, "/api/queues/%s", esc);
        free(esc);
        w.bases[w.nbases++] = base;
    }

    nworkers = (size_t)(c->concurrency > 1 ? c->concurrency : 1);
    if (nworkers > w.nbases) {
        nworkers = w.nbases ? w.nbases : 1;
    }
    workers = calloc(nworkers, sizeof(*workers));
    if (!workers) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nworkers; i++) {
        workers[i].w = &w;
        if (i == 0) {
            workers[i].st = st;
            workers[i].m = sc->m;
            continue;
        }
        workers[i].st = malloc(sizeof(struct rmq_store));
        if (!workers[i].st) {
            nworkers = i;
            break;
        }
        rmq_store_init(workers[i].st, c);
        /* A worker that cannot start leaves its share to the others. */
        workers[i].started =
            pthread_create(&workers[i].thread, NULL, queue_worker_run, &workers[i]) == 0;
    }
    queue_worker_run(&workers[0]);
    rc = workers[0].rc;
    for (size_t i = 1; i < nworkers; i++) {
        if (workers[i].started) {
            pthread_join(workers[i].thread, NULL);
        }
        if (!rc) {
            rc = workers[i].rc;
        }
        if (!rc) {
            rc = rmq_store_merge(st, workers[i].st);
        }
        /* Give each worker's memory back as soon as it is merged: it counts in the peak. */
        rmq_store_cleanup(workers[i].st);
        free(workers[i].st);
        workers[i].st = NULL;
        if (workers[i].own_m) {
            rmq_mgmt_close(workers[i].m);
            workers[i].own_m = false;
        }
    }
out:
    for (size_t i = 1; i < nworkers; i++) {
        if (workers[i].own_m) {
            rmq_mgmt_close(workers[i].m);
        }
        if (workers[i].st) {
            rmq_store_cleanup(workers[i].st);
            free(workers[i].st);
        }
    }
    free(workers);
    for (size_t i = 0; i < w.nbases; i++) {
        free(w.bases[i]);
    }
    free(w.bases);
    free(name_re);
    frond_buf_cleanup(&vhosts);
    return rc;
}

bool rmq_scrape_wants_stats(const struct rmq_collector *c, long cluster_queues)
{
    if (!c->queue_stats || c->queue_stats_limit <= 0) {
        return c->queue_stats;
    }
    long expected = atomic_load(&c->have_listed) ? atomic_load(&c->listed_queues) : cluster_queues;
    return expected <= c->queue_stats_limit;
}

/* Decide this scrape's listing; log when it differs from the previous scrape's. */
static void choose_listing(struct scrape *sc, long total)
{
    struct rmq_collector *c = sc->c;
    sc->stats = rmq_scrape_wants_stats(c, total);
    int mode = sc->stats ? RMQ_LISTING_STATS : RMQ_LISTING_NO_STATS;
    int was = atomic_exchange(&c->last_listing, mode);
    if (was == mode || !c->queue_stats) {
        return;
    }
    char limit[24], expected[24];
    snprintf(limit, sizeof(limit), "%ld", c->queue_stats_limit);
    snprintf(expected, sizeof(expected), "%ld",
             atomic_load(&c->have_listed) ? atomic_load(&c->listed_queues) : total);
    if (!sc->stats) {
        frond_warn("listing queues without statistics (no message counters, bytes, consumer "
                   "utilisation or head message age) while there are more queues than "
                   "--rabbit.queue-stats-limit",
                   "queues", expected, "limit", limit);
    } else if (was != RMQ_LISTING_NONE) {
        frond_info("listing queues with statistics again", "queues", expected, "limit", limit);
    }
}

int rmq_collect(struct frond_scrape *s, void *ctx)
{
    struct rmq_collector *c = ctx;
    double start = frond_now_monotonic();
    double deadline = frond_scrape_deadline_within(s, start, c->timeout);
    struct scrape_shared sh = {.failed = false};
    pthread_mutex_init(&sh.lock, NULL);
    /* Statistics as configured unless the overview says otherwise (choose_listing). */
    struct scrape sc = {.c = c, .deadline = deadline, .sh = &sh, .stats = c->queue_stats};
    struct rmq_store st;
    struct rmq_nodes nodes = {0};
    struct rmq_record *ov = NULL;
    int rc = 0;
    rmq_store_init(&st, c);

    sc.m = rmq_mgmt_open(&c->mgmt, deadline);
    ov = malloc(sizeof(*ov));
    if (!sc.m || !ov) {
        sc.res.err = RMQ_MGMT_INTERNAL;
        snprintf(sc.res.msg, sizeof(sc.res.msg), "out of memory");
        fail(&sc, RMQ_EP_OVERVIEW);
        goto done;
    }
    ov->have_num = ov->have_str = 0;
    int ovrc = fetch(&sc, RMQ_EP_OVERVIEW, "/api/overview?columns=" OVERVIEW_COLUMNS,
                     RMQ_REPLY_OVERVIEW, overview_one, ov, NULL);
    choose_listing(&sc,
                   ovrc == 0 && rmq_has_num(ov, RMQ_O_QUEUES) ? (long)ov->num[RMQ_O_QUEUES] : -1);
    if (ovrc == 0) {
        rc = rmq_emit_overview(s, ov);
        if (rc) {
            goto done;
        }
    }
    if (stop_requested(&sc)) {
        goto done;
    }
    if (fetch(&sc, RMQ_EP_NODES, "/api/nodes?columns=" NODE_COLUMNS, RMQ_REPLY_NODES, rmq_nodes_add,
              &nodes, NULL) == 0) {
        rc = rmq_emit_nodes(s, &nodes);
        if (rc) {
            goto done;
        }
    }
    if (stop_requested(&sc)) {
        goto done;
    }
    if (collect_queues(&sc, &st) == 0) {
        rmq_store_finish(&st);
        atomic_store(&c->listed_queues, (long)st.nq);
        atomic_store(&c->have_listed, true);
        if (!sc.stats) {
            /*
             * Listings without statistics carry no consumer counts: count
             * /api/consumers instead (cheap: one small record per consumer).
             * If it fails the queues still export their depth, without
             * consumers, and rabbitmq_up says the scrape was incomplete.
             */
            rmq_store_zero_consumers(&st);
            if (!stop_requested(&sc) &&
                fetch(&sc, RMQ_EP_CONSUMERS, CONSUMERS_PATH, RMQ_REPLY_CONSUMERS,
                      rmq_store_add_consumer, &st, NULL) != 0) {
                for (size_t i = 0; i < st.nq; i++) {
                    st.q[i].have_num &= ~(1u << RMQ_Q_CONSUMERS);
                }
            }
        }
        rc = rmq_emit_queues(s, &st);
    }
done:
    rmq_mgmt_close(sc.m);
    free(ov);
    rmq_nodes_cleanup(&nodes);
    rmq_store_cleanup(&st);

    struct frond_family *up = frond_scrape_family(
        s, "rabbitmq_up", FROND_GAUGE,
        "1 when every management API endpoint of this scrape answered and parsed, 0 otherwise.");
    struct frond_family *dur =
        frond_scrape_family(s, "rabbitmq_exporter_scrape_duration_seconds", FROND_GAUGE,
                            "Time this scrape spent reading RabbitMQ.");
    struct frond_family *stats = frond_scrape_family(
        s, "rabbitmq_exporter_queue_stats_enabled", FROND_GAUGE,
        "1 when this scrape listed queues with their statistics (message counters, bytes, "
        "consumer utilisation, head message age), 0 when it used the statistics-free listing "
        "(--no-rabbit.queue-stats, or more queues than --rabbit.queue-stats-limit).");
    if (!up || !dur || !stats) {
        return -ENOMEM;
    }
    bool failed = sh.failed;
    pthread_mutex_destroy(&sh.lock);
    int rc2 = frond_scrape_sample0(s, up, failed || rc ? 0 : 1);
    if (!rc2) {
        rc2 = frond_scrape_sample0(s, dur, frond_now_monotonic() - start);
    }
    if (!rc2) {
        rc2 = frond_scrape_sample0(s, stats, sc.stats ? 1 : 0);
    }
    return rc ? rc : rc2;
}

int rmq_collector_register(struct rmq_collector *c, struct frond_registry *reg, bool amqp_mode)
{
    static const char *const labels[] = {"endpoint", NULL};
    c->errors = frond_registry_counter(reg, "rabbitmq_exporter_scrape_errors_total",
                                       "Failed reads of a RabbitMQ endpoint, by endpoint.", labels);
    if (!c->errors) {
        return -ENOMEM;
    }
    for (int e = 0; e < RMQ_EP_COUNT; e++) {
        /* /api/consumers is read by scrapes without statistics: configured, or over the limit. */
        bool no_stats_possible = !c->queue_stats || c->queue_stats_limit > 0;
        bool used = amqp_mode ? e == RMQ_EP_AMQP
                              : e != RMQ_EP_AMQP && (e != RMQ_EP_CONSUMERS || no_stats_possible);
        if (!used) {
            continue;
        }
        const char *v[] = {rmq_endpoint_name((enum rmq_endpoint)e)};
        c->error_series[e] = frond_metric_series(c->errors, v);
        if (!c->error_series[e]) {
            return -ENOMEM;
        }
    }
    if (amqp_mode) {
        return 0;
    }
    return frond_registry_add_collector(reg, rmq_collect, c);
}
