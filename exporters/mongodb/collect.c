/*
 * The fetch half of a scrape: pooled libmongoc clients, the commands, the
 * deadline, and what gets logged when MongoDB misbehaves.
 *
 * Deadline. libmongoc fixes socket and server-selection timeouts per pool
 * (from the URI), not per call, while each scrape brings its own deadline
 * (X-Prometheus-Scrape-Timeout-Seconds). So the commands run on a worker
 * thread and the scraping thread waits for it only until the deadline. If
 * the server is silent, the scrape answers `mongodb_up 0` on time and the
 * worker finishes in the background within the pool's socket timeout
 * (--mongodb.timeout), returning its client to the pool and dropping its
 * result. mongo_exporter_free() waits for such workers before the pool is
 * destroyed. Concurrent scrapes are safe because each worker pops its own
 * client; when the pool is exhausted (every client stuck on a silent
 * server) a scrape fails at once instead of queueing.
 *
 * Logging. A failing server must not flood the log: each distinct error
 * (down, authentication, a command refused) is logged once when it
 * appears and once when it clears; repeats go to debug.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frond/log.h"
#include "mongo.h"

enum { SLOT_SERVER_STATUS, SLOT_RS_STATUS, SLOT_RS_CONFIG, SLOT_OPLOG, SLOT_COUNT };

static const char *const slot_names[SLOT_COUNT] = {"serverStatus", "replSetGetStatus",
                                                   "replSetGetConfig", "oplog"};

struct mongo_exporter {
    mongoc_client_pool_t *pool;
    mongoc_read_prefs_t *read_prefs;
    double timeout;
    char secret[256];     /* the decoded password, scrubbed from every message */
    char secret_raw[512]; /* the same as typed in the URI (percent-encoded) */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* signalled when a job finishes (CLOCK_MONOTONIC) */
    unsigned inflight;    /* worker threads still running */
    char last_error[SLOT_COUNT][BSON_ERROR_BUFFER_SIZE];
    int last_up;      /* -1 before the first scrape */
    int last_replset; /* -1 unknown, 0 not a replica set, 1 member */
};

/* One fetch, shared by the scraping thread and its worker until both let go. */
struct fetch_job {
    struct mongo_exporter *e;
    double deadline;
    int refs;  /* guarded by e->lock */
    bool done; /* guarded by e->lock */
    struct mongo_replies r;
};

/* ---- libmongoc logging ---- */

/* The exporter whose secrets the libmongoc log handler scrubs (one per process). */
static struct mongo_exporter *log_owner;
static pthread_mutex_t log_owner_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * libmongoc logs from its own threads (the topology monitor); every line
 * it logs is scrubbed of the live exporter's password here (see
 * exporters/common/mongoc_log.c for where each level goes).
 */
void mongo_log_scrub(char *msg, size_t msgsz)
{
    pthread_mutex_lock(&log_owner_lock);
    if (log_owner) {
        mongo_scrub(msg, msgsz, log_owner->secret);
        mongo_scrub(msg, msgsz, log_owner->secret_raw);
    } else {
        mongo_scrub(msg, msgsz, NULL);
    }
    pthread_mutex_unlock(&log_owner_lock);
}

/* ---- replies ---- */

static void reply_reset(struct mongo_reply *r)
{
    if (r->doc) {
        bson_destroy(r->doc);
    }
    memset(r, 0, sizeof(*r));
}

void mongo_replies_init(struct mongo_replies *r)
{
    memset(r, 0, sizeof(*r));
}

void mongo_replies_cleanup(struct mongo_replies *r)
{
    reply_reset(&r->server_status);
    reply_reset(&r->rs_status);
    reply_reset(&r->rs_config);
    reply_reset(&r->oplog_first);
    reply_reset(&r->oplog_last);
    reply_reset(&r->oplog_stats);
    r->up = false;
}

/* ---- the exporter ---- */

static void copy_secret(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src ? src : "");
}

struct mongo_exporter *mongo_exporter_new(const mongoc_uri_t *uri, const struct mongo_conn_opts *o)
{
    struct mongo_exporter *e = calloc(1, sizeof(*e));
    pthread_condattr_t ca;
    bson_error_t error;

