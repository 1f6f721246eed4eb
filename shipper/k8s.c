/*
 * The Kubernetes metadata watcher: one thread that keeps k8s_cache in step
 * with the pods of this node, the way client-go's reflector does it.
 *
 *   LIST  /api/v1/pods?fieldSelector=spec.nodeName=<node>
 *   WATCH /api/v1/pods?fieldSelector=...&watch=1&resourceVersion=<rv>
 *         &allowWatchBookmarks=true&timeoutSeconds=<resync_period>
 *
 * A watch that ends (timeoutSeconds, the server closing it) is re-opened
 * from the last resourceVersion seen (events and bookmarks advance it). A
 * 410 Gone, as an ERROR event or as the HTTP status of a watch, means that
 * version is compacted away: LIST again. Every other failure (connection
 * refused, TLS, 401/403, 5xx, invalid JSON) backs off exponentially
 * between backoff_min and backoff_max, then retries what failed. The
 * reader thread is never involved: it reads the cache, and a pod the cache
 * does not know is shipped with its path labels only.
 *
 * Security: the bearer token file is read before every request, so a
 * rotated projected token (kubelet rewrites it about hourly) is picked up
 * without a restart; the token is never logged. The API server's
 * certificate is verified against ca_file.
 *
 * libcurl's multi interface runs the one transfer, so that k8s_meta_stop()
 * can wake a watch that is waiting for events (curl_multi_wakeup) instead
 * of waiting up to timeoutSeconds for it to end.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frond/buf.h"
#include "frond/log.h"
#include "k8s.h"

#define K8S_TOKEN_MAX 65536
#define K8S_ERRBODY_MAX 4096
#define K8S_LIST_TIMEOUT 60L
#define K8S_CONNECT_TIMEOUT 10L

enum outcome {
    OUT_OK,     /* list done, or watch ended normally: go on */
    OUT_GONE,   /* 410: re-list */
    OUT_BROKEN, /* a watch stream that had started broke off: re-watch */
    OUT_ERROR,  /* back off, then retry */
    OUT_STOP,
};

struct k8s_meta {
    char *api; /* without trailing slash */
    char *token_file;
    char *ca_file;
    char *node;
    double resync;
    double backoff_min;
    double backoff_max;
    struct k8s_cache *cache;

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    CURLM *multi;

    /* Thread-only state. */
    char *rv; /* last resourceVersion */
    struct k8s_parser *parser;
    bool watching;  /* the transfer is a watch (events) rather than a list */
    bool listing;   /* begin_list was called for this list response */
    long status;    /* HTTP status of the transfer, once the body starts */
    bool gone;      /* an ERROR event with code 410 arrived */
    bool bad_event; /* an ERROR event with another code */
    struct frond_buf errbody;
    char last_err[256]; /* logged once until it changes */

    struct frond_series *hits;
    struct frond_series *misses;
    struct frond_series *restarts;
    struct frond_series *relists;
    struct frond_series *errors;
    struct frond_series *cached;
    struct frond_series *synced;
    struct frond_series *ev[K8S_EV_UNKNOWN + 1];

    /*
     * The tailer asks once per client and stream for the same file; the
     * hit/miss counters count files, so repeats of the last lookup (same
     * pod, same cache generation) are not counted again.
     */
    pthread_mutex_t memo_mu;
    char memo[3 * K8S_MAX_STR + 3];
    size_t memo_len;
    uint64_t memo_gen;
    bool curl_inited;
};

static char *dup_or(const char *v, const char *def)
{
    return strdup(v ? v : def);
}

/* https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, brackets for IPv6. */
static char *api_from_env(void)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host) {
        return NULL;
    }
    char buf[512];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, sizeof(buf), "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
             port && *port ? port : "443");
    return strdup(buf);
}

static double now_mono(void)
{
    return frond_now_monotonic();
}

/* ---- metrics ---- */

static struct frond_series *counter(struct frond_registry *reg, const char *name, const char *help)
{
    struct frond_metric *m = reg ? frond_registry_counter(reg, name, help, NULL) : NULL;
    return m ? frond_metric_series(m, NULL) : NULL;
}

