/*
 * The Kubernetes side of frondtail's metadata that needs no network: a
 * streaming parser (yajl) for the API server's pod JSON, and the cache the
 * watcher fills and the reader thread reads.
 *
 * The parser reads any sequence of top-level JSON values, because the
 * same code handles a PodList (one value, `items` emitted one by one so a
 * big list is never held whole) and a watch stream (newline-delimited
 * events `{"type":..,"object":..}`). It keeps only the fields frondtail
 * uses; everything else is skipped whatever its type, and a field of the
 * wrong type is treated as absent, so a newer API server with more fields
 * or an odd object cannot break it. Strings longer than K8S_MAX_STR are
 * ignored rather than truncated (a truncated name would match the wrong
 * pod).
 *
 * The cache is a flat array searched linearly: it holds the pods of one
 * node (kubelet's maxPods defaults to 110), and it is read once per file
 * open, so a hash table would buy nothing. Entries hold the labels
 * already derived (app, copied pod labels, controller), so a lookup is a
 * search plus a few copies under the read lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "frond/json.h"
#include "k8s.h"

#define K8S_MAX_DEPTH 64

bool k8s_label_name(const char *key, char *out, size_t outsz)
{
    size_t n = 0;
    if (!key || !*key || outsz < 2) {
        return false;
    }
    if (key[0] >= '0' && key[0] <= '9') {
        out[n++] = '_';
    }
    for (const char *k = key; *k; k++) {
        char ch = *k;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_';
        if (n + 1 >= outsz) {
            return false;
        }
        out[n++] = ok ? ch : '_';
    }
    out[n] = '\0';
    return true;
}

/* ---- pods ---- */

void k8s_pod_cleanup(struct k8s_pod *p)
{
    free(p->name);
    free(p->namespace);
    free(p->uid);
    free(p->resource_version);
    free(p->node_name);
    free(p->controller_kind);
    free(p->controller_name);
    for (size_t i = 0; i < p->nlabels; i++) {
        free(p->labels[i].key);
        free(p->labels[i].value);
    }
    memset(p, 0, sizeof(*p));
}

const char *k8s_pod_label(const struct k8s_pod *p, const char *key)
{
    for (size_t i = 0; i < p->nlabels; i++) {
        if (strcmp(p->labels[i].key, key) == 0) {
            return p->labels[i].value;
        }
    }
    return NULL;
}

