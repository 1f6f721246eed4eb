/*
 * The exporter-toolkit web configuration file (--web.config.file), the same
 * YAML Prometheus exporters read:
 *
 *   tls_server_config:
 *     cert_file: server.crt
 *     key_file: server.key
 *     client_auth_type: RequireAndVerifyClientCert   # NoClientCert (default),
 *                                                    # RequestClientCert, RequireAnyClientCert,
 *                                                    # VerifyClientCertIfGiven
 *     client_ca_file: ca.crt
 *     min_version: TLS12                             # TLS10..TLS13
 *     max_version: TLS13
 *   http_server_config:
 *     headers: {X-Frame-Options: deny}
 *   basic_auth_users:
 *     alice: $2y$10$...                              # bcrypt
 *
 * Unknown keys and wrong types are errors reported as file:line. File
 * contents (cert, key, CA) are read at load time, so a bad path fails
 * startup, not the first scrape.
 *
 * Ownership: frond_webconfig_load() fills a struct the caller releases with
 * frond_webconfig_cleanup() (also after a failure). Checking credentials is
 * thread-safe.
 */
#ifndef FROND_WEBCONFIG_H
#define FROND_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"

enum frond_client_auth {
    FROND_CLIENT_AUTH_NONE = 0, /* NoClientCert */
    FROND_CLIENT_AUTH_REQUEST,  /* RequestClientCert */
    FROND_CLIENT_AUTH_REQUIRE_ANY,
    FROND_CLIENT_AUTH_VERIFY_IF_GIVEN,
    FROND_CLIENT_AUTH_REQUIRE_AND_VERIFY,
};

struct frond_webconfig_user {
    char *name;
    char *hash; /* bcrypt, as in the file */
};

struct frond_webconfig_header {
    char *name;
    char *value;
};

struct frond_webconfig {
    bool tls;
    char *cert_pem; /* file contents, NUL-terminated */
    char *key_pem;
    char *client_ca_pem;
    enum frond_client_auth client_auth;
    int min_version; /* 10, 11, 12, 13; 0 = library default (TLS12) */
    int max_version; /* 0 = no maximum */
    struct frond_webconfig_user *users;
    size_t nusers;
    struct frond_webconfig_header *headers;
    size_t nheaders;
    void *auth_cache_; /* internal: successful logins, see frond_webconfig_check_auth() */
};

/*
 * Load `path`. 0, or -EINVAL after writing "path:line: reason" into errbuf
 * (or "path: reason" for I/O errors).
 */
FROND_MUST_CHECK int frond_webconfig_load(const char *path, struct frond_webconfig *wc,
                                          char *errbuf, size_t errlen);
/* Same, from memory (tests and fuzzing); `name` is used in messages. */
FROND_MUST_CHECK int frond_webconfig_parse(const char *name, const char *yaml, size_t len,
                                           struct frond_webconfig *wc, char *errbuf, size_t errlen);
void frond_webconfig_cleanup(struct frond_webconfig *wc);

/*
 * Check a user/password pair against the bcrypt hashes. Returns true on a
 * match. Takes the same time whether or not the user exists (a dummy hash
 * is checked for unknown users) and compares hashes in constant time.
 * Results are cached per (user, password digest) so that scrapes do not pay
 * bcrypt's cost each time, like exporter-toolkit's cache.
 */
bool frond_webconfig_check_auth(const struct frond_webconfig *wc, const char *user,
                                const char *password);
/* True when basic auth is configured (some users). */
bool frond_webconfig_has_auth(const struct frond_webconfig *wc);

#endif
