/*
 * Internals of frond_mongodb_exporter, shared by main.c, the collector and
 * the tests.
 *
 * A scrape has two halves. The fetch half (collect.c) runs the commands
 * against one mongod through a pooled libmongoc client, on a worker
 * thread, and keeps the raw reply documents in a struct mongo_replies. The
 * map half (replset.c, oplog.c, serverstatus.c) turns those documents into
 * samples. The map half does no I/O and trusts nothing in the replies: a
 * field of an unexpected BSON type is skipped, never guessed, so it is what
 * the fuzz target and most unit tests exercise.
 *
 * Ownership: a struct mongo_replies owns its reply documents
 * (mongo_replies_cleanup frees them; the struct may be copied by value to
 * move them). The mapping functions borrow
 * everything and keep nothing. Thread-safety: the mapping functions are
 * reentrant; struct mongo_exporter is safe for concurrent scrapes.
 */
#ifndef FROND_MONGO_H
#define FROND_MONGO_H

#include <stdbool.h>
#include <stddef.h>

#include <bson/bson.h>
#include <mongoc/mongoc.h>

#include "frond/common.h"
#include "frond/registry.h"

/* Replica set member states, as in replSetGetStatus `state` (4 is unused since 3.0). */
#define MONGO_STATE_PRIMARY 1
#define MONGO_STATE_ARBITER 7

/* One reply slot: the document when the command succeeded. */
struct mongo_reply {
    bool ok;         /* the command answered ok: 1 and `doc` holds the reply */
    bool attempted;  /* the command was sent (false when skipped) */
    bson_t *doc;     /* owned; the reply when ok, else NULL */
    uint32_t domain; /* libmongoc error domain when !ok && attempted */
    uint32_t code;   /* libmongoc error code (server code with error API 2) */
    char errmsg[BSON_ERROR_BUFFER_SIZE];
};

/* Everything one scrape fetched. */
struct mongo_replies {
    struct mongo_reply server_status; /* admin: serverStatus */
    struct mongo_reply rs_status;     /* admin: replSetGetStatus */
    struct mongo_reply rs_config;     /* admin: replSetGetConfig */
    struct mongo_reply oplog_first;   /* local: find oplog.rs sort {$natural: 1} limit 1 */
    struct mongo_reply oplog_last;    /* local: find oplog.rs sort {$natural: -1} limit 1 */
    struct mongo_reply oplog_stats;   /* local: collStats oplog.rs */
    bool up;                          /* the server answered at all (connection and auth) */
    double fetch_seconds;             /* wall time spent fetching */
};

void mongo_replies_init(struct mongo_replies *r);
void mongo_replies_cleanup(struct mongo_replies *r);

/* ---- the metric catalogue (metrics.c) ---- */

/* One metric the exporter can emit, and where its value comes from (for README and tests). */
struct mongo_metric {
    const char *name;
    enum frond_metric_type type;
    const char *help;
    const char *source;
};

/* MONGO_M_UP, MONGO_M_VERSION, ...: one per entry of metrics_list.h. */
#define MONGO_METRIC(var, mname, mtype, mhelp, msrc) extern const struct mongo_metric var;
#include "metrics_list.h"
#undef MONGO_METRIC

extern const struct mongo_metric *const mongo_metrics_all[];
extern const size_t mongo_metrics_count;

/* One sample of `m` (the family is opened on first use). 0, -ENOMEM, -EINVAL. */
FROND_MUST_CHECK int mongo_emit(struct frond_scrape *s, const struct mongo_metric *m, double value,
                                size_t nlabels, const struct frond_label *labels);

/* ---- BSON value helpers (bsonval.c) ---- */

/*
 * The number at `iter` (int32, int64, double, bool) into *out. False for
 * any other type and for NaN/inf doubles, so a string where a number
 * belongs makes the sample absent.
 */
bool mongo_bson_number(const bson_iter_t *iter, double *out);
/*
 * A point in time at `iter` as Unix seconds: a BSON date (milliseconds) or
 * a BSON timestamp (its seconds part). False for any other type.
 */
