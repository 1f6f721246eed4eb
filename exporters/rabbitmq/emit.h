/*
 * Turning a complete endpoint's records into samples: one function per
 * management-API endpoint, each opening its families (named as the
 * rabbitmq_prometheus plugin names them) and emitting every record.
 * Stateless: safe from several scrapes at once.
 */
#ifndef RMQ_EMIT_H
#define RMQ_EMIT_H

#include "frond/common.h"
#include "frond/registry.h"
#include "json.h"
#include "store.h"

/* Emit the samples of each endpoint. 0 or -ENOMEM/-EINVAL from the registry. */
FROND_MUST_CHECK int rmq_emit_queues(struct frond_scrape *s, const struct rmq_store *st);
FROND_MUST_CHECK int rmq_emit_nodes(struct frond_scrape *s, const struct rmq_nodes *ns);
FROND_MUST_CHECK int rmq_emit_overview(struct frond_scrape *s, const struct rmq_record *ov);

#endif
