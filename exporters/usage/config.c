/*
 * Loader for the usage exporter's YAML configuration (see config.h and
 * README.md for the format). Every check that can fail at run time because
 * of a typo is done here instead, with the line of the offending node.
 * The queries themselves (YAML or extended JSON to BSON, placeholders) are
 * read by query.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "frond/buf.h"
#include "frond/flags.h"
#include "frond/yamlcfg.h"
#include "query.h"

/* Bound on the text of a URI (uri_file), and on a metric's signature. */
#define URI_MAX_BYTES (64u << 10)
#define SIGNATURE_MAX_BYTES (8u << 20)

static const char *const top_keys[] = {"global", "servers", "metrics", NULL};
static const char *const global_keys[] = {"interval", "timeout", "max_samples", NULL};
static const char *const server_keys[] = {"uri", "uri_file", "uri_env", NULL};
static const char *const metric_keys[] = {"name",     "help",       "type",         "server",
                                          "database", "collection", "count",        "aggregate",
                                          "value",    "labels",     "const_labels", "interval",
                                          "timeout",  "empty",      "max_samples",  NULL};

/* Names our own families use; a configured metric must not shadow them. */
static const char *const reserved_prefixes[] = {"usage_", "frond_", "process_", NULL};

struct defaults {
    double interval;
    double timeout;
    long max_samples;
};

static bool valid_name(const char *s, bool allow_colon)
{
    if (!s || !*s) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (allow_colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n + 1);
    }
    return d;
}

/* ---- the loader ---- */

struct loader {
    const struct frond_yaml_doc *doc;
    struct usage_config *cfg;
    struct defaults def;
    char *err;
    size_t errlen;
};

static int read_small_file(const char *path, char **out)
{
    struct frond_buf b;
    int rc;

    frond_buf_init(&b, URI_MAX_BYTES);
    rc = frond_buf_append_file(&b, path, false);
    if (rc) {
        goto out;
    }
    /* A secret file from Kubernetes often ends with a newline that is not part of the URI. */
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) {
        b.len--;
    }
    rc = frond_buf_putc(&b, '\0');
    if (rc) {
        goto out;
    }
    *out = frond_buf_take(&b, NULL);
out:
    frond_buf_cleanup(&b);
    return rc;
}

