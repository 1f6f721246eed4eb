/*
 * Unit tests of frondtail's Kubernetes metadata without a network: the
 * streaming parser on PodList and watch-event JSON shaped like the API
 * server's (fed whole and byte by byte), the cache those pods land in
 * (upsert, delete tombstones, re-list, uid checks, never overriding path
 * labels), label name sanitising, and the `app` resolution table of
 * promtail's Helm chart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "k8s.h"

/* A pod as `kubectl get --raw /api/v1/pods` prints one (fields trimmed, order kept). */
#define POD_PALMDAO                                                                                \
    "{\"metadata\":{\"name\":\"palmdao-7d9c8b5f4-x2k9q\",\"generateName\":\"palmdao-7d9c8b5f4-\"," \
    "\"namespace\":\"palm\",\"uid\":\"0c0ffee0-1111-2222-3333-444455556666\","                     \
    "\"resourceVersion\":\"1001\",\"creationTimestamp\":\"2026-11-28T10:00:00Z\","                 \
    "\"labels\":{\"app.kubernetes.io/name\":\"palmdao\",\"app.kubernetes.io/version\":\"1.4.2\","  \
    "\"pod-template-hash\":\"7d9c8b5f4\",\"team\":\"dao\"},"                                       \
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","                    \
    "\"name\":\"palmdao-7d9c8b5f4\",\"uid\":\"aa\",\"controller\":true,"                           \
    "\"blockOwnerDeletion\":true}]},"                                                              \
    "\"spec\":{\"containers\":[{\"name\":\"palmdao\",\"image\":\"palm/dao:1.4.2\"}],"              \
    "\"nodeName\":\"node-a\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.7\"}}"

#define POD_RMQ                                                                                    \
    "{\"metadata\":{\"name\":\"rabbitmq-0\",\"namespace\":\"mq\",\"uid\":\"u-rmq\","               \
    "\"resourceVersion\":\"1002\",\"labels\":{\"controller-revision-hash\":\"rabbitmq-5f7b\"},"    \
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\","                   \
    "\"name\":\"rabbitmq\",\"uid\":\"bb\",\"controller\":true}]},"                                 \
    "\"spec\":{\"nodeName\":\"node-a\"}}"

static const char podlist[] =
    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1234\"},"
    "\"items\":[" POD_PALMDAO "," POD_RMQ "]}";

struct seen {
    char names[8][64];
    char nodes[8][64];
    int nitems;
    int nvalues;
    enum k8s_event_type types[8];
    char rv[8][32];
    long codes[8];
    char pod_names[8][64];
    char ctl[8][64];
};

static int item_cb(void *ctx, const struct k8s_pod *p)
{
    struct seen *s = ctx;
    if (s->nitems < 8) {
        snprintf(s->names[s->nitems], 64, "%s/%s", p->namespace ? p->namespace : "-",
                 p->name ? p->name : "-");
        snprintf(s->nodes[s->nitems], 64, "%s", p->node_name ? p->node_name : "-");
        snprintf(s->ctl[s->nitems], 64, "%s/%s", p->controller_kind ? p->controller_kind : "-",
                 p->controller_name ? p->controller_name : "-");
    }
    s->nitems++;
    return 0;
}

static int value_cb(void *ctx, const struct k8s_value *v)
{
    struct seen *s = ctx;
    if (s->nvalues < 8) {
        s->types[s->nvalues] = v->type;
        snprintf(s->rv[s->nvalues], 32, "%s", v->resource_version ? v->resource_version : "-");
        s->codes[s->nvalues] = v->code;
        snprintf(s->pod_names[s->nvalues], 64, "%s", v->pod && v->pod->name ? v->pod->name : "-");
    }
    s->nvalues++;
    return 0;
}

static int parse(const char *json, size_t chunk, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    struct k8s_parse_cb cb = {item_cb, value_cb, s};
    struct k8s_parser *p = k8s_parser_new(&cb);
    size_t len = strlen(json);
    int rc = 0;
    for (size_t off = 0; !rc && off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = k8s_parser_feed(p, json + off, n);
    }
    if (!rc) {
        rc = k8s_parser_finish(p);
    }
    k8s_parser_free(p);
    return rc;
}

