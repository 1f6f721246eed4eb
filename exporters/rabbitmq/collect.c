/*
 * Management-API collector (see collect.h): the scrape sequence, the
 * per-scrape record store, and the tables that map API fields to metric
 * names. Metric names follow the rabbitmq_prometheus plugin where they mean
 * the same thing, so dashboards written for its per-object endpoint keep
 * working; README.md lists every metric with its source field.
 */
#include "collect.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/log.h"

/* Hard caps so a broken or hostile server cannot make a scrape unbounded. */
#define RMQ_MAX_QUEUES 2000000
#define RMQ_MAX_PAGES 100000
#define RMQ_ARENA_MAX ((size_t)512 << 20)

/* ---- filters ---- */

int rmq_filter_init(struct rmq_filter *f, const char *src)
{
    memset(f, 0, sizeof(*f));
    if (!src || !src[0]) {
        return 0;
    }
    size_t n = strlen(src) + 5;
    char *anchored = malloc(n);
    if (!anchored) {
        return -ENOMEM;
    }
    snprintf(anchored, n, "^(%s)$", src);
    int rc = regcomp(&f->re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        return -EINVAL;
    }
    f->src = strdup(src);
    if (!f->src) {
        regfree(&f->re);
        return -ENOMEM;
    }
    f->set = true;
    return 0;
}

void rmq_filter_cleanup(struct rmq_filter *f)
{
    if (f->set) {
        regfree(&f->re);
        free(f->src);
    }
    memset(f, 0, sizeof(*f));
}

bool rmq_filter_keep(const struct rmq_filter *inc, const struct rmq_filter *exc, const char *s)
{
    if (inc && inc->set && regexec(&inc->re, s, 0, NULL, 0) != 0) {
        return false;
    }
    if (exc && exc->set && regexec(&exc->re, s, 0, NULL, 0) == 0) {
        return false;
    }
    return true;
}

const char *rmq_endpoint_name(enum rmq_endpoint e)
{
    static const char *const names[RMQ_EP_COUNT] = {"overview", "nodes", "vhosts", "queues",
                                                    "amqp"};
    return e < RMQ_EP_COUNT ? names[e] : "unknown";
}

/* ---- record store ---- */

void rmq_store_init(struct rmq_store *st, const struct rmq_collector *filters)
{
    memset(st, 0, sizeof(*st));
    st->maxq = RMQ_MAX_QUEUES;
    st->filters = filters;
    frond_buf_init(&st->arena, RMQ_ARENA_MAX);
}

void rmq_store_cleanup(struct rmq_store *st)
{
    free(st->q);
    frond_buf_cleanup(&st->arena);
    memset(st, 0, sizeof(*st));
}

const char *rmq_store_str(const struct rmq_store *st, const struct rmq_qrec *q, int slot)
{
    if (!((q->have_str >> slot) & 1u)) {
        return NULL;
    }
    return st->arena.data + q->str[slot];
}

int rmq_store_add_queue(const struct rmq_record *r, void *ctx)
{
    struct rmq_store *st = ctx;
    const struct rmq_collector *c = st->filters;
    if (c && (!rmq_filter_keep(&c->include_vhost, &c->exclude_vhost, r->str[RMQ_Q_VHOST]) ||
              !rmq_filter_keep(&c->include_queues, &c->exclude_queues, r->str[RMQ_Q_NAME]))) {
        st->filtered_out++;
        return 0;
    }
    if (st->nq >= st->maxq) {
        return -E2BIG;
    }
    if (st->nq == st->capq) {
        size_t ncap = st->capq ? st->capq * 2 : 256;
        struct rmq_qrec *nq = realloc(st->q, ncap * sizeof(*nq));
        if (!nq) {
            return -ENOMEM;
        }
        st->q = nq;
        st->capq = ncap;
    }
    struct rmq_qrec *q = &st->q[st->nq];
    memcpy(q->num, r->num, sizeof(q->num));
    q->have_num = r->have_num;
    q->have_str = 0;
    for (int i = 0; i < RMQ_Q_STR_COUNT; i++) {
        if (!rmq_has_str(r, i)) {
            continue;
        }
        size_t off = st->arena.len;
        int rc = frond_buf_append(&st->arena, r->str[i], r->len[i] + 1);
        if (rc) {
            return rc;
        }
        q->str[i] = (uint32_t)off;
        q->have_str |= 1u << i;
    }
    st->nq++;
    return 0;
}

