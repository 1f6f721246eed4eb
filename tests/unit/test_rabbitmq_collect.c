/*
 * Unit tests for the mapping half of the RabbitMQ collector
 * (exporters/rabbitmq/collect.c): recorded replies from RabbitMQ 3.10.8 go
 * through the record store (filters, sort, de-duplication) and rmq_emit_*
 * into a real registry, and the rendered exposition must hold exactly the
 * expected series: absent (never sentinel) for missing fields, the info
 * and stateset series, anchored filters. Also: filter compilation, the
 * password scrubber used on curl's error text, percent-decoding of
 * --amqp.queues. And: a scrape queued behind another that hangs on a
 * silent AMQP broker answers by its own deadline with rabbitmq_amqp_up 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "expo_lines.h"
#include "collect.h"
#include "frond/buf.h"
#include "frond/registry.h"
#include "json.h"
#include "mgmt.h"
#include "rmq_amqp.h"
#include "rmq_testdata.h"

/* What the test collector maps: one queue reply (+ optional nodes and overview). */
struct fixture {
    const char *queues;
    const char *nodes;
    const char *overview;
    struct rmq_collector *filters;
    int rc;
};

static int overview_one(const struct rmq_record *r, void *ctx)
{
    *(struct rmq_record *)ctx = *r;
    return 0;
}

static int collect(struct frond_scrape *s, void *ctx)
{
    struct fixture *fx = ctx;
    size_t len;
    char *buf;
    if (fx->queues) {
        struct rmq_store st;
        rmq_store_init(&st, fx->filters);
        buf = slurp(fx->queues, &len);
        fx->rc =
            buf ? rmq_json_parse_all(RMQ_REPLY_QUEUES, buf, len, rmq_store_add_queue, &st, NULL)
                : -ENOENT;
        free(buf);
        if (!fx->rc) {
            rmq_store_finish(&st);
            fx->rc = rmq_emit_queues(s, &st);
        }
        rmq_store_cleanup(&st);
    }
    if (fx->nodes && !fx->rc) {
        struct rmq_nodes ns = {0};
        buf = slurp(fx->nodes, &len);
        fx->rc =
            buf ? rmq_json_parse_all(RMQ_REPLY_NODES, buf, len, rmq_nodes_add, &ns, NULL) : -ENOENT;
        free(buf);
        if (!fx->rc) {
            fx->rc = rmq_emit_nodes(s, &ns);
        }
        rmq_nodes_cleanup(&ns);
    }
    if (fx->overview && !fx->rc) {
        struct rmq_record *ov = calloc(1, sizeof(*ov));
        buf = slurp(fx->overview, &len);
        fx->rc = buf && ov
                     ? rmq_json_parse_all(RMQ_REPLY_OVERVIEW, buf, len, overview_one, ov, NULL)
                     : -ENOENT;
        free(buf);
        if (!fx->rc) {
            fx->rc = rmq_emit_overview(s, ov);
        }
        free(ov);
    }
    return 0;
}

static char *render(struct fixture *fx)
{
    struct frond_registry *reg = frond_registry_new();
    struct frond_buf out;
    frond_buf_init(&out, 16u << 20);
    CHECK(reg != NULL);
    if (!reg) {
        return NULL;
    }
    CHECK_INT(frond_registry_add_collector(reg, collect, fx), 0);
    CHECK_INT(frond_registry_render(reg, FROND_EXPO_TEXT, 0, &out), 0);
    frond_registry_free(reg);
    size_t n;
    char *s = frond_buf_take(&out, &n);
    return s ? s : calloc(1, 1);
}

