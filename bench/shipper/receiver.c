/*
 * The benchmark's Loki: accepts POST /loki/api/v1/push as fast as it can
 * and answers 204, so the benchmark measures frondtail, not a receiver.
 * It does not decode the protobuf into objects; it only walks the wire
 * format (snappy-decompressed) to count entries and line bytes, which is
 * how run.sh knows that every line of the generated log has arrived.
 * GET /stats answers "requests N entries N line_bytes N body_bytes N".
 *
 *   bench_shipper_receiver PORT
 *
 * Runs until SIGINT/SIGTERM, then prints the same line on stdout.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <snappy-c.h>

#if MHD_VERSION >= 0x00097002
#define RESULT enum MHD_Result
#else
#define RESULT int
#endif

static atomic_ullong n_requests, n_entries, n_line_bytes, n_body_bytes;

/* Upload state of one request: the compressed body, grown as it arrives. */
struct upload {
    char *data;
    size_t len, cap;
};

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Skip one field of wire type `wt`; -1 on malformed input. */
static int skip(const uint8_t **p, const uint8_t *end, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return varint(p, end, &v);
    case 1:
        if (end - *p < 8) {
            return -1;
        }
        *p += 8;
        return 0;
    case 2:
        if (varint(p, end, &v) || v > (uint64_t)(end - *p)) {
            return -1;
        }
        *p += v;
        return 0;
    case 5:
        if (end - *p < 4) {
            return -1;
        }
        *p += 4;
        return 0;
    }
    return -1;
}

/* Count EntryAdapter messages (StreamAdapter field 2) and their line bytes (field 2). */
static void count(const uint8_t *p, const uint8_t *end, uint64_t *entries, uint64_t *bytes)
{
    while (p < end) {
        uint64_t key, len;
        if (varint(&p, end, &key)) {
            return;
        }
        if ((key & 7) != 2 || (key >> 3) != 1) {
            if (skip(&p, end, key & 7)) {
                return;
            }
            continue;
        }
        if (varint(&p, end, &len) || len > (uint64_t)(end - p)) {
            return;
        }
        const uint8_t *s = p, *send = p + len;
        p = send;
        while (s < send) {
            if (varint(&s, send, &key)) {
                break;
            }
            if ((key & 7) == 2 && (key >> 3) == 2) {
                if (varint(&s, send, &len) || len > (uint64_t)(send - s)) {
                    break;
                }
                const uint8_t *e = s, *eend = s + len;
                s = eend;
                (*entries)++;
                while (e < eend) {
                    if (varint(&e, eend, &key)) {
                        break;
                    }
                    if ((key & 7) != 2) {
                        if (skip(&e, eend, key & 7)) {
                            break;
                        }
                        continue;
                    }
                    if (varint(&e, eend, &len) || len > (uint64_t)(eend - e)) {
                        break;
                    }
                    if ((key >> 3) == 2) {
                        *bytes += len;
                    }
                    e += len;
                }
            } else if (skip(&s, send, key & 7)) {
                break;
            }
        }
    }
}

static RESULT answer(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    RESULT ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static RESULT handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                      const char *version, const char *upload_data, size_t *upload_data_size,
                      void **con_cls)
{
    if (strcmp(method, "GET") == 0) {
        char buf[256];
        snprintf(buf, sizeof(buf), "requests %llu entries %llu line_bytes %llu body_bytes %llu\n",
                 atomic_load(&n_requests), atomic_load(&n_entries), atomic_load(&n_line_bytes),
                 atomic_load(&n_body_bytes));
        return answer(c, 200, buf);
    }
    struct upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u) {
            return MHD_NO;
        }
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (u->len + *upload_data_size > u->cap) {
            size_t cap = (u->len + *upload_data_size) * 2;
            char *d = realloc(u->data, cap);
            if (!d) {
                return MHD_NO;
            }
            u->data = d;
            u->cap = cap;
        }
        memcpy(u->data + u->len, upload_data, *upload_data_size);
        u->len += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    size_t raw_len = 0;
    uint64_t entries = 0, bytes = 0;
    if (snappy_uncompressed_length(u->data, u->len, &raw_len) == SNAPPY_OK) {
        char *raw = malloc(raw_len ? raw_len : 1);
        if (raw && snappy_uncompress(u->data, u->len, raw, &raw_len) == SNAPPY_OK) {
            count((const uint8_t *)raw, (const uint8_t *)raw + raw_len, &entries, &bytes);
        }
        free(raw);
    }
    atomic_fetch_add(&n_requests, 1);
    atomic_fetch_add(&n_entries, entries);
    atomic_fetch_add(&n_line_bytes, bytes);
    atomic_fetch_add(&n_body_bytes, u->len);
    return answer(c, 204, "");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;
    if (u) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long port = strtol(argv[1], &end, 10);
    if (!end || *end || port <= 0 || port > 65535) {
        fprintf(stderr, "bad port %s\n", argv[1]);
        return 2;
    }
    /* Block the stop signals in every thread (MHD's inherit the mask); main waits for them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, handler, NULL,
        MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    printf("requests %llu entries %llu line_bytes %llu body_bytes %llu\n", atomic_load(&n_requests),
           atomic_load(&n_entries), atomic_load(&n_line_bytes), atomic_load(&n_body_bytes));
    return 0;
}
