/*
 * The HTTP server of every frond binary, on libmicrohttpd (see
 * frond/http.h for the routes and the contract).
 *
 * Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION),
 * bounded by MHD_OPTION_CONNECTION_LIMIT. A scrape may block on a backend
 * for seconds (a MongoDB member that stopped answering, a RabbitMQ
 * management API listing 10k queues); with a fixed pool, a blocked handler
 * would stall every other connection multiplexed on its thread, including
 * /-/healthy. With a thread per connection only the slow scrape waits. An
 * idle process has just the listening thread, so idle memory stays small;
 * the connection limit bounds the threads, and an inactivity timeout frees
 * slots held by clients that connect and say nothing.
 *
 * We create, bind and accept on the listening socket ourselves and hand
 * each connection to libmicrohttpd (MHD_add_connection): that gives one code
 * path for "host:port", "[v6]:port", ":port" (dual-stack) and port 0, lets
 * frond_http_port() read the bound port with getsockname(), and lets
 * connections beyond the limit wait in the kernel backlog instead of being
 * reset (see http_accept_loop).
 *
 * Every response carries the web config's extra headers. Basic auth and
 * client-certificate checks run before routing, so every path, /-/healthy
 * included, is protected when they are configured (as with exporter-toolkit,
 * which wraps the whole mux).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "frond/expo.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/webconfig.h"

/* libmicrohttpd 0.9.71 turned the handler's int result into an enum. */
#if MHD_VERSION >= 0x00097002
#define MHD_RESULT enum MHD_Result
#else
#define MHD_RESULT int
#endif

/* A scrape body larger than this is a runaway collector; answer 500, do not eat the host. */
#define HTTP_MAX_BODY ((size_t)256 << 20)
/* The cap in force; a variable only so that the unit test can lower it. */
static size_t http_max_body = HTTP_MAX_BODY;
/* Extra routes and the landing page are small. */
#define HTTP_MAX_SMALL_BODY ((size_t)16 << 20)
/* Seconds of inactivity before a connection is closed (frees slots held by idle clients). */
#define HTTP_CONN_TIMEOUT 10
/* Upper bound on --web.max-requests: each connection is a thread. */
#define HTTP_MAX_CONNS 4096u
/* Kernel accept queue; bursts beyond the connection limit wait here briefly. */
#define HTTP_BACKLOG 1024

struct frond_http {
    struct MHD_Daemon *d;
    struct frond_registry *reg;
    struct frond_webconfig wc;
    bool have_wc;
    int fd;
    unsigned port;
    char *telemetry_path;
    char *name;
    char *description;
    double offset;
    double max_timeout;
    int (*ready)(void *ctx);
    void *ready_ctx;
    const struct frond_http_route *routes;
    size_t nroutes;
    char *priorities;
    atomic_bool started; /* libmicrohttpd messages are warnings before, debug noise after */

    /* Our accept loop (see http_accept_loop) and the connection count it obeys. */
    pthread_t acceptor;
    bool have_acceptor;
    int stop_pipe[2];
    pthread_mutex_t lock;
    pthread_cond_t slot_free;
    unsigned max_conns;
    unsigned active; /* connections handed to libmicrohttpd and not yet closed */
    bool stopping;
};

/* ---- listen addresses ---- */

static int http_parse_port(const char *s, size_t n, unsigned *port)
{
    unsigned long v = 0;

    if (n == 0 || n > 5) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535) {
        return -EINVAL;
    }
    *port = (unsigned)v;
    return 0;
}

