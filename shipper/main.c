/*
 * frondtail: a promtail-compatible log shipper for Kubernetes nodes. This
 * file is the wiring only: flags, config, the HTTP server, one ship queue
 * per client (or the dry-run printer), the tailer, and the shutdown order
 * that keeps "nothing lost" true on SIGTERM:
 *
 *   stop reading -> flush the queues until the deadline (acks still move
 *   positions) -> save positions -> exit 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "frond/env.h"
#include "frond/flags.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/process.h"
#include "frond/registry.h"
#include "frond/yamlcfg.h"
#include "journal.h"
#include "k8s.h"
#include "labels.h"
#include "parse.h"
#include "positions.h"
#include "push.h"
#include "ship.h"
#include "tail.h"
#include "tail_glob.h"

struct opts {
    char *config_file;
    bool expand_env;
    bool dry_run;
    bool check_syntax;
    bool check_config;
    bool use_stdin;
    char *positions_file;
    char *client_url;
    /* promtail's -client.* flags, applied to every client. */
    char *client_tenant;
    char *client_external_labels;
    double client_batch_wait; /* < 0 = not given */
    long client_batch_size;   /* < 0 = not given */
    long listen_port;
    char *listen_host;
    double shutdown_timeout;
    struct frond_common_opts common;
};

static int apply_client_flags(struct shipper_config *c, const struct opts *o);

/* ---- outputs ---- */

static int queue_push(void *ctx, const struct ship_entry *e)
{
    return ship_queue_push(ctx, e);
}

/* promtail's --dry-run prints "<time>\t<labels>\t<line>"; ours uses RFC 3339 in UTC. */
static int dry_print(void *ctx, const struct ship_entry *e)
{
    (void)ctx;
    time_t sec = (time_t)(e->ts_ns / 1000000000LL);
    long nsec = (long)(e->ts_ns % 1000000000LL);
    if (nsec < 0) {
        nsec += 1000000000L;
        sec--;
    }
    struct tm tm;
    char ts[64];
    gmtime_r(&sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", nsec);
    flockfile(stdout);
    fputs(ts, stdout);
    fputc('\t', stdout);
    fwrite(e->labels, 1, e->labels_len, stdout);
    fputc('\t', stdout);
    fwrite(e->line, 1, e->line_len, stdout);
    fputc('\n', stdout);
    funlockfile(stdout);
    return 0;
}

/* stdin has no positions: acks have nothing to move. */
static void noop_ack(void *ctx, uint64_t source_id, uint64_t end_offset)
{
    (void)ctx;
    (void)source_id;
    (void)end_offset;
}

/* ---- HTTP ---- */

/*
 * SIGHUP reloads what can change safely while running: the file
 * scrape_configs (globs, static labels, relabel rules, formats), applied to
 * files opened from then on. Everything else (server, positions, clients,
 * limits, journal scrape configs, kubernetes_metadata, ...) must be
 * unchanged: the queues, listeners and journal readers keep running as they
 * are, so a change there is refused with a log line naming the section
 * (restart to apply it; positions make that lossless). A config that does
 * not load is refused too, and the running one kept.
 *
 * Every config handed to the tailer stays allocated until exit: files
 * opened under it keep pointers into its scrape_configs.
 */
static int check_globs(const struct shipper_config *c);

struct reload_state {
    const struct opts *o;
    struct tail *tail;
    char *text; /* the running config's text (env-expanded when asked) */
    size_t len;
    struct shipper_config *kept[64];
    size_t nkept;
};

static int read_config_text(const char *path, bool expand_env, char **out, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        return -errno;
    }
    struct frond_buf b;
    frond_buf_init(&b, 16u * 1024 * 1024);
    int rc = 0;
    for (;;) {
        rc = frond_buf_reserve(&b, 65536);
        if (rc) {
            break;
        }
        size_t n = fread(b.data + b.len, 1, b.cap - b.len - 1, f);
        b.len += n;
        if (n == 0) {
            rc = ferror(f) ? -EIO : 0;
            break;
        }
    }
    fclose(f);
    if (!rc && expand_env) {
        struct frond_buf e;
        frond_buf_init(&e, 16u * 1024 * 1024);
        rc = frond_expand_env(b.data ? b.data : "", b.len, &e);
        frond_buf_cleanup(&b);
        b = e;
    }
    if (rc) {
        frond_buf_cleanup(&b);
        return rc;
    }
    *out = frond_buf_take(&b, len);
    return *out ? 0 : -ENOMEM;
}

