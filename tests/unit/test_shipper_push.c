/*
 * Unit tests for shipper/push.c and push_policy.c: the verdict table, backoff bounds and
 * jitter, Retry-After parsing (delta-seconds and HTTP-date), drop reasons,
 * and the queue end to end against a scripted HTTP server running in a
 * thread of this test: acks only after 2xx (with the max offset per
 * source, in order), batchwait and batchsize flushes, the backlog bound,
 * 500 retried, 400 dropped and acked, max_retries, Retry-After honoured,
 * and a stop whose deadline passes without acking what Loki never took.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shipper/batch.c"
#include "../../shipper/push.c"
#include "../../shipper/push_policy.c"
#include "check.h"

/* ---- pure helpers ---- */

static void test_verdicts(void)
{
    static const struct {
        bool transport_ok;
        long status;
        enum push_verdict want;
    } table[] = {
        {true, 200, PUSH_OK},         {true, 204, PUSH_OK},         {true, 299, PUSH_OK},
        {true, 400, PUSH_DROP},       {true, 422, PUSH_DROP},       {true, 401, PUSH_RETRY_LOUD},
        {true, 403, PUSH_RETRY_LOUD}, {true, 404, PUSH_RETRY_LOUD}, {true, 413, PUSH_RETRY_LOUD},
        {true, 429, PUSH_RETRY},      {true, 500, PUSH_RETRY},      {true, 502, PUSH_RETRY},
        {true, 503, PUSH_RETRY},      {true, 599, PUSH_RETRY},      {false, 0, PUSH_RETRY},
        {false, 200, PUSH_RETRY},     {true, 301, PUSH_RETRY_LOUD}, {true, 100, PUSH_RETRY_LOUD},
        {true, 0, PUSH_RETRY_LOUD},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(table); i++) {
        enum push_verdict got = push_classify(table[i].transport_ok, table[i].status);
        if (got != table[i].want) {
            fprintf(stderr, "status %ld transport_ok %d: got %s want %s\n", table[i].status,
                    table[i].transport_ok, push_verdict_name(got),
                    push_verdict_name(table[i].want));
        }
        CHECK(got == table[i].want);
    }
}

static void test_backoff(void)
{
    struct push_backoff b;
    push_backoff_init(&b, 0.5, 300);
    /* The window doubles: [0.5,1], [1,2], [2,4], ... capped at 300. */
    double lo = 0.5, hi = 1.0;
    for (int i = 0; i < 20; i++) {
        double d0 = push_backoff_next(&b, 0.0);
        CHECK_DBL(d0, lo);
        lo = lo * 2 < 300 ? lo * 2 : 300;
        hi = hi * 2 < 300 ? hi * 2 : 300;
    }
    CHECK_DBL(push_backoff_next(&b, 0.99), 300);
    push_backoff_reset(&b);
    CHECK_DBL(push_backoff_next(&b, 0.0), 0.5);
    CHECK(push_backoff_next(&b, 0.999999) < 2.0);
    /* Jitter spreads over the window and stays inside it. */
    push_backoff_reset(&b);
    (void)push_backoff_next(&b, 0);
    (void)push_backoff_next(&b, 0);
    double mn = 1e9, mx = 0;
    for (int i = 0; i < 1000; i++) {
        struct push_backoff c = b;
        double d = push_backoff_next(&c, (double)i / 1000.0);
        mn = d < mn ? d : mn;
        mx = d > mx ? d : mx;
    }
    CHECK(mn >= 2.0 && mn < 2.01);
    CHECK(mx <= 4.0 && mx > 3.99);
    /* Bad randomness cannot escape the window. */
    struct push_backoff c = b;
    double d = push_backoff_next(&c, -1);
    CHECK(d >= 2.0 && d <= 4.0);
    c = b;
    d = push_backoff_next(&c, 7);
    CHECK(d >= 2.0 && d <= 4.0);
    /* min == max: no jitter. */
    push_backoff_init(&b, 1, 1);
    CHECK_DBL(push_backoff_next(&b, 0.7), 1);
    /* Retry-After longer than the backoff wins; shorter does not. */
    push_backoff_init(&b, 0.5, 300);
    CHECK_DBL(push_next_delay(&b, 10, 0), 10);
    CHECK_DBL(push_next_delay(&b, 0.1, 0), 1);
    CHECK_DBL(push_next_delay(&b, -1, 0), 2);
}

