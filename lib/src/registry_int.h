/*
 * Private to the registry modules (registry.c, registry_scrape.c,
 * registry_render.c): the layouts of metrics, series, scrapes, families
 * and samples, and the few functions one of them calls in another. Nothing
 * outside lib/src includes this; the public contract is frond/registry.h.
 *
 * Locking is as documented on struct frond_registry: the registry lock is
 * taken before a metric's lock; the warn and cache locks are leaves. A
 * struct frond_scrape belongs to the one thread rendering it.
 */
#ifndef FROND_REGISTRY_INT_H
#define FROND_REGISTRY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frond/common.h"
#include "frond/registry.h"

/* ---- hashing ---- */

/* A small multiply-xorshift hash over 8-byte words; label strings are short. */
static inline uint64_t hash_bytes(const char *p, size_t n)
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
static inline uint64_t hash_pair(uint64_t hn, uint64_t hv)
{
    uint64_t h = hn * 0x9e3779b97f4a7c15ull + hv;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

/* ---- registry, metrics and series (registry.c) ---- */

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

static inline double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

void frond_reg_lock(struct frond_registry *reg);
void frond_reg_unlock(struct frond_registry *reg);

/* Has this family been warned about for `kind`? Marks it if not. Thread-safe. */
int frond_reg_warn_first_time(struct frond_registry *reg, char kind, const char *name, size_t nlen);

/* ---- the scrape: arena, families, samples (registry_scrape.c) ---- */

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

static inline const struct hist *sample_hist(const struct sample *s)
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
    struct sample *last_sample;      /* the sample frond_reg_add_sample() linked last */
};

/*
 * Start a scrape of `reg` in `sc`; a deadline <= 0 means the default. The
 * scrape's memory is bounded by a few times `out_max`. Cannot fail: the
 * arena is mapped on first use.
 */
void frond_reg_scrape_init(struct frond_scrape *sc, struct frond_registry *reg, double deadline,
                           size_t out_max);

/* Return the scrape's arena chunks: a few kept in the registry's cache, the rest unmapped. */
void frond_reg_scrape_cleanup(struct frond_scrape *sc);

/*
 * n bytes (16-aligned) from the scrape arena, valid until the cleanup; NULL
 * with sc->full (limit hit) or sc->oom set.
 */
void *frond_reg_arena_alloc(struct frond_scrape *sc, size_t n);

/*
 * Append a sample to family f: the labels are validated and copied,
 * `extra` (stateset state name, else NULL) becomes the family's first
 * label, `hist` (else NULL) is copied after the labels. Returns 0, -EINVAL
 * for a bad label, -ENOSPC/-ENOMEM when the arena is out.
 */
FROND_MUST_CHECK int frond_reg_add_sample(struct frond_scrape *sc, struct frond_family *f,
                                          double value, size_t nlabels,
                                          const struct frond_label *labels, const char *extra,
                                          const struct hist *hist);

#endif
