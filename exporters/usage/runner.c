/*
 * Query scheduling and execution for the usage exporter (see runner.h).
 *
 * Scheduling: the workers themselves are the scheduler. Each one takes the
 * query that is due soonest and not already running, sleeps until it is
 * due (or until a stop), runs it, stores the result and computes the next
 * due time. Start times are spread over the first second, and every next
 * run is jittered by ±2% of the interval so that queries with the same
 * interval do not march in lock-step against the database. A query that
 * takes longer than its interval runs again as soon as it finishes, never
 * twice at once.
 *
 * Scrapes read what the workers leave behind in runner_serve.c; the state
 * both share is laid out in runner_int.h.
 */
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "frond/log.h"
#include "result.h"

#include "runner_int.h"

static double rand_unit(unsigned *seed)
{
    return (double)rand_r(seed) / ((double)RAND_MAX + 1.0);
}

static void result_free(struct usage_result *r)
{
    if (r) {
        usage_result_cleanup(r);
        free(r);
    }
}

/* ---- pools ---- */

static int32_t ms_of(double secs)
{
    /* Round up, but do not let 0.7 * 1000 = 700.0000000000001 become 701. */
    double ms = ceil(secs * 1000.0 - 1e-6);
    return ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
}

static int pool_open(struct pool *p, const struct usage_server *srv, unsigned workers)
{
    bson_error_t berr;
    int rc = 0;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(srv->uri, &berr);
    if (!uri) {
        frond_error("invalid MongoDB URI", "server", srv->name);
        return -EINVAL;
    }
    /*
     * The operator's own settings win; otherwise the query timeout bounds
     * every wait: server selection (a server that is down), connecting, and
     * the socket (a server that stalls). The socket timeout leaves a little
     * room after maxTimeMS so the server's own timeout error can arrive.
     */
    int32_t t = ms_of(p->timeout);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS)) {
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, t);
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS)) {
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, t < 10000 ? t : 10000);
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS)) {
        int32_t extra = t / 10 > 250 ? t / 10 : 250;
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS,
                                       t > INT32_MAX - extra ? INT32_MAX : t + extra);
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_MAXPOOLSIZE)) {
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, (int32_t)workers + 1);
    }
    p->pool = mongoc_client_pool_new_with_error(uri, &berr);
    if (!p->pool) {
        frond_error("cannot create MongoDB client pool", "server", srv->name, "err", berr.message);
        rc = -EINVAL;
        goto out;
    }
    mongoc_client_pool_set_error_api(p->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(p->pool, "frond_usage_exporter");
out:
    mongoc_uri_destroy(uri);
    return rc;
}

static struct pool *pool_for(struct usage_runtime *rt, const struct usage_metric *m)
{
    for (size_t i = 0; i < rt->npools; i++) {
        if (rt->pools[i].server == m->server && rt->pools[i].timeout == m->timeout) {
            return &rt->pools[i];
        }
    }
    struct pool *p = &rt->pools[rt->npools];
    p->server = m->server;
    p->timeout = m->timeout;
    if (pool_open(p, &rt->cfg->servers[m->server], rt->nworkers)) {
        return NULL;
    }
    rt->npools++;
    return p;
}

/* ---- lifecycle ---- */

static char *make_help(const struct usage_metric *m)
{
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "%s (cached: the query runs every %gs with a %gs timeout, so the value may be up "
             "to %gs old)",
             m->help, m->interval, m->timeout, m->interval + m->timeout);
    size_t n = strlen(buf);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, buf, n + 1);
    }
    return s;
}

static struct usage_result *result_copy(const struct usage_result *src)
{
    struct usage_result *r = calloc(1, sizeof(*r));
    if (!r) {
        return NULL;
    }
    usage_result_init(r, src->nlabels, src->max_samples);
    r->samples = malloc((src->n ? src->n : 1) * sizeof(*r->samples));
    if (!r->samples ||
        frond_buf_append(&r->text, src->text.data ? src->text.data : "", src->text.len)) {
        result_free(r);
        return NULL;
    }
    if (src->n) {
        memcpy(r->samples, src->samples, src->n * sizeof(*r->samples));
    }
    r->n = r->cap = src->n;
    return r;
}

