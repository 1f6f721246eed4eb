/*
 * Unit tests for the exporter-toolkit web config: good files load with the
 * right values, every broken file fails with the "file:line: reason" an
 * operator needs, and bcrypt basic auth accepts the right password only
 * (hashes are generated here with libxcrypt, at the cheapest cost).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frond/webconfig.h"

static char tmpdir[64];

/* A self-signed P-256 certificate (valid until 2126) and its key, made with the openssl CLI. */
static const char test_cert[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIBizCCATGgAwIBAgIUA5w78ebMghnVyO4CNAQ+UhpA78EwCgYIKoZIzj0EAwIw\n"
                                "GjEYMBYGA1UEAwwPZnJvbmQtdW5pdC10ZXN0MCAXDTI2MTEyODE5MzkwM1oYDzIx\n"
                                "MjYxMTA0MTkzOTAzWjAaMRgwFgYDVQQDDA9mcm9uZC11bml0LXRlc3QwWTATBgcq\n"
                                "hkjOPQIBBggqhkjOPQMBBwNCAAT6AO1xrE1910k9gblrA1BwVKIiB+laEY2Q/2AD\n"
                                "yZuIdFIIy7ahAK9bJmvloHqbnNNwpj+N5nOuMMi0/69EWMj2o1MwUTAdBgNVHQ4E\n"
                                "FgQU/BgRDVzznJB3ELuMQjobc18X7IEwHwYDVR0jBBgwFoAU/BgRDVzznJB3ELuM\n"
                                "Qjobc18X7IEwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBUKbhf\n"
                                "o0AokzjTYqxEPzzVHebCJX4aNAnGO3NxhzqC5gIhAMTU4p6nEsONmznhG4zOZ3Io\n"
                                "ayhd2FTYSoF4+tJDJYJL\n"
                                "-----END CERTIFICATE-----\n";
static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLt636vYqsoe//2iC\n"
                               "9pE9Z5DdgE5wzXPmOnW9xyx/jfChRANCAAT6AO1xrE1910k9gblrA1BwVKIiB+la\n"
                               "EY2Q/2ADyZuIdFIIy7ahAK9bJmvloHqbnNNwpj+N5nOuMMi0/69EWMj2\n"
                               "-----END PRIVATE KEY-----\n";

static void write_file(const char *name, const char *content)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static int parse(const char *yaml, struct frond_webconfig *wc, char *err, size_t errlen)
{
    return frond_webconfig_parse("web.yml", yaml, strlen(yaml), wc, err, errlen);
}

static void test_empty(void)
{
    struct frond_webconfig wc;
    char err[512];

    CHECK_INT(parse("", &wc, err, sizeof(err)), 0);
    CHECK(!wc.tls);
    CHECK(!frond_webconfig_has_auth(&wc));
    CHECK(!frond_webconfig_check_auth(&wc, "alice", "x"));
    frond_webconfig_cleanup(&wc);

    CHECK_INT(parse("# only a comment\n", &wc, err, sizeof(err)), 0);
    frond_webconfig_cleanup(&wc);
    CHECK_INT(parse("tls_server_config:\nbasic_auth_users:\n", &wc, err, sizeof(err)), 0);
    CHECK(!wc.tls);
    frond_webconfig_cleanup(&wc);
}

static void test_full(void)
{
    struct frond_webconfig wc;
    char yaml[2048], err[512], cfg[128];

    write_file("server.crt", test_cert);
    write_file("server.key", test_key);
    write_file("ca.crt", test_cert);
    write_file("junk.pem", "not a certificate\n");
    snprintf(yaml, sizeof(yaml),
             "tls_server_config:\n"
             "  cert_file: %s/server.crt\n"
             "  key_file: %s/server.key\n"
             "  client_auth_type: RequireAndVerifyClientCert\n"
             "  client_ca_file: %s/ca.crt\n"
             "  min_version: TLS12\n"
             "  max_version: TLS13\n"
             "  prefer_server_cipher_suites: true\n"
             "http_server_config:\n"
             "  http2: true\n"
             "  headers:\n"
             "    X-Frame-Options: deny\n"
             "    Strict-Transport-Security: max-age=31536000\n"
             "basic_auth_users:\n"
             "  alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n"
             "  bob: \"$2b$04$tKCP3DCp7YntRQkV1GDIqOzcDyvKHHohc3akHxT77P5MmtUuygezu\"\n",
             tmpdir, tmpdir, tmpdir);
    CHECK_INT(parse(yaml, &wc, err, sizeof(err)), 0);
    CHECK(wc.tls);
    CHECK_STR(wc.cert_pem, test_cert);
    CHECK_STR(wc.key_pem, test_key);
    CHECK_STR(wc.client_ca_pem, test_cert);
    CHECK_INT(wc.client_auth, FROND_CLIENT_AUTH_REQUIRE_AND_VERIFY);
    CHECK_INT(wc.min_version, 12);
    CHECK_INT(wc.max_version, 13);
    CHECK_INT(wc.nheaders, 2);
    if (wc.nheaders == 2) {
        CHECK_STR(wc.headers[0].name, "X-Frame-Options");
        CHECK_STR(wc.headers[0].value, "deny");
    }
    CHECK_INT(wc.nusers, 2);
    if (wc.nusers == 2) {
        CHECK_STR(wc.users[1].name, "bob");
    }
    CHECK(frond_webconfig_has_auth(&wc));
    frond_webconfig_cleanup(&wc);

    /* Relative paths are resolved against the config file's directory. */
    snprintf(cfg, sizeof(cfg), "%s/web.yml", tmpdir);
    write_file("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                          "  client_auth_type: RequestClientCert\n");
    CHECK_INT(frond_webconfig_load(cfg, &wc, err, sizeof(err)), 0);
    CHECK(wc.tls);
    CHECK_INT(wc.client_auth, FROND_CLIENT_AUTH_REQUEST);
    CHECK_INT(wc.min_version, 0);
    frond_webconfig_cleanup(&wc);

    /* An empty file on disk is valid too. */
    write_file("empty.yml", "");
    snprintf(cfg, sizeof(cfg), "%s/empty.yml", tmpdir);
    CHECK_INT(frond_webconfig_load(cfg, &wc, err, sizeof(err)), 0);
    frond_webconfig_cleanup(&wc);
}

/* A broken config and the start of the message it must produce. */
struct broken {
    const char *yaml;
    const char *prefix; /* "web.yml:LINE:" */
    const char *reason; /* substring */
};

static void test_broken(void)
{
    static const struct broken cases[] = {
        {"tls_config:\n  cert_file: x\n", "web.yml:1:", "unknown key \"tls_config\""},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n",
         "web.yml:", "unknown key \"certfile\""},
        {"tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: /nonexistent/k\n",
         "web.yml:2:", "/nonexistent/server.crt"},
        {"tls_server_config:\n  cert_file: a.crt\n", "web.yml:", "missing key_file"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Bogus\n",
         "web.yml:4:", "unknown client_auth_type \"Bogus\""},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
         "web.yml:4:", "unknown min_version"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
         "  max_version: TLS12\n",
         "web.yml:5:", "lower than min_version"},
        {"basic_auth_users:\n  - alice\n", "web.yml:2:", "must be a mapping"},
        {"basic_auth_users:\n  alice: hunter2\n", "web.yml:2:", "not a bcrypt hash"},
        {"basic_auth_users:\n  bob: x\n  alice: "
         "$2y$24$tKCP3DCp7YntRQkV1GDIqOzcDyvKHHohc3akHxT77P5MmtUuygezu\n",
         "web.yml:2:", "not a bcrypt hash"},
        {"basic_auth_users:\n  alice: "
         "$2y$24$tKCP3DCp7YntRQkV1GDIqOzcDyvKHHohc3akHxT77P5MmtUuygezu\n",
         "web.yml:2:", "bcrypt cost must be 4..17"},
        {"basic_auth_users:\n  alice:\n", "web.yml:2:", "password hash must not be empty"},
        {"http_server_config:\n  headers:\n    X-Frame-Options:\n",
         "web.yml:3:", "header value must not be empty"},
        {"http_server_config:\n  headers:\n    Server: frond\n",
         "web.yml:3:", "can not be configured"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
         "web.yml:4:", "client_auth_type is NoClientCert"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n"
         "  client_auth_type: RequireAndVerifyClientCert\n",
         "web.yml:4:", "needs client_ca_file"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128]\n",
         "web.yml:4:", "not supported"},
        {"http_server_config:\n  headers: deny\n", "web.yml:2:", "must be a mapping"},
        {"basic_auth_users:\n  alice:\n    hash: x\n", "web.yml:", ""},
        {"http_server_config:\n  http2: maybe\n", "web.yml:2:", ""},
        {"- tls_server_config\n", "web.yml:1:", ""},
        {"tls_server_config: {cert_file: a\n", "web.yml:", ""},
        {"tls_server_config:\n  cert_file: [a, b]\n  key_file: k\n", "web.yml:2:", "cert_file"},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        struct frond_webconfig wc;
        char err[512] = "";
        int rc = parse(cases[i].yaml, &wc, err, sizeof(err));

        CHECK_INT(rc, -EINVAL);
        if (strncmp(err, cases[i].prefix, strlen(cases[i].prefix)) != 0 ||
            !strstr(err, cases[i].reason)) {
            check_failures++;
            fprintf(stderr, "broken case %zu: got \"%s\", want prefix \"%s\" with \"%s\"\n", i, err,
                    cases[i].prefix, cases[i].reason);
        }
        /* The struct is left empty and cleanup is harmless after a failure. */
        CHECK(!wc.tls && wc.nusers == 0 && wc.cert_pem == NULL);
        frond_webconfig_cleanup(&wc);
    }

    /* PEM material is checked at load: junk, a key that is not the key, a CA with no cert. */
    {
        static const char *const pem_cases[][2] = {
            {"tls_server_config:\n  cert_file: junk.pem\n  key_file: server.key\n",
             "web.yml:2: cert_file/key_file: not a usable PEM"},
            {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n",
             "web.yml:2: cert_file/key_file: not a usable PEM"},
            {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: junk.pem\n",
             "web.yml:5: client_ca_file: no PEM certificate"},
            {"tls_server_config:\n  cert_file: /dev/null\n  key_file: server.key\n",
             "web.yml:2: cert_file: cannot read /dev/null: not a regular file"},
            {"tls_server_config:\n  cert_file: empty.yml\n  key_file: server.key\n",
             "web.yml:2: cert_file: "},
        };
        char name[128];
        write_file("empty.yml", "");
        snprintf(name, sizeof(name), "%s/web.yml", tmpdir);
        for (size_t i = 0; i < FROND_ARRAY_SIZE(pem_cases); i++) {
            struct frond_webconfig wc;
            char err[512] = "";
            char want[256];
            const char *y = pem_cases[i][0];
            CHECK_INT(frond_webconfig_parse(name, y, strlen(y), &wc, err, sizeof(err)), -EINVAL);
            snprintf(want, sizeof(want), "%s/%s", tmpdir, pem_cases[i][1]);
            if (strncmp(err, want, strlen(want)) != 0) {
                check_failures++;
                fprintf(stderr, "pem case %zu: got \"%s\", want \"%s...\"\n", i, err, want);
            }
            frond_webconfig_cleanup(&wc);
        }
    }

    {
        struct frond_webconfig wc;
        char err[512];
        CHECK_INT(frond_webconfig_load("/nonexistent/web.yml", &wc, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "/nonexistent/web.yml") != NULL);
        frond_webconfig_cleanup(&wc);
    }
}

