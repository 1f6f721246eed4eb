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
 * Rendering details (clarifications of the implementation):
 * - A family with no samples left (none added, or all duplicates) is
 *   omitted; a family without HELP text gets no `# HELP` line.
 * - Within a family, direct series come first in creation order, then
 *   collector samples in the order they were added; labels keep the order
 *   the caller gave. A direct metric and a collector family of the same
 *   name and type are merged; a different type is refused (logged once).
 * - Direct metrics are read after the collectors ran, so an update a
 *   collector makes to a direct metric (a scrape error counter) shows in
 *   the same render; a direct metric declared while a render runs shows
 *   from the next one.
 * - A duplicate is the same label set in any order (same family, so the
 *   same name); a stateset's state label takes part, a histogram's `le`
 *   does not (a whole histogram series is one unit).
 * - OpenMetrics: a counter declared without `_total` still gets `_total`
 *   on its samples (as client_golang does), and an info family without
 *   `_info` gets `_info`; text 0.0.4 shows the names as declared.
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

/*
 * A new empty registry (it registers its own duplicate-series counter). NULL on ENOMEM.
 * A scrape's working memory (about 100 bytes per series) is mapped for
 * the scrape and unmapped after it, so it leaves the process between
 * scrapes; the registry keeps at most 1 MiB of it for the next scrape, so
 * a small exporter's scrape loop makes no syscalls.
 */
struct frond_registry *frond_registry_new(void);
/* Frees metrics, series and collectors; accepts NULL. No scrape may be running. */
void frond_registry_free(struct frond_registry *reg);

/* ---- direct metrics ---- */

/*
 * Declare a family. `label_names` is NULL-terminated (NULL for none), at
 * most FROND_MAX_LABELS. Returns NULL (and logs) on a bad name, a name
 * declared twice, or ENOMEM. The registry owns the metric. A metric with
 * no labels has its one series from the start (rendered at 0), so
 * frond_metric_series(m, NULL) just returns it. Histograms refuse the
 * label name `le`, and NaN or non-increasing buckets.
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

/*
 * Updates are relaxed atomics: lock-free, never blocking on a scrape. All
 * accept NULL (a failed frond_metric_series) and do nothing. Wrong-type
 * calls do nothing: add/set on a histogram, observe on a counter or gauge.
 */
void frond_series_add(struct frond_series *s, double v); /* counters: v >= 0 (else ignored) */
void frond_series_inc(struct frond_series *s);
/* Gauges, and counters that mirror a total kept elsewhere (a backend's own counter). */
void frond_series_set(struct frond_series *s, double v);
/* Histograms; v lands in the first bucket whose bound is >= v, NaN in +Inf. */
void frond_series_observe(struct frond_series *s, double v);
/* Counters and gauges: the value; histograms: the observation count; NULL: NaN. */
double frond_series_value(const struct frond_series *s);

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
/*
 * One sample; labels are copied (a NULL value counts as ""). 0, -EINVAL
 * (NULL family, bad or repeated label name, more than FROND_MAX_LABELS, a
 * histogram or stateset family, more than 65535 distinct label names in
 * one family), -ENOMEM, -ENOSPC (scrape memory bound).
 */
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
/*
 * Monotonic deadline (frond_now_monotonic() scale) of this scrape; collectors
 * must honour it. Always a real time: a render without a deadline gives its
 * collectors now + 120 s, so `deadline - now` is always usable.
 */
double frond_scrape_deadline(const struct frond_scrape *s);
/*
 * The earlier of `now + timeout` and the scrape's deadline (when it has
 * one): when a collector with its own time budget (--<x>.timeout) must be
 * done. `now` is frond_now_monotonic() as the collector read it.
 */
double frond_scrape_deadline_within(const struct frond_scrape *s, double now, double timeout);

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
 * reached (the caller answers 500), -ENOMEM. `out` is reset first. The
 * scrape's own working memory is bounded too (4 x out->max + 16 MiB):
 * past it, collectors' samples fail with -ENOSPC and so does the render.
 * -EINVAL for a NULL registry or buffer.
 */
FROND_MUST_CHECK int frond_registry_render(struct frond_registry *reg,
                                           enum frond_expo_format format, double deadline,
                                           struct frond_buf *out);

/*
 * The same render a piece at a time, so that a large exposition never
 * exists as one buffer: the HTTP server sends each piece before it makes
 * the next, like client_golang's encoder writing into the response.
 *
 * frond_render_start runs the collectors and prepares every family
 * (sorted, duplicates dropped): 0 with *out set, or the errors of
 * frond_registry_render (*out NULL). `max_bytes` bounds the whole output
 * and, as above, the scrape's memory. The samples stay in the scrape's
 * memory until frond_render_free.
 *
 * frond_render_next appends to `out` until it holds at least `min` bytes
 * (a sample line or histogram is never split) or everything, the format's
 * end marker included, is written: 1 when there is more, 0 when done,
 * -ENOSPC past max_bytes (or out->max), -ENOMEM, -EINVAL.
 */
struct frond_render;
FROND_MUST_CHECK int frond_render_start(struct frond_registry *reg, enum frond_expo_format format,
                                        double deadline, size_t max_bytes,
                                        struct frond_render **out);
FROND_MUST_CHECK int frond_render_next(struct frond_render *r, struct frond_buf *out, size_t min);
void frond_render_free(struct frond_render *r);

#endif
