/*
 * Unit tests for frondtail's relabel_configs (shipper/relabel.c), table
 * driven. Rules are written as the YAML a promtail user writes and loaded
 * through config_parse, so each case also covers the config keys. The
 * tables hold:
 *   - cases ported from Prometheus' model/relabel/relabel_test.go
 *     (TestRelabel, in its order; marked "prom:"), and its
 *     TestRelabelValidate / TestTargetLabelValidity as load errors;
 *   - promtail's documented examples: the kubernetes-pods job of the
 *     promtail Helm chart (controller name, app/instance/component
 *     resolution, node_name, namespace, job, __path__) and the journal
 *     examples of promtail's scraping docs (marked "promtail:");
 *   - the RE2 regex engine: syntax, leftmost-first captures, rejects
 *     (expected values agree with Go's regexp; the engine was also
 *     compared with Go on ~280k random pattern/input/template triples);
 *   - Go template expansion ($1, ${1}, $name, $$).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "relabel.h"

/* ---- Label set helpers: "a=foo;b=bar" ---------------------------------- */

static void parse_labels(const char *spec, struct labels_set *s)
{
    labels_init(s);
    char *copy = strdup(spec);
    char *save = NULL;
    for (char *p = copy; p && *p;) {
        char *semi = strchr(p, ';');
        if (semi) {
            *semi = '\0';
        }
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            CHECK_INT(labels_set(s, p, eq + 1), 0);
        }
        p = semi ? semi + 1 : NULL;
    }
    (void)save;
    free(copy);
}

/* "a=foo;b=bar" in name order, for messages and comparison. */
static void render_all(const struct labels_set *s, char *out, size_t len)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->n && k < len; i++) {
        int n = snprintf(out + k, len - k, "%s%s=%s", i ? ";" : "", s->l[i].name, s->l[i].value);
        if (n < 0) {
            break;
        }
        k += (size_t)n;
    }
}

static int load_rules(const char *rules, struct shipper_config *c, char *err, size_t errlen)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "scrape_configs:\n  - job_name: t\n    journal: {}\n    relabel_configs:\n%s", rules);
    return config_parse(c, "r.yaml", text, strlen(text), false, err, errlen);
}

/* ---- Relabel cases --------------------------------------------------- */

struct rcase {
    const char *name;
    const char *rules; /* YAML items under relabel_configs, 6-space indent */
    const char *in;
    const char *out; /* NULL: dropped */
};

#define R(x) "      - " x "\n"

