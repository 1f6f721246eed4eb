/*
 * The metrics registry (see frond/registry.h), part one: the registry
 * itself, its direct metrics and their series, updated with atomics from
 * hot paths, and the list of collectors. The scrape those feed lives in
 * registry_scrape.c, and the render that turns a scrape into text 0.0.4 or
 * OpenMetrics in registry_render.c; registry_int.h holds what they share.
 */
#include "frond/registry.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frond/expo.h"
#include "frond/log.h"
#include "registry_int.h"

static void metric_free(struct frond_metric *m);

void frond_reg_lock(struct frond_registry *reg)
{
    pthread_mutex_lock(&reg->lock);
}

void frond_reg_unlock(struct frond_registry *reg)
{
    pthread_mutex_unlock(&reg->lock);
}

int frond_reg_warn_first_time(struct frond_registry *reg, char kind, const char *name, size_t nlen)
{
    int first = 1;
    pthread_mutex_lock(&reg->warn_lock);
    for (struct warned *w = reg->warned; w; w = w->next) {
        if (w->kind == kind && strlen(w->name) == nlen && memcmp(w->name, name, nlen) == 0) {
            first = 0;
            break;
        }
    }
    if (first) {
        struct warned *w = malloc(sizeof(*w) + nlen + 1);
        if (w) {
            w->kind = kind;
            memcpy(w->name, name, nlen);
            w->name[nlen] = '\0';
            w->next = reg->warned;
            reg->warned = w;
        }
    }
    pthread_mutex_unlock(&reg->warn_lock);
    return first;
}

struct frond_registry *frond_registry_new(void)
{
    struct frond_registry *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        return NULL;
    }
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->warn_lock, NULL);
    pthread_mutex_init(&reg->cache_lock, NULL);
    reg->metrics_tail = &reg->metrics;
    reg->dup_metric = frond_registry_counter(
        reg, "frond_registry_duplicate_series_total",
        "Series dropped at render because an earlier one had the same name and labels.", NULL);
    if (!reg->dup_metric) {
        frond_registry_free(reg);
        return NULL;
    }
    reg->dup_series = frond_metric_series(reg->dup_metric, NULL);
    if (!reg->dup_series) {
        frond_registry_free(reg);
        return NULL;
    }
    return reg;
}

void frond_registry_free(struct frond_registry *reg)
{
    if (!reg) {
        return;
    }
    struct frond_metric *m = reg->metrics;
    while (m) {
        struct frond_metric *next = m->next;
        metric_free(m);
        m = next;
    }
    struct warned *w = reg->warned;
    while (w) {
        struct warned *next = w->next;
        free(w);
        w = next;
    }
    struct chunk *c = reg->cache;
    while (c) {
        struct chunk *next = c->next;
        munmap(c, c->size);
        c = next;
    }
    free(reg->collectors);
    pthread_mutex_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->warn_lock);
    pthread_mutex_destroy(&reg->cache_lock);
    free(reg);
}

static void metric_free(struct frond_metric *m)
{
    struct frond_series *s = m->first;
    while (s) {
        struct frond_series *next = s->next;
        free(s);
        s = next;
    }
    free(m->table);
    for (size_t i = 0; i < m->nlabels; i++) {
        free(m->label_names[i]);
    }
    free(m->bounds);
    free(m->name);
    free(m->help);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n + 1);
    }
    return d;
}