static void test_retry_after(void)
{
    double v = -1;
    /* 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT. */
    double now = 1445412480.0 - 30;
    CHECK_INT(push_parse_retry_after("120", 3, now, &v), 0);
    CHECK_DBL(v, 120);
    CHECK_INT(push_parse_retry_after("  7 \r\n", 6, now, &v), 0);
    CHECK_DBL(v, 7);
    CHECK_INT(push_parse_retry_after("0", 1, now, &v), 0);
    CHECK_DBL(v, 0);
    CHECK_INT(push_parse_retry_after("99999999999999999999999", 23, now, &v), 0);
    CHECK_DBL(v, PUSH_RETRY_AFTER_MAX);
    const char *date = "Wed, 21 Oct 2015 07:28:00 GMT";
    CHECK_INT(push_parse_retry_after(date, strlen(date), now, &v), 0);
    CHECK_DBL(v, 30);
    const char *rfc850 = "Wednesday, 21-Oct-15 07:28:00 GMT";
    CHECK_INT(push_parse_retry_after(rfc850, strlen(rfc850), now, &v), 0);
    CHECK_DBL(v, 30);
    const char *asctime_ = "Wed Oct 21 07:28:00 2015";
    CHECK_INT(push_parse_retry_after(asctime_, strlen(asctime_), now, &v), 0);
    CHECK_DBL(v, 30);
    /* A date in the past means "now". */
    CHECK_INT(push_parse_retry_after(date, strlen(date), now + 100, &v), 0);
    CHECK_DBL(v, 0);
    const char *bad[] = {"",
                         "  ",
                         "-5",
                         "1.5",
                         "soon",
                         "12abc",
                         "Wed, 99 Foo 2015 99:99:99 GMT and a lot more text after it"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        v = -1;
        int rc = push_parse_retry_after(bad[i], strlen(bad[i]), now, &v);
        if (rc != -EINVAL) {
            fprintf(stderr, "accepted bad Retry-After %s as %g\n", bad[i], v);
        }
        CHECK_INT(rc, -EINVAL);
    }
}

static void test_drop_reasons(void)
{
    const char *b1 = "entry with timestamp 2026-01-01 ignored, reason: 'entry out of order' for "
                     "stream: {a=\"b\"}";
    CHECK_STR(push_drop_reason(b1, strlen(b1)), "out_of_order");
    const char *b2 = "entry for stream '{a=\"b\"}' has timestamp too old: 2020-01-01";
    CHECK_STR(push_drop_reason(b2, strlen(b2)), "too_old");
    const char *b3 = "Max entry size '256' bytes exceeded for stream '{a=\"b\"}' while adding "
                     "an entry with length '300' bytes";
    CHECK_STR(push_drop_reason(b3, strlen(b3)), "line_too_long");
    /* promtail's reason names where they mean the same thing. */
    const char *b5 = "Maximum active stream limit exceeded when trying to create stream "
                     "{a=\"b\"}, reduce the number of active streams, user: 'fake'";
    CHECK_STR(push_drop_reason(b5, strlen(b5)), "stream_limited");
    const char *b6 = "Per stream rate limit exceeded (limit: 3MB/sec) while attempting to ingest "
                     "for stream '{a=\"b\"}' totaling 5MB";
    CHECK_STR(push_drop_reason(b6, strlen(b6)), "rate_limited");
    const char *b7 = "Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec)";
    CHECK_STR(push_drop_reason(b7, strlen(b7)), "rate_limited");
    CHECK_STR(push_drop_reason("something else", 14), "ingester_error");
    const char *b4 = "error parsing labels '{a=b}' with error: 1:4: parse error";
    CHECK_STR(push_drop_reason(b4, strlen(b4)), "invalid_labels");
    CHECK_STR(push_drop_reason(NULL, 0), "ingester_error");
    char out[16];
    CHECK_INT(push_first_line("first\nsecond", 12, out, sizeof(out)), 5);
    CHECK_STR(out, "first");
    CHECK_INT(push_first_line("a very long first line", 22, out, sizeof(out)), 15);
    CHECK_STR(out, "a very long fir");
    CHECK_INT(push_first_line("x\0y", 3, out, sizeof(out)), 3);
    CHECK_STR(out, "x y");
    CHECK_INT(push_first_line(NULL, 0, out, sizeof(out)), 0);
    CHECK_STR(out, "");
    struct push_outcome oc;
    push_outcome_from_response(true, 429, " 3", 2, "slow down\nmore", 14, 0, &oc);
    CHECK(oc.verdict == PUSH_RETRY);
    CHECK_DBL(oc.retry_after, 3);
    CHECK_STR(oc.first_line, "slow down");
    push_outcome_from_response(false, 0, "3", 1, NULL, 0, 0, &oc);
    CHECK(oc.verdict == PUSH_RETRY);
    CHECK_DBL(oc.retry_after, -1);
    push_outcome_from_response(true, 400, NULL, 0, b1, strlen(b1), 0, &oc);
    CHECK(oc.verdict == PUSH_DROP);
    CHECK_STR(oc.drop_reason, "out_of_order");
}

