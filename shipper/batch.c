/*
 * Batches and their encoding (see batch.h). The hot path is batch_add(),
 * called once per log line under the queue's mutex: it copies the line into
 * the arena, finds the stream (usually the previous entry's, checked with
 * one memcmp before any hashing) and remembers the source's offset. The
 * encoder runs once per request on the sender thread and builds the
 * protobuf-c message arrays per batch in scratch it keeps between batches,
 * so no entry costs a malloc there either.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "batch.h"
#include "push.pb-c.h"

/* A batch whose storage grew past this (one huge line) gives it back on reset. */
#define BATCH_KEEP_ARENA (4u << 20)
#define BATCH_KEEP_ENTRIES 65536u

size_t batch_entry_cost(const struct ship_entry *e)
{
    return e->line_len + e->labels_len;
}

void batch_init(struct batch *b)
{
    memset(b, 0, sizeof(*b));
}

void batch_cleanup(struct batch *b)
{
    free(b->arena);
    free(b->entries);
    free(b->streams);
    free(b->stream_slots);
    free(b->sources);
    free(b->source_slots);
    free(b->tenants);
    batch_init(b);
}

void batch_reset(struct batch *b)
{
    if (b->arena_cap > BATCH_KEEP_ARENA || b->entries_cap > BATCH_KEEP_ENTRIES) {
        batch_cleanup(b);
        return;
    }
    b->arena_len = 0;
    b->nentries = 0;
    b->nstreams = 0;
    b->nsources = 0;
    b->ntenants = 0;
    b->line_bytes = 0;
    b->cost = 0;
    b->first_mono = 0;
    b->last_stream = 0;
    b->last_source = 0;
    b->next = NULL;
    if (b->stream_slots) {
        memset(b->stream_slots, 0, b->stream_slots_cap * sizeof(*b->stream_slots));
    }
    if (b->source_slots) {
        memset(b->source_slots, 0, b->source_slots_cap * sizeof(*b->source_slots));
    }
}

bool batch_would_overflow(const struct batch *b, size_t line_len, size_t batchsize)
{
    return b->nentries > 0 && b->line_bytes + line_len > batchsize;
}

/* Grow an array to hold at least `need` elements; doubling keeps adds amortised O(1). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        ncap *= 2;
    }
    void *np = realloc(*p, ncap * elem);
    if (!np) {
        return -ENOMEM;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

/* Append bytes plus a NUL to the arena; *off receives where they start. */
static int arena_put(struct batch *b, const void *p, size_t n, size_t *off)
{
    int rc = grow((void **)&b->arena, &b->arena_cap, b->arena_len + n + 1, 1);
    if (rc) {
        return rc;
    }
    *off = b->arena_len;
    if (n) {
        memcpy(b->arena + b->arena_len, p, n);
    }
    b->arena[b->arena_len + n] = '\0';
    b->arena_len += n + 1;
    return 0;
}

/* FNV-1a: labels strings are short, and the fast path skips hashing for most entries. */
static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/*
 * Rebuild an index table at twice the size when it is half full, so probes
 * stay short. `keyof` gives the hash of element i.
 */
static int rehash(uint32_t **slots, size_t *cap, size_t n, const void *elems,
                  uint64_t (*keyof)(const void *, size_t))
{
    if (*cap && (n + 1) * 2 <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 64;
    while ((n + 1) * 2 > ncap) {
        ncap *= 2;
    }
    uint32_t *ns = calloc(ncap, sizeof(*ns));
    if (!ns) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j = keyof(elems, i) & (ncap - 1);
        while (ns[j]) {
            j = (j + 1) & (ncap - 1);
        }
        ns[j] = (uint32_t)(i + 1);
    }
    free(*slots);
    *slots = ns;
    *cap = ncap;
    return 0;
}

static uint64_t stream_key(const void *elems, size_t i)
{
    return ((const struct batch_stream *)elems)[i].hash;
}

static uint64_t source_key(const void *elems, size_t i)
{
    return hash_u64(((const struct batch_source *)elems)[i].id);
}

