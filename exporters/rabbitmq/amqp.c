/*
 * AMQP mode on rabbitmq-c 0.11 (see amqp.h). The state machine per vhost is
 * small: no connection -> connect + login + open channel 1 -> declare each
 * queue passively. A 404 channel.close is answered with close-ok and the
 * channel reopened; a connection.close or any library error (socket closed,
 * timeout) drops the connection, to be rebuilt at the next scrape.
 */
#include "rmq_amqp.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "frond/log.h"

#define AMQP_CHANNEL 1
#define NAME_MAX_LEN 1024

struct amqp_queue {
    char *name;
};

struct amqp_vhost {
    char *name;
    struct amqp_queue *queues;
    size_t nqueues;
    amqp_connection_state_t conn; /* NULL when not connected */
    bool channel_open;
};

struct rmq_amqp {
    pthread_mutex_t lock;
    char *host;
    int port;
    char *user;
    char *password;
    char *redacted_url;
    double timeout;
    struct frond_series *errors;
    struct amqp_vhost *vhosts;
    size_t nvhosts;
};

int rmq_percent_decode(const char *in, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            unsigned v;
            char hex[3];
            if (i + 2 >= len) {
                return -EINVAL;
            }
            hex[0] = in[i + 1];
            hex[1] = in[i + 2];
            hex[2] = '\0';
            char *end;
            v = (unsigned)strtoul(hex, &end, 16);
            if (end != hex + 2 || v == 0) {
                return -EINVAL;
            }
            c = (char)v;
            i += 2;
        }
        if (o + 1 >= outsz) {
            return -EINVAL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static struct amqp_vhost *vhost_get(struct rmq_amqp *a, const char *name)
{
    for (size_t i = 0; i < a->nvhosts; i++) {
        if (strcmp(a->vhosts[i].name, name) == 0) {
            return &a->vhosts[i];
        }
    }
    struct amqp_vhost *nv = realloc(a->vhosts, (a->nvhosts + 1) * sizeof(*nv));
    if (!nv) {
        return NULL;
    }
    a->vhosts = nv;
    struct amqp_vhost *v = &a->vhosts[a->nvhosts];
    memset(v, 0, sizeof(*v));
    v->name = strdup(name);
    if (!v->name) {
        return NULL;
    }
    a->nvhosts++;
    return v;
}

static int add_queue(struct rmq_amqp *a, const char *vhost, const char *queue)
{
    struct amqp_vhost *v = vhost_get(a, vhost);
    if (!v) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < v->nqueues; i++) {
        if (strcmp(v->queues[i].name, queue) == 0) {
            return 0;
        }
    }
    struct amqp_queue *nq = realloc(v->queues, (v->nqueues + 1) * sizeof(*nq));
    if (!nq) {
        return -ENOMEM;
    }
    v->queues = nq;
    v->queues[v->nqueues].name = strdup(queue);
    if (!v->queues[v->nqueues].name) {
        return -ENOMEM;
    }
    v->nqueues++;
    return 0;
}

static int parse_queues(struct rmq_amqp *a, const char *spec, const char *default_vhost, char *err,
                        size_t errsz)
{
    const char *p = spec;
    char vh[NAME_MAX_LEN + 1], q[NAME_MAX_LEN + 1];
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ')) {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ') {
            len--;
        }
        if (len > 0) {
            const char *slash = memchr(p, '/', len);
            int rc;
            if (slash) {
                rc = rmq_percent_decode(p, (size_t)(slash - p), vh, sizeof(vh));
                if (!rc) {
                    rc = rmq_percent_decode(slash + 1, len - (size_t)(slash - p) - 1, q, sizeof(q));
                }
                if (!rc && vh[0] == '\0') {
                    snprintf(vh, sizeof(vh), "/");
                }
            } else {
                snprintf(vh, sizeof(vh), "%s", default_vhost);
                rc = rmq_percent_decode(p, len, q, sizeof(q));
            }
            if (rc || q[0] == '\0') {
                snprintf(err, errsz, "--amqp.queues: bad entry \"%.*s\" (want vhost/queue)",
                         (int)(len > 200 ? 200 : len), p);
                return -EINVAL;
            }
            rc = add_queue(a, vh, q);
            if (rc) {
                return rc;
            }
        }
        p = end ? end + 1 : p + strlen(p);
    }
    if (a->nvhosts == 0) {
        snprintf(err, errsz, "--amqp.queues: no queue listed");
        return -EINVAL;
    }
    return 0;
}

