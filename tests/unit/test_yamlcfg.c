/*
 * Unit tests for yamlcfg.c: a realistic promtail-style file read back
 * through every typed reader; a table of broken files, each with the exact
 * "file:line: reason" an operator would see; the reader and check_keys
 * messages; the document size limits; and ${VAR} expansion.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frond/buf.h"
#include "frond/yamlcfg.h"

#ifndef FROND_YAML_TESTDATA
#define FROND_YAML_TESTDATA "unit/testdata/yaml"
#endif

static int load(const char *file, bool expand, struct frond_yaml_doc *doc, char *err, size_t errlen)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", FROND_YAML_TESTDATA, file);
    return frond_yaml_load_file(path, expand, doc, err, errlen);
}

/* Error messages carry the full path; compare from the file name on. */
static const char *tail(const char *msg)
{
    const char *slash = strrchr(msg, '/');
    const char *colon = strchr(msg, ':');

    if (slash && (!colon || slash < colon)) {
        return slash + 1;
    }
    return msg;
}

static void test_good(void)
{
    struct frond_yaml_doc doc;
    char err[512] = "";
    const struct frond_yaml_node *root, *server, *clients, *c0, *c1, *labels, *sc, *st, *lab;
    long port = -1, bs = -1, retries = -1;
    double bw = -1, to = -1, minp = -1, maxp = -1, ratio = -1;
    char *s = NULL;
    bool b = false;

    CHECK_INT(load("good_promtail.yml", false, &doc, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    root = doc.root;
    CHECK(root && root->kind == FROND_YAML_MAP);
    if (!root) {
        return;
    }
    server = frond_yaml_get(root, "server");
    CHECK(server && server->line == 3);
    CHECK_INT(frond_yaml_long(&doc, frond_yaml_get(server, "http_listen_port"), "http_listen_port",
                              &port, err, sizeof(err)),
              0);
    CHECK_INT(port, 9080);
    CHECK(frond_yaml_get(server, "nope") == NULL);
    CHECK(frond_yaml_get(NULL, "x") == NULL);
    CHECK(frond_yaml_get(frond_yaml_get(server, "log_level"), "x") == NULL);

    clients = frond_yaml_get(root, "clients");
    CHECK(clients && clients->kind == FROND_YAML_SEQ && clients->n == 2);
    c0 = clients->items[0];
    c1 = clients->items[1];
    CHECK_INT(c0->line, 17);
    /* Merge keys: explicit keys win, merged ones fill in. */
    CHECK_INT(frond_yaml_duration(&doc, frond_yaml_get(c0, "batchwait"), "batchwait", &bw, err,
                                  sizeof(err)),
              0);
    CHECK_DBL(bw, 1);
    CHECK_INT(
        frond_yaml_bytes(&doc, frond_yaml_get(c0, "batchsize"), "batchsize", &bs, err, sizeof(err)),
        0);
    CHECK_INT(bs, 512 * 1024);
    CHECK_INT(
        frond_yaml_duration(&doc, frond_yaml_get(c1, "timeout"), "timeout", &to, err, sizeof(err)),
        0);
    CHECK_DBL(to, 10);
    CHECK_INT(
        frond_yaml_bytes(&doc, frond_yaml_get(c1, "batchsize"), "batchsize", &bs, err, sizeof(err)),
        0);
    CHECK_INT(bs, 1048576);
    /* Merged keys keep the line where they were written. */
    CHECK_INT(frond_yaml_get(c1, "batchwait")->line, 12);
    {
        static const char *const known[] = {"url",        "tenant_id",      "batchwait",
                                            "batchsize",  "timeout",        "external_labels",
                                            "basic_auth", "backoff_config", NULL};
        CHECK_INT(frond_yaml_check_keys(&doc, c0, known, "clients[0]", err, sizeof(err)), 0);
        CHECK_INT(frond_yaml_check_keys(&doc, c1, known, "clients[1]", err, sizeof(err)), 0);
        CHECK_INT(c0->n, 7);
    }
    CHECK_INT(
        frond_yaml_string(&doc, frond_yaml_get(c0, "tenant_id"), "tenant_id", &s, err, sizeof(err)),
        0);
    CHECK_STR(s, "palm");
    free(s);
    s = NULL;
    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(c1, "url"), "url", &s, err, sizeof(err)), 0);
    CHECK_STR(s, "http://loki-2:3100/loki/api/v1/push");
    free(s);
    s = NULL;
    labels = frond_yaml_get(c0, "external_labels");
    CHECK(frond_yaml_is_null(frond_yaml_get(labels, "region")));
    CHECK(!frond_yaml_is_null(frond_yaml_get(labels, "cluster")));
    {
        const struct frond_yaml_node *bo = frond_yaml_get(c0, "backoff_config");
        CHECK_INT(frond_yaml_duration(&doc, frond_yaml_get(bo, "min_period"), "min_period", &minp,
                                      err, sizeof(err)),
                  0);
        CHECK_INT(frond_yaml_duration(&doc, frond_yaml_get(bo, "max_period"), "max_period", &maxp,
                                      err, sizeof(err)),
                  0);
        CHECK_INT(frond_yaml_long(&doc, frond_yaml_get(bo, "max_retries"), "max_retries", &retries,
                                  err, sizeof(err)),
                  0);
        CHECK_DBL(minp, 0.5);
        CHECK_DBL(maxp, 300);
        CHECK_INT(retries, 10);
    }

    sc = frond_yaml_get(root, "scrape_configs")->items[0];
    st = frond_yaml_get(sc, "static_configs")->items[0];
    lab = frond_yaml_get(st, "labels");
    /* Quoted "null" is a string; plain empty is null; quoted empty is "". */
    CHECK(!frond_yaml_is_null(frond_yaml_get(lab, "quoted_null")));
    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(lab, "quoted_null"), "quoted_null", &s, err,
                                sizeof(err)),
              0);
    CHECK_STR(s, "null");
    free(s);
    s = NULL;
    CHECK(!frond_yaml_is_null(frond_yaml_get(lab, "empty_quoted")));
    CHECK(frond_yaml_is_null(frond_yaml_get(lab, "plain_empty")));
    CHECK(frond_yaml_get(lab, "plain_empty") != NULL);
    /* A null or absent string reads as "", so callers never meet a NULL. */
    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(lab, "plain_empty"), "plain_empty", &s, err,
                                sizeof(err)),
              0);
    CHECK_STR(s, "");
    free(s);
    s = NULL;
    CHECK_INT(frond_yaml_string(&doc, NULL, "absent", &s, err, sizeof(err)), 0);
    CHECK_STR(s, "");
    free(s);
    s = NULL;
    /* Other readers leave the caller's default alone on null or absent. */
    b = true;
    CHECK_INT(frond_yaml_bool(&doc, frond_yaml_get(lab, "plain_empty"), "plain_empty", &b, err,
                              sizeof(err)),
              0);
    CHECK(b);
    port = 77;
    CHECK_INT(frond_yaml_long(&doc, NULL, "absent", &port, err, sizeof(err)), 0);
    CHECK_INT(port, 77);
    CHECK_INT(frond_yaml_bool(&doc, frond_yaml_get(sc, "enabled"), "enabled", &b, err, sizeof(err)),
              0);
    CHECK(b);
    CHECK_INT(frond_yaml_bool(&doc, frond_yaml_get(sc, "drop"), "drop", &b, err, sizeof(err)), 0);
    CHECK(!b);
    CHECK_INT(
        frond_yaml_double(&doc, frond_yaml_get(sc, "ratio"), "ratio", &ratio, err, sizeof(err)), 0);
    CHECK_DBL(ratio, 0.25);
    {
        const struct frond_yaml_node *ps = frond_yaml_get(sc, "pipeline_stages");
        CHECK(ps && ps->kind == FROND_YAML_SEQ && ps->n == 1);
        CHECK(ps->items[0]->kind == FROND_YAML_MAP);
        CHECK(frond_yaml_get(ps->items[0], "cri")->kind == FROND_YAML_MAP);
        CHECK_INT(frond_yaml_get(ps->items[0], "cri")->n, 0);
    }
    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(root, "multi"), "multi", &s, err, sizeof(err)),
              0);
    CHECK_STR(s, "line one\nline two\n");
    free(s);
    s = NULL;
    CHECK_INT(
        frond_yaml_string(&doc, frond_yaml_get(root, "folded"), "folded", &s, err, sizeof(err)), 0);
    CHECK_STR(s, "folded text\n");
    free(s);
    frond_yaml_doc_cleanup(&doc);
    CHECK(doc.root == NULL && doc.name == NULL);
    /* Cleanup twice is harmless. */
    frond_yaml_doc_cleanup(&doc);

    CHECK_INT(load("good_empty.yml", false, &doc, err, sizeof(err)), 0);
    CHECK(doc.root == NULL);
    frond_yaml_doc_cleanup(&doc);
    CHECK_INT(load("good_only_marker.yml", false, &doc, err, sizeof(err)), 0);
    CHECK(doc.root == NULL);
    frond_yaml_doc_cleanup(&doc);
}

