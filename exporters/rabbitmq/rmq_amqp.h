/*
 * AMQP mode, for clusters without the management plugin: at each scrape a
 * passive queue.declare on every listed queue returns its ready-message and
 * consumer counts, straight from the queue process (no stats lag).
 *
 * One connection per vhost (AMQP binds a connection to a vhost), kept
 * across scrapes and re-established when it breaks. A queue that does not
 * exist makes the broker close the channel with 404: the channel is
 * reopened for the next queue and the missing queue is simply absent.
 * Socket, handshake and RPC timeouts are set from the scrape's deadline.
 *
 * Queue list syntax (--amqp.queues): comma-separated `vhost/queue`, split
 * at the first '/', each side percent-decoded ("%2F/orders" is queue
 * "orders" in vhost "/"; an empty vhost also means "/"); a bare `queue`
 * uses the vhost of --amqp.url.
 *
 * Ownership: struct rmq_amqp owns its connections and copies of the
 * configuration. Thread-safety: scrapes are serialised by an internal
 * mutex (the connections are shared state). A scrape waits for that
 * mutex only until its own deadline: behind a scrape stuck on a hung
 * broker it gives up in time and reports rabbitmq_amqp_up 0 and
 * rabbitmq_up 0 (and counts a scrape error) instead of answering late.
 */
#ifndef RMQ_AMQP_H
#define RMQ_AMQP_H

#include <stddef.h>

#include "frond/common.h"
#include "frond/registry.h"

struct rmq_amqp;

/*
 * Parse the URL and queue list. `user`/`password` are used when the URL
 * carries none. -EINVAL with a message in `err` (never containing the
 * password) on a bad URL or list; -ENOMEM.
 */
FROND_MUST_CHECK int rmq_amqp_new(const char *url, const char *queues, const char *user,
                                  const char *password, double timeout, struct frond_series *errors,
                                  struct rmq_amqp **out, char *err, size_t errsz);
/* Close connections politely (bounded by a short timeout) and free. Accepts NULL. */
void rmq_amqp_free(struct rmq_amqp *a);
/* Registry collector (frond_collect_fn) with ctx = struct rmq_amqp. */
int rmq_amqp_collect(struct frond_scrape *s, void *ctx);

/* Percent-decode `in` (len bytes) into `out` (NUL-terminated); -EINVAL on bad escapes. */
FROND_MUST_CHECK int rmq_percent_decode(const char *in, size_t len, char *out, size_t outsz);

#endif
