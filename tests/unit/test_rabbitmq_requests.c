/*
 * Unit tests of the request shapes of the RabbitMQ management-API collector
 * (exporters/rabbitmq/collect.c): a tiny fake management API on 127.0.0.1
 * records every request target the real collector sends (through libcurl,
 * rmq_collect and a real registry) and answers canned JSON. The tests
 * assert the exact URLs of each mode (queue statistics on/off, paginated or
 * one request per vhost, a pushed include regex) and that consumer counts
 * in the statistics-free mode come from /api/consumers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
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
#include "mgmt.h"

#define MAX_REQS 64

/* The fake API: one accepting thread, connections served one at a time. */
struct fake {
    int ls;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    char *reqs[MAX_REQS]; /* request targets in arrival order */
    size_t nreqs;
    bool stop;
};

static const char *reply_for(const char *target)
{
    if (strncmp(target, "/api/overview", 13) == 0) {
        return "{\"cluster_name\":\"c\",\"object_totals\":{\"queues\":3}}";
    }
    if (strncmp(target, "/api/nodes", 10) == 0) {
        return "[{\"name\":\"n1\",\"running\":true}]";
    }
    if (strncmp(target, "/api/vhosts", 11) == 0) {
        return "[{\"name\":\"/\"},{\"name\":\"v2\"}]";
    }
    if (strncmp(target, "/api/consumers", 14) == 0) {
        /* Two consumers on /:q1, one on a queue the listing does not have. */
        return "[{\"queue\":{\"name\":\"q1\",\"vhost\":\"/\"}},"
               "{\"queue\":{\"name\":\"q1\",\"vhost\":\"/\"}},"
               "{\"queue\":{\"name\":\"gone\",\"vhost\":\"/\"}}]";
    }
    bool paged = strstr(target, "&page=") != NULL;
    if (strncmp(target, "/api/queues/%2F?", 16) == 0) {
        if (!paged) {
            return "[{\"name\":\"q1\",\"vhost\":\"/\",\"messages_ready\":5},"
                   "{\"name\":\"q2\",\"vhost\":\"/\",\"messages_ready\":0}]";
        }
        if (strstr(target, "&page=1&")) {
            return "{\"items\":[{\"name\":\"q1\",\"vhost\":\"/\",\"messages_ready\":5,"
                   "\"consumers\":7}],\"page\":1,\"page_count\":2}";
        }
        return "{\"items\":[{\"name\":\"q2\",\"vhost\":\"/\",\"messages_ready\":0,"
               "\"consumers\":0}],\"page\":2,\"page_count\":2}";
    }
    if (strncmp(target, "/api/queues/v2?", 15) == 0) {
        return paged ? "{\"items\":[{\"name\":\"q3\",\"vhost\":\"v2\",\"messages_ready\":1}],"
                       "\"page\":1,\"page_count\":1}"
                     : "[{\"name\":\"q3\",\"vhost\":\"v2\",\"messages_ready\":1}]";
    }
    return NULL;
}

static void serve_conn(struct fake *f, int fd)
{
    char buf[16384];
    size_t have = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 5000) <= 0) {
            return;
        }
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) {
            return;
        }
        have += (size_t)n;
        buf[have] = '\0';
        char *end;
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            char target[8192] = "";
            char *sp1 = strchr(buf, ' ');
            char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            if (sp1 && sp2 && (size_t)(sp2 - sp1 - 1) < sizeof(target)) {
                memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
                target[sp2 - sp1 - 1] = '\0';
            }
            pthread_mutex_lock(&f->lock);
            if (f->nreqs < MAX_REQS) {
                f->reqs[f->nreqs++] = strdup(target);
            }
            pthread_mutex_unlock(&f->lock);
            const char *body = reply_for(target);
            char head[256];
            int hl = body ? snprintf(head, sizeof(head),
                                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: %zu\r\n\r\n",
                                     strlen(body))
                          : snprintf(head, sizeof(head),
                                     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            if (write(fd, head, (size_t)hl) != hl ||
                (body && write(fd, body, strlen(body)) != (ssize_t)strlen(body))) {
                return;
            }
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, buf + used, have - used + 1);
            have -= used;
        }
        if (have >= sizeof(buf) - 1) {
            return;
        }
    }
}

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        struct pollfd pfd = {.fd = f->ls, .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        pthread_mutex_lock(&f->lock);
        bool stop = f->stop;
        pthread_mutex_unlock(&f->lock);
        if (stop) {
            return NULL;
        }
        if (pr <= 0) {
            continue;
        }
        int fd = accept(f->ls, NULL, NULL);
        if (fd >= 0) {
            serve_conn(f, fd);
            close(fd);
        }
    }
}