struct bad_case {
    const char *file;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    {"bad_indent.yml", "bad_indent.yml:3: mapping values are not allowed in this context"},
    {"bad_unclosed_quote.yml",
     "bad_unclosed_quote.yml:4: found unexpected end of stream (while scanning a quoted scalar "
     "started at line 2)"},
    {"bad_tab.yml", "bad_tab.yml:2: found character that cannot start any token"},
    {"bad_duplicate_key.yml",
     "bad_duplicate_key.yml:4: duplicate key \"url\" (first defined at line 2)"},
    {"bad_duplicate_top.yml",
     "bad_duplicate_top.yml:6: duplicate key \"server\" (first defined at line 1)"},
    {"bad_duplicate_flow.yml",
     "bad_duplicate_flow.yml:1: duplicate key \"job\" (first defined at line 1)"},
    {"bad_unknown_anchor.yml", "bad_unknown_anchor.yml:5: unknown anchor \"defualts\" referenced"},
    {"bad_anchor_undefined_later.yml",
     "bad_anchor_undefined_later.yml:1: unknown anchor \"later\" referenced"},
    {"bad_complex_key.yml", "bad_complex_key.yml:2: mapping keys must be scalars, got a sequence"},
    {"bad_flow_map_key.yml", "bad_flow_map_key.yml:1: mapping keys must be scalars, got a mapping"},
    {"bad_alias_key.yml", "bad_alias_key.yml:3: mapping keys must be scalars, got a mapping"},
    {"bad_multi_doc.yml", "bad_multi_doc.yml:3: only one YAML document per file is supported"},
    {"bad_recursive_alias.yml",
     "bad_recursive_alias.yml:3: alias \"loop\" refers to a collection that contains it"},
    {"bad_merge_scalar.yml",
     "bad_merge_scalar.yml:4: merge key << needs a mapping or a sequence of mappings"},
    {"bad_flow_unclosed.yml",
     "bad_flow_unclosed.yml:2: did not find expected ',' or ']' (while parsing a flow "
     "sequence started at line 1)"},
    {"bad_block_seq_in_map.yml",
     "bad_block_seq_in_map.yml:3: did not find expected key (while parsing a block mapping "
     "started at line 2)"},
    {"bad_control_char.yml", "bad_control_char.yml:2: control characters are not allowed"},
    {"bad_utf8.yml", "bad_utf8.yml:2: invalid leading UTF-8 octet"},
    {"bad_deep.yml", "bad_deep.yml:2: nesting deeper than 256 levels"},
    {"bad_merge_bomb.yml", "bad_merge_bomb.yml:2004: document too large with aliases expanded "
                           "(more than 1000000 nodes)"},
    {"bad_laughs.yml",
     "bad_laughs.yml:7: document too large with aliases expanded (more than 1000000 nodes)"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad_cases); i++) {
        struct frond_yaml_doc doc;
        char err[512] = "";
        int rc = load(bad_cases[i].file, false, &doc, err, sizeof(err));

        CHECK_INT(rc, -EINVAL);
        CHECK_STR(tail(err), bad_cases[i].msg);
        /* A failed load leaves nothing to free, and cleanup is still safe. */
        CHECK(doc.root == NULL && doc.arena_ == NULL && doc.name == NULL);
        frond_yaml_doc_cleanup(&doc);
    }
}