static const struct rcase cases[] = {
    /* prom: TestRelabel, in order. */
    {"prom: replace with ${1} twice",
     R("{source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}"),
     "a=foo;b=bar;c=baz", "a=foo;b=bar;c=baz;d=choo-choo"},
    {"prom: two replaces over joined sources",
     R("{source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: "
       "'b${1}${2}m'}") R("{source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, "
                          "replacement: '$1$2$2$3'}"),
     "a=foo;b=bar;c=baz", "a=boobam;b=bar;c=baz;d=boooom"},
    {"prom: drop before replace",
     R("{source_labels: [a], regex: '.*o.*', action: drop}")
         R("{source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch$1-ch$1'}"),
     "a=foo", NULL},
    {"prom: drop on match", R("{source_labels: [a], regex: '.*o.*', action: drop}"), "a=foo;b=bar",
     NULL},
    {"prom: group inside greedy dots",
     R("{source_labels: [a], regex: '.*(b).*', target_label: d, replacement: '$1'}"), "a=abc",
     "a=abc;d=b"},
    {"prom: drop without match keeps", R("{source_labels: [a], regex: no-match, action: drop}"),
     "a=foo", "a=foo"},
    {"prom: anchored alternation does not match foo",
     R("{source_labels: [a], regex: 'f|o', action: drop}"), "a=foo", "a=foo"},
    {"prom: keep without match drops", R("{source_labels: [a], regex: no-match, action: keep}"),
     "a=foo", NULL},
    {"prom: keep on match", R("{source_labels: [a], regex: 'f.*', action: keep}"), "a=foo",
     "a=foo"},
    {"prom: no replacement without a match",
     R("{source_labels: [a], regex: f, target_label: b, replacement: bar}"), "a=boo", "a=boo"},
    {"prom: hashmod 1000",
     R("{source_labels: [c], target_label: d, action: hashmod, modulus: 1000}"),
     "a=foo;b=bar;c=baz", "a=foo;b=bar;c=baz;d=976"},
    {"prom: hashmod of a value with a newline",
     R("{source_labels: [a], target_label: b, action: hashmod, modulus: 1000}"), "a=foo\nbar",
     "a=foo\nbar;b=734"},
    {"prom: labelmap bar_${1}", R("{regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}"),
     "a=foo;b1=bar;b2=baz", "a=foo;b1=bar;b2=baz;bar_b1=bar;bar_b2=baz"},
    {"prom: labelmap __meta_", R("{regex: '__meta_(my.*)', replacement: '${1}', action: labelmap}"),
     "a=foo;__meta_my_bar=aaa;__meta_my_baz=bbb;__meta_other=ccc",
     "__meta_my_bar=aaa;__meta_my_baz=bbb;__meta_other=ccc;a=foo;my_bar=aaa;my_baz=bbb"},
    {"prom: target_label from a group",
     R("{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${2}', target_label: "
       "'${1}'}"),
     "a=some-name-value", "a=some-name-value;name=value"},
    {"prom: empty replacement deletes (nothing to delete)",
     R("{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${3}', target_label: "
       "'${1}'}"),
     "a=some-name-value", "a=some-name-value"},
    {"prom: invalid expanded target_label is skipped",
     R("{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: "
       "'${3}'}") R("{source_labels: [a], regex: 'some-([^-]+)(-[^,]+)', replacement: '${1}', "
                    "target_label: '${3}'}"),
     "a=some-name-0", "a=some-name-0"},
    {"prom: sd tags, (?:.+,|^) prefixes",
     R("{source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*', replacement: "
       "'${1}', target_label: __metrics_path__}")
         R("{source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', replacement: "
           "'${1}', target_label: job}")
             R("{source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', "
               "replacement: '${2}', target_label: '${1}'}"),
     "__meta_sd_tags=path:/secret,job:some-job,label:foo=bar",
     "__meta_sd_tags=path:/secret,job:some-job,label:foo=bar;__metrics_path__=/secret;foo=bar;"
     "job=some-job"},
    {"prom: issue 12283, labeldrop then replace then keep",
     R("{regex: '^__meta_kubernetes_pod_container_port_name$', action: labeldrop}")
         R("{source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port], regex: '(.+)', "
           "replacement: metrics, target_label: __meta_kubernetes_pod_container_port_name}")
             R("{source_labels: [__meta_kubernetes_pod_container_port_name], regex: '^metrics$', "
               "action: keep}"),
     "__meta_kubernetes_pod_container_port_name=foo;__meta_kubernetes_pod_annotation_XXX_metrics_"
     "port=9091",
     "__meta_kubernetes_pod_annotation_XXX_metrics_port=9091;__meta_kubernetes_pod_container_port_"
     "name=metrics"},
    {"prom: labelkeep", R("{regex: '(b.*)', action: labelkeep}"), "a=foo;b1=bar;b2=baz",
     "b1=bar;b2=baz"},
    {"prom: labeldrop", R("{regex: '(b.*)', action: labeldrop}"), "a=foo;b1=bar;b2=baz", "a=foo"},
    {"prom: uppercase and lowercase",
     R("{source_labels: [foo], action: uppercase, target_label: foo_uppercase}")
         R("{source_labels: [foo], action: lowercase, target_label: foo_lowercase}"),
     "foo=bAr123Foo", "foo=bAr123Foo;foo_lowercase=bar123foo;foo_uppercase=BAR123FOO"},
    {"prom: keepequal keeps",
     R("{source_labels: [__tmp_port], action: keepequal, target_label: "
       "__port1}"),
     "__tmp_port=1234;__port1=1234;__port2=5678", "__port1=1234;__port2=5678;__tmp_port=1234"},
    {"prom: dropequal drops",
     R("{source_labels: [__tmp_port], action: dropequal, target_label: __port1}"),
     "__tmp_port=1234;__port1=1234;__port2=5678", NULL},
    {"prom: dropequal keeps",
     R("{source_labels: [__tmp_port], action: dropequal, target_label: __port2}"),
     "__tmp_port=1234;__port1=1234;__port2=5678", "__port1=1234;__port2=5678;__tmp_port=1234"},
    {"prom: keepequal drops",
     R("{source_labels: [__tmp_port], action: keepequal, target_label: __port2}"),
     "__tmp_port=1234;__port1=1234;__port2=5678", NULL},

    /* promtail: Helm chart kubernetes-pods job. */
    {"promtail: controller name without its hash (lazy group)",
     R("{source_labels: [__meta_kubernetes_pod_controller_name], regex: "
       "'([0-9a-z-.]+?)(-[0-9a-f]{8,10})?', action: replace, target_label: "
       "__tmp_controller_name}"),
     "__meta_kubernetes_pod_controller_name=web-frontend-7d4b9c8f5",
     "__meta_kubernetes_pod_controller_name=web-frontend-7d4b9c8f5;__tmp_controller_name=web-"
     "frontend"},
    {"promtail: controller name without a hash stays whole",
     R("{source_labels: [__meta_kubernetes_pod_controller_name], regex: "
       "'([0-9a-z-.]+?)(-[0-9a-f]{8,10})?', action: replace, target_label: "
       "__tmp_controller_name}"),
     "__meta_kubernetes_pod_controller_name=node-exporter",
     "__meta_kubernetes_pod_controller_name=node-exporter;__tmp_controller_name=node-exporter"},
    {"promtail: app from the first non-empty source",
     R("{source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name, "
       "__meta_kubernetes_pod_label_app, __tmp_controller_name, __meta_kubernetes_pod_name], "
       "regex: '^;*([^;]+)(;.*)?$', action: replace, target_label: app}"),
     "__tmp_controller_name=web;__meta_kubernetes_pod_name=web-7d4b9c8f5-x2x9z",
     "__meta_kubernetes_pod_name=web-7d4b9c8f5-x2x9z;__tmp_controller_name=web;app=web"},
    {"promtail: app from app.kubernetes.io/name first",
     R("{source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name, "
       "__meta_kubernetes_pod_label_app, __tmp_controller_name, __meta_kubernetes_pod_name], "
       "regex: '^;*([^;]+)(;.*)?$', action: replace, target_label: app}"),
     "__meta_kubernetes_pod_label_app=old;__meta_kubernetes_pod_label_app_kubernetes_io_name=api",
     "__meta_kubernetes_pod_label_app=old;__meta_kubernetes_pod_label_app_kubernetes_io_name=api;"
     "app=api"},
    {"promtail: __meta_kubernetes_pod_label_app -> app",
     R("{source_labels: [__meta_kubernetes_pod_label_app], target_label: app}"),
     "__meta_kubernetes_pod_label_app=nginx", "__meta_kubernetes_pod_label_app=nginx;app=nginx"},
    {"promtail: node_name, namespace, job namespace/app, pod, container",
     R("{action: replace, source_labels: [__meta_kubernetes_pod_node_name], target_label: "
       "node_name}") R("{action: replace, source_labels: [__meta_kubernetes_namespace], "
                       "target_label: namespace}")
         R("{action: replace, replacement: $1, separator: /, source_labels: [namespace, app], "
           "target_label: job}") R("{action: replace, source_labels: [__meta_kubernetes_pod_name], "
                                   "target_label: pod}")
             R("{action: replace, source_labels: [__meta_kubernetes_pod_container_name], "
               "target_label: container}"),
     "__meta_kubernetes_pod_node_name=node-1;__meta_kubernetes_namespace=shop;app=cart;__meta_"
     "kubernetes_pod_name=cart-0;__meta_kubernetes_pod_container_name=main",
     "__meta_kubernetes_namespace=shop;__meta_kubernetes_pod_container_name=main;__meta_"
     "kubernetes_pod_name=cart-0;__meta_kubernetes_pod_node_name=node-1;app=cart;container=main;"
     "job=shop/cart;namespace=shop;node_name=node-1;pod=cart-0"},
    {"promtail: __path__ from pod uid and container name",
     R("{action: replace, replacement: '/var/log/pods/*$1/*.log', separator: /, source_labels: "
       "[__meta_kubernetes_pod_uid, __meta_kubernetes_pod_container_name], target_label: "
       "__path__}"),
     "__meta_kubernetes_pod_uid=0f1e2d3c;__meta_kubernetes_pod_container_name=main",
     "__meta_kubernetes_pod_container_name=main;__meta_kubernetes_pod_uid=0f1e2d3c;__path__=/var/"
     "log/pods/*0f1e2d3c/main/*.log"},
    {"promtail: __path__ from the static pod config hash",
     R("{action: replace, replacement: '/var/log/pods/*$1/*.log', regex: 'true/(.*)', separator: "
       "/, source_labels: [__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash, "
       "__meta_kubernetes_pod_annotation_kubernetes_io_config_hash, "
       "__meta_kubernetes_pod_container_name], target_label: __path__}"),
     "__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash=true;__meta_kubernetes_"
     "pod_annotation_kubernetes_io_config_hash=abc;__meta_kubernetes_pod_container_name=etcd",
     "__meta_kubernetes_pod_annotation_kubernetes_io_config_hash=abc;__meta_kubernetes_pod_"
     "annotationpresent_kubernetes_io_config_hash=true;__meta_kubernetes_pod_container_name=etcd;"
     "__path__=/var/log/pods/*abc/etcd/*.log"},
    {"promtail: config hash regex leaves __path__ without the annotation",
     R("{action: replace, replacement: '/var/log/pods/*$1/*.log', regex: 'true/(.*)', separator: "
       "/, source_labels: [__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash, "
       "__meta_kubernetes_pod_annotation_kubernetes_io_config_hash, "
       "__meta_kubernetes_pod_container_name], target_label: __path__}"),
     "__path__=/x;__meta_kubernetes_pod_container_name=etcd",
     "__meta_kubernetes_pod_container_name=etcd;__path__=/x"},
    {"promtail: labelmap __meta_kubernetes_pod_label_(.+)",
     R("{action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)'}"),
     "__meta_kubernetes_pod_label_app=nginx;__meta_kubernetes_pod_label_tier=web;job=k",
     "__meta_kubernetes_pod_label_app=nginx;__meta_kubernetes_pod_label_tier=web;app=nginx;job=k;"
     "tier=web"},
    {"promtail: drop pods without a name label (__service__ empty)",
     R("{source_labels: [__meta_kubernetes_pod_label_name], target_label: __service__}")
         R("{action: drop, regex: '', source_labels: [__service__]}"),
     "__meta_kubernetes_pod_name=x", NULL},
    {"promtail: keep pods with a name label",
     R("{source_labels: [__meta_kubernetes_pod_label_name], target_label: __service__}")
         R("{action: drop, regex: '', source_labels: [__service__]}"),
     "__meta_kubernetes_pod_label_name=db", "__meta_kubernetes_pod_label_name=db;__service__=db"},

    /* promtail: journal scraping docs. */
    {"promtail: journal __journal__systemd_unit -> unit",
     R("{source_labels: ['__journal__systemd_unit'], target_label: 'unit'}"),
     "__journal__systemd_unit=ssh.service;job=systemd-journal",
     "__journal__systemd_unit=ssh.service;job=systemd-journal;unit=ssh.service"},
    {"promtail: journal __journal_priority_keyword -> level",
     R("{source_labels: ['__journal_priority_keyword'], target_label: 'level'}"),
     "__journal_priority=3;__journal_priority_keyword=err",
     "__journal_priority=3;__journal_priority_keyword=err;level=err"},
    {"promtail: journal hostname and an absent unit",
     R("{source_labels: ['__journal__hostname'], target_label: 'hostname'}")
         R("{source_labels: ['__journal__systemd_unit'], target_label: 'unit'}"),
     "__journal__hostname=node1;unit=stale", "__journal__hostname=node1;hostname=node1"},
    {"journal: drop one unit, case-insensitive",
     R("{source_labels: [__journal__systemd_unit], regex: '(?i)CRON\\.service', action: drop}"),
     "__journal__systemd_unit=cron.service", NULL},
    {"journal: keep kernel transport only",
     R("{source_labels: [__journal__transport], regex: kernel, action: keep}"),
     "__journal__transport=stdout", NULL},

    /* Defaults and edge cases. */
    {"default regex (.*) does not match a newline (RE2 dot)",
     R("{source_labels: [a], target_label: b}"), "a=x\ny", "a=x\ny"},
    {"(?s) lets the dot match a newline",
     R("{source_labels: [a], regex: '(?s)(.*)', "
       "target_label: b}"),
     "a=x\ny", "a=x\ny;b=x\ny"},
    {"missing source labels join as empty strings",
     R("{source_labels: [x, a, y], separator: ',', target_label: b, replacement: '[$1]'}"), "a=v",
     "a=v;b=[,v,]"},
    {"replace without source_labels sets a constant", R("{target_label: env, replacement: prod}"),
     "a=v", "a=v;env=prod"},
    {"empty replacement deletes the target",
     R("{source_labels: [a], regex: 'drop-(.*)', target_label: a, replacement: '$2'}"), "a=drop-me",
     ""},
    {"named groups with ${name} and $name",
     R("{source_labels: [addr], regex: '(?P<host>[^:]+):(?<port>\\d+)', target_label: "
       "'${host}', replacement: '$port'}"),
     "addr=db:5432", "addr=db:5432;db=5432"},
    {"Prometheus docs: host without its port",
     R("{source_labels: [__address__], regex: '([^:]+)(?::\\d+)?', target_label: host}"),
     "__address__=example.org:9100", "__address__=example.org:9100;host=example.org"},
    {"$1x names group 1x (Go Expand), ${1}x does not",
     R("{source_labels: [a], regex: '(.*)', target_label: b, replacement: '$1x'}")
         R("{source_labels: [a], regex: '(.*)', target_label: c, replacement: '${1}x$$'}"),
     "a=v", "a=v;c=vx$"},
    {"hashmod of the empty value", R("{target_label: shard, action: hashmod, modulus: 7}"), "",
     "shard=1"},
    {"lowercase of non-ASCII", R("{source_labels: [a], action: lowercase, target_label: b}"),
     "a=ÉCOLE Ünï", "a=ÉCOLE Ünï;b=école ünï"},
    {"uppercase of an empty value deletes the target",
     R("{source_labels: [x], action: uppercase, target_label: b}"), "b=old", ""},
    {"action names are case-insensitive", R("{source_labels: [a], regex: 'x', action: DROP}"),
     "a=x", NULL},
    /* yaml.v2 (promtail's loader) reads a key without a value as "", not the default. */
    {"separator: with no value joins with nothing",
     "      - source_labels: [a, b]\n        separator:\n        target_label: c\n", "a=foo;b=bar",
     "a=foo;b=bar;c=foobar"},
    {"regex: with no value matches only the empty string",
     "      - source_labels: [a]\n        regex:\n        target_label: c\n        replacement: "
     "x\n      - source_labels: [a]\n        regex:\n        target_label: d\n        "
     "replacement: y\n",
     "b=1", "b=1;c=x;d=y"},
    {"regex: with no value does not match a value",
     "      - source_labels: [a]\n        regex:\n        target_label: c\n        replacement: "
     "x\n",
     "a=foo", "a=foo"},
    {"replacement: with no value deletes the target",
     "      - source_labels: [a]\n        target_label: a\n        replacement:\n", "a=foo;b=1",
     "b=1"},
    {"labelmap skips results that are not label names",
     R("{regex: '(.*)_(.*)', replacement: '$2', action: labelmap}"), "a_=v;b_c=w",
     "a_=v;b_c=w;c=w"},
};