static int load_server(struct loader *L, const struct frond_yaml_node *key,
                       const struct frond_yaml_node *val, struct usage_server *s)
{
    const struct frond_yaml_doc *doc = L->doc;
    int rc;
    char *raw = NULL;
    struct frond_buf b;
    bson_error_t berr;
    mongoc_uri_t *uri = NULL;

    frond_buf_init(&b, URI_MAX_BYTES);
    s->line = key->line;
    rc = frond_yaml_string(doc, key, "server name", &s->name, L->err, L->errlen);
    if (rc) {
        goto out;
    }
    /* The name only ever appears as a label value (usage_server_up{server}), so any text will do.
     */
    if (!*s->name || strlen(s->name) > 128) {
        rc = frond_yaml_error(doc, key, L->err, L->errlen, "server name must be 1..128 characters");
        goto out;
    }
    rc = frond_yaml_check_keys(doc, val, server_keys, "server", L->err, L->errlen);
    if (rc) {
        goto out;
    }
    const struct frond_yaml_node *u = frond_yaml_get(val, "uri");
    const struct frond_yaml_node *uf = frond_yaml_get(val, "uri_file");
    const struct frond_yaml_node *ue = frond_yaml_get(val, "uri_env");
    if ((u != NULL) + (uf != NULL) + (ue != NULL) != 1) {
        rc = frond_yaml_error(doc, val, L->err, L->errlen,
                              "server \"%s\" needs exactly one of uri, uri_file, uri_env", s->name);
        goto out;
    }
    if (u) {
        rc = frond_yaml_string(doc, u, "uri", &raw, L->err, L->errlen);
        if (rc) {
            goto out;
        }
        /* Only URIs are expanded: "$" is everywhere in MongoDB queries. */
        rc = frond_expand_env(raw, strlen(raw), &b);
        if (rc == 0) {
            rc = frond_buf_putc(&b, '\0');
        }
        if (rc) {
            rc = frond_yaml_error(doc, u, L->err, L->errlen, "uri too long after ${} expansion");
            goto out;
        }
        s->uri = frond_buf_take(&b, NULL);
    } else if (uf) {
        rc = frond_yaml_string(doc, uf, "uri_file", &raw, L->err, L->errlen);
        if (rc) {
            goto out;
        }
        rc = read_small_file(raw, &s->uri);
        if (rc) {
            rc =
                frond_yaml_error(doc, uf, L->err, L->errlen, "uri_file %s: %s", raw, strerror(-rc));
            goto out;
        }
    } else {
        rc = frond_yaml_string(doc, ue, "uri_env", &raw, L->err, L->errlen);
        if (rc) {
            goto out;
        }
        const char *v = getenv(raw);
        if (!v || !*v) {
            rc = frond_yaml_error(doc, ue, L->err, L->errlen,
                                  "environment variable %s (uri_env) is not set", raw);
            goto out;
        }
        s->uri = xstrdup(v);
        if (!s->uri) {
            rc = -ENOMEM;
            goto out;
        }
    }
    /* Checked now so a typo fails --check-config; the message never echoes the URI. */
    uri = mongoc_uri_new_with_error(s->uri, &berr);
    if (!uri) {
        /*
         * libmongoc's reason names the part that is wrong; it is shown only
         * when it cannot carry userinfo (no '@', no part of the URI itself).
         */
        bool safe = !strchr(berr.message, '@') && !strstr(berr.message, "://");
        rc = frond_yaml_error(doc, u ? u : (uf ? uf : ue), L->err, L->errlen,
                              "server \"%s\": invalid MongoDB URI%s%s", s->name,
                              safe && berr.message[0] ? ": " : "", safe ? berr.message : "");
        goto out;
    }
out:
    mongoc_uri_destroy(uri);
    free(raw);
    frond_buf_cleanup(&b);
    return rc;
}

static int load_defaults(struct loader *L, const struct frond_yaml_node *g)
{
    const struct frond_yaml_doc *doc = L->doc;
    int rc = frond_yaml_check_keys(doc, g, global_keys, "global", L->err, L->errlen);
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *n;
    if ((n = frond_yaml_get(g, "interval")) != NULL) {
        rc = frond_yaml_duration(doc, n, "global.interval", &L->def.interval, L->err, L->errlen);
        if (rc == 0 && !(L->def.interval > 0)) {
            rc = frond_yaml_error(doc, n, L->err, L->errlen, "global.interval must be > 0");
        }
        if (rc) {
            return rc;
        }
    }
    if ((n = frond_yaml_get(g, "timeout")) != NULL) {
        rc = frond_yaml_duration(doc, n, "global.timeout", &L->def.timeout, L->err, L->errlen);
        if (rc == 0 && !(L->def.timeout > 0)) {
            rc = frond_yaml_error(doc, n, L->err, L->errlen, "global.timeout must be > 0");
        }
        if (rc) {
            return rc;
        }
    }
    if ((n = frond_yaml_get(g, "max_samples")) != NULL) {
        rc = frond_yaml_long(doc, n, "global.max_samples", &L->def.max_samples, L->err, L->errlen);
        if (rc == 0 && L->def.max_samples < 1) {
            rc = frond_yaml_error(doc, n, L->err, L->errlen, "global.max_samples must be >= 1");
        }
    }
    return rc;
}