static void test_io_errors(void)
{
    struct frond_yaml_doc doc;
    char err[512] = "";

    CHECK_INT(frond_yaml_load_file("/nonexistent/config.yml", false, &doc, err, sizeof(err)),
              -ENOENT);
    CHECK_STR(err, "/nonexistent/config.yml: No such file or directory");
    frond_yaml_doc_cleanup(&doc);
    CHECK_INT(frond_yaml_load_file(FROND_YAML_TESTDATA, false, &doc, err, sizeof(err)), -EISDIR);
    frond_yaml_doc_cleanup(&doc);
}

static void test_readers(void)
{
    struct frond_yaml_doc doc;
    char err[512] = "";
    const struct frond_yaml_node *c0, *c1;
    static const char *const known[] = {"url",     "batchwait", "batchsize",
                                        "timeout", "retries",   NULL};
    double d = 0;
    long l = 0;
    bool b = false;
    char *s = NULL;

    CHECK_INT(load("types.yml", false, &doc, err, sizeof(err)), 0);
    if (!doc.root) {
        return;
    }
    c0 = frond_yaml_get(doc.root, "clients")->items[0];
    c1 = frond_yaml_get(doc.root, "clients")->items[1];
    CHECK_INT(frond_yaml_check_keys(&doc, c0, known, "clients[0]", err, sizeof(err)), -EINVAL);
    CHECK_STR(tail(err), "types.yml:7: unknown key \"batchwiat\" in clients[0]");
    CHECK_INT(frond_yaml_check_keys(&doc, frond_yaml_get(doc.root, "clients"), known, "clients",
                                    err, sizeof(err)),
              -EINVAL);
    CHECK_STR(tail(err), "types.yml:2: clients: expected a mapping, got a sequence");
    CHECK_INT(frond_yaml_check_keys(&doc, NULL, known, "x", err, sizeof(err)), 0);

    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(c1, "url"), "url", &s, err, sizeof(err)),
              -EINVAL);
    CHECK(s == NULL);
    CHECK_STR(tail(err), "types.yml:8: url: expected a string, got a sequence");
    CHECK_INT(frond_yaml_bool(&doc, frond_yaml_get(c1, "enabled"), "enabled", &b, err, sizeof(err)),
              -EINVAL);
    CHECK_STR(tail(err), "types.yml:9: enabled: expected a boolean (true or false), got \"maybe\"");
    CHECK_INT(frond_yaml_long(&doc, frond_yaml_get(c1, "retries"), "retries", &l, err, sizeof(err)),
              -EINVAL);
    CHECK_STR(tail(err), "types.yml:10: retries: expected an integer, got \"lots\"");
    CHECK_INT(frond_yaml_double(&doc, frond_yaml_get(c1, "ratio"), "ratio", &d, err, sizeof(err)),
              -EINVAL);
    CHECK_STR(tail(err), "types.yml:11: ratio: expected a number, got \"half\"");
    CHECK_INT(
        frond_yaml_bytes(&doc, frond_yaml_get(c1, "batchsize"), "batchsize", &l, err, sizeof(err)),
        -EINVAL);
    CHECK_STR(tail(err), "types.yml:12: batchsize: expected a size like \"1MiB\", got \"big\"");
    CHECK_INT(frond_yaml_duration(&doc, frond_yaml_get(c1, "batchwait"), "batchwait", &d, err,
                                  sizeof(err)),
              -EINVAL);
    CHECK_STR(tail(err), "types.yml:13: batchwait: expected a duration like \"1s\", got \"abc\"");
    CHECK_INT(frond_yaml_duration(&doc, c1, "client", &d, err, sizeof(err)), -EINVAL);
    CHECK_STR(tail(err), "types.yml:8: client: expected a duration like \"1s\", got a mapping");
    CHECK_INT(frond_yaml_check_keys(&doc, frond_yaml_get(c1, "external_labels"), known,
                                    "clients[1].external_labels", err, sizeof(err)),
              -EINVAL);
    CHECK_STR(tail(err),
              "types.yml:14: clients[1].external_labels: expected a mapping, got a scalar");
    CHECK_INT(frond_yaml_error(&doc, c1, err, sizeof(err), "custom %d", 5), -EINVAL);
    CHECK_STR(tail(err), "types.yml:8: custom 5");
    CHECK_INT(frond_yaml_error(&doc, NULL, err, sizeof(err), "whole file"), -EINVAL);
    CHECK_STR(tail(err), "types.yml: whole file");
    frond_yaml_doc_cleanup(&doc);
}