static void test_full_mapping(void)
{
    struct fixture fx = {"queues_page.json", "nodes.json", "overview_full.json", NULL, 0};
    char *t = render(&fx);
    CHECK_INT(fx.rc, 0);
    CHECK_LINE(t, "rabbitmq_queue_messages_ready{vhost=\"/\",queue=\"work\"} 5");
    CHECK_LINE(t, "rabbitmq_queue_messages_unacked{vhost=\"/\",queue=\"work\"} 2");
    CHECK_LINE(t, "rabbitmq_queue_messages{vhost=\"/\",queue=\"work\"} 7");
    CHECK_LINE(t, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"work\"} 1");
    CHECK_LINE(t, "rabbitmq_queue_messages_published_total{vhost=\"/\",queue=\"work\"} 7");
    CHECK_LINE(t, "rabbitmq_queue_messages_delivered_total{vhost=\"/\",queue=\"work\"} 2");
    CHECK_LINE(t, "rabbitmq_queue_head_message_timestamp_seconds{vhost=\"/\",queue=\"work\"} "
                  "1700000000");
    CHECK_LINE(t, "rabbitmq_queue_info{vhost=\"v1\",queue=\"orders\",type=\"classic\","
                  "durable=\"true\",policy=\"lim\",node=\"frond@localhost\"} 1");
    CHECK_LINE(t, "rabbitmq_queue_info{vhost=\"/\",queue=\"q1\",type=\"quorum\","
                  "durable=\"true\",policy=\"\",node=\"frond@localhost\"} 1");
    CHECK_LINE(t, "rabbitmq_queue_state_info{vhost=\"/\",queue=\"work\",state=\"running\"} 1");
    /* Empty queue: no head timestamp; never published: no counters. Absent, not 0 or -1. */
    CHECK(!strstr(t, "rabbitmq_queue_head_message_timestamp_seconds{vhost=\"v1\""));
    CHECK(!strstr(t, "rabbitmq_queue_messages_published_total{vhost=\"v1\""));
    CHECK_LINE(t, "rabbitmq_node_running{node=\"frond@localhost\"} 1");
    CHECK_LINE(t, "rabbitmq_node_mem_alarm{node=\"frond@localhost\"} 0");
    CHECK_LINE(t, "rabbitmq_node_fd_limit{node=\"frond@localhost\"} 20000");
    CHECK_LINE(t, "rabbitmq_node_partitions{node=\"frond@localhost\"} 0");
    CHECK_LINE(t, "rabbitmq_cluster_nodes 1");
    CHECK_LINE(t, "rabbitmq_cluster_nodes_running 1");
    CHECK_LINE(t, "rabbitmq_cluster_queues 4");
    CHECK_LINE(t, "rabbitmq_cluster_messages_ready 12");
    CHECK_LINE(t, "rabbitmq_cluster_info{cluster=\"frond@vm\",rabbitmq_version=\"3.10.8\","
                  "erlang_version=\"25.2.3\"} 1");
    CHECK(!strstr(t, "-1\n"));
    free(t);
}

static void test_filters_and_dedupe(void)
{
    struct rmq_collector c = {0};
    CHECK_INT(rmq_filter_init(&c.include_vhost, "/"), 0);
    CHECK_INT(rmq_filter_init(&c.exclude_queues, "c.*|q"), 0);
    struct fixture fx = {"queues_page.json", NULL, NULL, &c, 0};
    char *t = render(&fx);
    CHECK_INT(fx.rc, 0);
    /* Kept: "/" work and q1 ("q" alone is anchored and does not match "q1"); c1 excluded. */
    CHECK(strstr(t, "queue=\"work\"") != NULL);
    CHECK(strstr(t, "queue=\"q1\"") != NULL);
    CHECK(strstr(t, "queue=\"c1\"") == NULL);
    CHECK(strstr(t, "vhost=\"v1\"") == NULL);
    free(t);
    rmq_filter_cleanup(&c.include_vhost);
    rmq_filter_cleanup(&c.exclude_queues);

    /* The same queue on two pages (the list moved between requests) is exported once. */
    struct rmq_store st;
    rmq_store_init(&st, NULL);
    size_t len;
    char *buf = slurp("queues_page.json", &len);
    CHECK_INT(rmq_json_parse_all(RMQ_REPLY_QUEUES, buf, len, rmq_store_add_queue, &st, NULL), 0);
    CHECK_INT(rmq_json_parse_all(RMQ_REPLY_QUEUES, buf, len, rmq_store_add_queue, &st, NULL), 0);
    free(buf);
    CHECK_INT(st.nq, 8);
    rmq_store_finish(&st);
    CHECK_INT(st.nq, 4);
    CHECK_STR(rmq_store_str(&st, &st.q[0], RMQ_Q_NAME), "c1");
    CHECK_STR(rmq_store_str(&st, &st.q[3], RMQ_Q_VHOST), "v1");
    rmq_store_cleanup(&st);
}

