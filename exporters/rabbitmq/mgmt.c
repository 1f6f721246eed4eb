/*
 * libcurl side of the management API client (see mgmt.h). One easy handle
 * per session keeps the connection alive across the pages of a scrape; the
 * write callback feeds the JSON parser directly, so a reply is never held
 * whole in memory, and an error reply's body (RabbitMQ answers
 * {"error":..,"reason":..}) is kept, bounded, only to be quoted in the log.
 */
#include "mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "frond/log.h"

#define ERR_BODY_MAX 200

struct rmq_mgmt {
    const struct rmq_mgmt_opts *o;
    CURL *curl;
    double deadline;
    char errbuf[CURL_ERROR_SIZE];
};

/* State of one request, seen by the write callback. */
struct request {
    struct rmq_mgmt *m;
    struct rmq_json *parser;
    long status;
    size_t bytes;
    int parse_rc;
    bool too_big;
    size_t errlen;
    char errbody[ERR_BODY_MAX + 1];
};

int rmq_mgmt_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void rmq_mgmt_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *rmq_mgmt_err_name(enum rmq_mgmt_err e)
{
    switch (e) {
    case RMQ_MGMT_OK:
        return "ok";
    case RMQ_MGMT_CONNECT:
        return "connect";
    case RMQ_MGMT_TIMEOUT:
        return "timeout";
    case RMQ_MGMT_AUTH:
        return "auth";
    case RMQ_MGMT_NOT_FOUND:
        return "not_found";
    case RMQ_MGMT_HTTP:
        return "http";
    case RMQ_MGMT_PARSE:
        return "parse";
    case RMQ_MGMT_INTERNAL:
        return "internal";
    }
    return "unknown";
}

int rmq_mgmt_check_url(const char *url, char *err, size_t errsz)
{
    int rc = -EINVAL;
    char *scheme = NULL, *host = NULL;
    CURLU *u = curl_url();
    if (!u) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    /* Any scheme parses, so that "ftp://x" is reported as a wrong scheme, not as garbage. */
    if (!url || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        snprintf(err, errsz, "not an absolute URL (want http://host:15672 or https://...)");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(err, errsz, "scheme must be http or https, not \"%.16s\"", scheme ? scheme : "");
        goto out;
    }
    /* libcurl reads "http:///x" as host "x"; an empty authority is a mistake here. */
    const char *auth = strstr(url, "://");
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0] || !auth ||
        auth[3] == '/') {
        snprintf(err, errsz, "no host in the URL");
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

void rmq_scrub_secret(char *s, size_t cap, const char *secret)
{
    static const char mask[] = "xxxxx";
    size_t slen = secret ? strlen(secret) : 0;
    if (!s || slen == 0) {
        return;
    }
    char *hit;
    char *from = s;
    while ((hit = strstr(from, secret)) != NULL) {
        size_t tail = strlen(hit + slen);
        size_t pre = (size_t)(hit - s);
        size_t room = cap - 1 - pre; /* bytes available from hit to the end */
        size_t mlen = sizeof(mask) - 1 < room ? sizeof(mask) - 1 : room;
        size_t keep = room - mlen < tail ? room - mlen : tail;
        memmove(hit + mlen, hit + slen, keep);
        memcpy(hit, mask, mlen);
        hit[mlen + keep] = '\0';
        from = hit + mlen;
    }
}

char *rmq_mgmt_escape(const char *s)
{
    /* curl_easy_escape needs no handle since 7.82, but older ones want one. */
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) {
        return NULL;
    }
    char *copy = strdup(e);
    curl_free(e);
    return copy;
}