/* In-memory documents: corner cases that need no file of their own. */
static void test_inline(void)
{
    struct frond_yaml_doc doc;
    char err[512] = "";
    char *s = NULL;
    static const char nul_doc[] = "a: \"x\\0y\"\n";
    static const char long_doc[] = "a: \"0123456789012345678901234567890123456789012345678901234567"
                                   "890123456789\\x01\"\n";
    double d = 0;

    /* An embedded NUL would silently cut a C string short: refuse it. */
    CHECK_INT(frond_yaml_parse("m.yml", nul_doc, sizeof(nul_doc) - 1, &doc, err, sizeof(err)), 0);
    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(doc.root, "a"), "a", &s, err, sizeof(err)),
              -EINVAL);
    CHECK_STR(err, "m.yml:1: a: expected a string, got a NUL byte");
    frond_yaml_doc_cleanup(&doc);

    /* Long or binary values are cut and escaped in messages. */
    CHECK_INT(frond_yaml_parse("m.yml", long_doc, sizeof(long_doc) - 1, &doc, err, sizeof(err)), 0);
    CHECK_INT(frond_yaml_duration(&doc, frond_yaml_get(doc.root, "a"), "a", &d, err, sizeof(err)),
              -EINVAL);
    CHECK_STR(err, "m.yml:1: a: expected a duration like \"1s\", got "
                   "\"0123456789012345678901234567890123456789012345678901234567890123\"...");
    frond_yaml_doc_cleanup(&doc);

    /* Explicit tags make a plain scalar text, and `!!str ~` is not null. */
    CHECK_INT(frond_yaml_parse("m.yml", "a: !!str ~\nb: ~\nc: NULL\nd: null\n", 32, &doc, err,
                               sizeof(err)),
              0);
    CHECK(!frond_yaml_is_null(frond_yaml_get(doc.root, "a")));
    CHECK(frond_yaml_is_null(frond_yaml_get(doc.root, "b")));
    CHECK(frond_yaml_is_null(frond_yaml_get(doc.root, "c")));
    CHECK(frond_yaml_is_null(frond_yaml_get(doc.root, "d")));
    frond_yaml_doc_cleanup(&doc);

    /* Aliases share nodes instead of copying them. */
    CHECK_INT(frond_yaml_parse("m.yml", "a: &x [1, 2]\nb: *x\n", 19, &doc, err, sizeof(err)), 0);
    CHECK(frond_yaml_get(doc.root, "a") == frond_yaml_get(doc.root, "b"));
    frond_yaml_doc_cleanup(&doc);

    /* A later anchor of the same name takes over. */
    CHECK_INT(frond_yaml_parse("m.yml", "a: &x 1\nb: &x 2\nc: *x\n", 22, &doc, err, sizeof(err)),
              0);
    CHECK_STR(frond_yaml_get(doc.root, "c")->value, "2");
    frond_yaml_doc_cleanup(&doc);

    /* A top-level scalar and a sequence are documents too. */
    CHECK_INT(frond_yaml_parse("m.yml", "- 1\n- 2\n", 8, &doc, err, sizeof(err)), 0);
    CHECK(doc.root && doc.root->kind == FROND_YAML_SEQ && doc.root->n == 2);
    CHECK_INT(doc.root->items[1]->line, 2);
    frond_yaml_doc_cleanup(&doc);
    CHECK_INT(frond_yaml_parse("m.yml", "", 0, &doc, err, sizeof(err)), 0);
    CHECK(doc.root == NULL);
    frond_yaml_doc_cleanup(&doc);
    CHECK_INT(frond_yaml_parse("m.yml", NULL, 0, &doc, err, sizeof(err)), 0);
    frond_yaml_doc_cleanup(&doc);

    /* Size limits: more than 1,000,000 nodes, even in a small text. */
    {
        size_t n = 1000001, len = 2 * n + 2, o = 0;
        char *text = malloc(len);
        if (text) {
            text[o++] = '[';
            for (size_t i = 0; i < n; i++) {
                text[o++] = '0';
                text[o++] = i + 1 < n ? ',' : ']';
            }
            text[o++] = '\n';
            CHECK_INT(frond_yaml_parse("m.yml", text, o, &doc, err, sizeof(err)), -EINVAL);
            CHECK_STR(err, "m.yml:1: too many nodes (more than 1000000)");
            free(text);
        }
    }
    {
        size_t big = 16u * 1024 * 1024 + 1;
        char *text = malloc(big);
        if (text) {
            memset(text, '#', big);
            CHECK_INT(frond_yaml_parse("m.yml", text, big, &doc, err, sizeof(err)), -EINVAL);
            CHECK_STR(err, "m.yml: document too large (more than 16 MiB)");
            free(text);
        }
    }
}