int frond_http_parse_listen(const char *addr, struct sockaddr_storage *out, unsigned *len)
{
    char host[256];
    const char *colon, *hs;
    size_t hn;
    unsigned port;
    bool bracketed = false;
    struct addrinfo hints, *res = NULL;
    int rc;

    if (!addr || !out || !len) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') {
            return -EINVAL;
        }
        hs = addr + 1;
        hn = (size_t)(close - hs);
        colon = close + 1;
        bracketed = true;
        if (hn == 0) {
            return -EINVAL;
        }
    } else {
        colon = strrchr(addr, ':');
        if (!colon) {
            return -EINVAL;
        }
        hs = addr;
        hn = (size_t)(colon - addr);
        /* An unbracketed IPv6 literal ("::1:9100") is ambiguous, as in Go. */
        if (memchr(hs, ':', hn)) {
            return -EINVAL;
        }
    }
    rc = http_parse_port(colon + 1, strlen(colon + 1), &port);
    if (rc) {
        return rc;
    }
    if (hn >= sizeof(host) || memchr(hs, '\0', hn)) {
        return -EINVAL;
    }
    memcpy(host, hs, hn);
    host[hn] = '\0';

    if (hn == 0) {
        /* ":port" means every interface; [::] with IPV6_V6ONLY off covers IPv4 too. */
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_any;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
        return 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = bracketed ? AI_NUMERICHOST : 0;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        return -EINVAL;
    }
    if (res->ai_addrlen > sizeof(*out)) {
        freeaddrinfo(res);
        return -EINVAL;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = (unsigned)res->ai_addrlen;
    freeaddrinfo(res);
    if (out->ss_family == AF_INET) {
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    } else if (out->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    } else {
        return -EINVAL;
    }
    return 0;
}

/* ---- deadlines and content coding ---- */

double frond_http_scrape_deadline(const char *timeout_header, double offset, double max_timeout,
                                  double now)
{
    double cap = max_timeout > 0 ? max_timeout : 120.0;
    double t = cap;

    if (timeout_header && *timeout_header) {
        char *end = NULL;
        double v;

        errno = 0;
        v = strtod(timeout_header, &end);
        while (end && (*end == ' ' || *end == '\t')) {
            end++;
        }
        if (errno == 0 && end && *end == '\0' && isfinite(v) && v > 0) {
            /*
             * The offset leaves Prometheus time to receive the answer. When it
             * would eat the whole budget, spend the budget rather than answer
             * with nothing.
             */
            t = v - (offset > 0 ? offset : 0);
            if (t <= 0) {
                t = v;
            }
            if (t > cap) {
                t = cap;
            }
        }
    }
    return now + t;
}

/*
 * The q-value of one Accept-Encoding element's parameters (";q=0.5"), 1 by
 * default; -1 for a malformed value, which makes the element unusable.
 */
static double http_qvalue(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t')) {
            p++;
        }
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char tmp[16];
            size_t n = 0;
            char *e = NULL;
            double v;

            p += 2;
            while (p < end && *p != ';' && *p != ' ' && *p != '\t' && n < sizeof(tmp) - 1) {
                tmp[n++] = *p++;
            }
            tmp[n] = '\0';
            v = strtod(tmp, &e);
            if (n == 0 || *e != '\0' || !(v >= 0 && v <= 1)) {
                return -1;
            }
            return v;
        }
        while (p < end && *p != ';') {
            p++;
        }
    }
    return 1;
}

/*
 * Does the client accept a gzip body? RFC 9110 12.5.3: "gzip" (or the old
 * "x-gzip") with q > 0, or "*" with q > 0 when gzip is not named. "gzip;q=0"
 * forbids it even when "*" allows everything.
 */
static bool http_accepts_gzip(const char *ae)
{
    double gz = -1, star = -1;
    const char *p = ae;

    if (!ae) {
        return false;
    }
    while (*p) {
        const char *e = strchr(p, ',');
        const char *tok, *tend, *params;
        size_t tn;

        if (!e) {
            e = p + strlen(p);
        }
        tok = p;
        while (tok < e && (*tok == ' ' || *tok == '\t')) {
            tok++;
        }
        tend = tok;
        while (tend < e && *tend != ';' && *tend != ' ' && *tend != '\t') {
            tend++;
        }
        tn = (size_t)(tend - tok);
        params = tend;
        if ((tn == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
            (tn == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
            double q = http_qvalue(params, e);
            gz = q > gz ? q : gz;
        } else if (tn == 1 && *tok == '*') {
            star = http_qvalue(params, e);
        }
        p = *e ? e + 1 : e;
    }
    if (gz >= 0) {
        return gz > 0;
    }
    return star > 0;
}

/* Gzip `in` into a new malloc'd buffer. 0, or -ENOMEM / -EIO. */
static int http_gzip(const char *in, size_t inlen, char **out, size_t *outlen)
{
    z_stream z;
    char *buf = NULL;
    uLong bound;
    int zrc, rc = 0;

    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16 asks zlib for a gzip wrapper; level 1 is plenty for exposition text. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -ENOMEM;
    }
    bound = deflateBound(&z, (uLong)inlen);
    buf = malloc(bound ? bound : 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)inlen;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)bound;
    zrc = deflate(&z, Z_FINISH);
    if (zrc != Z_STREAM_END) {
        rc = -EIO;
        goto out;
    }
    *out = buf;
    *outlen = z.total_out;
    buf = NULL;
out:
    deflateEnd(&z);
    free(buf);
    return rc;
}