int rmq_amqp_new(const char *url, const char *queues, const char *user, const char *password,
                 double timeout, struct frond_series *errors, struct rmq_amqp **out, char *err,
                 size_t errsz)
{
    struct rmq_amqp *a = NULL;
    char *copy = NULL;
    int rc = 0;
    *out = NULL;

    a = calloc(1, sizeof(*a));
    copy = strdup(url ? url : "");
    if (!a || !copy) {
        rc = -ENOMEM;
        goto out;
    }
    pthread_mutex_init(&a->lock, NULL);
    a->timeout = timeout;
    a->errors = errors;
    char red[512];
    frond_redact_uri(url, red, sizeof(red));
    a->redacted_url = strdup(red);
    if (!a->redacted_url) {
        rc = -ENOMEM;
        goto out;
    }
    struct amqp_connection_info ci;
    amqp_default_connection_info(&ci);
    if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
        snprintf(err, errsz, "--amqp.url: cannot parse \"%s\"", red);
        rc = -EINVAL;
        goto out;
    }
    if (ci.ssl) {
        snprintf(err, errsz, "--amqp.url: amqps:// is not supported; use amqp://");
        rc = -EINVAL;
        goto out;
    }
    /* amqp_parse_url fills guest/guest when the URL has no userinfo. */
    bool url_has_user = strchr(url, '@') != NULL;
    a->host = strdup(ci.host);
    a->port = ci.port;
    a->user = strdup(url_has_user || !user ? ci.user : user);
    a->password = strdup(url_has_user || !password ? ci.password : password);
    if (!a->host || !a->user || !a->password) {
        rc = -ENOMEM;
        goto out;
    }
    rc =
        parse_queues(a, queues ? queues : "", ci.vhost && ci.vhost[0] ? ci.vhost : "/", err, errsz);
out:
    free(copy);
    if (rc) {
        rmq_amqp_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static void drop(struct amqp_vhost *v)
{
    if (v->conn) {
        amqp_destroy_connection(v->conn);
        v->conn = NULL;
    }
    v->channel_open = false;
}

void rmq_amqp_free(struct rmq_amqp *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->nvhosts; i++) {
        struct amqp_vhost *v = &a->vhosts[i];
        if (v->conn) {
            struct timeval tv = {1, 0};
            amqp_set_rpc_timeout(v->conn, &tv);
            if (v->channel_open) {
                amqp_channel_close(v->conn, AMQP_CHANNEL, AMQP_REPLY_SUCCESS);
            }
            amqp_connection_close(v->conn, AMQP_REPLY_SUCCESS);
        }
        drop(v);
        for (size_t j = 0; j < v->nqueues; j++) {
            free(v->queues[j].name);
        }
        free(v->queues);
        free(v->name);
    }
    free(a->vhosts);
    free(a->host);
    free(a->user);
    free(a->password);
    free(a->redacted_url);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static struct timeval tv_left(double deadline)
{
    double left = deadline - frond_now_monotonic();
    if (left < 0.001) {
        left = 0.001;
    }
    struct timeval tv = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    return tv;
}

/* Describe a failed RPC reply in `msg` (never with credentials). */
static void describe(amqp_rpc_reply_t r, char *msg, size_t sz)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(msg, sz, "ok");
        return;
    case AMQP_RESPONSE_NONE:
        snprintf(msg, sz, "missing RPC reply");
        return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(msg, sz, "%s", amqp_error_string2(r.library_error));
        return;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            snprintf(msg, sz, "server closed the connection: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;
            snprintf(msg, sz, "server closed the channel: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            snprintf(msg, sz, "server exception, method 0x%08x", r.reply.id);
        }
        return;
    }
    snprintf(msg, sz, "unknown reply type");
}

