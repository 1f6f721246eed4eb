/*
 * Unit tests for the HTTP server: the listen-address table (good and
 * malformed), scrape deadlines, Accept-Encoding parsing and the gzip
 * writer, then a live server on 127.0.0.1:0 spoken to over a raw socket
 * (routes, methods, HEAD, gzip, web-config headers, basic auth). Both .c
 * files of the server are included to reach their static helpers (and so
 * that the library's copies of them are not linked in as well).
 */
#include "../../lib/src/http.c"
#include "../../lib/src/http_request.c"

#include <crypt.h>
#include <dirent.h>

#include "check.h"
#include "frond/registry.h"

struct listen_case {
    const char *addr;
    int family; /* 0 = must fail */
    const char *ip;
    unsigned port;
};

static void test_listen(void)
{
    static const struct listen_case cases[] = {
        {"127.0.0.1:9100", AF_INET, "127.0.0.1", 9100},
        {"0.0.0.0:0", AF_INET, "0.0.0.0", 0},
        {":9216", AF_INET6, "::", 9216},
        {"[::1]:65535", AF_INET6, "::1", 65535},
        {"[::]:80", AF_INET6, "::", 80},
        {"[fe80::1]:1", AF_INET6, "fe80::1", 1},
        {"localhost:9419", -1, NULL, 9419}, /* IPv4 or IPv6 loopback, whichever resolves first */
        {"", 0, NULL, 0},
        {"9100", 0, NULL, 0},
        {"127.0.0.1", 0, NULL, 0},
        {"127.0.0.1:", 0, NULL, 0},
        {"127.0.0.1:65536", 0, NULL, 0},
        {"127.0.0.1:-1", 0, NULL, 0},
        {"127.0.0.1:+80", 0, NULL, 0},
        {"127.0.0.1:http", 0, NULL, 0},
        {"127.0.0.1:123456", 0, NULL, 0},
        {"127.0.0.1:80 ", 0, NULL, 0},
        {"[::1]", 0, NULL, 0},
        {"[::1]9100", 0, NULL, 0},
        {"::1:9100", 0, NULL, 0},
        {"[]:80", 0, NULL, 0},
        {"[127.0.0.1]:80", 0, NULL, 0},
        {"[::1:80", 0, NULL, 0},
        {"[zz::1]:80", 0, NULL, 0},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        const struct listen_case *c = &cases[i];
        struct sockaddr_storage ss;
        unsigned len = 0;
        char ip[INET6_ADDRSTRLEN] = "";
        unsigned port = 0;
        int rc = frond_http_parse_listen(c->addr, &ss, &len);

        if (c->family == 0) {
            if (rc != -EINVAL) {
                check_failures++;
                fprintf(stderr, "listen \"%s\": accepted, want -EINVAL\n", c->addr);
            }
            check_count++;
            continue;
        }
        CHECK_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "  (address \"%s\")\n", c->addr);
            continue;
        }
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
            port = ntohs(s4->sin_port);
            CHECK_INT(len, sizeof(*s4));
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
            port = ntohs(s6->sin6_port);
            CHECK_INT(len, sizeof(*s6));
        }
        CHECK_INT(port, c->port);
        if (c->family > 0) {
            CHECK_INT(ss.ss_family, c->family);
            CHECK_STR(ip, c->ip);
        } else {
            CHECK(strcmp(ip, "127.0.0.1") == 0 || strcmp(ip, "::1") == 0);
        }
    }
    {
        struct sockaddr_storage ss;
        unsigned len;
        CHECK_INT(frond_http_parse_listen(NULL, &ss, &len), -EINVAL);
    }
}