struct rmq_mgmt *rmq_mgmt_open(const struct rmq_mgmt_opts *o, double deadline)
{
    struct rmq_mgmt *m = calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    m->o = o;
    m->deadline = deadline;
    m->curl = curl_easy_init();
    if (!m->curl) {
        free(m);
        return NULL;
    }
    CURL *c = m->curl;
    /* Options that cannot fail in practice are set without checks, as curl's own tools do. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "frond_rabbitmq_exporter/" FROND_VERSION);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->user && o->user[0]) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    if (o->ca_file && o->ca_file[0]) {
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    }
    if (o->cert_file && o->cert_file[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert_file);
    }
    if (o->key_file && o->key_file[0]) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, o->key_file);
    }
    if (o->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return m;
}

void rmq_mgmt_close(struct rmq_mgmt *m)
{
    if (!m) {
        return;
    }
    curl_easy_cleanup(m->curl);
    free(m);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct request *r = ud;
    size_t n = size * nmemb;
    if (r->status == 0) {
        curl_easy_getinfo(r->m->curl, CURLINFO_RESPONSE_CODE, &r->status);
    }
    r->bytes += n;
    if (r->m->o->max_reply_bytes && r->bytes > r->m->o->max_reply_bytes) {
        r->too_big = true;
        return 0;
    }
    if (r->status < 200 || r->status > 299) {
        size_t room = ERR_BODY_MAX - r->errlen;
        size_t take = n < room ? n : room;
        memcpy(r->errbody + r->errlen, data, take);
        r->errlen += take;
        r->errbody[r->errlen] = '\0';
        return n;
    }
    r->parse_rc = rmq_json_feed(r->parser, data, n);
    return r->parse_rc ? 0 : n;
}

/* Keep only printable ASCII of an error body so a log line stays one line. */
static void sanitize(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            *s = ' ';
        }
    }
}

int rmq_mgmt_get(struct rmq_mgmt *m, const char *path, struct rmq_json *parser,
                 struct rmq_mgmt_result *res)
{
    struct request r = {.m = m, .parser = parser};
    char *url = NULL;
    int rc = 0;
    memset(res, 0, sizeof(*res));

    double left = m->deadline > 0 ? m->deadline - frond_now_monotonic() : 3600;
    if (left <= 0.001) {
        res->err = RMQ_MGMT_TIMEOUT;
        snprintf(res->msg, sizeof(res->msg), "scrape deadline reached before the request");
        return -ETIMEDOUT;
    }
    size_t blen = strlen(m->o->url);
    while (blen > 0 && m->o->url[blen - 1] == '/') {
        blen--;
    }
    size_t ulen = blen + strlen(path) + 1;
    url = malloc(ulen);
    if (!url) {
        res->err = RMQ_MGMT_INTERNAL;
        snprintf(res->msg, sizeof(res->msg), "out of memory");
        return -ENOMEM;
    }
    snprintf(url, ulen, "%.*s%s", (int)blen, m->o->url, path);

    long ms = (long)(left * 1000.0);
    if (ms < 1) {
        ms = 1;
    }
    m->errbuf[0] = '\0';
    curl_easy_setopt(m->curl, CURLOPT_URL, url);
    curl_easy_setopt(m->curl, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, &r);
    CURLcode cc = curl_easy_perform(m->curl);
    curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &r.status);
    res->status = r.status;

    if (r.too_big) {
        res->err = RMQ_MGMT_PARSE;
        snprintf(res->msg, sizeof(res->msg), "reply larger than %zu bytes", m->o->max_reply_bytes);
        rc = -EFBIG;
        goto out;
    }
    if (r.parse_rc) {
        res->err = RMQ_MGMT_PARSE;
        snprintf(res->msg, sizeof(res->msg), "%s", rmq_json_error(parser));
        rc = r.parse_rc;
        goto out;
    }
    if (cc != CURLE_OK) {
        res->err = cc == CURLE_OPERATION_TIMEDOUT ? RMQ_MGMT_TIMEOUT : RMQ_MGMT_CONNECT;
        snprintf(res->msg, sizeof(res->msg), "%s",
                 m->errbuf[0] ? m->errbuf : curl_easy_strerror(cc));
        size_t n = strlen(res->msg);
        while (n > 0 && res->msg[n - 1] == '\n') {
            res->msg[--n] = '\0';
        }
        rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
        goto out;
    }
    if (r.status < 200 || r.status > 299) {
        res->err = r.status == 401 || r.status == 403 ? RMQ_MGMT_AUTH
                   : r.status == 404                  ? RMQ_MGMT_NOT_FOUND
                                                      : RMQ_MGMT_HTTP;
        sanitize(r.errbody);
        snprintf(res->msg, sizeof(res->msg), "HTTP %ld: %s", r.status,
                 r.errlen ? r.errbody : "(empty body)");
        rc = -EIO;
        goto out;
    }
    rc = rmq_json_finish(parser);
    if (rc) {
        res->err = RMQ_MGMT_PARSE;
        snprintf(res->msg, sizeof(res->msg), "%s", rmq_json_error(parser));
    }
out:
    rmq_scrub_secret(res->msg, sizeof(res->msg), m->o->password);
    free(url);
    return rc;
}