static int add_label(struct usage_metric *m, const char *field, const char *name)
{
    char **f = realloc(m->label_fields, (m->nlabels + 1) * sizeof(*f));
    if (!f) {
        return -ENOMEM;
    }
    m->label_fields = f;
    char **nm = realloc(m->label_names, (m->nlabels + 1) * sizeof(*nm));
    if (!nm) {
        return -ENOMEM;
    }
    m->label_names = nm;
    m->label_fields[m->nlabels] = xstrdup(field);
    m->label_names[m->nlabels] = xstrdup(name);
    m->nlabels++;
    if (!m->label_fields[m->nlabels - 1] || !m->label_names[m->nlabels - 1]) {
        return -ENOMEM;
    }
    return 0;
}

static int check_label_name(struct loader *L, const struct frond_yaml_node *at,
                            const struct usage_metric *m, const char *name)
{
    if (!valid_name(name, false) || (name[0] == '_' && name[1] == '_')) {
        return frond_yaml_error(L->doc, at, L->err, L->errlen,
                                "label name \"%s\" must match [a-zA-Z_][a-zA-Z0-9_]* and not "
                                "start with __",
                                name);
    }
    for (size_t i = 0; i < m->nlabels; i++) {
        if (!strcmp(m->label_names[i], name)) {
            return frond_yaml_error(L->doc, at, L->err, L->errlen, "label \"%s\" given twice",
                                    name);
        }
    }
    for (size_t i = 0; i < m->nconst; i++) {
        if (!strcmp(m->const_names[i], name)) {
            return frond_yaml_error(L->doc, at, L->err, L->errlen, "label \"%s\" given twice",
                                    name);
        }
    }
    if (m->nlabels + m->nconst >= FROND_MAX_LABELS) {
        return frond_yaml_error(L->doc, at, L->err, L->errlen, "more than %d labels",
                                FROND_MAX_LABELS);
    }
    return 0;
}

static int load_labels(struct loader *L, const struct frond_yaml_node *n, struct usage_metric *m)
{
    const struct frond_yaml_doc *doc = L->doc;
    int rc = 0;
    char *field = NULL, *name = NULL;
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind == FROND_YAML_SCALAR) {
        return frond_yaml_error(doc, n, L->err, L->errlen,
                                "labels must be a list of result fields or a mapping "
                                "field: label_name");
    }
    for (size_t i = 0; i < n->n && rc == 0; i++) {
        const struct frond_yaml_node *fn = n->kind == FROND_YAML_MAP ? n->keys[i] : n->items[i];
        rc = frond_yaml_string(doc, fn, "label field", &field, L->err, L->errlen);
        if (rc) {
            break;
        }
        if (!*field) {
            rc = frond_yaml_error(doc, fn, L->err, L->errlen, "empty label field");
            break;
        }
        if (n->kind == FROND_YAML_MAP) {
            rc = frond_yaml_string(doc, n->items[i], "label name", &name, L->err, L->errlen);
        } else {
            /* A list entry names the field; its label is the field with dots made underscores. */
            name = xstrdup(field);
            if (!name) {
                rc = -ENOMEM;
            }
            for (char *p = name; p && *p; p++) {
                if (*p == '.') {
                    *p = '_';
                }
            }
        }
        if (rc == 0) {
            rc = check_label_name(L, n->kind == FROND_YAML_MAP ? n->items[i] : fn, m, name);
        }
        if (rc == 0) {
            rc = add_label(m, field, name);
        }
        free(field);
        free(name);
        field = name = NULL;
    }
    free(field);
    free(name);
    return rc;
}

