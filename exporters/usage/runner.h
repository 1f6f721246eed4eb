/*
 * The usage exporter's runtime: one struct usage_runtime per loaded
 * config. It owns a mongoc_client_pool_t per (server, timeout) pair, a few
 * worker threads that run each query on its own interval, and the last
 * result of every query. Scrapes only read those results under a short
 * lock: a scrape never waits for MongoDB.
 *
 * A reload builds a whole new runtime next to the running one (carrying
 * over the results and counters of queries whose definition did not
 * change), swaps it in under the app lock, then stops the old one.
 *
 * Why pools per timeout: libmongoc 1.23 has no per-operation socket
 * timeout, so a query's own deadline is enforced by maxTimeMS on the
 * server and by the socket timeout of the pool it runs on. Pools also
 * avoid the single-threaded client deadlock of CDRIVER-4666.
 *
 * Thread-safety: usage_app_collect() may run on any number of scrape
 * threads; usage_app_swap() and the runtime lifecycle calls belong to the
 * main thread.
 */
#ifndef USAGE_RUNNER_H
#define USAGE_RUNNER_H

#include <pthread.h>

#include "config.h"
#include "frond/common.h"
#include "frond/registry.h"

struct usage_runtime;

/*
 * Build a runtime for `cfg`, which it takes over (freed with the runtime,
 * even on failure). `prev` (may be NULL) is a running runtime whose
 * results are copied for unchanged queries. NULL with *err set on failure.
 */
struct usage_runtime *usage_runtime_new(struct usage_config *cfg, struct usage_runtime *prev,
                                        unsigned workers, int *err);
/* Start the worker threads. */
FROND_MUST_CHECK int usage_runtime_start(struct usage_runtime *rt);
/* Stop and join the workers; in-flight queries end within their timeout. */
void usage_runtime_stop(struct usage_runtime *rt);
/* Stop if needed and free everything; accepts NULL. */
void usage_runtime_free(struct usage_runtime *rt);
/* Write every metric of this runtime into a scrape. */
int usage_runtime_collect(struct usage_runtime *rt, struct frond_scrape *s);
/* Has every query run at least once (success or not)? For /-/ready. */
int usage_runtime_ready(struct usage_runtime *rt);

/* The current runtime behind a read-write lock: what the collector reads. */
struct usage_app {
    pthread_rwlock_t lock;
    struct usage_runtime *rt;
};

FROND_MUST_CHECK int usage_app_init(struct usage_app *app);
/* Install `rt` and return the previous runtime (to be stopped and freed by the caller). */
struct usage_runtime *usage_app_swap(struct usage_app *app, struct usage_runtime *rt);
void usage_app_cleanup(struct usage_app *app);
/* frond_collect_fn over an app. */
int usage_app_collect(struct frond_scrape *s, void *ctx);
/* /-/ready callback over an app. */
int usage_app_ready(void *ctx);

#endif