static int fake_start(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (f->ls < 0 || bind(f->ls, (struct sockaddr *)&a, sizeof(a)) || listen(f->ls, 8) ||
        getsockname(f->ls, (struct sockaddr *)&a, &al)) {
        return -1;
    }
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->thread, NULL, fake_run, f) ? -1 : 0;
}

static void fake_stop(struct fake *f)
{
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    close(f->ls);
    for (size_t i = 0; i < f->nreqs; i++) {
        free(f->reqs[i]);
    }
    pthread_mutex_destroy(&f->lock);
}

/* One scrape of a collector configured by the caller; returns the exposition. */
static char *scrape(struct fake *f, struct rmq_collector *c)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
    c->mgmt = (struct rmq_mgmt_opts){
        .url = url, .user = "guest", .password = "guest", .max_reply_bytes = 1u << 20};
    c->timeout = 10;
    c->concurrency = 1; /* one connection: the request order is deterministic */
    struct frond_registry *reg = frond_registry_new();
    struct frond_buf out;
    frond_buf_init(&out, 1u << 20);
    CHECK(reg != NULL);
    if (!reg) {
        return calloc(1, 1);
    }
    CHECK_INT(rmq_collector_register(c, reg, false), 0);
    CHECK_INT(frond_registry_render(reg, FROND_EXPO_TEXT, 0, &out), 0);
    frond_registry_free(reg);
    size_t n;
    char *s = frond_buf_take(&out, &n);
    return s ? s : calloc(1, 1);
}

/* Forget the requests seen so far (between two scrapes of one test). */
static void fake_reset(struct fake *f)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nreqs; i++) {
        free(f->reqs[i]);
    }
    f->nreqs = 0;
    pthread_mutex_unlock(&f->lock);
}

static void check_reqs(struct fake *f, const char *const *want)
{
    size_t n = 0;
    while (want[n]) {
        n++;
    }
    pthread_mutex_lock(&f->lock);
    CHECK_INT((long)f->nreqs, (long)n);
    for (size_t i = 0; i < n && i < f->nreqs; i++) {
        CHECK_STR(f->reqs[i], want[i]);
    }
    pthread_mutex_unlock(&f->lock);
}

#define QCOLS                                                                                      \
    "columns=name,vhost,type,durable,policy,node,leader,state,messages,messages_ready,"            \
    "messages_unacknowledged,consumers,consumer_utilisation,consumer_capacity,message_bytes,"      \
    "head_message_timestamp,message_stats.publish,message_stats.deliver_get,"                      \
    "message_stats.ack,message_stats.redeliver"
#define QCOLS_FAST                                                                                 \
    "disable_stats=true&enable_queue_totals=true&columns=name,vhost,type,durable,node,leader,"     \
    "state,"                                                                                       \
    "messages,messages_ready,messages_unacknowledged"
#define OV                                                                                         \
    "/api/"                                                                                        \
    "overview?columns=cluster_name,rabbitmq_version,erlang_version,object_totals,queue_totals"
#define NODES                                                                                      \
    "/api/nodes?columns=name,running,uptime,mem_used,mem_limit,mem_alarm,disk_free,"               \
    "disk_free_limit,disk_free_alarm,fd_used,fd_total,sockets_used,sockets_total,proc_used,"       \
    "proc_total,partitions"

/* The requests of one scrape with and without statistics (fake API: vhosts / and v2). */
static const char *const want_stats[] = {
    OV,
    NODES,
    "/api/vhosts?columns=name",
    "/api/queues/%2F?" QCOLS "&page=1&page_size=500",
    "/api/queues/%2F?" QCOLS "&page=2&page_size=500",
    "/api/queues/v2?" QCOLS "&page=1&page_size=500",
    NULL,
};
static const char *const want_no_stats[] = {
    OV,
    NODES,
    "/api/vhosts?columns=name",
    "/api/queues/%2F?" QCOLS_FAST,
    "/api/queues/v2?" QCOLS_FAST,
    "/api/consumers?columns=queue.name,queue.vhost",
    NULL,
};

/* The default: statistics on, 500-queue pages per vhost, no /api/consumers. */
static void test_default_requests(void)
{
    struct fake f;
    CHECK_INT(fake_start(&f), 0);
    struct rmq_collector c = {.page_size = 500, .queue_stats = true};
    char *text = scrape(&f, &c);
    check_reqs(&f, want_stats);
    CHECK_LINE(text, "rabbitmq_up 1");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"q1\"} 7");
    CHECK_LINE(text, "rabbitmq_exporter_queue_stats_enabled 1");
    CHECK(strstr(text, "endpoint=\"consumers\"") == NULL);
    free(text);
    fake_stop(&f);
}

