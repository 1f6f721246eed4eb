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
 * What a request gets as an answer is http_request.c's business; this file
 * owns the server around it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
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
#include <sys/socket.h>
#include <unistd.h>

#include "frond/http.h"
#include "frond/log.h"
#include "frond/webconfig.h"
#include "http_int.h"

/* Seconds of inactivity before a connection is closed (frees slots held by idle clients). */
#define HTTP_CONN_TIMEOUT 10
/* Upper bound on --web.max-requests: each connection is a thread. */
#define HTTP_MAX_CONNS 4096u
/* Kernel accept queue; bursts beyond the connection limit wait here briefly. */
#define HTTP_BACKLOG 1024

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

    h->d = MHD_start_daemon(flags, 0, NULL, NULL, frond_http_handle_request, h, MHD_OPTION_ARRAY,
                            mo, MHD_OPTION_END);
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
