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
#include "readfile.h"
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
    char *text = NULL;
    size_t n = 0;
    int rc = ship_read_file(path, 16u * 1024 * 1024, &text, &n);
    if (rc) {
        return rc;
    }
    if (!expand_env) {
        *out = text;
        *len = n;
        return text ? 0 : -ENOMEM;
    }
    struct frond_buf e;
    frond_buf_init(&e, 16u * 1024 * 1024);
    rc = frond_expand_env(text ? text : "", n, &e);
    free(text);
    if (rc) {
        frond_buf_cleanup(&e);
        return rc;
    }
    *out = frond_buf_take(&e, len);
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

/*
 * Everything main() sets up, so that each step below takes one pointer and
 * release() frees whatever the steps got to, in the reverse order.
 */
struct app {
    struct opts o;
    struct shipper_config cfg;
    struct positions pos;
    bool have_cfg, have_pos;
    struct frond_registry *reg;
    struct frond_http *http;
    struct tail *tail;
    struct k8s_meta *k8s;
    struct ship_queue *queues[32];
    size_t nq;
    struct journal *journals[16];
    size_t nj;
    struct reload_state rs;
    int exit_code; /* what main() returns when a step stops it */
};

/*
 * The steps return 0 to go on; anything else stops main() with
 * a->exit_code, which stays FROND_EXIT_FAILURE unless the step says
 * otherwise (a usage error, or a finished -check-syntax / -stdin run).
 */

/* Signals and logging as the flags ask, before the config can say more. */
static int start_process(struct app *a)
{
    if (frond_process_init() != 0) {
        fprintf(stderr, "frondtail: cannot set up signal handling\n");
        return -1;
    }
    if (frond_log_setup(a->o.common.log_level ? a->o.common.log_level : "info",
                        a->o.common.log_format ? a->o.common.log_format : "logfmt") != 0) {
        fprintf(stderr, "frondtail: invalid --log.level or --log.format\n");
        a->exit_code = FROND_EXIT_USAGE;
        return -1;
    }
    return 0;
}

/* A flag given on the command line wins over the config file's server section. */
static int apply_log_config(struct app *a, const struct frond_flagset *fs)
{
    const struct shipper_config *cfg = &a->cfg;
    bool level_flag = false, format_flag = false;
    for (size_t i = 0; i < fs->nflags; i++) {
        if (strcmp(fs->flags[i].name, "log.level") == 0) {
            level_flag = fs->flags[i].set;
        } else if (strcmp(fs->flags[i].name, "log.format") == 0) {
            format_flag = fs->flags[i].set;
        }
    }
    if ((cfg->log_level && !level_flag) || (cfg->log_format && !format_flag)) {
        const char *lv = level_flag || !cfg->log_level ? a->o.common.log_level : cfg->log_level;
        const char *lf = format_flag || !cfg->log_format ? a->o.common.log_format : cfg->log_format;
        if (frond_log_setup(lv ? lv : "info", lf ? lf : "logfmt") != 0) {
            fprintf(stderr, "frondtail: %s: invalid server.log_level or server.log_format\n",
                    a->o.config_file ? a->o.config_file : "config");
            a->exit_code = FROND_EXIT_USAGE;
            return -1;
        }
    }
    return 0;
}

/* The config file (or the defaults) with the command line's overrides applied and checked. */
static int load_config(struct app *a, const struct frond_flagset *fs)
{
    struct shipper_config *cfg = &a->cfg;
    const struct opts *o = &a->o;
    char err[1024] = "";
    int rc;
    if (o->config_file) {
        rc = config_load(cfg, o->config_file, o->expand_env, err, sizeof(err));
    } else {
        rc = config_defaults(cfg);
        if (rc) {
            snprintf(err, sizeof(err), "defaults: %s", strerror(-rc));
        }
    }
    if (rc) {
        fprintf(stderr, "frondtail: %s\n", err);
        a->exit_code = rc == -ENOMEM ? FROND_EXIT_FAILURE : FROND_EXIT_USAGE;
        return rc;
    }
    a->have_cfg = true;
    if (check_globs(cfg) != 0) {
        a->exit_code = FROND_EXIT_USAGE;
        return -1;
    }
    if (o->positions_file) {
        free(cfg->positions_file);
        cfg->positions_file = strdup(o->positions_file);
    }
    if (o->client_url) {
        free(cfg->clients[0].url);
        cfg->clients[0].url = strdup(o->client_url);
    }
    if (!cfg->positions_file || !cfg->clients[0].url) {
        return -ENOMEM;
    }
    if (check_urls(cfg, o->client_url != NULL) != 0) {
        a->exit_code = FROND_EXIT_USAGE;
        return -1;
    }
    rc = apply_client_flags(cfg, o);
    if (rc) {
        a->exit_code = rc == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        return rc;
    }
    rc = apply_log_config(a, fs);
    if (rc) {
        return rc;
    }
    if (o->check_syntax || o->check_config) {
        printf("Valid config file! No syntax issues found\n");
        a->exit_code = FROND_EXIT_OK;
        return 1;
    }
    if (cfg->nclients > FROND_ARRAY_SIZE(a->queues)) {
        fprintf(stderr, "frondtail: at most %zu clients are supported\n",
                FROND_ARRAY_SIZE(a->queues));
        a->exit_code = FROND_EXIT_USAGE;
        return -1;
    }
    return 0;
}