static void test_cases(void)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        const struct rcase *tc = &cases[i];
        struct shipper_config c;
        char err[512] = "";
        int rc = load_rules(tc->rules, &c, err, sizeof(err));
        CHECK_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "case \"%s\": %s\n", tc->name, err);
            continue;
        }
        struct labels_set s;
        parse_labels(tc->in, &s);
        int keep = relabel_apply(c.scrapes[0].relabel, c.scrapes[0].nrelabel, &s);
        CHECK_INT(keep, tc->out ? 1 : 0);
        if (keep == 1 && tc->out) {
            struct labels_set want;
            parse_labels(tc->out, &want);
            char got[2048], exp[2048];
            render_all(&s, got, sizeof(got));
            render_all(&want, exp, sizeof(exp));
            if (strcmp(got, exp) != 0) {
                fprintf(stderr, "case \"%s\"\n", tc->name);
            }
            CHECK_STR(got, exp);
            labels_cleanup(&want);
        } else if (keep != (tc->out ? 1 : 0)) {
            fprintf(stderr, "case \"%s\": keep %d\n", tc->name, keep);
        }
        labels_cleanup(&s);
        config_cleanup(&c);
    }
}

/* ---- Load errors ----------------------------------------------------- */

struct ecase {
    const char *rules;
    const char *want; /* prefix: "r.yaml:LINE:" then a substring */
    const char *sub;
};