int rmq_store_merge(struct rmq_store *dst, const struct rmq_store *src)
{
    /* One exact-size growth instead of doubling: at 10k queues the slack is megabytes. */
    if (dst->nq + src->nq > dst->capq && dst->nq + src->nq <= dst->maxq) {
        struct rmq_qrec *nq = realloc(dst->q, (dst->nq + src->nq) * sizeof(*nq));
        if (!nq) {
            return -ENOMEM;
        }
        dst->q = nq;
        dst->capq = dst->nq + src->nq;
    }
    for (size_t i = 0; i < src->nq; i++) {
        if (dst->nq >= dst->maxq) {
            return -E2BIG;
        }
        if (dst->nq == dst->capq) {
            size_t ncap = dst->capq ? dst->capq * 2 : 256;
            struct rmq_qrec *nq = realloc(dst->q, ncap * sizeof(*nq));
            if (!nq) {
                return -ENOMEM;
            }
            dst->q = nq;
            dst->capq = ncap;
        }
        struct rmq_qrec *q = &dst->q[dst->nq];
        *q = src->q[i];
        for (int k = 0; k < RMQ_Q_STR_COUNT; k++) {
            if (!((q->have_str >> k) & 1u)) {
                continue;
            }
            const char *str = src->arena.data + src->q[i].str[k];
            size_t off = dst->arena.len;
            int rc = frond_buf_append(&dst->arena, str, strlen(str) + 1);
            if (rc) {
                return rc;
            }
            q->str[k] = (uint32_t)off;
        }
        dst->nq++;
    }
    dst->filtered_out += src->filtered_out;
    return 0;
}

static int cmp_queue(const void *a, const void *b, void *ctx)
{
    const struct rmq_store *st = ctx;
    const struct rmq_qrec *x = a, *y = b;
    int c = strcmp(st->arena.data + x->str[RMQ_Q_VHOST], st->arena.data + y->str[RMQ_Q_VHOST]);
    if (c) {
        return c;
    }
    return strcmp(st->arena.data + x->str[RMQ_Q_NAME], st->arena.data + y->str[RMQ_Q_NAME]);
}

void rmq_store_finish(struct rmq_store *st)
{
    if (st->nq < 2) {
        return;
    }
    qsort_r(st->q, st->nq, sizeof(*st->q), cmp_queue, st);
    size_t w = 1;
    for (size_t i = 1; i < st->nq; i++) {
        if (cmp_queue(&st->q[w - 1], &st->q[i], st) != 0) {
            st->q[w++] = st->q[i];
        }
    }
    st->nq = w;
}

int rmq_nodes_add(const struct rmq_record *r, void *ctx)
{
    struct rmq_nodes *ns = ctx;
    if (ns->count >= 1000) {
        return -E2BIG;
    }
    if (ns->count == ns->cap) {
        size_t ncap = ns->cap ? ns->cap * 2 : 4;
        struct rmq_record *n = realloc(ns->n, ncap * sizeof(*n));
        if (!n) {
            return -ENOMEM;
        }
        ns->n = n;
        ns->cap = ncap;
    }
    ns->n[ns->count++] = *r;
    return 0;
}

void rmq_nodes_cleanup(struct rmq_nodes *ns)
{
    free(ns->n);
    memset(ns, 0, sizeof(*ns));
}

/* ---- mapping tables ---- */

struct num_metric {
    const char *name;
    enum frond_metric_type type;
    int slot;
    int fallback; /* another slot to use when `slot` is absent, or -1 */
    double scale;
    const char *help;
};