    if (!e) {
        frond_error("out of memory creating the MongoDB exporter");
        return NULL;
    }
    e->timeout = o->timeout;
    e->last_up = -1;
    e->last_replset = -1;
    copy_secret(e->secret, sizeof(e->secret), mongoc_uri_get_password(uri));
    /*
     * The URI as typed may percent-encode the password; scrub that form
     * too, in case a message quotes the original string.
     */
    {
        const char *s = mongoc_uri_get_string(uri);
        const char *auth = s ? strstr(s, "://") : NULL;
        const char *at = auth ? strchr(auth, '@') : NULL;
        const char *colon = (auth && at) ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
        if (colon && at > colon + 1) {
            snprintf(e->secret_raw, sizeof(e->secret_raw), "%.*s", (int)(at - colon - 1),
                     colon + 1);
        }
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);

    e->pool = mongoc_client_pool_new_with_error(uri, &error);
    if (!e->pool) {
        mongo_scrub(error.message, sizeof(error.message), e->secret);
        mongo_scrub(error.message, sizeof(error.message), e->secret_raw);
        frond_error("cannot create the MongoDB client pool", "err", error.message);
        (void)mongo_exporter_free(e);
        return NULL;
    }
    /* Error API 2 puts server error codes (76, 94, 13, ...) in the SERVER domain. */
    if (!mongoc_client_pool_set_error_api(e->pool, MONGOC_ERROR_API_VERSION_2)) {
        frond_error("cannot select libmongoc error API version 2");
        (void)mongo_exporter_free(e);
        return NULL;
    }
    /*
     * primaryPreferred: on a direct connection libmongoc sends reads to the
     * one server anyway, and this makes a secondary accept the oplog finds.
     */
    e->read_prefs = mongoc_read_prefs_new(MONGOC_READ_PRIMARY_PREFERRED);

    pthread_mutex_lock(&log_owner_lock);
    log_owner = e;
    pthread_mutex_unlock(&log_owner_lock);
    return e;
}