/* ---- responses ---- */

struct http_hdr {
    const char *name;
    const char *value;
};

/*
 * Queue a response. Takes ownership of `body` (malloc'd, may be NULL for an
 * empty body) whether or not queuing works.
 */
static MHD_RESULT http_reply(struct frond_http *h, struct MHD_Connection *c, unsigned status,
                             const char *ctype, char *body, size_t len,
                             const struct http_hdr *extra, size_t nextra, bool auth_fail)
{
    struct MHD_Response *r;
    MHD_RESULT ret;

    r = MHD_create_response_from_buffer(len, body ? body : (void *)"",
                                        body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (ctype) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    }
    for (size_t i = 0; i < nextra; i++) {
        MHD_add_response_header(r, extra[i].name, extra[i].value);
    }
    for (size_t i = 0; i < h->wc.nheaders; i++) {
        MHD_add_response_header(r, h->wc.headers[i].name, h->wc.headers[i].value);
    }
    if (auth_fail) {
        ret = MHD_queue_basic_auth_fail_response(c, "frond", r);
    } else {
        ret = MHD_queue_response(c, status, r);
    }
    MHD_destroy_response(r);
    return ret;
}

static MHD_RESULT http_text(struct frond_http *h, struct MHD_Connection *c, unsigned status,
                            const char *text)
{
    char *body = strdup(text);

    return http_reply(h, c, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0,
                      NULL, 0, false);
}