static bool is_hex_suffix(const char *s, size_t len)
{
    if (len < 8 || len > 10) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/*
 * A ReplicaSet made by a Deployment is named <deployment>-<pod-template-hash>.
 * The pod carries the hash as a label, which identifies the suffix exactly
 * (its alphabet is not hex: "5b7d9c6fd8" and "7c5ddbdf54" both occur).
 * Without that label, fall back on the Helm chart's regex, which strips a
 * suffix of 8 to 10 hex digits.
 */
static size_t controller_base_len(const struct k8s_pod *p)
{
    const char *name = p->controller_name;
    size_t len = strlen(name);
    if (strcmp(p->controller_kind ? p->controller_kind : "", "ReplicaSet") != 0) {
        return len;
    }
    const char *hash = k8s_pod_label(p, "pod-template-hash");
    if (hash && *hash) {
        size_t hl = strlen(hash);
        if (len > hl + 1 && name[len - hl - 1] == '-' && strcmp(name + len - hl, hash) == 0) {
            return len - hl - 1;
        }
    }
    const char *dash = strrchr(name, '-');
    if (dash && dash > name && is_hex_suffix(dash + 1, strlen(dash + 1))) {
        return (size_t)(dash - name);
    }
    return len;
}

bool k8s_pod_app(const struct k8s_pod *p, char *out, size_t outsz)
{
    const char *v = k8s_pod_label(p, "app.kubernetes.io/name");
    size_t len = 0;
    if (!v || !*v) {
        v = k8s_pod_label(p, "app");
    }
    if (v && *v) {
        len = strlen(v);
    } else if (p->controller_name && *p->controller_name) {
        v = p->controller_name;
        len = controller_base_len(p);
    } else if (p->name && *p->name) {
        v = p->name;
        len = strlen(v);
    }
    if (!v || len == 0 || len >= outsz) {
        return false;
    }
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

/* ---- the parser ---- */

/* What the container being parsed is, from its parent and the key it hangs off. */
enum role {
    R_IGNORE,
    R_ROOT,      /* a top-level map: PodList, watch event or Status */
    R_LIST_META, /* PodList metadata */
    R_ITEMS,     /* PodList items */
    R_OBJ,       /* a pod (list item or event object), or an event's Status */
    R_OBJ_META,
    R_LABELS,
    R_OWNERS,
    R_OWNER,
    R_SPEC,
};

struct level {
    enum role role;
    bool is_map;
    bool key_ok;   /* key fits in `key` */
    char key[320]; /* a label key is at most 317 bytes (253 prefix, '/', 63 name) */
};

struct owner {
    char *kind;
    char *name;
    bool controller;
};

struct k8s_parser {
    yajl_handle h;
    struct k8s_parse_cb cb;
    int cb_rc;
    int depth; /* open containers */
    struct level lv[K8S_MAX_DEPTH];
    /* The value being parsed. */
    enum k8s_event_type type;
    char *kind;     /* top-level "kind" */
    char *obj_kind; /* the event object's "kind" */
    char *list_rv;
    long code;
    char *message;
    bool in_event_obj; /* the current R_OBJ is an event's object, not a list item */
    bool have_pod;
    struct k8s_pod pod;
    struct owner owner;
    char err[160];
};

static void value_reset(struct k8s_parser *p)
{
    free(p->kind);
    free(p->obj_kind);
    free(p->list_rv);
    free(p->message);
    free(p->owner.kind);
    free(p->owner.name);
    p->kind = p->obj_kind = p->list_rv = p->message = NULL;
    memset(&p->owner, 0, sizeof(p->owner));
    p->type = K8S_EV_NONE;
    p->code = 0;
    p->have_pod = false;
    p->in_event_obj = false;
    k8s_pod_cleanup(&p->pod);
}

static struct level *top(struct k8s_parser *p)
{
    return p->depth > 0 && p->depth <= K8S_MAX_DEPTH ? &p->lv[p->depth - 1] : NULL;
}

static bool key_is(const struct level *l, const char *k)
{
    return l && l->is_map && l->key_ok && strcmp(l->key, k) == 0;
}

/* Replace *dst with a copy of a bounded string. -ENOMEM; too long: left as is. */
static int set_str(char **dst, const unsigned char *s, size_t len)
{
    if (len > K8S_MAX_STR || memchr(s, '\0', len)) {
        return 0;
    }
    char *v = strndup((const char *)s, len);
    if (!v) {
        return -ENOMEM;
    }
    free(*dst);
    *dst = v;
    return 0;
}

static enum k8s_event_type event_type(const unsigned char *s, size_t len)
{
    static const struct {
        const char *name;
        enum k8s_event_type t;
    } types[] = {
        {"ADDED", K8S_EV_ADDED},       {"MODIFIED", K8S_EV_MODIFIED}, {"DELETED", K8S_EV_DELETED},
        {"BOOKMARK", K8S_EV_BOOKMARK}, {"ERROR", K8S_EV_ERROR},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(types); i++) {
        if (strlen(types[i].name) == len && memcmp(types[i].name, s, len) == 0) {
            return types[i].t;
        }
    }
    return K8S_EV_UNKNOWN;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct k8s_parser *p = ctx;
    struct level *l = top(p);
    if (!l) {
        return 1; /* a top-level scalar is not a value we know; skipped */
    }
    switch (l->role) {
    case R_ROOT:
        if (key_is(l, "type")) {
            p->type = event_type(s, len);
        } else if (key_is(l, "kind")) {
            p->cb_rc = set_str(&p->kind, s, len);
        } else if (key_is(l, "message")) {
            p->cb_rc = set_str(&p->message, s, len);
        }
        break;
    case R_LIST_META:
        if (key_is(l, "resourceVersion")) {
            p->cb_rc = set_str(&p->list_rv, s, len);
        }
        break;
    case R_OBJ:
        if (key_is(l, "kind") && p->in_event_obj) {
            p->cb_rc = set_str(&p->obj_kind, s, len);
        } else if (key_is(l, "message") && p->in_event_obj) {
            p->cb_rc = set_str(&p->message, s, len);
        }
        break;
    case R_OBJ_META:
        if (key_is(l, "name")) {
            p->cb_rc = set_str(&p->pod.name, s, len);
        } else if (key_is(l, "namespace")) {
            p->cb_rc = set_str(&p->pod.namespace, s, len);
        } else if (key_is(l, "uid")) {
            p->cb_rc = set_str(&p->pod.uid, s, len);
        } else if (key_is(l, "resourceVersion")) {
            p->cb_rc = set_str(&p->pod.resource_version, s, len);
        }
        break;
    case R_LABELS:
        /* A key longer than any valid label key is ignored, like a long value. */
        if (l->key_ok && p->pod.nlabels < K8S_MAX_POD_LABELS && len <= K8S_MAX_STR &&
            !memchr(s, '\0', len)) {
            struct k8s_kv *kv = &p->pod.labels[p->pod.nlabels];
            kv->key = strdup(l->key);
            kv->value = strndup((const char *)s, len);
            if (!kv->key || !kv->value) {
                free(kv->key);
                free(kv->value);
                kv->key = kv->value = NULL;
                p->cb_rc = -ENOMEM;
            } else {
                p->pod.nlabels++;
            }
        }
        break;
    case R_OWNER:
        if (key_is(l, "kind")) {
            p->cb_rc = set_str(&p->owner.kind, s, len);
        } else if (key_is(l, "name")) {
            p->cb_rc = set_str(&p->owner.name, s, len);
        }
        break;
    case R_SPEC:
        if (key_is(l, "nodeName")) {
            p->cb_rc = set_str(&p->pod.node_name, s, len);
        }
        break;
    default:
        break;
    }
    return p->cb_rc ? 0 : 1;
}

static int on_boolean(void *ctx, int b)
{
    struct k8s_parser *p = ctx;
    struct level *l = top(p);
    if (l && l->role == R_OWNER && key_is(l, "controller")) {
        p->owner.controller = b != 0;
    }
    return 1;
}

static int on_number(void *ctx, const char *s, size_t len)
{
    struct k8s_parser *p = ctx;
    struct level *l = top(p);
    bool status_code = l && ((l->role == R_ROOT && key_is(l, "code")) ||
                             (l->role == R_OBJ && p->in_event_obj && key_is(l, "code")));
    if (status_code && len < 12) {
        char buf[12];
        memcpy(buf, s, len);
        buf[len] = '\0';
        char *end = NULL;
        long v = strtol(buf, &end, 10);
        if (end && *end == '\0') {
            p->code = v;
        }
    }
    return 1;
}

static int on_null(void *ctx)
{
    (void)ctx;
    return 1;
}

/* The role of a container opening under the current level. */
static enum role child_role(struct k8s_parser *p, bool is_map)
{
    struct level *l = top(p);
    if (!l) {
        return is_map ? R_ROOT : R_IGNORE;
    }
    switch (l->role) {
    case R_ROOT:
        if (is_map && key_is(l, "metadata")) {
            return R_LIST_META;
        }
        if (!is_map && key_is(l, "items")) {
            return R_ITEMS;
        }
        if (is_map && key_is(l, "object")) {
            return R_OBJ;
        }
        return R_IGNORE;
    case R_ITEMS:
        return is_map ? R_OBJ : R_IGNORE;
    case R_OBJ:
        if (is_map && key_is(l, "metadata")) {
            return R_OBJ_META;
        }
        if (is_map && key_is(l, "spec")) {
            return R_SPEC;
        }
        return R_IGNORE;
    case R_OBJ_META:
        if (is_map && key_is(l, "labels")) {
            return R_LABELS;
        }
        if (!is_map && key_is(l, "ownerReferences")) {
            return R_OWNERS;
        }
        return R_IGNORE;
    case R_OWNERS:
        return is_map ? R_OWNER : R_IGNORE;
    default:
        return R_IGNORE;
    }
}

static int open_level(struct k8s_parser *p, bool is_map)
{
    if (p->depth >= K8S_MAX_DEPTH) {
        /* Deeper than any pod field we read: counted, not stored. */
        p->depth++;
        return 1;
    }
    enum role r = child_role(p, is_map);
    if (r == R_OBJ) {
        struct level *l = top(p);
        k8s_pod_cleanup(&p->pod);
        p->in_event_obj = l && l->role == R_ROOT;
    }
    if (r == R_OWNER) {
        free(p->owner.kind);
        free(p->owner.name);
        memset(&p->owner, 0, sizeof(p->owner));
    }
    struct level *n = &p->lv[p->depth++];
    n->role = r;
    n->is_map = is_map;
    n->key_ok = false;
    n->key[0] = '\0';
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_level(ctx, true);
}

static int on_start_array(void *ctx)
{
    return open_level(ctx, false);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    struct k8s_parser *p = ctx;
    struct level *l = top(p);
    if (!l) {
        return 1;
    }
    size_t cap = sizeof(l->key) - 1;
    l->key_ok = len <= cap && !memchr(s, '\0', len);
    if (l->key_ok) {
        memcpy(l->key, s, len);
        l->key[len] = '\0';
    }
    return 1;
}

static int close_level(struct k8s_parser *p)
{
    if (p->depth > K8S_MAX_DEPTH) {
        p->depth--;
        return 1;
    }
    struct level *l = top(p);
    if (!l) {
        return 1;
    }
    enum role r = l->role;
    p->depth--;
    if (r == R_OWNER) {
        /* The managing controller is the one ownerReference with controller: true. */
        if (p->owner.controller && p->owner.kind && p->owner.name && !p->pod.controller_kind) {
            p->pod.controller_kind = p->owner.kind;
            p->pod.controller_name = p->owner.name;
            p->owner.kind = p->owner.name = NULL;
        }
    } else if (r == R_OBJ) {
        if (!p->in_event_obj) {
            if (p->cb.item) {
                p->cb_rc = p->cb.item(p->cb.ctx, &p->pod);
            }
            k8s_pod_cleanup(&p->pod);
        } else {
            p->have_pod = true;
        }
    } else if (r == R_ROOT && p->depth == 0) {
        struct k8s_value v = {
            .type = p->type,
            .kind = p->in_event_obj ? p->obj_kind : p->kind,
            .resource_version = p->list_rv,
            .code = p->code,
            .message = p->message,
            .pod = NULL,
        };
        if (p->have_pod) {
            v.resource_version = p->pod.resource_version;
            bool status = v.kind && strcmp(v.kind, "Status") == 0;
            if (!status) {
                v.pod = &p->pod;
            }
        }
        if (p->cb.value) {
            p->cb_rc = p->cb.value(p->cb.ctx, &v);
        }
        value_reset(p);
    }
    return p->cb_rc ? 0 : 1;
}

static int on_end_map(void *ctx)
{
    return close_level(ctx);
}

static int on_end_array(void *ctx)
{
    return close_level(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

struct k8s_parser *k8s_parser_new(const struct k8s_parse_cb *cb)
{
    struct k8s_parser *p = calloc(1, sizeof(*p));
    if (!p) {
        return NULL;
    }
    p->cb = *cb;
    p->h = yajl_alloc(&callbacks, NULL, p);
    if (!p->h) {
        free(p);
        return NULL;
    }
    /* A watch stream is a sequence of JSON values, one per line. */
    yajl_config(p->h, yajl_allow_multiple_values, 1);
    return p;
}

void k8s_parser_free(struct k8s_parser *p)
{
    if (!p) {
        return;
    }
    yajl_free(p->h);
    value_reset(p);
    free(p);
}

static int status_rc(struct k8s_parser *p, yajl_status st, const void *data, size_t len)
{
    return frond_json_status(p->h, st, data, len, p->cb_rc, p->err, sizeof(p->err));
}

int k8s_parser_feed(struct k8s_parser *p, const void *data, size_t len)
{
    if (p->cb_rc) {
        return p->cb_rc;
    }
    return status_rc(p, yajl_parse(p->h, data, len), data, len);
}

int k8s_parser_finish(struct k8s_parser *p)
{
    if (p->cb_rc) {
        return p->cb_rc;
    }
    int rc = status_rc(p, yajl_complete_parse(p->h), NULL, 0);
    if (!rc && p->depth != 0) {
        snprintf(p->err, sizeof(p->err), "truncated JSON");
        rc = -EPROTO;
    }
    return rc;
}

const char *k8s_parser_error(const struct k8s_parser *p)
{
    return p->err[0] ? p->err : "no error";
}

/* ---- the cache ---- */

struct entry {
    char *ns;
    char *name;
    char *uid;
    struct labels_set labels; /* derived: app, copied pod labels, controller */
    bool seen;                /* in the current re-list */
    double deleted_at;        /* monotonic seconds, 0 while live */
};

struct k8s_cache {
    pthread_rwlock_t lock;
    struct entry *e;
    size_t n;
    size_t cap;
    char **keys;  /* configured pod label keys */
    char **names; /* their sanitised label names */
    size_t nkeys;
    bool controller_label;
    double tombstone;
    _Atomic uint64_t gen;
};

static void entry_cleanup(struct entry *e)
{
    free(e->ns);
    free(e->name);
    free(e->uid);
    labels_cleanup(&e->labels);
    memset(e, 0, sizeof(*e));
}

struct k8s_cache *k8s_cache_new(const struct k8s_cache_opts *o)
{
    struct k8s_cache *c = calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    if (pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->controller_label = o->controller_label;
    c->tombstone = o->tombstone_seconds > 0 ? o->tombstone_seconds : 300;
    if (o->nlabels) {
        c->keys = calloc(o->nlabels, sizeof(char *));
        c->names = calloc(o->nlabels, sizeof(char *));
        if (!c->keys || !c->names) {
            goto fail;
        }
    }
    for (size_t i = 0; i < o->nlabels; i++) {
        char name[320];
        if (!k8s_label_name(o->labels[i], name, sizeof(name))) {
            continue; /* the config loader already refused these */
        }
        c->keys[c->nkeys] = strdup(o->labels[i]);
        c->names[c->nkeys] = strdup(name);
        c->nkeys++;
        if (!c->keys[c->nkeys - 1] || !c->names[c->nkeys - 1]) {
            goto fail;
        }
    }
    return c;
fail:
    k8s_cache_free(c);
    return NULL;
}

void k8s_cache_free(struct k8s_cache *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        entry_cleanup(&c->e[i]);
    }
    free(c->e);
    for (size_t i = 0; i < c->nkeys; i++) {
        free(c->keys[i]);
        free(c->names[i]);
    }
    free(c->keys);
    free(c->names);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

static struct entry *find(struct k8s_cache *c, const char *ns, const char *name)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].name, name) == 0 && strcmp(c->e[i].ns, ns) == 0) {
            return &c->e[i];
        }
    }
    return NULL;
}

