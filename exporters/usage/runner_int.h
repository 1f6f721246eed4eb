/*
 * Private to the usage runtime (runner.c runs the queries, runner_serve.c
 * serves their results to scrapes): the runtime's layout. Locking: every
 * field of struct mstate marked so, and struct server_state, are guarded
 * by usage_runtime.lock; the rest is fixed once the runtime is built.
 */
#ifndef USAGE_RUNNER_INT_H
#define USAGE_RUNNER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "config.h"
#include "result.h"
#include "runner.h"

#define ERRMSG_MAX 512

struct pool {
    size_t server;
    double timeout;
    mongoc_client_pool_t *pool;
};

struct server_state {
    bool used;
    unsigned inflight; /* runs of this server's queries in progress */
    bool up;           /* the most recent verdict on this server (see reach_of) */
    double up_since;   /* monotonic completion time of the run that gave it */
};

/* What one run says about its server. */
enum reach {
    REACH_UNKNOWN = 0, /* a socket timeout: a slow query or a hung server, cannot tell */
    REACH_UP,          /* the server answered (with a result or a command error) */
    REACH_DOWN,        /* no server could be selected or connected to */
};

struct mstate {
    const struct usage_metric *m;
    struct pool *pool;
    char *help; /* the metric's HELP plus how old the cached value may be */
    /* Everything below is guarded by rt->lock. */
    double next_due;
    bool running;
    bool has_run;
    bool up;
    double duration;
    double last_success; /* wall clock, 0 = never */
    uint64_t runs;
    uint64_t errors;
    uint64_t duplicates;
    uint64_t skipped[USAGE_SKIP_N];
    struct usage_result *result; /* last successful result, NULL when none or the last run failed */
    char last_error[ERRMSG_MAX];
};

struct usage_runtime {
    struct usage_config *cfg;
    struct pool *pools;
    size_t npools;
    struct mstate *ms;
    struct server_state *servers;
    unsigned nworkers;
    unsigned server_cap; /* at most this many workers on one server at a time */
    pthread_t *threads;
    size_t nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    unsigned seed;
};

static inline double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