static MHD_RESULT http_metrics(struct frond_http *h, struct MHD_Connection *c)
{
    const char *tmo =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Prometheus-Scrape-Timeout-Seconds");
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    const char *ae =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    enum frond_expo_format fmt = frond_expo_negotiate(accept);
    double deadline =
        frond_http_scrape_deadline(tmo, h->offset, h->max_timeout, frond_now_monotonic());
    struct http_hdr extra[2] = {{MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING},
                                {MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip"}};
    struct frond_buf b;
    char *body = NULL, *gz = NULL;
    size_t len = 0, gzlen = 0;
    int rc;

    frond_buf_init(&b, http_max_body);
    rc = frond_registry_render(h->reg, fmt, deadline, &b);
    if (rc) {
        frond_error("rendering metrics failed", "err",
                    rc == -ENOSPC ? "body exceeds the size limit" : strerror(-rc));
        frond_buf_cleanup(&b);
        return http_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "An error has occurred while serving metrics.\n");
    }
    body = frond_buf_take(&b, &len);
    frond_buf_cleanup(&b);
    if (http_accepts_gzip(ae) && http_gzip(body ? body : "", len, &gz, &gzlen) == 0) {
        free(body);
        return http_reply(h, c, MHD_HTTP_OK, frond_expo_content_type(fmt), gz, gzlen, extra, 2,
                          false);
    }
    return http_reply(h, c, MHD_HTTP_OK, frond_expo_content_type(fmt), body, len, extra, 1, false);
}

/* Minimal HTML escaping for the landing page's names and paths. */
static int http_html(struct frond_buf *b, const char *s)
{
    int rc = 0;

    for (; s && *s && !rc; s++) {
        switch (*s) {
        case '<':
            rc = frond_buf_puts(b, "&lt;");
            break;
        case '>':
            rc = frond_buf_puts(b, "&gt;");
            break;
        case '&':
            rc = frond_buf_puts(b, "&amp;");
            break;
        case '"':
            rc = frond_buf_puts(b, "&quot;");
            break;
        default:
            rc = frond_buf_putc(b, *s);
        }
    }
    return rc;
}

static int http_landing_body(struct frond_http *h, struct frond_buf *b)
{
    int rc;

    rc = frond_buf_puts(b, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>");
    rc = rc ? rc : http_html(b, h->name);
    rc = rc ? rc : frond_buf_puts(b, "</title></head>\n<body>\n<h1>");
    rc = rc ? rc : http_html(b, h->name);
    rc = rc ? rc : frond_buf_puts(b, "</h1>\n<p>");
    rc = rc ? rc : http_html(b, h->description);
    rc = rc ? rc : frond_buf_puts(b, "</p>\n<ul>\n<li><a href=\"");
    rc = rc ? rc : http_html(b, h->telemetry_path);
    rc = rc ? rc : frond_buf_puts(b, "\">Metrics</a></li>\n");
    for (size_t i = 0; i < h->nroutes && !rc; i++) {
        rc = frond_buf_puts(b, "<li><a href=\"");
        rc = rc ? rc : http_html(b, h->routes[i].path);
        rc = rc ? rc : frond_buf_puts(b, "\">");
        rc = rc ? rc : http_html(b, h->routes[i].path);
        rc = rc ? rc : frond_buf_puts(b, "</a></li>\n");
    }
    rc = rc ? rc
            : frond_buf_puts(b, "<li><a href=\"/-/healthy\">Health</a></li>\n"
                                "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n<p>version ");
    rc = rc ? rc : http_html(b, FROND_VERSION " (revision " FROND_REVISION ")");
    rc = rc ? rc : frond_buf_puts(b, "</p>\n</body>\n</html>\n");
    return rc;
}

static MHD_RESULT http_landing(struct frond_http *h, struct MHD_Connection *c)
{
    struct frond_buf b;
    char *body;
    size_t len = 0;

    frond_buf_init(&b, HTTP_MAX_SMALL_BODY);
    if (http_landing_body(h, &b)) {
        frond_buf_cleanup(&b);
        return MHD_NO;
    }
    body = frond_buf_take(&b, &len);
    frond_buf_cleanup(&b);
    return http_reply(h, c, MHD_HTTP_OK, "text/html; charset=utf-8", body, len, NULL, 0, false);
}

static MHD_RESULT http_route(struct frond_http *h, struct MHD_Connection *c,
                             const struct frond_http_route *rt)
{
    struct frond_buf b;
    const char *ctype = "text/plain; charset=utf-8";
    char *body;
    size_t len = 0;
    int status;

    frond_buf_init(&b, HTTP_MAX_SMALL_BODY);
    status = rt->fn(rt->ctx, &b, &ctype);
    if (status < 100 || status > 599) {
        frond_error("route handler returned a bad status", "path", rt->path);
        frond_buf_cleanup(&b);
        return http_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    }
    body = frond_buf_take(&b, &len);
    frond_buf_cleanup(&b);
    return http_reply(h, c, (unsigned)status, ctype, body, len, NULL, 0, false);
}

/* ---- client certificates ---- */

/*
 * Go's tls.ClientAuthType semantics, checked after the handshake: the
 * handshake only requests a certificate, and this decides. Returns NULL when
 * the connection may proceed, or the reason to refuse it.
 */
static const char *http_check_client_cert(struct frond_http *h, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;
    gnutls_session_t s;
    const gnutls_datum_t *peers;
    unsigned npeers = 0, status = 0;
    bool have, verify;

    if (!h->wc.tls || h->wc.client_auth == FROND_CLIENT_AUTH_NONE ||
        h->wc.client_auth == FROND_CLIENT_AUTH_REQUEST) {
        return NULL;
    }
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) {
        return "no TLS session";
    }
    s = (gnutls_session_t)ci->tls_session;
    peers = gnutls_certificate_get_peers(s, &npeers);
    have = peers && npeers > 0;
    verify = h->wc.client_auth == FROND_CLIENT_AUTH_VERIFY_IF_GIVEN ||
             h->wc.client_auth == FROND_CLIENT_AUTH_REQUIRE_AND_VERIFY;
    if (!have) {
        return h->wc.client_auth == FROND_CLIENT_AUTH_VERIFY_IF_GIVEN
                   ? NULL
                   : "client certificate required";
    }
    if (verify && (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)) {
        return "client certificate verification failed";
    }
    return NULL;
}

/* ---- the handler ---- */

static bool http_authorized(struct frond_http *h, struct MHD_Connection *c)
{
    char *pass = NULL, *user;
    bool ok;

    if (!frond_webconfig_has_auth(&h->wc)) {
        return true;
    }
    user = MHD_basic_auth_get_username_password(c, &pass);
    ok = user && pass && frond_webconfig_check_auth(&h->wc, user, pass);
    if (pass) {
        explicit_bzero(pass, strlen(pass));
    }
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

static MHD_RESULT http_handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    static const struct http_hdr allow = {MHD_HTTP_HEADER_ALLOW, "GET, HEAD"};
    struct frond_http *h = cls;
    const char *why;

    /*
     * Everything is answered on the first call, before any request body is
     * read: no route takes a body, and libmicrohttpd closes the connection
     * after a response that skipped the upload.
     */
    why = http_check_client_cert(h, c);
    if (why) {
        return http_text(h, c, MHD_HTTP_FORBIDDEN, why);
    }
    if (!http_authorized(h, c)) {
        char *body = strdup("Unauthorized\n");
        return http_reply(h, c, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", body,
                          body ? strlen(body) : 0, NULL, 0, true);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        char *body = strdup("Method Not Allowed\n");
        return http_reply(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", body,
                          body ? strlen(body) : 0, &allow, 1, false);
    }
    if (strcmp(url, h->telemetry_path) == 0) {
        return http_metrics(h, c);
    }
    for (size_t i = 0; i < h->nroutes; i++) {
        if (h->routes[i].path && strcmp(url, h->routes[i].path) == 0) {
            return http_route(h, c, &h->routes[i]);
        }
    }
    if (strcmp(url, "/") == 0) {
        return http_landing(h, c);
    }
    if (strcmp(url, "/-/healthy") == 0) {
        return http_text(h, c, MHD_HTTP_OK, "Healthy\n");
    }
    if (strcmp(url, "/-/ready") == 0) {
        bool ready = !h->ready || h->ready(h->ready_ctx);
        return http_text(h, c, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                         ready ? "Ready\n" : "Not ready\n");
    }
    return http_text(h, c, MHD_HTTP_NOT_FOUND, "Not Found\n");
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt,
                                                               va_list ap)
{
    struct frond_http *h = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    /*
     * After startup these are per-connection events (refused connections,
     * malformed requests, failed TLS handshakes) that a client controls, so
     * they stay at debug level instead of flooding the log.
     */
    if (atomic_load(&h->started)) {
        frond_debug("libmicrohttpd", "msg", msg);
    } else {
        frond_warn("libmicrohttpd", "msg", msg);
    }
}

/* ---- accepting connections ---- */

/*
 * A connection handed to libmicrohttpd is counted by the accept loop before
 * MHD_add_connection() (the STARTED notification comes later, from the
 * connection's own thread, too late to bound anything) and uncounted here
 * when libmicrohttpd closes it.
 */
static void http_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct frond_http *h = cls;

    (void)c;
    (void)socket_context;
    if (toe != MHD_CONNECTION_NOTIFY_CLOSED) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    if (h->active > 0) {
        h->active--;
    }
    pthread_cond_signal(&h->slot_free);
    pthread_mutex_unlock(&h->lock);
}

