/*
 * Kubernetes metadata for frondtail's file targets: pod labels, the `app`
 * label resolved the way promtail's Helm chart does it, and the pod's
 * controller, read from the Kubernetes API with the in-cluster service
 * account. A watcher thread LISTs the pods of this node
 * (fieldSelector=spec.nodeName=<node>), then WATCHes from the list's
 * resourceVersion; the cache it fills is what the reader thread consults
 * when it builds a file's labels. Lookups never wait for the API: a pod
 * that is not (yet) known gets the kubelet path labels only, counted in
 * frondtail_kubernetes_metadata_misses_total.
 *
 * Two layers, so the JSON mapping is testable without a network:
 *   - k8s_cache (k8s_cache.c): the streaming pod list / watch event parser
 *     (yajl), the cache keyed by (namespace, pod name) and uid, and the
 *     label resolution;
 *   - k8s_meta (k8s.c): the watcher thread (libcurl), its backoff, token
 *     and CA handling, and its metrics.
 *
 * Ownership: a struct k8s_meta_config is owned by the shipper config
 * (config.c parses and frees it, so the config tests need none of this
 * module). k8s_meta_start copies what it needs. Thread-safety: k8s_meta_labels,
 * k8s_meta_generation and every k8s_cache lookup may be called from any
 * thread (the cache is guarded by a rwlock); start/stop from one thread.
 */
#ifndef FROND_SHIPPER_K8S_H
#define FROND_SHIPPER_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"
#include "frond/registry.h"
#include "labels.h"

#define K8S_DEFAULT_TOKEN_FILE "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define K8S_DEFAULT_CA_FILE "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

/* The top-level `kubernetes_metadata:` section of frondtail's config. */
struct k8s_meta_config {
    bool enabled;
    char *api_server; /* https://host:port; NULL = $KUBERNETES_SERVICE_HOST/PORT */
    char *token_file; /* NULL = K8S_DEFAULT_TOKEN_FILE; "" = no Authorization header */
    char *ca_file;    /* NULL = K8S_DEFAULT_CA_FILE; "" = the system CA store */
    char *node_name;  /* NULL = $NODE_NAME, then $HOSTNAME */
    char **labels;    /* pod label keys to copy, e.g. "app.kubernetes.io/version" */
    size_t nlabels;
    bool controller_label; /* also set controller="<Kind>/<name>" */
    double resync_period;  /* seconds; the watch's timeoutSeconds (default 300) */
    double backoff_min;    /* seconds; API error backoff (default 0.5) */
    double backoff_max;    /* seconds (default 30) */
};

/*
 * Prometheus label name for a Kubernetes label key: every character
 * outside [a-zA-Z0-9_] becomes '_', and a leading digit gets a '_' prefix
 * ("app.kubernetes.io/name" -> "app_kubernetes_io_name"), as promtail's
 * __meta_kubernetes_pod_label_* names are made. Writes at most outsz-1
 * bytes; returns false when the key is empty or does not fit.
 */
bool k8s_label_name(const char *key, char *out, size_t outsz);

/* ---- the cache and its parser (k8s_cache.c) ---- */

#define K8S_MAX_STR 1024      /* longer strings in a pod object are ignored */
#define K8S_MAX_POD_LABELS 64 /* labels beyond this many in one pod are ignored */
#define K8S_MAX_PODS 16384    /* cache bound; a node runs ~110 (kubelet maxPods) */

struct k8s_kv {
    char *key;
    char *value;
};

/* One pod as the parser saw it. Strings are owned (NULL when absent). */
struct k8s_pod {
    char *name;
    char *namespace;
    char *uid;
    char *resource_version;
    char *node_name;
    char *controller_kind; /* from the ownerReference with controller: true */
    char *controller_name;
    struct k8s_kv labels[K8S_MAX_POD_LABELS];
    size_t nlabels;
};

void k8s_pod_cleanup(struct k8s_pod *p);
const char *k8s_pod_label(const struct k8s_pod *p, const char *key);
/*
 * The `app` label, as promtail's Helm chart resolves it: the pod label
 * app.kubernetes.io/name, else app, else the controller name (a
 * ReplicaSet's without its pod-template-hash suffix, a StatefulSet's,
 * DaemonSet's or Job's as it is), else the pod name. Writes into out;
 * returns false when nothing fits (empty pod).
 */
bool k8s_pod_app(const struct k8s_pod *p, char *out, size_t outsz);

enum k8s_event_type {
    K8S_EV_NONE = 0, /* a PodList (or anything without "type") */
    K8S_EV_ADDED,
    K8S_EV_MODIFIED,
    K8S_EV_DELETED,
    K8S_EV_BOOKMARK,
    K8S_EV_ERROR,
    K8S_EV_UNKNOWN,
};

/*
 * What one top-level JSON value was: a PodList (its resourceVersion), a
 * watch event (type, and for ERROR the Status code), or a bare Status (an
 * HTTP error body). `pod` is the event's object (NULL for a list or when
 * the object was not a pod); `kind` is the value's or the event object's
 * "kind".
 */
