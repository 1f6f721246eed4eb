/*
 * Answering one HTTP request (see frond/http.h for the routes): the
 * client-certificate and basic-auth checks that run before routing, so
 * every path, /-/healthy included, is protected when they are configured
 * (as with exporter-toolkit, which wraps the whole mux); 405 for anything
 * but GET and HEAD; /metrics rendered with the format the Accept header
 * asks for, the deadline from X-Prometheus-Scrape-Timeout-Seconds and gzip
 * when the client accepts it; the landing page and extra routes. Every
 * response carries the web config's extra headers. Runs on libmicrohttpd's
 * connection threads; http.c owns the server around it.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "frond/expo.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/webconfig.h"
#include "http_int.h"

/* A scrape body larger than this is a runaway collector; answer 500, do not eat the host. */
#define HTTP_MAX_BODY ((size_t)256 << 20)
/* The cap in force; a variable only so that the unit test can lower it. */
static size_t http_max_body = HTTP_MAX_BODY;
/* Extra routes and the landing page are small. */
#define HTTP_MAX_SMALL_BODY ((size_t)16 << 20)

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

/* A gzip stream (windowBits 15 + 16); level 1 is plenty for exposition text. */
static int http_deflate_init(z_stream *z)
{
    return deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -ENOMEM;
}

/*
 * Gzip `in` into a new malloc'd buffer. 0, or -ENOMEM / -EIO.
 *
 * The output starts at a quarter of the input and doubles when full:
 * exposition text compresses about 10:1, so one buffer is nearly always
 * enough, while deflateBound() (a little more than the input) would double
 * the memory a large scrape holds at its peak.
 */
static int http_gzip(const char *in, size_t inlen, char **out, size_t *outlen)
{
    z_stream z;
    size_t cap = inlen / 4 + 64;
    char *buf = NULL;
    int zrc, rc = 0;

    memset(&z, 0, sizeof(z));
    if (http_deflate_init(&z)) {
        return -ENOMEM;
    }
    buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)inlen;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    while ((zrc = deflate(&z, Z_FINISH)) != Z_STREAM_END) {
        if ((zrc != Z_OK && zrc != Z_BUF_ERROR) || z.avail_out != 0) {
            rc = -EIO;
            goto out;
        }
        char *p = realloc(buf, cap * 2);
        if (!p) {
            rc = -ENOMEM;
            goto out;
        }
        buf = p;
        z.next_out = (Bytef *)buf + cap;
        z.avail_out = (uInt)cap;
        cap *= 2;
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
static MHD_RESULT http_queue(struct frond_http *h, struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *r, const char *ctype,
                             const struct http_hdr *extra, size_t nextra, bool auth_fail);

static MHD_RESULT http_reply(struct frond_http *h, struct MHD_Connection *c, unsigned status,
                             const char *ctype, char *body, size_t len,
                             const struct http_hdr *extra, size_t nextra, bool auth_fail)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    return http_queue(h, c, status, r, ctype, extra, nextra, auth_fail);
}