/* The labels a pod contributes, derived once when it enters the cache. */
static int derive(struct k8s_cache *c, const struct k8s_pod *p, struct labels_set *out)
{
    char app[K8S_MAX_STR + 1];
    int rc = 0;
    if (k8s_pod_app(p, app, sizeof(app))) {
        rc = labels_set(out, "app", app);
    }
    for (size_t i = 0; !rc && i < c->nkeys; i++) {
        const char *v = k8s_pod_label(p, c->keys[i]);
        /* `app` is resolved above; listing it copies nothing more. */
        if (v && strcmp(c->names[i], "app") != 0) {
            rc = labels_set(out, c->names[i], v);
        }
    }
    /*
     * promtail's kubernetes_sd_configs meta labels, for relabel_configs
     * written for promtail (the Helm chart's use these). Names starting
     * with "__" are never shipped.
     */
    static const char meta_label[] = "__meta_kubernetes_pod_label_";
    for (size_t i = 0; !rc && i < p->nlabels; i++) {
        char name[sizeof(meta_label) + 320];
        memcpy(name, meta_label, sizeof(meta_label) - 1);
        if (k8s_label_name(p->labels[i].key, name + sizeof(meta_label) - 1,
                           sizeof(name) - sizeof(meta_label) + 1)) {
            rc = labels_set(out, name, p->labels[i].value);
        }
    }
    const struct {
        const char *name;
        const char *value;
    } meta[] = {
        {"__meta_kubernetes_namespace", p->namespace},
        {"__meta_kubernetes_pod_name", p->name},
        {"__meta_kubernetes_pod_uid", p->uid},
        {"__meta_kubernetes_pod_node_name", p->node_name},
        {"__meta_kubernetes_pod_controller_kind", p->controller_kind},
        {"__meta_kubernetes_pod_controller_name", p->controller_name},
    };
    for (size_t i = 0; !rc && i < FROND_ARRAY_SIZE(meta); i++) {
        if (meta[i].value) {
            rc = labels_set(out, meta[i].name, meta[i].value);
        }
    }
    if (!rc && c->controller_label && p->controller_kind && p->controller_name) {
        char ctl[2 * K8S_MAX_STR + 2];
        snprintf(ctl, sizeof(ctl), "%s/%s", p->controller_kind, p->controller_name);
        rc = labels_set(out, "controller", ctl);
    }
    return rc;
}