static const struct num_metric queue_metrics[] = {
    {"rabbitmq_queue_messages_ready", FROND_GAUGE, RMQ_Q_MESSAGES_READY, -1, 1,
     "Messages ready to be delivered to consumers (management API: messages_ready)."},
    {"rabbitmq_queue_messages_unacked", FROND_GAUGE, RMQ_Q_MESSAGES_UNACKED, -1, 1,
     "Messages delivered to consumers but not yet acknowledged (messages_unacknowledged)."},
    {"rabbitmq_queue_messages", FROND_GAUGE, RMQ_Q_MESSAGES, -1, 1,
     "Ready plus unacknowledged messages, the queue depth (messages)."},
    {"rabbitmq_queue_consumers", FROND_GAUGE, RMQ_Q_CONSUMERS, -1, 1,
     "Consumers attached to the queue (consumers)."},
    {"rabbitmq_queue_consumer_utilisation", FROND_GAUGE, RMQ_Q_CONSUMER_UTILISATION,
     RMQ_Q_CONSUMER_CAPACITY, 1,
     "Fraction of time the queue could deliver to its consumers immediately, 0 to 1 "
     "(consumer_utilisation, else consumer_capacity)."},
    {"rabbitmq_queue_messages_bytes", FROND_GAUGE, RMQ_Q_MESSAGE_BYTES, -1, 1,
     "Size in bytes of the bodies of ready and unacknowledged messages (message_bytes)."},
    {"rabbitmq_queue_head_message_timestamp_seconds", FROND_GAUGE, RMQ_Q_HEAD_MESSAGE_TIMESTAMP, -1,
     1,
     "AMQP timestamp property of the oldest ready message, in Unix seconds; absent when the "
     "queue is empty or the message has no timestamp (head_message_timestamp)."},
    {"rabbitmq_queue_messages_published_total", FROND_COUNTER, RMQ_Q_PUBLISH, -1, 1,
     "Messages published into the queue since it was created or the node restarted "
     "(message_stats.publish)."},
    {"rabbitmq_queue_messages_delivered_total", FROND_COUNTER, RMQ_Q_DELIVER_GET, -1, 1,
     "Messages delivered to consumers or fetched with basic.get, acknowledged or not "
     "(message_stats.deliver_get)."},
    {"rabbitmq_queue_messages_acked_total", FROND_COUNTER, RMQ_Q_ACK, -1, 1,
     "Messages acknowledged by consumers (message_stats.ack)."},
    {"rabbitmq_queue_messages_redelivered_total", FROND_COUNTER, RMQ_Q_REDELIVER, -1, 1,
     "Messages delivered again after a consumer or channel went away (message_stats.redeliver)."},
};

static const struct num_metric node_metrics[] = {
    {"rabbitmq_node_running", FROND_GAUGE, RMQ_N_RUNNING, -1, 1,
     "1 when the node is running, 0 when it is a stopped member of the cluster (running)."},
    {"rabbitmq_node_uptime_seconds", FROND_GAUGE, RMQ_N_UPTIME_MS, -1, 0.001,
     "Time since the node's Erlang VM started (uptime)."},
    {"rabbitmq_node_memory_used_bytes", FROND_GAUGE, RMQ_N_MEM_USED, -1, 1,
     "Memory used by the node as RabbitMQ accounts it (mem_used)."},
    {"rabbitmq_node_memory_limit_bytes", FROND_GAUGE, RMQ_N_MEM_LIMIT, -1, 1,
     "Memory high watermark: publishers are blocked above it (mem_limit)."},
    {"rabbitmq_node_mem_alarm", FROND_GAUGE, RMQ_N_MEM_ALARM, -1, 1,
     "1 while the memory alarm is raised and publishers are blocked (mem_alarm)."},
    {"rabbitmq_node_disk_free_bytes", FROND_GAUGE, RMQ_N_DISK_FREE, -1, 1,
     "Free disk space on the node's data partition (disk_free)."},
    {"rabbitmq_node_disk_free_limit_bytes", FROND_GAUGE, RMQ_N_DISK_FREE_LIMIT, -1, 1,
     "Free disk space low watermark (disk_free_limit)."},
    {"rabbitmq_node_disk_free_alarm", FROND_GAUGE, RMQ_N_DISK_FREE_ALARM, -1, 1,
     "1 while the disk alarm is raised and publishers are blocked (disk_free_alarm)."},
    {"rabbitmq_node_fd_used", FROND_GAUGE, RMQ_N_FD_USED, -1, 1,
     "File descriptors open (fd_used)."},
    {"rabbitmq_node_fd_limit", FROND_GAUGE, RMQ_N_FD_TOTAL, -1, 1,
     "File descriptors available (fd_total)."},
    {"rabbitmq_node_sockets_used", FROND_GAUGE, RMQ_N_SOCKETS_USED, -1, 1,
     "Sockets open (sockets_used)."},
    {"rabbitmq_node_sockets_limit", FROND_GAUGE, RMQ_N_SOCKETS_TOTAL, -1, 1,
     "Sockets available (sockets_total)."},
    {"rabbitmq_node_erlang_processes_used", FROND_GAUGE, RMQ_N_PROC_USED, -1, 1,
     "Erlang processes running (proc_used)."},
    {"rabbitmq_node_erlang_processes_limit", FROND_GAUGE, RMQ_N_PROC_TOTAL, -1, 1,
     "Erlang process limit (proc_total)."},
    {"rabbitmq_node_partitions", FROND_GAUGE, RMQ_N_PARTITIONS, -1, 1,
     "Nodes this node sees on the other side of a network partition (length of partitions)."},
};