static void metrics_init(struct k8s_meta *m, struct frond_registry *reg)
{
    m->hits = counter(reg, "frondtail_kubernetes_metadata_hits_total",
                      "Label lookups that found their pod in the Kubernetes metadata cache.");
    m->misses = counter(reg, "frondtail_kubernetes_metadata_misses_total",
                        "Label lookups whose pod was not (yet) in the cache: shipped with the "
                        "path labels only.");
    m->restarts = counter(reg, "frondtail_kubernetes_metadata_watch_restarts_total",
                          "Pod watches re-opened from the last resourceVersion after they ended.");
    m->relists = counter(reg, "frondtail_kubernetes_metadata_relists_total",
                         "Pod lists after the first (410 Gone, or after an API error).");
    m->errors = counter(reg, "frondtail_kubernetes_metadata_api_errors_total",
                        "Failed Kubernetes API requests (connection, TLS, HTTP status, JSON).");
    struct frond_metric *g =
        reg ? frond_registry_gauge(reg, "frondtail_kubernetes_metadata_pods_cached",
                                   "Pods of this node in the metadata cache.", NULL)
            : NULL;
    m->cached = g ? frond_metric_series(g, NULL) : NULL;
    g = reg ? frond_registry_gauge(reg, "frondtail_kubernetes_metadata_synced",
                                   "1 while the pod cache is in step with the API (listed and "
                                   "watching), 0 while requests fail.",
                                   NULL)
            : NULL;
    m->synced = g ? frond_metric_series(g, NULL) : NULL;
    static const char *const names[] = {"type", NULL};
    struct frond_metric *ev =
        reg ? frond_registry_counter(reg, "frondtail_kubernetes_metadata_watch_events_total",
                                     "Pod watch events received, by type.", names)
            : NULL;
    static const char *const types[] = {"",         "ADDED", "MODIFIED", "DELETED",
                                        "BOOKMARK", "ERROR", "unknown"};
    for (int t = K8S_EV_ADDED; ev && t <= K8S_EV_UNKNOWN; t++) {
        const char *v[] = {types[t], NULL};
        m->ev[t] = frond_metric_series(ev, v);
    }
}

/* ---- parser callbacks ---- */

static int on_item(void *ctx, const struct k8s_pod *pod)
{
    struct k8s_meta *m = ctx;
    /* The field selector already filters; a pod bound elsewhere is never cached anyway. */
    if (pod->node_name && *pod->node_name && strcmp(pod->node_name, m->node) != 0) {
        return 0;
    }
    int rc = k8s_cache_upsert(m->cache, pod, now_mono());
    if (rc == -ENOSPC) {
        frond_warn("kubernetes metadata cache full; pod ignored", "limit", "16384");
        rc = 0;
    }
    return rc;
}

static int set_rv(struct k8s_meta *m, const char *rv)
{
    if (!rv || !*rv) {
        return 0;
    }
    char *n = strdup(rv);
    if (!n) {
        return -ENOMEM;
    }
    free(m->rv);
    m->rv = n;
    return 0;
}

static int on_value(void *ctx, const struct k8s_value *v)
{
    struct k8s_meta *m = ctx;
    if (!m->watching) {
        /* The PodList itself: its resourceVersion is where the watch starts. */
        return set_rv(m, v->resource_version);
    }
    if (v->type > K8S_EV_NONE && v->type <= K8S_EV_UNKNOWN) {
        frond_series_inc(m->ev[v->type]);
    }
    double now = now_mono();
    int rc = 0;
    switch (v->type) {
    case K8S_EV_ADDED:
    case K8S_EV_MODIFIED:
        if (v->pod) {
            rc = on_item(m, v->pod);
        }
        break;
    case K8S_EV_DELETED:
        if (v->pod) {
            k8s_cache_delete(m->cache, v->pod->namespace, v->pod->name, now);
        }
        break;
    case K8S_EV_ERROR:
        /* The server ends the watch after an ERROR; stop reading it now. */
        if (v->code == 410) {
            m->gone = true;
        } else {
            m->bad_event = true;
            frond_warn("kubernetes watch error event", "code",
                       v->code == 0 ? "none" : (v->code >= 500 ? "5xx" : "4xx"), "message",
                       v->message ? v->message : "");
        }
        return -ECANCELED;
    default:
        break;
    }
    if (!rc && v->type != K8S_EV_UNKNOWN && v->type != K8S_EV_NONE) {
        rc = set_rv(m, v->resource_version);
    }
    frond_series_set(m->cached, (double)k8s_cache_size(m->cache));
    return rc;
}

