/*
 * libFuzzer target for frondtail's Kubernetes API reader: the bytes a pod
 * LIST or WATCH answer could hold (truncated JSON, wrong types, huge
 * strings, deep nesting, thousands of labels) go through the streaming
 * parser in chunks whose size comes from the first byte, exactly as
 * libcurl hands them over, into the cache, and every pod that landed is
 * looked up and rendered as a Loki label string, as the reader thread
 * does when it opens a file. Anything must end in a clean error or in a
 * pod without metadata, never in a crash, a leak or undefined behaviour.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frond/buf.h"
#include "k8s.h"

struct fz {
    struct k8s_cache *c;
    char ns[8][64];
    char name[8][64];
    int n;
};

static void remember(struct fz *f, const struct k8s_pod *p)
{
    if (f->n < 8 && p->namespace && p->name) {
        snprintf(f->ns[f->n], sizeof(f->ns[0]), "%s", p->namespace);
        snprintf(f->name[f->n], sizeof(f->name[0]), "%s", p->name);
        f->n++;
    }
}

static int on_item(void *ctx, const struct k8s_pod *p)
{
    struct fz *f = ctx;
    remember(f, p);
    int rc = k8s_cache_upsert(f->c, p, 1);
    return rc == -ENOSPC ? 0 : rc;
}

static int on_value(void *ctx, const struct k8s_value *v)
{
    struct fz *f = ctx;
    if (!v->pod) {
        return 0;
    }
    if (v->type == K8S_EV_DELETED) {
        k8s_cache_delete(f->c, v->pod->namespace, v->pod->name, 2);
        return 0;
    }
    return on_item(ctx, v->pod);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    static const char *const keys[] = {"team", "app.kubernetes.io/version", "app"};
    struct k8s_cache_opts o = {keys, 3, true, 60};
    struct fz f;
    memset(&f, 0, sizeof(f));
    f.c = k8s_cache_new(&o);
    struct k8s_parse_cb cb = {on_item, on_value, &f};
    struct k8s_parser *p = f.c ? k8s_parser_new(&cb) : NULL;
    int rc = p ? 0 : -1;
    for (size_t off = 0; !rc && off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = k8s_parser_feed(p, data + off, n);
    }
    if (!rc) {
        rc = k8s_parser_finish(p);
    }
    if (p && rc) {
        (void)k8s_parser_error(p);
    }
    for (int i = 0; f.c && i < f.n; i++) {
        struct labels_set s;
        struct frond_buf b;
        labels_init(&s);
        frond_buf_init(&b, 1 << 20);
        if (labels_set(&s, "pod", f.name[i]) == 0 &&
            k8s_cache_labels(f.c, f.ns[i], f.name[i], NULL, &s) >= 0) {
            if (labels_render(&s, &b) != 0) {
                frond_buf_reset(&b);
            }
        }
        frond_buf_cleanup(&b);
        labels_cleanup(&s);
    }
    if (f.c) {
        k8s_cache_end_list(f.c, 1000);
        (void)k8s_cache_size(f.c);
    }
    k8s_parser_free(p);
    k8s_cache_free(f.c);
    return 0;
}