static const struct ecase errors[] = {
    /* prom: TestRelabelValidate. */
    {R("{action: replace}"), "r.yaml:5:", "requires 'target_label' value"},
    {R("{action: lowercase}"), "r.yaml:5:", "requires 'target_label' value"},
    {R("{action: lowercase, target_label: '${3}'}"), "r.yaml:5:", "is invalid 'target_label'"},
    {R("{source_labels: [a], regex: 'x', replacement: '${1}', target_label: '0${3}'}"),
     "r.yaml:5:", "is invalid 'target_label'"},
    {R("{source_labels: [a], regex: 'x', replacement: '${1}', target_label: '-${3}'}"),
     "r.yaml:5:", "is invalid 'target_label' for replace action"},
    /* prom: TestTargetLabelValidity (the invalid ones). */
    {R("{target_label: '${'}"), "r.yaml:5:", "invalid 'target_label'"},
    {R("{target_label: '$'}"), "r.yaml:5:", "invalid 'target_label'"},
    {R("{target_label: '${}'}"), "r.yaml:5:", "invalid 'target_label'"},
    {R("{target_label: 'foo${'}"), "r.yaml:5:", "invalid 'target_label'"},
    {R("{target_label: '-foo${1}bar-'}"), "r.yaml:5:", "invalid 'target_label'"},
    /* Our own. */
    {R("{action: hashmod, target_label: s}"), "r.yaml:5:", "non-zero modulus"},
    {"      - action: hashmod\n        target_label: s\n        modulus: 0\n",
     "r.yaml:7:", "non-zero modulus"},
    {"      - target_label: x\n        action: frobnicate\n",
     "r.yaml:6:", "unknown relabel action"},
    {"      - target_label: x\n        action:\n", "r.yaml:6:", "relabel action cannot be empty"},
    {"      - target_label: x\n        regex: '(a'\n", "r.yaml:6:", "missing closing )"},
    {"      - target_label: x\n        regex: 'a(?=b)'\n", "r.yaml:6:", "lookarounds"},
    {"      - target_label: x\n        regex: '(a)\\1'\n", "r.yaml:6:", "backreferences"},
    {"      - target_label: x\n        regex: '\\pL+'\n", "r.yaml:6:", "Unicode classes"},
    {"      - action: labeldrop\n        regex: a\n        source_labels: [b]\n",
     "r.yaml:5:", "requires only 'regex'"},
    {"      - action: keepequal\n        target_label: a\n        regex: b\n",
     "r.yaml:5:", "requires only 'source_labels'"},
    {"      - action: uppercase\n        target_label: a\n        replacement: b\n",
     "r.yaml:7:", "'replacement' can not be set"},
    {"      - action: labelmap\n        replacement: '-$1'\n",
     "r.yaml:6:", "invalid 'replacement'"},
    {"      - source_labels: [a]\n        target_label: b\n        modulus: -1\n",
     "r.yaml:7:", "negative"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(errors); i++) {
        struct shipper_config c;
        char err[512] = "";
        int rc = load_rules(errors[i].rules, &c, err, sizeof(err));
        CHECK_INT(rc, -EINVAL);
        bool ok = strncmp(err, errors[i].want, strlen(errors[i].want)) == 0 &&
                  strstr(err, errors[i].sub) != NULL;
        if (!ok) {
            fprintf(stderr, "error case %zu: got \"%s\", want %s...%s\n", i, err, errors[i].want,
                    errors[i].sub);
        }
        CHECK(ok);
        if (rc == 0) {
            config_cleanup(&c);
        }
    }
    /* prom: TestTargetLabelValidity (the valid ones) load. */
    static const char *const valid[] = {"label", "label${1}", "${1}label", "${1}",
                                        "$1",    "asd$2asd",  "_${1}_",    "foo${bar}foo"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(valid); i++) {
        char rules[256];
        snprintf(rules, sizeof(rules), R("{target_label: '%s'}"), valid[i]);
        struct shipper_config c;
        char err[512] = "";
        int rc = load_rules(rules, &c, err, sizeof(err));
        CHECK_INT(rc, 0);
        if (rc == 0) {
            config_cleanup(&c);
        } else {
            fprintf(stderr, "valid target %s: %s\n", valid[i], err);
        }
    }
}

