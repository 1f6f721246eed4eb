/*
 * What one management-API scrape keeps while its pages arrive (see
 * store.h): the queue and node records, filtered by the vhost and queue
 * regexes as they come, compact (strings in one capped arena), sorted and
 * deduplicated once the endpoint is complete, and only then turned into
 * samples by emit.c.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"

/* Hard caps so a broken or hostile server cannot make a scrape unbounded. */
#define RMQ_MAX_QUEUES 2000000
#define RMQ_ARENA_MAX ((size_t)512 << 20)

/* ---- filters ---- */

static void note(char *warn, size_t warnsz, const char *what)
{
    if (warn && warnsz && !warn[0]) {
        snprintf(warn, warnsz, "%s", what);
    }
}

/*
 * Rewrite the RE2/Perl escapes Go users write into POSIX ERE, and say
 * whether the result is in the subset that glibc's ERE and RabbitMQ's PCRE
 * (Erlang `re`) read the same way. Returns a malloc'd string or NULL.
 */
static char *translate(const char *src, bool *server_ok, char *warn, size_t warnsz)
{
    struct frond_buf b;
    frond_buf_init(&b, 16 * strlen(src) + 64);
    bool ok = true;
    int rc = 0;
    bool after_quant = false;
    for (size_t i = 0; src[i] && !rc; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch >= 0x80) {
            /* Byte-wise here, possibly UTF-8-wise on the server: keep it local. */
            ok = false;
        }
        if (ch == '\\' && src[i + 1]) {
            char e = src[++i];
            const char *rep = NULL;
            switch (e) {
            case 'd':
                rep = "[0-9]";
                break;
            case 'D':
                rep = "[^0-9]";
                break;
            case 'w':
                rep = "[[:alnum:]_]";
                break;
            case 'W':
                rep = "[^[:alnum:]_]";
                break;
            case 's':
                rep = "[[:space:]]";
                break;
            case 'S':
                rep = "[^[:space:]]";
                break;
            default:
                break;
            }
            if (rep) {
                rc = frond_buf_append(&b, rep, strlen(rep));
            } else {
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
                    note(warn, warnsz,
                         "uses a backslash-letter escape (like \\b, \\A, \\pL, \\x41 or \\1) "
                         "that POSIX extended regex reads differently from Go RE2");
                    ok = false;
                }
                char two[2] = {'\\', e};
                rc = frond_buf_append(&b, two, 2);
            }
            after_quant = false;
            continue;
        }
        if (ch == '[') {
            /* A bracket expression: copied up to its closing ']', escapes rewritten. */
            size_t j = i + 1;
            rc = frond_buf_append(&b, "[", 1);
            if (src[j] == '^') {
                rc = rc ? rc : frond_buf_append(&b, "^", 1);
                j++;
            }
            if (src[j] == ']') {
                rc = rc ? rc : frond_buf_append(&b, "]", 1);
                j++;
            }
            while (src[j] && src[j] != ']' && !rc) {
                if (src[j] == '[' &&
                    (src[j + 1] == ':' || src[j + 1] == '.' || src[j + 1] == '=')) {
                    const char *end = strstr(src + j + 2, src[j + 1] == ':'   ? ":]"
                                                          : src[j + 1] == '.' ? ".]"
                                                                              : "=]");
                    if (!end) {
                        break;
                    }
                    if (src[j + 1] != ':') {
                        ok = false;
                    }
                    rc = frond_buf_append(&b, src + j, (size_t)(end + 2 - (src + j)));
                    j = (size_t)(end + 2 - src);
                    continue;
                }
                if (src[j] == '\\' && src[j + 1]) {
                    char e = src[j + 1];
                    const char *rep = e == 'd'   ? "0-9"
                                      : e == 'w' ? "[:alnum:]_"
                                      : e == 's' ? "[:space:]"
                                                 : NULL;
                    bool alnum =
                        (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9');
                    if (rep) {
                        rc = frond_buf_append(&b, rep, strlen(rep));
                        j += 2;
                        continue;
                    }
                    /* RE2's escaped punctuation is the character itself, as ERE reads it bare. */
                    if (!alnum && e != ']' && e != '-' && e != '^') {
                        rc = frond_buf_append(&b, &e, 1);
                        j += 2;
                        continue;
                    }
                    note(warn, warnsz,
                         "has a backslash escape inside [...] (like [\\D], [\\]] or [\\-]) that "
                         "POSIX extended regex reads as a literal backslash");
                    ok = false;
                }
                rc = frond_buf_append(&b, src + j, 1);
                j++;
            }
            if (!src[j]) {
                /* Unterminated: regcomp reports it; keep the rest verbatim. */
                rc = rc ? rc : frond_buf_append(&b, src + i + 1, strlen(src + i + 1));
                ok = false;
                break;
            }
            rc = rc ? rc : frond_buf_append(&b, "]", 1);
            i = j;
            after_quant = false;
            continue;
        }
        if (ch == '(' && (src[i + 1] == '?' || src[i + 1] == '*')) {
            note(warn, warnsz,
                 "uses a \"(?\" group (flags, non-capturing or lookaround), which POSIX "
                 "extended regex does not have");
            ok = false;
        }
        if (ch == '?' && after_quant) {
            note(warn, warnsz,
                 "uses a lazy quantifier (*?, +? or ?\?), which POSIX extended regex reads as "
                 "another repetition");
            ok = false;
        }
        if (ch == '{' || ch == '}') {
            /* Bounds: PCRE takes a malformed one as literal text, ERE does not. */
            ok = false;
        }
        after_quant = ch == '*' || ch == '+' || ch == '?' || ch == '}';
        if (after_quant && ch == '?' && i > 0 &&
            (src[i - 1] == '*' || src[i - 1] == '+' || src[i - 1] == '?' || src[i - 1] == '}')) {
            after_quant = false;
        }
        rc = frond_buf_append(&b, src + i, 1);
    }
    char *out = rc ? NULL : strdup(frond_buf_cstr(&b));
    frond_buf_cleanup(&b);
    *server_ok = ok;
    return out;
}