static struct timespec abs_monotonic(double t)
{
    struct timespec ts;
    if (t < 0) {
        t = 0;
    }
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool mongo_exporter_free(struct mongo_exporter *e)
{
    if (!e) {
        return true;
    }
    pthread_mutex_lock(&e->lock);
    /*
     * Workers end within the socket timeout; wait a little longer than
     * that. Destroying the pool under a running worker would be a
     * use-after-free, so if one is still stuck we leak the pool instead.
     */
    double until = frond_now_monotonic() + e->timeout + 5.0;
    while (e->inflight > 0 && frond_now_monotonic() < until) {
        struct timespec ts = abs_monotonic(until);
        pthread_cond_timedwait(&e->cond, &e->lock, &ts);
    }
    unsigned left = e->inflight;
    pthread_mutex_unlock(&e->lock);

    pthread_mutex_lock(&log_owner_lock);
    if (log_owner == e) {
        log_owner = NULL;
    }
    pthread_mutex_unlock(&log_owner_lock);

    if (left > 0) {
        frond_error("MongoDB requests still running at exit; not freeing the client pool");
        return false;
    }
    if (e->pool) {
        mongoc_client_pool_destroy(e->pool);
    }
    if (e->read_prefs) {
        mongoc_read_prefs_destroy(e->read_prefs);
    }
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
    return true;
}

/* ---- fetching (worker thread) ---- */

/* Run one command into `slot`; true when it answered ok. */
static bool run_command(struct mongo_exporter *e, mongoc_client_t *c, const char *db,
                        const bson_t *cmd, struct mongo_reply *slot)
{
    bson_t reply;
    bson_error_t error;
    bool ok;

    memset(&error, 0, sizeof(error));
    slot->attempted = true;
    ok = mongoc_client_command_simple(c, db, cmd, e->read_prefs, &reply, &error);
    if (ok) {
        slot->ok = true;
        slot->doc = bson_copy(&reply);
        if (!slot->doc) {
            slot->ok = false;
            snprintf(slot->errmsg, sizeof(slot->errmsg), "out of memory");
        }
    } else {
        slot->domain = error.domain;
        slot->code = error.code;
        mongo_scrub(error.message, sizeof(error.message), e->secret);
        mongo_scrub(error.message, sizeof(error.message), e->secret_raw);
        snprintf(slot->errmsg, sizeof(slot->errmsg), "%s", error.message);
    }
    bson_destroy(&reply);
    return ok;
}

/*
 * Did this failed command reach the server? A command error reply (the
 * SERVER domain, or a write concern error) means connection and
 * authentication worked; anything else (selection, stream, handshake,
 * authentication) means the server could not be talked to.
 */
static bool reached_server(const struct mongo_reply *r)
{
    return r->ok || r->domain == MONGOC_ERROR_SERVER || r->domain == MONGOC_ERROR_WRITE_CONCERN;
}

static void fetch_all(struct mongo_exporter *e, double deadline, struct mongo_replies *r)
{
    mongoc_client_t *c;
    double t0 = frond_now_monotonic();
    bson_t cmd;

    /*
     * mongoc_client_pool_pop() would wait without a bound when every
     * client is busy, so poll try_pop until the deadline instead: scrapes
     * beyond the pool size queue briefly, and a pool drained by a silent
     * server fails the scrape on time.
     */
    while ((c = mongoc_client_pool_try_pop(e->pool)) == NULL) {
        if (frond_now_monotonic() + 0.005 >= deadline) {
            r->server_status.attempted = true;
            r->server_status.domain = MONGOC_ERROR_CLIENT;
            snprintf(r->server_status.errmsg, sizeof(r->server_status.errmsg),
                     "every pooled MongoDB connection is busy (--mongodb.max-connections)");
            return;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }

    /*
     * serverStatus without the heavy sections: the reply shrinks from
     * ~50 KiB to ~5 KiB and we use none of them.
     */
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "serverStatus", 1);
    BSON_APPEND_INT32(&cmd, "repl", 0);
    BSON_APPEND_INT32(&cmd, "metrics", 0);
    BSON_APPEND_INT32(&cmd, "locks", 0);
    BSON_APPEND_INT32(&cmd, "wiredTiger", 0);
    BSON_APPEND_INT32(&cmd, "tcmalloc", 0);
    BSON_APPEND_INT32(&cmd, "transactions", 0);
    run_command(e, c, "admin", &cmd, &r->server_status);
    bson_destroy(&cmd);
    r->up = reached_server(&r->server_status);
    if (!r->up || frond_now_monotonic() >= deadline) {
        goto out;
    }

    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "replSetGetStatus", 1);
    run_command(e, c, "admin", &cmd, &r->rs_status);
    bson_destroy(&cmd);
    if (!r->rs_status.ok || frond_now_monotonic() >= deadline) {
        goto out;
    }

    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "replSetGetConfig", 1);
    run_command(e, c, "admin", &cmd, &r->rs_config);
    bson_destroy(&cmd);

    /* An arbiter holds no data: its oplog is empty and not worth three round trips. */
    double my_state = -1;
    if (mongo_bson_get_number(r->rs_status.doc, "myState", &my_state) &&
        my_state == MONGO_STATE_ARBITER) {
        goto out;
    }
    for (int dir = 1; dir >= -1; dir -= 2) {
        struct mongo_reply *slot = dir == 1 ? &r->oplog_first : &r->oplog_last;
        bson_t sort, proj;
        if (frond_now_monotonic() >= deadline) {
            goto out;
        }
        bson_init(&cmd);
        BSON_APPEND_UTF8(&cmd, "find", "oplog.rs");
        BSON_APPEND_DOCUMENT_BEGIN(&cmd, "sort", &sort);
        BSON_APPEND_INT32(&sort, "$natural", dir);
        bson_append_document_end(&cmd, &sort);
        BSON_APPEND_DOCUMENT_BEGIN(&cmd, "projection", &proj);
        BSON_APPEND_INT32(&proj, "ts", 1);
        bson_append_document_end(&cmd, &proj);
        BSON_APPEND_INT32(&cmd, "limit", 1);
        BSON_APPEND_BOOL(&cmd, "singleBatch", true);
        run_command(e, c, "local", &cmd, slot);
        bson_destroy(&cmd);
    }
    if (frond_now_monotonic() >= deadline) {
        goto out;
    }
    bson_init(&cmd);
    BSON_APPEND_UTF8(&cmd, "collStats", "oplog.rs");
    run_command(e, c, "local", &cmd, &r->oplog_stats);
    bson_destroy(&cmd);

