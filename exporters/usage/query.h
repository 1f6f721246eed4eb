/*
 * The MongoDB queries of the usage exporter's config: reading a `count`
 * filter or an `aggregate` pipeline out of the YAML tree into BSON (at
 * load), and replacing its {"$frondNowMinus": "<duration>"} placeholders
 * with dates (at every run). Pure functions: thread-safe.
 */
#ifndef USAGE_QUERY_H
#define USAGE_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include <bson/bson.h>

#include "frond/common.h"
#include "frond/yamlcfg.h"

/*
 * Read node n as a filter document (pipeline false; null reads as {}) or a
 * list of stages (pipeline true), written as YAML or as an extended JSON
 * string. On success *query is a new bson_t (the caller destroys it) and
 * *has_placeholders says whether it must go through usage_bson_subst_now()
 * before each run. On failure -EINVAL (or -ENOMEM/-ENOSPC) with
 * "file:line: reason" in err; *query may then hold a document the caller
 * still destroys.
 */
FROND_MUST_CHECK int usage_query_load(const struct frond_yaml_doc *doc,
                                      const struct frond_yaml_node *n, bool pipeline,
                                      bson_t **query, bool *has_placeholders, char *err,
                                      size_t errlen);

/*
 * Copy `in` into `out` (initialised by the caller), replacing every
 * sub-document {"$frondNowMinus": "<duration>"} with the date `now_ms`
 * minus that duration. 0, or -EINVAL if a placeholder is malformed.
 */
FROND_MUST_CHECK int usage_bson_subst_now(const bson_t *in, bson_t *out, int64_t now_ms);

#endif
