/*
 * Unit tests for the streaming management-API reader (exporters/rabbitmq/
 * json.c) on replies recorded from a real RabbitMQ 3.10.8
 * (tests/unit/data/rabbitmq/), and on the malformed inputs the reader must
 * survive: truncation, wrong types, numbers beyond double, missing names,
 * deep nesting, chunked delivery one byte at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "rmq_testdata.h"

#define MAXREC 64

struct got {
    size_t n;
    struct rmq_record r[MAXREC];
};

static int collect(const struct rmq_record *r, void *ctx)
{
    struct got *g = ctx;
    if (g->n < MAXREC) {
        g->r[g->n] = *r;
    }
    g->n++;
    return 0;
}

static int parse_file(enum rmq_reply_kind kind, const char *name, struct got *g,
                      struct rmq_page_info *pg)
{
    size_t len = 0;
    char *buf = slurp(name, &len);
    if (!buf) {
        return -ENOENT;
    }
    memset(g, 0, sizeof(*g));
    int rc = rmq_json_parse_all(kind, buf, len, collect, g, pg);
    free(buf);
    return rc;
}

static int parse_str(enum rmq_reply_kind kind, const char *s, struct got *g)
{
    memset(g, 0, sizeof(*g));
    return rmq_json_parse_all(kind, s, strlen(s), collect, g, NULL);
}

static const struct rmq_record *find_queue(struct got *g, const char *vhost, const char *name)
{
    for (size_t i = 0; i < g->n && i < MAXREC; i++) {
        if (strcmp(g->r[i].str[RMQ_Q_VHOST], vhost) == 0 &&
            strcmp(g->r[i].str[RMQ_Q_NAME], name) == 0) {
            return &g->r[i];
        }
    }
    return NULL;
}

static struct got g; /* large: keep it off the stack */

static void test_recorded_page(void)
{
    struct rmq_page_info pg;
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "queues_page.json", &g, &pg), 0);
    CHECK_INT(g.n, 4);
    CHECK_INT(pg.page, 1);
    CHECK_INT(pg.page_count, 1);
    CHECK_INT(pg.filtered_count, 4);

    const struct rmq_record *w = find_queue(&g, "/", "work");
    CHECK(w != NULL);
    if (w) {
        CHECK(rmq_has_num(w, RMQ_Q_MESSAGES_READY));
        CHECK_DBL(w->num[RMQ_Q_MESSAGES_READY], 5);
        CHECK_DBL(w->num[RMQ_Q_MESSAGES_UNACKED], 2);
        CHECK_DBL(w->num[RMQ_Q_MESSAGES], 7);
        CHECK_DBL(w->num[RMQ_Q_CONSUMERS], 1);
        CHECK_DBL(w->num[RMQ_Q_PUBLISH], 7);
        CHECK_DBL(w->num[RMQ_Q_DELIVER_GET], 2);
        CHECK_DBL(w->num[RMQ_Q_ACK], 0);
        CHECK_DBL(w->num[RMQ_Q_HEAD_MESSAGE_TIMESTAMP], 1700000000);
        CHECK_DBL(w->num[RMQ_Q_DURABLE], 1);
        CHECK_STR(w->str[RMQ_Q_TYPE], "classic");
        CHECK_STR(w->str[RMQ_Q_STATE], "running");
        CHECK_STR(w->str[RMQ_Q_NODE], "frond@localhost");
        CHECK(!rmq_has_str(w, RMQ_Q_POLICY)); /* null */
    }
    const struct rmq_record *o = find_queue(&g, "v1", "orders");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(o->str[RMQ_Q_POLICY], "lim");
        /* "head_message_timestamp": null on an empty queue: absent, not 0. */
        CHECK(!rmq_has_num(o, RMQ_Q_HEAD_MESSAGE_TIMESTAMP));
        /* No message_stats at all: the counters are absent. */
        CHECK(!rmq_has_num(o, RMQ_Q_PUBLISH));
    }
    const struct rmq_record *q = find_queue(&g, "/", "q1");
    CHECK(q != NULL);
    if (q) {
        CHECK_STR(q->str[RMQ_Q_TYPE], "quorum");
        CHECK_STR(q->str[RMQ_Q_LEADER], "frond@localhost");
    }
}

static void test_recorded_pages_and_full(void)
{
    struct rmq_page_info pg;
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "queues_page1of2.json", &g, &pg), 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(pg.page_count, 2);
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "queues_page2of2.json", &g, &pg), 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(pg.page, 2);
    /* The unpaginated reply with every field (nested arguments, backing_queue_status, ...). */
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "queues_full.json", &g, &pg), 0);
    CHECK_INT(g.n, 4);
    CHECK_INT(pg.page_count, -1);
    const struct rmq_record *w = find_queue(&g, "/", "work");
    CHECK(w && w->num[RMQ_Q_MESSAGES_UNACKED] == 2);
    /* backing_queue_status has "len" and "q1".."q4" nested: none must leak into the record. */
    CHECK(w && w->num[RMQ_Q_MESSAGES] == 7);
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "queues_empty_page.json", &g, &pg), 0);
    CHECK_INT(g.n, 0);
    CHECK_INT(pg.page_count, 0);
}