/* ---- a scripted HTTP server in a thread ---- */

struct reply {
    int status;
    const char *retry_after; /* NULL: none */
    const char *body;
    bool hang_up; /* close the connection without answering */
    bool stall;   /* never answer (until the server stops) */
};

struct server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    const struct reply *script; /* the last reply repeats */
    size_t nscript;
    size_t nrequests;
    double times[64];
    size_t entries[64];
    char tenant[4096];
    char tenants[8][64]; /* X-Scope-OrgID of the first requests */
    char user_agent[64];
    char content_type[64];
    char authorization[8192];
    char custom[8192];
    atomic_bool quit;
};

static void header_value(const char *head, const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = head; (p = strcasestr(p, name)) != NULL; p += n) {
        if (p != head && p[-1] != '\n') {
            continue;
        }
        p += n;
        while (*p == ' ') {
            p++;
        }
        size_t i = 0;
        while (p[i] && p[i] != '\r' && i + 1 < outsz) {
            out[i] = p[i];
            i++;
        }
        out[i] = '\0';
        return;
    }
}

static size_t count_entries(const char *body, size_t len)
{
    size_t n = 0, total = 0;
    if (snappy_uncompressed_length(body, len, &n) != SNAPPY_OK) {
        return 0;
    }
    char *raw = malloc(n ? n : 1);
    if (raw && snappy_uncompress(body, len, raw, &n) == SNAPPY_OK) {
        Logproto__PushRequest *req = logproto__push_request__unpack(NULL, n, (const uint8_t *)raw);
        for (size_t i = 0; req && i < req->n_streams; i++) {
            total += req->streams[i]->n_entries;
        }
        logproto__push_request__free_unpacked(req, NULL);
    }
    free(raw);
    return total;
}

/* Serve one connection until the client closes it; false to close it early. */
static bool serve_request(struct server *s, int c)
{
    char head[32768];
    size_t hl = 0;
    char *end = NULL;
    while (!end) {
        if (hl + 1 >= sizeof(head)) {
            return false;
        }
        ssize_t r = recv(c, head + hl, sizeof(head) - 1 - hl, 0);
        if (r <= 0) {
            return false;
        }
        hl += (size_t)r;
        head[hl] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    char cl[32];
    header_value(head, "Content-Length:", cl, sizeof(cl));
    size_t len = (size_t)strtoul(cl, NULL, 10);
    size_t have = hl - (size_t)(end + 4 - head);
    char *body = malloc(len + 1);
    if (!body) {
        return false;
    }
    memcpy(body, end + 4, have < len ? have : len);
    while (have < len) {
        ssize_t r = recv(c, body + have, len - have, 0);
        if (r <= 0) {
            free(body);
            return false;
        }
        have += (size_t)r;
    }
    size_t entries = count_entries(body, len);
    free(body);
    pthread_mutex_lock(&s->mu);
    size_t i = s->nrequests++;
    if (i < FROND_ARRAY_SIZE(s->times)) {
        s->times[i] = frond_now_monotonic();
        s->entries[i] = entries;
    }
    header_value(head, "X-Scope-OrgID:", s->tenant, sizeof(s->tenant));
    if (i < FROND_ARRAY_SIZE(s->tenants)) {
        /* The first requests' tenants are short; a long one is checked through `tenant`. */
        size_t tl = strnlen(s->tenant, sizeof(s->tenants[i]) - 1);
        memcpy(s->tenants[i], s->tenant, tl);
        s->tenants[i][tl] = '\0';
    }
    header_value(head, "User-Agent:", s->user_agent, sizeof(s->user_agent));
    header_value(head, "Content-Type:", s->content_type, sizeof(s->content_type));
    header_value(head, "Authorization:", s->authorization, sizeof(s->authorization));
    header_value(head, "X-Custom:", s->custom, sizeof(s->custom));
    const struct reply *r = &s->script[i < s->nscript ? i : s->nscript - 1];
    pthread_mutex_unlock(&s->mu);
    if (r->hang_up) {
        return false;
    }
    while (r->stall && !atomic_load(&s->quit)) {
        usleep(10000);
    }
    char resp[1024];
    const char *b = r->body ? r->body : "";
    char ra[64] = "";
    if (r->retry_after) {
        snprintf(ra, sizeof(ra), "Retry-After: %s\r\n", r->retry_after);
    }
    int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n%s",
                     r->status, ra, strlen(b), b);
    return send(c, resp, (size_t)n, MSG_NOSIGNAL) == n;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    while (!atomic_load(&s->quit)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) {
            continue;
        }
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            continue;
        }
        for (;;) {
            struct pollfd pc = {.fd = c, .events = POLLIN};
            int pr = poll(&pc, 1, 50);
            if (atomic_load(&s->quit)) {
                break;
            }
            if (pr <= 0) {
                continue;
            }
            if (!serve_request(s, c)) {
                break;
            }
        }
        close(c);
    }
    return NULL;
}