/* Add the headers and queue `r` (released here whether or not queuing works). */
static MHD_RESULT http_queue(struct frond_http *h, struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *r, const char *ctype,
                             const struct http_hdr *extra, size_t nextra, bool auth_fail)
{
    MHD_RESULT ret;

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

/*
 * /metrics bodies up to STREAM_AFTER bytes are rendered whole and sent with
 * a Content-Length (and a body over the cap is a 500). A larger one is sent
 * as it is rendered, STREAM_PIECE bytes at a time, in chunked transfer
 * coding (gzipped on the fly when asked): the exporter then holds the
 * samples and one piece, never the whole body and its gzip copy. Past that
 * point a failure (the cap, memory) can no longer become a 500: it is
 * logged and the connection is cut before the last chunk, so Prometheus
 * sees a failed scrape, never a truncated one.
 */
#define STREAM_AFTER ((size_t)64 << 10)
#define STREAM_PIECE ((size_t)64 << 10)
#define STREAM_BLOCK ((size_t)32 << 10) /* libmicrohttpd's buffer for each read */

struct http_stream {
    struct frond_render *r;
    struct frond_buf piece; /* rendered, sent from `off` on */
    size_t off;
    bool rendered; /* the render has written its end */
    bool gzip;
    bool zdone;
    z_stream z;
};

static void http_stream_free(void *cls)
{
    struct http_stream *st = cls;
    frond_render_free(st->r);
    frond_buf_cleanup(&st->piece);
    if (st->gzip) {
        deflateEnd(&st->z);
    }
    free(st);
}

/* Render the next piece into st->piece. 0, or -1 after logging why the body stops here. */
static int http_stream_refill(struct http_stream *st)
{
    frond_buf_reset(&st->piece);
    st->off = 0;
    int rc = frond_render_next(st->r, &st->piece, STREAM_PIECE);
    if (rc < 0) {
        frond_error("rendering metrics failed while sending them; closing the connection", "err",
                    rc == -ENOSPC ? "body exceeds the size limit" : strerror(-rc));
        return -1;
    }
    st->rendered = rc == 0;
    return 0;
}

static ssize_t http_stream_plain(struct http_stream *st, char *buf, size_t max)
{
    while (st->off == st->piece.len) {
        if (st->rendered) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (http_stream_refill(st)) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = st->piece.len - st->off < max ? st->piece.len - st->off : max;
    memcpy(buf, st->piece.data + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static ssize_t http_stream_gzip(struct http_stream *st, char *buf, size_t max)
{
    st->z.next_out = (Bytef *)buf;
    st->z.avail_out = (uInt)max;
    while (!st->zdone && st->z.avail_out == max) {
        if (st->z.avail_in == 0 && !st->rendered) {
            if (http_stream_refill(st)) {
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            st->z.next_in = (Bytef *)st->piece.data;
            st->z.avail_in = (uInt)st->piece.len;
        }
        int zrc = deflate(&st->z, st->rendered ? Z_FINISH : Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) {
            st->zdone = true;
        } else if (zrc != Z_OK && !(zrc == Z_BUF_ERROR && !st->rendered)) {
            frond_error("gzip failed while sending metrics; closing the connection");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = max - st->z.avail_out;
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct http_stream *st = cls;
    return st->gzip ? http_stream_gzip(st, buf, max) : http_stream_plain(st, buf, max);
}

/* A response that sends `first` (already rendered) and then renders the rest. NULL: ENOMEM. */
static struct MHD_Response *http_stream_response(struct frond_render *r, struct frond_buf *first,
                                                 bool gzip)
{
    struct http_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        return NULL;
    }
    st->r = r;
    st->piece = *first;
    st->gzip = gzip;
    if (gzip) {
        if (http_deflate_init(&st->z)) {
            free(st);
            return NULL;
        }
        st->z.next_in = (Bytef *)st->piece.data;
        st->z.avail_in = (uInt)st->piece.len;
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK, http_stream_read, st, http_stream_free);
    if (!resp) {
        if (gzip) {
            deflateEnd(&st->z);
        }
        free(st);
        return NULL;
    }
    /* The stream owns the render and the first piece now. */
    frond_buf_init(first, first->max);
    return resp;
}

static MHD_RESULT http_metrics(struct frond_http *h, struct MHD_Connection *c, bool head)
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
    struct frond_render *r = NULL;
    char *body = NULL, *gz = NULL;
    size_t len = 0, gzlen = 0;
    bool gzip = http_accepts_gzip(ae);
    int rc;

    frond_buf_init(&b, http_max_body);
    rc = frond_render_start(h->reg, fmt, deadline, http_max_body, &r);
    if (!rc) {
        /* HEAD renders everything: its answer carries the Content-Length of the GET. */
        rc = frond_render_next(r, &b, head ? SIZE_MAX : STREAM_AFTER);
    }
    if (rc < 0) {
        frond_error("rendering metrics failed", "err",
                    rc == -ENOSPC ? "body exceeds the size limit" : strerror(-rc));
        frond_render_free(r);
        frond_buf_cleanup(&b);
        return http_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "An error has occurred while serving metrics.\n");
    }
    if (rc == 1) {
        struct MHD_Response *resp = http_stream_response(r, &b, gzip);
        if (!resp) {
            frond_render_free(r);
            frond_buf_cleanup(&b);
            return MHD_NO;
        }
        return http_queue(h, c, MHD_HTTP_OK, resp, frond_expo_content_type(fmt), extra,
                          gzip ? 2 : 1, false);
    }
    frond_render_free(r);
    body = frond_buf_take(&b, &len);
    frond_buf_cleanup(&b);
    if (gzip && http_gzip(body ? body : "", len, &gz, &gzlen) == 0) {
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

MHD_RESULT frond_http_handle_request(void *cls, struct MHD_Connection *c, const char *url,
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
        return http_metrics(h, c, strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
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
