/*
 * Rendering a registry (frond_registry_render, see frond/registry.h): open
 * the direct metrics' families, run the collectors, snap the direct
 * metrics (after the collectors, so what they counted shows), sort the
 * families, drop duplicate series (first kept, counted, logged once per
 * family) with a hash set, and hand the samples to expo.c's line writers,
 * which fill the output buffer in place: all at once
 * (frond_registry_render), or a piece at a time (frond_render_next) for a
 * server that sends each piece before making the next. Everything format-specific lives
 * in expo.c; the scrape's arena in registry_scrape.c.
 */
#include "frond/registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/expo.h"
#include "frond/log.h"
#include "registry_int.h"

/*
 * A direct metric and the scrape family it renders into. The families are
 * opened before the collectors run, so a direct metric keeps its type and
 * its family's place even when a collector opens the same name; the values
 * are snapped only after the collectors ran, so a counter that a collector
 * increments during the scrape (an exporter's scrape error counter, say)
 * shows the increment in this scrape rather than the next one.
 */
struct direct_ent {
    struct frond_metric *m;
    struct frond_family *f;
    struct sample *saved_head; /* the collectors' samples, moved aside */
    struct sample **saved_tail;
    size_t saved_n;
};

/* Open one family per direct metric registered now; later ones wait for the next scrape. */
static int open_direct(struct frond_scrape *sc, struct direct_ent **ents, size_t *nents)
{
    int rc = 0;
    struct frond_registry *reg = sc->reg;
    size_t n = 0;
    *ents = NULL;
    *nents = 0;
    frond_reg_lock(reg);
    for (struct frond_metric *m = reg->metrics; m; m = m->next) {
        n++;
    }
    struct direct_ent *e = n ? frond_reg_arena_alloc(sc, n * sizeof(*e)) : NULL;
    if (n && !e) {
        rc = sc->full ? -ENOSPC : -ENOMEM;
        goto out;
    }
    size_t i = 0;
    for (struct frond_metric *m = reg->metrics; m && i < n; m = m->next, i++) {
        e[i].m = m;
        e[i].f = frond_scrape_family(sc, m->name, m->type, m->help);
        if (!e[i].f) {
            rc = sc->full ? -ENOSPC : -ENOMEM;
            goto out;
        }
    }
    *ents = e;
    *nents = n;
out:
    frond_reg_unlock(reg);
    return rc;
}

