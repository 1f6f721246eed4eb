/*
 * The promtail-compatible config loader. It walks the frond/yamlcfg.h tree
 * section by section; each section lists the keys it knows, so an unknown
 * key fails with its line. Keys promtail has but frondtail does not need
 * (gRPC, HTTP server timeouts) are accepted and logged as ignored, so a
 * promtail file loads unchanged; features frondtail does not implement
 * (pipeline stages other than cri/docker, service discovery, rate limits)
 * fail loudly, because ignoring them would ship the wrong logs.
 *
 * This file holds the reading primitives (shared through config_int.h),
 * the top level and its small sections, and kubernetes_metadata; clients
 * are read in config_client.c and scrape_configs in config_scrape.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "readfile.h"
#include "frond/log.h"
#include "frond/yamlcfg.h"

int cfg_check(struct ctx *x, const struct frond_yaml_node *map, const char *const *known,
              const char *where)
{
    return frond_yaml_check_keys(x->doc, map, known, where, x->err, x->errlen);
}

/* The value of `key`, or NULL when it is absent or null: both keep the default. */
static const struct frond_yaml_node *value_of(const struct frond_yaml_node *map, const char *key)
{
    const struct frond_yaml_node *n = frond_yaml_get(map, key);
    return n && !frond_yaml_is_null(n) ? n : NULL;
}

/* rc of a number read, turned into an error when the number read is negative. */
static int not_negative(struct ctx *x, const struct frond_yaml_node *n, const char *key, int rc,
                        bool negative)
{
    if (!rc && negative) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen, "%s must not be negative", key);
    }
    return rc;
}

int cfg_str(struct ctx *x, const struct frond_yaml_node *map, const char *key, char **out)
{
    const struct frond_yaml_node *n = value_of(map, key);
    if (!n) {
        return 0;
    }
    char *v = NULL;
    int rc = frond_yaml_string(x->doc, n, key, &v, x->err, x->errlen);
    if (rc) {
        return rc;
    }
    free(*out);
    *out = v;
    return 0;
}

static int dur(struct ctx *x, const struct frond_yaml_node *map, const char *key, double *out)
{
    const struct frond_yaml_node *n = value_of(map, key);
    if (!n) {
        return 0;
    }
    int rc = frond_yaml_duration(x->doc, n, key, out, x->err, x->errlen);
    return not_negative(x, n, key, rc, !rc && *out < 0);
}

typedef int (*long_reader)(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                           const char *what, long *out, char *err, size_t errlen);

/* A whole number (count or byte size, as `parse` reads it) that must not be negative. */
static int whole(struct ctx *x, const struct frond_yaml_node *map, const char *key, long *out,
                 long_reader parse)
{
    const struct frond_yaml_node *n = value_of(map, key);
    if (!n) {
        return 0;
    }
    int rc = parse(x->doc, n, key, out, x->err, x->errlen);
    return not_negative(x, n, key, rc, !rc && *out < 0);
}

static int bytes(struct ctx *x, const struct frond_yaml_node *map, const char *key, long *out)
{
    return whole(x, map, key, out, frond_yaml_bytes);
}

int cfg_num(struct ctx *x, const struct frond_yaml_node *map, const char *key, long *out)
{
    return whole(x, map, key, out, frond_yaml_long);
}

static int boolean(struct ctx *x, const struct frond_yaml_node *map, const char *key, bool *out)
{
    const struct frond_yaml_node *n = value_of(map, key);
    return n ? frond_yaml_bool(x->doc, n, key, out, x->err, x->errlen) : 0;
}

int cfg_read_fields(struct ctx *x, const struct frond_yaml_node *map, void *dst,
                    const struct field *f, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        void *p = (char *)dst + f[i].at;
        switch (f[i].kind) {
        case FIELD_STR:
            rc = cfg_str(x, map, f[i].key, p);
            break;
        case FIELD_DUR:
            rc = dur(x, map, f[i].key, p);
            break;
        case FIELD_BYTES:
            rc = bytes(x, map, f[i].key, p);
            break;
        case FIELD_NUM:
            rc = cfg_num(x, map, f[i].key, p);
            break;
        case FIELD_BOOL:
            rc = boolean(x, map, f[i].key, p);
            break;
        }
    }
    return rc;
}

/*
 * The sub-section `key` of `parent`, when present and not null: its keys
 * checked against `known` (errors name it `where`), then `fields` read.
 */