static int find_tenant(struct batch *b, const char *tenant, uint32_t *out)
{
    size_t len = tenant ? strlen(tenant) : 0;
    for (size_t i = 0; i < b->ntenants; i++) {
        if (b->tenants[i].len == len && memcmp(b->arena + b->tenants[i].off, tenant, len) == 0) {
            *out = (uint32_t)i;
            return 0;
        }
    }
    int rc = grow((void **)&b->tenants, &b->tenants_cap, b->ntenants + 1, sizeof(*b->tenants));
    if (rc) {
        return rc;
    }
    struct batch_tenant *t = &b->tenants[b->ntenants];
    rc = arena_put(b, tenant, len, &t->off);
    if (rc) {
        return rc;
    }
    t->len = len;
    t->done = false;
    *out = (uint32_t)b->ntenants++;
    return 0;
}

static bool stream_is(const struct batch *b, uint32_t s, uint32_t tenant, const char *labels,
                      size_t len)
{
    const struct batch_stream *st = &b->streams[s];
    return st->tenant == tenant && st->labels_len == len &&
           memcmp(b->arena + st->labels_off, labels, len) == 0;
}

static int find_stream(struct batch *b, uint32_t tenant, const char *labels, size_t len,
                       uint32_t *out)
{
    if (b->nstreams && stream_is(b, b->last_stream, tenant, labels, len)) {
        *out = b->last_stream;
        return 0;
    }
    uint64_t h = hash_bytes(14695981039346656037ULL ^ tenant, labels, len);
    size_t mask = b->stream_slots_cap - 1;
    if (b->stream_slots_cap) {
        for (size_t j = h & mask; b->stream_slots[j]; j = (j + 1) & mask) {
            uint32_t s = b->stream_slots[j] - 1;
            if (b->streams[s].hash == h && stream_is(b, s, tenant, labels, len)) {
                *out = b->last_stream = s;
                return 0;
            }
        }
    }
    int rc = grow((void **)&b->streams, &b->streams_cap, b->nstreams + 1, sizeof(*b->streams));
    if (rc) {
        return rc;
    }
    rc = rehash(&b->stream_slots, &b->stream_slots_cap, b->nstreams, b->streams, stream_key);
    if (rc) {
        return rc;
    }
    struct batch_stream *st = &b->streams[b->nstreams];
    rc = arena_put(b, labels, len, &st->labels_off);
    if (rc) {
        return rc;
    }
    st->labels_len = len;
    st->hash = h;
    st->tenant = tenant;
    st->nentries = 0;
    mask = b->stream_slots_cap - 1;
    size_t j = h & mask;
    while (b->stream_slots[j]) {
        j = (j + 1) & mask;
    }
    b->stream_slots[j] = (uint32_t)(b->nstreams + 1);
    *out = b->last_stream = (uint32_t)b->nstreams++;
    return 0;
}

static int note_source(struct batch *b, uint64_t id, uint64_t end_offset)
{
    /* A reader hands over runs of lines from one file: check the last source first. */
    if (b->nsources && b->sources[b->last_source].id == id) {
        if (end_offset > b->sources[b->last_source].end_offset) {
            b->sources[b->last_source].end_offset = end_offset;
        }
        return 0;
    }
    uint64_t h = hash_u64(id);
    size_t mask = b->source_slots_cap - 1;
    if (b->source_slots_cap) {
        for (size_t j = h & mask; b->source_slots[j]; j = (j + 1) & mask) {
            struct batch_source *src = &b->sources[b->source_slots[j] - 1];
            if (src->id == id) {
                b->last_source = b->source_slots[j] - 1;
                if (end_offset > src->end_offset) {
                    src->end_offset = end_offset;
                }
                return 0;
            }
        }
    }
    int rc = grow((void **)&b->sources, &b->sources_cap, b->nsources + 1, sizeof(*b->sources));
    if (rc) {
        return rc;
    }
    rc = rehash(&b->source_slots, &b->source_slots_cap, b->nsources, b->sources, source_key);
    if (rc) {
        return rc;
    }
    b->sources[b->nsources].id = id;
    b->sources[b->nsources].end_offset = end_offset;
    mask = b->source_slots_cap - 1;
    size_t j = h & mask;
    while (b->source_slots[j]) {
        j = (j + 1) & mask;
    }
    b->source_slots[j] = (uint32_t)(b->nsources + 1);
    b->last_source = (uint32_t)b->nsources++;
    return 0;
}