static bool yaml_same(const struct frond_yaml_node *a, const struct frond_yaml_node *b)
{
    if (!a || !b) {
        return a == b;
    }
    if (a->kind != b->kind || a->n != b->n) {
        return false;
    }
    if (a->kind == FROND_YAML_SCALAR) {
        return a->value_len == b->value_len && a->plain == b->plain &&
               (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->kind == FROND_YAML_MAP) {
            const char *k = a->keys[i]->value ? a->keys[i]->value : "";
            if (!yaml_same(a->items[i], frond_yaml_get(b, k))) {
                return false;
            }
        } else if (!yaml_same(a->items[i], b->items[i])) {
            return false;
        }
    }
    return true;
}

/* The journal entries of a scrape_configs list, in order. */
static size_t journal_items(const struct frond_yaml_node *seq, const struct frond_yaml_node **out,
                            size_t max)
{
    size_t n = 0;
    for (size_t i = 0; seq && seq->kind == FROND_YAML_SEQ && i < seq->n; i++) {
        const struct frond_yaml_node *it = seq->items[i];
        if (it->kind == FROND_YAML_MAP && frond_yaml_get(it, "journal")) {
            if (n < max) {
                out[n] = it;
            }
            n++;
        }
    }
    return n;
}

/* The first top-level section SIGHUP cannot apply that differs, or NULL. */
static const char *reload_blocker(const struct frond_yaml_node *a, const struct frond_yaml_node *b)
{
    const struct frond_yaml_node *maps[2] = {a, b};
    for (int m = 0; m < 2; m++) {
        const struct frond_yaml_node *x = maps[m], *y = maps[1 - m];
        for (size_t i = 0; x && x->kind == FROND_YAML_MAP && i < x->n; i++) {
            const char *k = x->keys[i]->value ? x->keys[i]->value : "";
            if (strcmp(k, "scrape_configs") != 0 &&
                !yaml_same(x->items[i], y ? frond_yaml_get(y, k) : NULL)) {
                return k;
            }
        }
    }
    const struct frond_yaml_node *ja[16], *jb[16];
    size_t na = journal_items(a ? frond_yaml_get(a, "scrape_configs") : NULL, ja, 16);
    size_t nb = journal_items(b ? frond_yaml_get(b, "scrape_configs") : NULL, jb, 16);
    if (na != nb || na > 16) {
        return "scrape_configs (journal)";
    }
    for (size_t i = 0; i < na; i++) {
        if (!yaml_same(ja[i], jb[i])) {
            return "scrape_configs (journal)";
        }
    }
    return NULL;
}

