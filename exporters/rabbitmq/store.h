/*
 * The record store of one management-API scrape, and the vhost/queue name
 * filters it applies: queue records are filtered and copied as they are
 * parsed (strings into one arena capped at 512 MiB, at most 2,000,000
 * queues), merged from the per-vhost workers, then sorted by (vhost, name)
 * with duplicates dropped (a queue seen on two pages). Node records are
 * kept whole. Public for the collector, unit tests and the fuzz target.
 *
 * Ownership: a store owns its records and arena until rmq_store_cleanup();
 * it borrows the collector whose filters it applies, and copies every
 * string of a record it keeps. A filter owns its compiled regex and strings
 * until rmq_filter_cleanup(). Failure: an add or merge that fails (-ENOMEM,
 * -E2BIG past the caps) leaves the records kept so far intact and the store
 * valid for cleanup; a filter that fails to compile is left unset and needs
 * no cleanup. Thread-safety: a store belongs to one thread; filters are
 * read-only once compiled and may be shared (regexec is thread-safe).
 */
#ifndef RMQ_STORE_H
#define RMQ_STORE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/buf.h"
#include "frond/common.h"
#include "json.h"

struct rmq_collector;

/*
 * A name filter: a POSIX extended regex (glibc regcomp), or none (matches
 * everything). The --include-queues style flags are fully anchored, as
 * ^(src)$; the kbudde/rabbitmq_exporter environment variables
 * (INCLUDE_QUEUES, SKIP_QUEUES, INCLUDE_VHOST, SKIP_VHOST) match anywhere
 * in the name, as Go's regexp.MatchString does there.
 *
 * Both kinds accept the RE2/Perl class escapes users copy from Go configs,
 * translated to ERE before compiling: \d \D \w \W \s \S (inside a
 * bracket expression \d \w \s and escaped punctuation such as [\.]).
 * Syntax that POSIX ERE reads differently and that is not translated
 * (groups starting "(?", lazy quantifiers "*?" "+?" "??", other letter
 * escapes such as \b \A \pL \x41, negated classes inside brackets) is
 * reported through `warn` so the caller can log it at startup.
 */
struct rmq_filter {
    bool set;
    bool anchored;
    bool server_ok; /* `ere` means the same to RabbitMQ's PCRE: may be pushed as name+use_regex */
    char *src;      /* the expression as given */
    char *ere;      /* the translated expression, without the anchors */
    regex_t re;
};

/* Compile `src` anchored as ^(src)$ (the flags' semantics); see rmq_filter_init_ex. */
FROND_MUST_CHECK int rmq_filter_init(struct rmq_filter *f, const char *src);
/*
 * Compile `src`, anchored or matching anywhere. NULL or "" leaves the
 * filter unset. -EINVAL on a bad regex, -ENOMEM. `warn` (may be NULL)
 * receives a one-line note when the pattern uses RE2/PCRE syntax that
 * glibc's ERE reads differently, "" otherwise.
 */
FROND_MUST_CHECK int rmq_filter_init_ex(struct rmq_filter *f, const char *src, bool anchored,
                                        char *warn, size_t warnsz);
void rmq_filter_cleanup(struct rmq_filter *f);
/* Include/exclude pair: kept when the include is unset or matches, and the exclude does not. */
bool rmq_filter_keep(const struct rmq_filter *inc, const struct rmq_filter *exc, const char *s);

/* Compact copy of a queue record; strings live in the store's arena. */
struct rmq_qrec {
    double num[RMQ_Q_NUM_COUNT];
    uint32_t have_num;
    uint32_t have_str;
    uint32_t str[RMQ_Q_STR_COUNT]; /* offsets into arena */
};

struct rmq_store {
    struct rmq_qrec *q;
    size_t nq, capq, maxq;
    struct frond_buf arena;
    const struct rmq_collector *filters; /* may be NULL: keep everything */
    size_t filtered_out;
};

void rmq_store_init(struct rmq_store *st, const struct rmq_collector *filters);
void rmq_store_cleanup(struct rmq_store *st);
/* rmq_record_fn for queue replies: filter, then copy into the store. */
int rmq_store_add_queue(const struct rmq_record *r, void *ctx);
/* Append every record of `src` (another scrape worker's store). 0, -ENOMEM, -E2BIG. */
FROND_MUST_CHECK int rmq_store_merge(struct rmq_store *dst, const struct rmq_store *src);
/* Sort by (vhost, name) and drop duplicates (a queue seen on two pages). */
void rmq_store_finish(struct rmq_store *st);
/*
 * Consumer counts from /api/consumers, for listings made without queue
 * statistics (which carry no "consumers" field): rmq_store_zero_consumers
 * gives every queue of a finished store a count of 0, then
 * rmq_store_add_consumer (an rmq_record_fn for RMQ_REPLY_CONSUMERS replies)
 * adds 1 to the queue each consumer record names. Consumers of queues not
 * in the store are ignored. Needs rmq_store_finish() first (binary search).
 */
void rmq_store_zero_consumers(struct rmq_store *st);
int rmq_store_add_consumer(const struct rmq_record *r, void *ctx);
const char *rmq_store_str(const struct rmq_store *st, const struct rmq_qrec *q, int slot);

/* Node records, kept whole (a cluster has a handful). */
struct rmq_nodes {
    struct rmq_record *n;
    size_t count, cap;
};
int rmq_nodes_add(const struct rmq_record *r, void *ctx);
void rmq_nodes_cleanup(struct rmq_nodes *ns);

#endif
