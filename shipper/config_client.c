/*
 * The clients section of frondtail's config (promtail's clients / client):
 * Loki URL, tenant, batching, backoff, credentials read from files and
 * TLS. Values that go into HTTP header lines are refused when they hold a
 * line break, and secrets from files are read once at load (and again on
 * each reload).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "frond/log.h"

#define DEFAULT_BACKLOG (64L * 1024 * 1024)
#define SECRET_FILE_MAX (64 * 1024)

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

int cfg_load_client(struct ctx *x, const struct frond_yaml_node *n, struct ship_client_config *cc)
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
    int rc = cfg_check(x, n, known, "clients");
    if (!rc) {
        rc = cfg_str(x, n, "url", &cc->url);
    }
    if (!rc && !cc->url) {
        rc = frond_yaml_error(x->doc, n, x->err, x->errlen, "client: url is required");
    }
    if (!rc) {
        rc = cfg_str(x, n, "tenant_id", &cc->tenant_id);
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
        rc = cfg_read_fields(x, n, cc, batching, FROND_ARRAY_SIZE(batching));
    }
    if (!rc && cc->max_backlog_bytes < 64 * 1024) {
        rc = frond_yaml_error(x->doc, frond_yaml_get(n, "max_backlog_bytes"), x->err, x->errlen,
                              "max_backlog_bytes must be at least 64KiB");
    }
    if (!rc) {
        cfg_ignored(x, n, "name");
        cfg_ignored(x, n, "drop_rate_limited_batches");
    }
    static const char *const bk[] = {"min_period", "max_period", "max_retries", NULL};
    static const struct field backoff[] = {
        FIELD(struct ship_client_config, backoff_min, "min_period", FIELD_DUR),
        FIELD(struct ship_client_config, backoff_max, "max_period", FIELD_DUR),
        FIELD(struct ship_client_config, max_retries, "max_retries", FIELD_NUM),
    };
    if (!rc) {
        rc = cfg_read_section(x, n, "backoff_config", bk, "backoff_config", cc, backoff,
                              FROND_ARRAY_SIZE(backoff));
    }
    const struct frond_yaml_node *a = frond_yaml_get(n, "basic_auth");
    if (!rc && a && !frond_yaml_is_null(a)) {
        static const char *const ak[] = {"username", "password", "password_file", NULL};
        char *pwfile = NULL;
        rc = cfg_check(x, a, ak, "basic_auth");
        if (!rc) {
            rc = cfg_str(x, a, "username", &cc->basic_auth_user);
        }
        if (!rc) {
            rc = cfg_str(x, a, "password", &cc->basic_auth_password);
        }
        if (!rc) {
            rc = cfg_str(x, a, "password_file", &pwfile);
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
        rc = cfg_str(x, n, "bearer_token", &cc->bearer_token);
    }
    char *tokfile = NULL;
    if (!rc) {
        rc = cfg_str(x, n, "bearer_token_file", &tokfile);
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
        rc = cfg_read_section(x, n, "tls_config", tk, "tls_config", cc, tls, FROND_ARRAY_SIZE(tls));
    }
    struct labels_set tmp;
    labels_init(&tmp);
    const struct frond_yaml_node *h = frond_yaml_get(n, "headers");
    if (!rc && h) {
        rc = cfg_string_map(x, h, "headers", false, &tmp);
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
        rc = cfg_string_map(x, el, "external_labels", true, &tmp);
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

int cfg_url_line(const struct frond_yaml_node *client)
{
    const struct frond_yaml_node *u = frond_yaml_get(client, "url");
    return u ? u->line : client->line;
}

int cfg_add_client(struct shipper_config *c, struct ship_client_config **out)
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