static int connect_vhost(struct rmq_amqp *a, struct amqp_vhost *v, double deadline, char *msg,
                         size_t sz)
{
    v->conn = amqp_new_connection();
    if (!v->conn) {
        snprintf(msg, sz, "out of memory");
        return -ENOMEM;
    }
    amqp_socket_t *sock = amqp_tcp_socket_new(v->conn);
    if (!sock) {
        snprintf(msg, sz, "cannot create socket");
        drop(v);
        return -ENOMEM;
    }
    struct timeval tv = tv_left(deadline);
    int st = amqp_socket_open_noblock(sock, a->host, a->port, &tv);
    if (st != AMQP_STATUS_OK) {
        snprintf(msg, sz, "connect to %s:%d: %s", a->host, a->port, amqp_error_string2(st));
        drop(v);
        return -ECONNREFUSED;
    }
    tv = tv_left(deadline);
    amqp_set_handshake_timeout(v->conn, &tv);
    amqp_set_rpc_timeout(v->conn, &tv);
    amqp_rpc_reply_t r = amqp_login(v->conn, v->name, 0, AMQP_DEFAULT_FRAME_SIZE, 0,
                                    AMQP_SASL_METHOD_PLAIN, a->user, a->password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        describe(r, msg, sz);
        drop(v);
        return -EACCES;
    }
    return 0;
}

static int open_channel(struct amqp_vhost *v, char *msg, size_t sz)
{
    amqp_channel_open(v->conn, AMQP_CHANNEL);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(v->conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        describe(r, msg, sz);
        drop(v);
        return -EIO;
    }
    v->channel_open = true;
    return 0;
}

/*
 * Passive declare of one queue. 0 with counts, 1 when the queue does not
 * exist (channel closed by the server and acknowledged), negative when the
 * connection is gone.
 */
static int declare(struct amqp_vhost *v, const char *queue, uint32_t *messages, uint32_t *consumers,
                   char *msg, size_t sz)
{
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(
        v->conn, AMQP_CHANNEL, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(v->conn);
    if (ok && r.reply_type == AMQP_RESPONSE_NORMAL) {
        *messages = ok->message_count;
        *consumers = ok->consumer_count;
        amqp_maybe_release_buffers(v->conn);
        return 0;
    }
    describe(r, msg, sz);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_ok_t close_ok;
        v->channel_open = false;
        if (amqp_send_method(v->conn, AMQP_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok) !=
            AMQP_STATUS_OK) {
            drop(v);
            return -EIO;
        }
        amqp_maybe_release_buffers(v->conn);
        return 1;
    }
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t close_ok;
        (void)amqp_send_method(v->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
    }
    drop(v);
    return -EIO;
}

/*
 * Take the connections' lock, waiting at most until `deadline` (monotonic).
 * A scrape stuck on a hung broker holds the lock for up to its own timeout;
 * the scrapes queued behind it must give up at their deadlines instead of
 * answering after Prometheus stopped waiting. timedlock wants CLOCK_REALTIME.
 */
static int lock_until(pthread_mutex_t *lock, double deadline)
{
    double left = deadline - frond_now_monotonic();
    if (left < 0) {
        left = 0;
    }
    double at = frond_now_realtime() + left;
    struct timespec ts;
    ts.tv_sec = (time_t)at;
    ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    } else if (ts.tv_nsec < 0) {
        ts.tv_nsec = 0;
    }
    return pthread_mutex_timedlock(lock, &ts);
}

