/*
 * The exporter-toolkit web configuration (--web.config.file): parsing the
 * YAML into struct frond_webconfig, and checking basic-auth credentials
 * against its bcrypt hashes.
 *
 * The parser is strict on purpose. A typo in a security setting that is
 * silently ignored leaves an exporter open, so unknown keys, wrong types,
 * unsupported settings and half-configured TLS all fail startup with
 * "file:line: reason". Certificate, key and CA files are read here, at
 * load, so a missing file is reported before the server binds.
 *
 * Credential checks cost one bcrypt (tens of milliseconds at cost 10) the
 * first time a (user, password) pair is seen; successful pairs are then
 * remembered as SHA-256 digests in a small cache, like exporter-toolkit's,
 * so a scrape every 15 s does not burn CPU on bcrypt.
 */
#include <crypt.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/buf.h"
#include "frond/webconfig.h"
#include "frond/yamlcfg.h"

/* PEM files larger than this are not certificates; refuse to slurp them. */
#define WC_MAX_FILE (4u << 20)
/* Cached successful logins; small, since an exporter has a handful of scrapers. */
#define WC_CACHE_SLOTS 16
#define WC_DIGEST_LEN 32
/* Highest bcrypt cost accepted: 2^17 rounds is ~10 s per check on a small core. */
#define WC_MAX_COST 17

/*
 * Checked for unknown users so that a failed login costs the same whether
 * or not the name exists (the hash of a random password at cost 10, the
 * usual cost of the hashes operators generate with htpasswd -B).
 */
static const char wc_dummy_hash[] = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

struct wc_cache {
    pthread_mutex_t lock;
    unsigned char digest[WC_CACHE_SLOTS][WC_DIGEST_LEN];
    bool used[WC_CACHE_SLOTS];
    unsigned next; /* round-robin replacement */
};

/* Header names exporter-toolkit lets an operator set; others are refused the same way. */
static const char *const wc_allowed_headers[] = {
    "Strict-Transport-Security", "X-Content-Type-Options",  "X-Frame-Options",
    "X-XSS-Protection",          "Content-Security-Policy", NULL};

/*
 * Read a whole file (NUL-terminated) into *out. -errno, or -EFBIG past
 * WC_MAX_FILE. With `regular_only`, devices and pipes are refused
 * (-EINVAL) instead of read: a cert_file of /dev/stdin or a FIFO would
 * block startup forever.
 */
static int wc_read_file(const char *path, bool regular_only, char **out)
{
    struct frond_buf b;
    int rc;

    frond_buf_init(&b, WC_MAX_FILE);
    rc = frond_buf_append_file(&b, path, regular_only);
    if (!rc) {
        rc = frond_buf_putc(&b, '\0');
    }
    if (rc) {
        rc = rc == -ENOSPC ? -EFBIG : rc;
        goto out;
    }
    *out = frond_buf_take(&b, NULL);
out:
    frond_buf_cleanup(&b);
    return rc;
}

/*
 * Paths in the web config are relative to the directory of the config file,
 * as in exporter-toolkit, so a config and its certificates can be moved
 * together.
 */
static int wc_resolve(const char *cfgname, const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(cfgname, '/');
    int n;

    if (path[0] == '/' || !slash) {
        n = snprintf(out, outsz, "%s", path);
    } else {
        n = snprintf(out, outsz, "%.*s/%s", (int)(slash - cfgname), cfgname, path);
    }
    return (n < 0 || (size_t)n >= outsz) ? -ENAMETOOLONG : 0;
}

/*
 * A string that must be there: frond_yaml_string() gives NULL for a null
 * scalar ("key:" with nothing after it), which would otherwise reach
 * strlen() and friends.
 */
static int wc_req_string(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                         const char *what, char **out, char *err, size_t errlen)
{
    int rc;

    if (frond_yaml_is_null(n)) {
        return frond_yaml_error(doc, n, err, errlen, "%s must not be empty", what);
    }
    rc = frond_yaml_string(doc, n, what, out, err, errlen);
    if (!rc && !*out) {
        rc = frond_yaml_error(doc, n, err, errlen, "%s must not be empty", what);
    }
    return rc;
}

