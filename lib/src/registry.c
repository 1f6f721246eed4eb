/*
 * The metrics registry (see frond/registry.h): direct metrics updated with
 * atomics from hot paths, collectors that build fresh samples at every
 * scrape, and the renderer that turns both into text 0.0.4 or OpenMetrics.
 *
 * A scrape is built in an arena: every family, sample, label copy and
 * histogram array of one scrape lives in a few mapped chunks that are
 * returned in one go (up to 1 MiB kept for the next scrape, so a small
 * exporter's scrape loop makes no syscalls, and a large one's memory
 * leaves the process between scrapes). Samples are compact (24 bytes +
 * 16 per label, names as per-family indices); that, a per-family
 * label-name cache, a hash set for duplicate detection, and expo.c's line
 * writers filling the output buffer in place are what let 100,000 series
 * render in about 10 ms. Everything format-specific lives in expo.c.
 */
#include "frond/registry.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frond/expo.h"
#include "frond/log.h"

/* Arena chunks (mappings): a 100k-series scrape needs ~30 of them. */
#define ARENA_CHUNK (256u * 1024u)
/* Past 2 MiB a scrape is large: grow by 4 MiB chunks backed by huge pages. */
#define ARENA_BIG_AFTER (2u * 1024u * 1024u)
#define ARENA_BIG_CHUNK (4u * 1024u * 1024u)
/* Chunks kept between scrapes for the next one; the rest is unmapped. */
#define ARENA_CACHE_MAX (1024u * 1024u)
/* The deadline of a scrape rendered without one. */
#define DEFAULT_SCRAPE_SECONDS 120.0

/* ---- hashing ---- */

/* A small multiply-xorshift hash over 8-byte words; label strings are short. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h;
}

/*
 * One (name, value) pair. A label set hashes to the sum of its pairs, so
 * the same labels in another order hash alike, as Prometheus sees them.
 */
static uint64_t hash_pair(uint64_t hn, uint64_t hv)
{
    uint64_t h = hn * 0x9e3779b97f4a7c15ull + hv;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

/* ---- registry, metrics and series ---- */

struct chunk {
    struct chunk *next;
    size_t size; /* of the whole mapping, this header included */
    _Alignas(16) char data[];
};

struct collector {
    frond_collect_fn fn;
    void *ctx;
};

/* Families already warned about (duplicates, type clashes): logged once. */
struct warned {
    struct warned *next;
    char kind;
    char name[];
};

struct frond_series {
    struct frond_series *hnext; /* hash chain of the metric's table */
    struct frond_series *prev;  /* creation order, for rendering */
    struct frond_series *next;
    uint64_t hash;
    _Atomic uint64_t bits;    /* the value (histograms: the sum) as double bits */
    _Atomic uint64_t *counts; /* histograms: per-bucket counts, +Inf last */
    const struct frond_metric *m;
    char *values[];
};

struct frond_metric {
    struct frond_metric *next;
    struct frond_registry *reg;
    enum frond_metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char *label_names[FROND_MAX_LABELS];
    double *bounds;
    size_t nbounds;
    pthread_mutex_t lock; /* table and list; never held while updating values */
    struct frond_series **table;
    size_t tcap;
    size_t nseries;
    struct frond_series *first;
    struct frond_series *last;
};

struct frond_registry {
    pthread_mutex_t lock;       /* metrics list and collectors; taken before a metric's lock */
    pthread_mutex_t warn_lock;  /* warned list (leaf lock) */
    pthread_mutex_t cache_lock; /* chunk cache (leaf lock: arenas grow under the others) */
    struct frond_metric *metrics;
    struct frond_metric **metrics_tail;
    struct collector *collectors;
    size_t ncollectors;
    size_t capcollectors;
    struct warned *warned;
    struct chunk *cache;
    size_t cache_bytes;
    struct frond_metric *dup_metric;
    struct frond_series *dup_series;
};

static void metric_free(struct frond_metric *m);

static void registry_lock(struct frond_registry *reg)
{
    pthread_mutex_lock(&reg->lock);
}

static void registry_unlock(struct frond_registry *reg)
{
    pthread_mutex_unlock(&reg->lock);
}

/* Has this family been warned about for `kind`? Marks it if not. */
static int warn_first_time(struct frond_registry *reg, char kind, const char *name, size_t nlen)
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

    registry_lock(reg);
    int taken = 0;
    for (struct frond_metric *o = reg->metrics; o; o = o->next) {
        taken |= strcmp(o->name, name) == 0;
    }
    if (!taken) {
        *reg->metrics_tail = m;
        reg->metrics_tail = &m->next;
    }
    registry_unlock(reg);
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

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
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
    registry_lock(reg);
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
    registry_unlock(reg);
    return rc;
}