/* Copy one direct metric's current values into its family. */
static int snapshot_metric(struct frond_scrape *sc, struct frond_metric *m, struct frond_family *f)
{
    int rc = 0;
    struct frond_registry *reg = sc->reg;
    pthread_mutex_lock(&m->lock);
    double *bounds = NULL;
    if (m->type == FROND_HISTOGRAM && m->nbounds) {
        bounds = frond_reg_arena_alloc(sc, m->nbounds * sizeof(double));
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
            rc = frond_reg_add_sample(sc, f, value, m->nlabels, labels, NULL, NULL);
        } else {
            double *cum =
                m->nbounds ? frond_reg_arena_alloc(sc, m->nbounds * sizeof(double)) : NULL;
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
            const struct hist hs = {
                .nb = m->nbounds, .bounds = bounds, .cum = cum, .sum = value, .count = (double)acc};
            rc = frond_reg_add_sample(sc, f, hs.count, m->nlabels, labels, NULL, &hs);
        }
        if (!rc && s == reg->dup_series) {
            sc->dup_sample = sc->last_sample;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/*
 * Snap the direct metrics after the collectors ran. Their samples go in
 * front of any a collector added to the same family, as when they were
 * snapped first: on a duplicate series the direct metric's value is the one
 * kept, and the output is byte-identical to the old order.
 */
static int snapshot_direct(struct frond_scrape *sc, struct direct_ent *e, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct frond_family *f = e[i].f;
        e[i].saved_head = f->head;
        e[i].saved_tail = f->tail;
        e[i].saved_n = f->n;
        f->head = NULL;
        f->tail = &f->head;
        f->n = 0;
    }
    frond_reg_lock(sc->reg);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = snapshot_metric(sc, e[i].m, e[i].f);
    }
    frond_reg_unlock(sc->reg);
    /* Put the collectors' samples back behind, even on failure: the lists stay whole. */
    for (size_t i = 0; i < n; i++) {
        struct frond_family *f = e[i].f;
        if (e[i].saved_n) {
            *f->tail = e[i].saved_head;
            f->tail = e[i].saved_tail;
            f->n += e[i].saved_n;
        }
    }
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

static int family_cmp(const void *a, const void *b)
{
    const struct frond_family *fa = *(const struct frond_family *const *)a;
    const struct frond_family *fb = *(const struct frond_family *const *)b;
    return strcmp(fa->name, fb->name);
}

/*
 * A render in progress: the scrape (its arena holds every sample), the
 * families in output order, and where the output stopped.
 */
struct frond_render {
    struct frond_scrape sc;
    enum frond_expo_format format;
    struct frond_family **fams;
    size_t nf;
    size_t i;                    /* family being written */
    const struct sample *s;      /* its next sample; meaningful once `open` */
    struct frond_expo_family ef; /* fams[i] as expo.c sees it, set when opened */
    bool open;                   /* fams[i]'s header is written */
    bool done;                   /* the end marker is written */
    size_t max_bytes, written;
};

/* Sort the families, drop duplicate series (first kept; counted and logged once per family). */
static int prepare_families(struct frond_render *r)
{
    struct frond_scrape *sc = &r->sc;
    struct frond_registry *reg = sc->reg;
    struct frond_family **fams =
        frond_reg_arena_alloc(sc, (sc->nfam ? sc->nfam : 1) * sizeof(*fams));
    if (!fams) {
        return sc->full ? -ENOSPC : -ENOMEM;
    }
    size_t nf = 0, maxn = 0;
    for (struct frond_family *f = sc->first; f; f = f->next) {
        fams[nf++] = f;
        maxn = f->n > maxn ? f->n : maxn;
    }
    qsort(fams, nf, sizeof(*fams), family_cmp);
    r->fams = fams;
    r->nf = nf;

    size_t cap = 16;
    while (cap < 2 * maxn) {
        cap *= 2;
    }
    struct sample **set = malloc(cap * sizeof(*set));
    if (!set) {
        return -ENOMEM;
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
            if (frond_reg_warn_first_time(reg, 'd', fams[i]->name, fams[i]->nlen)) {
                char count[32];
                snprintf(count, sizeof(count), "%zu", fams[i]->ndup);
                frond_warn("duplicate series dropped (first kept); logged once per family",
                           "family", fams[i]->name, "duplicates", count);
            }
        }
    }
    free(set);
    if (ndup) {
        frond_series_add(reg->dup_series, (double)ndup);
        if (sc->dup_sample) {
            sc->dup_sample->value = frond_series_value(reg->dup_series);
        }
    }
    return 0;
}

/* Open the direct metrics' families, run the collectors, snap the direct metrics. */
static int collect(struct frond_render *r)
{
    struct frond_scrape *sc = &r->sc;
    struct frond_registry *reg = sc->reg;
    struct direct_ent *direct = NULL;
    size_t ndirect = 0;
    int rc = open_direct(sc, &direct, &ndirect);
    if (rc) {
        return rc;
    }
    /* Run the collectors from a copy of the list: one may be added meanwhile. */
    frond_reg_lock(reg);
    size_t ncoll = reg->ncollectors;
    struct collector *colls = ncoll ? frond_reg_arena_alloc(sc, ncoll * sizeof(*colls)) : NULL;
    if (colls) {
        memcpy(colls, reg->collectors, ncoll * sizeof(*colls));
    }
    frond_reg_unlock(reg);
    if (ncoll && !colls) {
        return sc->full ? -ENOSPC : -ENOMEM;
    }
    for (size_t i = 0; i < ncoll; i++) {
        int crc = colls[i].fn(sc, colls[i].ctx);
        if (crc) {
            char code[16];
            snprintf(code, sizeof(code), "%d", crc);
            frond_warn("collector failed; its samples so far are kept", "err",
                       strerror(crc < 0 ? -crc : crc), "code", code);
        }
        if (sc->full || sc->oom) {
            break;
        }
    }
    if (sc->full || sc->oom) {
        return sc->full ? -ENOSPC : -ENOMEM;
    }
    return snapshot_direct(sc, direct, ndirect);
}