static int wc_version(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                      const char *what, int *out, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int v;
    } versions[] = {{"TLS10", 10}, {"TLS11", 11}, {"TLS12", 12}, {"TLS13", 13}};
    char *s = NULL;
    int rc = wc_req_string(doc, n, what, &s, err, errlen);

    if (rc) {
        return rc;
    }
    rc = frond_yaml_error(doc, n, err, errlen,
                          "unknown %s \"%s\" (want TLS10, TLS11, TLS12 or TLS13)", what, s);
    for (size_t i = 0; i < FROND_ARRAY_SIZE(versions); i++) {
        if (strcmp(s, versions[i].name) == 0) {
            *out = versions[i].v;
            rc = 0;
            err[0] = '\0';
            break;
        }
    }
    free(s);
    return rc;
}

static int wc_client_auth(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                          enum frond_client_auth *out, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum frond_client_auth v;
    } kinds[] = {
        {"NoClientCert", FROND_CLIENT_AUTH_NONE},
        {"RequestClientCert", FROND_CLIENT_AUTH_REQUEST},
        {"RequireAnyClientCert", FROND_CLIENT_AUTH_REQUIRE_ANY},
        {"VerifyClientCertIfGiven", FROND_CLIENT_AUTH_VERIFY_IF_GIVEN},
        {"RequireAndVerifyClientCert", FROND_CLIENT_AUTH_REQUIRE_AND_VERIFY},
    };
    char *s = NULL;
    int rc = wc_req_string(doc, n, "client_auth_type", &s, err, errlen);

    if (rc) {
        return rc;
    }
    rc = frond_yaml_error(doc, n, err, errlen, "unknown client_auth_type \"%s\"", s);
    for (size_t i = 0; i < FROND_ARRAY_SIZE(kinds); i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].v;
            rc = 0;
            err[0] = '\0';
            break;
        }
    }
    free(s);
    return rc;
}

/* A string setting that may be absent (null); *out stays NULL then. */
static int wc_opt_string(const struct frond_yaml_doc *doc, const struct frond_yaml_node *map,
                         const char *key, char **out, char *err, size_t errlen)
{
    const struct frond_yaml_node *n = frond_yaml_get(map, key);

    if (!n || frond_yaml_is_null(n)) {
        return 0;
    }
    return wc_req_string(doc, n, key, out, err, errlen);
}

static int wc_load_pem(const struct frond_yaml_doc *doc, const struct frond_yaml_node *map,
                       const char *key, const char *path, char **out, char *err, size_t errlen)
{
    char full[4096];
    int rc;

    if (path[0] == '\0') {
        return frond_yaml_error(doc, frond_yaml_get(map, key), err, errlen, "%s is empty", key);
    }
    if (wc_resolve(doc->name, path, full, sizeof(full))) {
        return frond_yaml_error(doc, frond_yaml_get(map, key), err, errlen, "%s: path too long",
                                key);
    }
    rc = wc_read_file(full, true, out);
    if (rc) {
        return frond_yaml_error(doc, frond_yaml_get(map, key), err, errlen,
                                "%s: cannot read %s: %s", key, full,
                                rc == -EINVAL ? "not a regular file" : strerror(-rc));
    }
    if ((*out)[0] == '\0') {
        return frond_yaml_error(doc, frond_yaml_get(map, key), err, errlen, "%s: %s is empty", key,
                                full);
    }
    return 0;
}

/*
 * Load the PEM material into throwaway GnuTLS credentials, so that a key
 * that does not match its certificate, or a CA file with no certificate,
 * is reported with the line of the setting rather than as an opaque
 * failure to start the server.
 */
static int wc_check_pem(const struct frond_yaml_doc *doc, const struct frond_yaml_node *tls,
                        const struct frond_webconfig *wc, char *err, size_t errlen)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_datum_t cert = {(unsigned char *)wc->cert_pem, (unsigned)strlen(wc->cert_pem)};
    gnutls_datum_t key = {(unsigned char *)wc->key_pem, (unsigned)strlen(wc->key_pem)};
    int rc;

    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        return -ENOMEM;
    }
    rc = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        rc = frond_yaml_error(doc, frond_yaml_get(tls, "cert_file"), err, errlen,
                              "cert_file/key_file: not a usable PEM certificate and key: %s",
                              gnutls_strerror(rc));
        goto out;
    }
    rc = 0;
    if (wc->client_ca_pem) {
        gnutls_datum_t ca = {(unsigned char *)wc->client_ca_pem,
                             (unsigned)strlen(wc->client_ca_pem)};
        int n = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (n <= 0) {
            rc = frond_yaml_error(doc, frond_yaml_get(tls, "client_ca_file"), err, errlen,
                                  "client_ca_file: no PEM certificate found%s%s", n < 0 ? ": " : "",
                                  n < 0 ? gnutls_strerror(n) : "");
        }
    }
