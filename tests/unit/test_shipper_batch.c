/*
 * Unit tests for shipper/batch.c: the flush rule, backlog cost, per-source
 * offsets, tenants, and an encode → snappy → protobuf-c decode round trip
 * that checks every entry comes back in read order per stream, with its
 * timestamp (before 1970 too) and its exact bytes (NUL and invalid UTF-8
 * included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "../../shipper/batch.c"
#include "check.h"

static struct ship_entry entry(const char *labels, const char *line, size_t len, int64_t ts,
                               uint64_t src, uint64_t off)
{
    struct ship_entry e = {
        .ts_ns = ts,
        .line = line,
        .line_len = len,
        .labels = labels,
        .labels_len = strlen(labels),
        .source_id = src,
        .end_offset = off,
    };
    return e;
}

static Logproto__PushRequest *decode(const struct batch_encoded *enc)
{
    size_t n = 0;
    if (snappy_uncompressed_length((const char *)enc->body, enc->body_len, &n) != SNAPPY_OK) {
        return NULL;
    }
    char *raw = malloc(n ? n : 1);
    if (!raw) {
        return NULL;
    }
    Logproto__PushRequest *req = NULL;
    if (snappy_uncompress((const char *)enc->body, enc->body_len, raw, &n) == SNAPPY_OK &&
        n == enc->packed_len) {
        req = logproto__push_request__unpack(NULL, n, (const uint8_t *)raw);
    }
    free(raw);
    return req;
}

static void test_flush_rule_and_cost(void)
{
    struct batch b;
    batch_init(&b);
    /* An empty batch never overflows: a line bigger than batchsize goes alone. */
    CHECK(!batch_would_overflow(&b, 5000, 1000));
    struct ship_entry e = entry("{a=\"1\"}", "0123456789", 10, 1, 1, 10);
    CHECK_INT(batch_entry_cost(&e), 10 + 7);
    for (int i = 0; i < 100; i++) {
        CHECK_INT(batch_add(&b, &e, NULL, 5.0), 0);
    }
    CHECK_INT(b.line_bytes, 1000);
    CHECK_INT(b.cost, 1700);
    CHECK_DBL(b.first_mono, 5.0);
    CHECK(!batch_would_overflow(&b, 0, 1000));
    CHECK(batch_would_overflow(&b, 1, 1000));
    CHECK_INT(b.nstreams, 1);
    batch_reset(&b);
    CHECK_INT(b.nentries, 0);
    CHECK_INT(b.line_bytes, 0);
    CHECK_INT(b.cost, 0);
    CHECK(!batch_would_overflow(&b, 5000, 1000));
    batch_cleanup(&b);
}

