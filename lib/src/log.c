/*
 * go-kit style structured logging (see frond/log.h). A line is assembled
 * in a stack buffer and written with a single write(2), so lines from
 * concurrent threads never interleave and logging never allocates — it
 * must keep working when malloc does not.
 */
#include "frond/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = FROND_LOG_INFO;
static atomic_int log_format = FROND_LOG_LOGFMT;
static atomic_int log_fd = 2;

/* Longest line we write; longer values are cut and marked with "...". */
#define LOG_LINE_MAX 16384

struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
    int full;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int frond_log_parse_level(const char *s, enum frond_log_level *out)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(level_names); i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum frond_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

int frond_log_parse_format(const char *s, enum frond_log_format *out)
{
    if (s && strcmp(s, "logfmt") == 0) {
        *out = FROND_LOG_LOGFMT;
        return 0;
    }
    if (s && strcmp(s, "json") == 0) {
        *out = FROND_LOG_JSON;
        return 0;
    }
    return -EINVAL;
}

int frond_log_setup(const char *level, const char *format)
{
    enum frond_log_level l;
    enum frond_log_format f;
    if (frond_log_parse_level(level ? level : "info", &l) != 0 ||
        frond_log_parse_format(format ? format : "logfmt", &f) != 0) {
        return -EINVAL;
    }
    frond_log_set_level(l);
    frond_log_set_format(f);
    return 0;
}

void frond_log_set_level(enum frond_log_level level)
{
    atomic_store(&log_level, (int)level);
}

void frond_log_set_format(enum frond_log_format format)
{
    atomic_store(&log_format, (int)format);
}

int frond_log_enabled(enum frond_log_level level)
{
    return (int)level >= atomic_load(&log_level);
}

void frond_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

static void put(struct line *l, const char *s, size_t n)
{
    /* Keep room for the "...\n" marker of a cut line. */
    size_t room = sizeof(l->buf) - 5 - l->len;
    if (n > room) {
        n = room;
        l->full = 1;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static int logfmt_needs_quotes(const char *v)
{
    if (*v == '\0') {
        return 1;
    }
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* Escape for a quoted logfmt value or a JSON string: the same rules serve both. */
static void put_escaped(struct line *l, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p && !l->full; p++) {
        switch (*p) {
        case '"':
            put(l, "\\\"", 2);
            break;
        case '\\':
            put(l, "\\\\", 2);
            break;
        case '\n':
            put(l, "\\n", 2);
            break;
        case '\r':
            put(l, "\\r", 2);
            break;
        case '\t':
            put(l, "\\t", 2);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
                put(l, u, 6);
            } else {
                put(l, (const char *)p, 1);
            }
        }
    }
    put(l, "\"", 1);
}

static void put_kv(struct line *l, int json, int first, const char *k, const char *v)
{
    if (json) {
        if (!first) {
            put(l, ",", 1);
        }
        put_escaped(l, k);
        put(l, ":", 1);
        put_escaped(l, v);
        return;
    }
    if (!first) {
        put(l, " ", 1);
    }
    puts_(l, k);
    put(l, "=", 1);
    if (logfmt_needs_quotes(v)) {
        put_escaped(l, v);
    } else {
        puts_(l, v);
    }
}

static void format_ts(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t w = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + w, n - w, ".%03ldZ", ts.tv_nsec / 1000000);
}

void frond_log_kv(enum frond_log_level level, const char *file, int line, const char *msg, ...)
{
    if (!frond_log_enabled(level)) {
        return;
    }
    int saved_errno = errno;
    struct line l;
    l.len = 0;
    l.full = 0;
    int json = atomic_load(&log_format) == FROND_LOG_JSON;
    char ts[40], caller[128];
    const char *base = strrchr(file, '/');
    format_ts(ts, sizeof(ts));
    snprintf(caller, sizeof(caller), "%s:%d", base ? base + 1 : file, line);

    if (json) {
        put(&l, "{", 1);
    }
    put_kv(&l, json, 1, "ts", ts);
    put_kv(&l, json, 0, "caller", caller);
    put_kv(&l, json, 0, "level", level_names[level]);
    put_kv(&l, json, 0, "msg", msg ? msg : "");

    va_list ap;
    va_start(ap, msg);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        put_kv(&l, json, 0, k, v ? v : "");
    }
    va_end(ap);

    if (l.full) {
        memcpy(l.buf + l.len, "...", 3);
        l.len += 3;
    }
    if (json) {
        l.buf[l.len++] = '}';
    }
    l.buf[l.len++] = '\n';
    /* A short write to stderr is not worth retrying at the cost of blocking. */
    ssize_t w = write(atomic_load(&log_fd), l.buf, l.len);
    (void)w;
    errno = saved_errno;
}

void frond_redact_uri(const char *uri, char *out, size_t outsz)
{
    if (outsz == 0) {
        return;
    }
    if (!uri) {
        snprintf(out, outsz, "%s", "");
        return;
    }
    const char *scheme_end = strstr(uri, "://");
    if (!scheme_end) {
        snprintf(out, outsz, "%s", uri);
        return;
    }
    const char *auth = scheme_end + 3;
    size_t auth_len = strcspn(auth, "/?#");
    /* The last '@' ends the userinfo: a password may contain an unencoded '@'. */
    const char *at = NULL;
    for (const char *p = auth; p < auth + auth_len; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        snprintf(out, outsz, "%s", uri);
        return;
    }
    snprintf(out, outsz, "%.*sxxxxx%s", (int)(colon + 1 - uri), uri, at);
}