int k8s_cache_upsert(struct k8s_cache *c, const struct k8s_pod *p, double now)
{
    (void)now;
    if (!p->namespace || !p->name || !*p->namespace || !*p->name) {
        return 0;
    }
    struct entry fresh;
    memset(&fresh, 0, sizeof(fresh));
    labels_init(&fresh.labels);
    fresh.ns = strdup(p->namespace);
    fresh.name = strdup(p->name);
    fresh.uid = p->uid ? strdup(p->uid) : NULL;
    int rc = fresh.ns && fresh.name && (fresh.uid || !p->uid) ? 0 : -ENOMEM;
    if (!rc) {
        rc = derive(c, p, &fresh.labels);
    }
    if (rc) {
        entry_cleanup(&fresh);
        return rc;
    }
    fresh.seen = true;
    pthread_rwlock_wrlock(&c->lock);
    struct entry *e = find(c, p->namespace, p->name);
    if (!e && c->n == c->cap) {
        if (c->cap >= K8S_MAX_PODS) {
            rc = -ENOSPC;
        } else {
            size_t ncap = c->cap ? c->cap * 2 : 64;
            struct entry *ne = realloc(c->e, ncap * sizeof(*ne));
            if (!ne) {
                rc = -ENOMEM;
            } else {
                c->e = ne;
                c->cap = ncap;
            }
        }
    }
    if (!rc) {
        if (e) {
            entry_cleanup(e);
        } else {
            e = &c->e[c->n++];
        }
        *e = fresh;
        atomic_fetch_add(&c->gen, 1);
    }
    pthread_rwlock_unlock(&c->lock);
    if (rc) {
        entry_cleanup(&fresh);
    }
    return rc;
}