/*
 * Accept connections ourselves and hand them to libmicrohttpd with
 * MHD_add_connection(). libmicrohttpd's own listener accepts a connection
 * beyond MHD_OPTION_CONNECTION_LIMIT and closes it at once, so a burst of
 * 50 scrapes against a limit of 40 would see 10 resets. Here, at the limit
 * we simply stop calling accept(): the extra connections wait in the
 * kernel's backlog until a slot frees (a request finishes or an idle client
 * times out), which is what a client expects from a busy server.
 */
static void *http_accept_loop(void *arg)
{
    struct frond_http *h = arg;

    for (;;) {
        struct pollfd pfd[2] = {{h->fd, POLLIN, 0}, {h->stop_pipe[0], POLLIN, 0}};
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd;

        pthread_mutex_lock(&h->lock);
        while (!h->stopping && h->active >= h->max_conns) {
            pthread_cond_wait(&h->slot_free, &h->lock);
        }
        if (h->stopping) {
            pthread_mutex_unlock(&h->lock);
            break;
        }
        pthread_mutex_unlock(&h->lock);

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            frond_error("poll on the listening socket failed", "err", strerror(errno));
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        if (!(pfd[0].revents & POLLIN)) {
            continue;
        }
        fd = accept4(h->fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: back off instead of spinning on a readable socket. */
                frond_warn("accept failed, retrying in 100ms", "err", strerror(errno));
                poll(&pfd[1], 1, 100);
            }
            continue;
        }
        pthread_mutex_lock(&h->lock);
        h->active++;
        pthread_mutex_unlock(&h->lock);
        /* On failure libmicrohttpd has closed the socket and logged why; no CLOSED follows. */
        if (MHD_add_connection(h->d, fd, (struct sockaddr *)&sa, salen) != MHD_YES) {
            pthread_mutex_lock(&h->lock);
            h->active--;
            pthread_mutex_unlock(&h->lock);
        }
    }
    return NULL;
}