static void test_deadline(void)
{
    const double now = 1000.0;

    CHECK_DBL(frond_http_scrape_deadline(NULL, 0.5, 0, now), now + 120);
    CHECK_DBL(frond_http_scrape_deadline("", 0.5, 0, now), now + 120);
    CHECK_DBL(frond_http_scrape_deadline(NULL, 0.5, 30, now), now + 30);
    CHECK_DBL(frond_http_scrape_deadline("10", 0.5, 0, now), now + 9.5);
    CHECK_DBL(frond_http_scrape_deadline("1", 0.5, 0, now), now + 0.5);
    CHECK_DBL(frond_http_scrape_deadline("10", 0.5, 5, now), now + 5);
    CHECK_DBL(frond_http_scrape_deadline("2.5", 0, 0, now), now + 2.5);
    CHECK_DBL(frond_http_scrape_deadline("2.5", -1, 0, now), now + 2.5);
    /* An offset larger than the budget: spend the budget. */
    CHECK_DBL(frond_http_scrape_deadline("0.3", 0.5, 0, now), now + 0.3);
    CHECK_DBL(frond_http_scrape_deadline(" 4 ", 1, 0, now), now + 3);
    /* Garbage, negative, zero and non-finite headers fall back to the cap. */
    CHECK_DBL(frond_http_scrape_deadline("abc", 0.5, 10, now), now + 10);
    CHECK_DBL(frond_http_scrape_deadline("5s", 0.5, 10, now), now + 10);
    CHECK_DBL(frond_http_scrape_deadline("-3", 0.5, 10, now), now + 10);
    CHECK_DBL(frond_http_scrape_deadline("0", 0.5, 10, now), now + 10);
    CHECK_DBL(frond_http_scrape_deadline("nan", 0.5, 10, now), now + 10);
    CHECK_DBL(frond_http_scrape_deadline("inf", 0.5, 10, now), now + 10);
    CHECK_DBL(frond_http_scrape_deadline("1e400", 0.5, 10, now), now + 10);
}

static void test_accept_encoding(void)
{
    static const struct {
        const char *ae;
        bool gzip;
    } cases[] = {
        {NULL, false},
        {"", false},
        {"gzip", true},
        {"GZIP", true},
        {"x-gzip", true},
        {"deflate, gzip;q=1.0, *;q=0.5", true},
        {"gzip;q=0", false},
        {"gzip; q=0.001", true},
        {"gzip;q=0.000", false},
        {"*", true},
        {"*;q=0", false},
        {"identity", false},
        {"br, deflate", false},
        {"gzip;q=0, *", false},
        {"*, gzip;q=0", false},
        {"identity;q=1, gzip;q=0.5", true},
        {"gzip;q=abc", false},
        {"gzip;q=2", false},
        {"gzipper", false},
        {" , ,gzip , ", true},
        {"deflate;level=1;q=0.4,gzip;foo=bar;q=0.2", true},
        {";;;,,,;q=", false},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        bool got = http_accepts_gzip(cases[i].ae);
        check_count++;
        if (got != cases[i].gzip) {
            check_failures++;
            fprintf(stderr, "Accept-Encoding \"%s\": got %d, want %d\n",
                    cases[i].ae ? cases[i].ae : "(null)", got, cases[i].gzip);
        }
    }
}