static void test_filter_compile(void)
{
    struct rmq_filter f;
    CHECK_INT(rmq_filter_init(&f, "a(b"), -EINVAL);
    CHECK_INT(rmq_filter_init(&f, ""), 0);
    CHECK(!f.set);
    CHECK(rmq_filter_keep(&f, NULL, "anything"));
    CHECK_INT(rmq_filter_init(&f, "orders|jobs\\..*"), 0);
    CHECK(rmq_filter_keep(&f, NULL, "orders"));
    CHECK(rmq_filter_keep(&f, NULL, "jobs.retry"));
    CHECK(!rmq_filter_keep(&f, NULL, "orders.retry"));
    CHECK(!rmq_filter_keep(&f, NULL, "xorders"));
    CHECK(!rmq_filter_keep(NULL, &f, "orders"));
    rmq_filter_cleanup(&f);
}

/*
 * kbudde's environment variables match anywhere (Go regexp.MatchString);
 * the flags match whole names. RE2 class escapes are translated; syntax ERE
 * reads differently is reported and never pushed to the server.
 */
static void test_filter_kbudde(void)
{
    struct rmq_filter f;
    char warn[200];
    /* SKIP_QUEUES=amq\.gen: unanchored, so it excludes the server-named queues. */
    CHECK_INT(rmq_filter_init_ex(&f, "amq\\.gen", false, warn, sizeof(warn)), 0);
    CHECK_STR(warn, "");
    CHECK(!rmq_filter_keep(NULL, &f, "amq.gen-JzTY20BRgKO-HjmUJj0wLg"));
    CHECK(!rmq_filter_keep(NULL, &f, "x.amq.gen"));
    CHECK(rmq_filter_keep(NULL, &f, "amqXgen"));
    CHECK(rmq_filter_keep(NULL, &f, "orders"));
    CHECK(f.server_ok);
    CHECK(!f.anchored);
    rmq_filter_cleanup(&f);
    /* The flag keeps whole-name matching: the same pattern excludes nothing real. */
    CHECK_INT(rmq_filter_init_ex(&f, "amq\\.gen", true, warn, sizeof(warn)), 0);
    CHECK(rmq_filter_keep(NULL, &f, "amq.gen-JzTY20BRgKO-HjmUJj0wLg"));
    CHECK(!rmq_filter_keep(NULL, &f, "amq.gen"));
    rmq_filter_cleanup(&f);

    /* \d \w \s translated, outside and inside brackets, as RE2 reads them. */
    CHECK_INT(rmq_filter_init_ex(&f, "^q\\d+\\s\\w$", false, warn, sizeof(warn)), 0);
    CHECK_STR(warn, "");
    CHECK_STR(f.ere, "^q[0-9]+[[:space:]][[:alnum:]_]$");
    CHECK(rmq_filter_keep(&f, NULL, "q12 _"));
    CHECK(!rmq_filter_keep(&f, NULL, "qd s"));
    CHECK(f.server_ok);
    rmq_filter_cleanup(&f);
    CHECK_INT(rmq_filter_init_ex(&f, "[\\d\\.]+", true, warn, sizeof(warn)), 0);
    CHECK_STR(f.ere, "[0-9.]+");
    CHECK(rmq_filter_keep(&f, NULL, "1.2"));
    CHECK(!rmq_filter_keep(&f, NULL, "d\\"));
    rmq_filter_cleanup(&f);
    CHECK_INT(rmq_filter_init_ex(&f, "\\D\\W\\S", true, warn, sizeof(warn)), 0);
    CHECK(rmq_filter_keep(&f, NULL, "a-b"));
    CHECK(!rmq_filter_keep(&f, NULL, "1-b"));
    rmq_filter_cleanup(&f);

    /* What ERE reads differently: a warning, and the server never gets it. */
    static const char *const differ[] = {"(?i)orders", "(?:a|b)x", "a.*?b", "a+?",
                                         "\\bq\\b",    "[\\D]",    "q\\pL"};
    for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        int rc = rmq_filter_init_ex(&f, differ[i], false, warn, sizeof(warn));
        CHECK(rc == 0 || rc == -EINVAL);
        CHECK(warn[0] != '\0');
        CHECK(!f.server_ok);
        rmq_filter_cleanup(&f);
    }
    /* Same in both, but kept local to be safe: bounds, non-ASCII. */
    CHECK_INT(rmq_filter_init_ex(&f, "a{2}", true, warn, sizeof(warn)), 0);
    CHECK_STR(warn, "");
    CHECK(!f.server_ok);
    rmq_filter_cleanup(&f);
    CHECK_INT(rmq_filter_init_ex(&f, "caf\xc3\xa9", true, warn, sizeof(warn)), 0);
    CHECK(!f.server_ok);
    rmq_filter_cleanup(&f);
    /* The common safe subset is pushed. */
    CHECK_INT(rmq_filter_init_ex(&f, "(orders|jobs)-[a-z0-9]+\\..*", true, warn, sizeof(warn)), 0);
    CHECK(f.server_ok);
    CHECK_STR(warn, "");
    rmq_filter_cleanup(&f);
}