static const struct num_metric overview_metrics[] = {
    {"rabbitmq_cluster_connections", FROND_GAUGE, RMQ_O_CONNECTIONS, -1, 1,
     "Client connections in the cluster (object_totals.connections)."},
    {"rabbitmq_cluster_channels", FROND_GAUGE, RMQ_O_CHANNELS, -1, 1,
     "Channels in the cluster (object_totals.channels)."},
    {"rabbitmq_cluster_consumers", FROND_GAUGE, RMQ_O_CONSUMERS, -1, 1,
     "Consumers in the cluster (object_totals.consumers)."},
    {"rabbitmq_cluster_queues", FROND_GAUGE, RMQ_O_QUEUES, -1, 1,
     "Queues in the cluster, whatever the exporter's filters (object_totals.queues)."},
    {"rabbitmq_cluster_exchanges", FROND_GAUGE, RMQ_O_EXCHANGES, -1, 1,
     "Exchanges in the cluster (object_totals.exchanges)."},
    {"rabbitmq_cluster_messages", FROND_GAUGE, RMQ_O_MESSAGES, -1, 1,
     "Ready plus unacknowledged messages in all queues (queue_totals.messages)."},
    {"rabbitmq_cluster_messages_ready", FROND_GAUGE, RMQ_O_MESSAGES_READY, -1, 1,
     "Ready messages in all queues (queue_totals.messages_ready)."},
    {"rabbitmq_cluster_messages_unacked", FROND_GAUGE, RMQ_O_MESSAGES_UNACKED, -1, 1,
     "Unacknowledged messages in all queues (queue_totals.messages_unacknowledged)."},
};

static bool num_value(const struct num_metric *m, const double *num, uint32_t have, double *out)
{
    int slot = m->slot;
    if (!((have >> slot) & 1u)) {
        if (m->fallback < 0 || !((have >> m->fallback) & 1u)) {
            return false;
        }
        slot = m->fallback;
    }
    double v = num[slot] * m->scale;
    /* A counter below zero is not a counter; export nothing rather than a wrong value. */
    if (m->type == FROND_COUNTER && v < 0) {
        return false;
    }
    *out = v;
    return true;
}

static int open_families(struct frond_scrape *s, const struct num_metric *t, size_t n,
                         struct frond_family **out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = frond_scrape_family(s, t[i].name, t[i].type, t[i].help);
        if (!out[i]) {
            return -ENOMEM;
        }
    }
    return 0;
}