bool mongo_bson_time(const bson_iter_t *iter, double *out);
/* Look up `dotted` (e.g. "optime.ts") in `doc`; false when absent. */
bool mongo_bson_find(const bson_t *doc, const char *dotted, bson_iter_t *out);
/* A number/time at `dotted` in `doc`; false when absent or of another type. */
bool mongo_bson_get_number(const bson_t *doc, const char *dotted, double *out);
bool mongo_bson_get_time(const bson_t *doc, const char *dotted, double *out);
/* A UTF-8 string at `dotted`, borrowed from `doc`; NULL when absent or not a string. */
const char *mongo_bson_get_utf8(const bson_t *doc, const char *dotted);
/* A sub-document or array at `iter` as a static bson_t; false for other types. */
bool mongo_bson_sub(const bson_iter_t *iter, bson_t *out);

/* ---- mapping (replset.c, oplog.c, serverstatus.c) ---- */

/*
 * Replica set metrics from replSetGetStatus (`status`, NULL when the
 * command failed) and replSetGetConfig (`config`, may be NULL). Returns 0
 * or a negative errno from the scrape API (ENOMEM).
 */
FROND_MUST_CHECK int mongo_map_replset(struct frond_scrape *s, const bson_t *status,
                                       const bson_t *config);
/* mongodb_replset_enabled: 1, or 0 when `code` says "not a replica set" (76, 94). */
bool mongo_error_not_replset(uint32_t domain, uint32_t code);

/* Oplog metrics from the first/last entry finds and collStats (each may be NULL). */
FROND_MUST_CHECK int mongo_map_oplog(struct frond_scrape *s, const bson_t *first,
                                     const bson_t *last, const bson_t *stats);

/* serverStatus metrics (connections, opcounters, asserts, uptime, version info). */
FROND_MUST_CHECK int mongo_map_server_status(struct frond_scrape *s, const bson_t *ss);

/*
 * Every metric of one scrape from what was fetched, including mongodb_up
 * and mongodb_replset_enabled.
 */
FROND_MUST_CHECK int mongo_map_replies(struct frond_scrape *s, const struct mongo_replies *r);

/* ---- connection (uri.c) ---- */

struct mongo_conn_opts {
    double timeout;         /* upper bound for socket I/O, seconds (--mongodb.timeout) */
    double connect_timeout; /* connect + server selection, seconds */
    unsigned max_pool_size; /* pooled clients, i.e. concurrent scrapes */
};

/*
 * Parse `text` and prepare it for an exporter: add directConnection=true
 * unless the URI sets it, names several hosts or is mongodb+srv; set
 * connect/server-selection/socket timeouts unless given and cap them at
 * `o->timeout`; set appname and maxPoolSize. Returns a new URI the caller
 * destroys, or NULL with a message in `err` that never holds the password.
 */
mongoc_uri_t *mongo_uri_prepare(const char *text, const struct mongo_conn_opts *o, char *err,
                                size_t errsz);

/*
 * Replace every occurrence of `secret` in `msg` (in place) with "xxxxx",
 * and redact URIs with frond_redact_uri(): libmongoc's messages are logged
 * and must never carry the password.
 */
void mongo_scrub(char *msg, size_t msgsz, const char *secret);

/* ---- the exporter (collect.c) ---- */

/*
 * Scrub one libmongoc log line of the live exporter's password (and of any
 * URI password): the scrub function main.c hands to exporter_mongoc_init().
 * Thread-safe.
 */
void mongo_log_scrub(char *msg, size_t msgsz);

struct mongo_exporter;

/*
 * Create the client pool for `uri` (borrowed; copied by libmongoc). NULL
 * with a logged reason on failure. mongoc_init() must have been called.
 */
struct mongo_exporter *mongo_exporter_new(const mongoc_uri_t *uri, const struct mongo_conn_opts *o);
/*
 * Wait for in-flight fetches (bounded by the socket timeout), free the
 * pool. Accepts NULL. Returns false when a fetch was still running and the
 * pool had to be left alone; mongoc_cleanup() must then not be called.
 */
bool mongo_exporter_free(struct mongo_exporter *e);
/* The registry collector: ctx is a struct mongo_exporter. */
int mongo_collect(struct frond_scrape *s, void *ctx);
/*
 * Fetch everything once, waiting at most until `deadline` (monotonic
 * seconds). Returns 0 with `r` filled (r->up says whether the server
 * answered), or -ETIMEDOUT when the deadline passed first (r is then empty;
 * the fetch finishes in the background and its result is dropped).
 */
FROND_MUST_CHECK int mongo_fetch(struct mongo_exporter *e, double deadline,
                                 struct mongo_replies *r);

#endif