static int reload(void *ctx)
{
    struct reload_state *r = ctx;
    const struct opts *o = r->o;
    char *text = NULL, err[1024] = "";
    size_t len = 0;
    struct frond_yaml_doc da, db;
    bool have_a = false, have_b = false;
    struct shipper_config *nc = NULL;
    int rc;
    if (!o->config_file) {
        frond_warn("SIGHUP: no -config.file to reload; nothing changed");
        return -EINVAL;
    }
    if (r->nkept == FROND_ARRAY_SIZE(r->kept)) {
        frond_warn("SIGHUP: too many reloads in this run; restart frondtail to apply changes");
        return -ENOSPC;
    }
    rc = read_config_text(o->config_file, o->expand_env, &text, &len);
    if (rc) {
        frond_error("SIGHUP: cannot read the config file; keeping the running configuration",
                    "file", o->config_file, "err", strerror(-rc));
        goto out;
    }
    nc = calloc(1, sizeof(*nc));
    if (!nc) {
        rc = -ENOMEM;
        goto out;
    }
    /* The text is already expanded: parse it as it is. */
    rc = config_parse(nc, o->config_file, text, len, false, err, sizeof(err));
    if (rc) {
        free(nc);
        nc = NULL;
        frond_error("SIGHUP: invalid config; keeping the running configuration", "err", err);
        goto out;
    }
    rc = check_globs(nc);
    if (rc) {
        frond_error("SIGHUP: invalid __path__ glob; keeping the running configuration");
        goto out;
    }
    have_a = r->text && frond_yaml_parse("running", r->text, r->len, &da, err, sizeof(err)) == 0;
    have_b = frond_yaml_parse(o->config_file, text, len, &db, err, sizeof(err)) == 0;
    const char *blocker = !have_a || !have_b ? "the whole file" : reload_blocker(da.root, db.root);
    if (blocker) {
        frond_warn("SIGHUP: only scrape_configs for files can be reloaded; this section changed "
                   "and needs a restart (nothing is lost: positions resume every file). Keeping "
                   "the running configuration",
                   "section", blocker);
        rc = -EINVAL;
        goto out;
    }
    /* The command-line overrides apply to the new config as they did at start. */
    if (o->positions_file) {
        free(nc->positions_file);
        nc->positions_file = strdup(o->positions_file);
    }
    if (o->client_url) {
        free(nc->clients[0].url);
        nc->clients[0].url = strdup(o->client_url);
    }
    if (!nc->positions_file || !nc->clients[0].url) {
        rc = -ENOMEM;
        goto out;
    }
    rc = apply_client_flags(nc, o);
    if (rc) {
        goto out;
    }
    rc = tail_reload(r->tail, nc);
    if (rc == -EINVAL || rc == -ESHUTDOWN) {
        frond_error("SIGHUP: the reader refused the new scrape_configs; keeping the running "
                    "configuration",
                    "err", strerror(-rc));
        goto out;
    }
    /* Accepted (or possibly applied late, after a timeout): it must live until exit. */
    r->kept[r->nkept++] = nc;
    nc = NULL;
    if (rc == 0) {
        free(r->text);
        r->text = text;
        r->len = len;
        text = NULL;
        frond_info("SIGHUP: scrape_configs reloaded; they apply to files opened from now on",
                   "file", o->config_file);
    }
out:
    if (have_a) {
        frond_yaml_doc_cleanup(&da);
    }
    if (have_b) {
        frond_yaml_doc_cleanup(&db);
    }
    if (nc) {
        config_cleanup(nc);
        free(nc);
    }
    free(text);
    return rc;
}

static int ready_route(void *ctx, struct frond_buf *body, const char **content_type)
{
    *content_type = "text/plain; charset=utf-8";
    bool ready = ctx && tail_ready(ctx);
    if (frond_buf_puts(body,
                       ready ? "Ready\n" : "Not ready: first discovery scan not finished\n")) {
        return 500;
    }
    return ready ? 200 : 503;
}

/* ---- config checks beyond the YAML ---- */

static int check_globs(const struct shipper_config *c)
{
    for (size_t i = 0; i < c->nscrapes; i++) {
        for (size_t j = 0; j < c->scrapes[i].ntargets; j++) {
            const struct tail_target *tg = &c->scrapes[i].targets[j];
            struct glob_pattern g;
            if (glob_compile(tg->path, &g) != 0) {
                fprintf(stderr, "frondtail: invalid __path__ glob \"%s\"\n", tg->path);
                return -EINVAL;
            }
            glob_cleanup(&g);
            if (tg->path_exclude) {
                if (glob_compile(tg->path_exclude, &g) != 0) {
                    fprintf(stderr, "frondtail: invalid __path_exclude__ glob \"%s\"\n",
                            tg->path_exclude);
                    return -EINVAL;
                }
                glob_cleanup(&g);
            }
        }
    }
    return 0;
}

/* ---- --stdin ---- */

/*
 * promtail's stdin mode: every line read from stdin is one entry, with the
 * static labels of the first scrape config (job="stdin" when there is
 * none) and that config's parser. No positions: stdin cannot be re-read.
 */
