/*
 * Unit tests for frondtail's promtail-compatible config loader
 * (shipper/config.c): a full promtail file loads unchanged, defaults, and
 * every broken file fails with its exact file:line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static const char *full = "server:\n"
                          "  http_listen_address: 127.0.0.1\n"
                          "  http_listen_port: 9081\n"
                          "  grpc_listen_port: 0\n"
                          "  grpc_server_max_recv_msg_size: 104857600\n"
                          "  log_level: warn\n"
                          "  log_format: json\n"
                          "positions:\n"
                          "  filename: /tmp/positions.yaml\n"
                          "  sync_period: 5s\n"
                          "  ignore_invalid_yaml: true\n"
                          "clients:\n"
                          "  - url: http://loki:3100/loki/api/v1/push\n"
                          "    tenant_id: team-a\n"
                          "    batchwait: 2s\n"
                          "    batchsize: 524288\n"
                          "    timeout: 15s\n"
                          "    backoff_config:\n"
                          "      min_period: 1s\n"
                          "      max_period: 1m\n"
                          "      max_retries: 10\n"
                          "    external_labels:\n"
                          "      cluster: eks-1\n"
                          "    basic_auth:\n"
                          "      username: u\n"
                          "      password: p\n"
                          "    tls_config:\n"
                          "      ca_file: /ca.pem\n"
                          "      insecure_skip_verify: true\n"
                          "      server_name: loki.local\n"
                          "    headers:\n"
                          "      X-Extra: v\n"
                          "    max_backlog_bytes: 1MiB\n"
                          "  - url: http://other/loki/api/v1/push\n"
                          "    bearer_token: tok\n"
                          "scrape_configs:\n"
                          "  - job_name: kubernetes-pods\n"
                          "    pipeline_stages:\n"
                          "      - cri:\n"
                          "          max_partial_lines: 50\n"
                          "    static_configs:\n"
                          "      - targets: [localhost]\n"
                          "        labels:\n"
                          "          job: pods\n"
                          "          __path__: /var/log/pods/*/*/*.log\n"
                          "          __path_exclude__: /var/log/pods/kube-system_*/**\n"
                          "  - job_name: docker\n"
                          "    pipeline_stages:\n"
                          "      - docker: {}\n"
                          "    relabel_configs: []\n"
                          "    static_configs:\n"
                          "      - targets: [localhost]\n"
                          "        labels: {__path__: /var/lib/docker/containers/*/*.log}\n"
                          "limits_config:\n"
                          "  max_line_size: 256KB\n"
                          "  max_line_size_truncate: true\n"
                          "target_config:\n"
                          "  sync_period: 3s\n"
                          "frondtail:\n"
                          "  start_position: end\n"
                          "tracing:\n"
                          "  enabled: false\n";