static void test_scrub_and_decode(void)
{
    char s[64];
    snprintf(s, sizeof(s), "login hunter2 failed: hunter2!");
    rmq_scrub_secret(s, sizeof(s), "hunter2");
    CHECK_STR(s, "login xxxxx failed: xxxxx!");
    snprintf(s, sizeof(s), "no secret here");
    rmq_scrub_secret(s, sizeof(s), "");
    CHECK_STR(s, "no secret here");
    char tiny[8];
    snprintf(tiny, sizeof(tiny), "ab%s", "pw");
    rmq_scrub_secret(tiny, sizeof(tiny), "pw");
    CHECK_STR(tiny, "abxxxxx");

    char out[32];
    CHECK_INT(rmq_percent_decode("%2F", 3, out, sizeof(out)), 0);
    CHECK_STR(out, "/");
    CHECK_INT(rmq_percent_decode("a%2fb%20c", 9, out, sizeof(out)), 0);
    CHECK_STR(out, "a/b c");
    CHECK_INT(rmq_percent_decode("bad%2", 5, out, sizeof(out)), -EINVAL);
    CHECK_INT(rmq_percent_decode("nul%00", 6, out, sizeof(out)), -EINVAL);
    CHECK_INT(rmq_percent_decode("%zz", 3, out, sizeof(out)), -EINVAL);
}

static void test_amqp_config(void)
{
    struct rmq_amqp *a = NULL;
    char err[256] = "";
    CHECK_INT(rmq_amqp_new("amqp://u:topsecret@127.0.0.1:5999/v1", "orders,%2F/c1,v2/a%2Fb", NULL,
                           NULL, 5, NULL, &a, err, sizeof(err)),
              0);
    rmq_amqp_free(a);
    a = NULL;
    CHECK_INT(rmq_amqp_new("amqp://u:topsecret@127.0.0.1:5999", "", NULL, NULL, 5, NULL, &a, err,
                           sizeof(err)),
              -EINVAL);
    CHECK_INT(rmq_amqp_new("amqp://u:topsecret@127.0.0.1:5999", "v/%zz", NULL, NULL, 5, NULL, &a,
                           err, sizeof(err)),
              -EINVAL);
    CHECK_INT(rmq_amqp_new("http://u:topsecret@h", "q", NULL, NULL, 5, NULL, &a, err, sizeof(err)),
              -EINVAL);
    CHECK(strstr(err, "topsecret") == NULL);
    CHECK(a == NULL);
}

/* ---- AMQP: a scrape does not wait past its deadline behind a hung one ---- */

struct hung_scrape {
    struct frond_registry *reg;
    double deadline;
    int rc;
};