/* ---- The RE2 engine -------------------------------------------------- */

struct recase {
    const char *re;
    const char *in;
    const char *groups; /* NULL: no match; else "g1|g2|..." with "-" for an unset group */
};

static const struct recase re_cases[] = {
    {"\\d+", "2024", ""},
    {"\\d+", "20a4", NULL},
    {"\\D\\s\\S\\w\\W", "a \tx_-", NULL},
    {"\\D\\s\\S\\w\\W", "a x_-", ""},
    {"a\\.b", "a.b", ""},
    {"a\\.b", "axb", NULL},
    {"a.b", "axb", ""},
    {"[\\d.]+", "10.0.0.1", ""},
    {"[^\\s]+", "no-space", ""},
    {"[\\D]", "7", NULL},
    {"(?:a|b)(c)", "bc", "c"},
    {"(?:(a)|b)(c)", "bc", "-|c"},
    {"(?i)ssh\\.SERVICE", "SSH.service", ""},
    {"(?i)[a-c]+", "AbC", ""},
    {"x(?i:y)z", "xYz", ""},
    {"x(?i:y)z", "xYZ", NULL},
    {"(?P<host>[^:]+):(?P<port>\\d+)", "db:5432", "db|5432"},
    {"([^:]+)(?::\\d+)?", "host:9090", "host"},
    {"(.+?)(-[0-9a-f]+)?", "api-7f9c", "api|-7f9c"},
    {"(.+)(-[0-9a-f]+)?", "api-7f9c", "api-7f9c|-"},
    {"(a|ab)(c|bcd)(d*)", "abcd", "a|bcd|"},
    {"(a*)+", "b", NULL},
    {"(a*)*", "", ""},
    {"(a+|b)*", "ab", "b"},
    {".", "\n", NULL},
    {"(?s).", "\n", ""},
    {"[^a]", "\n", ""},
    {".", "é", ""},
    {"..", "é", NULL},
    {"\\x41\\x{263a}", "A☺", ""},
    {"[☺-☻]", "☻", ""},
    {"a{2,3}", "aaaa", NULL},
    {"a{2,3}", "aaa", ""},
    {"a{2,}", "aaaaa", ""},
    {"a{,2}", "a{,2}", ""},
    {"\\Q.*+\\E", ".*+", ""},
    {"\\Q.*+\\E", "ab", NULL},
    {"", "", ""},
    {"", "x", NULL},
    {"x*", "", ""},
    {"^a$", "a", ""},
    {"a|", "", ""},
    {"(?m)a$\\nb", "a\nb", ""},
    {"\\bfoo\\b", "foo", ""},
    {"[[:alpha:]]+[[:digit:]]", "abc1", ""},
    {"[[:^digit:]]", "5", NULL},
    {"[]a]+", "]a]", ""},
    {"[a-]+", "a-a", ""},
    {"\\$\\{1\\}", "${1}", ""},
    {"(a)(?:b)(c)", "abc", "a|c"},
    {"((a)(b))", "ab", "ab|a|b"},
    {"(?U)(a+)(a*)", "aaa", "a|aa"},
    {"(?U)(a+?)(a*)", "aaa", "aaa|"},
    {"a\\x2a", "a*", ""},
    {"\\101", "A", ""},
    {"\\0101", "\b1", ""},
    {"\\t\\n", "\t\n", ""},
    {"\\A(x)\\z", "x", "x"},
    {"[\\x{10000}-\\x{10FFFF}]", "😀", ""},
    /* Go's parser quirks, checked against Go's regexp: */
    {"a(?i)*", "aaa", ""},           /* a quantifier after flags repeats the atom before */
    {"a(?i)*", "aAa", NULL},         /* (the a itself stays case-sensitive) */
    {"\\Q.*\\E?", ".", ""},          /* ... and after \Q..\E only its last literal */
    {"a*{", "aa{", ""},              /* "{" that is not a repeat is a literal */
    {"(?)a", "a", ""},               /* an empty flag group is allowed */
    {"(?i)[[:^alpha:]]", "K", NULL}, /* named classes fold before negation */
    {"(?i)k", "\u212a", ""},         /* Unicode simple folding: Kelvin sign */
    {"(?i)é+", "éÉ", ""},
    {"(?i)[à-ÿ]", "Ü", ""},
    {"(?i)i", "\u0130", NULL}, /* Go does not fold the Turkish dotted I */
};