/* Read the listed queues of every vhost; the caller holds a->lock. */
static int scrape_vhosts(struct rmq_amqp *a, struct frond_scrape *s, struct frond_family *ready,
                         struct frond_family *cons, double deadline, bool *all_up_out)
{
    bool all_up = true;
    int rc = 0;
    char msg[300];
    for (size_t i = 0; i < a->nvhosts && !rc; i++) {
        struct amqp_vhost *v = &a->vhosts[i];
        msg[0] = '\0';
        bool failed = false;
        if (frond_now_monotonic() >= deadline) {
            snprintf(msg, sizeof(msg), "scrape deadline reached");
            failed = true;
        } else if (!v->conn && connect_vhost(a, v, deadline, msg, sizeof(msg))) {
            failed = true;
        }
        for (size_t j = 0; !failed && j < v->nqueues; j++) {
            if (!v->channel_open && open_channel(v, msg, sizeof(msg))) {
                failed = true;
                break;
            }
            struct timeval tv = tv_left(deadline);
            amqp_set_rpc_timeout(v->conn, &tv);
            uint32_t nmsg = 0, ncons = 0;
            int d = declare(v, v->queues[j].name, &nmsg, &ncons, msg, sizeof(msg));
            if (d < 0) {
                failed = true;
                break;
            }
            if (d == 1) {
                frond_debug("queue not found", "vhost", v->name, "queue", v->queues[j].name, "err",
                            msg);
                continue;
            }
            struct frond_label lb[2] = {{"vhost", v->name}, {"queue", v->queues[j].name}};
            rc = frond_scrape_samplev(s, ready, (double)nmsg, 2, lb);
            if (!rc) {
                rc = frond_scrape_samplev(s, cons, (double)ncons, 2, lb);
            }
            if (rc) {
                break;
            }
        }
        if (failed) {
            if (all_up) {
                frond_error("RabbitMQ AMQP scrape failed", "url", a->redacted_url, "vhost", v->name,
                            "err", msg);
            }
            all_up = false;
            if (a->errors) {
                frond_series_inc(a->errors);
            }
        }
    }
    *all_up_out = all_up;
    return rc;
}

int rmq_amqp_collect(struct frond_scrape *s, void *ctx)
{
    struct rmq_amqp *a = ctx;
    double start = frond_now_monotonic();
    double deadline = frond_scrape_deadline_within(s, start, a->timeout);
    struct frond_family *ready = frond_scrape_family(
        s, "rabbitmq_queue_messages_ready", FROND_GAUGE,
        "Messages ready to be delivered to consumers (AMQP passive queue.declare: message_count).");
    struct frond_family *cons = frond_scrape_family(
        s, "rabbitmq_queue_consumers", FROND_GAUGE,
        "Consumers attached to the queue (AMQP passive queue.declare: consumer_count).");
    if (!ready || !cons) {
        return -ENOMEM;
    }
    bool all_up = true;
    int rc = 0;
    if (lock_until(&a->lock, deadline) == 0) {
        rc = scrape_vhosts(a, s, ready, cons, deadline, &all_up);
        pthread_mutex_unlock(&a->lock);
    } else {
        /* Another scrape still waits on the broker: report down now, in time. */
        all_up = false;
        frond_error("RabbitMQ AMQP scrape failed", "url", a->redacted_url, "err",
                    "an earlier scrape still holds the AMQP connections past this scrape's "
                    "deadline");
        if (a->errors) {
            frond_series_inc(a->errors);
        }
    }

    struct frond_family *aup = frond_scrape_family(
        s, "rabbitmq_amqp_up", FROND_GAUGE,
        "1 when every listed vhost could be reached over AMQP in this scrape, 0 otherwise.");
    struct frond_family *up = frond_scrape_family(
        s, "rabbitmq_up", FROND_GAUGE,
        "1 when RabbitMQ answered this scrape (in AMQP mode: same as rabbitmq_amqp_up).");
    struct frond_family *dur =
        frond_scrape_family(s, "rabbitmq_exporter_scrape_duration_seconds", FROND_GAUGE,
                            "Time this scrape spent reading RabbitMQ.");
    if (!aup || !up || !dur) {
        return -ENOMEM;
    }
    int rc2 = frond_scrape_sample0(s, aup, all_up && !rc ? 1 : 0);
    if (!rc2) {
        rc2 = frond_scrape_sample0(s, up, all_up && !rc ? 1 : 0);
    }
    if (!rc2) {
        rc2 = frond_scrape_sample0(s, dur, frond_now_monotonic() - start);
    }
    return rc ? rc : rc2;
}