static void test_sources_keep_max_offset(void)
{
    struct batch b;
    batch_init(&b);
    /* 300 sources force the source table to grow a few times. */
    for (uint64_t round = 1; round <= 3; round++) {
        for (uint64_t s = 0; s < 300; s++) {
            struct ship_entry e = entry("{a=\"1\"}", "x", 1, 0, s, round * 100 + s);
            CHECK_INT(batch_add(&b, &e, NULL, 0), 0);
        }
    }
    CHECK_INT(b.nsources, 300);
    int bad = 0;
    for (size_t i = 0; i < b.nsources; i++) {
        if (b.sources[i].end_offset != 300 + b.sources[i].id) {
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    batch_cleanup(&b);
}

static void test_tenants(void)
{
    struct batch b;
    batch_init(&b);
    struct ship_entry e1 = entry("{a=\"1\"}", "one", 3, 0, 1, 1);
    struct ship_entry e2 = entry("{a=\"1\"}", "two", 3, 0, 1, 2);
    e2.tenant = "team-b";
    struct ship_entry e3 = entry("{a=\"1\"}", "three", 5, 0, 1, 3);
    CHECK_INT(batch_add(&b, &e1, "default", 0), 0);
    CHECK_INT(batch_add(&b, &e2, "default", 0), 0);
    CHECK_INT(batch_add(&b, &e3, "default", 0), 0);
    CHECK_INT(b.ntenants, 2);
    /* The same labels under two tenants are two streams. */
    CHECK_INT(b.nstreams, 2);
    CHECK_STR(batch_tenant_name(&b, 0), "default");
    CHECK_STR(batch_tenant_name(&b, 1), "team-b");
    struct batch_encoder *enc = batch_encoder_new();
    struct batch_encoded out;
    CHECK_INT(batch_encode(enc, &b, 0, &out), 0);
    CHECK_INT(out.nentries, 2);
    CHECK_INT(out.line_bytes, 8);
    CHECK_INT(batch_encode(enc, &b, 1, &out), 0);
    CHECK_INT(out.nentries, 1);
    batch_encoder_free(enc);
    /* No tenant at all: one "" tenant, which sends no X-Scope-OrgID. */
    batch_reset(&b);
    CHECK_INT(batch_add(&b, &e1, NULL, 0), 0);
    CHECK_INT(b.ntenants, 1);
    CHECK_STR(batch_tenant_name(&b, 0), "");
    batch_cleanup(&b);
}

static void test_round_trip(void)
{
    static const char *labels[] = {
        "{container=\"app\", namespace=\"default\", pod=\"p-1\", stream=\"stdout\"}",
        "{container=\"app\", namespace=\"default\", pod=\"p-1\", stream=\"stderr\"}",
        "{container=\"db\", namespace=\"prod\", pod=\"q\\\"uote\", stream=\"stdout\"}",
    };
    enum { N = 3000 };
    struct batch b;
    batch_init(&b);
    struct batch_encoder *enc = batch_encoder_new();
    char line[64];
    /* Two batches through the same batch and encoder: reuse must not leak state. */
    for (int pass = 0; pass < 2; pass++) {
        batch_reset(&b);
        for (int i = 0; i < N; i++) {
            int s = (i * 7 + i / 3) % 3;
            int n = snprintf(line, sizeof(line), "line %d of %d", i, s);
            if (i % 10 == 0) {
                /* A NUL and invalid UTF-8 must travel unchanged. */
                line[n++] = '\0';
                line[n++] = (char)0xff;
                line[n++] = (char)0xc3;
            }
            struct ship_entry e =
                entry(labels[s], line, (size_t)n, (int64_t)i * 1000000001LL - 5000000000LL,
                      (uint64_t)s, (uint64_t)i);
            CHECK_INT(batch_add(&b, &e, NULL, 0), 0);
        }
        CHECK_INT(b.nstreams, 3);
        struct batch_encoded out;
        CHECK_INT(batch_encode(enc, &b, 0, &out), 0);
        CHECK_INT(out.nentries, N);
        Logproto__PushRequest *req = decode(&out);
        CHECK(req != NULL);
        if (!req) {
            continue;
        }
        CHECK_INT(req->n_streams, 3);
        int seen = 0, bad = 0;
        for (size_t si = 0; si < req->n_streams; si++) {
            Logproto__StreamAdapter *sa = req->streams[si];
            int s = -1;
            for (int k = 0; k < 3; k++) {
                if (strcmp(sa->labels, labels[k]) == 0) {
                    s = k;
                }
            }
            CHECK(s >= 0);
            int prev = -1;
            for (size_t j = 0; j < sa->n_entries; j++) {
                Logproto__EntryAdapter *ea = sa->entries[j];
                int i = -1, s2 = -1;
                if (sscanf((const char *)ea->line.data, "line %d of %d", &i, &s2) != 2 || s2 != s ||
                    i <= prev) {
                    bad++;
                    continue;
                }
                prev = i;
                int n = snprintf(line, sizeof(line), "line %d of %d", i, s);
                size_t want = (size_t)n + (i % 10 == 0 ? 3 : 0);
                if (ea->line.len != want) {
                    bad++;
                }
                if (i % 10 == 0 && (ea->line.data[n] != 0 || ea->line.data[n + 1] != 0xff ||
                                    ea->line.data[n + 2] != 0xc3)) {
                    bad++;
                }
                int64_t ts = (int64_t)i * 1000000001LL - 5000000000LL;
                int64_t got = ea->timestamp->seconds * 1000000000LL + ea->timestamp->nanos;
                if (got != ts || ea->timestamp->nanos < 0 || ea->timestamp->nanos >= 1000000000) {
                    bad++;
                }
                seen++;
            }
        }
        CHECK_INT(seen, N);
        CHECK_INT(bad, 0);
        logproto__push_request__free_unpacked(req, NULL);
    }
    batch_encoder_free(enc);
    batch_cleanup(&b);
}

static void test_many_streams(void)
{
    struct batch b;
    batch_init(&b);
    char labels[64];
    for (int round = 0; round < 2; round++) {
        for (int s = 0; s < 500; s++) {
            snprintf(labels, sizeof(labels), "{pod=\"p%d\"}", s);
            struct ship_entry e = entry(labels, "x", 1, 0, 1, (uint64_t)(round * 500 + s));
            CHECK_INT(batch_add(&b, &e, NULL, 0), 0);
        }
    }
    CHECK_INT(b.nstreams, 500);
    CHECK_INT(b.nsources, 1);
    CHECK_INT(b.sources[0].end_offset, 999);
    batch_cleanup(&b);
}

int main(void)
{
    test_flush_rule_and_cost();
    test_sources_keep_max_offset();
    test_tenants();
    test_round_trip();
    test_many_streams();
    return check_done("test_shipper_batch");
}