/* Statistics off: one unpaginated request per vhost, then /api/consumers for the counts. */
static void test_fast_requests(void)
{
    struct fake f;
    CHECK_INT(fake_start(&f), 0);
    struct rmq_collector c = {.page_size = 0, .queue_stats = false};
    char *text = scrape(&f, &c);
    check_reqs(&f, want_no_stats);
    CHECK_LINE(text, "rabbitmq_up 1");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"q1\"} 2");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"q2\"} 0");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"v2\",queue=\"q3\"} 0");
    CHECK_LINE(text, "rabbitmq_queue_messages_ready{vhost=\"/\",queue=\"q1\"} 5");
    CHECK_LINE(text, "rabbitmq_exporter_scrape_errors_total{endpoint=\"consumers\"} 0");
    CHECK(strstr(text, "queue=\"gone\"") == NULL);
    free(text);
    fake_stop(&f);
}

/*
 * Statistics off but a pushed include regex: RabbitMQ filters by name only
 * on paginated listings, so the requests are paged even with page_size 0.
 */
static void test_fast_pushed_regex(void)
{
    struct fake f;
    CHECK_INT(fake_start(&f), 0);
    struct rmq_collector c = {.page_size = 0, .queue_stats = false, .push_queue_regex = true};
    CHECK_INT(rmq_filter_init(&c.include_queues, "q[0-9]"), 0);
    char *text = scrape(&f, &c);
    static const char *const want[] = {
        OV,
        NODES,
        "/api/vhosts?columns=name",
        "/api/queues/%2F?" QCOLS_FAST
        "&page=1&page_size=500&name=%5E%28q%5B0-9%5D%29%24&use_regex=true",
        "/api/queues/%2F?" QCOLS_FAST
        "&page=2&page_size=500&name=%5E%28q%5B0-9%5D%29%24&use_regex=true",
        "/api/queues/v2?" QCOLS_FAST
        "&page=1&page_size=500&name=%5E%28q%5B0-9%5D%29%24&use_regex=true",
        "/api/consumers?columns=queue.name,queue.vhost",
        NULL,
    };
    check_reqs(&f, want);
    CHECK_LINE(text, "rabbitmq_up 1");
    free(text);
    rmq_filter_cleanup(&c.include_queues);
    fake_stop(&f);
}

/*
 * --rabbit.queue-stats-limit: the overview's 3 queues are over a limit of
 * 2, so the first scrape lists without statistics (and reads consumers);
 * a limit of 3 keeps them.
 */
static void test_stats_limit_from_overview(void)
{
    struct fake f;
    CHECK_INT(fake_start(&f), 0);
    struct rmq_collector c = {.page_size = 500, .queue_stats = true, .queue_stats_limit = 2};
    char *text = scrape(&f, &c);
    check_reqs(&f, want_no_stats);
    CHECK_LINE(text, "rabbitmq_up 1");
    CHECK_LINE(text, "rabbitmq_exporter_queue_stats_enabled 0");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"q1\"} 2");
    CHECK_LINE(text, "rabbitmq_exporter_scrape_errors_total{endpoint=\"consumers\"} 0");
    free(text);

    fake_reset(&f);
    struct rmq_collector c3 = {.page_size = 500, .queue_stats = true, .queue_stats_limit = 3};
    text = scrape(&f, &c3);
    check_reqs(&f, want_stats);
    CHECK_LINE(text, "rabbitmq_exporter_queue_stats_enabled 1");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"q1\"} 7");
    free(text);
    fake_stop(&f);
}

/*
 * After a listing, the expected size is what the exporter exported (after
 * its filters), not the cluster's total: with only q1 kept, the second
 * scrape is under the limit of 2 and lists with statistics.
 */
static void test_stats_limit_follows_exported_queues(void)
{
    struct fake f;
    CHECK_INT(fake_start(&f), 0);
    struct rmq_collector c = {.page_size = 500, .queue_stats = true, .queue_stats_limit = 2};
    CHECK_INT(rmq_filter_init(&c.include_queues, "q1"), 0);
    char *text = scrape(&f, &c);
    check_reqs(&f, want_no_stats);
    CHECK_LINE(text, "rabbitmq_exporter_queue_stats_enabled 0");
    free(text);

    fake_reset(&f);
    text = scrape(&f, &c);
    check_reqs(&f, want_stats);
    CHECK_LINE(text, "rabbitmq_exporter_queue_stats_enabled 1");
    CHECK_LINE(text, "rabbitmq_queue_consumers{vhost=\"/\",queue=\"q1\"} 7");
    CHECK(strstr(text, "queue=\"q2\"") == NULL);
    free(text);
    rmq_filter_cleanup(&c.include_queues);
    fake_stop(&f);
}

int main(void)
{
    if (rmq_mgmt_global_init()) {
        fprintf(stderr, "cannot initialise libcurl\n");
        return 1;
    }
    test_default_requests();
    test_fast_requests();
    test_fast_pushed_regex();
    test_stats_limit_from_overview();
    test_stats_limit_follows_exported_queues();
    rmq_mgmt_global_cleanup();
    return check_done("test_rabbitmq_requests");
}