out:
    r->fetch_seconds = frond_now_monotonic() - t0;
    mongoc_client_pool_push(e->pool, c);
}

/* Drop one reference; the last one frees. Called with e->lock held. */
static void job_unref_locked(struct fetch_job *job)
{
    if (--job->refs == 0) {
        mongo_replies_cleanup(&job->r);
        free(job);
    }
}

static void *fetch_worker(void *arg)
{
    struct fetch_job *job = arg;
    struct mongo_exporter *e = job->e;

    fetch_all(e, job->deadline, &job->r);
    pthread_mutex_lock(&e->lock);
    job->done = true;
    job_unref_locked(job);
    e->inflight--;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

int mongo_fetch(struct mongo_exporter *e, double deadline, struct mongo_replies *r)
{
    struct fetch_job *job = calloc(1, sizeof(*job));
    pthread_attr_t attr;
    pthread_t tid;
    int rc;

    mongo_replies_init(r);
    if (!job) {
        return -ENOMEM;
    }
    job->e = e;
    job->deadline = deadline;
    job->refs = 2;
    mongo_replies_init(&job->r);

    pthread_mutex_lock(&e->lock);
    e->inflight++;
    pthread_mutex_unlock(&e->lock);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, fetch_worker, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&e->lock);
        e->inflight--;
        pthread_mutex_unlock(&e->lock);
        free(job);
        return -rc;
    }

    pthread_mutex_lock(&e->lock);
    while (!job->done && frond_now_monotonic() < deadline) {
        struct timespec ts = abs_monotonic(deadline);
        pthread_cond_timedwait(&e->cond, &e->lock, &ts);
    }
    if (job->done) {
        *r = job->r; /* move the documents out */
        mongo_replies_init(&job->r);
        rc = 0;
    } else {
        rc = -ETIMEDOUT;
    }
    job_unref_locked(job);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* ---- mapping and logging (scraping thread) ---- */

int mongo_map_replies(struct frond_scrape *s, const struct mongo_replies *r)
{
    int rc;

    rc = mongo_emit(s, &MONGO_M_UP, r->up ? 1 : 0, 0, NULL);
    if (rc || !r->up) {
        return rc;
    }
    if (r->server_status.ok) {
        rc = mongo_map_server_status(s, r->server_status.doc);
        if (rc) {
            return rc;
        }
    }
    if (r->rs_status.ok) {
        rc = mongo_emit(s, &MONGO_M_RS_ENABLED, 1, 0, NULL);
        if (rc) {
            return rc;
        }
        rc = mongo_map_replset(s, r->rs_status.doc, r->rs_config.ok ? r->rs_config.doc : NULL);
        if (rc) {
            return rc;
        }
    } else if (r->rs_status.attempted &&
               mongo_error_not_replset(r->rs_status.domain, r->rs_status.code)) {
        rc = mongo_emit(s, &MONGO_M_RS_ENABLED, 0, 0, NULL);
        if (rc) {
            return rc;
        }
    }
    return mongo_map_oplog(s, r->oplog_first.ok ? r->oplog_first.doc : NULL,
                           r->oplog_last.ok ? r->oplog_last.doc : NULL,
                           r->oplog_stats.ok ? r->oplog_stats.doc : NULL);
}

/*
 * Log an error of one command slot once: when it appears or changes (warn),
 * and when it goes away (info). Called with e->lock held.
 */
