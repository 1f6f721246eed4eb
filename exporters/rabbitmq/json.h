/*
 * Streaming reader for RabbitMQ management API replies, on yajl's SAX
 * interface. A reply is fed in chunks as libcurl receives it and turned into
 * flat records (one per queue, node or vhost, or one for /api/overview),
 * each handed to a callback the moment its closing brace is read, so a
 * multi-megabyte /api/queues page never exists as a tree in memory.
 *
 * Every field is optional and typed: a number where a string is expected,
 * a map where a number is expected, a number beyond double's range
 * (1e999, a 400-digit integer) or a string longer than RMQ_STR_MAX all
 * leave that field absent in the record, and the caller exports nothing
 * for it. Truncated or malformed JSON makes rmq_json_feed/finish fail; the
 * records already delivered stay delivered, so callers that must be
 * all-or-nothing (collect.c, store.c) keep them aside until the reply completed.
 *
 * Shapes understood: a bare array of objects (/api/nodes, /api/consumers,
 * unpaginated /api/queues), the pagination envelope {"items":[...], "page":..,
 * "page_count":..} (/api/queues?page=..), and a single object
 * (/api/overview).
 *
 * Ownership: the parser owns its yajl handle and its one record buffer;
 * a record passed to the callback is only valid during the call. Not
 * thread-safe; use one parser per reply.
 */
#ifndef RMQ_JSON_H
#define RMQ_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"

/* Longest string field kept (queue and vhost names are at most 255 bytes in AMQP). */
#define RMQ_STR_MAX 1024
#define RMQ_MAX_NUM 24
#define RMQ_MAX_STR 8

enum rmq_reply_kind {
    RMQ_REPLY_QUEUES = 0,
    RMQ_REPLY_NODES,
    RMQ_REPLY_OVERVIEW,
    RMQ_REPLY_VHOSTS,
    RMQ_REPLY_CONSUMERS,
};

/* Number slots of a queue record. Booleans are numbers 0/1. */
enum rmq_queue_num {
    RMQ_Q_MESSAGES_READY = 0,
    RMQ_Q_MESSAGES_UNACKED,
    RMQ_Q_MESSAGES,
    RMQ_Q_CONSUMERS,
    RMQ_Q_CONSUMER_UTILISATION,
    RMQ_Q_CONSUMER_CAPACITY,
    RMQ_Q_MESSAGE_BYTES,
    RMQ_Q_MESSAGE_BYTES_READY,
    RMQ_Q_MESSAGE_BYTES_UNACKED,
    RMQ_Q_HEAD_MESSAGE_TIMESTAMP,
    RMQ_Q_MEMORY,
    RMQ_Q_PUBLISH,
    RMQ_Q_DELIVER_GET,
    RMQ_Q_ACK,
    RMQ_Q_REDELIVER,
    RMQ_Q_DURABLE,
    RMQ_Q_NUM_COUNT,
};

enum rmq_queue_str {
    RMQ_Q_NAME = 0,
    RMQ_Q_VHOST,
    RMQ_Q_TYPE,
    RMQ_Q_POLICY,
    RMQ_Q_NODE,
    RMQ_Q_LEADER,
    RMQ_Q_STATE,
    RMQ_Q_STR_COUNT,
};

enum rmq_node_num {
    RMQ_N_RUNNING = 0,
    RMQ_N_UPTIME_MS,
    RMQ_N_MEM_USED,
    RMQ_N_MEM_LIMIT,
    RMQ_N_MEM_ALARM,
    RMQ_N_DISK_FREE,
    RMQ_N_DISK_FREE_LIMIT,
    RMQ_N_DISK_FREE_ALARM,
    RMQ_N_FD_USED,
    RMQ_N_FD_TOTAL,
    RMQ_N_SOCKETS_USED,
    RMQ_N_SOCKETS_TOTAL,
    RMQ_N_PROC_USED,
    RMQ_N_PROC_TOTAL,
    RMQ_N_PARTITIONS, /* length of the "partitions" array */
    RMQ_N_NUM_COUNT,
};

enum rmq_node_str {
    RMQ_N_NAME = 0,
    RMQ_N_STR_COUNT,
};

enum rmq_overview_num {
    RMQ_O_CONNECTIONS = 0,
    RMQ_O_CHANNELS,
    RMQ_O_CONSUMERS,
    RMQ_O_QUEUES,
    RMQ_O_EXCHANGES,
    RMQ_O_MESSAGES,
    RMQ_O_MESSAGES_READY,
    RMQ_O_MESSAGES_UNACKED,
    RMQ_O_NUM_COUNT,
};

enum rmq_overview_str {
    RMQ_O_CLUSTER_NAME = 0,
    RMQ_O_RABBITMQ_VERSION,
    RMQ_O_ERLANG_VERSION,
    RMQ_O_STR_COUNT,
};

enum rmq_vhost_str {
    RMQ_V_NAME = 0,
    RMQ_V_STR_COUNT,
};

/* String slots of a consumer record (/api/consumers): the queue it consumes from. */
enum rmq_consumer_str {
    RMQ_C_QUEUE = 0,
    RMQ_C_VHOST,
    RMQ_C_STR_COUNT,
};

/*
 * One flat record. `have_num`/`have_str` are bitmasks of the slots that
 * were present with the right type; a slot not in the mask holds garbage.
 */
struct rmq_record {
    double num[RMQ_MAX_NUM];
    uint32_t have_num;
    uint32_t have_str;
    size_t len[RMQ_MAX_STR];
    char str[RMQ_MAX_STR][RMQ_STR_MAX + 1];
};

static inline bool rmq_has_num(const struct rmq_record *r, int slot)
{
    return (r->have_num >> slot) & 1u;
}

static inline bool rmq_has_str(const struct rmq_record *r, int slot)
{
    return (r->have_str >> slot) & 1u;
}

/* Called for each complete record; a non-zero return stops the parse (rmq_json_feed fails). */
typedef int (*rmq_record_fn)(const struct rmq_record *r, void *ctx);

/* Pagination envelope fields; -1 when the reply had none (or not a number). */
struct rmq_page_info {
    long page;
    long page_count;
    long filtered_count;
    long item_count;
};

struct rmq_json;

/* A parser for one reply of `kind`. NULL on ENOMEM. */
struct rmq_json *rmq_json_new(enum rmq_reply_kind kind, rmq_record_fn fn, void *ctx);
void rmq_json_free(struct rmq_json *p);

/*
 * Feed a chunk. 0, -EPROTO on malformed JSON (message in rmq_json_error),
 * or the callback's own non-zero return.
 */
FROND_MUST_CHECK int rmq_json_feed(struct rmq_json *p, const void *data, size_t len);
/* End of reply: -EPROTO if it was truncated or was not one of the known shapes. */
FROND_MUST_CHECK int rmq_json_finish(struct rmq_json *p);
/* A short description of the last parse error (static storage of the parser). */
const char *rmq_json_error(const struct rmq_json *p);
const struct rmq_page_info *rmq_json_page(const struct rmq_json *p);
/* Records delivered, and records dropped for lacking a required field (name). */
size_t rmq_json_records(const struct rmq_json *p);
size_t rmq_json_skipped(const struct rmq_json *p);

/* Parse a whole buffer in one go (tests, fuzzing). Same returns as feed + finish. */
FROND_MUST_CHECK int rmq_json_parse_all(enum rmq_reply_kind kind, const void *data, size_t len,
                                        rmq_record_fn fn, void *ctx, struct rmq_page_info *page);

#endif
