/*
 * libFuzzer target for the RabbitMQ management-API reply path: the first
 * byte picks the reply kind (queues, nodes, overview, vhosts, consumers), the rest is
 * the reply body. The body is fed to the streaming reader in chunks (sizes
 * taken from the input too, so chunk boundaries move around), the records
 * go through the collector's store and filters, and a successful parse is
 * mapped to samples and rendered by the real registry in both exposition
 * formats, which is exactly what a scrape does with a server's reply.
 * Truncated JSON, wrong types and huge numbers must end in a clean error or
 * in absent series, never in a crash, a leak or undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "frond/buf.h"
#include "frond/log.h"
#include "frond/registry.h"
#include "json.h"

struct input {
    enum rmq_reply_kind kind;
    const uint8_t *data;
    size_t len;
    size_t chunk;
};

static struct rmq_collector filters;
static struct input cur;

static int overview_one(const struct rmq_record *r, void *ctx)
{
    *(struct rmq_record *)ctx = *r;
    return 0;
}

static int count_vhost(const struct rmq_record *r, void *ctx)
{
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

static int feed_all(struct rmq_json *p, const struct input *in)
{
    size_t off = 0;
    while (off < in->len) {
        size_t n = in->len - off < in->chunk ? in->len - off : in->chunk;
        int rc = rmq_json_feed(p, in->data + off, n);
        if (rc) {
            return rc;
        }
        off += n;
    }
    return rmq_json_finish(p);
}

static int collect(struct frond_scrape *s, void *ctx)
{
    const struct input *in = ctx;
    int rc = 0;
    switch (in->kind) {
    case RMQ_REPLY_QUEUES: {
        struct rmq_store st;
        rmq_store_init(&st, &filters);
        struct rmq_json *p = rmq_json_new(in->kind, rmq_store_add_queue, &st);
        if (p && feed_all(p, in) == 0) {
            rmq_store_finish(&st);
            rc = rmq_emit_queues(s, &st);
        }
        rmq_json_free(p);
        rmq_store_cleanup(&st);
        break;
    }
    case RMQ_REPLY_NODES: {
        struct rmq_nodes ns = {0};
        struct rmq_json *p = rmq_json_new(in->kind, rmq_nodes_add, &ns);
        if (p && feed_all(p, in) == 0) {
            rc = rmq_emit_nodes(s, &ns);
        }
        rmq_json_free(p);
        rmq_nodes_cleanup(&ns);
        break;
    }
    case RMQ_REPLY_OVERVIEW: {
        struct rmq_record *ov = calloc(1, sizeof(*ov));
        struct rmq_json *p = ov ? rmq_json_new(in->kind, overview_one, ov) : NULL;
        if (p && feed_all(p, in) == 0) {
            rc = rmq_emit_overview(s, ov);
        }
        rmq_json_free(p);
        free(ov);
        break;
    }
    case RMQ_REPLY_VHOSTS:
    case RMQ_REPLY_CONSUMERS: {
        size_t n = 0;
        struct rmq_json *p = rmq_json_new(in->kind, count_vhost, &n);
        if (p) {
            (void)feed_all(p, in);
        }
        rmq_json_free(p);
        break;
    }
    }
    return rc;
}

static struct frond_registry *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The registry logs a failing collector; keep fuzzing output quiet. */
    frond_log_set_level(FROND_LOG_ERROR);
    /* Exercise the filter path too: drop one vhost and queues named "skip...". */
    if (rmq_filter_init(&filters.exclude_vhost, "excluded") ||
        rmq_filter_init(&filters.exclude_queues, "skip.*")) {
        abort();
    }
    reg = frond_registry_new();
    if (!reg || frond_registry_add_collector(reg, collect, &cur)) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    cur.kind = (enum rmq_reply_kind)(data[0] % 5);
    /* Chunk size from the second byte: 1..255 bytes, or everything at once for 0. */
    cur.chunk = data[1] ? data[1] : SIZE_MAX;
    cur.data = data + 2;
    cur.len = size - 2;
    struct frond_buf out;
    frond_buf_init(&out, 64u << 20);
    /* -ENOSPC at the output cap is the only failure a render may have; it needs no action. */
    if (frond_registry_render(reg, (data[1] & 1) ? FROND_EXPO_OPENMETRICS : FROND_EXPO_TEXT, 0,
                              &out) != 0) {
        out.len = 0;
    }
    frond_buf_cleanup(&out);
    return 0;
}