/* ---- HTTP ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct k8s_meta *m = ctx;
    size_t len = size * nmemb;
    if (m->status != 200) {
        /* An error body (a Status object) is kept, bounded, for the log and for 410. */
        size_t room = K8S_ERRBODY_MAX > m->errbody.len ? K8S_ERRBODY_MAX - m->errbody.len : 0;
        if (frond_buf_append(&m->errbody, data, len < room ? len : room) != 0) {
            return 0;
        }
        return len;
    }
    if (!m->watching && !m->listing) {
        k8s_cache_begin_list(m->cache);
        m->listing = true;
    }
    return k8s_parser_feed(m->parser, data, len) == 0 ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct k8s_meta *m = ctx;
    size_t len = size * nmemb;
    /* The status line of the final response (after any 100 Continue). */
    if (len > 9 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);
        if (sp && (size_t)(sp - data) + 4 <= len) {
            m->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        }
    }
    return len;
}

static int status_value(void *ctx, const struct k8s_value *v)
{
    char *out = ctx;
    if (v->message && !out[0]) {
        snprintf(out, 256, "%s", v->message);
    }
    return 0;
}

/*
 * The message of an error answer's Status object ("pods is forbidden: User
 * ... cannot list resource", the usual missing RBAC rule), for the log.
 * The server never echoes the token, so the message is safe to log.
 */
static void status_message(struct frond_buf *body, char *out, size_t outsz)
{
    char msg[256] = "";
    struct k8s_parse_cb cb = {NULL, status_value, msg};
    struct k8s_parser *p = body->len ? k8s_parser_new(&cb) : NULL;
    /* A body that is not JSON (a proxy's HTML page) just leaves the message empty. */
    if (p && k8s_parser_feed(p, body->data, body->len) == 0 && k8s_parser_finish(p) != 0) {
        msg[0] = '\0';
    }
    k8s_parser_free(p);
    snprintf(out, outsz, "%s", msg);
}

/* Read the service account token; it may have been rotated since the last request. */
static int read_token(const char *path, char **out)
{
    *out = NULL;
    if (!path || !*path) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    char *buf = malloc(K8S_TOKEN_MAX + 1);
    size_t len = 0;
    int rc = buf ? 0 : -ENOMEM;
    while (!rc && len < K8S_TOKEN_MAX) {
        ssize_t n = read(fd, buf + len, K8S_TOKEN_MAX - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
        } else if (n == 0) {
            break;
        } else {
            len += (size_t)n;
        }
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) {
        len--;
    }
    buf[len] = '\0';
    if (len == 0 || strpbrk(buf, "\r\n")) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    return 0;
}

/* Log an API failure once per distinct reason, so an outage is one line, not one per retry. */
static void report(struct k8s_meta *m, const char *what, const char *detail)
{
    char msg[sizeof(m->last_err)];
    snprintf(msg, sizeof(msg), "%s: %s", what, detail);
    frond_series_inc(m->errors);
    frond_series_set(m->synced, 0);
    if (strcmp(msg, m->last_err) != 0) {
        frond_warn("kubernetes API request failed; pods keep their path labels until it works",
                   "request", what, "error", detail);
        snprintf(m->last_err, sizeof(m->last_err), "%s", msg);
    }
}

static char *build_url(struct k8s_meta *m, CURL *e, bool watch)
{
    char *sel_raw = NULL, *rv = NULL, *url = NULL;
    char sel[600];
    snprintf(sel, sizeof(sel), "spec.nodeName=%s", m->node);
    sel_raw = curl_easy_escape(e, sel, 0);
    if (watch && m->rv) {
        rv = curl_easy_escape(e, m->rv, 0);
    }
    if (sel_raw && (!watch || !m->rv || rv)) {
        struct frond_buf b;
        frond_buf_init(&b, 8192);
        int rc = frond_buf_printf(&b, "%s/api/v1/pods?fieldSelector=%s", m->api, sel_raw);
        if (!rc && watch) {
            rc = frond_buf_printf(&b, "&watch=1&allowWatchBookmarks=true&timeoutSeconds=%ld",
                                  (long)m->resync);
        }
        if (!rc && rv) {
            rc = frond_buf_printf(&b, "&resourceVersion=%s", rv);
        }
        if (!rc) {
            url = strndup(b.data, b.len);
        }
        frond_buf_cleanup(&b);
    }
    curl_free(sel_raw);
    curl_free(rv);
    return url;
}