int frond_render_start(struct frond_registry *reg, enum frond_expo_format format, double deadline,
                       size_t max_bytes, struct frond_render **out)
{
    *out = NULL;
    if (!reg) {
        return -EINVAL;
    }
    struct frond_render *r = calloc(1, sizeof(*r));
    if (!r) {
        return -ENOMEM;
    }
    r->format = format == FROND_EXPO_OPENMETRICS ? FROND_EXPO_OPENMETRICS : FROND_EXPO_TEXT;
    r->max_bytes = max_bytes;
    frond_reg_scrape_init(&r->sc, reg, deadline, max_bytes);
    int rc = collect(r);
    if (!rc) {
        rc = prepare_families(r);
    }
    if (rc) {
        frond_render_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* One sample line (or histogram block) of family `f`. */
static int emit_sample(struct frond_buf *out, enum frond_expo_format fmt,
                       const struct frond_family *f, const struct frond_expo_family *ef,
                       const struct sample *s)
{
    struct frond_expo_label el[FROND_MAX_LABELS + 1];
    for (uint32_t i = 0; i < s->nlabels; i++) {
        const struct lname *ln = &f->names[s->labels[i].name];
        el[i].name = ln->name;
        el[i].nlen = ln->len;
        el[i].value = s->labels[i].value;
        el[i].vlen = s->labels[i].vlen;
    }
    if (s->has_hist) {
        const struct hist *h = sample_hist(s);
        return frond_expo_write_histogram(out, fmt, ef, el, s->nlabels, h->bounds, h->cum, h->nb,
                                          h->sum, h->count);
    }
    return frond_expo_write_sample(out, fmt, ef, el, s->nlabels, s->value);
}

int frond_render_next(struct frond_render *r, struct frond_buf *out, size_t min)
{
    if (!r || !out) {
        return -EINVAL;
    }
    size_t before = out->len;
    int rc = 0;
    while (!rc && !r->done && out->len < min) {
        if (r->i == r->nf) {
            rc = frond_expo_write_end(out, r->format);
            r->done = true;
            break;
        }
        const struct frond_family *f = r->fams[r->i];
        if (!r->open) {
            r->ef = (struct frond_expo_family){.name = f->name,
                                               .nlen = f->nlen,
                                               .type = f->type,
                                               .help = f->help,
                                               .hlen = f->hlen};
            if (f->n > f->ndup) {
                rc = frond_expo_write_header(out, r->format, &r->ef);
            }
            r->open = true;
            r->s = f->n > f->ndup ? f->head : NULL;
            continue;
        }
        if (!r->s) {
            r->i++;
            r->open = false;
            continue;
        }
        if (!r->s->dup) {
            rc = emit_sample(out, r->format, f, &r->ef, r->s);
        }
        r->s = r->s->next;
    }
    r->written += out->len - before;
    if (!rc && r->written > r->max_bytes) {
        rc = -ENOSPC;
    }
    return rc ? rc : (r->done ? 0 : 1);
}

void frond_render_free(struct frond_render *r)
{
    if (r) {
        frond_reg_scrape_cleanup(&r->sc);
        free(r);
    }
}

int frond_registry_render(struct frond_registry *reg, enum frond_expo_format format,
                          double deadline, struct frond_buf *out)
{
    struct frond_render *r;
    if (!reg || !out) {
        return -EINVAL;
    }
    frond_buf_reset(out);
    int rc = frond_render_start(reg, format, deadline, out->max, &r);
    if (rc) {
        return rc;
    }
    rc = frond_render_next(r, out, SIZE_MAX);
    frond_render_free(r);
    return rc < 0 ? rc : 0;
}