struct k8s_value {
    enum k8s_event_type type;
    const char *kind;
    const char *resource_version; /* list metadata, or the event object's */
    long code;                    /* Status code, 0 when absent */
    const char *message;          /* Status message, or NULL */
    const struct k8s_pod *pod;
};

/* Callbacks of the parser; a non-zero return stops parsing with that code. */
struct k8s_parse_cb {
    int (*item)(void *ctx, const struct k8s_pod *pod);  /* one PodList item */
    int (*value)(void *ctx, const struct k8s_value *v); /* end of a top-level value */
    void *ctx;
};

struct k8s_parser;

/* A parser of a stream of top-level JSON values (one list, or watch events). NULL on ENOMEM. */
struct k8s_parser *k8s_parser_new(const struct k8s_parse_cb *cb);
void k8s_parser_free(struct k8s_parser *p);
/* Feed bytes in any split. 0, -EPROTO on invalid JSON (message in k8s_parser_error), or a
 * callback's code. */
FROND_MUST_CHECK int k8s_parser_feed(struct k8s_parser *p, const void *data, size_t len);
/* End of input: a truncated value is -EPROTO. */
FROND_MUST_CHECK int k8s_parser_finish(struct k8s_parser *p);
const char *k8s_parser_error(const struct k8s_parser *p);

/* Which labels to derive from a pod, shared by every cache entry. */
struct k8s_cache_opts {
    const char *const *labels; /* pod label keys to copy */
    size_t nlabels;
    bool controller_label;
    double tombstone_seconds; /* how long a deleted pod stays resolvable (default 300) */
};

struct k8s_cache;

struct k8s_cache *k8s_cache_new(const struct k8s_cache_opts *o);
void k8s_cache_free(struct k8s_cache *c);
/*
 * Insert or replace a pod (from a list item, ADDED or MODIFIED). Pods
 * without namespace or name are ignored (0). `now` is monotonic seconds.
 * -ENOMEM, -ENOSPC past K8S_MAX_PODS.
 */
FROND_MUST_CHECK int k8s_cache_upsert(struct k8s_cache *c, const struct k8s_pod *p, double now);
/* A DELETED event: the entry stays resolvable for tombstone_seconds (late files). */
void k8s_cache_delete(struct k8s_cache *c, const char *ns, const char *name, double now);
/* Before a re-list: mark every entry unseen. */
void k8s_cache_begin_list(struct k8s_cache *c);
/* After a re-list: entries the list did not contain become tombstones; old tombstones go. */
void k8s_cache_end_list(struct k8s_cache *c, double now);
/* Drop tombstones older than tombstone_seconds. */
void k8s_cache_expire(struct k8s_cache *c, double now);
/* Live (non-deleted) pods. */
size_t k8s_cache_size(struct k8s_cache *c);
/* Bumped by every change; a file built on a miss may rebuild its labels when it moves. */
uint64_t k8s_cache_generation(struct k8s_cache *c);
/*
 * Add the pod's derived labels (app, the configured pod labels under
 * their sanitised names, controller if asked) to `s`, never replacing a
 * label `s` already has (the kubelet path labels stay authoritative). A
 * `uid` (may be NULL) must match the cached pod's. 1 when found, 0 when
 * not, -ENOMEM.
 */
FROND_MUST_CHECK int k8s_cache_labels(struct k8s_cache *c, const char *ns, const char *name,
                                      const char *uid, struct labels_set *s);

/* ---- the watcher (k8s.c) ---- */

struct k8s_meta;

/*
 * Start the watcher thread (nothing is requested before it runs, and
 * start never waits for the API). NULL when the config cannot work (no
 * API server or node name: logged) or on ENOMEM. Metrics are registered
 * on `reg` (may be NULL in tests).
 */
struct k8s_meta *k8s_meta_start(const struct k8s_meta_config *cfg, struct frond_registry *reg);
/* Stop and join the thread, free everything. Accepts NULL. */
void k8s_meta_stop(struct k8s_meta *m);
/*
 * Add the metadata of pod (ns, pod, uid) to `s` from the cache (see
 * k8s_cache_labels). Never blocks on the API. 1 hit, 0 miss (counted),
 * -ENOMEM. `m` may be NULL (0, not counted).
 */
FROND_MUST_CHECK int k8s_meta_labels(struct k8s_meta *m, const char *ns, const char *pod,
                                     const char *uid, struct labels_set *s);
uint64_t k8s_meta_generation(struct k8s_meta *m);

/*
 * The label hook for the tailer (tail_set_enricher): takes namespace and
 * pod from `s` (set by labels_from_kubelet_path) and the uid from the
 * path, and calls k8s_meta_labels. A file that is not a kubelet pod log
 * is left alone (0, not counted). `ctx` is the struct k8s_meta.
 */
int k8s_meta_enrich(void *ctx, const char *path, struct labels_set *s);
/* k8s_meta_generation for the tailer's tail_enrich_gen_fn. */
uint64_t k8s_meta_enrich_gen(void *ctx);

#endif
