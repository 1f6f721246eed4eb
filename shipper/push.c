/*
 * The output side of frondtail: one queue per `clients:` entry, each with a
 * sender thread that turns batches into HTTP pushes to Loki (ship.h is the
 * contract with the input side, batch.h the batch format, push.h the
 * verdict and backoff rules).
 *
 * Shape of a queue: readers append entries to the open batch under the
 * queue's mutex; a batch closes when the next line would take it past
 * batchsize (then it joins the ready list) or when the sender finds it
 * older than batchwait. The sender takes the oldest closed batch, sends it
 * until Loki accepts it (or it is dropped on purpose), acks its sources,
 * and only then takes the next: one batch in flight, which is what keeps
 * acks in offset order per source. The backlog bound counts every entry
 * from ship_queue_push() until its batch is acked or dropped.
 *
 * libcurl: one easy handle per queue, reused for every request so the
 * connection to Loki stays open; CURLOPT_NOSIGNAL because we are threaded.
 * The rules the sender applies (verdicts, backoff, Retry-After, drop
 * reasons) live in push_policy.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "batch.h"
#include "frond/buf.h"
#include "frond/log.h"
#include "frond/registry.h"
#include "push.h"
#include "ship.h"

/* ---- metrics, shared by every queue of one registry ---- */

struct push_metrics {
    struct frond_registry *reg;
    unsigned refs;
    struct frond_metric *sent_entries, *sent_bytes, *encoded_bytes, *batches;
    struct frond_metric *dropped_entries, *dropped_bytes, *retries, *duration, *backlog;
    struct frond_metric *backlog_limit;
    struct push_metrics *next;
};

/*
 * The families a push_metrics holds, one row each, declared in this order by
 * the first queue of a registry (the registry sorts them by name anyway).
 */
enum push_kind { PUSH_COUNTER, PUSH_GAUGE, PUSH_HISTOGRAM };

struct push_family {
    size_t at; /* offsetof(struct push_metrics, the family pointer) */
    enum push_kind kind;
    const char *name, *help;
    const char *const *labels;
};