/* Carry state of unchanged queries over from the runtime being replaced. */
static void carry_over(struct usage_runtime *rt, struct usage_runtime *prev)
{
    pthread_mutex_lock(&prev->lock);
    for (size_t i = 0; i < rt->cfg->nmetrics; i++) {
        struct mstate *n = &rt->ms[i];
        for (size_t j = 0; j < prev->cfg->nmetrics; j++) {
            struct mstate *o = &prev->ms[j];
            if (strcmp(o->m->name, n->m->name) != 0) {
                continue;
            }
            /* Counters keep counting across reloads of the same metric name. */
            n->runs = o->runs;
            n->errors = o->errors;
            n->duplicates = o->duplicates;
            memcpy(n->skipped, o->skipped, sizeof(n->skipped));
            if (strcmp(o->m->signature, n->m->signature) == 0) {
                n->has_run = o->has_run;
                n->up = o->up;
                n->duration = o->duration;
                n->last_success = o->last_success;
                if (o->result) {
                    n->result = result_copy(o->result);
                }
            }
            break;
        }
    }
    for (size_t i = 0; i < rt->cfg->nservers; i++) {
        for (size_t j = 0; j < prev->cfg->nservers; j++) {
            if (!strcmp(rt->cfg->servers[i].name, prev->cfg->servers[j].name) &&
                !strcmp(rt->cfg->servers[i].uri, prev->cfg->servers[j].uri)) {
                rt->servers[i].up = prev->servers[j].up;
                rt->servers[i].up_since = prev->servers[j].up_since;
            }
        }
    }
    pthread_mutex_unlock(&prev->lock);
}

struct usage_runtime *usage_runtime_new(struct usage_config *cfg, struct usage_runtime *prev,
                                        unsigned workers, int *err)
{
    struct usage_runtime *rt = calloc(1, sizeof(*rt));
    pthread_condattr_t ca;
    int rc = -ENOMEM;

    if (!rt) {
        usage_config_free(cfg);
        *err = -ENOMEM;
        return NULL;
    }
    rt->cfg = cfg;
    rt->nworkers = workers ? workers : 1;
    if (rt->nworkers > cfg->nmetrics) {
        rt->nworkers = (unsigned)cfg->nmetrics;
    }
    rt->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)rt;
    pthread_mutex_init(&rt->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->cond, &ca);
    pthread_condattr_destroy(&ca);

    rt->pools = calloc(cfg->nmetrics, sizeof(*rt->pools));
    rt->ms = calloc(cfg->nmetrics, sizeof(*rt->ms));
    rt->servers = calloc(cfg->nservers, sizeof(*rt->servers));
    rt->threads = calloc(rt->nworkers, sizeof(*rt->threads));
    if (!rt->pools || !rt->ms || !rt->servers || !rt->threads) {
        goto fail;
    }
    double now = mono_now();
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        struct mstate *s = &rt->ms[i];
        s->m = &cfg->metrics[i];
        s->help = make_help(s->m);
        if (!s->help) {
            goto fail;
        }
        s->pool = pool_for(rt, s->m);
        if (!s->pool) {
            rc = -EINVAL;
            goto fail;
        }
        rt->servers[s->m->server].used = true;
        double spread = s->m->interval < 1.0 ? s->m->interval : 1.0;
        s->next_due = now + spread * rand_unit(&rt->seed);
    }
    /*
     * With several servers, one that is down (every run waits out its
     * server selection timeout) must not take every worker: each server
     * gets at most its share of them, so the others' queries keep their
     * schedule.
     */
    unsigned nused = 0;
    for (size_t i = 0; i < cfg->nservers; i++) {
        nused += rt->servers[i].used;
    }
    rt->server_cap = nused > 1 ? rt->nworkers / nused : rt->nworkers;
    if (rt->server_cap < 1) {
        rt->server_cap = 1;
    }
    if (prev) {
        carry_over(rt, prev);
    }
    return rt;
fail:
    usage_runtime_free(rt);
    *err = rc;
    return NULL;
}

/* ---- running one query ---- */

/*
 * Did the server answer, or is it unreachable? A read that timed out says
 * neither: one slow query must not mark a healthy server down. A server
 * that accepts connections but never answers is still found out, because
 * libmongoc's monitor then fails its hello and later runs fail server
 * selection.
 */
static enum reach reach_of(const bson_error_t *e)
{
    if (e->domain == MONGOC_ERROR_SERVER || e->domain == MONGOC_ERROR_WRITE_CONCERN ||
        e->domain == MONGOC_ERROR_QUERY) {
        return REACH_UP;
    }
    if (e->domain == MONGOC_ERROR_SERVER_SELECTION ||
        (e->domain == MONGOC_ERROR_STREAM && (e->code == MONGOC_ERROR_STREAM_CONNECT ||
                                              e->code == MONGOC_ERROR_STREAM_NAME_RESOLUTION))) {
        return REACH_DOWN;
    }
    return REACH_UNKNOWN;
}

static int run_count(const struct usage_metric *m, mongoc_client_t *c, const bson_t *filter,
                     struct usage_result *res, bson_error_t *berr)
{
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_iter_t it;
    int rc = -EIO;
    double v;