static void test_podlist(void)
{
    struct seen s;
    size_t chunks[] = {1, 7, 100000};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(chunks); i++) {
        CHECK_INT(parse(podlist, chunks[i], &s), 0);
        CHECK_INT(s.nitems, 2);
        CHECK_STR(s.names[0], "palm/palmdao-7d9c8b5f4-x2k9q");
        CHECK_STR(s.nodes[0], "node-a");
        CHECK_STR(s.ctl[0], "ReplicaSet/palmdao-7d9c8b5f4");
        CHECK_STR(s.names[1], "mq/rabbitmq-0");
        CHECK_STR(s.ctl[1], "StatefulSet/rabbitmq");
        CHECK_INT(s.nvalues, 1);
        CHECK_INT(s.types[0], K8S_EV_NONE);
        CHECK_STR(s.rv[0], "1234");
    }
}

static void test_watch_events(void)
{
    static const char stream[] =
        "{\"type\":\"ADDED\",\"object\":" POD_PALMDAO "}\n"
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
        "\"metadata\":{\"resourceVersion\":\"2000\",\"annotations\":"
        "{\"k8s.io/initial-events-end\":\"true\"}}}}\n"
        /* Key order is not guaranteed: object before type. */
        "{\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\",\"namespace\":\"n\","
        "\"resourceVersion\":\"2001\"}},\"type\":\"DELETED\"}\n"
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
        "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: 1 "
        "(78390381)\",\"reason\":\"Expired\",\"code\":410}}\n";
    struct seen s;
    CHECK_INT(parse(stream, 3, &s), 0);
    CHECK_INT(s.nitems, 0);
    CHECK_INT(s.nvalues, 4);
    CHECK_INT(s.types[0], K8S_EV_ADDED);
    CHECK_STR(s.pod_names[0], "palmdao-7d9c8b5f4-x2k9q");
    CHECK_STR(s.rv[0], "1001");
    CHECK_INT(s.types[1], K8S_EV_BOOKMARK);
    CHECK_STR(s.rv[1], "2000");
    CHECK_INT(s.types[2], K8S_EV_DELETED);
    CHECK_STR(s.pod_names[2], "x");
    CHECK_INT(s.types[3], K8S_EV_ERROR);
    CHECK_INT(s.codes[3], 410);
    CHECK_STR(s.pod_names[3], "-"); /* a Status is not a pod */

    /* An HTTP 410 body is a bare Status. */
    CHECK_INT(parse("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                    "\"Failure\",\"message\":\"too old\",\"reason\":\"Gone\",\"code\":410}",
                    5, &s),
              0);
    CHECK_INT(s.nvalues, 1);
    CHECK_INT(s.codes[0], 410);
}

static void test_bad_json(void)
{
    struct seen s;
    CHECK_INT(parse("{\"kind\":\"PodList\",\"items\":[{\"metadata\":", 4, &s), -EPROTO);
    CHECK_INT(parse("{\"type\":\"ADDED\",}", 4, &s), -EPROTO);
    /* Wrong types are absent fields, not errors. */
    CHECK_INT(parse("{\"items\":[{\"metadata\":[1,2]},{\"metadata\":{\"name\":5,"
                    "\"namespace\":\"n\",\"labels\":{\"a\":{\"b\":1},\"c\":\"d\"},"
                    "\"ownerReferences\":{\"kind\":\"x\"}}},7,\"s\"],\"metadata\":\"x\"}",
                    1, &s),
              0);
    CHECK_INT(s.nitems, 2);
    CHECK_STR(s.names[1], "n/-");
    CHECK_STR(s.ctl[1], "-/-");
    /* Top-level scalars and arrays are skipped. */
    CHECK_INT(parse("1 \"x\" [1,{\"a\":2}] null", 2, &s), 0);
    CHECK_INT(s.nvalues, 0);
}

static void test_label_name(void)
{
    char out[64];
    CHECK(k8s_label_name("app.kubernetes.io/name", out, sizeof(out)));
    CHECK_STR(out, "app_kubernetes_io_name");
    CHECK(k8s_label_name("9lives", out, sizeof(out)));
    CHECK_STR(out, "_9lives");
    CHECK(k8s_label_name("team", out, sizeof(out)));
    CHECK_STR(out, "team");
    CHECK(!k8s_label_name("", out, sizeof(out)));
    CHECK(!k8s_label_name("abcdef", out, 4));
}

