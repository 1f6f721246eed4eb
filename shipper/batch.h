/*
 * One batch of log entries on its way to Loki, and the encoder that turns
 * it into a request body (protobuf PushRequest, then one snappy raw block).
 *
 * A batch copies what ship_queue_push() hands it into one arena, so adding
 * an entry costs no allocation once the batch has been used before: the
 * queue recycles batches, and batch_reset() keeps their storage. Entries
 * are kept in arrival order with the index of their stream; the encoder
 * groups them per stream at encode time (a stable counting sort), so the
 * entries of a stream stay in read order. A batch also remembers, per
 * input source, the largest end_offset it holds: what the queue acks once
 * Loki has accepted the batch.
 *
 * A batch may hold streams of several tenants (X-Scope-OrgID); Loki takes
 * one tenant per request, so the queue sends one request per tenant and
 * marks each tenant done as it is accepted.
 *
 * Ownership: a batch owns its storage; the encoder owns its scratch and the
 * body it returns (valid until the next encode). After a failed add the
 * batch is unchanged. Not thread-safe: the queue's mutex guards a batch
 * while it is being filled, and only the sender thread touches it after.
 */
#ifndef FROND_SHIPPER_BATCH_H
#define FROND_SHIPPER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"
#include "ship.h"

struct batch_entry {
    int64_t ts_ns;
    size_t line_off; /* into the arena */
    size_t line_len;
    uint32_t stream;
};

struct batch_stream {
    size_t labels_off; /* NUL-terminated copy in the arena */
    size_t labels_len;
    uint64_t hash;
    uint32_t tenant;
    uint32_t nentries;
};

struct batch_source {
    uint64_t id;
    uint64_t end_offset; /* the largest seen in this batch */
};

struct batch_tenant {
    size_t off; /* NUL-terminated copy in the arena; "" means no X-Scope-OrgID */
    size_t len;
    bool done; /* accepted (or dropped) by Loki already: not sent again on retry */
};

struct batch {
    char *arena;
    size_t arena_len, arena_cap;
    struct batch_entry *entries;
    size_t nentries, entries_cap;
    struct batch_stream *streams;
    size_t nstreams, streams_cap;
    uint32_t *stream_slots; /* open addressing: stream index + 1, 0 = empty */
    size_t stream_slots_cap;
    struct batch_source *sources;
    size_t nsources, sources_cap;
    uint32_t *source_slots;
    size_t source_slots_cap;
    struct batch_tenant *tenants;
    size_t ntenants, tenants_cap;
    uint32_t last_stream; /* fast path: consecutive entries usually share a stream */
    uint32_t last_source; /* and a source */
    size_t line_bytes;    /* sum of line lengths: what batchsize limits */
    size_t cost;          /* sum of batch_entry_cost(): what the backlog bound counts */
    double first_mono;    /* monotonic time of the first entry: batchwait runs from here */
    struct batch *next;   /* the queue's list link */
};

/* Bytes an entry counts against the backlog bound: line plus labels, as ship.h says. */
size_t batch_entry_cost(const struct ship_entry *e);

/* Start empty; allocates nothing. */
void batch_init(struct batch *b);
/* Free the storage; accepts NULL members. */
void batch_cleanup(struct batch *b);
/* Forget the content, keep the storage (shrinking it if one odd batch made it huge). */
void batch_reset(struct batch *b);

/*
 * True when adding a line of `line_len` bytes would take a non-empty batch
 * past `batchsize` line bytes: promtail's rule, so the caller closes this
 * batch first. An entry larger than batchsize still goes alone in a batch.
 */
bool batch_would_overflow(const struct batch *b, size_t line_len, size_t batchsize);

/*
 * Copy `e` into the batch. `default_tenant` (may be NULL) is used when the
 * entry names none. `now_mono` stamps the first entry. 0 or -ENOMEM.
 */
FROND_MUST_CHECK int batch_add(struct batch *b, const struct ship_entry *e,
                               const char *default_tenant, double now_mono);

/* The tenant string of tenant index `t` ("" for none). */
const char *batch_tenant_name(const struct batch *b, uint32_t t);

struct batch_encoder;

/* What one encode produced, for the metrics. */
struct batch_encoded {
    const uint8_t *body; /* snappy block, owned by the encoder */
    size_t body_len;
    size_t packed_len; /* protobuf bytes before compression */
    size_t nentries;
    size_t line_bytes;
};

struct batch_encoder *batch_encoder_new(void);
void batch_encoder_free(struct batch_encoder *enc);

/*
 * Encode the streams of tenant `t` as a PushRequest and compress it.
 * 0, -ENOMEM, or -EIO if snappy fails. The body stays valid until the next
 * call or the encoder is freed.
 */
FROND_MUST_CHECK int batch_encode(struct batch_encoder *enc, const struct batch *b, uint32_t t,
                                  struct batch_encoded *out);

#endif
