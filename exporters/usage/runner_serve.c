/*
 * Serving the usage runtime's results (see runner.h): a scrape copies the
 * last result of every query, and each query's health counters, under the
 * runtime's short lock, so it never waits for MongoDB; struct usage_app
 * puts the current runtime behind a read-write lock so a reload can swap
 * it while scrapes run.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "frond/registry.h"
#include "runner_int.h"

/* ---- scrape ---- */

static int emit_result(struct frond_scrape *sc, const struct mstate *s)
{
    const struct usage_metric *m = s->m;
    const struct usage_result *r = s->result;
    struct frond_label labels[FROND_MAX_LABELS];
    struct frond_family *f;
    int rc = 0;

    if (!r || r->n == 0) {
        return 0;
    }
    f = frond_scrape_family(sc, m->name, m->type, s->help);
    if (!f) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->nconst; i++) {
        labels[i] = (struct frond_label){m->const_names[i], m->const_values[i]};
    }
    for (size_t k = 0; k < r->n && rc == 0; k++) {
        const char *v = r->text.data ? r->text.data + r->samples[k].labels : "";
        for (size_t i = 0; i < m->nlabels; i++) {
            labels[m->nconst + i] = (struct frond_label){m->label_names[i], v};
            v += strlen(v) + 1;
        }
        rc = frond_scrape_samplev(sc, f, r->samples[k].value, m->nconst + m->nlabels, labels);
    }
    return rc;
}

enum fam {
    F_UP,
    F_DURATION,
    F_LAST_SUCCESS,
    F_RUNS,
    F_ERRORS,
    F_DUPLICATES,
    F_SKIPPED,
    F_SAMPLES,
    F_N,
};

static const struct {
    const char *name;
    enum frond_metric_type type;
    const char *help;
} fams[F_N] = {
    {"usage_query_up", FROND_GAUGE,
     "1 if the last run of the query succeeded, 0 if it failed or has not run yet."},
    {"usage_query_duration_seconds", FROND_GAUGE, "How long the last run of the query took."},
    {"usage_query_last_success_timestamp_seconds", FROND_GAUGE,
     "Unix time when the query last succeeded."},
    {"usage_query_runs_total", FROND_COUNTER,
     "Runs of the query that finished (succeeded or not)."},
    {"usage_query_errors_total", FROND_COUNTER, "Runs of the query that failed."},
    {"usage_query_duplicate_samples_total", FROND_COUNTER,
     "Result documents dropped because an earlier document of the same run had the same label "
     "set."},
    {"usage_query_skipped_documents_total", FROND_COUNTER,
     "Result documents that gave no sample, by reason (missing_value, non_numeric, limit)."},
    {"usage_query_samples", FROND_GAUGE, "Samples exposed from the last successful run."},
};

int usage_runtime_collect(struct usage_runtime *rt, struct frond_scrape *sc)
{
    double t0 = mono_now();
    struct frond_family *f[F_N];
    int rc = 0;

    for (int i = 0; i < F_N; i++) {
        f[i] = frond_scrape_family(sc, fams[i].name, fams[i].type, fams[i].help);
        if (!f[i]) {
            return -ENOMEM;
        }
    }
    pthread_mutex_lock(&rt->lock);
    for (size_t i = 0; i < rt->cfg->nmetrics && rc == 0; i++) {
        const struct mstate *s = &rt->ms[i];
        const char *name = s->m->name;
        rc = emit_result(sc, s);
        if (rc == 0) {
            rc = frond_scrape_sample(sc, f[F_UP], s->up ? 1 : 0, {"metric", name});
        }
        if (rc == 0 && s->has_run) {
            rc = frond_scrape_sample(sc, f[F_DURATION], s->duration, {"metric", name});
        }
        if (rc == 0 && s->last_success > 0) {
            rc = frond_scrape_sample(sc, f[F_LAST_SUCCESS], s->last_success, {"metric", name});
        }
        if (rc == 0) {
            rc = frond_scrape_sample(sc, f[F_RUNS], (double)s->runs, {"metric", name});
        }
        if (rc == 0) {
            rc = frond_scrape_sample(sc, f[F_ERRORS], (double)s->errors, {"metric", name});
        }
        if (rc == 0) {
            rc = frond_scrape_sample(sc, f[F_DUPLICATES], (double)s->duplicates, {"metric", name});
        }
        for (int k = 0; k < USAGE_SKIP_N && rc == 0; k++) {
            rc = frond_scrape_sample(sc, f[F_SKIPPED], (double)s->skipped[k], {"metric", name},
                                     {"reason", usage_skip_names[k]});
        }
        if (rc == 0 && s->result) {
            rc = frond_scrape_sample(sc, f[F_SAMPLES], (double)s->result->n, {"metric", name});
        }
    }
    /* usage_up: every server that has queries answered its most recent one. */
    bool all_up = true;
    struct frond_family *fs = NULL;
    if (rc == 0) {
        fs = frond_scrape_family(sc, "usage_server_up", FROND_GAUGE,
                                 "1 if the MongoDB server answered its most recent query (even "
                                 "with a command error), 0 if it could not be selected or "
                                 "connected to; a query timeout changes nothing.");
        if (!fs) {
            rc = -ENOMEM;
        }
    }
    for (size_t i = 0; i < rt->cfg->nservers && rc == 0; i++) {
        if (!rt->servers[i].used) {
            continue;
        }
        all_up = all_up && rt->servers[i].up;
        rc = frond_scrape_sample(sc, fs, rt->servers[i].up ? 1 : 0,
                                 {"server", rt->cfg->servers[i].name});
    }
    pthread_mutex_unlock(&rt->lock);
    if (rc == 0) {
        struct frond_family *fu = frond_scrape_family(
            sc, "usage_up", FROND_GAUGE,
            "1 if every configured MongoDB server answered its most recent query, else 0.");
        rc = fu ? frond_scrape_sample0(sc, fu, all_up ? 1 : 0) : -ENOMEM;
    }
    if (rc == 0) {
        struct frond_family *fd = frond_scrape_family(
            sc, "usage_exporter_scrape_duration_seconds", FROND_GAUGE,
            "Time this scrape spent copying the cached query results (no query runs during a "
            "scrape).");
        rc = fd ? frond_scrape_sample0(sc, fd, mono_now() - t0) : -ENOMEM;
    }
    return rc;
}

/* ---- the app ---- */

int usage_app_init(struct usage_app *app)
{
    app->rt = NULL;
    return -pthread_rwlock_init(&app->lock, NULL);
}

struct usage_runtime *usage_app_swap(struct usage_app *app, struct usage_runtime *rt)
{
    pthread_rwlock_wrlock(&app->lock);
    struct usage_runtime *old = app->rt;
    app->rt = rt;
    pthread_rwlock_unlock(&app->lock);
    return old;
}

void usage_app_cleanup(struct usage_app *app)
{
    pthread_rwlock_destroy(&app->lock);
}

int usage_app_collect(struct frond_scrape *s, void *ctx)
{
    struct usage_app *app = ctx;
    int rc = 0;
    pthread_rwlock_rdlock(&app->lock);
    if (app->rt) {
        rc = usage_runtime_collect(app->rt, s);
    }
    pthread_rwlock_unlock(&app->lock);
    return rc;
}

int usage_app_ready(void *ctx)
{
    struct usage_app *app = ctx;
    int ready = 0;
    pthread_rwlock_rdlock(&app->lock);
    if (app->rt) {
        ready = usage_runtime_ready(app->rt);
    }
    pthread_rwlock_unlock(&app->lock);
    return ready;
}