static int run_stdin(const struct shipper_config *c, struct ship_queue **qs, size_t nq,
                     bool dry_run)
{
    const struct scrape_config *sc = c->nscrapes ? &c->scrapes[0] : NULL;
    const struct labels_set *statics = sc && sc->ntargets ? &sc->targets[0].labels : NULL;
    struct labels_set dflt;
    labels_init(&dflt);
    if (!statics || !labels_get(statics, "job")) {
        if (labels_set(&dflt, "job", "stdin") != 0) {
            return -ENOMEM;
        }
        if (statics && labels_merge(&dflt, statics) != 0) {
            labels_cleanup(&dflt);
            return -ENOMEM;
        }
        statics = &dflt;
    }
    struct parse_state ps;
    parse_state_init(&ps, sc ? sc->format : PARSE_RAW,
                     &(struct parse_limits){.max_line_size = (size_t)c->max_line_size,
                                            .truncate = c->max_line_size_truncate,
                                            .max_partial_lines = sc ? sc->max_partial_lines : 100});
    size_t nout = dry_run ? 1 : nq;
    struct frond_buf lab[3 * 32];
    for (size_t i = 0; i < 3 * nout; i++) {
        frond_buf_init(&lab[i], 64 * 1024);
        const struct ship_client_config *cc = i / 3 < c->nclients ? &c->clients[i / 3] : NULL;
        if (tail_file_labels(c, cc, NULL, statics, NULL, (enum parse_stream)(i % 3), &lab[i]) !=
            0) {
            frond_error("cannot build labels");
        }
    }
    size_t cap = 1024 * 1024, len = 0;
    char *buf = malloc(cap);
    uint64_t off = 0;
    int rc = buf ? 0 : -ENOMEM;
    bool eof = false;
    while (!rc && !eof && !frond_process_stopping()) {
        ssize_t n = read(0, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            eof = true;
            if (len == 0) {
                break;
            }
            /* A last line without a newline still counts. */
            buf[len++] = '\n';
        } else {
            len += (size_t)n;
        }
        char *p = buf, *end = buf + len, *nl;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ts = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL ||
               (p == buf && end - p == (long)cap)) {
            size_t ll = nl ? (size_t)(nl - p) : cap;
            struct parse_entry pe;
            int pr = parse_line(&ps, p, ll, off, ts, &pe);
            off += ll + (nl ? 1 : 0);
            p += ll + (nl ? 1 : 0);
            if (pr <= 0 || pe.drop) {
                continue;
            }
            for (size_t i = 0; i < nout; i++) {
                struct frond_buf *lb = &lab[i * 3 + pe.stream];
                struct ship_entry e = {pe.ts_ns, pe.line, pe.len, lb->data, lb->len, NULL, 0, off};
                if (dry_run) {
                    (void)dry_print(NULL, &e);
                    continue;
                }
                /* stdin has no positions to pause on: wait for room instead. */
                while (ship_queue_push(qs[i], &e) == -EAGAIN && !frond_process_stopping()) {
                    struct timespec w = {0, 10 * 1000 * 1000};
                    nanosleep(&w, NULL);
                }
            }
        }
        len = (size_t)(end - p);
        memmove(buf, p, len);
    }
    fflush(stdout);
    free(buf);
    for (size_t i = 0; i < 3 * nout; i++) {
        frond_buf_cleanup(&lab[i]);
    }
    parse_state_cleanup(&ps);
    labels_cleanup(&dflt);
    return rc;
}

/* ---- main ---- */

static bool label_name_ok(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Add one external label to a client unless the client's own config has it (promtail's merge). */
static int add_external_label(struct ship_client_config *cc, const char *name, size_t nlen,
                              const char *value, size_t vlen)
{
    for (size_t i = 0; i < cc->nexternal_labels; i++) {
        if (strlen(cc->external_label_names[i]) == nlen &&
            memcmp(cc->external_label_names[i], name, nlen) == 0) {
            return 0;
        }
    }
    char **names = realloc(cc->external_label_names, (cc->nexternal_labels + 1) * sizeof(char *));
    if (!names) {
        return -ENOMEM;
    }
    cc->external_label_names = names;
    char **values = realloc(cc->external_label_values, (cc->nexternal_labels + 1) * sizeof(char *));
    if (!values) {
        return -ENOMEM;
    }
    cc->external_label_values = values;
    char *n = strndup(name, nlen), *v = strndup(value, vlen);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    names[cc->nexternal_labels] = n;
    values[cc->nexternal_labels] = v;
    cc->nexternal_labels++;
    return 0;
}

/*
 * promtail's -client.tenant-id, -client.external-labels (k=v,k=v),
 * -client.batch-wait and -client.batch-size-bytes, applied to every client
 * (at start and to a reloaded config alike). External labels given in a
 * client's config win over the flag's, as promtail merges them. -EINVAL
 * (printed) for a malformed flag value, -ENOMEM.
 */
