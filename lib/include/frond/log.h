/*
 * Structured logging in the go-kit style that Prometheus and Loki users
 * read every day:
 *
 *   ts=2026-11-28T19:17:07.123Z caller=main.c:42 level=info msg="listening" address=:9216
 *
 * or the same fields as one JSON object per line (--log.format=json).
 * Everything goes to stderr. Key/value pairs are strings, passed as a
 * NULL-terminated list after the message; values are quoted and escaped as
 * needed, so a caller never has to think about logfmt syntax.
 *
 * Secrets: never pass a password or a URI with userinfo as a value; use
 * frond_redact_uri() first.
 *
 * Thread-safe: one line is written with one write(2).
 */
#ifndef FROND_LOG_H
#define FROND_LOG_H

#include <stddef.h>

#include "frond/common.h"

enum frond_log_level {
    FROND_LOG_DEBUG = 0,
    FROND_LOG_INFO = 1,
    FROND_LOG_WARN = 2,
    FROND_LOG_ERROR = 3,
};

enum frond_log_format {
    FROND_LOG_LOGFMT = 0,
    FROND_LOG_JSON = 1,
};

/* Parse "debug|info|warn|error" and "logfmt|json". -EINVAL on anything else. */
FROND_MUST_CHECK int frond_log_parse_level(const char *s, enum frond_log_level *out);
FROND_MUST_CHECK int frond_log_parse_format(const char *s, enum frond_log_format *out);
/* Configure from the --log.level/--log.format strings; -EINVAL names nothing, caller reports. */
FROND_MUST_CHECK int frond_log_setup(const char *level, const char *format);
void frond_log_set_level(enum frond_log_level level);
void frond_log_set_format(enum frond_log_format format);
int frond_log_enabled(enum frond_log_level level);
/* Redirect output (tests); fd 2 by default. */
void frond_log_set_fd(int fd);

/* Write one line; the variadic part is key, value, key, value, ..., NULL. */
void frond_log_kv(enum frond_log_level level, const char *file, int line, const char *msg, ...);

#define frond_debug(...) frond_log_kv(FROND_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__, (char *)0)
#define frond_info(...) frond_log_kv(FROND_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__, (char *)0)
#define frond_warn(...) frond_log_kv(FROND_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__, (char *)0)
#define frond_error(...) frond_log_kv(FROND_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__, (char *)0)

/*
 * Copy `uri` into `out` with any password in its userinfo replaced by
 * "xxxxx" (mongodb://u:xxxxx@h, amqp://u:xxxxx@h). Always NUL-terminates;
 * truncates to outsz.
 */
void frond_redact_uri(const char *uri, char *out, size_t outsz);

#endif