static int load_const_labels(struct loader *L, const struct frond_yaml_node *n,
                             struct usage_metric *m)
{
    const struct frond_yaml_doc *doc = L->doc;
    int rc = 0;
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind != FROND_YAML_MAP) {
        return frond_yaml_error(doc, n, L->err, L->errlen,
                                "const_labels must be a mapping label_name: value");
    }
    m->const_names = calloc(n->n, sizeof(char *));
    m->const_values = calloc(n->n, sizeof(char *));
    if (!m->const_names || !m->const_values) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n->n && rc == 0; i++) {
        char *name = NULL, *value = NULL;
        rc = frond_yaml_string(doc, n->keys[i], "label name", &name, L->err, L->errlen);
        if (rc == 0) {
            rc = check_label_name(L, n->keys[i], m, name);
        }
        if (rc == 0) {
            rc = frond_yaml_string(doc, n->items[i], "label value", &value, L->err, L->errlen);
        }
        if (rc) {
            free(name);
            free(value);
            break;
        }
        m->const_names[m->nconst] = name;
        m->const_values[m->nconst] = value;
        m->nconst++;
    }
    return rc;
}

static int build_signature(struct usage_config *cfg, struct usage_metric *m)
{
    struct frond_buf b;
    int rc;
    char *json = bson_as_canonical_extended_json(m->query, NULL);
    frond_buf_init(&b, SIGNATURE_MAX_BYTES);
    if (!json) {
        return -ENOMEM;
    }
    rc = frond_buf_printf(&b, "%s\n%d\n%s\n%s\n%s\n%s\n%d\n%s\n%s\n%d %.17g %ld\n", m->name,
                          (int)m->type, cfg->servers[m->server].name, cfg->servers[m->server].uri,
                          m->database, m->collection, (int)m->kind, json, m->value ? m->value : "",
                          (int)m->empty_absent, m->empty_value, m->max_samples);
    for (size_t i = 0; i < m->nlabels && rc == 0; i++) {
        rc = frond_buf_printf(&b, "l %s=%s\n", m->label_fields[i], m->label_names[i]);
    }
    for (size_t i = 0; i < m->nconst && rc == 0; i++) {
        rc = frond_buf_printf(&b, "c %s=%s\n", m->const_names[i], m->const_values[i]);
    }
    if (rc == 0) {
        rc = frond_buf_putc(&b, '\0');
    }
    if (rc == 0) {
        m->signature = frond_buf_take(&b, NULL);
    }
    bson_free(json);
    frond_buf_cleanup(&b);
    return rc;
}