static int apply_client_flags(struct shipper_config *c, const struct opts *o)
{
    if (o->client_tenant && strpbrk(o->client_tenant, "\r\n")) {
        fprintf(stderr, "frondtail: -client.tenant-id must not contain a line break\n");
        return -EINVAL;
    }
    for (size_t i = 0; i < c->nclients; i++) {
        struct ship_client_config *cc = &c->clients[i];
        if (o->client_tenant) {
            char *t = strdup(o->client_tenant);
            if (!t) {
                return -ENOMEM;
            }
            free(cc->tenant_id);
            cc->tenant_id = t;
        }
        if (o->client_batch_wait >= 0) {
            cc->batchwait = o->client_batch_wait;
        }
        if (o->client_batch_size >= 0) {
            cc->batchsize = o->client_batch_size;
        }
        const char *p = o->client_external_labels;
        while (p && *p) {
            size_t len = strcspn(p, ",");
            const char *eq = memchr(p, '=', len);
            if (len > 0) {
                size_t nlen = eq ? (size_t)(eq - p) : 0;
                if (!eq || !label_name_ok(p, nlen)) {
                    fprintf(stderr,
                            "frondtail: -client.external-labels: \"%.*s\" is not name=value with "
                            "a valid label name\n",
                            (int)len, p);
                    return -EINVAL;
                }
                int rc = add_external_label(cc, p, nlen, eq + 1, len - nlen - 1);
                if (rc) {
                    return rc;
                }
            }
            p += len;
            if (*p == ',') {
                p++;
            }
        }
    }
    return 0;
}

/*
 * Every client URL must be one curl takes (http or https, with a host):
 * a bad one is a config error (exit 2, caught by --check-config), named by
 * file:line, and never printed, since it may hold a password.
 */