int cfg_read_section(struct ctx *x, const struct frond_yaml_node *parent, const char *key,
                     const char *const *known, const char *where, void *dst,
                     const struct field *fields, size_t n)
{
    const struct frond_yaml_node *m = value_of(parent, key);
    if (!m) {
        return 0;
    }
    int rc = cfg_check(x, m, known, where);
    return rc ? rc : cfg_read_fields(x, m, dst, fields, n);
}

/* The key node of `key`, so errors about a whole section point at its name. */
const struct frond_yaml_node *cfg_key_of(const struct frond_yaml_node *map, const char *key)
{
    for (size_t i = 0; map && map->kind == FROND_YAML_MAP && i < map->n; i++) {
        if (map->keys[i]->value && strcmp(map->keys[i]->value, key) == 0) {
            return map->keys[i];
        }
    }
    return map;
}

static bool valid_label_name(const char *s)
{
    if (!s || !*s) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (p != s && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

int cfg_string_map(struct ctx *x, const struct frond_yaml_node *n, const char *what,
                   bool label_names, struct labels_set *out)
{
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind != FROND_YAML_MAP) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen, "%s must be a mapping", what);
    }
    for (size_t i = 0; i < n->n; i++) {
        const struct frond_yaml_node *k = n->keys[i], *v = n->items[i];
        char *val = NULL;
        if (k->kind != FROND_YAML_SCALAR || !k->value) {
            return frond_yaml_error(x->doc, k, x->err, x->errlen, "%s: keys must be strings", what);
        }
        if (label_names && !valid_label_name(k->value)) {
            return frond_yaml_error(x->doc, k, x->err, x->errlen, "%s: invalid label name \"%s\"",
                                    what, k->value);
        }
        if (!frond_yaml_is_null(v)) {
            int rc = frond_yaml_string(x->doc, v, k->value, &val, x->err, x->errlen);
            if (rc) {
                return rc;
            }
        }
        int rc = labels_set(out, k->value, val ? val : "");
        free(val);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

void cfg_ignored(struct ctx *x, const struct frond_yaml_node *map, const char *key)
{
    const struct frond_yaml_node *n = frond_yaml_get(map, key);
    if (n) {
        char line[32];
        snprintf(line, sizeof(line), "%d", n->line);
        frond_info("config key accepted for promtail compatibility and ignored", "key", key, "file",
                   x->doc->name, "line", line);
    }
}

/*
 * `kubernetes_metadata:` (a frondtail extension, README-k8s.md): pod labels
 * from the Kubernetes API. Its runtime lives in k8s.c; only the keys are
 * checked here, so a typo fails at load like every other key.
 */
static int load_k8s(struct ctx *x, const struct frond_yaml_node *n, struct k8s_meta_config *k)
{
    static const char *const kk[] = {
        "enabled", "api_server",       "token_file",    "ca_file",        "node_name",
        "labels",  "controller_label", "resync_period", "backoff_config", NULL};
    static const struct field fields[] = {
        FIELD(struct k8s_meta_config, enabled, "enabled", FIELD_BOOL),
        FIELD(struct k8s_meta_config, api_server, "api_server", FIELD_STR),
        FIELD(struct k8s_meta_config, token_file, "token_file", FIELD_STR),
        FIELD(struct k8s_meta_config, ca_file, "ca_file", FIELD_STR),
        FIELD(struct k8s_meta_config, node_name, "node_name", FIELD_STR),
        FIELD(struct k8s_meta_config, controller_label, "controller_label", FIELD_BOOL),
        FIELD(struct k8s_meta_config, resync_period, "resync_period", FIELD_DUR),
    };
    int rc = cfg_check(x, n, kk, "kubernetes_metadata");
    if (!rc) {
        rc = cfg_read_fields(x, n, k, fields, FROND_ARRAY_SIZE(fields));
    }
    if (!rc && k->resync_period != 0 && k->resync_period < 1) {
        rc = frond_yaml_error(x->doc, frond_yaml_get(n, "resync_period"), x->err, x->errlen,
                              "resync_period must be at least 1s");
    }
    static const char *const bk[] = {"min_period", "max_period", NULL};
    static const struct field backoff[] = {
        FIELD(struct k8s_meta_config, backoff_min, "min_period", FIELD_DUR),
        FIELD(struct k8s_meta_config, backoff_max, "max_period", FIELD_DUR),
    };
    if (!rc) {
        rc = cfg_read_section(x, n, "backoff_config", bk, "kubernetes_metadata.backoff_config", k,
                              backoff, FROND_ARRAY_SIZE(backoff));
    }
    const struct frond_yaml_node *l = frond_yaml_get(n, "labels");
    if (!rc && l && !frond_yaml_is_null(l)) {
        if (l->kind != FROND_YAML_SEQ) {
            return frond_yaml_error(x->doc, l, x->err, x->errlen,
                                    "kubernetes_metadata.labels must be a list of pod label keys");
        }
        k->labels = calloc(l->n ? l->n : 1, sizeof(char *));
        rc = k->labels ? 0 : -ENOMEM;
        for (size_t i = 0; !rc && i < l->n; i++) {
            const struct frond_yaml_node *it = l->items[i];
            if (it->kind != FROND_YAML_SCALAR || !it->value || !it->value[0]) {
                return frond_yaml_error(x->doc, it, x->err, x->errlen,
                                        "kubernetes_metadata.labels: each entry must be a "
                                        "non-empty pod label key");
            }
            k->labels[i] = strdup(it->value);
            rc = k->labels[i] ? 0 : -ENOMEM;
            k->nlabels += rc ? 0 : 1;
        }
    }
    return rc;
}

static void k8s_cleanup(struct k8s_meta_config *k)
{
    free(k->api_server);
    free(k->token_file);
    free(k->ca_file);
    free(k->node_name);
    for (size_t i = 0; i < k->nlabels; i++) {
        free(k->labels[i]);
    }
    free(k->labels);
    memset(k, 0, sizeof(*k));
}

static int load_root(struct ctx *x, const struct frond_yaml_node *root, struct shipper_config *c)
{
    static const char *const known[] = {"server",
                                        "positions",
                                        "clients",
                                        "client",
                                        "scrape_configs",
                                        "limits_config",
                                        "target_config",
                                        "frondtail",
                                        "kubernetes_metadata",
                                        "tracing",
                                        NULL};
    int rc = cfg_check(x, root, known, "the top level");
    if (rc) {
        return rc;
    }
    /* promtail's Jaeger tracing (tracing: {enabled: ...}): frondtail has none to turn on. */
    cfg_ignored(x, root, "tracing");
    const struct frond_yaml_node *s = frond_yaml_get(root, "server");
    if (s && !frond_yaml_is_null(s)) {
        /* The keys frondtail reads, then promtail's that it accepts and ignores. */
        static const char *const sk[] = {"http_listen_address",
                                         "http_listen_port",
                                         "log_level",
                                         "log_format",
                                         "grpc_listen_address",
                                         "grpc_listen_port",
                                         "disable",
                                         "register_instrumentation",
                                         "http_server_read_timeout",
                                         "http_server_write_timeout",
                                         "http_server_idle_timeout",
                                         "graceful_shutdown_timeout",
                                         "health_check_target",
                                         "enable_runtime_reload",
                                         "grpc_server_max_recv_msg_size",
                                         "grpc_server_max_send_msg_size",
                                         "grpc_server_max_concurrent_streams",
                                         NULL};
        rc = cfg_check(x, s, sk, "server");
        if (!rc) {
            rc = cfg_str(x, s, "http_listen_address", &c->http_listen_address);
        }
        if (!rc) {
            rc = cfg_num(x, s, "http_listen_port", &c->http_listen_port);
        }
        if (!rc && c->http_listen_port > 65535) {
            rc = frond_yaml_error(x->doc, frond_yaml_get(s, "http_listen_port"), x->err, x->errlen,
                                  "http_listen_port must be at most 65535");
        }
        if (!rc) {
            rc = cfg_str(x, s, "log_level", &c->log_level);
        }
        if (!rc) {
            rc = cfg_str(x, s, "log_format", &c->log_format);
        }
        if (!rc) {
            for (const char *const *k = sk + 4; *k; k++) { /* past the four read above */
                cfg_ignored(x, s, *k);
            }
        }
        if (rc) {
            return rc;
        }
    }
    static const char *const pk[] = {"filename", "sync_period", "ignore_invalid_yaml", NULL};
    static const struct field positions[] = {
        FIELD(struct shipper_config, positions_file, "filename", FIELD_STR),
        FIELD(struct shipper_config, positions_sync_period, "sync_period", FIELD_DUR),
        FIELD(struct shipper_config, ignore_invalid_yaml, "ignore_invalid_yaml", FIELD_BOOL),
    };
    rc = cfg_read_section(x, root, "positions", pk, "positions", c, positions,
                          FROND_ARRAY_SIZE(positions));
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *cl = frond_yaml_get(root, "clients");
    const struct frond_yaml_node *one = frond_yaml_get(root, "client");
    if (cl && !frond_yaml_is_null(cl)) {
        if (cl->kind != FROND_YAML_SEQ) {
            return frond_yaml_error(x->doc, cl, x->err, x->errlen, "clients must be a list");
        }
        for (size_t i = 0; i < cl->n; i++) {
            struct ship_client_config *cc;
            rc = cfg_add_client(c, &cc);
            if (!rc) {
                rc = cfg_load_client(x, cl->items[i], cc);
            }
            if (!rc) {
                c->client_url_lines[c->nclients - 1] = cfg_url_line(cl->items[i]);
            }
            if (rc) {
                return rc;
            }
        }
    }
    if (one && !frond_yaml_is_null(one)) {
        struct ship_client_config *cc;
        rc = cfg_add_client(c, &cc);
        if (!rc) {
            rc = cfg_load_client(x, one, cc);
        }
        if (!rc) {
            c->client_url_lines[c->nclients - 1] = cfg_url_line(one);
        }
        if (rc) {
            return rc;
        }
    }
    const struct frond_yaml_node *sc = frond_yaml_get(root, "scrape_configs");
    if (sc && !frond_yaml_is_null(sc)) {
        if (sc->kind != FROND_YAML_SEQ) {
            return frond_yaml_error(x->doc, sc, x->err, x->errlen, "scrape_configs must be a list");
        }
        c->scrapes = calloc(sc->n ? sc->n : 1, sizeof(*c->scrapes));
        if (!c->scrapes) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < sc->n; i++) {
            c->nscrapes++;
            rc = cfg_load_scrape(x, sc->items[i], &c->scrapes[i]);
            if (rc) {
                return rc;
            }
        }
    }
    static const char *const lk[] = {"max_line_size", "max_line_size_truncate", NULL};
    static const struct field limits[] = {
        FIELD(struct shipper_config, max_line_size, "max_line_size", FIELD_BYTES),
        FIELD(struct shipper_config, max_line_size_truncate, "max_line_size_truncate", FIELD_BOOL),
    };
    rc = cfg_read_section(x, root, "limits_config", lk, "limits_config", c, limits,
                          FROND_ARRAY_SIZE(limits));
    if (rc) {
        return rc;
    }
    static const char *const tk[] = {"sync_period", NULL};
    static const struct field target[] = {
        FIELD(struct shipper_config, target_sync_period, "sync_period", FIELD_DUR),
    };
    rc = cfg_read_section(x, root, "target_config", tk, "target_config", c, target,
                          FROND_ARRAY_SIZE(target));
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *f = frond_yaml_get(root, "frondtail");
    if (f && !frond_yaml_is_null(f)) {
        static const char *const fk[] = {"pod_uid_label", "start_position", NULL};
        char *sp = NULL;
        rc = cfg_check(x, f, fk, "frondtail");
        if (!rc) {
            rc = boolean(x, f, "pod_uid_label", &c->pod_uid_label);
        }
        if (!rc) {
            rc = cfg_str(x, f, "start_position", &sp);
        }
        if (!rc && sp) {
            if (strcmp(sp, "end") == 0) {
                c->start_at_end = true;
            } else if (strcmp(sp, "beginning") != 0) {
                rc = frond_yaml_error(x->doc, frond_yaml_get(f, "start_position"), x->err,
                                      x->errlen, "start_position must be beginning or end");
            }
        }
        free(sp);
        if (rc) {
            return rc;
        }
    }
    const struct frond_yaml_node *km = frond_yaml_get(root, "kubernetes_metadata");
    if (km && !frond_yaml_is_null(km)) {
        rc = load_k8s(x, km, &c->kubernetes_metadata);
        if (rc) {
            return rc;
        }
    }
    if (c->positions_sync_period <= 0 || c->target_sync_period <= 0) {
        return frond_yaml_error(x->doc, root, x->err, x->errlen,
                                "sync_period must be greater than zero");
    }
    return 0;
}