static int load_metric(struct loader *L, const struct frond_yaml_node *n, struct usage_metric *m)
{
    const struct frond_yaml_doc *doc = L->doc;
    struct usage_config *cfg = L->cfg;
    const struct frond_yaml_node *v;
    char *s = NULL;
    int rc;

    m->line = n->line;
    m->type = FROND_GAUGE;
    m->interval = L->def.interval;
    m->timeout = L->def.timeout;
    m->max_samples = L->def.max_samples;
    m->empty_absent = true;

    rc = frond_yaml_check_keys(doc, n, metric_keys, "metric", L->err, L->errlen);
    if (rc) {
        goto out;
    }
    v = frond_yaml_get(n, "name");
    if (!v) {
        rc = frond_yaml_error(doc, n, L->err, L->errlen, "metric without a name");
        goto out;
    }
    rc = frond_yaml_string(doc, v, "name", &m->name, L->err, L->errlen);
    if (rc) {
        goto out;
    }
    if (!valid_name(m->name, true)) {
        rc = frond_yaml_error(doc, v, L->err, L->errlen,
                              "metric name \"%s\" must match [a-zA-Z_:][a-zA-Z0-9_:]*", m->name);
        goto out;
    }
    for (size_t i = 0; reserved_prefixes[i]; i++) {
        if (!strncmp(m->name, reserved_prefixes[i], strlen(reserved_prefixes[i]))) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen,
                                  "metric name \"%s\": prefix %s is reserved for the exporter's "
                                  "own metrics",
                                  m->name, reserved_prefixes[i]);
            goto out;
        }
    }
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        if (&cfg->metrics[i] != m && cfg->metrics[i].name &&
            !strcmp(cfg->metrics[i].name, m->name)) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen,
                                  "metric \"%s\" already defined at line %d", m->name,
                                  cfg->metrics[i].line);
            goto out;
        }
    }

    if ((v = frond_yaml_get(n, "help")) != NULL) {
        rc = frond_yaml_string(doc, v, "help", &m->help, L->err, L->errlen);
        if (rc) {
            goto out;
        }
    } else {
        m->help = xstrdup("Result of a configured MongoDB query.");
        if (!m->help) {
            rc = -ENOMEM;
            goto out;
        }
    }

    if ((v = frond_yaml_get(n, "type")) != NULL) {
        rc = frond_yaml_string(doc, v, "type", &s, L->err, L->errlen);
        if (rc) {
            goto out;
        }
        if (!strcmp(s, "gauge")) {
            m->type = FROND_GAUGE;
        } else if (!strcmp(s, "counter")) {
            m->type = FROND_COUNTER;
        } else {
            rc = frond_yaml_error(doc, v, L->err, L->errlen,
                                  "type must be gauge or counter, not \"%s\"", s);
            goto out;
        }
    }
    if (m->type == FROND_COUNTER && !ends_with(m->name, "_total")) {
        rc = frond_yaml_error(doc, frond_yaml_get(n, "name"), L->err, L->errlen,
                              "counter \"%s\" must be named *_total", m->name);
        goto out;
    }
    if (m->type == FROND_GAUGE && ends_with(m->name, "_total")) {
        rc = frond_yaml_error(doc, frond_yaml_get(n, "name"), L->err, L->errlen,
                              "gauge \"%s\" must not end in _total (reserved for counters)",
                              m->name);
        goto out;
    }

    v = frond_yaml_get(n, "server");
    if (v) {
        free(s);
        s = NULL;
        rc = frond_yaml_string(doc, v, "server", &s, L->err, L->errlen);
        if (rc) {
            goto out;
        }
        size_t i;
        for (i = 0; i < cfg->nservers; i++) {
            if (!strcmp(cfg->servers[i].name, s)) {
                break;
            }
        }
        if (i == cfg->nservers) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen, "unknown server \"%s\"", s);
            goto out;
        }
        m->server = i;
    } else if (cfg->nservers == 1) {
        m->server = 0;
    } else {
        rc = frond_yaml_error(doc, n, L->err, L->errlen,
                              "metric \"%s\" needs a server (there are %zu)", m->name,
                              cfg->nservers);
        goto out;
    }

    const char *req[] = {"database", "collection"};
    char **dst[] = {&m->database, &m->collection};
    for (size_t i = 0; i < 2; i++) {
        v = frond_yaml_get(n, req[i]);
        if (!v) {
            rc = frond_yaml_error(doc, n, L->err, L->errlen, "metric \"%s\" needs a %s", m->name,
                                  req[i]);
            goto out;
        }
        rc = frond_yaml_string(doc, v, req[i], dst[i], L->err, L->errlen);
        if (rc == 0 && !**dst[i]) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen, "%s must not be empty", req[i]);
        }
        if (rc == 0 && i == 0 && strpbrk(m->database, "/\\. \"$")) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen,
                                  "database name \"%s\" has a character MongoDB forbids",
                                  m->database);
        }
        if (rc) {
            goto out;
        }
    }

    const struct frond_yaml_node *cnt = frond_yaml_get(n, "count");
    const struct frond_yaml_node *agg = frond_yaml_get(n, "aggregate");
    if ((cnt != NULL) == (agg != NULL)) {
        rc = frond_yaml_error(doc, n, L->err, L->errlen,
                              "metric \"%s\" needs exactly one of count, aggregate", m->name);
        goto out;
    }
    m->kind = cnt ? USAGE_COUNT : USAGE_AGGREGATE;
    rc = usage_query_load(L->doc, cnt ? cnt : agg, agg != NULL, &m->query, &m->has_placeholders,
                          L->err, L->errlen);
    if (rc) {
        goto out;
    }

    v = frond_yaml_get(n, "value");
    if (v && m->kind == USAGE_COUNT) {
        rc = frond_yaml_error(doc, v, L->err, L->errlen,
                              "value applies to aggregate only (a count's value is the count)");
        goto out;
    }
    if (m->kind == USAGE_AGGREGATE) {
        if (v) {
            rc = frond_yaml_string(doc, v, "value", &m->value, L->err, L->errlen);
            if (rc == 0 && !*m->value) {
                rc = frond_yaml_error(doc, v, L->err, L->errlen, "value must not be empty");
            }
            if (rc) {
                goto out;
            }
        } else {
            m->value = xstrdup("count");
            if (!m->value) {
                rc = -ENOMEM;
                goto out;
            }
        }
    }

    if ((v = frond_yaml_get(n, "const_labels")) != NULL) {
        rc = load_const_labels(L, v, m);
        if (rc) {
            goto out;
        }
    }
    if ((v = frond_yaml_get(n, "labels")) != NULL) {
        if (m->kind == USAGE_COUNT && !frond_yaml_is_null(v)) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen,
                                  "labels apply to aggregate only (a count has one value); use "
                                  "const_labels");
            goto out;
        }
        rc = load_labels(L, v, m);
        if (rc) {
            goto out;
        }
    }

    if ((v = frond_yaml_get(n, "interval")) != NULL) {
        rc = frond_yaml_duration(doc, v, "interval", &m->interval, L->err, L->errlen);
        if (rc == 0 && !(m->interval >= 0.1)) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen, "interval must be at least 100ms");
        }
        if (rc) {
            goto out;
        }
    }
    if ((v = frond_yaml_get(n, "timeout")) != NULL) {
        rc = frond_yaml_duration(doc, v, "timeout", &m->timeout, L->err, L->errlen);
        if (rc == 0 && !(m->timeout >= 0.01 && m->timeout <= 3600)) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen, "timeout must be 10ms..1h");
        }
        if (rc) {
            goto out;
        }
    }
    /* Keys that only mean something for a result set: an error on a count, not a silent no-op. */
    const char *agg_only[] = {"empty", "max_samples"};
    for (size_t i = 0; i < 2 && m->kind == USAGE_COUNT; i++) {
        if ((v = frond_yaml_get(n, agg_only[i])) != NULL) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen,
                                  "%s applies to aggregate only (a count always has a value)",
                                  agg_only[i]);
            goto out;
        }
    }
    if ((v = frond_yaml_get(n, "max_samples")) != NULL) {
        rc = frond_yaml_long(doc, v, "max_samples", &m->max_samples, L->err, L->errlen);
        if (rc == 0 && m->max_samples < 1) {
            rc = frond_yaml_error(doc, v, L->err, L->errlen, "max_samples must be >= 1");
        }
        if (rc) {
            goto out;
        }
    }
    if ((v = frond_yaml_get(n, "empty")) != NULL) {
        free(s);
        s = NULL;
        if (v->kind == FROND_YAML_SCALAR && v->value && !strcmp(v->value, "absent")) {
            m->empty_absent = true;
        } else {
            rc = frond_yaml_double(doc, v, "empty (absent or a number)", &m->empty_value, L->err,
                                   L->errlen);
            if (rc) {
                goto out;
            }
            m->empty_absent = false;
        }
    }
    rc = build_signature(cfg, m);
