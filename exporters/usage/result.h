/*
 * Result documents to samples: the rules that turn what MongoDB returns
 * into Prometheus samples, kept apart from the network so they can be unit
 * tested and fuzzed on raw BSON.
 *
 * Values: int32, int64, double and Decimal128 as numbers; booleans as 1/0;
 * dates as Unix seconds; BSON timestamps as their seconds; strings when the
 * whole string parses as a decimal number. Anything else (null, missing,
 * arrays, documents, other strings) is not a value: the document is
 * skipped and counted by reason.
 *
 * Labels: strings as they are (invalid UTF-8 and NUL replaced by U+FFFD,
 * cut at USAGE_LABEL_VALUE_MAX bytes); numbers in their shortest exact
 * decimal form; booleans as true/false; dates as RFC 3339 UTC; ObjectIds in
 * hex; null and missing fields as "" (which Prometheus treats as absent);
 * arrays, documents and other types as relaxed extended JSON.
 *
 * Two documents giving the same label set: the first wins, later ones are
 * counted as duplicates (the scrape never fails for it).
 *
 * Ownership: a struct usage_result owns its samples and label text.
 * Not thread-safe; a finished result is read-only and may be shared.
 */
#ifndef USAGE_RESULT_H
#define USAGE_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>

#include "config.h"
#include "frond/buf.h"
#include "frond/common.h"

struct usage_sample {
    double value;
    size_t labels; /* offset in `text` of nlabels consecutive NUL-terminated values */
    size_t labels_len;
};

enum usage_skip {
    USAGE_SKIP_MISSING = 0, /* value field missing or null */
    USAGE_SKIP_NON_NUMERIC, /* value of a type (or a string) that is not a number */
    USAGE_SKIP_LIMIT,       /* more documents than max_samples: the rest was not read */
    USAGE_SKIP_N,
};

extern const char *const usage_skip_names[USAGE_SKIP_N];

struct usage_result {
    size_t nlabels;
    long max_samples;
    struct usage_sample *samples;
    size_t n, cap;
    struct frond_buf text;
    uint32_t *slots; /* dedup hash: sample index + 1, 0 = free */
    size_t nslots;
    uint64_t docs;
    uint64_t duplicates;
    uint64_t skipped[USAGE_SKIP_N];
    char first_duplicate[256]; /* label values of the first duplicate, for the log */
};

/* Start an empty result for a metric with `nlabels` label fields. */
void usage_result_init(struct usage_result *r, size_t nlabels, long max_samples);
void usage_result_cleanup(struct usage_result *r);
/*
 * The result is complete: drop the duplicate table and trim the arrays to
 * their contents (a cached result lives for a whole interval; with 200
 * queries the slack adds up). Adding to it later still works.
 */
void usage_result_seal(struct usage_result *r);

/*
 * Map one result document of metric `m`. 0 when the document was used or
 * skipped (see the counters), 1 when the result is full (max_samples) and
 * the caller should stop reading, -ENOMEM.
 */
FROND_MUST_CHECK int usage_result_add_doc(struct usage_result *r, const struct usage_metric *m,
                                          const bson_t *doc);
/* Add one sample with every label value "" (a count, or an empty result's `empty` value). */
FROND_MUST_CHECK int usage_result_add_plain(struct usage_result *r, double value);

/* A field's numeric value per the rules above: 0, or -EINVAL with the reason in *why. */
int usage_value_of(const bson_iter_t *it, double *out, enum usage_skip *why);
/* A field's label text per the rules above, NUL-terminated in `out` (appended). */
FROND_MUST_CHECK int usage_label_of(const bson_iter_t *it, struct frond_buf *out);

#endif