static void test_gzip(void)
{
    const char *text = "# TYPE x counter\nx_total 1\nx_total 1\nx_total 1\n";
    char *gz = NULL, out[256];
    size_t gzlen = 0;
    z_stream z;

    CHECK_INT(http_gzip(text, strlen(text), &gz, &gzlen), 0);
    CHECK(gzlen > 10 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    memset(&z, 0, sizeof(z));
    CHECK_INT(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gzlen;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof(out);
    CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
    CHECK_INT(z.total_out, strlen(text));
    CHECK(memcmp(out, text, strlen(text)) == 0);
    inflateEnd(&z);
    free(gz);
    /* An empty body still makes a valid gzip stream. */
    CHECK_INT(http_gzip("", 0, &gz, &gzlen), 0);
    CHECK(gzlen >= 20);
    free(gz);
    /* Incompressible input outgrows the first output buffer (a quarter of the input). */
    size_t n = 1u << 20;
    unsigned char *noise = malloc(n), *back = malloc(n + 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        noise[i] = (unsigned char)x;
    }
    CHECK_INT(http_gzip((const char *)noise, n, &gz, &gzlen), 0);
    CHECK(gzlen > n);
    memset(&z, 0, sizeof(z));
    CHECK_INT(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gzlen;
    z.next_out = back;
    z.avail_out = (uInt)(n + 1);
    CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
    CHECK_INT(z.total_out, n);
    CHECK(memcmp(back, noise, n) == 0);
    inflateEnd(&z);
    free(gz);
    free(noise);
    free(back);
}

/* ---- live server ---- */

struct reply {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
};

/* Seconds a raw request waits for the server; short for garbage that may get no answer. */
static int raw_timeout = 5;

/* Send a raw request and read until the server closes (requests say Connection: close). */
static int raw_request(unsigned port, const char *req, size_t reqlen, struct reply *r)
{
    struct sockaddr_in sa;
    char buf[16384];
    size_t len = 0;
    char *sep;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(r, 0, sizeof(*r));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A server that never answers fails the test instead of hanging it. */
    struct timeval tv = {raw_timeout, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (write(fd, req, reqlen) != (ssize_t)reqlen) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (len == sizeof(buf) - 1) {
            break;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        return -1;
    }
    sep = strstr(buf, "\r\n\r\n");
    if (!sep) {
        return -1;
    }
    snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
    r->body_len = len - (size_t)(sep + 4 - buf);
    if (r->body_len >= sizeof(r->body)) {
        r->body_len = sizeof(r->body) - 1;
    }
    memcpy(r->body, sep + 4, r->body_len);
    return 0;
}

static int get(unsigned port, const char *method, const char *path, const char *headers,
               struct reply *r)
{
    char req[2048];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n",
                     method, path, headers ? headers : "");
    return raw_request(port, req, (size_t)n, r);
}

static bool has_header(const struct reply *r, const char *line)
{
    return strcasestr(r->head, line) != NULL;
}

static int ready_flag;

static int ready_cb(void *ctx)
{
    (void)ctx;
    return ready_flag;
}

static int route_cb(void *ctx, struct frond_buf *body, const char **ctype)
{
    *ctype = "application/json";
    return frond_buf_puts(body, (const char *)ctx) ? 500 : 200;
}

static int collect_cb(struct frond_scrape *s, void *ctx)
{
    struct frond_family *f = frond_scrape_family(s, "unit_value", FROND_GAUGE, "A test gauge.");
    (void)ctx;
    if (!f) {
        return -ENOMEM;
    }
    return frond_scrape_sample(s, f, 42, {"k", "v"});
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    if (!d) {
        return -1;
    }
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

static void test_server(void)
{
    static const struct frond_http_route routes[] = {{"/extra", route_cb, "{\"ok\":true}"}};
    struct frond_registry *reg = frond_registry_new();
    struct frond_http_opts o;
    struct frond_http *h;
    struct reply r;
    int err = 1, fds_before = count_fds();
    unsigned port;

    CHECK(reg != NULL);
    if (!reg || frond_registry_add_collector(reg, collect_cb, NULL) != 0) {
        frond_registry_free(reg);
        check_failures++;
        return;
    }
    memset(&o, 0, sizeof(o));
    o.listen_address = "127.0.0.1:0";
    o.telemetry_path = "/m";
    o.name = "unit <test>";
    o.description = "a test server";
    o.max_connections = 8;
    o.timeout_offset = 0.5;
    o.ready = ready_cb;
    o.routes = routes;
    o.nroutes = 1;
    h = frond_http_start(reg, &o, &err);
    CHECK(h != NULL);
    CHECK_INT(err, 0);
    if (!h) {
        frond_registry_free(reg);
        return;
    }
    port = frond_http_port(h);
    CHECK(port > 0);

    CHECK_INT(get(port, "GET", "/m", NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "unit_value{k=\"v\"} 42") != NULL);
    CHECK(has_header(&r, "Content-Type: text/plain; version=0.0.4"));

    CHECK_INT(get(port, "GET", "/m", "Accept: application/openmetrics-text; version=1.0.0\r\n", &r),
              0);
    CHECK(has_header(&r, "Content-Type: application/openmetrics-text"));
    CHECK(strstr(r.body, "# EOF") != NULL);

    CHECK_INT(get(port, "GET", "/m", "Accept-Encoding: gzip\r\n", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r, "Content-Encoding: gzip"));
    CHECK(r.body_len > 2 && (unsigned char)r.body[0] == 0x1f);

    CHECK_INT(get(port, "HEAD", "/m", NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_len, 0);
    CHECK(has_header(&r, "Content-Length: "));

    CHECK_INT(get(port, "GET", "/", NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "href=\"/m\"") != NULL);
    CHECK(strstr(r.body, "href=\"/extra\"") != NULL);
    CHECK(strstr(r.body, "unit &lt;test&gt;") != NULL);

    CHECK_INT(get(port, "GET", "/-/healthy", NULL, &r), 0);
    CHECK_INT(r.status, 200);
    ready_flag = 0;
    CHECK_INT(get(port, "GET", "/-/ready", NULL, &r), 0);
    CHECK_INT(r.status, 503);
    ready_flag = 1;
    CHECK_INT(get(port, "GET", "/-/ready", NULL, &r), 0);
    CHECK_INT(r.status, 200);

    CHECK_INT(get(port, "GET", "/extra", NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"ok\":true}");
    CHECK(has_header(&r, "Content-Type: application/json"));

    CHECK_INT(get(port, "GET", "/metrics", NULL, &r), 0);
    CHECK_INT(r.status, 404);

    /* A body over the cap is a 500 (and an error log line), never a truncated scrape. */
    http_max_body = 16;
    CHECK_INT(get(port, "GET", "/m", NULL, &r), 0);
    CHECK_INT(r.status, 500);
    CHECK(strstr(r.body, "unit_value") == NULL);
    http_max_body = HTTP_MAX_BODY;

    CHECK_INT(get(port, "POST", "/m", "Content-Length: 5\r\n", &r), 0);
    CHECK_INT(r.status, 405);
    CHECK(has_header(&r, "Allow: GET, HEAD"));
    CHECK_INT(get(port, "DELETE", "/", NULL, &r), 0);
    CHECK_INT(r.status, 405);

    /* Garbage must get an error or a closed connection, and the server must live on. */
    {
        static const char *const junk[] = {
            "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n\r\n",
            "GET\r\n\r\n",
            "GET / HTTP/9.9\r\n\r\n",
            "GET / HTTP/1.1\r\nHost t\r\n\r\n",
            "GET /\x01\x02 HTTP/1.1\r\nHost: t\r\n\r\n",
            "\r\n\r\n\r\n",
        };
        raw_timeout = 1;
        for (size_t i = 0; i < FROND_ARRAY_SIZE(junk); i++) {
            (void)raw_request(port, junk[i], strlen(junk[i]), &r);
        }
        raw_timeout = 5;
        CHECK_INT(get(port, "GET", "/-/healthy", NULL, &r), 0);
        CHECK_INT(r.status, 200);
    }

    frond_http_stop(h);
    frond_registry_free(reg);
    /* The listening socket and every connection are gone. */
    CHECK_INT(count_fds(), fds_before);
}

static void test_server_auth(void)
{
    char dir[] = "/tmp/frond-test-http-XXXXXX", cfg[128], salt[64];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    struct frond_registry *reg = frond_registry_new();
    struct frond_http_opts o;
    struct frond_http *h = NULL;
    struct reply r;
    const char *hash;
    FILE *f;
    int err = 1;

    CHECK(cd && reg && mkdtemp(dir));
    if (!cd || !reg) {
        goto out;
    }
    CHECK(crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof(salt)) != NULL);
    hash = crypt_r("pw", salt, cd);
    snprintf(cfg, sizeof(cfg), "%s/web.yml", dir);
    f = fopen(cfg, "w");
    CHECK(f != NULL);
    if (!f) {
        goto out;
    }
    fprintf(f,
            "basic_auth_users:\n  alice: '%s'\nhttp_server_config:\n  headers:\n"
            "    X-Frame-Options: deny\n",
            hash);
    fclose(f);

    memset(&o, 0, sizeof(o));
    o.listen_address = "127.0.0.1:0";
    o.web_config_file = cfg;
    h = frond_http_start(reg, &o, &err);
    CHECK(h != NULL);
    if (!h) {
        goto out;
    }
    /* alice:pw and alice:bad in base64. */
    CHECK_INT(get(frond_http_port(h), "GET", "/-/healthy", NULL, &r), 0);
    CHECK_INT(r.status, 401);
    CHECK(has_header(&r, "WWW-Authenticate: Basic realm=\"frond\""));
    CHECK(has_header(&r, "X-Frame-Options: deny"));
    CHECK_INT(
        get(frond_http_port(h), "GET", "/-/healthy", "Authorization: Basic YWxpY2U6YmFk\r\n", &r),
        0);
    CHECK_INT(r.status, 401);
    CHECK_INT(
        get(frond_http_port(h), "GET", "/-/healthy", "Authorization: Basic YWxpY2U6cHc=\r\n", &r),
        0);
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r, "X-Frame-Options: deny"));
    CHECK_INT(get(frond_http_port(h), "GET", "/-/healthy", "Authorization: Basic !!!!\r\n", &r), 0);
    CHECK_INT(r.status, 401);
out:
    frond_http_stop(h);
    frond_registry_free(reg);
    free(cd);
    unlink(cfg);
    rmdir(dir);
}

static int collect_bulk(struct frond_scrape *s, void *ctx)
{
    struct frond_family *f = frond_scrape_family(s, "unit_bulk", FROND_GAUGE, "Filler.");
    (void)ctx;
    int rc = f ? 0 : -ENOMEM;
    for (int i = 0; i < 20000 && !rc; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        rc = frond_scrape_sample(s, f, i, {"series", v});
    }
    return rc;
}

/* Everything the server sends for one GET, until it closes the connection. */
static size_t read_all(unsigned port, const char *req, struct frond_buf *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    frond_buf_reset(out);
    if (fd < 0) {
        return 0;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0 && frond_buf_append(out, buf, (size_t)n) == 0) {
        }
    }
    close(fd);
    return out->len;
}

/*
 * A body over 64 KiB is streamed in chunks; when it outgrows the cap
 * midway, the connection is cut before the last chunk, so the client sees
 * a broken response instead of a short one that looks complete.
 */
static void test_streamed_cap(void)
{
    struct frond_registry *reg = frond_registry_new();
    struct frond_http_opts o;
    int err = 1;
    CHECK_INT(frond_registry_add_collector(reg, collect_bulk, NULL), 0);
    memset(&o, 0, sizeof(o));
    o.listen_address = "127.0.0.1:0";
    o.telemetry_path = "/m";
    o.max_connections = 4;
    struct frond_http *h = frond_http_start(reg, &o, &err);
    CHECK(h != NULL);
    if (!h) {
        frond_registry_free(reg);
        return;
    }
    const char *req = "GET /m HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    struct frond_buf all;
    frond_buf_init(&all, 1 << 24);
    read_all(frond_http_port(h), req, &all);
    const char *txt = frond_buf_cstr(&all);
    CHECK(strncmp(txt, "HTTP/1.1 200", 12) == 0);
    CHECK(strcasestr(txt, "Transfer-Encoding: chunked") != NULL);
    CHECK(strstr(txt, "unit_bulk{series=\"19999\"} 19999\n") != NULL);
    CHECK(all.len > 7 && memcmp(txt + all.len - 7, "\r\n0\r\n\r\n", 7) == 0);

    http_max_body = 300u << 10;
    read_all(frond_http_port(h), req, &all);
    txt = frond_buf_cstr(&all);
    CHECK(strncmp(txt, "HTTP/1.1 200", 12) == 0);
    CHECK(all.len > (256u << 10) && all.len < (400u << 10));
    CHECK(strstr(txt, "unit_bulk{series=\"19999\"}") == NULL);
    CHECK(all.len < 7 || memcmp(txt + all.len - 7, "\r\n0\r\n\r\n", 7) != 0);
    http_max_body = HTTP_MAX_BODY;
    frond_buf_cleanup(&all);
    frond_http_stop(h);
    frond_registry_free(reg);
}

static void test_start_errors(void)
{
    struct frond_http_opts o;
    int err = 0;

    memset(&o, 0, sizeof(o));
    o.listen_address = "127.0.0.1";
    CHECK(frond_http_start(NULL, &o, &err) == NULL);
    CHECK_INT(err, -EINVAL);
    o.listen_address = "127.0.0.1:0";
    o.web_config_file = "/nonexistent/web.yml";
    CHECK(frond_http_start(NULL, &o, &err) == NULL);
    CHECK_INT(err, -EINVAL);
    o.web_config_file = NULL;
    o.telemetry_path = "metrics";
    CHECK(frond_http_start(NULL, &o, &err) == NULL);
    CHECK_INT(err, -EINVAL);
}

int main(void)
{
    test_listen();
    test_deadline();
    test_accept_encoding();
    test_gzip();
    test_server();
    test_server_auth();
    test_streamed_cap();
    test_start_errors();
    return check_done("test_http");
}