static const char *const push_host[] = {"host", NULL};
static const char *const push_host_reason[] = {"host", "reason", NULL};
static const char *const push_host_status[] = {"host", "status_code", NULL};
static const double push_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static const struct push_family push_families[] = {
    {offsetof(struct push_metrics, sent_entries), PUSH_COUNTER, "frondtail_sent_entries_total",
     "Log entries accepted by Loki.", push_host},
    {offsetof(struct push_metrics, sent_bytes), PUSH_COUNTER, "frondtail_sent_bytes_total",
     "Log line bytes accepted by Loki (uncompressed).", push_host},
    {offsetof(struct push_metrics, encoded_bytes), PUSH_COUNTER, "frondtail_encoded_bytes_total",
     "Request body bytes sent to Loki (protobuf, snappy-compressed), every attempt.", push_host},
    {offsetof(struct push_metrics, batches), PUSH_COUNTER, "frondtail_sent_batches_total",
     "Batches accepted by Loki.", push_host},
    {offsetof(struct push_metrics, dropped_entries), PUSH_COUNTER,
     "frondtail_dropped_entries_total",
     "Log entries dropped on purpose (Loki refused them with 400, or max_retries was exhausted), "
     "by reason.",
     push_host_reason},
    {offsetof(struct push_metrics, dropped_bytes), PUSH_COUNTER, "frondtail_dropped_bytes_total",
     "Log line bytes dropped on purpose, by reason.", push_host_reason},
    {offsetof(struct push_metrics, retries), PUSH_COUNTER, "frondtail_batch_retries_total",
     "Push attempts that failed and will be retried, by HTTP status (-1: no response).",
     push_host_status},
    {offsetof(struct push_metrics, duration), PUSH_HISTOGRAM, "frondtail_request_duration_seconds",
     "Duration of push requests to Loki, by HTTP status (-1: no response).", push_host_status},
    {offsetof(struct push_metrics, backlog), PUSH_GAUGE, "frondtail_backlog_bytes",
     "Line and label bytes buffered for this client (pending and in flight).", push_host},
    {offsetof(struct push_metrics, backlog_limit), PUSH_GAUGE, "frondtail_backlog_limit_bytes",
     "The client's max_backlog_bytes: readers pause when frondtail_backlog_bytes reaches it.",
     push_host},
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct push_metrics *metrics_list;

/*
 * Metric families can be declared once per registry, but a config may have
 * several clients; the first queue declares them and later ones share them
 * (the `host` label tells clients apart, as in promtail).
 */
static struct push_metrics *metrics_get(struct frond_registry *reg)
{
    struct push_metrics *m = NULL;
    if (!reg) {
        return NULL;
    }
    pthread_mutex_lock(&metrics_mu);
    for (m = metrics_list; m; m = m->next) {
        if (m->reg == reg) {
            m->refs++;
            goto out;
        }
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        goto out;
    }
    m->reg = reg;
    m->refs = 1;
    for (size_t i = 0; i < FROND_ARRAY_SIZE(push_families); i++) {
        const struct push_family *f = &push_families[i];
        struct frond_metric **slot = (struct frond_metric **)((char *)m + f->at);
        switch (f->kind) {
        case PUSH_COUNTER:
            *slot = frond_registry_counter(reg, f->name, f->help, f->labels);
            break;
        case PUSH_GAUGE:
            *slot = frond_registry_gauge(reg, f->name, f->help, f->labels);
            break;
        case PUSH_HISTOGRAM:
            *slot = frond_registry_histogram(reg, f->name, f->help, f->labels, push_buckets,
                                             FROND_ARRAY_SIZE(push_buckets));
            break;
        }
    }
    m->next = metrics_list;
    metrics_list = m;
out:
    pthread_mutex_unlock(&metrics_mu);
    return m;
}

static void metrics_put(struct push_metrics *m)
{
    if (!m) {
        return;
    }
    pthread_mutex_lock(&metrics_mu);
    if (--m->refs == 0) {
        for (struct push_metrics **pp = &metrics_list; *pp; pp = &(*pp)->next) {
            if (*pp == m) {
                *pp = m->next;
                break;
            }
        }
        free(m);
    }
    pthread_mutex_unlock(&metrics_mu);
}

static struct frond_series *series(struct frond_metric *m, const char *a, const char *b)
{
    if (!m) {
        return NULL;
    }
    const char *v[] = {a, b, NULL};
    return frond_metric_series(m, v);
}

static void s_add(struct frond_series *s, double v)
{
    if (s) {
        frond_series_add(s, v);
    }
}

/* ---- the queue ---- */

/* curl_global_init is not thread-safe; the first queue does it, the last undoes it. */
static pthread_mutex_t curl_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned curl_users;

#define PUSH_BODY_KEEP 4096
#define PUSH_SPARE_BATCHES 2
/*
 * Closed batches allowed to wait behind the one in flight. Two keep the
 * sender busy (a reader refills a batch faster than one is sent); more would
 * only hold in memory what is safe on disk anyway, so reading pauses here
 * even when max_backlog_bytes has room: the byte bound is what holds when
 * batches are small (batchwait flushes) and Loki is down.
 */
#define PUSH_MAX_READY 2

/*
 * A credential read from a file. promtail re-reads bearer_token_file and
 * password_file for every request; Kubernetes rotates projected service
 * account tokens under a running pod, so a value read once would turn into
 * 401 on every try an hour later. One stat(2) per push tells whether the
 * file changed; only then is it read again.
 */
struct push_secret {
    const char *path; /* borrowed from the config; NULL = a fixed value */
    const char *what; /* for the log */
    char *value;      /* owned; the last good value */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    bool failing; /* a failure was logged; log again only after a success */
};

struct ship_queue {
    const struct ship_client_config *cfg;
    ship_ack_fn ack;
    void *ack_ctx;

    /* Effective settings (config with defaults applied). */
    double batchwait, timeout;
    size_t batchsize, max_backlog;
    long max_retries;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes the sender: a batch opened or closed, or stop */
    bool thread_started;
    pthread_t thread;
    struct batch *open;                    /* being filled; NULL when none */
    struct batch *ready_head, *ready_tail; /* closed, oldest first */
    struct batch *spare;                   /* recycled, to keep their storage */
    unsigned nspare;
    unsigned nready;
    atomic_size_t backlog;
    atomic_bool stopping;
    double deadline; /* monotonic; written under mu before stopping is set */

    /* Sender thread only. */
    CURL *curl;
    char *url;        /* owned by curl_free */
    char *connect_to; /* tls_server_name support */
    struct curl_slist *connect_to_list;
    char host[256];
    struct batch_encoder *enc;
    struct push_backoff backoff;
    uint64_t rng;
    char body[PUSH_BODY_KEEP];
    size_t body_len;
    char retry_after[128];
    size_t retry_after_len;

    struct push_metrics *m;
    struct frond_series *s_sent_entries, *s_sent_bytes, *s_encoded, *s_batches, *s_backlog;

    /* Sender thread only: the bearer token and password, re-read when their file changes. */
    struct push_secret token, password;
};

static double rnd01(struct ship_queue *q)
{
    /* xorshift64*: jitter needs spread, not cryptographic quality. */
    q->rng ^= q->rng >> 12;
    q->rng ^= q->rng << 25;
    q->rng ^= q->rng >> 27;
    return (double)((q->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void abs_monotonic(double t, struct timespec *ts)
{
    if (t < 0) {
        t = 0;
    }
    if (t > 1e12) {
        t = 1e12;
    }
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec = 999999999L;
    }
}

static struct batch *batch_get(struct ship_queue *q)
{
    struct batch *b = q->spare;
    if (b) {
        q->spare = b->next;
        q->nspare--;
        b->next = NULL;
        return b;
    }
    b = malloc(sizeof(*b));
    if (b) {
        batch_init(b);
    }
    return b;
}

static void batch_put(struct ship_queue *q, struct batch *b)
{
    if (q->nspare >= PUSH_SPARE_BATCHES) {
        batch_cleanup(b);
        free(b);
        return;
    }
    batch_reset(b);
    b->next = q->spare;
    q->spare = b;
    q->nspare++;
}

static void batch_free_list(struct batch *b)
{
    while (b) {
        struct batch *n = b->next;
        batch_cleanup(b);
        free(b);
        b = n;
    }
}

/* With mu held: move the open batch to the ready list. */
static void close_open(struct ship_queue *q)
{
    struct batch *b = q->open;
    q->open = NULL;
    if (!b) {
        return;
    }
    b->next = NULL;
    if (q->ready_tail) {
        q->ready_tail->next = b;
    } else {
        q->ready_head = b;
    }
    q->ready_tail = b;
    q->nready++;
}

int ship_queue_push(struct ship_queue *q, const struct ship_entry *e)
{
    size_t cost = batch_entry_cost(e);
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    size_t backlog = atomic_load_explicit(&q->backlog, memory_order_relaxed);
    /* An entry bigger than the whole bound still goes through when nothing is buffered. */
    if (backlog > 0 && backlog + cost > q->max_backlog) {
        rc = -EAGAIN;
        goto out;
    }
    bool wake = false;
    if (q->open && batch_would_overflow(q->open, e->line_len, q->batchsize)) {
        if (q->nready >= PUSH_MAX_READY) {
            rc = -EAGAIN;
            goto out;
        }
        close_open(q);
        wake = true;
    }
    if (!q->open) {
        q->open = batch_get(q);
        if (!q->open) {
            rc = -EAGAIN;
            goto out;
        }
    }
    if (q->open->nentries == 0) {
        wake = true;
    }
    /* Only a batch's first entry needs the clock (batchwait runs from it). */
    rc = batch_add(q->open, e, q->cfg->tenant_id, wake ? frond_now_monotonic() : 0);
    if (rc) {
        /* Out of memory is transient from the reader's point of view: it will try again. */
        rc = -EAGAIN;
        goto out;
    }
    atomic_store_explicit(&q->backlog, backlog + cost, memory_order_relaxed);
    if (q->s_backlog) {
        frond_series_set(q->s_backlog, (double)(backlog + cost));
    }
    if (wake) {
        pthread_cond_signal(&q->cv);
    }
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t ship_queue_backlog(const struct ship_queue *q)
{
    return q ? atomic_load_explicit(&q->backlog, memory_order_relaxed) : 0;
}

static bool stop_due(struct ship_queue *q)
{
    return atomic_load(&q->stopping) && frond_now_monotonic() >= q->deadline;
}

/* Wait `seconds` unless the stop deadline comes first; false when it did. */
static bool sleep_for(struct ship_queue *q, double seconds)
{
    double until = frond_now_monotonic() + seconds;
    bool ok = true;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        double now = frond_now_monotonic();
        double wake = until;
        if (atomic_load(&q->stopping)) {
            if (now >= q->deadline) {
                ok = false;
                break;
            }
            if (q->deadline < wake) {
                wake = q->deadline;
            }
        }
        if (now >= until) {
            break;
        }
        struct timespec ts;
        abs_monotonic(wake, &ts);
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct ship_queue *q = ctx;
    size_t len = size * n;
    size_t room = sizeof(q->body) - q->body_len;
    size_t take = len < room ? len : room;
    memcpy(q->body + q->body_len, p, take);
    q->body_len += take;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct ship_queue *q = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t vlen = len - (sizeof(name) - 1);
        if (vlen >= sizeof(q->retry_after)) {
            vlen = sizeof(q->retry_after) - 1;
        }
        memcpy(q->retry_after, p + sizeof(name) - 1, vlen);
        q->retry_after_len = vlen;
    }
    return len;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    /* Abort a request in flight once shutdown's deadline has passed. */
    return stop_due(ctx) ? 1 : 0;
}

#define PUSH_SECRET_MAX (64 * 1024)

static bool same_file(const struct push_secret *sec, const struct stat *st)
{
    return sec->dev == st->st_dev && sec->ino == st->st_ino && sec->size == st->st_size &&
           sec->mtime.tv_sec == st->st_mtim.tv_sec && sec->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           sec->ctime.tv_sec == st->st_ctim.tv_sec && sec->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void remember_file(struct push_secret *sec, const struct stat *st)
{
    sec->dev = st->st_dev;
    sec->ino = st->st_ino;
    sec->size = st->st_size;
    sec->mtime = st->st_mtim;
    sec->ctime = st->st_ctim;
}

/* Read the whole file, trailing newlines cut, as config.c does at load. */
static int read_secret_file(const char *path, struct stat *st, char **out, const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = strerror(errno);
        return -errno;
    }
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        *why = "not a regular file";
        rc = -EINVAL;
        goto out;
    }
    buf = malloc(PUSH_SECRET_MAX + 1);
    if (!buf) {
        *why = "out of memory";
        rc = -ENOMEM;
        goto out;
    }
    size_t len = 0;
    while (len < PUSH_SECRET_MAX) {
        ssize_t n = read(fd, buf + len, PUSH_SECRET_MAX - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *why = strerror(errno);
            rc = -EIO;
            goto out;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    buf[len] = '\0';
    if (len == 0 || memchr(buf, '\n', len) || memchr(buf, '\r', len)) {
        /* Empty: a rotation caught half-written; a line break would break the header. */
        *why = len == 0 ? "the file is empty" : "the value contains a line break";
        rc = -EINVAL;
        goto out;
    }
    *out = buf;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/*
 * Bring a secret up to date with its file: one stat, and a read only when
 * the file changed. A failure keeps the last good value and is logged once
 * until a read succeeds again. True when the value changed.
 */
static bool secret_refresh(struct ship_queue *q, struct push_secret *sec)
{
    struct stat st;
    if (!sec->path) {
        return false;
    }
    if (stat(sec->path, &st) == 0 && same_file(sec, &st)) {
        return false;
    }
    char *v = NULL;
    const char *why = NULL;
    if (read_secret_file(sec->path, &st, &v, &why) != 0) {
        if (!sec->failing) {
            sec->failing = true;
            frond_error("cannot re-read a credential file; keeping the last value read", "host",
                        q->host, "file", sec->path, "what", sec->what, "error", why);
        }
        return false;
    }
    remember_file(sec, &st);
    if (sec->failing) {
        sec->failing = false;
        frond_info("credential file readable again", "host", q->host, "file", sec->path);
    }
    bool changed = !sec->value || strcmp(sec->value, v) != 0;
    free(sec->value);
    sec->value = v;
    if (changed) {
        frond_info("credential file changed, using the new value", "host", q->host, "file",
                   sec->path, "what", sec->what);
    }
    return changed;
}

static int secret_init(struct push_secret *sec, const char *path, const char *value,
                       const char *what)
{
    sec->path = path && path[0] ? path : NULL;
    sec->what = what;
    sec->value = value ? strdup(value) : NULL;
    if (value && !sec->value) {
        return -ENOMEM;
    }
    struct stat st;
    /* The value the config read is current as of this stat; a change from here is re-read. */
    if (sec->path && stat(sec->path, &st) == 0) {
        remember_file(sec, &st);
    }
    return 0;
}

/* Refresh both secrets before a push; the password goes to curl when it changed. */
static void refresh_secrets(struct ship_queue *q)
{
    secret_refresh(q, &q->token);
    if (secret_refresh(q, &q->password) && q->cfg->basic_auth_user && q->cfg->basic_auth_user[0]) {
        curl_easy_setopt(q->curl, CURLOPT_PASSWORD, q->password.value);
    }
}

/*
 * Append "name: value" to the list, sized exactly: a projected service
 * account token or an OIDC JWT is easily over 1 KiB, and a header cut short
 * would be refused with 401 on every try.
 */
static int add_header(struct curl_slist **l, const char *name, const char *prefix,
                      const char *value)
{
    struct frond_buf b;
    struct curl_slist *n = NULL;
    frond_buf_init(&b, 1u << 20);
    int rc = frond_buf_puts(&b, name);
    if (!rc) {
        rc = frond_buf_puts(&b, ": ");
    }
    if (!rc) {
        rc = frond_buf_puts(&b, prefix);
    }
    if (!rc) {
        rc = frond_buf_puts(&b, value);
    }
    if (!rc) {
        n = curl_slist_append(*l, frond_buf_cstr(&b));
        rc = n ? 0 : -ENOMEM;
    }
    if (!rc) {
        *l = n;
    }
    frond_buf_cleanup(&b);
    return rc;
}

static int make_headers(struct ship_queue *q, const char *tenant, struct curl_slist **out)
{
    const struct ship_client_config *cfg = q->cfg;
    struct curl_slist *l = NULL, *n = NULL;
    int rc = -ENOMEM;
    /* "Expect:" stops curl from waiting for 100-continue before bodies over 1 MiB. */
    const char *fixed[] = {"Content-Type: application/x-protobuf", "Expect:"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(fixed); i++) {
        n = curl_slist_append(l, fixed[i]);
        if (!n) {
            goto out;
        }
        l = n;
    }
    if (tenant && tenant[0]) {
        rc = add_header(&l, "X-Scope-OrgID", "", tenant);
        if (rc) {
            goto out;
        }
    }
    const char *token = q->token.value;
    if (token && token[0]) {
        rc = add_header(&l, "Authorization", "Bearer ", token);
        if (rc) {
            goto out;
        }
    }
    for (size_t i = 0; i < cfg->nheaders; i++) {
        rc = add_header(&l, cfg->headers[i].name, "", cfg->headers[i].value);
        if (rc) {
            goto out;
        }
    }
    rc = 0;
out:
    if (rc) {
        curl_slist_free_all(l);
        l = NULL;
    }
    *out = l;
    return rc;
}

/* One POST; fills *transport_ok and *status and the captured body and Retry-After. */
static void post(struct ship_queue *q, const struct batch_encoded *enc, const char *tenant,
                 bool *transport_ok, long *status, CURLcode *cc)
{
    struct curl_slist *headers = NULL;
    *transport_ok = false;
    *status = 0;
    q->body_len = 0;
    q->retry_after_len = 0;
    refresh_secrets(q);
    if (make_headers(q, tenant, &headers)) {
        *cc = CURLE_OUT_OF_MEMORY;
        return;
    }
    long timeout_ms = (long)(q->timeout * 1000);
    if (atomic_load(&q->stopping)) {
        double left = q->deadline - frond_now_monotonic();
        if (left * 1000 < timeout_ms) {
            timeout_ms = left > 0.001 ? (long)(left * 1000) : 1;
        }
    }
    curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(q->curl, CURLOPT_POSTFIELDS, (const char *)enc->body);
    curl_easy_setopt(q->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)enc->body_len);
    curl_easy_setopt(q->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    *cc = curl_easy_perform(q->curl);
    if (*cc == CURLE_OK) {
        curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, status);
        *transport_ok = true;
    }
    curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
}

static void count_drop(struct ship_queue *q, const char *reason, size_t entries, size_t bytes)
{
    if (!q->m) {
        return;
    }
    s_add(series(q->m->dropped_entries, q->host, reason), (double)entries);
    s_add(series(q->m->dropped_bytes, q->host, reason), (double)bytes);
}

/*
 * Send one batch until Loki has taken every tenant's part of it (or it was
 * dropped on purpose): true, and the caller acks its sources. Returns false
 * when shutdown's deadline came first: the batch is then neither acked nor
 * counted, so its lines are read again at the next start.
 */
static bool send_batch(struct ship_queue *q, struct batch *b)
{
    unsigned attempts = 0;
    push_backoff_reset(&q->backoff);
    for (;;) {
        bool all_done = true;
        struct push_outcome oc = {.verdict = PUSH_OK, .retry_after = -1};
        long status = 0;
        CURLcode cc = CURLE_OK;
        for (uint32_t t = 0; t < b->ntenants; t++) {
            if (b->tenants[t].done) {
                continue;
            }
            struct batch_encoded enc;
            if (batch_encode(q->enc, b, t, &enc)) {
                frond_error("cannot encode batch, will retry", "host", q->host);
                all_done = false;
                oc.verdict = PUSH_RETRY;
                status = -1;
                break;
            }
            if (enc.nentries == 0) {
                b->tenants[t].done = true;
                continue;
            }
            if (stop_due(q)) {
                return false;
            }
            bool transport_ok = false;
            double t0 = frond_now_monotonic();
            post(q, &enc, batch_tenant_name(b, t), &transport_ok, &status, &cc);
            double dt = frond_now_monotonic() - t0;
            if (!transport_ok) {
                status = -1;
            }
            char code[24];
            snprintf(code, sizeof(code), "%ld", status);
            if (q->m) {
                struct frond_series *d = series(q->m->duration, q->host, code);
                if (d) {
                    frond_series_observe(d, dt);
                }
            }
            s_add(q->s_encoded, (double)enc.body_len);
            push_outcome_from_response(transport_ok, status, q->retry_after, q->retry_after_len,
                                       q->body, q->body_len, frond_now_realtime(), &oc);
            if (oc.verdict == PUSH_OK) {
                b->tenants[t].done = true;
                s_add(q->s_sent_entries, (double)enc.nentries);
                s_add(q->s_sent_bytes, (double)enc.line_bytes);
                continue;
            }
            if (oc.verdict == PUSH_DROP) {
                b->tenants[t].done = true;
                count_drop(q, oc.drop_reason, enc.nentries, enc.line_bytes);
                char n[24];
                snprintf(n, sizeof(n), "%zu", enc.nentries);
                frond_error("Loki refused a batch, dropped it", "host", q->host, "status", code,
                            "reason", oc.drop_reason, "entries", n, "error", oc.first_line);
                continue;
            }
            if (!transport_ok && stop_due(q)) {
                return false;
            }
            all_done = false;
            break;
        }
        if (all_done) {
            s_add(q->s_batches, 1);
            return true;
        }
        attempts++;
        char code[24];
        snprintf(code, sizeof(code), "%ld", status);
        if (q->max_retries > 0 && attempts >= (unsigned long)q->max_retries) {
            /* Every part not yet accepted is dropped, counted, and acked like a 400. */
            for (uint32_t t = 0; t < b->ntenants; t++) {
                struct batch_encoded enc;
                if (b->tenants[t].done || batch_encode(q->enc, b, t, &enc)) {
                    continue;
                }
                b->tenants[t].done = true;
                count_drop(q, "max_retries", enc.nentries, enc.line_bytes);
            }
            frond_error("giving up on a batch after max_retries, dropped it", "host", q->host,
                        "status", code, "error", oc.first_line);
            return true;
        }
        if (q->m) {
            s_add(series(q->m->retries, q->host, code), 1);
        }
        double delay = push_next_delay(&q->backoff, oc.retry_after, rnd01(q));
        char wait[32];
        snprintf(wait, sizeof(wait), "%.3fs", delay);
        const char *why = status < 0 ? curl_easy_strerror(cc) : oc.first_line;
        if (oc.verdict == PUSH_RETRY_LOUD) {
            frond_error("Loki refused the push: check url, credentials and limits; will retry",
                        "host", q->host, "status", code, "retry_in", wait, "error", why);
        } else {
            frond_warn("push failed, will retry", "host", q->host, "status", code, "retry_in", wait,
                       "error", why);
        }
        if (!sleep_for(q, delay)) {
            return false;
        }
    }
}

static void *sender_main(void *arg)
{
    struct ship_queue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        struct batch *b = NULL;
        while (!b) {
            double now = frond_now_monotonic();
            bool stopping = atomic_load(&q->stopping);
            if (stopping && now >= q->deadline) {
                goto out;
            }
            if (q->ready_head) {
                b = q->ready_head;
                q->nready--;
                q->ready_head = b->next;
                if (!q->ready_head) {
                    q->ready_tail = NULL;
                }
                b->next = NULL;
                break;
            }
            struct timespec ts;
            if (q->open && q->open->nentries > 0) {
                double due = q->open->first_mono + q->batchwait;
                if (stopping || now >= due) {
                    close_open(q);
                    continue;
                }
                abs_monotonic(due, &ts);
                pthread_cond_timedwait(&q->cv, &q->mu, &ts);
            } else if (stopping) {
                goto out;
            } else {
                pthread_cond_wait(&q->cv, &q->mu);
            }
        }
        pthread_mutex_unlock(&q->mu);
        bool sent = send_batch(q, b);
        pthread_mutex_lock(&q->mu);
        size_t backlog = atomic_load(&q->backlog) - b->cost;
        atomic_store(&q->backlog, backlog);
        if (q->s_backlog) {
            frond_series_set(q->s_backlog, (double)backlog);
        }
        if (sent) {
            /*
             * Acks go out after the room is given back: an ack is what wakes
             * a paused reader, and it must find the room there.
             */
            pthread_mutex_unlock(&q->mu);
            for (size_t i = 0; i < b->nsources; i++) {
                q->ack(q->ack_ctx, b->sources[i].id, b->sources[i].end_offset);
            }
            pthread_mutex_lock(&q->mu);
        }
        batch_put(q, b);
        if (!sent) {
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static void queue_free(struct ship_queue *q)
{
    if (!q) {
        return;
    }
    if (q->open) {
        batch_cleanup(q->open);
        free(q->open);
    }
    batch_free_list(q->ready_head);
    batch_free_list(q->spare);
    batch_encoder_free(q->enc);
    if (q->curl) {
        curl_easy_cleanup(q->curl);
    }
    curl_slist_free_all(q->connect_to_list);
    free(q->connect_to);
    curl_free(q->url);
    free(q->token.value);
    free(q->password.value);
    metrics_put(q->m);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    pthread_mutex_lock(&curl_mu);
    if (--curl_users == 0) {
        curl_global_cleanup();
    }
    pthread_mutex_unlock(&curl_mu);
    free(q);
}

/*
 * Work out the URL curl connects to, the `host` metric label, and, when
 * tls_config.server_name is set, a CONNECT_TO rule: curl has no separate
 * SNI option, so the URL names the server and CONNECT_TO sends the
 * connection to the configured address.
 */
static int setup_url(struct ship_queue *q)
{
    const struct ship_client_config *cfg = q->cfg;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *eport = NULL;
    int rc = -EINVAL;
    if (!u) {
        return -ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &eport, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        /* The URL may carry a password in its userinfo: never log it as given. */
        char safe[512];
        frond_redact_uri(cfg->url, safe, sizeof(safe));
        frond_error("invalid client url", "url", safe);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port) {
        snprintf(q->host, sizeof(q->host), "%s:%s", host, port);
    } else {
        snprintf(q->host, sizeof(q->host), "%s", host);
    }
    if (cfg->tls_server_name && cfg->tls_server_name[0]) {
        size_t n = strlen(cfg->tls_server_name) + strlen(host) + 2 * strlen(eport) + 4;
        q->connect_to = malloc(n);
        if (!q->connect_to) {
            rc = -ENOMEM;
            goto out;
        }
        snprintf(q->connect_to, n, "%s:%s:%s:%s", cfg->tls_server_name, eport, host, eport);
        q->connect_to_list = curl_slist_append(NULL, q->connect_to);
        if (!q->connect_to_list ||
            curl_url_set(u, CURLUPART_HOST, cfg->tls_server_name, 0) != CURLUE_OK) {
            rc = -ENOMEM;
            goto out;
        }
    }
    if (curl_url_get(u, CURLUPART_URL, &q->url, 0) != CURLUE_OK) {
        goto out;
    }
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_free(eport);
    curl_url_cleanup(u);
    return rc;
}

int push_url_check(const char *url, char *why, size_t whylen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -EINVAL;
    if (!u) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    CURLUcode uc = url && url[0] ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_MALFORMED_INPUT;
    if (uc != CURLUE_OK) {
        snprintf(why, whylen, "not a valid URL (%s)", curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        snprintf(why, whylen, "the scheme must be http or https");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !host[0]) {
        snprintf(why, whylen, "the URL has no host");
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static int setup_curl(struct ship_queue *q)
{
    const struct ship_client_config *cfg = q->cfg;
    CURL *c = curl_easy_init();
    if (!c) {
        return -ENOMEM;
    }
    q->curl = c;
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "frondtail/" FROND_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(q->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, q);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (q->connect_to_list) {
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, q->connect_to_list);
    }
    if (cfg->basic_auth_user && cfg->basic_auth_user[0]) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->basic_auth_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, q->password.value ? q->password.value : "");
    }
    if (cfg->tls_ca_file && cfg->tls_ca_file[0]) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->tls_ca_file);
    }
    if (cfg->tls_cert_file && cfg->tls_cert_file[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->tls_cert_file);
    }
    if (cfg->tls_key_file && cfg->tls_key_file[0]) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->tls_key_file);
    }
    if (cfg->tls_insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return 0;
}

struct ship_queue *ship_queue_new(const struct ship_client_config *cfg, unsigned index,
                                  struct frond_registry *reg, ship_ack_fn ack, void *ack_ctx)
{
    struct ship_queue *q = NULL;
    if (!cfg || !cfg->url || !cfg->url[0] || !ack) {
        frond_error("client needs a url");
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        return NULL;
    }
    pthread_mutex_lock(&curl_mu);
    if (curl_users++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        frond_error("curl_global_init failed");
    }
    pthread_mutex_unlock(&curl_mu);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&q->mu, NULL);
    q->cfg = cfg;
    q->ack = ack;
    q->ack_ctx = ack_ctx;
    q->batchwait = cfg->batchwait > 0 ? cfg->batchwait : 1.0;
    q->batchsize = cfg->batchsize > 0 ? (size_t)cfg->batchsize : 1u << 20;
    q->timeout = cfg->timeout > 0 ? cfg->timeout : 10.0;
    q->max_backlog = cfg->max_backlog_bytes > 0 ? (size_t)cfg->max_backlog_bytes : 64u << 20;
    q->max_retries = cfg->max_retries > 0 ? cfg->max_retries : 0;
    push_backoff_init(&q->backoff, cfg->backoff_min > 0 ? cfg->backoff_min : 0.5,
                      cfg->backoff_max > 0 ? cfg->backoff_max : 300.0);
    q->rng = (uint64_t)(frond_now_realtime() * 1e9) ^ ((uint64_t)(uintptr_t)q << 16) ^ index;
    if (q->rng == 0) {
        q->rng = 0x9e3779b97f4a7c15ULL;
    }
    atomic_init(&q->backlog, 0);
    atomic_init(&q->stopping, false);
    if (secret_init(&q->token, cfg->bearer_token_file, cfg->bearer_token, "bearer_token") ||
        secret_init(&q->password, cfg->basic_auth_password_file, cfg->basic_auth_password,
                    "basic_auth.password") ||
        setup_url(q) || setup_curl(q)) {
        goto fail;
    }
    q->enc = batch_encoder_new();
    if (!q->enc) {
        goto fail;
    }
    q->m = metrics_get(reg);
    if (q->m) {
        q->s_sent_entries = series(q->m->sent_entries, q->host, NULL);
        q->s_sent_bytes = series(q->m->sent_bytes, q->host, NULL);
        q->s_encoded = series(q->m->encoded_bytes, q->host, NULL);
        q->s_batches = series(q->m->batches, q->host, NULL);
        q->s_backlog = series(q->m->backlog, q->host, NULL);
        /* Set once: alerts divide the backlog by it instead of repeating the config. */
        struct frond_series *lim = series(q->m->backlog_limit, q->host, NULL);
        if (lim) {
            frond_series_set(lim, (double)q->max_backlog);
        }
    }
    if (pthread_create(&q->thread, NULL, sender_main, q) != 0) {
        frond_error("cannot start sender thread", "host", q->host);
        goto fail;
    }
    q->thread_started = true;
    return q;
fail:
    queue_free(q);
    return NULL;
}

void ship_queue_stop(struct ship_queue *q, double deadline)
{
    if (!q) {
        return;
    }
    pthread_mutex_lock(&q->mu);
    q->deadline = deadline;
    atomic_store(&q->stopping, true);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->thread_started) {
        pthread_join(q->thread, NULL);
    }
    size_t left = atomic_load(&q->backlog);
    if (left) {
        char n[32];
        snprintf(n, sizeof(n), "%zu", left);
        frond_warn("stopped with unsent entries; they will be read again at the next start", "host",
                   q->host, "bytes", n);
    }
    queue_free(q);
}