/* The Helm chart's table: app.kubernetes.io/name, app, controller without hash, pod name. */
static void test_app_resolution(void)
{
    static const struct {
        const char *lname, *lapp, *hash, *kind, *ctl, *pod, *want;
    } cases[] = {
        {"palmdao", "other", NULL, "ReplicaSet", "x-1", "p", "palmdao"},
        {NULL, "validator", NULL, "ReplicaSet", "x-1", "p", "validator"},
        {"", "validator", NULL, NULL, NULL, "p", "validator"},
        {NULL, NULL, "7d9c8b5f4", "ReplicaSet", "palmdao-7d9c8b5f4", "p", "palmdao"},
        /* A pod-template-hash outside the hex alphabet is still stripped via the label. */
        {NULL, NULL, "5b7xkz6fd8", "ReplicaSet", "palmvalidator-5b7xkz6fd8", "p", "palmvalidator"},
        /* Without the label, the chart's regex: 8 to 10 hex digits. */
        {NULL, NULL, NULL, "ReplicaSet", "palmdao-7d9c8b5f4", "p", "palmdao"},
        {NULL, NULL, NULL, "ReplicaSet", "palmdao-abc", "p", "palmdao-abc"},
        {NULL, NULL, NULL, "StatefulSet", "rabbitmq", "rabbitmq-0", "rabbitmq"},
        {NULL, NULL, NULL, "DaemonSet", "frondtail-deadbeef", "f-x", "frondtail-deadbeef"},
        {NULL, NULL, NULL, "Job", "backup-28765432", "backup-28765432-q7", "backup-28765432"},
        {NULL, NULL, NULL, NULL, NULL, "static-web-node-a", "static-web-node-a"},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        struct k8s_pod p;
        memset(&p, 0, sizeof(p));
        const char *keys[] = {"app.kubernetes.io/name", "app", "pod-template-hash"};
        const char *vals[] = {cases[i].lname, cases[i].lapp, cases[i].hash};
        for (size_t k = 0; k < 3; k++) {
            if (vals[k]) {
                p.labels[p.nlabels].key = strdup(keys[k]);
                p.labels[p.nlabels].value = strdup(vals[k]);
                p.nlabels++;
            }
        }
        p.controller_kind = cases[i].kind ? strdup(cases[i].kind) : NULL;
        p.controller_name = cases[i].ctl ? strdup(cases[i].ctl) : NULL;
        p.name = strdup(cases[i].pod);
        char app[128];
        CHECK(k8s_pod_app(&p, app, sizeof(app)));
        CHECK_STR(app, cases[i].want);
        k8s_pod_cleanup(&p);
    }
}

struct fill {
    struct k8s_cache *c;
    double now;
};

static int fill_item(void *ctx, const struct k8s_pod *p)
{
    struct fill *f = ctx;
    return k8s_cache_upsert(f->c, p, f->now);
}

static int fill_value(void *ctx, const struct k8s_value *v)
{
    struct fill *f = ctx;
    if (v->type == K8S_EV_ADDED || v->type == K8S_EV_MODIFIED) {
        return v->pod ? k8s_cache_upsert(f->c, v->pod, f->now) : 0;
    }
    if (v->type == K8S_EV_DELETED && v->pod) {
        k8s_cache_delete(f->c, v->pod->namespace, v->pod->name, f->now);
    }
    return 0;
}

static void feed(struct fill *f, const char *json)
{
    struct k8s_parse_cb cb = {fill_item, fill_value, f};
    struct k8s_parser *p = k8s_parser_new(&cb);
    CHECK_INT(k8s_parser_feed(p, json, strlen(json)), 0);
    CHECK_INT(k8s_parser_finish(p), 0);
    k8s_parser_free(p);
}

static char *render(struct k8s_cache *c, const char *ns, const char *pod, const char *uid,
                    int *found)
{
    struct labels_set s;
    struct frond_buf b;
    labels_init(&s);
    frond_buf_init(&b, 4096);
    CHECK_INT(labels_set(&s, "namespace", ns), 0);
    CHECK_INT(labels_set(&s, "pod", pod), 0);
    *found = k8s_cache_labels(c, ns, pod, uid, &s);
    CHECK_INT(labels_render(&s, &b), 0);
    char *r = strndup(b.data, b.len);
    frond_buf_cleanup(&b);
    labels_cleanup(&s);
    return r;
}