static int check_urls(const struct shipper_config *c, bool first_from_flag)
{
    for (size_t i = 0; i < c->nclients; i++) {
        char why[256];
        if (push_url_check(c->clients[i].url, why, sizeof(why)) == 0) {
            continue;
        }
        int line = c->client_url_lines ? c->client_url_lines[i] : 0;
        if (i == 0 && first_from_flag) {
            fprintf(stderr, "frondtail: -client.url: %s\n", why);
        } else if (c->file_name && line > 0) {
            fprintf(stderr, "frondtail: %s:%d: clients[%zu].url: %s\n", c->file_name, line, i, why);
        } else {
            fprintf(stderr, "frondtail: client url ($LOKI_URL or the default): %s\n", why);
        }
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof(o));
    /* Not given: the flags have no default, so these stay negative. */
    o.client_batch_wait = -1;
    o.client_batch_size = -1;
    struct frond_flag flags[] = {
        {"config.file", FROND_FLAG_STRING, &o.config_file, NULL, "FRONDTAIL_CONFIG",
         "promtail-compatible YAML configuration file (none: tail /var/log/pods as CRI).", 0,
         false},
        {"config.expand-env", FROND_FLAG_BOOL, &o.expand_env, "false", NULL,
         "Expand ${VAR} and ${VAR:-default} in the config file, like promtail.", 0, false},
        {"dry-run", FROND_FLAG_BOOL, &o.dry_run, "false", NULL,
         "Print entries to stdout instead of pushing; positions are not advanced.", 0, false},
        {"check-syntax", FROND_FLAG_BOOL, &o.check_syntax, "false", NULL,
         "Validate the config file and exit (0 valid, 2 invalid).", 0, false},
        {"check-config", FROND_FLAG_BOOL, &o.check_config, "false", NULL, "Same as -check-syntax.",
         0, false},
        {"stdin", FROND_FLAG_BOOL, &o.use_stdin, "false", NULL,
         "Ship lines read from stdin with the first scrape config's static labels, then exit.", 0,
         false},
        {"positions.file", FROND_FLAG_STRING, &o.positions_file, NULL, NULL,
         "Positions file (overrides positions.filename).", 0, false},
        {"client.url", FROND_FLAG_STRING, &o.client_url, NULL, NULL,
         "Loki push URL (overrides the first client's url, or adds a client).", 0, false},
        {"client.tenant-id", FROND_FLAG_STRING, &o.client_tenant, NULL, NULL,
         "Tenant (X-Scope-OrgID) for every client, overriding tenant_id.", 0, false},
        {"client.external-labels", FROND_FLAG_STRING, &o.client_external_labels, NULL, NULL,
         "Labels added to every client's entries, as name=value,name=value (a client's own "
         "external_labels win).",
         0, false},
        {"client.batch-wait", FROND_FLAG_DURATION, &o.client_batch_wait, NULL, NULL,
         "batchwait for every client (overrides the config's).", 0, false},
        {"client.batch-size-bytes", FROND_FLAG_BYTES, &o.client_batch_size, NULL, NULL,
         "batchsize in bytes for every client (overrides the config's).", 0, false},
        {"server.http-listen-port", FROND_FLAG_INT, &o.listen_port, "-1", NULL,
         "HTTP port for /metrics and /ready (overrides server.http_listen_port; 0 = any).", 0,
         false},
        {"server.http-listen-address", FROND_FLAG_STRING, &o.listen_host, NULL, NULL,
         "HTTP listen host (overrides server.http_listen_address).", 0, false},
        {"shutdown.timeout", FROND_FLAG_DURATION, &o.shutdown_timeout, "10s", NULL,
         "How long SIGTERM waits for buffered entries to reach Loki.", 0, false},
        FROND_COMMON_FLAGS(&o.common, NULL),
    };
    struct frond_flagset fs = {"frondtail", "Tail Kubernetes container logs and push them to Loki.",
                               flags, FROND_ARRAY_SIZE(flags)};
    struct shipper_config cfg;
    struct positions pos;
    struct frond_registry *reg = NULL;
    struct frond_http *http = NULL;
    struct tail *tail = NULL;
    struct k8s_meta *k8s = NULL;
    struct ship_queue *queues[32] = {0};
    size_t nq = 0;
    struct journal *journals[16] = {0};
    size_t nj = 0;
    int exit_code = FROND_EXIT_FAILURE;
    char err[1024] = "";
    bool have_cfg = false, have_pos = false;
    struct reload_state rs = {0};
    memset(&cfg, 0, sizeof(cfg));
    positions_init(&pos);

    int rc = frond_flags_parse(&fs, argc, argv);
    if (rc == 1) {
        frond_flags_free(&fs);
        return FROND_EXIT_OK;
    }
    if (rc < 0) {
        frond_flags_free(&fs);
        return FROND_EXIT_USAGE;
    }
    if (frond_process_init() != 0) {
        fprintf(stderr, "frondtail: cannot set up signal handling\n");
        goto out;
    }
    if (frond_log_setup(o.common.log_level ? o.common.log_level : "info",
                        o.common.log_format ? o.common.log_format : "logfmt") != 0) {
        fprintf(stderr, "frondtail: invalid --log.level or --log.format\n");
        exit_code = FROND_EXIT_USAGE;
        goto out;
    }

    if (o.config_file) {
        rc = config_load(&cfg, o.config_file, o.expand_env, err, sizeof(err));
    } else {
        rc = config_defaults(&cfg);
        if (rc) {
            snprintf(err, sizeof(err), "defaults: %s", strerror(-rc));
        }
    }
    if (rc) {
        fprintf(stderr, "frondtail: %s\n", err);
        exit_code = rc == -ENOMEM ? FROND_EXIT_FAILURE : FROND_EXIT_USAGE;
        goto out;
    }
    have_cfg = true;
    if (check_globs(&cfg) != 0) {
        exit_code = FROND_EXIT_USAGE;
        goto out;
    }
    if (o.positions_file) {
        free(cfg.positions_file);
        cfg.positions_file = strdup(o.positions_file);
    }
    if (o.client_url) {
        free(cfg.clients[0].url);
        cfg.clients[0].url = strdup(o.client_url);
    }
    if (!cfg.positions_file || !cfg.clients[0].url) {
        goto out;
    }
    if (check_urls(&cfg, o.client_url != NULL) != 0) {
        exit_code = FROND_EXIT_USAGE;
        goto out;
    }
    rc = apply_client_flags(&cfg, &o);
    if (rc) {
        exit_code = rc == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        goto out;
    }
    /* A flag given on the command line wins over the config file's server section. */
    bool level_flag = false, format_flag = false;
    for (size_t i = 0; i < fs.nflags; i++) {
        if (strcmp(flags[i].name, "log.level") == 0) {
            level_flag = flags[i].set;
        } else if (strcmp(flags[i].name, "log.format") == 0) {
            format_flag = flags[i].set;
        }
    }
    if ((cfg.log_level && !level_flag) || (cfg.log_format && !format_flag)) {
        const char *lv = level_flag || !cfg.log_level ? o.common.log_level : cfg.log_level;
        const char *lf = format_flag || !cfg.log_format ? o.common.log_format : cfg.log_format;
        if (frond_log_setup(lv ? lv : "info", lf ? lf : "logfmt") != 0) {
            fprintf(stderr, "frondtail: %s: invalid server.log_level or server.log_format\n",
                    o.config_file ? o.config_file : "config");
            exit_code = FROND_EXIT_USAGE;
            goto out;
        }
    }
    if (o.check_syntax || o.check_config) {
        printf("Valid config file! No syntax issues found\n");
        exit_code = FROND_EXIT_OK;
        goto out;
    }
    if (cfg.nclients > FROND_ARRAY_SIZE(queues)) {
        fprintf(stderr, "frondtail: at most %zu clients are supported\n", FROND_ARRAY_SIZE(queues));
        exit_code = FROND_EXIT_USAGE;
        goto out;
    }

    reg = frond_registry_new();
    if (!reg || frond_process_register_metrics(reg, "frondtail") != 0) {
        frond_error("cannot create the metrics registry");
        goto out;
    }

    if (o.use_stdin) {
        if (!o.dry_run) {
            for (nq = 0; nq < cfg.nclients; nq++) {
                queues[nq] = ship_queue_new(&cfg.clients[nq], (unsigned)nq, reg, noop_ack, NULL);
                if (!queues[nq]) {
                    goto out;
                }
            }
        }
        rc = run_stdin(&cfg, queues, nq, o.dry_run);
        double until = frond_now_monotonic() + o.shutdown_timeout;
        for (size_t i = 0; i < nq; i++) {
            ship_queue_stop(queues[i], until);
            queues[i] = NULL;
        }
        exit_code = rc ? FROND_EXIT_FAILURE : FROND_EXIT_OK;
        goto out;
    }

    bool set_aside = false;
    rc = o.dry_run ? positions_load_readonly(&pos, cfg.positions_file)
                   : positions_load(&pos, cfg.positions_file, &set_aside);
    if (rc) {
        /* Unreadable (permissions, I/O): starting from 0 would re-send everything; refuse. */
        goto out;
    }
    have_pos = true;

    struct tail_opts to = {
        .cfg = &cfg,
        .reg = reg,
        .pos = &pos,
        .dry_run = o.dry_run,
        .noutputs = o.dry_run ? 1 : cfg.nclients,
    };
    tail = tail_new(&to);
    if (!tail) {
        goto out;
    }
    if (cfg.kubernetes_metadata.enabled) {
        /* Never fatal: without the API, files keep their path labels (logged by k8s.c). */
        k8s = k8s_meta_start(&cfg.kubernetes_metadata, reg);
        if (k8s) {
            tail_set_enricher(k8s_meta_enrich, k8s_meta_enrich_gen, k8s);
        }
    }
    static const char *const job_label[] = {"job", NULL};
    static const char *const job_reason_labels[] = {"job", "reason", NULL};
    struct frond_metric *jm = NULL, *jskip = NULL;
    for (size_t i = 0; i < cfg.nscrapes; i++) {
        const struct scrape_config *sc = &cfg.scrapes[i];
        if (!sc->journal) {
            continue;
        }
        if (nj == FROND_ARRAY_SIZE(journals)) {
            frond_error("too many journal scrape configs", "max", "16");
            goto out;
        }
        if (!jm) {
            jm = frond_registry_counter(reg, "frondtail_journal_entries_total",
                                        "Journal entries shipped, by scrape job.", job_label);
            jskip = frond_registry_counter(
                reg, "frondtail_journal_entries_skipped_total",
                "Journal entries not shipped (no_message, empty_labels, too_long) or shipped "
                "cut to the line limit (truncated), by scrape job and reason.",
                job_reason_labels);
        }
        char key[512];
        snprintf(key, sizeof(key), "journal-%s", sc->job_name ? sc->job_name : "");
        struct positions_entry *pe = positions_get(&pos, key);
        journals[nj] = journal_new(&cfg, sc, to.noutputs, (1ULL << 62) + nj, pe ? pe->cursor : NULL,
                                   jm, jskip);
        if (!journals[nj]) {
            goto out;
        }
        tail_add_journal(tail, journals[nj]);
        nj++;
    }
    if (o.dry_run) {
        /* Someone is watching: show each entry as it is read. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        tail_set_output(tail, 0, dry_print, NULL);
        for (size_t i = 0; i < nj; i++) {
            journal_set_output(journals[i], 0, dry_print, NULL);
        }
    } else {
        for (nq = 0; nq < cfg.nclients; nq++) {
            queues[nq] = ship_queue_new(&cfg.clients[nq], (unsigned)nq, reg, tail_ack,
                                        tail_ack_ctx(tail, nq));
            if (!queues[nq]) {
                goto out;
            }
            tail_set_output(tail, nq, queue_push, queues[nq]);
            for (size_t i = 0; i < nj; i++) {
                journal_set_output(journals[i], nq, queue_push, queues[nq]);
            }
        }
    }

    char listen[300];
    long port = o.listen_port >= 0 ? o.listen_port : cfg.http_listen_port;
    const char *host = o.listen_host ? o.listen_host : cfg.http_listen_address;
    if (o.common.listen_address) {
        snprintf(listen, sizeof(listen), "%s", o.common.listen_address);
    } else if (strchr(host, ':')) {
        snprintf(listen, sizeof(listen), "[%s]:%ld", host, port);
    } else {
        snprintf(listen, sizeof(listen), "%s:%ld", host, port);
    }
    struct frond_http_route routes[] = {{"/ready", ready_route, tail}};
    struct frond_http_opts ho = {
        .listen_address = listen,
        .telemetry_path = o.common.telemetry_path,
        .web_config_file = o.common.web_config_file,
        .name = "frondtail",
        .description = "Tails Kubernetes container logs and pushes them to Loki.",
        .max_connections = o.common.max_requests > 0 ? (unsigned)o.common.max_requests : 40,
        .timeout_offset = o.common.scrape_timeout_offset,
        .ready = tail_ready,
        .ready_ctx = tail,
        .routes = routes,
        .nroutes = FROND_ARRAY_SIZE(routes),
    };
    int herr = 0;
    http = frond_http_start(reg, &ho, &herr);
    if (!http) {
        exit_code = herr == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        goto out;
    }
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%u", frond_http_port(http));
    frond_info("frondtail started", "version", FROND_VERSION, "listen", listen, "port", portbuf,
               "positions", cfg.positions_file, "dry_run", o.dry_run ? "true" : "false");

    rc = tail_start(tail);
    if (rc) {
        frond_error("cannot start the reader thread", "err", strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < nj; i++) {
        if (journal_start(journals[i]) != 0) {
            goto out;
        }
    }
    rs.o = &o;
    rs.tail = tail;
    if (o.config_file && read_config_text(o.config_file, o.expand_env, &rs.text, &rs.len) != 0) {
        /* Without the running text, a reload cannot tell what changed: it is refused. */
        rs.text = NULL;
    }
    frond_process_run(reload, &rs);

    /* Shutdown: stop reading, flush within the deadline, then record what Loki acknowledged. */
    for (size_t i = 0; i < nj; i++) {
        journal_stop(journals[i]);
    }
    tail_stop(tail);
    double deadline = frond_now_monotonic() + o.shutdown_timeout;
    for (size_t i = 0; i < nq; i++) {
        ship_queue_stop(queues[i], deadline);
        queues[i] = NULL;
    }
    if (!o.dry_run && tail_save_positions(tail) != 0) {
        goto out;
    }
    exit_code = FROND_EXIT_OK;
out:
    frond_http_stop(http);
    for (size_t i = 0; i < nj; i++) {
        journal_stop(journals[i]);
    }
    tail_stop(tail);
    for (size_t i = 0; i < nq; i++) {
        ship_queue_stop(queues[i], frond_now_monotonic());
    }
    tail_free(tail);
    /* Configs accepted by SIGHUP: nothing points into them once the tailer is gone. */
    for (size_t i = 0; i < rs.nkept; i++) {
        config_cleanup(rs.kept[i]);
        free(rs.kept[i]);
    }
    free(rs.text);
    tail_set_enricher(NULL, NULL, NULL);
    k8s_meta_stop(k8s);
    for (size_t i = 0; i < nj; i++) {
        journal_free(journals[i]);
    }
    if (have_pos) {
        positions_cleanup(&pos);
    }
    frond_registry_free(reg);
    if (have_cfg) {
        config_cleanup(&cfg);
    }
    frond_flags_free(&fs);
    return exit_code;
}