int batch_add(struct batch *b, const struct ship_entry *e, const char *default_tenant,
              double now_mono)
{
    /*
     * Everything that can fail is done before anything is counted, and the
     * arena and tables only grow, so a failed add leaves at worst an unused
     * stream or tenant behind: harmless, the batch still encodes exactly
     * the entries it counted.
     */
    const char *tenant = e->tenant && e->tenant[0] ? e->tenant : default_tenant;
    uint32_t t = 0, s = 0;
    size_t off = 0;
    int rc = grow((void **)&b->entries, &b->entries_cap, b->nentries + 1, sizeof(*b->entries));
    if (rc) {
        return rc;
    }
    if (b->ntenants == 1 && b->tenants[0].len == (tenant ? strlen(tenant) : 0) &&
        (!tenant || memcmp(b->arena + b->tenants[0].off, tenant, b->tenants[0].len) == 0)) {
        t = 0;
    } else {
        rc = find_tenant(b, tenant, &t);
        if (rc) {
            return rc;
        }
    }
    rc = find_stream(b, t, e->labels, e->labels_len, &s);
    if (rc) {
        return rc;
    }
    rc = arena_put(b, e->line, e->line_len, &off);
    if (rc) {
        return rc;
    }
    /* Last, so an offset is never recorded for an entry the batch does not hold. */
    rc = note_source(b, e->source_id, e->end_offset);
    if (rc) {
        b->arena_len = off;
        return rc;
    }
    struct batch_entry *be = &b->entries[b->nentries++];
    be->ts_ns = e->ts_ns;
    be->line_off = off;
    be->line_len = e->line_len;
    be->stream = s;
    b->streams[s].nentries++;
    if (b->nentries == 1) {
        b->first_mono = now_mono;
    }
    b->line_bytes += e->line_len;
    b->cost += batch_entry_cost(e);
    return 0;
}

const char *batch_tenant_name(const struct batch *b, uint32_t t)
{
    return t < b->ntenants ? b->arena + b->tenants[t].off : "";
}

struct batch_encoder {
    Logproto__StreamAdapter *streams;
    Logproto__StreamAdapter **stream_ptrs;
    size_t *cursor;
    size_t streams_cap;
    Logproto__EntryAdapter *entries;
    Logproto__EntryAdapter **entry_ptrs;
    Google__Protobuf__Timestamp *ts;
    size_t entries_cap;
    uint8_t *packed;
    size_t packed_cap;
    uint8_t *body;
    size_t body_cap;
};

struct batch_encoder *batch_encoder_new(void)
{
    return calloc(1, sizeof(struct batch_encoder));
}

void batch_encoder_free(struct batch_encoder *enc)
{
    if (!enc) {
        return;
    }
    free(enc->streams);
    free(enc->stream_ptrs);
    free(enc->cursor);
    free(enc->entries);
    free(enc->entry_ptrs);
    free(enc->ts);
    free(enc->packed);
    free(enc->body);
    free(enc);
}

static int encoder_reserve(struct batch_encoder *enc, size_t nstreams, size_t nentries)
{
    if (nstreams > enc->streams_cap) {
        size_t cap = nstreams * 2;
        Logproto__StreamAdapter *s = realloc(enc->streams, cap * sizeof(*s));
        if (!s) {
            return -ENOMEM;
        }
        enc->streams = s;
        Logproto__StreamAdapter **sp = realloc(enc->stream_ptrs, cap * sizeof(*sp));
        if (!sp) {
            return -ENOMEM;
        }
        enc->stream_ptrs = sp;
        size_t *c = realloc(enc->cursor, cap * sizeof(*c));
        if (!c) {
            return -ENOMEM;
        }
        enc->cursor = c;
        enc->streams_cap = cap;
    }
    if (nentries > enc->entries_cap) {
        size_t cap = nentries + nentries / 2;
        Logproto__EntryAdapter *e = realloc(enc->entries, cap * sizeof(*e));
        if (!e) {
            return -ENOMEM;
        }
        enc->entries = e;
        Logproto__EntryAdapter **ep = realloc(enc->entry_ptrs, cap * sizeof(*ep));
        if (!ep) {
            return -ENOMEM;
        }
        enc->entry_ptrs = ep;
        Google__Protobuf__Timestamp *ts = realloc(enc->ts, cap * sizeof(*ts));
        if (!ts) {
            return -ENOMEM;
        }
        enc->ts = ts;
        enc->entries_cap = cap;
    }
    return 0;
}

