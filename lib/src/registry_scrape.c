/*
 * The scrape of a registry (see frond/registry.h), built in an arena:
 * every family, sample, label copy and histogram array of one scrape lives
 * in a few mapped chunks that are returned in one go (up to 1 MiB kept for
 * the next scrape, so a small exporter's scrape loop makes no syscalls,
 * and a large one's memory leaves the process between scrapes). Samples
 * are compact (24 bytes + 16 per label, names as per-family indices); that
 * and a per-family label-name cache are what let 100,000 series render in
 * about 10 ms. Collectors add their samples here through frond_scrape_*;
 * registry_render.c snapshots the direct metrics into the same scrape and
 * renders it.
 */
#include "frond/registry.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frond/expo.h"
#include "frond/log.h"
#include "registry_int.h"

/* Arena chunks (mappings): a 100k-series scrape needs ~30 of them. */
#define ARENA_CHUNK (256u * 1024u)
/* Past 2 MiB a scrape is large: grow by 4 MiB chunks backed by huge pages. */
#define ARENA_BIG_AFTER (2u * 1024u * 1024u)
#define ARENA_BIG_CHUNK (4u * 1024u * 1024u)
/* Chunks kept between scrapes for the next one; the rest is unmapped. */
#define ARENA_CACHE_MAX (1024u * 1024u)
/* The deadline of a scrape rendered without one. */
#define DEFAULT_SCRAPE_SECONDS 120.0

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

void *frond_reg_arena_alloc(struct frond_scrape *sc, size_t n)
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
        d = frond_reg_arena_alloc(sc, n + 1);
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

void frond_reg_scrape_init(struct frond_scrape *sc, struct frond_registry *reg, double deadline,
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

void frond_reg_scrape_cleanup(struct frond_scrape *sc)
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

double frond_scrape_deadline_within(const struct frond_scrape *s, double now, double timeout)
{
    double own = now + timeout;
    double sd = frond_scrape_deadline(s);
    return sd > 0 && sd < own ? sd : own;
}

static int ftab_grow(struct frond_scrape *sc)
{
    size_t cap = sc->fcap ? sc->fcap * 2 : 64;
    struct frond_family **t = frond_reg_arena_alloc(sc, cap * sizeof(*t));
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
        struct lname *t = frond_reg_arena_alloc(sc, cap * sizeof(*t));
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
            if (frond_reg_warn_first_time(s->reg, 't', name, nlen)) {
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
    f = frond_reg_arena_alloc(s, sizeof(*f));
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
int frond_reg_add_sample(struct frond_scrape *sc, struct frond_family *f, double value,
                         size_t nlabels, const struct frond_label *labels, const char *extra_value,
                         const struct hist *hist)
{
    if (nlabels > FROND_MAX_LABELS || (nlabels && !labels)) {
        return -EINVAL;
    }
    size_t total = nlabels + (extra_value ? 1 : 0);
    size_t size = sizeof(struct sample) + total * sizeof(struct slab);
    struct sample *smp = frond_reg_arena_alloc(sc, size + (hist ? sizeof(*hist) : 0));
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
    return frond_reg_add_sample(s, f, value, nlabels, labels, NULL, NULL);
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
    double *b = nbuckets ? frond_reg_arena_alloc(s, 2 * nbuckets * sizeof(double)) : NULL;
    if (nbuckets && !b) {
        return s->full ? -ENOSPC : -ENOMEM;
    }
    if (nbuckets) {
        memcpy(b, bounds, nbuckets * sizeof(double));
        memcpy(b + nbuckets, cumulative_counts, nbuckets * sizeof(double));
    }
    const struct hist hs = {
        .nb = nbuckets, .bounds = b, .cum = b ? b + nbuckets : NULL, .sum = sum, .count = count};
    return frond_reg_add_sample(s, f, count, nlabels, labels, NULL, &hs);
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
        int rc = frond_reg_add_sample(s, f, v, nlabels, labels, states[i], NULL);
        if (rc) {
            return rc;
        }
    }
    return 0;
}
