/*
 * The metrics registry: what every frond binary exposes on /metrics.
 *
 * Two kinds of content, as in the Prometheus client libraries:
 *
 * - Direct metrics, owned by the registry and updated from hot paths
 *   (frondtail's bytes read, an exporter's scrape errors). A metric is a
 *   family with fixed label names; frond_metric_series() returns a stable
 *   per-label-set handle that callers cache, and updates on it are
 *   lock-free atomics.
 *
 * - Collectors: callbacks run at every scrape that build fresh samples
 *   into a struct frond_scrape (the exporters' whole output). Nothing a
 *   collector writes survives the scrape, so a queue that disappears is
 *   gone from the next one.
 *
 * At render time the registry merges both, makes each family contiguous,
 * sorts families by name, keeps the first of any duplicate series (counted
 * in frond_registry_duplicate_series_total and logged once per family),
 * and hands the result to the exposition writer (frond/expo.h).
 *
 * Names: counters are declared with their `_total` suffix and info metrics
 * with their `_info` suffix, as they appear in the text format; the
 * OpenMetrics writer derives the family name. Metric and label names must
 * match [a-zA-Z_:][a-zA-Z0-9_:]*; a bad name is a programming error
 * (-EINVAL from the call that declares it).
 *
 * Thread-safety: every function here may be called from any thread.
 * Collectors of one registry run one at a time, in registration order, on
 * the scraping thread; two scrapes may run concurrently, so a collector must
 * be safe against itself unless it takes its own lock.
 */
#ifndef FROND_REGISTRY_H
#define FROND_REGISTRY_H

#include <stddef.h>

#include "frond/buf.h"
#include "frond/common.h"

#define FROND_MAX_LABELS 16

enum frond_metric_type {
    FROND_UNTYPED = 0,
    FROND_COUNTER,
    FROND_GAUGE,
    FROND_HISTOGRAM,
    FROND_STATESET, /* rendered as a gauge in text 0.0.4 */
    FROND_INFO,     /* rendered as a gauge in text 0.0.4 */
};

struct frond_label {
    const char *name;
    const char *value;
};

struct frond_registry;
struct frond_metric;
struct frond_series;
struct frond_scrape;
struct frond_family;

/* ---- registry ---- */

/* A new empty registry (it registers its own duplicate-series counter). NULL on ENOMEM. */
struct frond_registry *frond_registry_new(void);
/* Frees metrics, series and collectors; accepts NULL. No scrape may be running. */
void frond_registry_free(struct frond_registry *reg);

/* ---- direct metrics ---- */

/*
 * Declare a family. `label_names` is NULL-terminated (NULL for none), at
 * most FROND_MAX_LABELS. Returns NULL (and logs) on a bad name, a name
 * declared twice, or ENOMEM. The registry owns the metric.
 */
struct frond_metric *frond_registry_counter(struct frond_registry *reg, const char *name,
                                            const char *help, const char *const *label_names);
struct frond_metric *frond_registry_gauge(struct frond_registry *reg, const char *name,
                                          const char *help, const char *const *label_names);
/* Buckets: strictly increasing upper bounds; +Inf is implicit. Copied. */
struct frond_metric *frond_registry_histogram(struct frond_registry *reg, const char *name,
                                              const char *help, const char *const *label_names,
                                              const double *buckets, size_t nbuckets);

/*
 * The series of `m` for these label values (as many as the metric has
 * label names; NULL for none). Created at value 0 on first use. The handle
 * stays valid until frond_metric_remove() of the same values or the
 * registry is freed. NULL on ENOMEM.
 */
struct frond_series *frond_metric_series(struct frond_metric *m, const char *const *label_values);
/* Forget one series (a file that was closed, a queue that went away). */
void frond_metric_remove(struct frond_metric *m, const char *const *label_values);

void frond_series_add(struct frond_series *s, double v); /* counters: v >= 0 */
void frond_series_inc(struct frond_series *s);
void frond_series_set(struct frond_series *s, double v); /* gauges */
void frond_series_observe(struct frond_series *s, double v); /* histograms */
double frond_series_value(const struct frond_series *s); /* counters, gauges; tests */

/* ---- collectors ---- */

/*
 * Called at each scrape. Return 0, or a negative code if the collector
 * failed; a failure is logged by the registry and the samples added before
 * it are kept (an exporter reports its backend's health through `_up`,
 * not through this code).
 */
typedef int (*frond_collect_fn)(struct frond_scrape *s, void *ctx);

/* Register a collector; `ctx` stays owned by the caller and must outlive the registry. */
FROND_MUST_CHECK int frond_registry_add_collector(struct frond_registry *reg, frond_collect_fn fn,
                                                  void *ctx);

/*
 * Inside a collector: open (or reopen) a family. Reopening the same name
 * with the same type returns the same family, so samples may come in any
 * order; a different type is -EINVAL/NULL. The strings are copied.
 */
struct frond_family *frond_scrape_family(struct frond_scrape *s, const char *name,
                                         enum frond_metric_type type, const char *help);
/* One sample; labels are copied. 0, -EINVAL (bad label name), -ENOMEM. */
int frond_scrape_samplev(struct frond_scrape *s, struct frond_family *f, double value,
                         size_t nlabels, const struct frond_label *labels);
/* A whole histogram series: cumulative counts per bucket, +Inf bucket = count. */
int frond_scrape_histogramv(struct frond_scrape *s, struct frond_family *f, size_t nlabels,
                            const struct frond_label *labels, const double *bounds,
                            const double *cumulative_counts, size_t nbuckets, double sum,
                            double count);
/*
 * A stateset series: one sample per state, 1 for `current` (may be NULL
 * for none) and 0 for the others, with the state in a label named like
 * the family (OpenMetrics requires it).
 */
int frond_scrape_stateset(struct frond_scrape *s, struct frond_family *f, size_t nlabels,
                          const struct frond_label *labels, const char *const *states,
                          size_t nstates, const char *current);
/* Monotonic deadline (frond_now_monotonic() scale) of this scrape; collectors must honour it. */
double frond_scrape_deadline(const struct frond_scrape *s);

/* frond_scrape_sample(s, f, value, {"vhost", v}, {"queue", q}) */
#define frond_scrape_sample(s, f, value, ...)                                                      \
    frond_scrape_samplev((s), (f), (value),                                                        \
                         sizeof((struct frond_label[]){__VA_ARGS__}) / sizeof(struct frond_label), \
                         (struct frond_label[]){__VA_ARGS__})
/* A sample with no labels. */
#define frond_scrape_sample0(s, f, value) frond_scrape_samplev((s), (f), (value), 0, NULL)

/* ---- rendering ---- */

enum frond_expo_format {
    FROND_EXPO_TEXT = 0,        /* text/plain; version=0.0.4 */
    FROND_EXPO_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
};

/*
 * Run the collectors with `deadline` (monotonic seconds, 0 = none) and
 * render everything into `out` in `format`. 0, -ENOSPC if `out`'s cap is
 * reached (the caller answers 500), -ENOMEM. `out` is reset first.
 */
FROND_MUST_CHECK int frond_registry_render(struct frond_registry *reg,
                                           enum frond_expo_format format, double deadline,
                                           struct frond_buf *out);

#endif