void k8s_cache_delete(struct k8s_cache *c, const char *ns, const char *name, double now)
{
    if (!ns || !name) {
        return;
    }
    pthread_rwlock_wrlock(&c->lock);
    struct entry *e = find(c, ns, name);
    if (e && e->deleted_at == 0) {
        e->deleted_at = now > 0 ? now : 1e-9;
        atomic_fetch_add(&c->gen, 1);
    }
    pthread_rwlock_unlock(&c->lock);
}

void k8s_cache_begin_list(struct k8s_cache *c)
{
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        c->e[i].seen = false;
    }
    pthread_rwlock_unlock(&c->lock);
}

static void expire_locked(struct k8s_cache *c, double now)
{
    size_t j = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].deleted_at > 0 && now - c->e[i].deleted_at >= c->tombstone) {
            entry_cleanup(&c->e[i]);
            atomic_fetch_add(&c->gen, 1);
            continue;
        }
        c->e[j++] = c->e[i];
    }
    c->n = j;
}

void k8s_cache_end_list(struct k8s_cache *c, double now)
{
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        if (!c->e[i].seen && c->e[i].deleted_at == 0) {
            c->e[i].deleted_at = now > 0 ? now : 1e-9;
            atomic_fetch_add(&c->gen, 1);
        }
    }
    expire_locked(c, now);
    pthread_rwlock_unlock(&c->lock);
}

