/*
 * libmongoc start-up shared by the exporters that talk to MongoDB
 * (frond_mongodb_exporter, frond_usage_exporter): libmongoc's own log
 * lines are routed through frond's log, so --log.level and --log.format
 * apply to them too, and the library is initialised after the handler is
 * in place, because mongoc_init() itself logs.
 *
 * libmongoc logs from its own threads (the topology monitor); the handler
 * is thread-safe as long as the scrub function is.
 */
#ifndef EXPORTER_MONGOC_LOG_H
#define EXPORTER_MONGOC_LOG_H

#include <stddef.h>

#include <mongoc/mongoc.h>

/*
 * Rewrites a message in place (NUL-terminated, msgsz bytes of room) so it
 * carries no secret; called from any thread.
 */
typedef void (*exporter_mongoc_scrub_fn)(char *msg, size_t msgsz);

/*
 * Install the log handler, then mongoc_init(), then turn trace logging off.
 * libmongoc's errors and critical messages are logged at warn; the rest,
 * up to `debug_upto` (a mongoc_log_level_t), at debug; anything above is
 * dropped. Every message is cut to 1 KiB and passed through `scrub` (NULL
 * for none) first. The caller still owes mongoc_cleanup(). Call once, from
 * main, before any other thread exists.
 */
void exporter_mongoc_init(exporter_mongoc_scrub_fn scrub, mongoc_log_level_t debug_upto);

#endif