out:
    gnutls_certificate_free_credentials(cred);
    return rc;
}

static int wc_parse_tls(const struct frond_yaml_doc *doc, const struct frond_yaml_node *tls,
                        struct frond_webconfig *wc, char *err, size_t errlen)
{
    static const char *const known[] = {"cert_file",
                                        "key_file",
                                        "client_auth_type",
                                        "client_ca_file",
                                        "min_version",
                                        "max_version",
                                        "prefer_server_cipher_suites",
                                        "cipher_suites",
                                        "curve_preferences",
                                        "client_allowed_sans",
                                        NULL};
    static const char *const unsupported[] = {"cipher_suites", "curve_preferences",
                                              "client_allowed_sans", NULL};
    char *cert = NULL, *key = NULL, *ca = NULL;
    const struct frond_yaml_node *n;
    bool b;
    int rc;

    if (frond_yaml_is_null(tls)) {
        return 0;
    }
    rc = frond_yaml_check_keys(doc, tls, known, "tls_server_config", err, errlen);
    if (rc) {
        goto out;
    }
    /*
     * Go's cipher-suite and curve names do not map one to one onto GnuTLS
     * priority strings; refusing them is safer than pretending to honour
     * them.
     */
    for (size_t i = 0; unsupported[i]; i++) {
        n = frond_yaml_get(tls, unsupported[i]);
        if (n && !frond_yaml_is_null(n)) {
            rc = frond_yaml_error(doc, n, err, errlen, "%s is not supported by frond",
                                  unsupported[i]);
            goto out;
        }
    }
    n = frond_yaml_get(tls, "prefer_server_cipher_suites");
    if (n && !frond_yaml_is_null(n)) {
        rc = frond_yaml_bool(doc, n, "prefer_server_cipher_suites", &b, err, errlen);
        if (rc) {
            goto out;
        }
    }
    rc = wc_opt_string(doc, tls, "cert_file", &cert, err, errlen);
    if (!rc) {
        rc = wc_opt_string(doc, tls, "key_file", &key, err, errlen);
    }
    if (!rc) {
        rc = wc_opt_string(doc, tls, "client_ca_file", &ca, err, errlen);
    }
    if (rc) {
        goto out;
    }
    n = frond_yaml_get(tls, "client_auth_type");
    if (n && !frond_yaml_is_null(n)) {
        rc = wc_client_auth(doc, n, &wc->client_auth, err, errlen);
        if (rc) {
            goto out;
        }
    }
    n = frond_yaml_get(tls, "min_version");
    if (n && !frond_yaml_is_null(n)) {
        rc = wc_version(doc, n, "min_version", &wc->min_version, err, errlen);
        if (rc) {
            goto out;
        }
    }
    n = frond_yaml_get(tls, "max_version");
    if (n && !frond_yaml_is_null(n)) {
        rc = wc_version(doc, n, "max_version", &wc->max_version, err, errlen);
        if (rc) {
            goto out;
        }
    }
    if (wc->min_version && wc->max_version && wc->max_version < wc->min_version) {
        rc = frond_yaml_error(doc, frond_yaml_get(tls, "max_version"), err, errlen,
                              "max_version is lower than min_version");
        goto out;
    }
    if (!cert && !key) {
        rc = frond_yaml_error(doc, tls, err, errlen,
                              "tls_server_config needs cert_file and key_file");
        goto out;
    }
    if (!cert || !key) {
        rc = frond_yaml_error(doc, tls, err, errlen, "tls_server_config: missing %s",
                              cert ? "key_file" : "cert_file");
        goto out;
    }
    /* The same consistency checks as exporter-toolkit's getConfig(). */
    if (ca && wc->client_auth == FROND_CLIENT_AUTH_NONE) {
        rc = frond_yaml_error(doc, frond_yaml_get(tls, "client_ca_file"), err, errlen,
                              "client_ca_file is set but client_auth_type is NoClientCert");
        goto out;
    }
    if (!ca && (wc->client_auth == FROND_CLIENT_AUTH_VERIFY_IF_GIVEN ||
                wc->client_auth == FROND_CLIENT_AUTH_REQUIRE_AND_VERIFY)) {
        rc = frond_yaml_error(doc, frond_yaml_get(tls, "client_auth_type"), err, errlen,
                              "client_auth_type needs client_ca_file to verify certificates");
        goto out;
    }
    rc = wc_load_pem(doc, tls, "cert_file", cert, &wc->cert_pem, err, errlen);
    if (!rc) {
        rc = wc_load_pem(doc, tls, "key_file", key, &wc->key_pem, err, errlen);
    }
    if (!rc && ca) {
        rc = wc_load_pem(doc, tls, "client_ca_file", ca, &wc->client_ca_pem, err, errlen);
    }
    if (rc) {
        goto out;
    }
    rc = wc_check_pem(doc, tls, wc, err, errlen);
    if (rc) {
        goto out;
    }
    wc->tls = true;
out:
    free(cert);
    free(key);
    free(ca);
    return rc ? -EINVAL : 0;
}