    BSON_APPEND_UTF8(&cmd, "count", m->collection);
    BSON_APPEND_DOCUMENT(&cmd, "query", filter);
    BSON_APPEND_INT64(&cmd, "maxTimeMS", ms_of(m->timeout));
    if (!mongoc_client_read_command_with_opts(c, m->database, &cmd, NULL, NULL, &reply, berr)) {
        goto out;
    }
    enum usage_skip why;
    if (!bson_iter_init_find(&it, &reply, "n") || usage_value_of(&it, &v, &why) != 0) {
        bson_set_error(berr, MONGOC_ERROR_SERVER, 0, "count reply without a numeric n");
        goto out;
    }
    res->docs = 1;
    rc = usage_result_add_plain(res, v);
out:
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return rc;
}

static int run_aggregate(const struct usage_metric *m, mongoc_client_t *c, const bson_t *pipeline,
                         double deadline, struct usage_result *res, bson_error_t *berr)
{
    bson_t opts = BSON_INITIALIZER;
    const bson_t *doc;
    int rc = 0;
    mongoc_collection_t *coll = mongoc_client_get_collection(c, m->database, m->collection);
    BSON_APPEND_INT64(&opts, "maxTimeMS", ms_of(m->timeout));
    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, &opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        rc = usage_result_add_doc(res, m, doc);
        if (rc < 0) {
            bson_set_error(berr, MONGOC_ERROR_CLIENT, 0, "out of memory");
            goto out;
        }
        if (rc == 1) {
            /* Full: destroying the cursor sends killCursors for the rest. */
            rc = 0;
            goto out;
        }
        /* getMore batches are each bounded by the socket timeout; bound the sum too. */
        if (mono_now() > deadline) {
            bson_set_error(berr, MONGOC_ERROR_CLIENT, 0, "timeout reading the result");
            rc = -ETIMEDOUT;
            goto out;
        }
    }
    if (mongoc_cursor_error(cur, berr)) {
        rc = -EIO;
    }
out:
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&opts);
    return rc;
}