static void server_start(struct server *s, const struct reply *script, size_t n)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->script = script;
    s->nscript = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    CHECK_INT(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_INT(listen(s->fd, 16), 0);
    CHECK_INT(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
    atomic_store(&s->quit, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}

static size_t server_requests(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->nrequests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- acks ---- */

struct acks {
    pthread_mutex_t mu;
    size_t n;
    uint64_t src[256];
    uint64_t off[256];
    bool out_of_order;
};

static void on_ack(void *ctx, uint64_t source_id, uint64_t end_offset)
{
    struct acks *a = ctx;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++) {
        if (a->src[i] == source_id && a->off[i] >= end_offset) {
            a->out_of_order = true;
        }
    }
    if (a->n < FROND_ARRAY_SIZE(a->src)) {
        a->src[a->n] = source_id;
        a->off[a->n] = end_offset;
        a->n++;
    }
    pthread_mutex_unlock(&a->mu);
}

static uint64_t acked(struct acks *a, uint64_t source_id)
{
    uint64_t best = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++) {
        if (a->src[i] == source_id && a->off[i] > best) {
            best = a->off[i];
        }
    }
    pthread_mutex_unlock(&a->mu);
    return best;
}

static size_t nacks(struct acks *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* Poll `cond` for up to `timeout` seconds: tests never sleep a fixed time. */
#define WAIT_FOR(cond, timeout)                                                                    \
    do {                                                                                           \
        double wait_until_ = frond_now_monotonic() + (timeout);                                    \
        while (!(cond) && frond_now_monotonic() < wait_until_) {                                   \
            usleep(5000);                                                                          \
        }                                                                                          \
    } while (0)

struct fixture {
    struct server srv;
    struct acks acks;
    char url[64];
    struct ship_client_config cfg;
};

static void fixture_start(struct fixture *f, const struct reply *script, size_t n)
{
    memset(f, 0, sizeof(*f));
    server_start(&f->srv, script, n);
    pthread_mutex_init(&f->acks.mu, NULL);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/loki/api/v1/push", f->srv.port);
    f->cfg.url = f->url;
    f->cfg.batchwait = 10;
    f->cfg.batchsize = 1 << 20;
    f->cfg.timeout = 5;
    f->cfg.backoff_min = 0.01;
    f->cfg.backoff_max = 0.05;
}

static void fixture_stop(struct fixture *f)
{
    server_stop(&f->srv);
    pthread_mutex_destroy(&f->acks.mu);
}

static int push_line(struct ship_queue *q, uint64_t src, uint64_t off, const char *line)
{
    struct ship_entry e = {
        .ts_ns = (int64_t)off,
        .line = line,
        .line_len = strlen(line),
        .labels = "{job=\"t\"}",
        .labels_len = 9,
        .source_id = src,
        .end_offset = off,
    };
    return ship_queue_push(q, &e);
}

static void test_queue_acks_and_headers(void)
{
    static const struct reply ok[] = {{204, NULL, NULL, false, false}};
    struct fixture f;
    fixture_start(&f, ok, 1);
    f.cfg.tenant_id = "tenant-1";
    f.cfg.basic_auth_user = "u";
    f.cfg.basic_auth_password = "p";
    struct ship_header h = {"X-Custom", "yes"};
    f.cfg.headers = &h;
    f.cfg.nheaders = 1;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK(q != NULL);
    for (uint64_t i = 1; i <= 10; i++) {
        CHECK_INT(push_line(q, i % 2, i * 10, "hello"), 0);
    }
    CHECK(ship_queue_backlog(q) == 10 * (5 + 9));
    /* Nothing is acked before Loki answered. */
    CHECK_INT(nacks(&f.acks), 0);
    ship_queue_stop(q, frond_now_monotonic() + 10);
    CHECK_INT(server_requests(&f.srv), 1);
    CHECK_INT(f.srv.entries[0], 10);
    CHECK_INT(acked(&f.acks, 0), 100);
    CHECK_INT(acked(&f.acks, 1), 90);
    CHECK_INT(nacks(&f.acks), 2);
    CHECK_STR(f.srv.tenant, "tenant-1");
    CHECK_STR(f.srv.content_type, "application/x-protobuf");
    CHECK_STR(f.srv.user_agent, "frondtail/" FROND_VERSION);
    CHECK_STR(f.srv.authorization, "Basic dTpw");
    CHECK_STR(f.srv.custom, "yes");
    fixture_stop(&f);
}

static void test_queue_batchwait(void)
{
    static const struct reply ok[] = {{204, NULL, NULL, false, false}};
    struct fixture f;
    fixture_start(&f, ok, 1);
    f.cfg.batchwait = 0.2;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    double t0 = frond_now_monotonic();
    CHECK_INT(push_line(q, 1, 5, "x"), 0);
    WAIT_FOR(acked(&f.acks, 1) == 5, 10);
    double dt = frond_now_monotonic() - t0;
    CHECK_INT(acked(&f.acks, 1), 5);
    CHECK(dt >= 0.19);
    WAIT_FOR(ship_queue_backlog(q) == 0, 5);
    CHECK_INT(ship_queue_backlog(q), 0);
    /* No bearer token or tenant: no such headers. */
    CHECK_STR(f.srv.tenant, "");
    CHECK_STR(f.srv.authorization, "");
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
}

static void test_queue_batchsize(void)
{
    static const struct reply ok[] = {{204, NULL, NULL, false, false}};
    struct fixture f;
    fixture_start(&f, ok, 1);
    f.cfg.batchsize = 100;
    f.cfg.batchwait = 30;
    f.cfg.bearer_token = "tok";
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    double t0 = frond_now_monotonic();
    /* 30-byte lines: three fit in 100 bytes, the fourth starts a new batch. */
    /*
     * At most PUSH_MAX_READY closed batches wait behind the one in flight,
     * so a fast pusher may hear -EAGAIN and must try again, as a reader does.
     */
    int eagain = 0;
    for (uint64_t i = 1; i <= 10; i++) {
        int rc;
        while ((rc = push_line(q, 7, i, "012345678901234567890123456789")) == -EAGAIN) {
            eagain++;
            usleep(1000);
        }
        CHECK_INT(rc, 0);
    }
    CHECK(q->nready <= PUSH_MAX_READY);
    (void)eagain;
    /*
     * Three batches are full and go at once, without waiting for batchwait
     * (30 s): all nine lines are acked within 2 s (room for a loaded CI
     * machine, still 15 times under batchwait), or batchsize
     * is not what flushed them.
     */
    WAIT_FOR(acked(&f.acks, 7) == 9, 2.0);
    CHECK_INT(acked(&f.acks, 7), 9);
    CHECK(frond_now_monotonic() - t0 < 2.0);
    ship_queue_stop(q, frond_now_monotonic() + 10);
    CHECK_INT(server_requests(&f.srv), 4);
    CHECK_INT(f.srv.entries[0], 3);
    CHECK_INT(f.srv.entries[3], 1);
    CHECK_INT(acked(&f.acks, 7), 10);
    CHECK(!f.acks.out_of_order);
    CHECK_STR(f.srv.authorization, "Bearer tok");
    fixture_stop(&f);
}

/*
 * Headers are sized exactly: a 4 KiB bearer token (projected service
 * account tokens and OIDC JWTs are often over 1 KiB), a long tenant and a
 * long custom header all arrive whole.
 */
static void test_queue_long_headers(void)
{
    static const struct reply ok[] = {{204, NULL, NULL, false, false}};
    static char token[4097], tenant[2049], custom[3001];
    for (size_t i = 0; i < sizeof(token) - 1; i++) {
        token[i] = (char)('a' + i % 26);
    }
    memset(tenant, 't', sizeof(tenant) - 1);
    memset(custom, 'c', sizeof(custom) - 1);
    struct fixture f;
    fixture_start(&f, ok, 1);
    f.cfg.batchwait = 0.01;
    f.cfg.bearer_token = token;
    f.cfg.tenant_id = tenant;
    struct ship_header h = {"X-Custom", custom};
    f.cfg.headers = &h;
    f.cfg.nheaders = 1;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK(q != NULL);
    CHECK_INT(push_line(q, 3, 33, "x"), 0);
    WAIT_FOR(acked(&f.acks, 3) == 33, 10);
    CHECK_INT(acked(&f.acks, 3), 33);
    ship_queue_stop(q, frond_now_monotonic() + 5);
    CHECK_INT(strlen(f.srv.authorization), 7 + 4096);
    CHECK(strncmp(f.srv.authorization, "Bearer ", 7) == 0);
    CHECK(strcmp(f.srv.authorization + 7, token) == 0);
    CHECK_INT(strlen(f.srv.custom), 3000);
    CHECK_INT(strlen(f.srv.tenant), 2048);
    fixture_stop(&f);
}

static void write_file(const char *path, const char *text)
{
    /* Written aside and renamed in, as Kubernetes swaps a projected volume's files. */
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    FILE *f = fopen(tmp, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    CHECK_INT(rename(tmp, path), 0);
}

/*
 * bearer_token_file and password_file are re-read when they change, like
 * promtail: a rotated token is used from the next push on, and a file that
 * vanishes leaves the last good value in use.
 */
static void test_queue_secret_files_rotate(void)
{
    static const struct reply ok[] = {{204, NULL, NULL, false, false}};
    char dir[] = "/tmp/frondtail-secretXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char tok[256], pw[256];
    snprintf(tok, sizeof(tok), "%s/token", dir);
    snprintf(pw, sizeof(pw), "%s/password", dir);
    write_file(tok, "token-one\n");
    struct fixture f;
    fixture_start(&f, ok, 1);
    f.cfg.batchwait = 0.01;
    f.cfg.bearer_token = "token-one";
    f.cfg.bearer_token_file = tok;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK(q != NULL);
    CHECK_INT(push_line(q, 4, 1, "a"), 0);
    WAIT_FOR(acked(&f.acks, 4) == 1, 10);
    CHECK_STR(f.srv.authorization, "Bearer token-one");
    write_file(tok, "token-two-rotated\n");
    CHECK_INT(push_line(q, 4, 2, "b"), 0);
    WAIT_FOR(acked(&f.acks, 4) == 2, 10);
    CHECK_STR(f.srv.authorization, "Bearer token-two-rotated");
    /* Gone, then unreadable content: the last good token stays. */
    CHECK_INT(unlink(tok), 0);
    CHECK_INT(push_line(q, 4, 3, "c"), 0);
    WAIT_FOR(acked(&f.acks, 4) == 3, 10);
    CHECK_STR(f.srv.authorization, "Bearer token-two-rotated");
    write_file(tok, "");
    CHECK_INT(push_line(q, 4, 4, "d"), 0);
    WAIT_FOR(acked(&f.acks, 4) == 4, 10);
    CHECK_STR(f.srv.authorization, "Bearer token-two-rotated");
    write_file(tok, "token-three");
    CHECK_INT(push_line(q, 4, 5, "e"), 0);
    WAIT_FOR(acked(&f.acks, 4) == 5, 10);
    CHECK_STR(f.srv.authorization, "Bearer token-three");
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
    unlink(tok);

    /* basic_auth.password_file: the new password reaches curl. */
    write_file(pw, "p");
    fixture_start(&f, ok, 1);
    f.cfg.batchwait = 0.01;
    f.cfg.basic_auth_user = "u";
    f.cfg.basic_auth_password = "p";
    f.cfg.basic_auth_password_file = pw;
    q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK(q != NULL);
    CHECK_INT(push_line(q, 5, 1, "a"), 0);
    WAIT_FOR(acked(&f.acks, 5) == 1, 10);
    CHECK_STR(f.srv.authorization, "Basic dTpw");
    write_file(pw, "q2\n");
    CHECK_INT(push_line(q, 5, 2, "b"), 0);
    WAIT_FOR(acked(&f.acks, 5) == 2, 10);
    /* base64("u:q2") */
    CHECK_STR(f.srv.authorization, "Basic dTpxMg==");
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
    unlink(pw);
    rmdir(dir);
}

static void test_queue_backlog_bound(void)
{
    static const struct reply fail[] = {{500, NULL, "down", false, false}};
    struct fixture f;
    fixture_start(&f, fail, 1);
    f.cfg.max_backlog_bytes = 200;
    f.cfg.batchwait = 0.01;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    int rc = 0;
    uint64_t i = 0;
    while (rc == 0 && i < 1000) {
        rc = push_line(q, 1, ++i, "0123456789");
    }
    CHECK_INT(rc, -EAGAIN);
    CHECK(i > 1 && i < 1000);
    CHECK(ship_queue_backlog(q) <= 200);
    CHECK(ship_queue_backlog(q) > 200 - 19);
    WAIT_FOR(server_requests(&f.srv) >= 3, 10);
    CHECK(server_requests(&f.srv) >= 3);
    /* Loki never took anything: the stop deadline passes and nothing is acked. */
    double t0 = frond_now_monotonic();
    ship_queue_stop(q, t0 + 0.3);
    CHECK(frond_now_monotonic() - t0 < 3);
    CHECK_INT(nacks(&f.acks), 0);
    fixture_stop(&f);
}

static void test_queue_ready_depth(void)
{
    /* Loki answers 500 forever: batches pile up only to the ready limit. */
    static const struct reply fail[] = {{500, NULL, "down", false, false}};
    struct fixture f;
    fixture_start(&f, fail, 1);
    f.cfg.batchsize = 100;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    int rc = 0;
    uint64_t i = 0;
    WAIT_FOR(push_line(q, 1, ++i, "0123456789012345678901234567890123456789") == -EAGAIN, 10);
    while (rc == 0 && i < 1000) {
        rc = push_line(q, 1, ++i, "0123456789012345678901234567890123456789");
    }
    CHECK_INT(rc, -EAGAIN);
    /* In flight + PUSH_MAX_READY ready + the open one, 2 lines of 40 bytes each. */
    CHECK(ship_queue_backlog(q) <= (PUSH_MAX_READY + 2) * 2 * (40 + 9));
    CHECK_INT(nacks(&f.acks), 0);
    ship_queue_stop(q, frond_now_monotonic() + 0.2);
    CHECK_INT(nacks(&f.acks), 0);
    fixture_stop(&f);
}

static void test_queue_retry_then_ok(void)
{
    static const struct reply script[] = {
        {500, NULL, "boom", false, false},
        {0, NULL, NULL, true, false},
        {503, NULL, "busy", false, false},
        {204, NULL, NULL, false, false},
    };
    struct fixture f;
    fixture_start(&f, script, FROND_ARRAY_SIZE(script));
    f.cfg.batchwait = 0.01;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK_INT(push_line(q, 3, 33, "x"), 0);
    WAIT_FOR(acked(&f.acks, 3) == 33, 10);
    CHECK_INT(acked(&f.acks, 3), 33);
    CHECK_INT(server_requests(&f.srv), 4);
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
}

static void test_queue_400_dropped_and_acked(void)
{
    static const struct reply script[] = {
        {400, NULL, "entry out of order\nsecond line", false, false},
        {204, NULL, NULL, false, false},
    };
    struct fixture f;
    fixture_start(&f, script, FROND_ARRAY_SIZE(script));
    f.cfg.batchwait = 0.01;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK_INT(push_line(q, 4, 44, "x"), 0);
    WAIT_FOR(acked(&f.acks, 4) == 44, 10);
    CHECK_INT(acked(&f.acks, 4), 44);
    CHECK_INT(server_requests(&f.srv), 1);
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
}

static void test_queue_max_retries(void)
{
    static const struct reply fail[] = {{500, NULL, "down", false, false}};
    struct fixture f;
    fixture_start(&f, fail, 1);
    f.cfg.batchwait = 0.01;
    f.cfg.max_retries = 3;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK_INT(push_line(q, 5, 55, "x"), 0);
    WAIT_FOR(acked(&f.acks, 5) == 55, 10);
    CHECK_INT(acked(&f.acks, 5), 55);
    CHECK_INT(server_requests(&f.srv), 3);
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
}

static void test_queue_operator_error_retried(void)
{
    static const struct reply script[] = {
        {401, NULL, "no auth", false, false},
        {404, NULL, "not found", false, false},
        {413, NULL, "too big", false, false},
        {204, NULL, NULL, false, false},
    };
    struct fixture f;
    fixture_start(&f, script, FROND_ARRAY_SIZE(script));
    f.cfg.batchwait = 0.01;
    f.cfg.max_retries = 0;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK_INT(push_line(q, 6, 66, "x"), 0);
    WAIT_FOR(acked(&f.acks, 6) == 66, 10);
    CHECK_INT(acked(&f.acks, 6), 66);
    CHECK_INT(server_requests(&f.srv), 4);
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
}

static void test_queue_retry_after(void)
{
    static const struct reply script[] = {
        {429, "1", "slow down", false, false},
        {204, NULL, NULL, false, false},
    };
    struct fixture f;
    fixture_start(&f, script, FROND_ARRAY_SIZE(script));
    f.cfg.batchwait = 0.01;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK_INT(push_line(q, 8, 88, "x"), 0);
    WAIT_FOR(acked(&f.acks, 8) == 88, 10);
    CHECK_INT(acked(&f.acks, 8), 88);
    CHECK_INT(server_requests(&f.srv), 2);
    /* backoff_max is 0.05 s, so only Retry-After explains a one-second gap. */
    CHECK(f.srv.times[1] - f.srv.times[0] >= 0.95);
    ship_queue_stop(q, frond_now_monotonic() + 5);
    fixture_stop(&f);
}

static void test_queue_tenants(void)
{
    static const struct reply script[] = {
        {204, NULL, NULL, false, false},
        {500, NULL, "second tenant fails once", false, false},
        {204, NULL, NULL, false, false},
    };
    struct fixture f;
    fixture_start(&f, script, FROND_ARRAY_SIZE(script));
    f.cfg.tenant_id = "base";
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    struct ship_entry e = {.ts_ns = 1,
                           .line = "x",
                           .line_len = 1,
                           .labels = "{job=\"t\"}",
                           .labels_len = 9,
                           .source_id = 9,
                           .end_offset = 1};
    CHECK_INT(ship_queue_push(q, &e), 0);
    e.tenant = "other";
    e.end_offset = 2;
    CHECK_INT(ship_queue_push(q, &e), 0);
    ship_queue_stop(q, frond_now_monotonic() + 10);
    /* One request per tenant; only the failed part is sent again; one ack after both. */
    CHECK_INT(server_requests(&f.srv), 3);
    CHECK_STR(f.srv.tenants[0], "base");
    CHECK_STR(f.srv.tenants[1], "other");
    CHECK_STR(f.srv.tenants[2], "other");
    CHECK_INT(nacks(&f.acks), 1);
    CHECK_INT(acked(&f.acks, 9), 2);
    fixture_stop(&f);
}

static void test_queue_stop_aborts_in_flight(void)
{
    static const struct reply stall[] = {{0, NULL, NULL, false, true}};
    struct fixture f;
    fixture_start(&f, stall, 1);
    f.cfg.batchwait = 0.01;
    f.cfg.timeout = 60;
    struct ship_queue *q = ship_queue_new(&f.cfg, 0, NULL, on_ack, &f.acks);
    CHECK_INT(push_line(q, 2, 22, "x"), 0);
    WAIT_FOR(server_requests(&f.srv) == 1, 10);
    double t0 = frond_now_monotonic();
    ship_queue_stop(q, t0 + 0.3);
    /* The request in flight is aborted at the deadline, not at the 60 s timeout. */
    CHECK(frond_now_monotonic() - t0 < 5);
    CHECK_INT(nacks(&f.acks), 0);
    fixture_stop(&f);
}

static void test_queue_bad_config(void)
{
    struct ship_client_config cfg = {.url = "not a url at all ::"};
    struct acks a = {0};
    CHECK(ship_queue_new(&cfg, 0, NULL, on_ack, &a) == NULL);
    cfg.url = NULL;
    CHECK(ship_queue_new(&cfg, 0, NULL, on_ack, &a) == NULL);
    ship_queue_stop(NULL, 0);
    CHECK_INT(ship_queue_backlog(NULL), 0);
}

static void test_url_check(void)
{
    char why[256];
    CHECK_INT(push_url_check("http://loki:3100/loki/api/v1/push", why, sizeof(why)), 0);
    CHECK_INT(push_url_check("https://u:p@loki.example/loki/api/v1/push", why, sizeof(why)), 0);
    static const char *const bad[] = {
        "http://user:S3cretPW@exa mple.com:3100/x", "ftp://loki/x", "loki:3100/x", "", NULL,
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        why[0] = '\0';
        CHECK_INT(push_url_check(bad[i], why, sizeof(why)), -EINVAL);
        CHECK(why[0] != '\0' && !strstr(why, "S3cretPW"));
    }
}

int main(void)
{
    test_verdicts();
    test_backoff();
    test_retry_after();
    test_drop_reasons();
    test_queue_acks_and_headers();
    test_queue_batchwait();
    test_queue_batchsize();
    test_queue_long_headers();
    test_queue_secret_files_rotate();
    test_queue_backlog_bound();
    test_queue_ready_depth();
    test_queue_retry_then_ok();
    test_queue_400_dropped_and_acked();
    test_queue_max_retries();
    test_queue_operator_error_retried();
    test_queue_retry_after();
    test_queue_tenants();
    test_queue_stop_aborts_in_flight();
    test_queue_bad_config();
    test_url_check();
    return check_done("test_shipper_push");
}