static const char *const re_bad[] = {
    "(",
    ")",
    "a**",
    "*a",
    "a++",
    "(?=a)",
    "(?!a)",
    "(?<=a)",
    "(?<!a)",
    "\\1",
    "\\pL",
    "\\p{Greek}",
    "a{1001}",
    "(a{100}){100}",
    "[z-a]",
    "\\Z",
    "(?P<n>a)(?P<n>b)",
    "x{2}{3}",
    "[a",
    "\\",
    "(?P<>a)",
    "(?",
    "(?i-)",
    "{2}a",
    "a{2}*",
    "a*?*",
    "(?i)*",
    "\\Q\\E*",
    "a)|(b",
    "(?-)",
    "\\q",
    "(?x)a",
    "[[:nope:]]",
    "\xff",
};

static void test_regex(void)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(re_cases); i++) {
        const struct recase *tc = &re_cases[i];
        struct relabel_re *re = NULL;
        char err[256] = "";
        int rc = relabel_re_compile(tc->re, &re, err, sizeof(err));
        CHECK_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "regex /%s/: %s\n", tc->re, err);
            continue;
        }
        int caps[32];
        size_t ng = relabel_re_groups(re);
        int m = relabel_re_match(re, tc->in, strlen(tc->in), caps, 2 * ng);
        char got[256] = "";
        if (m == 1) {
            size_t k = 0;
            for (size_t g = 1; g < ng; g++) {
                int n;
                if (caps[2 * g] < 0) {
                    n = snprintf(got + k, sizeof(got) - k, "%s-", g > 1 ? "|" : "");
                } else {
                    n = snprintf(got + k, sizeof(got) - k, "%s%.*s", g > 1 ? "|" : "",
                                 caps[2 * g + 1] - caps[2 * g], tc->in + caps[2 * g]);
                }
                k += (size_t)n;
            }
            /* Group 0 is always the whole input (fully anchored). */
            CHECK_INT(caps[0], 0);
            CHECK_INT(caps[1], (int)strlen(tc->in));
        }
        CHECK_INT(m, tc->groups ? 1 : 0);
        if (m == 1 && tc->groups) {
            if (strcmp(got, tc->groups) != 0) {
                fprintf(stderr, "regex /%s/ on \"%s\"\n", tc->re, tc->in);
            }
            CHECK_STR(got, tc->groups);
        } else if (m != (tc->groups ? 1 : 0)) {
            fprintf(stderr, "regex /%s/ on \"%s\": match %d\n", tc->re, tc->in, m);
        }
        relabel_re_free(re);
    }
    for (size_t i = 0; i < FROND_ARRAY_SIZE(re_bad); i++) {
        struct relabel_re *re = NULL;
        char err[256] = "";
        int rc = relabel_re_compile(re_bad[i], &re, err, sizeof(err));
        if (rc != -EINVAL) {
            fprintf(stderr, "regex /%s/ should fail\n", re_bad[i]);
        }
        CHECK_INT(rc, -EINVAL);
        CHECK(err[0] != '\0');
        CHECK(re == NULL);
        relabel_re_free(re);
    }
}