static void *render_thread(void *arg)
{
    struct hung_scrape *h = arg;
    struct frond_buf out;
    frond_buf_init(&out, 1 << 20);
    h->rc = frond_registry_render(h->reg, FROND_EXPO_TEXT, h->deadline, &out);
    frond_buf_cleanup(&out);
    return NULL;
}

static void test_amqp_lock_deadline(void)
{
    /* A broker that completes TCP handshakes (backlog) and never says a word. */
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    CHECK(ls >= 0);
    CHECK_INT(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_INT(listen(ls, 8), 0);
    CHECK_INT(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char url[64];
    snprintf(url, sizeof(url), "amqp://u:p@127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    struct rmq_amqp *a = NULL;
    char err[256] = "";
    CHECK_INT(rmq_amqp_new(url, "v/q", NULL, NULL, 3, NULL, &a, err, sizeof(err)), 0);
    struct frond_registry *reg = frond_registry_new();
    CHECK(a && reg);
    if (!a || !reg) {
        rmq_amqp_free(a);
        frond_registry_free(reg);
        close(ls);
        return;
    }
    CHECK_INT(frond_registry_add_collector(reg, rmq_amqp_collect, a), 0);

    /* The first scrape connects and hangs in the handshake, holding the connections. */
    struct hung_scrape first = {.reg = reg, .deadline = frond_now_monotonic() + 3};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, render_thread, &first), 0);
    struct pollfd pfd = {.fd = ls, .events = POLLIN};
    CHECK_INT(poll(&pfd, 1, 2500), 1);
    int conn = accept(ls, NULL, NULL);
    CHECK(conn >= 0);

    /* The second has a 0.5 s budget: it must answer in about that, not after the first. */
    struct frond_buf out;
    frond_buf_init(&out, 1 << 20);
    double t0 = frond_now_monotonic();
    CHECK_INT(frond_registry_render(reg, FROND_EXPO_TEXT, t0 + 0.5, &out), 0);
    double took = frond_now_monotonic() - t0;
    CHECK(took < 1.5);
    CHECK(strstr(frond_buf_cstr(&out), "\nrabbitmq_amqp_up 0\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "\nrabbitmq_up 0\n") != NULL);
    CHECK(strstr(frond_buf_cstr(&out), "rabbitmq_queue_messages_ready{") == NULL);
    frond_buf_cleanup(&out);

    pthread_join(t, NULL);
    CHECK_INT(first.rc, 0);
    if (conn >= 0) {
        close(conn);
    }
    close(ls);
    frond_registry_free(reg);
    rmq_amqp_free(a);
}

/* --rabbit.url: only absolute http(s) URLs with a host; the reason never quotes the URL. */
static void test_url_check(void)
{
    char err[160] = "";
    CHECK_INT(rmq_mgmt_check_url("http://127.0.0.1:15672", err, sizeof(err)), 0);
    CHECK_INT(rmq_mgmt_check_url("https://u:p%40ss@rabbit.example/", err, sizeof(err)), 0);
    CHECK_INT(rmq_mgmt_check_url("HTTP://[::1]:15672/", err, sizeof(err)), 0);
    CHECK_INT(rmq_mgmt_check_url("ftp://x", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "scheme must be http or https") != NULL);
    CHECK_INT(rmq_mgmt_check_url("amqp://u:topsecret@h:5672", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "topsecret") == NULL);
    CHECK_INT(rmq_mgmt_check_url("127.0.0.1:15672", err, sizeof(err)), -EINVAL);
    CHECK_INT(rmq_mgmt_check_url("http://", err, sizeof(err)), -EINVAL);
    CHECK_INT(rmq_mgmt_check_url("http:///api", err, sizeof(err)), -EINVAL);
    CHECK_INT(rmq_mgmt_check_url("", err, sizeof(err)), -EINVAL);
    CHECK_INT(rmq_mgmt_check_url("not a url", err, sizeof(err)), -EINVAL);
}

int main(void)
{
    test_full_mapping();
    test_filters_and_dedupe();
    test_filter_compile();
    test_filter_kbudde();
    test_scrub_and_decode();
    test_amqp_config();
    test_url_check();
    test_amqp_lock_deadline();
    return check_done("test_rabbitmq_collect");
}