static int buf_reserve(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) {
        return 0;
    }
    uint8_t *np = realloc(*p, need);
    if (!np) {
        return -ENOMEM;
    }
    *p = np;
    *cap = need;
    return 0;
}

int batch_encode(struct batch_encoder *enc, const struct batch *b, uint32_t t,
                 struct batch_encoded *out)
{
    memset(out, 0, sizeof(*out));
    int rc = encoder_reserve(enc, b->nstreams ? b->nstreams : 1, b->nentries ? b->nentries : 1);
    if (rc) {
        return rc;
    }
    /*
     * A stable counting sort: each stream of tenant t gets a contiguous run
     * of entry pointers sized by its count, filled in arrival order, which
     * is read order per source.
     */
    size_t nstreams = 0, next = 0;
    static const size_t not_ours = (size_t)-1;
    for (size_t i = 0; i < b->nstreams; i++) {
        const struct batch_stream *bs = &b->streams[i];
        if (bs->tenant != t || bs->nentries == 0) {
            enc->cursor[i] = not_ours;
            continue;
        }
        Logproto__StreamAdapter *sa = &enc->streams[nstreams];
        logproto__stream_adapter__init(sa);
        sa->labels = b->arena + bs->labels_off;
        sa->n_entries = bs->nentries;
        sa->entries = &enc->entry_ptrs[next];
        enc->stream_ptrs[nstreams] = sa;
        enc->cursor[i] = next;
        next += bs->nentries;
        nstreams++;
    }
    size_t line_bytes = 0;
    for (size_t i = 0; i < b->nentries; i++) {
        const struct batch_entry *be = &b->entries[i];
        size_t k = enc->cursor[be->stream];
        if (k == not_ours) {
            continue;
        }
        enc->cursor[be->stream] = k + 1;
        Logproto__EntryAdapter *ea = &enc->entries[k];
        Google__Protobuf__Timestamp *ts = &enc->ts[k];
        google__protobuf__timestamp__init(ts);
        /* Floor division, so times before 1970 keep nanos in [0, 1e9) as the type requires. */
        int64_t sec = be->ts_ns / 1000000000;
        int64_t ns = be->ts_ns % 1000000000;
        if (ns < 0) {
            ns += 1000000000;
            sec -= 1;
        }
        ts->seconds = sec;
        ts->nanos = (int32_t)ns;
        logproto__entry_adapter__init(ea);
        ea->timestamp = ts;
        ea->line.data = (uint8_t *)(b->arena + be->line_off);
        ea->line.len = be->line_len;
        enc->entry_ptrs[k] = ea;
        line_bytes += be->line_len;
    }
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    req.n_streams = nstreams;
    req.streams = enc->stream_ptrs;
    size_t packed_len = logproto__push_request__get_packed_size(&req);
    rc = buf_reserve(&enc->packed, &enc->packed_cap, packed_len ? packed_len : 1);
    if (rc) {
        return rc;
    }
    packed_len = logproto__push_request__pack(&req, enc->packed);
    size_t body_len = snappy_max_compressed_length(packed_len);
    rc = buf_reserve(&enc->body, &enc->body_cap, body_len);
    if (rc) {
        return rc;
    }
    if (snappy_compress((const char *)enc->packed, packed_len, (char *)enc->body, &body_len) !=
        SNAPPY_OK) {
        return -EIO;
    }
    out->body = enc->body;
    out->body_len = body_len;
    out->packed_len = packed_len;
    out->nentries = next;
    out->line_bytes = line_bytes;
    return 0;
}
