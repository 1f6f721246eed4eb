/*
 * The usage exporter's configuration: named MongoDB servers and the list
 * of queries (`count` or `aggregate`) whose results become metrics. The
 * loader turns the YAML file into this plain structure once, checking
 * everything an operator can get wrong (unknown keys, wrong types, bad
 * names, unparsable filters or pipelines, unknown servers) and reporting
 * it as "file:line: reason", so the runtime never meets a bad definition.
 *
 * Filters and pipelines may be written as YAML or as MongoDB extended JSON
 * strings; both are compiled to BSON here. YAML is turned into JSON text
 * first and handed to libbson's extended-JSON parser, so `{$date: ...}`,
 * `{$numberLong: ...}` and friends mean the same thing in both spellings.
 *
 * Ownership: a struct usage_config owns every string and BSON document in
 * it; usage_config_free() releases all of it (and accepts NULL). After a
 * failed load nothing is left to free. A loaded config is immutable and may
 * be read from any thread.
 */
#ifndef USAGE_CONFIG_H
#define USAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <bson/bson.h>

#include "frond/common.h"
#include "frond/registry.h"

/* Defaults, also quoted in README.md. */
#define USAGE_DEFAULT_INTERVAL 60.0
#define USAGE_DEFAULT_TIMEOUT 10.0
#define USAGE_DEFAULT_MAX_SAMPLES 10000L
/* Longest label value kept; longer values are cut (see README). */
#define USAGE_LABEL_VALUE_MAX 1024

struct usage_server {
    char *name;
    char *uri; /* secret: never log it without frond_redact_uri() */
    int line;
};

enum usage_query_kind {
    USAGE_COUNT,
    USAGE_AGGREGATE,
};

struct usage_metric {
    char *name;
    char *help;
    enum frond_metric_type type; /* FROND_GAUGE or FROND_COUNTER */
    size_t server;               /* index into usage_config.servers */
    char *database;
    char *collection;
    enum usage_query_kind kind;
    /* count: the filter document; aggregate: the pipeline as an array document. */
    bson_t *query;
    bool has_placeholders; /* query holds {$frondNowMinus: ...} */
    char *value;           /* result field (dotted path); NULL for count */
    size_t nlabels;
    char **label_fields; /* dotted paths in the result documents */
    char **label_names;
    size_t nconst;
    char **const_names;
    char **const_values;
    double interval; /* seconds */
    double timeout;  /* seconds */
    bool empty_absent;
    double empty_value; /* when !empty_absent */
    long max_samples;
    /* A stable text form of everything that shapes the samples, to recognise the same query across
     * reloads. */
    char *signature;
    int line;
};

struct usage_config {
    struct usage_server *servers;
    size_t nservers;
    struct usage_metric *metrics;
    size_t nmetrics;
};

/*
 * Load and check a config file. 0 with *out set, or a negative code with
 * "file:line: reason" in err (-EINVAL for content errors, -errno for I/O).
 */
FROND_MUST_CHECK int usage_config_load(const char *path, struct usage_config **out, char *err,
                                       size_t errlen);
/* The same from memory; `name` is used in messages. */
FROND_MUST_CHECK int usage_config_parse(const char *name, const char *text, size_t len,
                                        struct usage_config **out, char *err, size_t errlen);
void usage_config_free(struct usage_config *cfg);

/* usage_bson_subst_now(), which runs a loaded query, is declared there. */
#include "query.h"

#endif