/* -stdin: ship stdin's lines through fresh queues (or print them), then stop. */
static int ship_stdin(struct app *a)
{
    const struct opts *o = &a->o;
    if (!o->dry_run) {
        for (a->nq = 0; a->nq < a->cfg.nclients; a->nq++) {
            size_t q = a->nq;
            a->queues[q] = ship_queue_new(&a->cfg.clients[q], (unsigned)q, a->reg, noop_ack, NULL);
            if (!a->queues[q]) {
                return -1;
            }
        }
    }
    int rc = run_stdin(&a->cfg, a->queues, a->nq, o->dry_run);
    double until = frond_now_monotonic() + o->shutdown_timeout;
    for (size_t i = 0; i < a->nq; i++) {
        ship_queue_stop(a->queues[i], until);
        a->queues[i] = NULL;
    }
    a->exit_code = rc ? FROND_EXIT_FAILURE : FROND_EXIT_OK;
    return 1;
}

/*
 * The journal readers of the scrape configs that have a journal section,
 * each resuming at its cursor in the positions file.
 */
static int open_journals(struct app *a, size_t noutputs)
{
    static const char *const job_label[] = {"job", NULL};
    static const char *const job_reason_labels[] = {"job", "reason", NULL};
    struct frond_metric *jm = NULL, *jskip = NULL;
    for (size_t i = 0; i < a->cfg.nscrapes; i++) {
        const struct scrape_config *sc = &a->cfg.scrapes[i];
        if (!sc->journal) {
            continue;
        }
        if (a->nj == FROND_ARRAY_SIZE(a->journals)) {
            frond_error("too many journal scrape configs", "max", "16");
            return -1;
        }
        if (!jm) {
            jm = frond_registry_counter(a->reg, "frondtail_journal_entries_total",
                                        "Journal entries shipped, by scrape job.", job_label);
            jskip = frond_registry_counter(
                a->reg, "frondtail_journal_entries_skipped_total",
                "Journal entries not shipped (no_message, empty_labels, too_long) or shipped "
                "cut to the line limit (truncated), by scrape job and reason.",
                job_reason_labels);
        }
        char key[512];
        snprintf(key, sizeof(key), "journal-%s", sc->job_name ? sc->job_name : "");
        struct positions_entry *pe = positions_get(&a->pos, key);
        size_t j = a->nj;
        a->journals[j] =
            journal_new(&a->cfg, sc, noutputs, (1ULL << 62) + j, pe ? pe->cursor : NULL, jm, jskip);
        if (!a->journals[j]) {
            return -1;
        }
        tail_add_journal(a->tail, a->journals[j]);
        a->nj++;
    }
    return 0;
}

/* The positions file, the file tailer, Kubernetes metadata and the journal readers. */
static int open_inputs(struct app *a)
{
    const struct opts *o = &a->o;
    bool set_aside = false;
    int rc = o->dry_run ? positions_load_readonly(&a->pos, a->cfg.positions_file)
                        : positions_load(&a->pos, a->cfg.positions_file, &set_aside);
    if (rc) {
        /* Unreadable (permissions, I/O): starting from 0 would re-send everything; refuse. */
        return rc;
    }
    a->have_pos = true;

    struct tail_opts to = {
        .cfg = &a->cfg,
        .reg = a->reg,
        .pos = &a->pos,
        .dry_run = o->dry_run,
        .noutputs = o->dry_run ? 1 : a->cfg.nclients,
    };
    a->tail = tail_new(&to);
    if (!a->tail) {
        return -1;
    }
    if (a->cfg.kubernetes_metadata.enabled) {
        /* Never fatal: without the API, files keep their path labels (logged by k8s.c). */
        a->k8s = k8s_meta_start(&a->cfg.kubernetes_metadata, a->reg);
        if (a->k8s) {
            tail_set_enricher(k8s_meta_enrich, k8s_meta_enrich_gen, a->k8s);
        }
    }
    return open_journals(a, to.noutputs);
}