out:
    free(s);
    return rc;
}

static void metric_cleanup(struct usage_metric *m)
{
    free(m->name);
    free(m->help);
    free(m->database);
    free(m->collection);
    if (m->query) {
        bson_destroy(m->query);
    }
    free(m->value);
    for (size_t i = 0; i < m->nlabels; i++) {
        free(m->label_fields[i]);
        free(m->label_names[i]);
    }
    free(m->label_fields);
    free(m->label_names);
    for (size_t i = 0; i < m->nconst; i++) {
        free(m->const_names[i]);
        free(m->const_values[i]);
    }
    free(m->const_names);
    free(m->const_values);
    free(m->signature);
}

void usage_config_free(struct usage_config *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < cfg->nservers; i++) {
        free(cfg->servers[i].name);
        if (cfg->servers[i].uri) {
            /* The URI may hold a password: do not leave it in freed memory. */
            memset(cfg->servers[i].uri, 0, strlen(cfg->servers[i].uri));
        }
        free(cfg->servers[i].uri);
    }
    free(cfg->servers);
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        metric_cleanup(&cfg->metrics[i]);
    }
    free(cfg->metrics);
    free(cfg);
}

static int load_doc(const struct frond_yaml_doc *doc, struct usage_config **out, char *err,
                    size_t errlen)
{
    struct usage_config *cfg = calloc(1, sizeof(*cfg));
    struct loader L = {doc,
                       cfg,
                       {USAGE_DEFAULT_INTERVAL, USAGE_DEFAULT_TIMEOUT, USAGE_DEFAULT_MAX_SAMPLES},
                       err,
                       errlen};
    const struct frond_yaml_node *root = doc->root, *n;
    int rc = 0;

    if (!cfg) {
        return -ENOMEM;
    }
    if (!root) {
        snprintf(err, errlen, "%s: empty configuration (needs servers and metrics)", doc->name);
        rc = -EINVAL;
        goto out;
    }
    rc = frond_yaml_check_keys(doc, root, top_keys, "configuration", err, errlen);
    if (rc) {
        goto out;
    }
    if ((n = frond_yaml_get(root, "global")) != NULL && !frond_yaml_is_null(n)) {
        rc = load_defaults(&L, n);
        if (rc) {
            goto out;
        }
    }
    n = frond_yaml_get(root, "servers");
    if (!n || n->kind != FROND_YAML_MAP || n->n == 0) {
        rc = frond_yaml_error(doc, n ? n : root, err, errlen,
                              "servers must be a non-empty mapping name: {uri: ...}");
        goto out;
    }
    cfg->servers = calloc(n->n, sizeof(*cfg->servers));
    if (!cfg->servers) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n->n; i++) {
        cfg->nservers++;
        rc = load_server(&L, n->keys[i], n->items[i], &cfg->servers[i]);
        if (rc) {
            goto out;
        }
    }
    n = frond_yaml_get(root, "metrics");
    if (!n || n->kind != FROND_YAML_SEQ || n->n == 0) {
        rc = frond_yaml_error(doc, n ? n : root, err, errlen,
                              "metrics must be a non-empty list of queries");
        goto out;
    }
    cfg->metrics = calloc(n->n, sizeof(*cfg->metrics));
    if (!cfg->metrics) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n->n; i++) {
        cfg->nmetrics++;
        rc = load_metric(&L, n->items[i], &cfg->metrics[i]);
        if (rc) {
            goto out;
        }
    }
out:
    if (rc == -ENOMEM) {
        snprintf(err, errlen, "%s: out of memory", doc->name);
    }
    if (rc) {
        usage_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int usage_config_parse(const char *name, const char *text, size_t len, struct usage_config **out,
                       char *err, size_t errlen)
{
    struct frond_yaml_doc doc;
    memset(&doc, 0, sizeof(doc));
    int rc = frond_yaml_parse(name, text, len, &doc, err, errlen);
    if (rc == 0) {
        rc = load_doc(&doc, out, err, errlen);
    }
    frond_yaml_doc_cleanup(&doc);
    return rc;
}

int usage_config_load(const char *path, struct usage_config **out, char *err, size_t errlen)
{
    struct frond_yaml_doc doc;
    memset(&doc, 0, sizeof(doc));
    /* No ${} expansion of the whole file: "$" starts MongoDB operators and field paths. */
    int rc = frond_yaml_load_file(path, false, &doc, err, errlen);
    if (rc == 0) {
        rc = load_doc(&doc, out, err, errlen);
    }
    frond_yaml_doc_cleanup(&doc);
    return rc;
}
