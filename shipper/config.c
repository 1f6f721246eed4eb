/*
 * The promtail-compatible config loader. It walks the frond/yamlcfg.h tree
 * section by section; each section lists the keys it knows, so an unknown
 * key fails with its line. Keys promtail has but frondtail does not need
 * (gRPC, HTTP server timeouts) are accepted and logged as ignored, so a
 * promtail file loads unchanged; features frondtail does not implement
 * (pipeline stages other than cri/docker, service discovery, rate limits)
 * fail loudly, because ignoring them would ship the wrong logs.
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
#include "readfile.h"
#include "frond/log.h"
#include "frond/yamlcfg.h"

#define DEFAULT_BACKLOG (64L * 1024 * 1024)
#define SECRET_FILE_MAX (64 * 1024)

struct ctx {
    const struct frond_yaml_doc *doc;
    char *err;
    size_t errlen;
};

static int check(struct ctx *x, const struct frond_yaml_node *map, const char *const *known,
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

static int str(struct ctx *x, const struct frond_yaml_node *map, const char *key, char **out)
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

static int num(struct ctx *x, const struct frond_yaml_node *map, const char *key, long *out)
{
    return whole(x, map, key, out, frond_yaml_long);
}

static int boolean(struct ctx *x, const struct frond_yaml_node *map, const char *key, bool *out)
{
    const struct frond_yaml_node *n = value_of(map, key);
    return n ? frond_yaml_bool(x->doc, n, key, out, x->err, x->errlen) : 0;
}

/*
 * A key read into a member of the struct its section fills, so that a
 * section of plain keys is a table rather than a run of reads. The reads
 * run in table order and stop at the first error.
 */
enum field_kind { FIELD_STR, FIELD_DUR, FIELD_BYTES, FIELD_NUM, FIELD_BOOL };

struct field {
    const char *key;
    enum field_kind kind;
    size_t at; /* offsetof the member: char *, double, long, long, bool by kind */
};

/*
 * FIELD() refuses to compile when the member's type is not the one its kind
 * writes: the table reaches the member through an offset, so a mismatch
 * would otherwise corrupt memory silently.
 */
#define FIELD_TYPE_FIELD_STR char *
#define FIELD_TYPE_FIELD_DUR double
#define FIELD_TYPE_FIELD_BYTES long
#define FIELD_TYPE_FIELD_NUM long
#define FIELD_TYPE_FIELD_BOOL bool
#define FIELD(type, member, key, kind)                                                             \
    {                                                                                              \
        key, kind,                                                                                 \
            offsetof(type, member) +                                                               \
                0 * sizeof(char[_Generic(((type *)0)->member, FIELD_TYPE_##kind : 1, default       \
                                         : -1)])                                                   \
    }

static int read_fields(struct ctx *x, const struct frond_yaml_node *map, void *dst,
                       const struct field *f, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        void *p = (char *)dst + f[i].at;
        switch (f[i].kind) {
        case FIELD_STR:
            rc = str(x, map, f[i].key, p);
            break;
        case FIELD_DUR:
            rc = dur(x, map, f[i].key, p);
            break;
        case FIELD_BYTES:
            rc = bytes(x, map, f[i].key, p);
            break;
        case FIELD_NUM:
            rc = num(x, map, f[i].key, p);
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
static int read_section(struct ctx *x, const struct frond_yaml_node *parent, const char *key,
                        const char *const *known, const char *where, void *dst,
                        const struct field *fields, size_t n)
{
    const struct frond_yaml_node *m = value_of(parent, key);
    if (!m) {
        return 0;
    }
    int rc = check(x, m, known, where);
    return rc ? rc : read_fields(x, m, dst, fields, n);
}

/* The key node of `key`, so errors about a whole section point at its name. */
static const struct frond_yaml_node *key_of(const struct frond_yaml_node *map, const char *key)
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

/* A secret from a file: whole content, trailing newlines cut (Kubernetes mounts). */
static int read_secret(struct ctx *x, const struct frond_yaml_node *at, const char *path,
                       char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return frond_yaml_error(x->doc, at, x->err, x->errlen, "cannot read %s: %s", path,
                                strerror(errno));
    }
    /* A FIFO or device would block or never end; secrets are files. */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return frond_yaml_error(x->doc, at, x->err, x->errlen, "%s is not a regular file", path);
    }
    char *buf = malloc(SECRET_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, SECRET_FILE_MAX - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (len == SECRET_FILE_MAX) {
            break;
        }
    }
    close(fd);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    buf[len] = '\0';
    free(*out);
    *out = buf;
    return 0;
}