static void test_recorded_nodes_overview(void)
{
    CHECK_INT(parse_file(RMQ_REPLY_NODES, "nodes.json", &g, NULL), 0);
    CHECK_INT(g.n, 1);
    const struct rmq_record *n = &g.r[0];
    CHECK_STR(n->str[RMQ_N_NAME], "frond@localhost");
    CHECK_DBL(n->num[RMQ_N_RUNNING], 1);
    CHECK_DBL(n->num[RMQ_N_MEM_ALARM], 0);
    CHECK_DBL(n->num[RMQ_N_FD_TOTAL], 20000);
    CHECK(rmq_has_num(n, RMQ_N_PARTITIONS));
    CHECK_DBL(n->num[RMQ_N_PARTITIONS], 0);
    CHECK(rmq_has_num(n, RMQ_N_DISK_FREE));

    CHECK_INT(parse_file(RMQ_REPLY_NODES, "nodes_full.json", &g, NULL), 0);
    CHECK_INT(g.n, 1);
    CHECK_DBL(g.r[0].num[RMQ_N_MEM_LIMIT], 10110604083.0);

    CHECK_INT(parse_file(RMQ_REPLY_OVERVIEW, "overview_full.json", &g, NULL), 0);
    CHECK_INT(g.n, 1);
    const struct rmq_record *o = &g.r[0];
    CHECK_DBL(o->num[RMQ_O_QUEUES], 4);
    CHECK_DBL(o->num[RMQ_O_MESSAGES_READY], 12);
    CHECK_DBL(o->num[RMQ_O_MESSAGES_UNACKED], 2);
    CHECK_DBL(o->num[RMQ_O_CONSUMERS], 1);
    CHECK_STR(o->str[RMQ_O_RABBITMQ_VERSION], "3.10.8");
    /* message_stats also has "publish" etc. at the same depth: not a field of ours. */
    CHECK_DBL(o->num[RMQ_O_MESSAGES], 14);

    CHECK_INT(parse_file(RMQ_REPLY_VHOSTS, "vhosts.json", &g, NULL), 0);
    CHECK_INT(g.n, 2);
}

static void test_error_replies(void)
{
    /* An error object where a list is expected is a shape error, not zero queues. */
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "error_401.json", &g, NULL), -EPROTO);
    CHECK_INT(parse_file(RMQ_REPLY_QUEUES, "error_400_page_size.json", &g, NULL), -EPROTO);
    CHECK_INT(parse_str(RMQ_REPLY_QUEUES, "42", &g), -EPROTO);
    CHECK_INT(parse_str(RMQ_REPLY_OVERVIEW, "[]", &g), -EPROTO);
    CHECK_INT(parse_str(RMQ_REPLY_QUEUES, "", &g), -EPROTO);
    CHECK_INT(parse_str(RMQ_REPLY_QUEUES, "{\"items\":{}}", &g), -EPROTO);
}

static void test_truncated(void)
{
    size_t len = 0;
    char *buf = slurp("queues_page.json", &len);
    CHECK(buf != NULL);
    if (!buf) {
        return;
    }
    /* Every prefix must fail cleanly (or, for the whole text, succeed). */
    for (size_t cut = 0; cut < len; cut++) {
        memset(&g, 0, sizeof(g));
        int rc = rmq_json_parse_all(RMQ_REPLY_QUEUES, buf, cut, collect, &g, NULL);
        if (rc != -EPROTO) {
            fprintf(stderr, "cut at %zu: rc %d\n", cut, rc);
        }
        CHECK(rc == -EPROTO);
    }
    /* Byte-at-a-time feeding gives the same records as one chunk. */
    struct rmq_json *p = rmq_json_new(RMQ_REPLY_QUEUES, collect, &g);
    memset(&g, 0, sizeof(g));
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i++) {
        rc = rmq_json_feed(p, buf + i, 1);
    }
    CHECK_INT(rc, 0);
    CHECK_INT(rmq_json_finish(p), 0);
    CHECK_INT(g.n, 4);
    CHECK_INT(rmq_json_records(p), 4);
    rmq_json_free(p);
    free(buf);
}