/* One LIST or WATCH. Applies what it reads to the cache as it arrives. */
static enum outcome request(struct k8s_meta *m, bool watch)
{
    CURL *e = NULL;
    char *url = NULL, *token = NULL, *auth = NULL;
    struct curl_slist *hdrs = NULL;
    struct k8s_parse_cb cb = {on_item, on_value, m};
    enum outcome out = OUT_ERROR;
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *what = watch ? "watch pods" : "list pods";

    m->watching = watch;
    m->listing = false;
    m->status = 0;
    m->gone = false;
    m->bad_event = false;
    frond_buf_reset(&m->errbody);
    m->parser = k8s_parser_new(&cb);
    e = curl_easy_init();
    url = e ? build_url(m, e, watch) : NULL;
    if (!m->parser || !e || !url) {
        report(m, what, "out of memory");
        goto out;
    }
    int trc = read_token(m->token_file, &token);
    if (trc) {
        report(m, what,
               trc == -EINVAL ? "token file is empty or malformed"
                              : "cannot read the service account token file");
        goto out;
    }
    if (token) {
        size_t n = strlen(token) + 32;
        auth = malloc(n);
        if (!auth) {
            report(m, what, "out of memory");
            goto out;
        }
        snprintf(auth, n, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    struct curl_slist *h2 = curl_slist_append(hdrs, "Accept: application/json");
    if (!h2) {
        report(m, what, "out of memory");
        goto out;
    }
    hdrs = h2;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, m);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, m);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, K8S_CONNECT_TIMEOUT);
    /* A watch is bounded by timeoutSeconds on the server; this catches a dead connection. */
    curl_easy_setopt(e, CURLOPT_TIMEOUT, watch ? (long)m->resync + 30L : K8S_LIST_TIMEOUT);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (m->ca_file && *m->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, m->ca_file);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);

    CURLcode cc = CURLE_OK;
    if (curl_multi_add_handle(m->multi, e) != CURLM_OK) {
        report(m, what, "curl_multi_add_handle failed");
        goto out;
    }
    int running = 1;
    while (running && !atomic_load(&m->stop)) {
        if (curl_multi_perform(m->multi, &running) != CURLM_OK) {
            break;
        }
        if (running) {
            curl_multi_poll(m->multi, NULL, 0, 1000, NULL);
        }
    }
    int left = 0;
    CURLMsg *msg;
    bool done = false;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) {
            cc = msg->data.result;
            done = true;
        }
    }
    curl_multi_remove_handle(m->multi, e);
    if (atomic_load(&m->stop)) {
        out = OUT_STOP;
        goto out;
    }
    if (!done) {
        report(m, what, "transfer did not complete");
        goto out;
    }
    if (m->gone || (m->status == 410)) {
        out = OUT_GONE;
        goto out;
    }
    if (m->bad_event) {
        report(m, what, "ERROR event in the watch stream");
        goto out;
    }
    if (watch && m->status == 200 && cc != CURLE_OK && cc != CURLE_WRITE_ERROR) {
        /* Events read so far are applied; the stream resumes from the last version. */
        frond_debug("kubernetes watch stream broke off; watching again", "error",
                    errbuf[0] ? errbuf : curl_easy_strerror(cc));
        out = OUT_BROKEN;
        goto out;
    }
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && m->status == 200)) {
        report(m, what, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    if (m->status != 200) {
        char st[320];
        char smsg[256] = "";
        status_message(&m->errbody, smsg, sizeof(smsg));
        snprintf(st, sizeof(st), "HTTP %ld%s%s", m->status, smsg[0] ? ": " : "", smsg);
        report(m, what, st);
        goto out;
    }
    int prc = cc == CURLE_OK ? k8s_parser_finish(m->parser) : -EPROTO;
    if (prc) {
        report(m, what, k8s_parser_error(m->parser));
        goto out;
    }
    if (!watch) {
        k8s_cache_end_list(m->cache, now_mono());
        frond_series_set(m->cached, (double)k8s_cache_size(m->cache));
    }
    if (m->last_err[0]) {
        frond_info("kubernetes API requests work again", "request", what);
        m->last_err[0] = '\0';
    }
    frond_series_set(m->synced, 1);
    out = OUT_OK;
out:
    k8s_parser_free(m->parser);
    m->parser = NULL;
    curl_slist_free_all(hdrs);
    if (auth) {
        memset(auth, 0, strlen(auth));
    }
    if (token) {
        memset(token, 0, strlen(token));
    }
    free(auth);
    free(token);
    free(url);
    if (e) {
        curl_easy_cleanup(e);
    }
    return out;
}

/* Sleep up to `secs`, or until stop. */
static void wait_for(struct k8s_meta *m, double secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + secs;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop)) {
        if (pthread_cond_timedwait(&m->cond, &m->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

static void *run(void *arg)
{
    struct k8s_meta *m = arg;
    bool need_list = true, listed_once = false;
    double backoff = m->backoff_min;
    while (!atomic_load(&m->stop)) {
        enum outcome o;
        if (need_list) {
            if (listed_once) {
                frond_series_inc(m->relists);
            }
            o = request(m, false);
            if (o == OUT_OK) {
                need_list = false;
                listed_once = true;
                frond_debug("kubernetes pods listed", "resource_version", m->rv ? m->rv : "");
            }
        } else {
            double began = now_mono();
            o = request(m, true);
            /* A server that ends every watch at once (ignoring timeoutSeconds) must not spin us. */
            if (o == OUT_OK && now_mono() - began < 1) {
                o = OUT_BROKEN;
            }
            if (o == OUT_OK || o == OUT_BROKEN) {
                frond_series_inc(m->restarts);
            } else if (o == OUT_GONE) {
                frond_info("kubernetes watch expired (410 Gone); listing pods again");
                need_list = true;
            }
        }
        k8s_cache_expire(m->cache, now_mono());
        if (o == OUT_ERROR) {
            wait_for(m, backoff);
            backoff = backoff * 2 > m->backoff_max ? m->backoff_max : backoff * 2;
            /* Without a version to resume from, only a list can resync. */
            if (!m->rv) {
                need_list = true;
            }
        } else if (o == OUT_BROKEN) {
            /* Not an API failure, but a stream cut at once must not make a busy loop. */
            wait_for(m, m->backoff_min);
        } else if (o == OUT_OK) {
            backoff = m->backoff_min;
        }
    }
    return NULL;
}

struct k8s_meta *k8s_meta_start(const struct k8s_meta_config *cfg, struct frond_registry *reg)
{
    struct k8s_meta *m = calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->memo_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    frond_buf_init(&m->errbody, K8S_ERRBODY_MAX + 1);

    const char *node = cfg->node_name && *cfg->node_name ? cfg->node_name : getenv("NODE_NAME");
    if (!node || !*node) {
        node = getenv("HOSTNAME");
    }
    m->api = cfg->api_server && *cfg->api_server ? strdup(cfg->api_server) : api_from_env();
    if (!m->api) {
        frond_error("kubernetes_metadata: no api_server and no KUBERNETES_SERVICE_HOST; "
                    "running without pod metadata");
        goto fail;
    }
    if (!node || !*node) {
        frond_error("kubernetes_metadata: no node_name and no NODE_NAME or HOSTNAME; refusing "
                    "to watch every pod of the cluster, running without pod metadata");
        goto fail;
    }
    size_t al = strlen(m->api);
    while (al > 0 && m->api[al - 1] == '/') {
        m->api[--al] = '\0';
    }
    m->node = strdup(node);
    m->token_file = dup_or(cfg->token_file, K8S_DEFAULT_TOKEN_FILE);
    m->ca_file = dup_or(cfg->ca_file, K8S_DEFAULT_CA_FILE);
    m->resync = cfg->resync_period >= 1 ? cfg->resync_period : 300;
    m->backoff_min = cfg->backoff_min > 0 ? cfg->backoff_min : 0.5;
    m->backoff_max = cfg->backoff_max >= m->backoff_min ? cfg->backoff_max : 30;
    if (m->backoff_max < m->backoff_min) {
        m->backoff_max = m->backoff_min;
    }
    struct k8s_cache_opts co = {
        .labels = (const char *const *)cfg->labels,
        .nlabels = cfg->nlabels,
        .controller_label = cfg->controller_label,
    };
    m->cache = k8s_cache_new(&co);
    /* Reference-counted by libcurl; the push queues (push.c) init it too. */
    m->curl_inited = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    m->multi = m->curl_inited ? curl_multi_init() : NULL;
    if (!m->node || !m->token_file || !m->ca_file || !m->cache || !m->multi) {
        goto fail;
    }
    metrics_init(m, reg);
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        goto fail;
    }
    m->started = true;
    frond_info("kubernetes metadata enabled", "api_server", m->api, "node", m->node);
    return m;
fail:
    k8s_meta_stop(m);
    return NULL;
}

void k8s_meta_stop(struct k8s_meta *m)
{
    if (!m) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->stop, true);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
    if (m->multi) {
        curl_multi_wakeup(m->multi);
    }
    if (m->started) {
        pthread_join(m->thread, NULL);
    }
    if (m->multi) {
        curl_multi_cleanup(m->multi);
    }
    if (m->curl_inited) {
        curl_global_cleanup();
    }
    k8s_cache_free(m->cache);
    frond_buf_cleanup(&m->errbody);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->memo_mu);
    free(m->api);
    free(m->token_file);
    free(m->ca_file);
    free(m->node);
    free(m->rv);
    free(m);
}

