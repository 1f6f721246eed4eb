/*
 * Private to the HTTP server modules: http.c (listening, the accept loop
 * and its connection limit, start and stop) and http_request.c (answering
 * one request: auth, routes, /metrics with content negotiation and gzip).
 * The public contract is frond/http.h.
 *
 * A struct frond_http is written only by frond_http_start() before the
 * first connection is accepted and by frond_http_stop() after the last
 * one ends; request handlers read it from many connection threads at once.
 * The connection count is guarded by `lock`.
 */
#ifndef FROND_HTTP_INT_H
#define FROND_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "frond/http.h"
#include "frond/webconfig.h"

/* libmicrohttpd 0.9.71 turned the handler's int result into an enum. */
#if MHD_VERSION >= 0x00097002
#define MHD_RESULT enum MHD_Result
#else
#define MHD_RESULT int
#endif

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

/*
 * libmicrohttpd's access handler for every request (cls is the struct
 * frond_http). Everything is answered on the first call.
 */
MHD_RESULT frond_http_handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, const char *upload,
                                     size_t *upload_size, void **con_cls);

#endif