static void test_types_and_numbers(void)
{
    const char *in =
        "[{\"name\":\"a\",\"vhost\":\"/\",\"messages\":\"12\",\"messages_ready\":1e999,"
        "\"messages_unacknowledged\":123456789012345678901234567890123456789012345678901234567890"
        "1234567890,"
        "\"consumers\":{\"x\":1},\"durable\":1,\"memory\":-5,\"message_bytes\":3.5e2,"
        "\"message_stats\":{\"publish\":true,\"ack\":99999999999999999999,\"redeliver\":null,"
        "\"deliver_get\":[1,2]},\"type\":7,\"node\":[\"n\"]},"
        "{\"name\":5,\"vhost\":\"/\"},"
        "{\"vhost\":\"/\",\"messages\":3},"
        "{\"name\":\"b\",\"vhost\":\"/\",\"messages\":1,\"messages\":2,\"name\":\"c\"},"
        "{\"name\":\"nul\\u0000x\",\"vhost\":\"/\"},"
        "5, \"str\", null, [1,[2]]]";
    CHECK_INT(parse_str(RMQ_REPLY_QUEUES, in, &g), 0);
    CHECK_INT(g.n, 2);
    const struct rmq_record *a = find_queue(&g, "/", "a");
    CHECK(a != NULL);
    if (a) {
        CHECK(!rmq_has_num(a, RMQ_Q_MESSAGES));         /* string */
        CHECK(!rmq_has_num(a, RMQ_Q_MESSAGES_READY));   /* beyond double */
        CHECK(!rmq_has_num(a, RMQ_Q_MESSAGES_UNACKED)); /* too many digits */
        CHECK(!rmq_has_num(a, RMQ_Q_CONSUMERS));        /* map */
        CHECK(!rmq_has_num(a, RMQ_Q_DURABLE));          /* number for a bool */
        CHECK(!rmq_has_num(a, RMQ_Q_PUBLISH));          /* bool for a number */
        CHECK(!rmq_has_num(a, RMQ_Q_REDELIVER));        /* null */
        CHECK(!rmq_has_num(a, RMQ_Q_DELIVER_GET));      /* array */
        CHECK(rmq_has_num(a, RMQ_Q_ACK));               /* 1e20 fits a double */
        CHECK_DBL(a->num[RMQ_Q_MEMORY], -5);            /* the mapping decides about negatives */
        CHECK_DBL(a->num[RMQ_Q_MESSAGE_BYTES], 350);
        CHECK(!rmq_has_str(a, RMQ_Q_TYPE));
        CHECK(!rmq_has_str(a, RMQ_Q_NODE));
    }
    /* Duplicate keys: the last one wins. */
    const struct rmq_record *c = find_queue(&g, "/", "c");
    CHECK(c != NULL);
    CHECK(c && c->num[RMQ_Q_MESSAGES] == 2);
}

static void test_deep_and_long(void)
{
    /* 100k levels of nesting inside a record: skipped by counting, no recursion. */
    size_t depth = 100000;
    size_t cap = depth * 2 + 200;
    char *s = malloc(cap);
    CHECK(s != NULL);
    if (!s) {
        return;
    }
    size_t n = (size_t)snprintf(s, cap, "[{\"name\":\"d\",\"vhost\":\"/\",\"x\":");
    memset(s + n, '[', depth);
    n += depth;
    memset(s + n, ']', depth);
    n += depth;
    n += (size_t)snprintf(s + n, cap - n, ",\"messages\":4}]");
    memset(&g, 0, sizeof(g));
    CHECK_INT(rmq_json_parse_all(RMQ_REPLY_QUEUES, s, n, collect, &g, NULL), 0);
    CHECK_INT(g.n, 1);
    CHECK(g.n == 1 && g.r[0].num[RMQ_Q_MESSAGES] == 4);
    free(s);

    /* A name longer than RMQ_STR_MAX: the record has no name and is skipped. */
    size_t big = RMQ_STR_MAX + 10;
    s = malloc(big + 100);
    n = (size_t)snprintf(s, big + 100, "[{\"vhost\":\"/\",\"name\":\"");
    memset(s + n, 'q', big);
    n += big;
    n += (size_t)snprintf(s + n, 100, "\"}]");
    struct rmq_json *p = rmq_json_new(RMQ_REPLY_QUEUES, collect, &g);
    memset(&g, 0, sizeof(g));
    CHECK_INT(rmq_json_feed(p, s, n), 0);
    CHECK_INT(rmq_json_finish(p), 0);
    CHECK_INT(g.n, 0);
    CHECK_INT(rmq_json_skipped(p), 1);
    rmq_json_free(p);
    free(s);
}

static int stop_at_two(const struct rmq_record *r, void *ctx)
{
    int *n = ctx;
    (void)r;
    return ++*n >= 2 ? -E2BIG : 0;
}

static void test_callback_abort(void)
{
    size_t len = 0;
    char *buf = slurp("queues_page.json", &len);
    int n = 0;
    CHECK_INT(rmq_json_parse_all(RMQ_REPLY_QUEUES, buf, len, stop_at_two, &n, NULL), -E2BIG);
    CHECK_INT(n, 2);
    free(buf);
}

int main(void)
{
    test_recorded_page();
    test_recorded_pages_and_full();
    test_recorded_nodes_overview();
    test_error_replies();
    test_truncated();
    test_types_and_numbers();
    test_deep_and_long();
    test_callback_abort();
    return check_done("test_rabbitmq_json");
}