/* ---- start and stop ---- */

static int http_listen(const char *addr, int *fd_out, unsigned *port_out)
{
    struct sockaddr_storage ss, bound;
    unsigned len = 0;
    socklen_t blen = sizeof(bound);
    int fd = -1, one = 1, zero = 0, rc;

    rc = frond_http_parse_listen(addr, &ss, &len);
    if (rc) {
        return rc;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && ss.ss_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
        /* No IPv6 on this host: ":port" falls back to every IPv4 interface. */
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;
        memset(&ss, 0, sizeof(ss));
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
        s4->sin_port = port;
        len = sizeof(*s4);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
        return -errno;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, HTTP_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *port_out = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *fd_out = fd;
    return 0;
}

static char *http_priorities(const struct frond_webconfig *wc)
{
    static const char *const names[] = {"TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"};
    int lo = wc->min_version ? wc->min_version : 12;
    int hi = wc->max_version ? wc->max_version : 13;
    struct frond_buf b;
    int rc;

    frond_buf_init(&b, 256);
    rc = frond_buf_puts(&b, "NORMAL:-VERS-ALL");
    for (int v = hi; v >= lo && !rc; v--) {
        rc = frond_buf_printf(&b, ":+VERS-%s", names[v - 10]);
    }
    if (rc) {
        frond_buf_cleanup(&b);
        return NULL;
    }
    (void)frond_buf_cstr(&b);
    return frond_buf_take(&b, NULL);
}

struct frond_http *frond_http_start(struct frond_registry *reg, const struct frond_http_opts *o,
                                    int *err)
{
    struct frond_http *h = NULL;
    struct MHD_OptionItem mo[16];
    size_t n = 0;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    const char *path = o->telemetry_path && *o->telemetry_path ? o->telemetry_path : "/metrics";
    const char *addr = o->listen_address ? o->listen_address : ":9100";
    char errbuf[1024], portstr[16];
    int rc;

    h = calloc(1, sizeof(*h));
    if (!h) {
        rc = -ENOMEM;
        goto out;
    }
    h->fd = -1;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->slot_free, NULL);
    /* 0 means the default; a huge value (a negative flag cast to unsigned) is clamped. */
    h->max_conns = o->max_connections ? o->max_connections : 40;
    if (h->max_conns > HTTP_MAX_CONNS) {
        h->max_conns = HTTP_MAX_CONNS;
    }
    h->reg = reg;
    h->offset = o->timeout_offset > 0 ? o->timeout_offset : 0;
    h->max_timeout = o->max_scrape_timeout;
    h->ready = o->ready;
    h->ready_ctx = o->ready_ctx;
    h->routes = o->routes;
    h->nroutes = o->routes ? o->nroutes : 0;
    h->telemetry_path = strdup(path);
    h->name = strdup(o->name ? o->name : "frond");
    h->description = strdup(o->description ? o->description : "");
    if (!h->telemetry_path || !h->name || !h->description) {
        rc = -ENOMEM;
        goto out;
    }
    if (path[0] != '/') {
        frond_error("invalid --web.telemetry-path: must start with /", "path", path);
        rc = -EINVAL;
        goto out;
    }
    if (o->web_config_file && *o->web_config_file) {
        rc = frond_webconfig_load(o->web_config_file, &h->wc, errbuf, sizeof(errbuf));
        if (rc) {
            frond_error("invalid --web.config.file", "err", errbuf);
            rc = -EINVAL;
            goto out;
        }
        h->have_wc = true;
    }
    rc = http_listen(addr, &h->fd, &h->port);
    if (rc == -EINVAL) {
        frond_error("invalid --web.listen-address", "address", addr);
        goto out;
    }
    if (rc) {
        frond_error("cannot listen", "address", addr, "err", strerror(-rc));
        goto out;
    }

    mo[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_mhd_log, h};
    mo[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_notify, h};
    /*
     * The accept loop enforces max_connections; libmicrohttpd's own limit is
     * a backstop with some slack, since a closing connection is counted
     * down by it a moment after our notification.
     */
    mo[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)h->max_conns + 16, NULL};
    mo[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, HTTP_CONN_TIMEOUT, NULL};
    if (h->wc.tls) {
        h->priorities = http_priorities(&h->wc);
        if (!h->priorities) {
            rc = -ENOMEM;
            goto out;
        }
        flags |= MHD_USE_TLS;
        mo[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->wc.key_pem};
        mo[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->wc.cert_pem};
        mo[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, h->priorities};
        /*
         * libmicrohttpd asks for a client certificate only when it has a
         * trust list. Without a client CA (RequestClientCert,
         * RequireAnyClientCert) the server's own certificate serves as a
         * placeholder list; nothing is verified against it.
         */
        if (h->wc.client_auth != FROND_CLIENT_AUTH_NONE) {
            mo[n++] =
                (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                        h->wc.client_ca_pem ? h->wc.client_ca_pem : h->wc.cert_pem};
        }
    }
    mo[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_handle, h, MHD_OPTION_ARRAY, mo,
                            MHD_OPTION_END);
    if (!h->d) {
        /* Bad key/cert material is the usual reason; libmicrohttpd logged the detail. */
        frond_error("cannot start the HTTP server", "address", addr, "tls",
                    h->wc.tls ? "true" : "false");
        rc = h->wc.tls ? -EINVAL : -EIO;
        goto out;
    }
    if (pipe2(h->stop_pipe, O_CLOEXEC) != 0) {
        rc = -errno;
        frond_error("cannot create a pipe", "err", strerror(errno));
        goto out;
    }
    rc = pthread_create(&h->acceptor, NULL, http_accept_loop, h);
    if (rc) {
        rc = -rc;
        frond_error("cannot start the accept thread", "err", strerror(-rc));
        goto out;
    }
    h->have_acceptor = true;
    atomic_store(&h->started, true);
    snprintf(portstr, sizeof(portstr), "%u", h->port);
    frond_info("listening", "address", addr, "port", portstr, "tls", h->wc.tls ? "true" : "false",
               "basic_auth", frond_webconfig_has_auth(&h->wc) ? "true" : "false", "path",
               h->telemetry_path);
    rc = 0;
out:
    if (rc) {
        frond_http_stop(h);
        h = NULL;
    }
    if (err) {
        *err = rc;
    }
    return h;
}

void frond_http_stop(struct frond_http *h)
{
    if (!h) {
        return;
    }
    /* Stop accepting first, so no connection is added to a daemon being stopped. */
    if (h->have_acceptor) {
        char c = 's';
        pthread_mutex_lock(&h->lock);
        h->stopping = true;
        pthread_cond_broadcast(&h->slot_free);
        pthread_mutex_unlock(&h->lock);
        if (write(h->stop_pipe[1], &c, 1) < 0) {
            frond_warn("cannot wake the accept thread", "err", strerror(errno));
        }
        pthread_join(h->acceptor, NULL);
    }
    if (h->d) {
        MHD_stop_daemon(h->d);
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    for (int i = 0; i < 2; i++) {
        if (h->stop_pipe[i] >= 0) {
            close(h->stop_pipe[i]);
        }
    }
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->slot_free);
    frond_webconfig_cleanup(&h->wc);
    free(h->priorities);
    free(h->telemetry_path);
    free(h->name);
    free(h->description);
    free(h);
}

unsigned frond_http_port(const struct frond_http *h)
{
    return h ? h->port : 0;
}