void k8s_cache_expire(struct k8s_cache *c, double now)
{
    pthread_rwlock_wrlock(&c->lock);
    expire_locked(c, now);
    pthread_rwlock_unlock(&c->lock);
}

size_t k8s_cache_size(struct k8s_cache *c)
{
    size_t live = 0;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        live += c->e[i].deleted_at == 0;
    }
    pthread_rwlock_unlock(&c->lock);
    return live;
}

uint64_t k8s_cache_generation(struct k8s_cache *c)
{
    return atomic_load(&c->gen);
}

int k8s_cache_labels(struct k8s_cache *c, const char *ns, const char *name, const char *uid,
                     struct labels_set *s)
{
    if (!ns || !name) {
        return 0;
    }
    int rc = 0;
    pthread_rwlock_rdlock(&c->lock);
    struct entry *e = find(c, ns, name);
    /* A pod re-created under the same name (a StatefulSet's) is another pod. */
    if (e && uid && *uid && e->uid && strcmp(e->uid, uid) != 0) {
        e = NULL;
    }
    for (size_t i = 0; e && !rc && i < e->labels.n; i++) {
        if (!labels_get(s, e->labels.l[i].name)) {
            rc = labels_set(s, e->labels.l[i].name, e->labels.l[i].value);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc ? rc : e ? 1 : 0;
}