/* Where entries go: stdout under -dry-run, else one push queue per client. */
static int build_outputs(struct app *a)
{
    if (a->o.dry_run) {
        /* Someone is watching: show each entry as it is read. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        tail_set_output(a->tail, 0, dry_print, NULL);
        for (size_t i = 0; i < a->nj; i++) {
            journal_set_output(a->journals[i], 0, dry_print, NULL);
        }
        return 0;
    }
    for (a->nq = 0; a->nq < a->cfg.nclients; a->nq++) {
        size_t q = a->nq;
        a->queues[q] = ship_queue_new(&a->cfg.clients[q], (unsigned)q, a->reg, tail_ack,
                                      tail_ack_ctx(a->tail, q));
        if (!a->queues[q]) {
            return -1;
        }
        tail_set_output(a->tail, q, queue_push, a->queues[q]);
        for (size_t i = 0; i < a->nj; i++) {
            journal_set_output(a->journals[i], q, queue_push, a->queues[q]);
        }
    }
    return 0;
}

/*
 * /metrics and /ready up, the readers started, then the signal loop until
 * SIGTERM (SIGHUP reloads in between).
 */
static int serve(struct app *a)
{
    const struct opts *o = &a->o;
    char listen[300];
    long port = o->listen_port >= 0 ? o->listen_port : a->cfg.http_listen_port;
    const char *host = o->listen_host ? o->listen_host : a->cfg.http_listen_address;
    if (o->common.listen_address) {
        snprintf(listen, sizeof(listen), "%s", o->common.listen_address);
    } else if (strchr(host, ':')) {
        snprintf(listen, sizeof(listen), "[%s]:%ld", host, port);
    } else {
        snprintf(listen, sizeof(listen), "%s:%ld", host, port);
    }
    struct frond_http_route routes[] = {{"/ready", ready_route, a->tail}};
    struct frond_http_opts ho = {
        .listen_address = listen,
        .telemetry_path = o->common.telemetry_path,
        .web_config_file = o->common.web_config_file,
        .name = "frondtail",
        .description = "Tails Kubernetes container logs and pushes them to Loki.",
        .max_connections = o->common.max_requests > 0 ? (unsigned)o->common.max_requests : 40,
        .timeout_offset = o->common.scrape_timeout_offset,
        .ready = tail_ready,
        .ready_ctx = a->tail,
        .routes = routes,
        .nroutes = FROND_ARRAY_SIZE(routes),
    };
    int herr = 0;
    a->http = frond_http_start(a->reg, &ho, &herr);
    if (!a->http) {
        a->exit_code = herr == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        return -1;
    }
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%u", frond_http_port(a->http));
    frond_info("frondtail started", "version", FROND_VERSION, "listen", listen, "port", portbuf,
               "positions", a->cfg.positions_file, "dry_run", o->dry_run ? "true" : "false");

    int rc = tail_start(a->tail);
    if (rc) {
        frond_error("cannot start the reader thread", "err", strerror(-rc));
        return rc;
    }
    for (size_t i = 0; i < a->nj; i++) {
        if (journal_start(a->journals[i]) != 0) {
            return -1;
        }
    }
    a->rs.o = o;
    a->rs.tail = a->tail;
    if (o->config_file &&
        read_config_text(o->config_file, o->expand_env, &a->rs.text, &a->rs.len) != 0) {
        /* Without the running text, a reload cannot tell what changed: it is refused. */
        a->rs.text = NULL;
    }
    frond_process_run(reload, &a->rs);
    return 0;
}

/* Shutdown: stop reading, flush within the deadline, then record what Loki acknowledged. */
static int shut_down(struct app *a)
{
    for (size_t i = 0; i < a->nj; i++) {
        journal_stop(a->journals[i]);
    }
    tail_stop(a->tail);
    double deadline = frond_now_monotonic() + a->o.shutdown_timeout;
    for (size_t i = 0; i < a->nq; i++) {
        ship_queue_stop(a->queues[i], deadline);
        a->queues[i] = NULL;
    }
    if (!a->o.dry_run && tail_save_positions(a->tail) != 0) {
        return -1;
    }
    a->exit_code = FROND_EXIT_OK;
    return 0;
}

/* Whatever the steps got to, freed; stopping is idempotent, so a clean shutdown passes too. */
static void release(struct app *a)
{
    frond_http_stop(a->http);
    for (size_t i = 0; i < a->nj; i++) {
        journal_stop(a->journals[i]);
    }
    tail_stop(a->tail);
    for (size_t i = 0; i < a->nq; i++) {
        ship_queue_stop(a->queues[i], frond_now_monotonic());
    }
    tail_free(a->tail);
    /* Configs accepted by SIGHUP: nothing points into them once the tailer is gone. */
    for (size_t i = 0; i < a->rs.nkept; i++) {
        config_cleanup(a->rs.kept[i]);
        free(a->rs.kept[i]);
    }
    free(a->rs.text);
    tail_set_enricher(NULL, NULL, NULL);
    k8s_meta_stop(a->k8s);
    for (size_t i = 0; i < a->nj; i++) {
        journal_free(a->journals[i]);
    }
    if (a->have_pos) {
        positions_cleanup(&a->pos);
    }
    frond_registry_free(a->reg);
    if (a->have_cfg) {
        config_cleanup(&a->cfg);
    }
}

int main(int argc, char **argv)
{
    static struct app app;
    struct app *a = &app;
    struct opts *o = &a->o;
    /* Not given: the flags have no default, so these stay negative. */
    o->client_batch_wait = -1;
    o->client_batch_size = -1;
    a->exit_code = FROND_EXIT_FAILURE;
    positions_init(&a->pos);
    struct frond_flag flags[] = {
        {"config.file", FROND_FLAG_STRING, &o->config_file, NULL, "FRONDTAIL_CONFIG",
         "promtail-compatible YAML configuration file (none: tail /var/log/pods as CRI).", 0,
         false},
        {"config.expand-env", FROND_FLAG_BOOL, &o->expand_env, "false", NULL,
         "Expand ${VAR} and ${VAR:-default} in the config file, like promtail.", 0, false},
        {"dry-run", FROND_FLAG_BOOL, &o->dry_run, "false", NULL,
         "Print entries to stdout instead of pushing; positions are not advanced.", 0, false},
        {"check-syntax", FROND_FLAG_BOOL, &o->check_syntax, "false", NULL,
         "Validate the config file and exit (0 valid, 2 invalid).", 0, false},
        {"check-config", FROND_FLAG_BOOL, &o->check_config, "false", NULL, "Same as -check-syntax.",
         0, false},
        {"stdin", FROND_FLAG_BOOL, &o->use_stdin, "false", NULL,
         "Ship lines read from stdin with the first scrape config's static labels, then exit.", 0,
         false},
        {"positions.file", FROND_FLAG_STRING, &o->positions_file, NULL, NULL,
         "Positions file (overrides positions.filename).", 0, false},
        {"client.url", FROND_FLAG_STRING, &o->client_url, NULL, NULL,
         "Loki push URL (overrides the first client's url, or adds a client).", 0, false},
        {"client.tenant-id", FROND_FLAG_STRING, &o->client_tenant, NULL, NULL,
         "Tenant (X-Scope-OrgID) for every client, overriding tenant_id.", 0, false},
        {"client.external-labels", FROND_FLAG_STRING, &o->client_external_labels, NULL, NULL,
         "Labels added to every client's entries, as name=value,name=value (a client's own "
         "external_labels win).",
         0, false},
        {"client.batch-wait", FROND_FLAG_DURATION, &o->client_batch_wait, NULL, NULL,
         "batchwait for every client (overrides the config's).", 0, false},
        {"client.batch-size-bytes", FROND_FLAG_BYTES, &o->client_batch_size, NULL, NULL,
         "batchsize in bytes for every client (overrides the config's).", 0, false},
        {"server.http-listen-port", FROND_FLAG_INT, &o->listen_port, "-1", NULL,
         "HTTP port for /metrics and /ready (overrides server.http_listen_port; 0 = any).", 0,
         false},
        {"server.http-listen-address", FROND_FLAG_STRING, &o->listen_host, NULL, NULL,
         "HTTP listen host (overrides server.http_listen_address).", 0, false},
        {"shutdown.timeout", FROND_FLAG_DURATION, &o->shutdown_timeout, "10s", NULL,
         "How long SIGTERM waits for buffered entries to reach Loki.", 0, false},
        FROND_COMMON_FLAGS(&o->common, NULL),
    };
    struct frond_flagset fs = {"frondtail", "Tail Kubernetes container logs and push them to Loki.",
                               flags, FROND_ARRAY_SIZE(flags)};

    int rc = frond_flags_parse(&fs, argc, argv);
    if (rc == 1) {
        frond_flags_free(&fs);
        return FROND_EXIT_OK;
    }
    if (rc < 0) {
        frond_flags_free(&fs);
        return FROND_EXIT_USAGE;
    }
    rc = start_process(a);
    if (!rc) {
        rc = load_config(a, &fs);
    }
    if (!rc) {
        a->reg = frond_registry_new();
        if (!a->reg || frond_process_register_metrics(a->reg, "frondtail") != 0) {
            frond_error("cannot create the metrics registry");
            rc = -1;
        }
    }
    if (!rc && o->use_stdin) {
        rc = ship_stdin(a);
    }
    if (!rc) {
        rc = open_inputs(a);
    }
    if (!rc) {
        rc = build_outputs(a);
    }
    if (!rc) {
        rc = serve(a);
    }
    if (!rc) {
        rc = shut_down(a);
    }
    release(a);
    frond_flags_free(&fs);
    return a->exit_code;
}