static char *make_hash(const char *prefix, const char *password)
{
    char salt[64];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    char *out = NULL;

    if (cd && crypt_gensalt_rn(prefix, 4, NULL, 0, salt, sizeof(salt))) {
        const char *h = crypt_r(password, salt, cd);
        if (h && h[0] == '$') {
            out = strdup(h);
        }
    }
    free(cd);
    return out;
}

static void test_auth(void)
{
    static const char *const prefixes[] = {"$2y$", "$2b$", "$2a$"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(prefixes); i++) {
        struct frond_webconfig wc;
        char yaml[512], err[512];
        char *ha = make_hash(prefixes[i], "s3cret pass");
        char *hb = make_hash(prefixes[i], "");

        CHECK(ha != NULL && hb != NULL);
        if (!ha || !hb) {
            free(ha);
            free(hb);
            continue;
        }
        snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n  bob: '%s'\n", ha, hb);
        CHECK_INT(parse(yaml, &wc, err, sizeof(err)), 0);
        CHECK(frond_webconfig_has_auth(&wc));
        CHECK(frond_webconfig_check_auth(&wc, "alice", "s3cret pass"));
        /* The second time comes from the cache and must give the same answer. */
        CHECK(frond_webconfig_check_auth(&wc, "alice", "s3cret pass"));
        CHECK(!frond_webconfig_check_auth(&wc, "alice", "s3cret pasS"));
        CHECK(!frond_webconfig_check_auth(&wc, "alice", ""));
        CHECK(!frond_webconfig_check_auth(&wc, "Alice", "s3cret pass"));
        CHECK(!frond_webconfig_check_auth(&wc, "mallory", "s3cret pass"));
        CHECK(!frond_webconfig_check_auth(&wc, "", ""));
        CHECK(!frond_webconfig_check_auth(&wc, NULL, "x"));
        CHECK(!frond_webconfig_check_auth(&wc, "alice", NULL));
        /* A cached password of one user does not open another. */
        CHECK(!frond_webconfig_check_auth(&wc, "bob", "s3cret pass"));
        CHECK(frond_webconfig_check_auth(&wc, "bob", ""));
        CHECK(frond_webconfig_check_auth(&wc, "bob", ""));
        frond_webconfig_cleanup(&wc);
        free(ha);
        free(hb);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/frond-test-webconfig-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_empty();
    test_full();
    test_broken();
    test_auth();
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", tmpdir);
        }
    }
    return check_done("test_webconfig");
}