static int wc_parse_http(const struct frond_yaml_doc *doc, const struct frond_yaml_node *http,
                         struct frond_webconfig *wc, char *err, size_t errlen)
{
    static const char *const known[] = {"headers", "http2", NULL};
    const struct frond_yaml_node *n, *h;
    bool b;
    int rc;

    if (frond_yaml_is_null(http)) {
        return 0;
    }
    rc = frond_yaml_check_keys(doc, http, known, "http_server_config", err, errlen);
    if (rc) {
        return rc;
    }
    /* libmicrohttpd speaks HTTP/1.1 only; `http2: true` is accepted and means nothing. */
    n = frond_yaml_get(http, "http2");
    if (n && !frond_yaml_is_null(n)) {
        rc = frond_yaml_bool(doc, n, "http2", &b, err, errlen);
        if (rc) {
            return rc;
        }
    }
    h = frond_yaml_get(http, "headers");
    if (!h || frond_yaml_is_null(h)) {
        return 0;
    }
    if (h->kind != FROND_YAML_MAP) {
        return frond_yaml_error(doc, h, err, errlen, "headers must be a mapping");
    }
    wc->headers = calloc(h->n ? h->n : 1, sizeof(*wc->headers));
    if (!wc->headers) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < h->n; i++) {
        struct frond_webconfig_header *hd = &wc->headers[wc->nheaders];
        bool allowed = false;

        rc = wc_req_string(doc, h->keys[i], "header name", &hd->name, err, errlen);
        if (rc) {
            return rc;
        }
        wc->nheaders++;
        for (size_t j = 0; wc_allowed_headers[j]; j++) {
            if (strcasecmp(hd->name, wc_allowed_headers[j]) == 0) {
                allowed = true;
            }
        }
        if (!allowed) {
            return frond_yaml_error(doc, h->keys[i], err, errlen,
                                    "HTTP header \"%s\" can not be configured", hd->name);
        }
        rc = wc_req_string(doc, h->items[i], "header value", &hd->value, err, errlen);
        if (rc) {
            return rc;
        }
        /* A newline in a value would let the config inject other headers. */
        if (strpbrk(hd->value, "\r\n") || strlen(hd->value) != h->items[i]->value_len) {
            return frond_yaml_error(doc, h->items[i], err, errlen,
                                    "header value of \"%s\" contains a control character",
                                    hd->name);
        }
    }
    return 0;
}

static int wc_parse_users(const struct frond_yaml_doc *doc, const struct frond_yaml_node *users,
                          struct frond_webconfig *wc, char *err, size_t errlen)
{
    int rc;