/* Run one query; on success *out holds the new result. */
static int run_query(struct mstate *s, struct usage_result **out, enum reach *answered,
                     char *errmsg, size_t errlen)
{
    const struct usage_metric *m = s->m;
    bson_error_t berr;
    bson_t subst = BSON_INITIALIZER;
    const bson_t *q = m->query;
    int rc = 0;
    double start = mono_now();
    struct usage_result *res = calloc(1, sizeof(*res));
    mongoc_client_t *c = NULL;

    memset(&berr, 0, sizeof(berr));
    *answered = REACH_UNKNOWN;
    if (!res) {
        snprintf(errmsg, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    usage_result_init(res, m->nlabels, m->max_samples);
    if (m->has_placeholders) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rc = usage_bson_subst_now(m->query, &subst,
                                  (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        if (rc) {
            snprintf(errmsg, errlen, "cannot substitute $frondNowMinus");
            goto out;
        }
        q = &subst;
    }
    c = mongoc_client_pool_pop(s->pool->pool);
    if (!c) {
        snprintf(errmsg, errlen, "no client available from the pool");
        rc = -EIO;
        goto out;
    }
    if (m->kind == USAGE_COUNT) {
        rc = run_count(m, c, q, res, &berr);
    } else {
        rc = run_aggregate(m, c, q, start + m->timeout, res, &berr);
    }
    if (rc) {
        *answered = reach_of(&berr);
        snprintf(errmsg, errlen, "%s", berr.message[0] ? berr.message : "query failed");
        goto out;
    }
    *answered = REACH_UP;
    if (res->docs == 0 && !m->empty_absent) {
        rc = usage_result_add_plain(res, m->empty_value);
        if (rc) {
            snprintf(errmsg, errlen, "out of memory");
            goto out;
        }
    }
    usage_result_seal(res);
out:
    if (c) {
        mongoc_client_pool_push(s->pool->pool, c);
    }
    bson_destroy(&subst);
    if (rc) {
        result_free(res);
        res = NULL;
    }
    *out = res;
    return rc;
}

/* Store a finished run; called with rt->lock held. */
static void finish_run(struct usage_runtime *rt, struct mstate *s, struct usage_result *res,
                       enum reach answered, const char *errmsg, double start, double end)
{
    const struct usage_metric *m = s->m;
    struct server_state *srv = &rt->servers[m->server];
    s->has_run = true;
    s->runs++;
    s->duration = end - start;
    if (answered != REACH_UNKNOWN && end >= srv->up_since) {
        srv->up = answered == REACH_UP;
        srv->up_since = end;
    }
    if (res) {
        if (!s->up && s->last_error[0]) {
            frond_info("query recovered", "metric", m->name);
        }
        if (res->duplicates && s->duplicates == 0) {
            /* Logged once per metric: the counter tells whether it goes on. */
            frond_warn("query result has duplicate label sets; kept the first of each", "metric",
                       m->name, "first_duplicate_labels", res->first_duplicate);
        }
        s->up = true;
        s->last_error[0] = '\0';
        s->last_success = frond_now_realtime();
        bool first_cut = res->skipped[USAGE_SKIP_LIMIT] && !s->skipped[USAGE_SKIP_LIMIT];
        s->duplicates += res->duplicates;
        for (int i = 0; i < USAGE_SKIP_N; i++) {
            s->skipped[i] += res->skipped[i];
        }
        if (first_cut) {
            char lim[32];
            snprintf(lim, sizeof(lim), "%ld", m->max_samples);
            frond_warn("query result cut at max_samples; logged once", "metric", m->name,
                       "max_samples", lim);
        }
        result_free(s->result);
        s->result = res;
        return;
    }
    s->errors++;
    /* Log a failure when it starts or changes, not at every interval. */
    if (s->up || strcmp(s->last_error, errmsg) != 0) {
        frond_warn("query failed", "metric", m->name, "server", rt->cfg->servers[m->server].name,
                   "err", errmsg);
    }
    s->up = false;
    snprintf(s->last_error, sizeof(s->last_error), "%s", errmsg);
    /* A series that cannot be computed is absent, not stale. */
    result_free(s->result);
    s->result = NULL;
}

static void *worker(void *arg)
{
    struct usage_runtime *rt = arg;
    pthread_mutex_lock(&rt->lock);
    while (!rt->stopping) {
        struct mstate *best = NULL;
        for (size_t i = 0; i < rt->cfg->nmetrics; i++) {
            struct mstate *s = &rt->ms[i];
            if (!s->running && rt->servers[s->m->server].inflight < rt->server_cap &&
                (!best || s->next_due < best->next_due)) {
                best = s;
            }
        }
        double now = mono_now();
        if (!best || best->next_due > now) {
            if (!best) {
                pthread_cond_wait(&rt->cond, &rt->lock);
            } else {
                struct timespec ts;
                double due = best->next_due;
                ts.tv_sec = (time_t)due;
                ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
                pthread_cond_timedwait(&rt->cond, &rt->lock, &ts);
            }
            continue;
        }
        best->running = true;
        rt->servers[best->m->server].inflight++;
        double due = best->next_due;
        pthread_mutex_unlock(&rt->lock);

        struct usage_result *res = NULL;
        enum reach answered = REACH_UNKNOWN;
        char errmsg[ERRMSG_MAX] = "";
        double start = mono_now();
        (void)run_query(best, &res, &answered, errmsg, sizeof(errmsg));
        double end = mono_now();

        pthread_mutex_lock(&rt->lock);
        finish_run(rt, best, res, answered, errmsg, start, end);
        best->running = false;
        rt->servers[best->m->server].inflight--;
        double iv = best->m->interval;
        double next = due + iv * (1.0 + 0.04 * (rand_unit(&rt->seed) - 0.5));
        best->next_due = next > end ? next : end;
        /* Another worker may be waiting for this query to become free. */
        pthread_cond_broadcast(&rt->cond);
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

int usage_runtime_start(struct usage_runtime *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++) {
        int rc = pthread_create(&rt->threads[i], NULL, worker, rt);
        if (rc) {
            frond_error("cannot start query worker", "err", strerror(rc));
            usage_runtime_stop(rt);
            return -rc;
        }
        rt->nthreads++;
    }
    return 0;
}

void usage_runtime_stop(struct usage_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    rt->stopping = true;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->lock);
    for (size_t i = 0; i < rt->nthreads; i++) {
        pthread_join(rt->threads[i], NULL);
    }
    rt->nthreads = 0;
}

void usage_runtime_free(struct usage_runtime *rt)
{
    if (!rt) {
        return;
    }
    usage_runtime_stop(rt);
    if (rt->ms) {
        for (size_t i = 0; i < rt->cfg->nmetrics; i++) {
            free(rt->ms[i].help);
            result_free(rt->ms[i].result);
        }
    }
    for (size_t i = 0; i < rt->npools; i++) {
        mongoc_client_pool_destroy(rt->pools[i].pool);
    }
    free(rt->pools);
    free(rt->ms);
    free(rt->servers);
    free(rt->threads);
    pthread_cond_destroy(&rt->cond);
    pthread_mutex_destroy(&rt->lock);
    usage_config_free(rt->cfg);
    free(rt);
}

int usage_runtime_ready(struct usage_runtime *rt)
{
    int ready = 1;
    pthread_mutex_lock(&rt->lock);
    for (size_t i = 0; i < rt->cfg->nmetrics; i++) {
        if (!rt->ms[i].has_run) {
            ready = 0;
            break;
        }
    }
    pthread_mutex_unlock(&rt->lock);
    return ready;
}