static void note_slot(struct mongo_exporter *e, int slot, const struct mongo_reply *r)
{
    char *last = e->last_error[slot];
    const char *now = (r->attempted && !r->ok) ? r->errmsg : "";
    if (!r->attempted) {
        return; /* skipped this time: neither a new error nor a recovery */
    }
    if (strcmp(last, now) == 0) {
        if (*now) {
            frond_debug("MongoDB command still failing", "command", slot_names[slot], "err", now);
        }
        return;
    }
    if (*now) {
        frond_warn("MongoDB command failed", "command", slot_names[slot], "err", now);
    } else {
        frond_info("MongoDB command works again", "command", slot_names[slot]);
    }
    snprintf(last, sizeof(e->last_error[slot]), "%s", now);
}

static void log_outcome(struct mongo_exporter *e, const struct mongo_replies *r, bool timed_out)
{
    pthread_mutex_lock(&e->lock);
    int up = (!timed_out && r->up) ? 1 : 0;
    if (!up) {
        const char *why =
            timed_out ? "scrape deadline passed before MongoDB answered" : r->server_status.errmsg;
        /*
         * One line per outage: the reason often changes while the server
         * stays down (a reset connection, then refused connects), which is
         * not news to the operator.
         */
        if (e->last_up != 0) {
            frond_warn("MongoDB is not reachable; reporting mongodb_up 0", "err", why);
        } else {
            frond_debug("MongoDB still not reachable", "err", why);
        }
        e->last_up = 0;
        pthread_mutex_unlock(&e->lock);
        return;
    }
    if (e->last_up == 0) {
        frond_info("MongoDB is reachable again");
        e->last_error[SLOT_SERVER_STATUS][0] = '\0';
    }
    e->last_up = 1;
    /* serverStatus errors that still reached the server (e.g. Unauthorized) are slot errors. */
    note_slot(e, SLOT_SERVER_STATUS, &r->server_status);

    int replset = -1;
    if (r->rs_status.ok) {
        replset = 1;
    } else if (r->rs_status.attempted &&
               mongo_error_not_replset(r->rs_status.domain, r->rs_status.code)) {
        replset = 0;
    }
    if (replset == 0 && e->last_replset != 0) {
        frond_info("server is not a replica set member; reporting mongodb_replset_enabled 0",
                   "reason", r->rs_status.errmsg);
    } else if (replset == 1 && e->last_replset == 0) {
        frond_info("server is now a replica set member");
    }
    if (replset != -1) {
        e->last_replset = replset;
    }
    if (replset != 0) {
        note_slot(e, SLOT_RS_STATUS, &r->rs_status);
    }
    note_slot(e, SLOT_RS_CONFIG, &r->rs_config);
    /* The three oplog commands share one slot: the first failure is the interesting one. */
    const struct mongo_reply *op = &r->oplog_first;
    if (op->ok && r->oplog_last.attempted && !r->oplog_last.ok) {
        op = &r->oplog_last;
    }
    if (op->ok && r->oplog_stats.attempted && !r->oplog_stats.ok) {
        op = &r->oplog_stats;
    }
    note_slot(e, SLOT_OPLOG, op);
    pthread_mutex_unlock(&e->lock);
}

int mongo_collect(struct frond_scrape *s, void *ctx)
{
    struct mongo_exporter *e = ctx;
    struct mongo_replies r;
    double t0 = frond_now_monotonic();
    /* No deadline from the scraper, or a longer one than ours: --mongodb.timeout bounds it. */
    double deadline = frond_scrape_deadline_within(s, t0, e->timeout);
    int rc, frc;

    frc = mongo_fetch(e, deadline, &r);
    if (frc != 0 && frc != -ETIMEDOUT) {
        frond_error("cannot start a MongoDB fetch", "err", strerror(-frc));
    }
    log_outcome(e, &r, frc != 0);
    if (frc == 0) {
        rc = mongo_map_replies(s, &r);
    } else {
        rc = mongo_emit(s, &MONGO_M_UP, 0, 0, NULL);
    }
    if (!rc) {
        rc = mongo_emit(s, &MONGO_M_SCRAPE_TIMEOUT, frc == -ETIMEDOUT ? 1 : 0, 0, NULL);
    }
    if (!rc) {
        rc = mongo_emit(s, &MONGO_M_SCRAPE_DURATION, frond_now_monotonic() - t0, 0, NULL);
    }
    mongo_replies_cleanup(&r);
    return rc;
}
