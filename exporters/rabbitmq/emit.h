/*
 * Turning a complete endpoint's records into samples: one function per
 * management-API endpoint, each opening its families (named as the
 * rabbitmq_prometheus plugin names them) and emitting every record.
 *
 * Ownership: the functions only read the store, node list and overview
 * record, which stay the caller's; the registry copies every name and label
 * value into the scrape, so they may be freed as soon as a call returns.
 * Failure: the first error from the registry (-ENOMEM, -ENOSPC at the
 * scrape's memory bound, -EINVAL) is returned at once; the samples emitted
 * before it stay in the scrape, and the caller decides whether the endpoint
 * counts as failed. Thread-safety: stateless; several scrapes may call them
 * at once, each with its own scrape and records.
 */
#ifndef RMQ_EMIT_H
#define RMQ_EMIT_H

#include "frond/common.h"
#include "frond/registry.h"
#include "json.h"
#include "store.h"

/* Emit the samples of each endpoint. 0, or -ENOMEM/-ENOSPC/-EINVAL from the registry. */
FROND_MUST_CHECK int rmq_emit_queues(struct frond_scrape *s, const struct rmq_store *st);
FROND_MUST_CHECK int rmq_emit_nodes(struct frond_scrape *s, const struct rmq_nodes *ns);
FROND_MUST_CHECK int rmq_emit_overview(struct frond_scrape *s, const struct rmq_record *ov);

#endif
