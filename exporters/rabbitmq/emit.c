/*
 * The tables that map management-API fields to metrics, and the emitters
 * that turn a complete endpoint's records into samples (see emit.h).
 * Metric names follow the rabbitmq_prometheus plugin where they mean the
 * same thing, so dashboards written for its per-object endpoint keep
 * working; README.md lists every metric with its source field.
 */
#include "emit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