static struct frond_metric *declare(struct frond_registry *reg, const char *name,
                                    enum frond_metric_type type, const char *help,
                                    const char *const *label_names, const double *buckets,
                                    size_t nbuckets)
{
    struct frond_metric *m = NULL;
    if (!reg || !frond_expo_valid_metric_name(name)) {
        frond_error("invalid metric name", "name", name ? name : "(null)");
        return NULL;
    }
    size_t nl = 0;
    while (label_names && label_names[nl]) {
        const char *ln = label_names[nl];
        int bad = nl >= FROND_MAX_LABELS || !frond_expo_valid_label_name(ln) ||
                  (type == FROND_HISTOGRAM && strcmp(ln, "le") == 0);
        for (size_t j = 0; j < nl && !bad; j++) {
            bad = strcmp(label_names[j], ln) == 0;
        }
        if (bad) {
            frond_error("invalid label names", "metric", name, "label", ln);
            return NULL;
        }
        nl++;
    }
    for (size_t i = 0; i < nbuckets; i++) {
        if (isnan(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])) ||
            (isinf(buckets[i]) && buckets[i] < 0)) {
            frond_error("histogram buckets must be strictly increasing", "metric", name);
            return NULL;
        }
    }
    /* The +Inf bucket is implicit; accept it written out, but only once. */
    if (nbuckets > 0 && isinf(buckets[nbuckets - 1])) {
        nbuckets--;
    }

    m = calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->reg = reg;
    m->type = type;
    m->name = dup_str(name);
    m->help = dup_str(help ? help : "");
    m->tcap = 8;
    m->table = calloc(m->tcap, sizeof(*m->table));
    int oom = !m->name || !m->help || !m->table;
    for (size_t i = 0; i < nl; i++) {
        m->label_names[i] = dup_str(label_names[i]);
        oom |= !m->label_names[i];
        m->nlabels = i + 1;
    }
    if (nbuckets) {
        m->bounds = malloc(nbuckets * sizeof(double));
        oom |= !m->bounds;
        if (m->bounds) {
            memcpy(m->bounds, buckets, nbuckets * sizeof(double));
        }
    }
    m->nbounds = nbuckets;
    if (oom) {
        metric_free(m);
        return NULL;
    }

    frond_reg_lock(reg);
    int taken = 0;
    for (struct frond_metric *o = reg->metrics; o; o = o->next) {
        taken |= strcmp(o->name, name) == 0;
    }
    if (!taken) {
        *reg->metrics_tail = m;
        reg->metrics_tail = &m->next;
    }
    frond_reg_unlock(reg);
    if (taken) {
        frond_error("metric declared twice", "name", name);
        metric_free(m);
        return NULL;
    }
    /* A metric without labels has exactly one series: show it from the start, at 0. */
    if (nl == 0 && !frond_metric_series(m, NULL)) {
        return NULL;
    }
    return m;
}

struct frond_metric *frond_registry_counter(struct frond_registry *reg, const char *name,
                                            const char *help, const char *const *label_names)
{
    return declare(reg, name, FROND_COUNTER, help, label_names, NULL, 0);
}

struct frond_metric *frond_registry_gauge(struct frond_registry *reg, const char *name,
                                          const char *help, const char *const *label_names)
{
    return declare(reg, name, FROND_GAUGE, help, label_names, NULL, 0);
}

struct frond_metric *frond_registry_histogram(struct frond_registry *reg, const char *name,
                                              const char *help, const char *const *label_names,
                                              const double *buckets, size_t nbuckets)
{
    if (nbuckets && !buckets) {
        return NULL;
    }
    return declare(reg, name, FROND_HISTOGRAM, help, label_names, buckets, nbuckets);
}

/* Label values hash in order: a direct metric's label names are fixed. */
static uint64_t values_hash(const struct frond_metric *m, const char *const *values)
{
    uint64_t h = 0;
    for (size_t i = 0; i < m->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        h = hash_pair(h + i, hash_bytes(v, strlen(v)));
    }
    return h;
}

static int values_equal(const struct frond_metric *m, const struct frond_series *s,
                        const char *const *values)
{
    for (size_t i = 0; i < m->nlabels; i++) {
        if (strcmp(s->values[i], values[i] ? values[i] : "") != 0) {
            return 0;
        }
    }
    return 1;
}

static struct frond_series **series_slot(struct frond_metric *m, uint64_t h,
                                         const char *const *values)
{
    struct frond_series **pp = &m->table[h & (m->tcap - 1)];
    while (*pp && !((*pp)->hash == h && values_equal(m, *pp, values))) {
        pp = &(*pp)->hnext;
    }
    return pp;
}

/* Double the table when it is full; on ENOMEM keep the longer chains. */
static void series_grow(struct frond_metric *m)
{
    size_t cap = m->tcap * 2;
    struct frond_series **t = calloc(cap, sizeof(*t));
    if (!t) {
        return;
    }
    for (struct frond_series *s = m->first; s; s = s->next) {
        struct frond_series **pp = &t[s->hash & (cap - 1)];
        s->hnext = *pp;
        *pp = s;
    }
    free(m->table);
    m->table = t;
    m->tcap = cap;
}