/* ---- the scrape: arena, families, samples ---- */

/*
 * Arena chunks are mapped directly, not taken from malloc: a scrape of a
 * large exporter uses tens of megabytes for a moment, and munmap() is the
 * one way to be sure that memory leaves the process between scrapes
 * (malloc keeps freed heap pages unless they sit at the top). The registry
 * keeps a few chunks so that a small exporter's scrapes make no syscalls.
 */
static struct chunk *chunk_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    /*
     * Large scrapes: transparent huge pages where the kernel offers them
     * (enabled=madvise is common) take one fault per 2 MiB instead of 512;
     * on 100,000 series that is a fifth of the render time. Advisory only.
     */
    if (size >= ARENA_BIG_CHUNK) {
        (void)madvise(p, size, MADV_HUGEPAGE);
    }
    struct chunk *c = p;
    c->next = NULL;
    c->size = size;
    return c;
}

static void chunk_unmap(struct chunk *c)
{
    munmap(c, c->size);
}

/* A histogram series, stored right after its sample's labels. */
struct hist {
    size_t nb; /* finite bounds; the +Inf bucket is `count` */
    const double *bounds;
    const double *cum;
    double sum;
    double count;
};

/*
 * A label of a stored sample: 16 bytes. The name is an index into its
 * family's table of distinct label names (so equal names are equal
 * indices), the value a pointer to the scrape's copy (shared between
 * samples when intern() recognises it).
 */
struct slab {
    const char *value;
    uint32_t vlen;
    uint16_t name;
    uint16_t pad;
};

/* 24 bytes + 16 per label: 100,000 series of 3 labels take ~7 MB. */
struct sample {
    struct sample *next;
    double value;
    uint32_t hash; /* of the label set, independent of label order */
    uint16_t nlabels;
    uint8_t dup;
    uint8_t has_hist;
    struct slab labels[];
};

static const struct hist *sample_hist(const struct sample *s)
{
    return (const struct hist *)(const void *)(s->labels + s->nlabels);
}

struct lname {
    const char *name; /* arena copy, validated */
    uint32_t len;
    uint64_t hash;
};

/* Label names per family: a 16-bit index, so at most this many distinct ones. */
#define MAX_FAMILY_LABEL_NAMES 65535

struct frond_family {
    struct frond_family *hnext; /* scrape's name table */
    struct frond_family *next;  /* creation order */
    const char *name;
    size_t nlen;
    uint64_t nhash;
    enum frond_metric_type type;
    const char *help;
    size_t hlen;
    struct sample *head;
    struct sample **tail;
    size_t n;
    size_t ndup;
    /* Distinct label names; a stateset's own state label is names[0]. */
    struct lname *names;
    uint32_t nnames;
    uint32_t capnames;
    /* names[] index + 1 last seen at each position: a collector's repeated names cost a strcmp. */
    uint32_t pos[FROND_MAX_LABELS];
};

/* A label value copied into the scrape arena. */
#define VALUE_CACHE 512
struct istr {
    const char *p;
    uint32_t len;
    uint32_t hash;
};

