/*
 * libFuzzer target for yamlcfg.c: parse the input as a config file (with
 * ${VAR} expansion first when the first byte is odd, as -config.expand-env
 * would), then walk the whole tree and apply every typed reader and
 * check_keys to every node, as a config loader would. Aliases share nodes,
 * so the walk follows them; the parser's expanded-size cap is what keeps
 * this walk bounded, and the visit counter asserts it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frond/buf.h"
#include "frond/yamlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known[] = {"url", "batchwait", "batchsize", "timeout", "labels", NULL};

struct walk {
    const struct frond_yaml_doc *doc;
    size_t visits;
};

static void visit(struct walk *w, const struct frond_yaml_node *n, int depth)
{
    char err[256];
    char *s = NULL;
    bool b;
    long l;
    double d;

    /* The parser caps nesting at 256 and the expanded size at 1,000,000 nodes. */
    if (depth > 300 || ++w->visits > 3000000) {
        abort();
    }
    (void)frond_yaml_is_null(n);
    if (frond_yaml_string(w->doc, n, "s", &s, err, sizeof(err)) == 0) {
        free(s);
    }
    (void)!frond_yaml_bool(w->doc, n, "b", &b, err, sizeof(err));
    (void)!frond_yaml_long(w->doc, n, "l", &l, err, sizeof(err));
    (void)!frond_yaml_double(w->doc, n, "d", &d, err, sizeof(err));
    (void)!frond_yaml_duration(w->doc, n, "t", &d, err, sizeof(err));
    (void)!frond_yaml_bytes(w->doc, n, "z", &l, err, sizeof(err));
    (void)!frond_yaml_check_keys(w->doc, n, known, "fuzz", err, sizeof(err));
    (void)frond_yaml_get(n, "url");
    if (n->kind == FROND_YAML_SCALAR && n->value[n->value_len] != '\0') {
        abort();
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == FROND_YAML_MAP) {
            if (n->keys[i]->kind != FROND_YAML_SCALAR) {
                abort();
            }
            visit(w, n->keys[i], depth + 1);
        }
        visit(w, n->items[i], depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frond_yaml_doc doc;
    struct frond_buf expanded;
    char err[512];
    const char *text = (const char *)data;
    size_t len = size;
    int rc;

    frond_buf_init(&expanded, 1 << 20);
    if (size > 0 && (data[0] & 1)) {
        setenv("FUZZ_YAML_VAR", "a: [1, 2]", 1);
        if (frond_expand_env(text, len, &expanded) != 0) {
            frond_buf_cleanup(&expanded);
            return 0;
        }
        text = frond_buf_cstr(&expanded);
        len = expanded.len;
    }
    rc = frond_yaml_parse("fuzz.yml", text, len, &doc, err, sizeof(err));
    if (rc == 0 && doc.root) {
        struct walk w = {&doc, 0};
        visit(&w, doc.root, 0);
    }
    if (rc != 0 && strncmp(err, "fuzz.yml", 8) != 0) {
        abort(); /* every failure names the file */
    }
    frond_yaml_doc_cleanup(&doc);
    frond_buf_cleanup(&expanded);
    return 0;
}