static void test_cache(void)
{
    const char *keys[] = {"team", "app.kubernetes.io/version", "app", "namespace"};
    struct k8s_cache_opts o = {keys, 4, true, 60};
    struct fill f = {k8s_cache_new(&o), 100};
    int found;
    char *r;

    k8s_cache_begin_list(f.c);
    feed(&f, podlist);
    k8s_cache_end_list(f.c, f.now);
    CHECK_INT(k8s_cache_size(f.c), 2);
    uint64_t g0 = k8s_cache_generation(f.c);

    /* promtail's meta labels are there for relabel_configs, never rendered. */
    struct labels_set ms;
    labels_init(&ms);
    CHECK_INT(k8s_cache_labels(f.c, "palm", "palmdao-7d9c8b5f4-x2k9q", NULL, &ms), 1);
    CHECK_STR(labels_get(&ms, "__meta_kubernetes_pod_label_app_kubernetes_io_name"), "palmdao");
    CHECK_STR(labels_get(&ms, "__meta_kubernetes_pod_label_pod_template_hash"), "7d9c8b5f4");
    CHECK_STR(labels_get(&ms, "__meta_kubernetes_pod_controller_name"), "palmdao-7d9c8b5f4");
    CHECK_STR(labels_get(&ms, "__meta_kubernetes_pod_node_name"), "node-a");
    CHECK_STR(labels_get(&ms, "__meta_kubernetes_pod_uid"), "0c0ffee0-1111-2222-3333-444455556666");
    labels_cleanup(&ms);
    r = render(f.c, "palm", "palmdao-7d9c8b5f4-x2k9q", "0c0ffee0-1111-2222-3333-444455556666",
               &found);
    CHECK_INT(found, 1);
    CHECK_STR(r, "{app=\"palmdao\", app_kubernetes_io_version=\"1.4.2\", "
                 "controller=\"ReplicaSet/palmdao-7d9c8b5f4\", namespace=\"palm\", "
                 "pod=\"palmdao-7d9c8b5f4-x2k9q\", team=\"dao\"}");
    free(r);
    /* Another pod under the same name (a re-created StatefulSet pod) is a miss. */
    r = render(f.c, "palm", "palmdao-7d9c8b5f4-x2k9q", "other-uid", &found);
    CHECK_INT(found, 0);
    CHECK_STR(r, "{namespace=\"palm\", pod=\"palmdao-7d9c8b5f4-x2k9q\"}");
    free(r);
    r = render(f.c, "mq", "rabbitmq-0", NULL, &found);
    CHECK_INT(found, 1);
    CHECK_STR(r, "{app=\"rabbitmq\", controller=\"StatefulSet/rabbitmq\", namespace=\"mq\", "
                 "pod=\"rabbitmq-0\"}");
    free(r);
    r = render(f.c, "mq", "nope", NULL, &found);
    CHECK_INT(found, 0);
    free(r);

    /* A watch: MODIFIED changes labels, DELETED keeps a tombstone for late files. */
    feed(&f, "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":"
             "\"rabbitmq-0\",\"namespace\":\"mq\",\"uid\":\"u-rmq\",\"labels\":{\"app\":\"mq\","
             "\"team\":\"core\"}}}}\n"
             "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":"
             "\"palmdao-7d9c8b5f4-x2k9q\",\"namespace\":\"palm\"}}}\n");
    CHECK(k8s_cache_generation(f.c) > g0);
    CHECK_INT(k8s_cache_size(f.c), 1);
    r = render(f.c, "mq", "rabbitmq-0", NULL, &found);
    CHECK_STR(r, "{app=\"mq\", namespace=\"mq\", pod=\"rabbitmq-0\", team=\"core\"}");
    free(r);
    r = render(f.c, "palm", "palmdao-7d9c8b5f4-x2k9q", NULL, &found);
    CHECK_INT(found, 1);
    free(r);
    k8s_cache_expire(f.c, 100 + 61);
    r = render(f.c, "palm", "palmdao-7d9c8b5f4-x2k9q", NULL, &found);
    CHECK_INT(found, 0);
    free(r);

    /* A re-list without rabbitmq-0 makes it a tombstone, then it expires. */
    k8s_cache_begin_list(f.c);
    feed(&f, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[]}");
    k8s_cache_end_list(f.c, 200);
    CHECK_INT(k8s_cache_size(f.c), 0);
    r = render(f.c, "mq", "rabbitmq-0", NULL, &found);
    CHECK_INT(found, 1);
    free(r);
    k8s_cache_end_list(f.c, 300);
    r = render(f.c, "mq", "rabbitmq-0", NULL, &found);
    CHECK_INT(found, 0);
    free(r);
    k8s_cache_free(f.c);
}

int main(void)
{
    test_podlist();
    test_watch_events();
    test_bad_json();
    test_label_name();
    test_app_resolution();
    test_cache();
    return check_done("test_shipper_k8s");
}