static void test_full(void)
{
    struct shipper_config c;
    char err[512] = "";
    int rc = config_parse(&c, "full.yaml", full, strlen(full), false, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(c.http_listen_address, "127.0.0.1");
    CHECK_INT(c.http_listen_port, 9081);
    CHECK_STR(c.log_level, "warn");
    CHECK_STR(c.log_format, "json");
    CHECK_STR(c.positions_file, "/tmp/positions.yaml");
    CHECK_DBL(c.positions_sync_period, 5);
    CHECK(c.ignore_invalid_yaml);
    CHECK_INT(c.nclients, 2);
    /* Where the first url was given, for the curl check's file:line. */
    CHECK_INT(c.client_url_lines[0], 13);
    CHECK_STR(c.file_name, "full.yaml");
    struct ship_client_config *a = &c.clients[0];
    CHECK_STR(a->url, "http://loki:3100/loki/api/v1/push");
    CHECK_STR(a->tenant_id, "team-a");
    CHECK_DBL(a->batchwait, 2);
    CHECK_INT(a->batchsize, 524288);
    CHECK_DBL(a->timeout, 15);
    CHECK_DBL(a->backoff_min, 1);
    CHECK_DBL(a->backoff_max, 60);
    CHECK_INT(a->max_retries, 10);
    CHECK_INT(a->nexternal_labels, 1);
    CHECK_STR(a->external_label_names[0], "cluster");
    CHECK_STR(a->external_label_values[0], "eks-1");
    CHECK_STR(a->basic_auth_user, "u");
    CHECK_STR(a->basic_auth_password, "p");
    CHECK_STR(a->tls_ca_file, "/ca.pem");
    CHECK_STR(a->tls_server_name, "loki.local");
    CHECK(a->tls_insecure_skip_verify);
    CHECK_INT(a->nheaders, 1);
    CHECK_STR(a->headers[0].name, "X-Extra");
    CHECK_INT(a->max_backlog_bytes, 1024 * 1024);
    struct ship_client_config *b = &c.clients[1];
    CHECK_STR(b->bearer_token, "tok");
    CHECK_DBL(b->batchwait, 1);
    CHECK_INT(b->batchsize, 1024 * 1024);
    CHECK_DBL(b->backoff_min, 0.5);
    CHECK_DBL(b->backoff_max, 300);
    CHECK_INT(b->max_retries, 0);
    CHECK_INT(b->max_backlog_bytes, 64L * 1024 * 1024);
    CHECK_INT(c.nscrapes, 2);
    CHECK_INT(c.scrapes[0].format, PARSE_CRI);
    CHECK_INT(c.scrapes[0].max_partial_lines, 50);
    CHECK_STR(c.scrapes[0].targets[0].path, "/var/log/pods/*/*/*.log");
    CHECK_STR(c.scrapes[0].targets[0].path_exclude, "/var/log/pods/kube-system_*/**");
    CHECK_STR(labels_get(&c.scrapes[0].targets[0].labels, "job"), "pods");
    CHECK_INT(c.scrapes[1].format, PARSE_DOCKER);
    CHECK_INT(c.max_line_size, 256000);
    CHECK(c.max_line_size_truncate);
    CHECK_DBL(c.target_sync_period, 3);
    CHECK(c.start_at_end);
    config_cleanup(&c);
}

static void test_defaults(void)
{
    struct shipper_config c;
    unsetenv("LOKI_URL");
    CHECK_INT(config_defaults(&c), 0);
    CHECK_STR(c.clients[0].url, CONFIG_DEFAULT_URL);
    CHECK_STR(c.positions_file, CONFIG_DEFAULT_POSITIONS);
    CHECK_INT(c.http_listen_port, 9080);
    CHECK_INT(c.scrapes[0].format, PARSE_CRI);
    CHECK_STR(c.scrapes[0].targets[0].path, CONFIG_DEFAULT_PODS_GLOB);
    config_cleanup(&c);
    setenv("LOKI_URL", "http://x:1/push", 1);
    CHECK_INT(config_defaults(&c), 0);
    CHECK_STR(c.clients[0].url, "http://x:1/push");
    config_cleanup(&c);
    /* An empty file means defaults for everything but scraping; the client comes from LOKI_URL. */
    char err[256] = "";
    CHECK_INT(config_parse(&c, "empty.yaml", "", 0, false, err, sizeof(err)), 0);
    CHECK_INT(c.nclients, 1);
    CHECK_STR(c.clients[0].url, "http://x:1/push");
    config_cleanup(&c);
    /* -config.expand-env. */
    setenv("FT_TEST_URL", "http://env:3100/push", 1);
    const char *t = "clients:\n  - url: ${FT_TEST_URL}\n";
    CHECK_INT(config_parse(&c, "env.yaml", t, strlen(t), true, err, sizeof(err)), 0);
    CHECK_STR(c.clients[0].url, "http://env:3100/push");
    config_cleanup(&c);
    /* A promtail journal scrape config with relabeling. */
    t = "scrape_configs:\n  - job_name: journal\n    journal:\n      json: true\n      max_age: "
        "12h\n"
        "      path: /var/log/journal\n      matches: _TRANSPORT=kernel + PRIORITY=3\n"
        "      labels: {job: systemd-journal}\n    relabel_configs:\n"
        "      - source_labels: ['__journal__systemd_unit']\n        target_label: 'unit'\n"
        "      - action: labelmap\n        regex: __journal_(.+)\n        replacement: j_$1\n";
    CHECK_INT(config_parse(&c, "j.yaml", t, strlen(t), false, err, sizeof(err)), 0);
    CHECK(c.scrapes[0].journal != NULL);
    if (c.scrapes[0].journal) {
        CHECK(c.scrapes[0].journal->json);
        CHECK_DBL(c.scrapes[0].journal->max_age, 12 * 3600);
        CHECK_STR(c.scrapes[0].journal->path, "/var/log/journal");
        CHECK_STR(c.scrapes[0].journal->matches, "_TRANSPORT=kernel + PRIORITY=3");
        CHECK_STR(labels_get(&c.scrapes[0].journal->labels, "job"), "systemd-journal");
    }
    CHECK_INT(c.scrapes[0].nrelabel, 2);
    CHECK_INT(c.scrapes[0].relabel[1].action, RELABEL_LABELMAP);
    CHECK_INT(c.scrapes[0].ntargets, 0);
    config_cleanup(&c);
    unsetenv("LOKI_URL");
}

struct broken {
    const char *text;
    const char *want; /* prefix of the error: "name:line: ..." */
};

static void test_broken(void)
{
    static const struct broken cases[] = {
        {"servr:\n  x: 1\n", "b.yaml:1:"},
        {"server:\n  http_listen_port: abc\n", "b.yaml:2:"},
        {"server:\n  http_listen_port: 70000\n", "b.yaml:2:"},
        {"server:\n  bogus: 1\n", "b.yaml:2:"},
        {"positions:\n  sync_period: forever\n", "b.yaml:2:"},
        {"clients:\n  - url: http://x\n    batchwait: soon\n", "b.yaml:3:"},
        {"clients:\n  - tenant_id: a\n", "b.yaml:2:"},
        {"clients:\n  - url: http://x\n    backoff_config:\n      max_tries: 3\n", "b.yaml:4:"},
        {"clients:\n  - url: http://x\n    external_labels:\n      bad-name: 1\n", "b.yaml:4:"},
        {"clients:\n  - url: http://x\n    basic_auth:\n      password_file: /nonexistent/pw\n",
         "b.yaml:4:"},
        {"clients: {}\n", "b.yaml:1:"},
        {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {job: a}\n",
         "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    pipeline_stages:\n      - regex:\n          "
         "expression: x\n    static_configs:\n      - labels: {__path__: /x}\n",
         "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    journal:\n      max_age: 12h\n    "
         "static_configs: []\n",
         "b.yaml:5:"},
        {"scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n",
         "b.yaml:3:"},
        {"scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n",
         "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: \"(\"\n"
         "        target_label: x\n",
         "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [a]\n",
         "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    journal:\n      bogus: 1\n", "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {__path__: "
         "rel/x}\n",
         "b.yaml:4:"},
        {"scrape_configs:\n  - job_name: a\n    pipeline_stages:\n      - cri: {}\n      - docker: "
         "{}\n    static_configs:\n      - labels: {__path__: /x}\n",
         "b.yaml:5:"},
        {"limits_config:\n  max_line_size_truncate: maybe\n", "b.yaml:2:"},
        {"limits_config:\n  readline_rate: 10\n", "b.yaml:2:"},
        {"target_config:\n  sync_period: 0s\n", "b.yaml:1:"},
        {"server: [1\n", "b.yaml:"},
        {"- a\n- b\n", "b.yaml:1:"},
        {"frondtail:\n  start_position: middle\n", "b.yaml:2:"},
        /* CR or LF in anything that becomes an HTTP header line. */
        {"clients:\n  - url: http://x\n    tenant_id: \"a\\nb\"\n", "b.yaml:3:"},
        {"clients:\n  - url: http://x\n    bearer_token: \"t\\r\\nX-Evil: 1\"\n", "b.yaml:3:"},
        {"clients:\n  - url: http://x\n    headers:\n      X-A: \"v\\nX-B: 1\"\n", "b.yaml:4:"},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        struct shipper_config c;
        char err[512] = "";
        int rc = config_parse(&c, "b.yaml", cases[i].text, strlen(cases[i].text), false, err,
                              sizeof(err));
        CHECK_INT(rc, -EINVAL);
        bool ok = strncmp(err, cases[i].want, strlen(cases[i].want)) == 0;
        CHECK(ok);
        if (!ok) {
            fprintf(stderr, "  case %zu: got \"%s\", want prefix \"%s\"\n", i, err, cases[i].want);
        }
    }
}

/* A token file with a line break inside (not just trailing) is refused at load. */
static void test_token_file_crlf(void)
{
    char path[] = "/tmp/frondtail-tokXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, "abc\ndef\n", 8), 8);
    close(fd);
    char text[256];
    snprintf(text, sizeof(text), "clients:\n  - url: http://x\n    bearer_token_file: %s\n", path);
    struct shipper_config c;
    char err[512] = "";
    CHECK_INT(config_parse(&c, "t.yaml", text, strlen(text), false, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "t.yaml:3:", 9) == 0);
    /* Trailing newlines are a Kubernetes mount's, cut and accepted. */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK_INT(write(fd, "abcdef\n", 7), 7);
    close(fd);
    CHECK_INT(config_parse(&c, "t.yaml", text, strlen(text), false, err, sizeof(err)), 0);
    CHECK_STR(c.clients[0].bearer_token, "abcdef");
    config_cleanup(&c);
    unlink(path);
}

int main(void)
{
    test_full();
    test_defaults();
    test_broken();
    test_token_file_crlf();
    return check_done("test_shipper_config");
}