int rmq_emit_queues(struct frond_scrape *s, const struct rmq_store *st)
{
    struct frond_family *fam[FROND_ARRAY_SIZE(queue_metrics)];
    int rc = open_families(s, queue_metrics, FROND_ARRAY_SIZE(queue_metrics), fam);
    if (rc) {
        return rc;
    }
    struct frond_family *info = frond_scrape_family(
        s, "rabbitmq_queue_info", FROND_INFO,
        "Queue properties: type (classic, quorum, stream), durable, applied policy, and the node "
        "hosting the queue or its leader. Always 1.");
    struct frond_family *state = frond_scrape_family(
        s, "rabbitmq_queue_state_info", FROND_INFO,
        "Queue state reported by the broker (state: running, idle, down, crashed, stopped, "
        "minority, ...); flow, a credit-flow pause that toggles many times a second under load, "
        "is reported as running so the series only changes on real state changes. Always 1.");
    if (!info || !state) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < st->nq; i++) {
        const struct rmq_qrec *q = &st->q[i];
        struct frond_label lb[6] = {
            {"vhost", rmq_store_str(st, q, RMQ_Q_VHOST)},
            {"queue", rmq_store_str(st, q, RMQ_Q_NAME)},
        };
        for (size_t m = 0; m < FROND_ARRAY_SIZE(queue_metrics); m++) {
            double v;
            if (!num_value(&queue_metrics[m], q->num, q->have_num, &v)) {
                continue;
            }
            rc = frond_scrape_samplev(s, fam[m], v, 2, lb);
            if (rc) {
                return rc;
            }
        }
        const char *node = rmq_store_str(st, q, RMQ_Q_NODE);
        if (!node) {
            node = rmq_store_str(st, q, RMQ_Q_LEADER);
        }
        const char *type = rmq_store_str(st, q, RMQ_Q_TYPE);
        const char *policy = rmq_store_str(st, q, RMQ_Q_POLICY);
        const char *durable = "";
        if ((q->have_num >> RMQ_Q_DURABLE) & 1u) {
            durable = q->num[RMQ_Q_DURABLE] != 0 ? "true" : "false";
        }
        lb[2] = (struct frond_label){"type", type ? type : ""};
        lb[3] = (struct frond_label){"durable", durable};
        lb[4] = (struct frond_label){"policy", policy ? policy : ""};
        lb[5] = (struct frond_label){"node", node ? node : ""};
        rc = frond_scrape_samplev(s, info, 1, 6, lb);
        if (rc) {
            return rc;
        }
        /*
         * One info sample per queue instead of a stateset: a stateset costs one
         * line per possible state (half of all queue output at 10k queues), and
         * the state only changes when something is wrong.
         */
        const char *cur = rmq_store_str(st, q, RMQ_Q_STATE);
        if (cur) {
            struct frond_label sl[3] = {
                lb[0], lb[1], {"state", strcmp(cur, "flow") == 0 ? "running" : cur}};
            rc = frond_scrape_samplev(s, state, 1, 3, sl);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

int rmq_emit_nodes(struct frond_scrape *s, const struct rmq_nodes *ns)
{
    struct frond_family *fam[FROND_ARRAY_SIZE(node_metrics)];
    int rc = open_families(s, node_metrics, FROND_ARRAY_SIZE(node_metrics), fam);
    if (rc) {
        return rc;
    }
    size_t running = 0;
    for (size_t i = 0; i < ns->count; i++) {
        const struct rmq_record *r = &ns->n[i];
        struct frond_label lb[1] = {{"node", r->str[RMQ_N_NAME]}};
        for (size_t m = 0; m < FROND_ARRAY_SIZE(node_metrics); m++) {
            double v;
            if (!num_value(&node_metrics[m], r->num, r->have_num, &v)) {
                continue;
            }
            rc = frond_scrape_samplev(s, fam[m], v, 1, lb);
            if (rc) {
                return rc;
            }
        }
        if (rmq_has_num(r, RMQ_N_RUNNING) && r->num[RMQ_N_RUNNING] != 0) {
            running++;
        }
    }
    struct frond_family *nodes = frond_scrape_family(
        s, "rabbitmq_cluster_nodes", FROND_GAUGE,
        "Nodes configured in the cluster, running or not (entries of /api/nodes).");
    struct frond_family *nrun = frond_scrape_family(
        s, "rabbitmq_cluster_nodes_running", FROND_GAUGE,
        "Cluster nodes that are running (entries of /api/nodes with running=true).");
    if (!nodes || !nrun) {
        return -ENOMEM;
    }
    rc = frond_scrape_sample0(s, nodes, (double)ns->count);
    if (!rc) {
        rc = frond_scrape_sample0(s, nrun, (double)running);
    }
    return rc;
}

int rmq_emit_overview(struct frond_scrape *s, const struct rmq_record *ov)
{
    struct frond_family *fam[FROND_ARRAY_SIZE(overview_metrics)];
    int rc = open_families(s, overview_metrics, FROND_ARRAY_SIZE(overview_metrics), fam);
    if (rc) {
        return rc;
    }
    for (size_t m = 0; m < FROND_ARRAY_SIZE(overview_metrics); m++) {
        double v;
        if (!num_value(&overview_metrics[m], ov->num, ov->have_num, &v)) {
            continue;
        }
        rc = frond_scrape_sample0(s, fam[m], v);
        if (rc) {
            return rc;
        }
    }
    struct frond_family *info = frond_scrape_family(
        s, "rabbitmq_cluster_info", FROND_INFO,
        "Cluster name and versions from /api/overview (cluster_name, rabbitmq_version, "
        "erlang_version). Always 1.");
    if (!info) {
        return -ENOMEM;
    }
    struct frond_label lb[3] = {
        {"cluster", rmq_has_str(ov, RMQ_O_CLUSTER_NAME) ? ov->str[RMQ_O_CLUSTER_NAME] : ""},
        {"rabbitmq_version",
         rmq_has_str(ov, RMQ_O_RABBITMQ_VERSION) ? ov->str[RMQ_O_RABBITMQ_VERSION] : ""},
        {"erlang_version",
         rmq_has_str(ov, RMQ_O_ERLANG_VERSION) ? ov->str[RMQ_O_ERLANG_VERSION] : ""},
    };
    return frond_scrape_samplev(s, info, 1, 3, lb);
}

/* ---- the scrape ---- */

/* Columns asked for: only what the tables above export. */
#define QUEUE_COLUMNS                                                                              \
    "name,vhost,type,durable,policy,node,leader,state,messages,messages_ready,"                    \
    "messages_unacknowledged,consumers,consumer_utilisation,consumer_capacity,message_bytes,"      \
    "head_message_timestamp,message_stats.publish,message_stats.deliver_get,"                      \
    "message_stats.ack,message_stats.redeliver"
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
    /* Heap-built: an escaped vhost name and include regex may each be kilobytes. */
    frond_buf_init(&path, 1u << 20);
    for (long page = 1; page <= RMQ_MAX_PAGES; page++) {
        frond_buf_reset(&path);
        rc = frond_buf_printf(&path, "%s?page=%ld&page_size=%ld&columns=%s%s%s%s", base, page,
                              sc->c->page_size, QUEUE_COLUMNS, name_re ? "&name=" : "",
                              name_re ? name_re : "", name_re ? "&use_regex=true" : "");
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
        if (pg.page_count < 0 || page >= pg.page_count) {
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
    struct scrape sc = {.c = w->main->c, .deadline = w->main->deadline, .sh = w->main->sh};
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

    if (c->push_queue_regex && c->include_queues.set) {
        /* The server matches with PCRE, unanchored: anchor it; our own match stays authoritative.
         */
        size_t n = strlen(c->include_queues.src) + 5;
        char *anchored = malloc(n);
        if (!anchored) {
            rc = -ENOMEM;
            goto out;
        }
        snprintf(anchored, n, "^(%s)$", c->include_queues.src);
        name_re = rmq_mgmt_escape(anchored);
        free(anchored);
        if (!name_re) {
            rc = -ENOMEM;
            goto out;
        }
    }
    w.name_re = name_re;
    /*
     * Page per vhost, always: RabbitMQ lists and sorts the whole collection
     * for every page it serves, so a page of /api/queues/<vhost> costs the
     * broker time in proportion to that vhost's queues, not the cluster's
     * (measured on 10 x 1,000 queues: 0.05 s against 0.2 s per page).
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

int rmq_collect(struct frond_scrape *s, void *ctx)
{
    struct rmq_collector *c = ctx;
    double start = frond_now_monotonic();
    double deadline = frond_scrape_deadline_within(s, start, c->timeout);
    struct scrape_shared sh = {.failed = false};
    pthread_mutex_init(&sh.lock, NULL);
    struct scrape sc = {.c = c, .deadline = deadline, .sh = &sh};
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
    if (fetch(&sc, RMQ_EP_OVERVIEW, "/api/overview?columns=" OVERVIEW_COLUMNS, RMQ_REPLY_OVERVIEW,
              overview_one, ov, NULL) == 0) {
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
    if (!up || !dur) {
        return -ENOMEM;
    }
    bool failed = sh.failed;
    pthread_mutex_destroy(&sh.lock);
    int rc2 = frond_scrape_sample0(s, up, failed || rc ? 0 : 1);
    if (!rc2) {
        rc2 = frond_scrape_sample0(s, dur, frond_now_monotonic() - start);
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
        bool used = amqp_mode ? e == RMQ_EP_AMQP : e != RMQ_EP_AMQP;
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