static int base_defaults(struct shipper_config *c)
{
    memset(c, 0, sizeof(*c));
    c->http_listen_port = 9080;
    c->positions_sync_period = 10;
    c->target_sync_period = 10;
    c->http_listen_address = strdup("");
    c->positions_file = strdup(CONFIG_DEFAULT_POSITIONS);
    return c->http_listen_address && c->positions_file ? 0 : -ENOMEM;
}

static int default_client(struct shipper_config *c)
{
    const char *url = getenv("LOKI_URL");
    struct ship_client_config *cc;
    int rc = cfg_add_client(c, &cc);
    if (!rc) {
        cc->url = strdup(url && *url ? url : CONFIG_DEFAULT_URL);
        rc = cc->url ? 0 : -ENOMEM;
    }
    return rc;
}

int config_defaults(struct shipper_config *c)
{
    int rc = base_defaults(c);
    if (!rc) {
        rc = default_client(c);
    }
    if (!rc) {
        c->scrapes = calloc(1, sizeof(*c->scrapes));
        rc = c->scrapes ? 0 : -ENOMEM;
    }
    if (!rc) {
        struct scrape_config *s = &c->scrapes[0];
        c->nscrapes = 1;
        s->format = PARSE_CRI;
        s->max_partial_lines = 100;
        s->job_name = strdup("kubernetes-pods");
        s->targets = calloc(1, sizeof(*s->targets));
        rc = s->job_name && s->targets ? 0 : -ENOMEM;
        if (!rc) {
            s->ntargets = 1;
            labels_init(&s->targets[0].labels);
            s->targets[0].path = strdup(CONFIG_DEFAULT_PODS_GLOB);
            rc = s->targets[0].path ? 0 : -ENOMEM;
        }
    }
    if (rc) {
        config_cleanup(c);
    }
    return rc;
}