struct frond_series *frond_metric_series(struct frond_metric *m, const char *const *label_values)
{
    static const char *const none[1] = {NULL};
    if (!m) {
        return NULL;
    }
    const char *const *values = label_values ? label_values : none;
    if (m->nlabels > 0 && !label_values) {
        return NULL;
    }
    uint64_t h = values_hash(m, values);
    pthread_mutex_lock(&m->lock);
    struct frond_series **pp = series_slot(m, h, values);
    struct frond_series *s = *pp;
    if (s) {
        goto out;
    }
    /* One allocation: the series, its bucket counts, value pointers, strings. */
    size_t ncounts = m->type == FROND_HISTOGRAM ? m->nbounds + 1 : 0;
    size_t size = sizeof(*s) + m->nlabels * sizeof(char *);
    size_t counts_off = (size + 7) & ~(size_t)7;
    size = counts_off + ncounts * sizeof(uint64_t);
    for (size_t i = 0; i < m->nlabels; i++) {
        size += strlen(values[i] ? values[i] : "") + 1;
    }
    s = calloc(1, size);
    if (!s) {
        goto out;
    }
    s->m = m;
    s->hash = h;
    atomic_init(&s->bits, 0);
    if (ncounts) {
        s->counts = (_Atomic uint64_t *)((char *)s + counts_off);
        for (size_t i = 0; i < ncounts; i++) {
            atomic_init(&s->counts[i], 0);
        }
    }
    char *str = (char *)s + counts_off + ncounts * sizeof(uint64_t);
    for (size_t i = 0; i < m->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t n = strlen(v) + 1;
        memcpy(str, v, n);
        s->values[i] = str;
        str += n;
    }
    *pp = s;
    s->prev = m->last;
    if (m->last) {
        m->last->next = s;
    } else {
        m->first = s;
    }
    m->last = s;
    if (++m->nseries > m->tcap) {
        series_grow(m);
    }
out:
    pthread_mutex_unlock(&m->lock);
    return s;
}

void frond_metric_remove(struct frond_metric *m, const char *const *label_values)
{
    if (!m || (m->nlabels > 0 && !label_values)) {
        return;
    }
    static const char *const none[1] = {NULL};
    const char *const *values = label_values ? label_values : none;
    uint64_t h = values_hash(m, values);
    pthread_mutex_lock(&m->lock);
    struct frond_series **pp = series_slot(m, h, values);
    struct frond_series *s = *pp;
    if (s) {
        *pp = s->hnext;
        if (s->prev) {
            s->prev->next = s->next;
        } else {
            m->first = s->next;
        }
        if (s->next) {
            s->next->prev = s->prev;
        } else {
            m->last = s->prev;
        }
        m->nseries--;
    }
    pthread_mutex_unlock(&m->lock);
    free(s);
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    uint64_t next;
    do {
        next = double_to_bits(bits_to_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(p, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void frond_series_add(struct frond_series *s, double v)
{
    if (!s || s->m->type == FROND_HISTOGRAM) {
        return;
    }
    /* A counter only goes up: a negative or NaN increment would corrupt rate(). */
    if (s->m->type == FROND_COUNTER && !(v >= 0)) {
        return;
    }
    atomic_add_double(&s->bits, v);
}

void frond_series_inc(struct frond_series *s)
{
    frond_series_add(s, 1.0);
}

void frond_series_set(struct frond_series *s, double v)
{
    if (!s || s->m->type == FROND_HISTOGRAM) {
        return;
    }
    atomic_store_explicit(&s->bits, double_to_bits(v), memory_order_relaxed);
}

void frond_series_observe(struct frond_series *s, double v)
{
    if (!s || s->m->type != FROND_HISTOGRAM) {
        return;
    }
    /* First bucket whose upper bound is >= v; NaN lands in +Inf, as in client_golang. */
    size_t lo = 0, hi = s->m->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= s->m->bounds[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    atomic_fetch_add_explicit(&s->counts[lo], 1, memory_order_relaxed);
    atomic_add_double(&s->bits, v);
}

double frond_series_value(const struct frond_series *s)
{
    if (!s) {
        return NAN;
    }
    /* The caller's pointer is const, but atomics are read through a mutable view. */
    struct frond_series *ms = (struct frond_series *)s;
    if (s->m->type == FROND_HISTOGRAM) {
        uint64_t n = 0;
        for (size_t i = 0; i <= s->m->nbounds; i++) {
            n += atomic_load_explicit(&ms->counts[i], memory_order_relaxed);
        }
        return (double)n;
    }
    return bits_to_double(atomic_load_explicit(&ms->bits, memory_order_relaxed));
}

int frond_registry_add_collector(struct frond_registry *reg, frond_collect_fn fn, void *ctx)
{
    if (!reg || !fn) {
        return -EINVAL;
    }
    int rc = 0;
    frond_reg_lock(reg);
    if (reg->ncollectors == reg->capcollectors) {
        size_t cap = reg->capcollectors ? reg->capcollectors * 2 : 4;
        struct collector *c = realloc(reg->collectors, cap * sizeof(*c));
        if (!c) {
            rc = -ENOMEM;
            goto out;
        }
        reg->collectors = c;
        reg->capcollectors = cap;
    }
    reg->collectors[reg->ncollectors].fn = fn;
    reg->collectors[reg->ncollectors].ctx = ctx;
    reg->ncollectors++;
out:
    frond_reg_unlock(reg);
    return rc;
}