    if (frond_yaml_is_null(users)) {
        return 0;
    }
    if (users->kind != FROND_YAML_MAP) {
        return frond_yaml_error(doc, users, err, errlen,
                                "basic_auth_users must be a mapping of user: bcrypt hash");
    }
    wc->users = calloc(users->n ? users->n : 1, sizeof(*wc->users));
    if (!wc->users) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < users->n; i++) {
        struct frond_webconfig_user *u = &wc->users[wc->nusers];
        const char *hs;

        rc = wc_req_string(doc, users->keys[i], "user name", &u->name, err, errlen);
        if (rc) {
            return rc;
        }
        wc->nusers++;
        if (u->name[0] == '\0' || strchr(u->name, ':')) {
            return frond_yaml_error(doc, users->keys[i], err, errlen,
                                    "user name must be non-empty and contain no ':'");
        }
        rc = wc_req_string(doc, users->items[i], "password hash", &u->hash, err, errlen);
        if (rc) {
            return rc;
        }
        hs = u->hash;
        /* Only bcrypt, as in exporter-toolkit; a plain password here is a mistake. */
        if (strlen(hs) != 60 || hs[0] != '$' || hs[1] != '2' ||
            (hs[2] != 'a' && hs[2] != 'b' && hs[2] != 'y') || hs[3] != '$') {
            return frond_yaml_error(doc, users->items[i], err, errlen,
                                    "password of user \"%s\" is not a bcrypt hash ($2y$/$2b$/$2a$)",
                                    u->name);
        }
        /*
         * Every cost step doubles the work. Above WC_MAX_COST one login takes
         * many seconds, so every scrape of an uncached password would hang a
         * connection; bcrypt's own range starts at 4.
         */
        if (hs[4] < '0' || hs[4] > '9' || hs[5] < '0' || hs[5] > '9' || hs[6] != '$' ||
            (hs[4] - '0') * 10 + (hs[5] - '0') < 4 ||
            (hs[4] - '0') * 10 + (hs[5] - '0') > WC_MAX_COST) {
            return frond_yaml_error(doc, users->items[i], err, errlen,
                                    "password of user \"%s\": bcrypt cost must be 4..%d", u->name,
                                    WC_MAX_COST);
        }
    }
    return 0;
}

int frond_webconfig_parse(const char *name, const char *yaml, size_t len,
                          struct frond_webconfig *wc, char *errbuf, size_t errlen)
{
    static const char *const known[] = {"tls_server_config", "http_server_config",
                                        "basic_auth_users", NULL};
    struct frond_yaml_doc doc;
    const struct frond_yaml_node *n;
    struct wc_cache *cache = NULL;
    int rc;

    memset(wc, 0, sizeof(*wc));
    memset(&doc, 0, sizeof(doc));
    if (errlen) {
        errbuf[0] = '\0';
    }
    rc = frond_yaml_parse(name, yaml, len, &doc, errbuf, errlen);
    if (rc) {
        goto out;
    }
    /* An empty file is a valid config: plain HTTP, no auth. */
    if (!doc.root) {
        goto out;
    }
    rc = frond_yaml_check_keys(&doc, doc.root, known, "web config", errbuf, errlen);
    if (rc) {
        goto out;
    }
    n = frond_yaml_get(doc.root, "tls_server_config");
    if (n) {
        rc = wc_parse_tls(&doc, n, wc, errbuf, errlen);
        if (rc) {
            goto out;
        }
    }
    n = frond_yaml_get(doc.root, "http_server_config");
    if (n) {
        rc = wc_parse_http(&doc, n, wc, errbuf, errlen);
        if (rc) {
            goto out;
        }
    }
    n = frond_yaml_get(doc.root, "basic_auth_users");
    if (n) {
        rc = wc_parse_users(&doc, n, wc, errbuf, errlen);
        if (rc) {
            goto out;
        }
    }
    cache = calloc(1, sizeof(*cache));
    if (!cache) {
        rc = -ENOMEM;
        goto out;
    }
    pthread_mutex_init(&cache->lock, NULL);
    wc->auth_cache_ = cache;
out:
    frond_yaml_doc_cleanup(&doc);
    if (rc) {
        if (rc == -ENOMEM && errlen) {
            snprintf(errbuf, errlen, "%s: out of memory", name);
        }
        frond_webconfig_cleanup(wc);
        return -EINVAL;
    }
    return 0;
}

int frond_webconfig_load(const char *path, struct frond_webconfig *wc, char *errbuf, size_t errlen)
{
    char *text = NULL;
    int rc;

    memset(wc, 0, sizeof(*wc));
    rc = wc_read_file(path, false, &text);
    if (rc) {
        snprintf(errbuf, errlen, "%s: cannot read web config: %s", path, strerror(-rc));
        return -EINVAL;
    }
    rc = frond_webconfig_parse(path, text, strlen(text), wc, errbuf, errlen);
    free(text);
    return rc;
}