int rmq_filter_init_ex(struct rmq_filter *f, const char *src, bool anchored, char *warn,
                       size_t warnsz)
{
    memset(f, 0, sizeof(*f));
    if (warn && warnsz) {
        warn[0] = '\0';
    }
    if (!src || !src[0]) {
        return 0;
    }
    bool server_ok = false;
    char *ere = translate(src, &server_ok, warn, warnsz);
    if (!ere) {
        return -ENOMEM;
    }
    size_t n = strlen(ere) + 5;
    char *full = malloc(n);
    if (!full) {
        free(ere);
        return -ENOMEM;
    }
    snprintf(full, n, anchored ? "^(%s)$" : "%s", ere);
    int rc = regcomp(&f->re, full, REG_EXTENDED | REG_NOSUB);
    free(full);
    if (rc != 0) {
        free(ere);
        return -EINVAL;
    }
    f->src = strdup(src);
    if (!f->src) {
        regfree(&f->re);
        free(ere);
        return -ENOMEM;
    }
    f->ere = ere;
    f->anchored = anchored;
    f->server_ok = server_ok;
    f->set = true;
    return 0;
}

int rmq_filter_init(struct rmq_filter *f, const char *src)
{
    return rmq_filter_init_ex(f, src, true, NULL, 0);
}

void rmq_filter_cleanup(struct rmq_filter *f)
{
    if (f->set) {
        regfree(&f->re);
        free(f->src);
        free(f->ere);
    }
    memset(f, 0, sizeof(*f));
}

bool rmq_filter_keep(const struct rmq_filter *inc, const struct rmq_filter *exc, const char *s)
{
    if (inc && inc->set && regexec(&inc->re, s, 0, NULL, 0) != 0) {
        return false;
    }
    if (exc && exc->set && regexec(&exc->re, s, 0, NULL, 0) == 0) {
        return false;
    }
    return true;
}

/* ---- record store ---- */

void rmq_store_init(struct rmq_store *st, const struct rmq_collector *filters)
{
    memset(st, 0, sizeof(*st));
    st->maxq = RMQ_MAX_QUEUES;
    st->filters = filters;
    frond_buf_init(&st->arena, RMQ_ARENA_MAX);
}

void rmq_store_cleanup(struct rmq_store *st)
{
    free(st->q);
    frond_buf_cleanup(&st->arena);
    memset(st, 0, sizeof(*st));
}

const char *rmq_store_str(const struct rmq_store *st, const struct rmq_qrec *q, int slot)
{
    if (!((q->have_str >> slot) & 1u)) {
        return NULL;
    }
    return st->arena.data + q->str[slot];
}

int rmq_store_add_queue(const struct rmq_record *r, void *ctx)
{
    struct rmq_store *st = ctx;
    const struct rmq_collector *c = st->filters;
    if (c && (!rmq_filter_keep(&c->include_vhost, &c->exclude_vhost, r->str[RMQ_Q_VHOST]) ||
              !rmq_filter_keep(&c->include_queues, &c->exclude_queues, r->str[RMQ_Q_NAME]))) {
        st->filtered_out++;
        return 0;
    }
    if (st->nq >= st->maxq) {
        return -E2BIG;
    }
    if (st->nq == st->capq) {
        size_t ncap = st->capq ? st->capq * 2 : 256;
        struct rmq_qrec *nq = realloc(st->q, ncap * sizeof(*nq));
        if (!nq) {
            return -ENOMEM;
        }
        st->q = nq;
        st->capq = ncap;
    }
    struct rmq_qrec *q = &st->q[st->nq];
    memcpy(q->num, r->num, sizeof(q->num));
    q->have_num = r->have_num;
    q->have_str = 0;
    for (int i = 0; i < RMQ_Q_STR_COUNT; i++) {
        if (!rmq_has_str(r, i)) {
            continue;
        }
        size_t off = st->arena.len;
        int rc = frond_buf_append(&st->arena, r->str[i], r->len[i] + 1);
        if (rc) {
            return rc;
        }
        q->str[i] = (uint32_t)off;
        q->have_str |= 1u << i;
    }
    st->nq++;
    return 0;
}