/* ---- Go template expansion ------------------------------------------- */

struct xcase {
    const char *tmpl;
    const char *want;
};

static void test_expand(void)
{
    /* Groups: 1 = "ab", 2 = unset, name = "cd", on "ab:cd". */
    static const struct xcase xs[] = {
        {"$1", "ab"},       {"${1}", "ab"},  {"$1x", ""},         {"${1}x", "abx"}, {"$2", ""},
        {"$9", ""},         {"$name", "cd"}, {"${name}!", "cd!"}, {"$$1", "$1"},    {"$", "$"},
        {"a$", "a$"},       {"${1", "${1"},  {"$0", "ab:cd"},     {"$01", ""},      {"$-", "$-"},
        {"plain", "plain"}, {"$3", "cd"},    {"${nope}", ""},     {"$1$3", "abcd"}, {"$é", ""},
    };
    struct relabel_re *re = NULL;
    char err[256];
    CHECK_INT(relabel_re_compile("(ab)(x)?:(?P<name>cd)", &re, err, sizeof(err)), 0);
    if (!re) {
        return;
    }
    const char *s = "ab:cd";
    int caps[8];
    CHECK_INT(relabel_re_match(re, s, strlen(s), caps, 8), 1);
    for (size_t i = 0; i < FROND_ARRAY_SIZE(xs); i++) {
        struct frond_buf b;
        frond_buf_init(&b, 1024);
        CHECK_INT(relabel_expand(re, xs[i].tmpl, s, caps, &b), 0);
        if (strcmp(frond_buf_cstr(&b), xs[i].want) != 0) {
            fprintf(stderr, "expand \"%s\"\n", xs[i].tmpl);
        }
        CHECK_STR(frond_buf_cstr(&b), xs[i].want);
        frond_buf_cleanup(&b);
    }
    relabel_re_free(re);
}

/* ---- A long label value and many groups take the heap paths ---------- */

static void test_big(void)
{
    struct shipper_config c;
    char err[512] = "";
    const char *rules = R("{source_labels: [a, a], separator: '', regex: "
                          "'((x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(x)(.*))', "
                          "target_label: b, replacement: '$21'}");
    CHECK_INT(load_rules(rules, &c, err, sizeof(err)), 0);
    struct labels_set s;
    labels_init(&s);
    char *v = malloc(5001);
    memset(v, 'x', 5000);
    v[5000] = '\0';
    CHECK_INT(labels_set(&s, "a", v), 0);
    CHECK_INT(relabel_apply(c.scrapes[0].relabel, c.scrapes[0].nrelabel, &s), 1);
    const char *b = labels_get(&s, "b");
    CHECK(b != NULL && strlen(b) == 9981);
    free(v);
    labels_cleanup(&s);
    config_cleanup(&c);
}

int main(void)
{
    test_cases();
    test_errors();
    test_regex();
    test_expand();
    test_big();
    return check_done("test_shipper_relabel");
}