void frond_webconfig_cleanup(struct frond_webconfig *wc)
{
    struct wc_cache *cache;

    if (!wc) {
        return;
    }
    free(wc->cert_pem);
    /* The private key should not linger in freed heap memory. */
    if (wc->key_pem) {
        explicit_bzero(wc->key_pem, strlen(wc->key_pem));
        free(wc->key_pem);
    }
    free(wc->client_ca_pem);
    for (size_t i = 0; i < wc->nusers; i++) {
        free(wc->users[i].name);
        free(wc->users[i].hash);
    }
    free(wc->users);
    for (size_t i = 0; i < wc->nheaders; i++) {
        free(wc->headers[i].name);
        free(wc->headers[i].value);
    }
    free(wc->headers);
    cache = wc->auth_cache_;
    if (cache) {
        pthread_mutex_destroy(&cache->lock);
        free(cache);
    }
    memset(wc, 0, sizeof(*wc));
}

bool frond_webconfig_has_auth(const struct frond_webconfig *wc)
{
    return wc && wc->nusers > 0;
}

/* Compare n bytes without an early exit, so timing says nothing about where they differ. */
static bool wc_equal_ct(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;

    for (size_t i = 0; i < n; i++) {
        d |= x[i] ^ y[i];
    }
    return d == 0;
}

/*
 * The cache key binds user, stored hash and password, so a changed hash or
 * another user's password can never hit an old entry.
 */
static int wc_digest(const char *user, const char *hash, const char *password,
                     unsigned char out[WC_DIGEST_LEN])
{
    gnutls_hash_hd_t h;
    int rc = gnutls_hash_init(&h, GNUTLS_DIG_SHA256);

    if (rc < 0) {
        return -ENOMEM;
    }
    gnutls_hash(h, user, strlen(user) + 1);
    gnutls_hash(h, hash, strlen(hash) + 1);
    gnutls_hash(h, password, strlen(password) + 1);
    gnutls_hash_deinit(h, out);
    return 0;
}

static bool wc_cache_lookup(struct wc_cache *c, const unsigned char *d)
{
    bool hit = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < WC_CACHE_SLOTS; i++) {
        /* Every slot is compared so that a hit and a miss take the same time. */
        if (wc_equal_ct(c->digest[i], d, WC_DIGEST_LEN) & c->used[i]) {
            hit = true;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

static void wc_cache_store(struct wc_cache *c, const unsigned char *d)
{
    pthread_mutex_lock(&c->lock);
    memcpy(c->digest[c->next], d, WC_DIGEST_LEN);
    c->used[c->next] = true;
    c->next = (c->next + 1) % WC_CACHE_SLOTS;
    pthread_mutex_unlock(&c->lock);
}

bool frond_webconfig_check_auth(const struct frond_webconfig *wc, const char *user,
                                const char *password)
{
    const char *hash = wc_dummy_hash;
    struct crypt_data *cd = NULL;
    unsigned char digest[WC_DIGEST_LEN];
    bool known = false, ok = false, have_digest = false;
    const char *out;

    if (!wc || !user || !password || wc->nusers == 0) {
        return false;
    }
    /* Walk every user without stopping early; a matching name picks its hash. */
    for (size_t i = 0; i < wc->nusers; i++) {
        size_t a = strlen(wc->users[i].name), b = strlen(user);
        if (a == b && wc_equal_ct(wc->users[i].name, user, a)) {
            hash = wc->users[i].hash;
            known = true;
        }
    }
    if (known && wc->auth_cache_ && wc_digest(user, hash, password, digest) == 0) {
        have_digest = true;
        if (wc_cache_lookup(wc->auth_cache_, digest)) {
            return true;
        }
    }
    /* struct crypt_data is 32 KiB: too big for a server thread's stack habits. */
    cd = calloc(1, sizeof(*cd));
    if (!cd) {
        return false;
    }
    out = crypt_r(password, hash, cd);
    if (out && out[0] != '*' && strlen(out) == strlen(hash)) {
        ok = wc_equal_ct(out, hash, strlen(hash));
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    ok = ok && known;
    if (ok && have_digest) {
        wc_cache_store(wc->auth_cache_, digest);
    }
    return ok;
}