int rmq_store_merge(struct rmq_store *dst, const struct rmq_store *src)
{
    /* One exact-size growth instead of doubling: at 10k queues the slack is megabytes. */
    if (dst->nq + src->nq > dst->capq && dst->nq + src->nq <= dst->maxq) {
        struct rmq_qrec *nq = realloc(dst->q, (dst->nq + src->nq) * sizeof(*nq));
        if (!nq) {
            return -ENOMEM;
        }
        dst->q = nq;
        dst->capq = dst->nq + src->nq;
    }
    for (size_t i = 0; i < src->nq; i++) {
        if (dst->nq >= dst->maxq) {
            return -E2BIG;
        }
        if (dst->nq == dst->capq) {
            size_t ncap = dst->capq ? dst->capq * 2 : 256;
            struct rmq_qrec *nq = realloc(dst->q, ncap * sizeof(*nq));
            if (!nq) {
                return -ENOMEM;
            }
            dst->q = nq;
            dst->capq = ncap;
        }
        struct rmq_qrec *q = &dst->q[dst->nq];
        *q = src->q[i];
        for (int k = 0; k < RMQ_Q_STR_COUNT; k++) {
            if (!((q->have_str >> k) & 1u)) {
                continue;
            }
            const char *str = src->arena.data + src->q[i].str[k];
            size_t off = dst->arena.len;
            int rc = frond_buf_append(&dst->arena, str, strlen(str) + 1);
            if (rc) {
                return rc;
            }
            q->str[k] = (uint32_t)off;
        }
        dst->nq++;
    }
    dst->filtered_out += src->filtered_out;
    return 0;
}

static int cmp_queue(const void *a, const void *b, void *ctx)
{
    const struct rmq_store *st = ctx;
    const struct rmq_qrec *x = a, *y = b;
    int c = strcmp(st->arena.data + x->str[RMQ_Q_VHOST], st->arena.data + y->str[RMQ_Q_VHOST]);
    if (c) {
        return c;
    }
    return strcmp(st->arena.data + x->str[RMQ_Q_NAME], st->arena.data + y->str[RMQ_Q_NAME]);
}

void rmq_store_finish(struct rmq_store *st)
{
    if (st->nq < 2) {
        return;
    }
    qsort_r(st->q, st->nq, sizeof(*st->q), cmp_queue, st);
    size_t w = 1;
    for (size_t i = 1; i < st->nq; i++) {
        if (cmp_queue(&st->q[w - 1], &st->q[i], st) != 0) {
            st->q[w++] = st->q[i];
        }
    }
    st->nq = w;
}

void rmq_store_zero_consumers(struct rmq_store *st)
{
    for (size_t i = 0; i < st->nq; i++) {
        st->q[i].num[RMQ_Q_CONSUMERS] = 0;
        st->q[i].have_num |= 1u << RMQ_Q_CONSUMERS;
    }
}

int rmq_store_add_consumer(const struct rmq_record *r, void *ctx)
{
    struct rmq_store *st = ctx;
    const char *vhost = r->str[RMQ_C_VHOST], *name = r->str[RMQ_C_QUEUE];
    /* Binary search over the (vhost, name) order rmq_store_finish left. */
    size_t lo = 0, hi = st->nq;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct rmq_qrec *q = &st->q[mid];
        int c = strcmp(st->arena.data + q->str[RMQ_Q_VHOST], vhost);
        if (!c) {
            c = strcmp(st->arena.data + q->str[RMQ_Q_NAME], name);
        }
        if (!c) {
            /* Only queues whose count was reset for this scrape are counted. */
            if (st->q[mid].have_num & (1u << RMQ_Q_CONSUMERS)) {
                st->q[mid].num[RMQ_Q_CONSUMERS] += 1;
            }
            return 0;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* A consumer of a filtered-out queue, or of one created since the listing. */
    return 0;
}

int rmq_nodes_add(const struct rmq_record *r, void *ctx)
{
    struct rmq_nodes *ns = ctx;
    if (ns->count >= 1000) {
        return -E2BIG;
    }
    if (ns->count == ns->cap) {
        size_t ncap = ns->cap ? ns->cap * 2 : 4;
        struct rmq_record *n = realloc(ns->n, ncap * sizeof(*n));
        if (!n) {
            return -ENOMEM;
        }
        ns->n = n;
        ns->cap = ncap;
    }
    ns->n[ns->count++] = *r;
    return 0;
}

void rmq_nodes_cleanup(struct rmq_nodes *ns)
{
    free(ns->n);
    memset(ns, 0, sizeof(*ns));
}