struct frond_scrape {
    struct frond_registry *reg;
    double deadline;
    struct chunk *chunks;
    char *p;
    char *end;
    size_t used;
    size_t limit;
    int full; /* the arena limit was hit: the output would not fit anyway */
    int oom;
    struct frond_family **ftab;
    size_t fcap;
    size_t nfam;
    struct frond_family *first;
    struct frond_family **last;
    struct istr vcache[VALUE_CACHE]; /* recent label values, see intern() */
    struct sample *dup_sample;       /* snapshot of the duplicate counter, patched at render */
    struct sample *last_sample;      /* the sample add_sample() linked last */
};

static int arena_grow(struct frond_scrape *sc, size_t n)
{
    struct chunk *c = NULL;
    size_t size = ARENA_CHUNK;
    if (sc->used >= ARENA_BIG_AFTER) {
        size = ARENA_BIG_CHUNK;
    }
    if (n > size - sizeof(*c)) {
        size = (n + sizeof(*c) + 4095) & ~(size_t)4095;
    }
    if (sc->used + size > sc->limit) {
        sc->full = 1;
        return -ENOSPC;
    }
    if (size == ARENA_CHUNK) {
        pthread_mutex_lock(&sc->reg->cache_lock);
        c = sc->reg->cache;
        if (c) {
            sc->reg->cache = c->next;
            sc->reg->cache_bytes -= c->size;
        }
        pthread_mutex_unlock(&sc->reg->cache_lock);
    }
    if (!c) {
        c = chunk_map(size);
        if (!c) {
            sc->oom = 1;
            return -ENOMEM;
        }
    }
    c->next = sc->chunks;
    sc->chunks = c;
    sc->p = c->data;
    sc->end = (char *)c + c->size;
    sc->used += size;
    return 0;
}

static void *arena_alloc(struct frond_scrape *sc, size_t n)
{
    /* Strings bump the pointer by odd amounts; realign for structs and doubles. */
    if (sc->p) {
        size_t pad = (size_t)(-(uintptr_t)sc->p & 7u);
        sc->p = (size_t)(sc->end - sc->p) > pad ? sc->p + pad : sc->end;
    }
    n = (n + 7) & ~(size_t)7;
    if ((size_t)(sc->end - sc->p) < n && arena_grow(sc, n) != 0) {
        return NULL;
    }
    void *r = sc->p;
    sc->p += n;
    return r;
}