static void test_load_expand(void)
{
    struct frond_yaml_doc doc;
    char err[512] = "";
    char path[] = "/tmp/frond-yaml-XXXXXX";
    int fd = mkstemp(path);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    char *s = NULL;

    CHECK(fp != NULL);
    if (!fp) {
        return;
    }
    fputs("url: ${FROND_T_URL}\ntenant: ${FROND_T_TENANT:-default}\nprice: $$5\n", fp);
    fclose(fp);
    setenv("FROND_T_URL", "http://loki:3100", 1);
    unsetenv("FROND_T_TENANT");
    CHECK_INT(frond_yaml_load_file(path, true, &doc, err, sizeof(err)), 0);
    CHECK_INT(frond_yaml_string(&doc, frond_yaml_get(doc.root, "url"), "url", &s, err, sizeof(err)),
              0);
    CHECK_STR(s, "http://loki:3100");
    free(s);
    s = NULL;
    CHECK_STR(frond_yaml_get(doc.root, "tenant")->value, "default");
    CHECK_STR(frond_yaml_get(doc.root, "price")->value, "$5");
    frond_yaml_doc_cleanup(&doc);
    /* Without expansion the text is taken as written. */
    CHECK_INT(frond_yaml_load_file(path, false, &doc, err, sizeof(err)), 0);
    CHECK_STR(frond_yaml_get(doc.root, "url")->value, "${FROND_T_URL}");
    frond_yaml_doc_cleanup(&doc);
    unlink(path);
    unsetenv("FROND_T_URL");
}