/*
 * A value that goes into an HTTP header line (tenant, bearer token, extra
 * headers) must not hold CR or LF: curl would send a broken request, and
 * Loki would answer 400 or 401 on every try.
 */
static int no_crlf(struct ctx *x, const struct frond_yaml_node *at, const char *what,
                   const char *value)
{
    if (value && strpbrk(value, "\r\n")) {
        return frond_yaml_error(x->doc, at, x->err, x->errlen,
                                "%s must not contain a line break (CR or LF)", what);
    }
    return 0;
}

static int string_map(struct ctx *x, const struct frond_yaml_node *n, const char *what,
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

static void ignored(struct ctx *x, const struct frond_yaml_node *map, const char *key)
{
    const struct frond_yaml_node *n = frond_yaml_get(map, key);
    if (n) {
        char line[32];
        snprintf(line, sizeof(line), "%d", n->line);
        frond_info("config key accepted for promtail compatibility and ignored", "key", key, "file",
                   x->doc->name, "line", line);
    }
}

static int client_defaults(struct ship_client_config *cc, const char *url)
{
    memset(cc, 0, sizeof(*cc));
    cc->batchwait = 1;
    cc->batchsize = 1024 * 1024;
    cc->timeout = 10;
    cc->backoff_min = 0.5;
    cc->backoff_max = 300;
    cc->max_retries = 0;
    cc->max_backlog_bytes = DEFAULT_BACKLOG;
    if (url) {
        cc->url = strdup(url);
        if (!cc->url) {
            return -ENOMEM;
        }
    }
    return 0;
}

void config_client_cleanup(struct ship_client_config *cc)
{
    free(cc->url);
    free(cc->tenant_id);
    free(cc->basic_auth_user);
    free(cc->basic_auth_password);
    free(cc->bearer_token);
    free(cc->bearer_token_file);
    free(cc->basic_auth_password_file);
    free(cc->tls_ca_file);
    free(cc->tls_cert_file);
    free(cc->tls_key_file);
    free(cc->tls_server_name);
    for (size_t i = 0; i < cc->nheaders; i++) {
        free(cc->headers[i].name);
        free(cc->headers[i].value);
    }
    free(cc->headers);
    for (size_t i = 0; i < cc->nexternal_labels; i++) {
        free(cc->external_label_names[i]);
        free(cc->external_label_values[i]);
    }
    free(cc->external_label_names);
    free(cc->external_label_values);
    memset(cc, 0, sizeof(*cc));
}

static int load_client(struct ctx *x, const struct frond_yaml_node *n,
                       struct ship_client_config *cc)
{
    static const char *const known[] = {"url",
                                        "tenant_id",
                                        "batchwait",
                                        "batchsize",
                                        "timeout",
                                        "backoff_config",
                                        "external_labels",
                                        "basic_auth",
                                        "bearer_token",
                                        "bearer_token_file",
                                        "tls_config",
                                        "headers",
                                        "max_backlog_bytes",
                                        "name",
                                        "drop_rate_limited_batches",
                                        NULL};
    int rc = check(x, n, known, "clients");
    if (!rc) {
        rc = str(x, n, "url", &cc->url);
    }
    if (!rc && !cc->url) {
        rc = frond_yaml_error(x->doc, n, x->err, x->errlen, "client: url is required");
    }
    if (!rc) {
        rc = str(x, n, "tenant_id", &cc->tenant_id);
    }
    if (!rc) {
        rc = no_crlf(x, frond_yaml_get(n, "tenant_id"), "tenant_id", cc->tenant_id);
    }
    static const struct field batching[] = {
        FIELD(struct ship_client_config, batchwait, "batchwait", FIELD_DUR),
        FIELD(struct ship_client_config, batchsize, "batchsize", FIELD_BYTES),
        FIELD(struct ship_client_config, timeout, "timeout", FIELD_DUR),
        FIELD(struct ship_client_config, max_backlog_bytes, "max_backlog_bytes", FIELD_BYTES),
    };
    if (!rc) {
        rc = read_fields(x, n, cc, batching, FROND_ARRAY_SIZE(batching));
    }
    if (!rc && cc->max_backlog_bytes < 64 * 1024) {
        rc = frond_yaml_error(x->doc, frond_yaml_get(n, "max_backlog_bytes"), x->err, x->errlen,
                              "max_backlog_bytes must be at least 64KiB");
    }
    if (!rc) {
        ignored(x, n, "name");
        ignored(x, n, "drop_rate_limited_batches");
    }
    static const char *const bk[] = {"min_period", "max_period", "max_retries", NULL};
    static const struct field backoff[] = {
        FIELD(struct ship_client_config, backoff_min, "min_period", FIELD_DUR),
        FIELD(struct ship_client_config, backoff_max, "max_period", FIELD_DUR),
        FIELD(struct ship_client_config, max_retries, "max_retries", FIELD_NUM),
    };
    if (!rc) {
        rc = read_section(x, n, "backoff_config", bk, "backoff_config", cc, backoff,
                          FROND_ARRAY_SIZE(backoff));
    }
    const struct frond_yaml_node *a = frond_yaml_get(n, "basic_auth");
    if (!rc && a && !frond_yaml_is_null(a)) {
        static const char *const ak[] = {"username", "password", "password_file", NULL};
        char *pwfile = NULL;
        rc = check(x, a, ak, "basic_auth");
        if (!rc) {
            rc = str(x, a, "username", &cc->basic_auth_user);
        }
        if (!rc) {
            rc = str(x, a, "password", &cc->basic_auth_password);
        }
        if (!rc) {
            rc = str(x, a, "password_file", &pwfile);
        }
        if (!rc && pwfile) {
            rc = read_secret(x, frond_yaml_get(a, "password_file"), pwfile,
                             &cc->basic_auth_password);
        }
        if (!rc && pwfile) {
            free(cc->basic_auth_password_file);
            cc->basic_auth_password_file = pwfile;
            pwfile = NULL;
        }
        free(pwfile);
    }
    if (!rc) {
        rc = str(x, n, "bearer_token", &cc->bearer_token);
    }
    char *tokfile = NULL;
    if (!rc) {
        rc = str(x, n, "bearer_token_file", &tokfile);
    }
    if (!rc && tokfile) {
        rc = read_secret(x, frond_yaml_get(n, "bearer_token_file"), tokfile, &cc->bearer_token);
        if (!rc) {
            rc = no_crlf(x, frond_yaml_get(n, "bearer_token_file"), "the bearer_token_file's token",
                         cc->bearer_token);
        }
    } else if (!rc) {
        rc = no_crlf(x, frond_yaml_get(n, "bearer_token"), "bearer_token", cc->bearer_token);
    }
    if (!rc && tokfile) {
        free(cc->bearer_token_file);
        cc->bearer_token_file = tokfile;
        tokfile = NULL;
    }
    free(tokfile);
    static const char *const tk[] = {
        "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", NULL};
    static const struct field tls[] = {
        FIELD(struct ship_client_config, tls_ca_file, "ca_file", FIELD_STR),
        FIELD(struct ship_client_config, tls_cert_file, "cert_file", FIELD_STR),
        FIELD(struct ship_client_config, tls_key_file, "key_file", FIELD_STR),
        FIELD(struct ship_client_config, tls_server_name, "server_name", FIELD_STR),
        FIELD(struct ship_client_config, tls_insecure_skip_verify, "insecure_skip_verify",
              FIELD_BOOL),
    };
    if (!rc) {
        rc = read_section(x, n, "tls_config", tk, "tls_config", cc, tls, FROND_ARRAY_SIZE(tls));
    }
    struct labels_set tmp;
    labels_init(&tmp);
    const struct frond_yaml_node *h = frond_yaml_get(n, "headers");
    if (!rc && h) {
        rc = string_map(x, h, "headers", false, &tmp);
        for (size_t i = 0; !rc && h->kind == FROND_YAML_MAP && i < h->n; i++) {
            rc = no_crlf(x, h->keys[i], "a header name", h->keys[i]->value);
            if (!rc && h->items[i]->kind == FROND_YAML_SCALAR) {
                rc = no_crlf(x, h->items[i], "a header value", h->items[i]->value);
            }
        }
        if (!rc && tmp.n) {
            cc->headers = calloc(tmp.n, sizeof(*cc->headers));
            if (!cc->headers) {
                rc = -ENOMEM;
            }
            for (size_t i = 0; !rc && i < tmp.n; i++) {
                cc->headers[i].name = tmp.l[i].name;
                cc->headers[i].value = tmp.l[i].value;
                tmp.l[i].name = tmp.l[i].value = NULL;
                cc->nheaders++;
            }
            tmp.n = 0;
        }
    }
    labels_cleanup(&tmp);
    const struct frond_yaml_node *el = frond_yaml_get(n, "external_labels");
    if (!rc && el) {
        rc = string_map(x, el, "external_labels", true, &tmp);
        if (!rc && tmp.n) {
            cc->external_label_names = calloc(tmp.n, sizeof(char *));
            cc->external_label_values = calloc(tmp.n, sizeof(char *));
            if (!cc->external_label_names || !cc->external_label_values) {
                rc = -ENOMEM;
            }
            for (size_t i = 0; !rc && i < tmp.n; i++) {
                cc->external_label_names[i] = tmp.l[i].name;
                cc->external_label_values[i] = tmp.l[i].value;
                tmp.l[i].name = tmp.l[i].value = NULL;
                cc->nexternal_labels++;
            }
            tmp.n = 0;
        }
    }
    labels_cleanup(&tmp);
    return rc;
}

static int url_line(const struct frond_yaml_node *client)
{
    const struct frond_yaml_node *u = frond_yaml_get(client, "url");
    return u ? u->line : client->line;
}

static int add_client(struct shipper_config *c, struct ship_client_config **out)
{
    struct ship_client_config *nc = realloc(c->clients, (c->nclients + 1) * sizeof(*nc));
    if (!nc) {
        return -ENOMEM;
    }
    c->clients = nc;
    int *lines = realloc(c->client_url_lines, (c->nclients + 1) * sizeof(*lines));
    if (!lines) {
        return -ENOMEM;
    }
    c->client_url_lines = lines;
    lines[c->nclients] = 0;
    *out = &nc[c->nclients];
    int rc = client_defaults(*out, NULL);
    if (!rc) {
        c->nclients++;
    }
    return rc;
}

static void target_cleanup(struct tail_target *t)
{
    free(t->path);
    free(t->path_exclude);
    labels_cleanup(&t->labels);
}

static void scrape_cleanup(struct scrape_config *s)
{
    for (size_t i = 0; i < s->nrelabel; i++) {
        relabel_rule_cleanup(&s->relabel[i]);
    }
    free(s->relabel);
    if (s->journal) {
        free(s->journal->path);
        free(s->journal->matches);
        labels_cleanup(&s->journal->labels);
        free(s->journal);
    }
    free(s->job_name);
    for (size_t i = 0; i < s->ntargets; i++) {
        target_cleanup(&s->targets[i]);
    }
    free(s->targets);
    memset(s, 0, sizeof(*s));
}

static int load_stages(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind != FROND_YAML_SEQ) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen, "pipeline_stages must be a list");
    }
    bool have = false;
    for (size_t i = 0; i < n->n; i++) {
        const struct frond_yaml_node *st = n->items[i];
        if (st->kind != FROND_YAML_MAP || st->n != 1 || !st->keys[0]->value) {
            return frond_yaml_error(x->doc, st, x->err, x->errlen,
                                    "each pipeline stage must be a mapping with one key");
        }
        const char *name = st->keys[0]->value;
        const struct frond_yaml_node *body = st->items[0];
        enum parse_format f;
        if (strcmp(name, "cri") == 0) {
            f = PARSE_CRI;
        } else if (strcmp(name, "docker") == 0) {
            f = PARSE_DOCKER;
        } else {
            return frond_yaml_error(x->doc, st->keys[0], x->err, x->errlen,
                                    "pipeline stage \"%s\" is not supported by frondtail "
                                    "(supported: cri, docker)",
                                    name);
        }
        if (have) {
            return frond_yaml_error(x->doc, st->keys[0], x->err, x->errlen,
                                    "only one of cri/docker may be given per scrape config");
        }
        have = true;
        s->format = f;
        if (!frond_yaml_is_null(body)) {
            static const char *const ck[] = {"max_partial_lines", "max_partial_line_size",
                                             "max_partial_line_size_truncate", NULL};
            static const char *const dk[] = {NULL};
            int rc = check(x, body, f == PARSE_CRI ? ck : dk, name);
            if (!rc && f == PARSE_CRI) {
                rc = num(x, body, "max_partial_lines", &s->max_partial_lines);
                if (!rc) {
                    ignored(x, body, "max_partial_line_size");
                    ignored(x, body, "max_partial_line_size_truncate");
                }
            }
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

static int load_target(struct ctx *x, const struct frond_yaml_node *n, struct tail_target *t)
{
    static const char *const known[] = {"targets", "labels", NULL};
    int rc = check(x, n, known, "static_configs");
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *tg = frond_yaml_get(n, "targets");
    if (tg && !frond_yaml_is_null(tg)) {
        /* promtail requires `targets` but ignores its content; check the type only. */
        if (tg->kind != FROND_YAML_SEQ) {
            return frond_yaml_error(x->doc, tg, x->err, x->errlen, "targets must be a list");
        }
        for (size_t i = 0; i < tg->n; i++) {
            if (tg->items[i]->kind != FROND_YAML_SCALAR) {
                return frond_yaml_error(x->doc, tg->items[i], x->err, x->errlen,
                                        "targets must be a list of strings");
            }
        }
    }
    const struct frond_yaml_node *l = frond_yaml_get(n, "labels");
    rc = string_map(x, l, "labels", true, &t->labels);
    if (rc) {
        return rc;
    }
    const char *p = labels_get(&t->labels, "__path__");
    if (!p || !*p) {
        return frond_yaml_error(x->doc, l ? l : n, x->err, x->errlen,
                                "static_configs: labels.__path__ is required");
    }
    if (p[0] != '/') {
        return frond_yaml_error(x->doc, l, x->err, x->errlen,
                                "__path__ must be an absolute path glob: %s", p);
    }
    t->path = strdup(p);
    const char *ex = labels_get(&t->labels, "__path_exclude__");
    if (ex && *ex) {
        t->path_exclude = strdup(ex);
        if (!t->path_exclude) {
            return -ENOMEM;
        }
    }
    return t->path ? 0 : -ENOMEM;
}

static int load_relabel(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    if (n->kind != FROND_YAML_SEQ) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen, "relabel_configs must be a list");
    }
    s->relabel = calloc(n->n ? n->n : 1, sizeof(*s->relabel));
    if (!s->relabel) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n->n; i++) {
        static const char *const known[] = {"source_labels", "separator", "target_label", "regex",
                                            "replacement",   "action",    "modulus",      NULL};
        const struct frond_yaml_node *r = n->items[i];
        struct relabel_rule *rule = &s->relabel[i];
        s->nrelabel++;
        char *action = NULL, *regex = NULL;
        int rc = check(x, r, known, "relabel_configs");
        if (!rc) {
            rc = str(x, r, "separator", &rule->separator);
        }
        if (!rc) {
            rc = str(x, r, "target_label", &rule->target);
        }
        if (!rc) {
            rc = str(x, r, "replacement", &rule->replacement);
        }
        if (!rc) {
            rc = str(x, r, "action", &action);
        }
        if (!rc) {
            rc = str(x, r, "regex", &regex);
        }
        /*
         * promtail's yaml.v2 turns a key given with no value into "" (not
         * the default): an empty separator or replacement, a regex that
         * matches only "", and no action at all.
         */
        static const char *const nullable[] = {"separator", "replacement", "regex", "action"};
        char **slot[] = {&rule->separator, &rule->replacement, &regex, &action};
        for (size_t k = 0; !rc && k < FROND_ARRAY_SIZE(nullable); k++) {
            const struct frond_yaml_node *v = frond_yaml_get(r, nullable[k]);
            if (v && frond_yaml_is_null(v) && !*slot[k]) {
                *slot[k] = strdup("");
                rc = *slot[k] ? 0 : -ENOMEM;
            }
        }
        long modulus = 0;
        if (!rc) {
            rc = num(x, r, "modulus", &modulus);
            rule->modulus = (uint64_t)modulus;
        }
        if (!rc && action) {
            int k = relabel_action_parse(action);
            if (k < 0) {
                rc = frond_yaml_error(x->doc, frond_yaml_get(r, "action"), x->err, x->errlen,
                                      *action ? "unknown relabel action \"%s\""
                                              : "relabel action cannot be empty%s",
                                      action);
            }
            rule->action = (enum relabel_action)k;
        }
        const struct frond_yaml_node *sl = frond_yaml_get(r, "source_labels");
        rule->source_set = sl && !frond_yaml_is_null(sl);
        if (!rc && rule->source_set) {
            if (sl->kind != FROND_YAML_SEQ) {
                rc =
                    frond_yaml_error(x->doc, sl, x->err, x->errlen, "source_labels must be a list");
            } else {
                rule->source = calloc(sl->n ? sl->n : 1, sizeof(char *));
                rc = rule->source ? 0 : -ENOMEM;
                for (size_t k = 0; !rc && k < sl->n; k++) {
                    rc = frond_yaml_string(x->doc, sl->items[k], "source_labels", &rule->source[k],
                                           x->err, x->errlen);
                    if (!rc) {
                        rule->nsource++;
                    }
                }
            }
        }
        if (!rc) {
            char msg[160];
            rc = relabel_compile(rule, regex, msg, sizeof(msg));
            if (rc == -EINVAL) {
                const struct frond_yaml_node *at = frond_yaml_get(r, "regex");
                rc = frond_yaml_error(x->doc, at ? at : r, x->err, x->errlen,
                                      "invalid regex (RE2 syntax): %s", msg);
            }
        }
        if (!rc) {
            /* Prometheus' Config.Validate, pointed at the key at fault. */
            char msg[256];
            const char *field = NULL;
            rc = relabel_validate(rule, &field, msg, sizeof(msg));
            if (rc == -EINVAL) {
                const struct frond_yaml_node *at = field ? frond_yaml_get(r, field) : NULL;
                rc = frond_yaml_error(x->doc, at ? at : r, x->err, x->errlen, "%s", msg);
            }
        }
        free(action);
        free(regex);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int load_journal(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    static const char *const known[] = {"json", "max_age", "path", "matches", "labels", NULL};
    s->journal = calloc(1, sizeof(*s->journal));
    if (!s->journal) {
        return -ENOMEM;
    }
    struct journal_config *j = s->journal;
    labels_init(&j->labels);
    j->max_age = 7 * 3600;
    if (frond_yaml_is_null(n)) {
        return 0;
    }
    static const struct field fields[] = {
        FIELD(struct journal_config, json, "json", FIELD_BOOL),
        FIELD(struct journal_config, max_age, "max_age", FIELD_DUR),
        FIELD(struct journal_config, path, "path", FIELD_STR),
        FIELD(struct journal_config, matches, "matches", FIELD_STR),
    };
    int rc = check(x, n, known, "journal");
    if (!rc) {
        rc = read_fields(x, n, j, fields, FROND_ARRAY_SIZE(fields));
    }
    if (!rc) {
        rc = string_map(x, frond_yaml_get(n, "labels"), "labels", true, &j->labels);
    }
    return rc;
}

static int load_scrape(struct ctx *x, const struct frond_yaml_node *n, struct scrape_config *s)
{
    static const char *const known[] = {"job_name", "static_configs",  "pipeline_stages",
                                        "journal",  "relabel_configs", "kubernetes_sd_configs",
                                        NULL};
    int rc = check(x, n, known, "scrape_configs");
    if (rc) {
        return rc;
    }
    s->max_partial_lines = 100;
    rc = str(x, n, "job_name", &s->job_name);
    if (rc) {
        return rc;
    }
    rc = load_relabel(x, frond_yaml_get(n, "relabel_configs"), s);
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *j = frond_yaml_get(n, "journal");
    const struct frond_yaml_node *k = frond_yaml_get(n, "kubernetes_sd_configs");
    if (k) {
        return frond_yaml_error(x->doc, key_of(n, "kubernetes_sd_configs"), x->err, x->errlen,
                                "kubernetes_sd_configs is not supported: frondtail reads pod "
                                "labels from kubelet log paths (static_configs with __path__)");
    }
    rc = load_stages(x, frond_yaml_get(n, "pipeline_stages"), s);
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *sc = frond_yaml_get(n, "static_configs");
    if (j) {
        if (sc) {
            return frond_yaml_error(x->doc, key_of(n, "static_configs"), x->err, x->errlen,
                                    "a scrape config has either journal or static_configs");
        }
        if (s->format != PARSE_RAW) {
            return frond_yaml_error(x->doc, key_of(n, "pipeline_stages"), x->err, x->errlen,
                                    "cri/docker stages do not apply to journal entries");
        }
        return load_journal(x, j, s);
    }
    if (!sc || frond_yaml_is_null(sc)) {
        return frond_yaml_error(x->doc, n, x->err, x->errlen,
                                "scrape config needs static_configs with a __path__ label");
    }
    if (sc->kind != FROND_YAML_SEQ) {
        return frond_yaml_error(x->doc, sc, x->err, x->errlen, "static_configs must be a list");
    }
    s->targets = calloc(sc->n ? sc->n : 1, sizeof(*s->targets));
    if (!s->targets) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < sc->n; i++) {
        labels_init(&s->targets[i].labels);
        s->ntargets++;
        rc = load_target(x, sc->items[i], &s->targets[i]);
        if (rc) {
            return rc;
        }
    }
    return 0;
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
    int rc = check(x, n, kk, "kubernetes_metadata");
    if (!rc) {
        rc = read_fields(x, n, k, fields, FROND_ARRAY_SIZE(fields));
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
        rc = read_section(x, n, "backoff_config", bk, "kubernetes_metadata.backoff_config", k,
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
    int rc = check(x, root, known, "the top level");
    if (rc) {
        return rc;
    }
    /* promtail's Jaeger tracing (tracing: {enabled: ...}): frondtail has none to turn on. */
    ignored(x, root, "tracing");
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
        rc = check(x, s, sk, "server");
        if (!rc) {
            rc = str(x, s, "http_listen_address", &c->http_listen_address);
        }
        if (!rc) {
            rc = num(x, s, "http_listen_port", &c->http_listen_port);
        }
        if (!rc && c->http_listen_port > 65535) {
            rc = frond_yaml_error(x->doc, frond_yaml_get(s, "http_listen_port"), x->err, x->errlen,
                                  "http_listen_port must be at most 65535");
        }
        if (!rc) {
            rc = str(x, s, "log_level", &c->log_level);
        }
        if (!rc) {
            rc = str(x, s, "log_format", &c->log_format);
        }
        if (!rc) {
            for (const char *const *k = sk + 4; *k; k++) { /* past the four read above */
                ignored(x, s, *k);
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
    rc = read_section(x, root, "positions", pk, "positions", c, positions,
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
            rc = add_client(c, &cc);
            if (!rc) {
                rc = load_client(x, cl->items[i], cc);
            }
            if (!rc) {
                c->client_url_lines[c->nclients - 1] = url_line(cl->items[i]);
            }
            if (rc) {
                return rc;
            }
        }
    }
    if (one && !frond_yaml_is_null(one)) {
        struct ship_client_config *cc;
        rc = add_client(c, &cc);
        if (!rc) {
            rc = load_client(x, one, cc);
        }
        if (!rc) {
            c->client_url_lines[c->nclients - 1] = url_line(one);
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
            rc = load_scrape(x, sc->items[i], &c->scrapes[i]);
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
    rc = read_section(x, root, "limits_config", lk, "limits_config", c, limits,
                      FROND_ARRAY_SIZE(limits));
    if (rc) {
        return rc;
    }
    static const char *const tk[] = {"sync_period", NULL};
    static const struct field target[] = {
        FIELD(struct shipper_config, target_sync_period, "sync_period", FIELD_DUR),
    };
    rc = read_section(x, root, "target_config", tk, "target_config", c, target,
                      FROND_ARRAY_SIZE(target));
    if (rc) {
        return rc;
    }
    const struct frond_yaml_node *f = frond_yaml_get(root, "frondtail");
    if (f && !frond_yaml_is_null(f)) {
        static const char *const fk[] = {"pod_uid_label", "start_position", NULL};
        char *sp = NULL;
        rc = check(x, f, fk, "frondtail");
        if (!rc) {
            rc = boolean(x, f, "pod_uid_label", &c->pod_uid_label);
        }
        if (!rc) {
            rc = str(x, f, "start_position", &sp);
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
    int rc = add_client(c, &cc);
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
        scrape_cleanup(&c->scrapes[i]);
    }
    free(c->scrapes);
    k8s_cleanup(&c->kubernetes_metadata);
    memset(c, 0, sizeof(*c));
}