static char *arena_strndup(struct frond_scrape *sc, const char *s, size_t n)
{
    /* Strings need no alignment: bump by the exact size when it fits. */
    char *d;
    if ((size_t)(sc->end - sc->p) > n) {
        d = sc->p;
        sc->p += n + 1;
    } else {
        d = arena_alloc(sc, n + 1);
        if (!d) {
            return NULL;
        }
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/*
 * The scrape's copy of a label value. A small direct-mapped cache of recent
 * values lets repeated low-cardinality values (vhosts, nodes, methods,
 * status codes) share one copy; it stays in L1/L2, unlike a full intern
 * table, whose random probes cost more than the copies they save.
 */
static const char *intern(struct frond_scrape *sc, const char *s, size_t n, uint64_t h)
{
    uint32_t h32 = (uint32_t)(h >> 32);
    struct istr *e = &sc->vcache[h32 & (VALUE_CACHE - 1)];
    if (e->p && e->hash == h32 && e->len == n && memcmp(e->p, s, n) == 0) {
        return e->p;
    }
    const char *copy = arena_strndup(sc, s, n);
    if (copy) {
        e->p = copy;
        e->len = (uint32_t)n;
        e->hash = h32;
    }
    return copy;
}

static void scrape_init(struct frond_scrape *sc, struct frond_registry *reg, double deadline,
                        size_t out_max)
{
    memset(sc, 0, sizeof(*sc));
    sc->reg = reg;
    sc->deadline = deadline > 0 ? deadline : frond_now_monotonic() + DEFAULT_SCRAPE_SECONDS;
    /* The scrape's own data is a few times its output at most; bound it the same way. */
    sc->limit = out_max > SIZE_MAX / 8 ? SIZE_MAX : out_max * 4 + 16u * 1024u * 1024u;
    sc->p = sc->end = NULL;
    sc->last = &sc->first;
}

static void scrape_cleanup(struct frond_scrape *sc)
{
    struct chunk *c = sc->chunks;
    sc->chunks = NULL;
    while (c) {
        struct chunk *next = c->next;
        int kept = 0;
        if (c->size == ARENA_CHUNK) {
            pthread_mutex_lock(&sc->reg->cache_lock);
            if (sc->reg->cache_bytes + c->size <= ARENA_CACHE_MAX) {
                c->next = sc->reg->cache;
                sc->reg->cache = c;
                sc->reg->cache_bytes += c->size;
                kept = 1;
            }
            pthread_mutex_unlock(&sc->reg->cache_lock);
        }
        if (!kept) {
            chunk_unmap(c);
        }
        c = next;
    }
}

double frond_scrape_deadline(const struct frond_scrape *s)
{
    return s ? s->deadline : 0;
}

static int ftab_grow(struct frond_scrape *sc)
{
    size_t cap = sc->fcap ? sc->fcap * 2 : 64;
    struct frond_family **t = arena_alloc(sc, cap * sizeof(*t));
    if (!t) {
        return -ENOMEM;
    }
    memset(t, 0, cap * sizeof(*t));
    for (struct frond_family *f = sc->first; f; f = f->next) {
        struct frond_family **pp = &t[f->nhash & (cap - 1)];
        f->hnext = *pp;
        *pp = f;
    }
    sc->ftab = t;
    sc->fcap = cap;
    return 0;
}

/* Append a distinct label name to the family's table; its index, or a negative code. */
static int add_name(struct frond_scrape *sc, struct frond_family *f, const char *name, size_t n)
{
    if (f->nnames == MAX_FAMILY_LABEL_NAMES) {
        return -EINVAL;
    }
    if (f->nnames == f->capnames) {
        uint32_t cap = f->capnames ? f->capnames * 2 : 8;
        struct lname *t = arena_alloc(sc, cap * sizeof(*t));
        if (!t) {
            return sc->full ? -ENOSPC : -ENOMEM;
        }
        if (f->nnames) {
            memcpy(t, f->names, f->nnames * sizeof(*t));
        }
        f->names = t;
        f->capnames = cap;
    }
    const char *copy = arena_strndup(sc, name, n);
    if (!copy) {
        return sc->full ? -ENOSPC : -ENOMEM;
    }
    struct lname *l = &f->names[f->nnames];
    l->name = copy;
    l->len = (uint32_t)n;
    l->hash = hash_bytes(name, n);
    return (int)f->nnames++;
}

struct frond_family *frond_scrape_family(struct frond_scrape *s, const char *name,
                                         enum frond_metric_type type, const char *help)
{
    if (!s || !frond_expo_valid_metric_name(name) || (int)type < (int)FROND_UNTYPED ||
        (int)type > (int)FROND_INFO) {
        return NULL;
    }
    /* A stateset's state label is named like the family, so the name must be a label name. */
    if (type == FROND_STATESET && !frond_expo_valid_label_name(name)) {
        return NULL;
    }
    size_t nlen = strlen(name);
    uint64_t h = hash_bytes(name, nlen);
    if (s->nfam >= s->fcap && ftab_grow(s) != 0) {
        return NULL;
    }
    struct frond_family *f = s->ftab[h & (s->fcap - 1)];
    while (f && !(f->nhash == h && f->nlen == nlen && memcmp(f->name, name, nlen) == 0)) {
        f = f->hnext;
    }
    if (f) {
        if (f->type != type) {
            if (warn_first_time(s->reg, 't', name, nlen)) {
                frond_warn("metric family opened with two types; the second is dropped", "family",
                           name);
            }
            return NULL;
        }
        if (!f->hlen && help && *help) {
            size_t hl = strlen(help);
            const char *hc = arena_strndup(s, help, hl);
            if (hc) {
                f->help = hc;
                f->hlen = hl;
            }
        }
        return f;
    }
    f = arena_alloc(s, sizeof(*f));
    if (!f) {
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->name = arena_strndup(s, name, nlen);
    f->hlen = help ? strlen(help) : 0;
    f->help = arena_strndup(s, help ? help : "", f->hlen);
    if (!f->name || !f->help) {
        return NULL;
    }
    f->nlen = nlen;
    f->nhash = h;
    f->type = type;
    f->tail = &f->head;
    if (type == FROND_STATESET && add_name(s, f, name, nlen) != 0) {
        return NULL;
    }
    struct frond_family **pp = &s->ftab[h & (s->fcap - 1)];
    f->hnext = *pp;
    *pp = f;
    *s->last = f;
    s->last = &f->next;
    s->nfam++;
    return f;
}

/* The index of the label name at position i: validated and copied once per family. */
static int intern_label(struct frond_scrape *sc, struct frond_family *f, size_t i, const char *name)
{
    uint32_t k = f->pos[i];
    if (k && strcmp(f->names[k - 1].name, name) == 0) {
        return (int)(k - 1);
    }
    /* Reserved names first: a stateset's names[0] is its own state label. */
    if ((f->type == FROND_HISTOGRAM && strcmp(name, "le") == 0) ||
        (f->type == FROND_STATESET && strcmp(name, f->name) == 0)) {
        return -EINVAL;
    }
    for (uint32_t j = 0; j < f->nnames; j++) {
        if (strcmp(f->names[j].name, name) == 0) {
            f->pos[i] = j + 1;
            return (int)j;
        }
    }
    if (!frond_expo_valid_label_name(name)) {
        return -EINVAL;
    }
    int idx = add_name(sc, f, name, strlen(name));
    if (idx >= 0) {
        f->pos[i] = (uint32_t)idx + 1;
    }
    return idx;
}

/*
 * Append one sample to `f`. `extra` (may be NULL) is the value of one more
 * label after the caller's, for a stateset's state; `hist` (may be NULL)
 * is copied after the labels. On failure nothing is linked; the arena
 * space used is simply abandoned.
 */
static int add_sample(struct frond_scrape *sc, struct frond_family *f, double value, size_t nlabels,
                      const struct frond_label *labels, const char *extra_value,
                      const struct hist *hist)
{
    if (nlabels > FROND_MAX_LABELS || (nlabels && !labels)) {
        return -EINVAL;
    }
    size_t total = nlabels + (extra_value ? 1 : 0);
    size_t size = sizeof(struct sample) + total * sizeof(struct slab);
    struct sample *smp = arena_alloc(sc, size + (hist ? sizeof(*hist) : 0));
    if (!smp) {
        return sc->full ? -ENOSPC : -ENOMEM;
    }
    uint64_t h = 0;
    for (size_t i = 0; i < total; i++) {
        struct slab *l = &smp->labels[i];
        const char *v;
        int idx;
        if (i < nlabels) {
            if (!labels[i].name) {
                return -EINVAL;
            }
            idx = intern_label(sc, f, i, labels[i].name);
            if (idx < 0) {
                return idx;
            }
            for (size_t j = 0; j < i; j++) {
                if (smp->labels[j].name == (uint16_t)idx) {
                    return -EINVAL;
                }
            }
            v = labels[i].value ? labels[i].value : "";
        } else {
            idx = 0;
            v = extra_value;
        }
        size_t vlen = strlen(v);
        if (vlen > UINT32_MAX / 4) {
            return -EINVAL;
        }
        uint64_t hv = hash_bytes(v, vlen);
        l->value = intern(sc, v, vlen, hv);
        if (!l->value) {
            return sc->full ? -ENOSPC : -ENOMEM;
        }
        l->vlen = (uint32_t)vlen;
        l->name = (uint16_t)idx;
        l->pad = 0;
        h += hash_pair(f->names[idx].hash, hv);
    }
    smp->next = NULL;
    smp->value = value;
    smp->hash = (uint32_t)(h ^ (h >> 32));
    smp->nlabels = (uint16_t)total;
    smp->dup = 0;
    smp->has_hist = hist != NULL;
    if (hist) {
        memcpy((char *)smp + size, hist, sizeof(*hist));
    }
    *f->tail = smp;
    f->tail = &smp->next;
    f->n++;
    sc->last_sample = smp;
    return 0;
}

int frond_scrape_samplev(struct frond_scrape *s, struct frond_family *f, double value,
                         size_t nlabels, const struct frond_label *labels)
{
    if (!s || !f || f->type == FROND_HISTOGRAM || f->type == FROND_STATESET) {
        return -EINVAL;
    }
    return add_sample(s, f, value, nlabels, labels, NULL, NULL);
}

int frond_scrape_histogramv(struct frond_scrape *s, struct frond_family *f, size_t nlabels,
                            const struct frond_label *labels, const double *bounds,
                            const double *cumulative_counts, size_t nbuckets, double sum,
                            double count)
{
    if (!s || !f || f->type != FROND_HISTOGRAM || (nbuckets && (!bounds || !cumulative_counts))) {
        return -EINVAL;
    }
    for (size_t i = 0; i < nbuckets; i++) {
        if (isnan(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            return -EINVAL;
        }
    }
    /* An explicit +Inf bound is the implicit one; `count` is its value. */
    if (nbuckets && isinf(bounds[nbuckets - 1]) && bounds[nbuckets - 1] > 0) {
        nbuckets--;
    }
    double *b = nbuckets ? arena_alloc(s, 2 * nbuckets * sizeof(double)) : NULL;
    if (nbuckets && !b) {
        return s->full ? -ENOSPC : -ENOMEM;
    }
    if (nbuckets) {
        memcpy(b, bounds, nbuckets * sizeof(double));
        memcpy(b + nbuckets, cumulative_counts, nbuckets * sizeof(double));
    }
    const struct hist hs = {
        .nb = nbuckets, .bounds = b, .cum = b ? b + nbuckets : NULL, .sum = sum, .count = count};
    return add_sample(s, f, count, nlabels, labels, NULL, &hs);
}

int frond_scrape_stateset(struct frond_scrape *s, struct frond_family *f, size_t nlabels,
                          const struct frond_label *labels, const char *const *states,
                          size_t nstates, const char *current)
{
    if (!s || !f || f->type != FROND_STATESET || (nstates && !states)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < nstates; i++) {
        if (!states[i]) {
            return -EINVAL;
        }
        double v = current && strcmp(states[i], current) == 0 ? 1 : 0;
        int rc = add_sample(s, f, v, nlabels, labels, states[i], NULL);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* Copy the direct metrics' current values into the scrape, before any collector runs. */
static int snapshot_direct(struct frond_scrape *sc)
{
    int rc = 0;
    struct frond_registry *reg = sc->reg;
    registry_lock(reg);
    for (struct frond_metric *m = reg->metrics; m && !rc; m = m->next) {
        struct frond_family *f = frond_scrape_family(sc, m->name, m->type, m->help);
        if (!f) {
            rc = sc->full ? -ENOSPC : -ENOMEM;
            break;
        }
        pthread_mutex_lock(&m->lock);
        double *bounds = NULL;
        if (m->type == FROND_HISTOGRAM && m->nbounds) {
            bounds = arena_alloc(sc, m->nbounds * sizeof(double));
            if (!bounds) {
                rc = sc->full ? -ENOSPC : -ENOMEM;
            } else {
                memcpy(bounds, m->bounds, m->nbounds * sizeof(double));
            }
        }
        for (struct frond_series *s = m->first; s && !rc; s = s->next) {
            struct frond_label labels[FROND_MAX_LABELS];
            for (size_t i = 0; i < m->nlabels; i++) {
                labels[i].name = m->label_names[i];
                labels[i].value = s->values[i];
            }
            double value = bits_to_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
            if (m->type != FROND_HISTOGRAM) {
                rc = add_sample(sc, f, value, m->nlabels, labels, NULL, NULL);
            } else {
                double *cum = m->nbounds ? arena_alloc(sc, m->nbounds * sizeof(double)) : NULL;
                if (m->nbounds && !cum) {
                    rc = sc->full ? -ENOSPC : -ENOMEM;
                    break;
                }
                uint64_t acc = 0;
                for (size_t i = 0; i < m->nbounds; i++) {
                    acc += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
                    cum[i] = (double)acc;
                }
                acc += atomic_load_explicit(&s->counts[m->nbounds], memory_order_relaxed);
                const struct hist hs = {.nb = m->nbounds,
                                        .bounds = bounds,
                                        .cum = cum,
                                        .sum = value,
                                        .count = (double)acc};
                rc = add_sample(sc, f, hs.count, m->nlabels, labels, NULL, &hs);
            }
            if (!rc && s == reg->dup_series) {
                sc->dup_sample = sc->last_sample;
            }
        }
        pthread_mutex_unlock(&m->lock);
    }
    registry_unlock(reg);
    return rc;
}

/* ---- rendering ---- */

static int same_labels(const struct sample *a, const struct sample *b)
{
    if (a->nlabels != b->nlabels) {
        return 0;
    }
    for (uint32_t i = 0; i < a->nlabels; i++) {
        const struct slab *la = &a->labels[i];
        const struct slab *lb = NULL;
        /* Same position first: collectors usually pass labels in a fixed order. */
        if (b->labels[i].name == la->name) {
            lb = &b->labels[i];
        } else {
            for (uint32_t j = 0; j < b->nlabels && !lb; j++) {
                if (b->labels[j].name == la->name) {
                    lb = &b->labels[j];
                }
            }
        }
        /* Shared copies are equal pointers; otherwise compare the bytes. */
        if (!lb || lb->vlen != la->vlen ||
            (lb->value != la->value && memcmp(lb->value, la->value, la->vlen) != 0)) {
            return 0;
        }
    }
    return 1;
}

/* Mark every series equal to an earlier one of the family; returns how many. */
static size_t dedup_family(struct frond_family *f, struct sample **set, size_t cap)
{
    if (f->n < 2) {
        return 0;
    }
    memset(set, 0, cap * sizeof(*set));
    size_t ndup = 0;
    for (struct sample *s = f->head; s; s = s->next) {
        size_t i = (size_t)s->hash & (cap - 1);
        while (set[i]) {
            if (set[i]->hash == s->hash && same_labels(set[i], s)) {
                s->dup = 1;
                ndup++;
                break;
            }
            i = (i + 1) & (cap - 1);
        }
        if (!s->dup) {
            set[i] = s;
        }
    }
    return ndup;
}

static int emit_family(struct frond_buf *out, const struct frond_family *f,
                       enum frond_expo_format fmt)
{
    const struct frond_expo_family ef = {
        .name = f->name, .nlen = f->nlen, .type = f->type, .help = f->help, .hlen = f->hlen};
    struct frond_expo_label el[FROND_MAX_LABELS + 1];
    int rc = frond_expo_write_header(out, fmt, &ef);
    for (const struct sample *s = f->head; s && !rc; s = s->next) {
        if (s->dup) {
            continue;
        }
        for (uint32_t i = 0; i < s->nlabels; i++) {
            const struct lname *ln = &f->names[s->labels[i].name];
            el[i].name = ln->name;
            el[i].nlen = ln->len;
            el[i].value = s->labels[i].value;
            el[i].vlen = s->labels[i].vlen;
        }
        if (s->has_hist) {
            const struct hist *h = sample_hist(s);
            rc = frond_expo_write_histogram(out, fmt, &ef, el, s->nlabels, h->bounds, h->cum, h->nb,
                                            h->sum, h->count);
        } else {
            rc = frond_expo_write_sample(out, fmt, &ef, el, s->nlabels, s->value);
        }
    }
    return rc;
}

static int family_cmp(const void *a, const void *b)
{
    const struct frond_family *fa = *(const struct frond_family *const *)a;
    const struct frond_family *fb = *(const struct frond_family *const *)b;
    return strcmp(fa->name, fb->name);
}

int frond_registry_render(struct frond_registry *reg, enum frond_expo_format format,
                          double deadline, struct frond_buf *out)
{
    int rc = 0;
    struct frond_scrape sc;
    struct sample **set = NULL;
    if (!reg || !out) {
        return -EINVAL;
    }
    if (format != FROND_EXPO_OPENMETRICS) {
        format = FROND_EXPO_TEXT;
    }
    frond_buf_reset(out);
    scrape_init(&sc, reg, deadline, out->max);

    rc = snapshot_direct(&sc);
    if (rc) {
        goto out;
    }

    /* Run the collectors from a copy of the list: one may be added meanwhile. */
    registry_lock(reg);
    size_t ncoll = reg->ncollectors;
    struct collector *colls = ncoll ? arena_alloc(&sc, ncoll * sizeof(*colls)) : NULL;
    if (colls) {
        memcpy(colls, reg->collectors, ncoll * sizeof(*colls));
    }
    registry_unlock(reg);
    if (ncoll && !colls) {
        rc = sc.full ? -ENOSPC : -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ncoll; i++) {
        int crc = colls[i].fn(&sc, colls[i].ctx);
        if (crc) {
            char code[16];
            snprintf(code, sizeof(code), "%d", crc);
            frond_warn("collector failed; its samples so far are kept", "err",
                       strerror(crc < 0 ? -crc : crc), "code", code);
        }
        if (sc.full || sc.oom) {
            break;
        }
    }
    if (sc.full || sc.oom) {
        rc = sc.full ? -ENOSPC : -ENOMEM;
        goto out;
    }

    struct frond_family **fams = arena_alloc(&sc, (sc.nfam ? sc.nfam : 1) * sizeof(*fams));
    if (!fams) {
        rc = sc.full ? -ENOSPC : -ENOMEM;
        goto out;
    }
    size_t nf = 0, maxn = 0;
    for (struct frond_family *f = sc.first; f; f = f->next) {
        fams[nf++] = f;
        maxn = f->n > maxn ? f->n : maxn;
    }
    qsort(fams, nf, sizeof(*fams), family_cmp);

    size_t cap = 16;
    while (cap < 2 * maxn) {
        cap *= 2;
    }
    set = malloc(cap * sizeof(*set));
    if (!set) {
        rc = -ENOMEM;
        goto out;
    }
    size_t ndup = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t fcap = 16;
        while (fcap < 2 * fams[i]->n) {
            fcap *= 2;
        }
        fams[i]->ndup = dedup_family(fams[i], set, fcap);
        if (fams[i]->ndup) {
            ndup += fams[i]->ndup;
            if (warn_first_time(reg, 'd', fams[i]->name, fams[i]->nlen)) {
                char count[32];
                snprintf(count, sizeof(count), "%zu", fams[i]->ndup);
                frond_warn("duplicate series dropped (first kept); logged once per family",
                           "family", fams[i]->name, "duplicates", count);
            }
        }
    }
    if (ndup) {
        frond_series_add(reg->dup_series, (double)ndup);
        if (sc.dup_sample) {
            sc.dup_sample->value = frond_series_value(reg->dup_series);
        }
    }

    for (size_t i = 0; i < nf && !rc; i++) {
        if (fams[i]->n > fams[i]->ndup) {
            rc = emit_family(out, fams[i], format);
        }
    }
    if (!rc) {
        rc = frond_expo_write_end(out, format);
    }
out:
    free(set);
    scrape_cleanup(&sc);
    return rc;
}