struct env_case {
    const char *in;
    const char *out;
};

static const struct env_case env_cases[] = {
    {"", ""},
    {"plain text", "plain text"},
    {"${FT_A}", "alpha"},
    {"$FT_A", "alpha"},
    {"x${FT_A}y", "xalphay"},
    {"x$FT_A.y", "xalpha.y"},
    {"$FT_A$FT_B", "alphabeta"},
    {"${FT_UNSET}", ""},
    {"$FT_UNSET/x", "/x"},
    {"${FT_UNSET:-fallback}", "fallback"},
    {"${FT_A:-fallback}", "alpha"},
    {"${FT_EMPTY:-fallback}", "fallback"},
    {"${FT_EMPTY-fallback}", ""},
    {"${FT_UNSET-fallback}", "fallback"},
    {"${FT_UNSET:-}", ""},
    {"${FT_UNSET:-a b:c}", "a b:c"},
    {"$$", "$"},
    {"$$FT_A", "$FT_A"},
    {"cost: 5$", "cost: 5$"},
    {"$ x", "$ x"},
    {"$1", "$1"},
    {"${", "${"},
    {"${FT_A", "${FT_A"},
    {"${}", "${}"},
    {"${1A}", "${1A}"},
    {"${FT_A:x}", "${FT_A:x}"},
    {"a\n${FT_A}\nb", "a\nalpha\nb"},
};

static void test_expand_env(void)
{
    setenv("FT_A", "alpha", 1);
    setenv("FT_B", "beta", 1);
    setenv("FT_EMPTY", "", 1);
    unsetenv("FT_UNSET");
    for (size_t i = 0; i < FROND_ARRAY_SIZE(env_cases); i++) {
        struct frond_buf b;
        frond_buf_init(&b, 1024);
        CHECK_INT(frond_expand_env(env_cases[i].in, strlen(env_cases[i].in), &b), 0);
        if (strcmp(frond_buf_cstr(&b), env_cases[i].out) != 0) {
            fprintf(stderr, "env case %zu \"%s\"\n", i, env_cases[i].in);
        }
        CHECK_STR(frond_buf_cstr(&b), env_cases[i].out);
        frond_buf_cleanup(&b);
    }
    /* The buffer's cap bounds the expansion. */
    {
        struct frond_buf b;
        frond_buf_init(&b, 4);
        CHECK_INT(frond_expand_env("${FT_A}", 7, &b), -ENOSPC);
        frond_buf_cleanup(&b);
    }
    unsetenv("FT_A");
    unsetenv("FT_B");
    unsetenv("FT_EMPTY");
}

int main(void)
{
    test_good();
    test_bad();
    test_io_errors();
    test_readers();
    test_inline();
    test_load_expand();
    test_expand_env();
    return check_done("test_yamlcfg");
}