/* True when (ns, pod, uid) at this generation was the last lookup counted; remembers it. */
static bool repeat_lookup(struct k8s_meta *m, const char *ns, const char *pod, const char *uid)
{
    char key[sizeof(m->memo)];
    int n = snprintf(key, sizeof(key), "%s%c%s%c%s", ns, 0, pod, 0, uid ? uid : "");
    if (n < 0 || (size_t)n >= sizeof(key)) {
        return false;
    }
    uint64_t gen = k8s_cache_generation(m->cache);
    pthread_mutex_lock(&m->memo_mu);
    bool same =
        m->memo_len == (size_t)n && m->memo_gen == gen && memcmp(m->memo, key, (size_t)n) == 0;
    memcpy(m->memo, key, (size_t)n);
    m->memo_len = (size_t)n;
    m->memo_gen = gen;
    pthread_mutex_unlock(&m->memo_mu);
    return same;
}

int k8s_meta_labels(struct k8s_meta *m, const char *ns, const char *pod, const char *uid,
                    struct labels_set *s)
{
    if (!m || !ns || !pod) {
        return 0;
    }
    bool repeat = repeat_lookup(m, ns, pod, uid);
    int rc = k8s_cache_labels(m->cache, ns, pod, uid, s);
    if (!repeat) {
        frond_series_inc(rc > 0 ? m->hits : rc == 0 ? m->misses : NULL);
    }
    return rc;
}

uint64_t k8s_meta_generation(struct k8s_meta *m)
{
    return m ? k8s_cache_generation(m->cache) : 0;
}

int k8s_meta_enrich(void *ctx, const char *path, struct labels_set *s)
{
    const char *ns = labels_get(s, "namespace");
    const char *pod = labels_get(s, "pod");
    if (!ctx || !ns || !pod) {
        return 0; /* not a kubelet pod log: nothing to look up */
    }
    const char *uid = labels_get(s, "pod_uid");
    struct labels_set tmp;
    labels_init(&tmp);
    int err = 0;
    if (!uid && path && labels_from_kubelet_path(path, true, &tmp, &err)) {
        uid = labels_get(&tmp, "pod_uid");
    }
    int rc = err ? err : k8s_meta_labels(ctx, ns, pod, uid, s);
    labels_cleanup(&tmp);
    return rc;
}

uint64_t k8s_meta_enrich_gen(void *ctx)
{
    return k8s_meta_generation(ctx);
}