int config_parse(struct shipper_config *c, const char *name, const char *text, size_t len,
                 bool expand_env, char *err, size_t errlen)
{
    struct frond_yaml_doc doc;
    struct frond_buf exp;
    frond_buf_init(&exp, 64u * 1024 * 1024);
    memset(&doc, 0, sizeof(doc));
    int rc = base_defaults(c);
    if (!rc && expand_env) {
        rc = frond_expand_env(text, len, &exp);
        if (!rc) {
            text = frond_buf_cstr(&exp);
            len = exp.len;
        }
    }
    if (rc) {
        snprintf(err, errlen, "%s: %s", name, strerror(-rc));
        goto out;
    }
    rc = frond_yaml_parse(name, text, len, &doc, err, errlen);
    if (rc) {
        goto out;
    }
    c->file_name = strdup(name);
    if (!c->file_name) {
        rc = -ENOMEM;
        goto out;
    }
    if (doc.root) {
        struct ctx x = {&doc, err, errlen};
        rc = load_root(&x, doc.root, c);
        if (rc) {
            goto out;
        }
    }
    if (c->nclients == 0) {
        rc = default_client(c);
    }
out:
    frond_yaml_doc_cleanup(&doc);
    frond_buf_cleanup(&exp);
    if (rc) {
        if (rc != -EINVAL && err[0] == '\0') {
            snprintf(err, errlen, "%s: %s", name, strerror(-rc));
        }
        config_cleanup(c);
    }
    return rc;
}

int config_load(struct shipper_config *c, const char *path, bool expand_env, char *err,
                size_t errlen)
{
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    int rc = ship_read_file(path, 16u * 1024 * 1024, &text, &len);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    rc = config_parse(c, path, text ? text : "", len, expand_env, err, errlen);
    free(text);
    return rc;
}

void config_cleanup(struct shipper_config *c)
{
    free(c->http_listen_address);
    free(c->log_level);
    free(c->log_format);
    free(c->positions_file);
    for (size_t i = 0; i < c->nclients; i++) {
        config_client_cleanup(&c->clients[i]);
    }
    free(c->clients);
    free(c->client_url_lines);
    free(c->file_name);
    for (size_t i = 0; i < c->nscrapes; i++) {
        cfg_scrape_cleanup(&c->scrapes[i]);
    }
    free(c->scrapes);
    k8s_cleanup(&c->kubernetes_metadata);
    memset(c, 0, sizeof(*c));
}
