/*
 * Command-line flags in the style Prometheus users know from kingpin:
 * `--name=value`, `--name value`, `--[no-]bool`, and promtail's single-dash
 * `-name=value` / `-name value`. `--help` prints every flag with its
 * default and env var; `--version` prints the build. Each flag may fall
 * back to an environment variable, and string flags may have a `<name>-file`
 * twin for secrets mounted from Kubernetes (see FROND_FLAG_SECRET).
 *
 * Precedence: command line, then env var, then default. An empty env var
 * counts as unset (as in kingpin). A FROND_FLAG_SECRET flag with an env var
 * FOO also reads the file named by FOO_FILE when FOO is unset.
 *
 * Errors are one line to stderr in kingpin's shape, naming the flag:
 *   frond_x: error: unknown long flag '--foo', try --help
 *   frond_x: error: invalid value "abc" for flag --web.max-requests: expected an
 *       integer, try --help
 *   frond_x: error: flag --mongodb.uri-file: cannot read secret file "/x": No such
 *       file or directory
 * Bool flags never take the next argument (`--dry-run x` makes x positional).
 * A flag that is not FROND_FLAG_REPEAT may be given several times: last wins.
 *
 * Ownership: a table of struct frond_flag is owned by the caller; string
 * values written into `*(char **)value` are heap copies owned by the table
 * and released by frond_flags_free(). Not thread-safe (call from main).
 */
#ifndef FROND_FLAGS_H
#define FROND_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"
/* The value parsers flags use (frond_parse_*), shared with the YAML readers. */
#include "frond/parse.h"

enum frond_flag_type {
    FROND_FLAG_STRING,   /* char ** */
    FROND_FLAG_BOOL,     /* bool * */
    FROND_FLAG_INT,      /* long * */
    FROND_FLAG_DOUBLE,   /* double * */
    FROND_FLAG_DURATION, /* double * seconds; "500ms", "1m30s", "2h", or plain seconds */
    FROND_FLAG_BYTES,    /* long * bytes; "64MiB", "1MB", "512KiB", or plain bytes */
};

/* Flag options. */
#define FROND_FLAG_SECRET 0x1 /* also accept --<name>-file=PATH (content, trailing newline cut) */
#define FROND_FLAG_REPEAT 0x2 /* string flag given several times: values joined with ',' */

struct frond_flag {
    const char *name; /* without dashes: "web.listen-address" */
    enum frond_flag_type type;
    void *value;      /* where the parsed value goes, see the type */
    const char *def;  /* default, as it would be typed; NULL = none (string stays NULL) */
    const char *env;  /* environment fallback, or NULL */
    const char *help; /* one line */
    unsigned opts;
    bool set; /* out: given on the command line or through env */
};

struct frond_flagset {
    const char *prog;    /* binary name for --help/--version */
    const char *summary; /* one line under the usage line */
    struct frond_flag *flags;
    size_t nflags;
};

/*
 * Parse argv. Returns 0 to run on, 1 when --help or --version was printed
 * to stdout (exit 0), or -EINVAL after printing one line naming the bad flag
 * to stderr (exit FROND_EXIT_USAGE). Positional arguments are an error.
 * On failure, strings already set remain owned by the set; call
 * frond_flags_free() either way.
 */
FROND_MUST_CHECK int frond_flags_parse(struct frond_flagset *fs, int argc, char **argv);
void frond_flags_free(struct frond_flagset *fs);
/* Print the --help text to stdout. */
void frond_flags_usage(const struct frond_flagset *fs);

/*
 * The flags every exporter shares (exporter-toolkit and promlog names).
 * Use FROND_COMMON_FLAGS(&opts, ":9216") inside a flag table.
 */
struct frond_common_opts {
    char *listen_address;
    char *telemetry_path;
    char *web_config_file;
    char *log_level;
    char *log_format;
    double scrape_timeout_offset;
    long max_requests;
};

/* One flag per two lines reads better than one field per line. */
/* clang-format off */
#define FROND_COMMON_FLAGS(o, listen)                                                              \
    {"web.listen-address", FROND_FLAG_STRING, &(o)->listen_address, (listen), NULL,                \
     "Address on which to expose metrics and web interface.", 0, false},                           \
        {"web.telemetry-path", FROND_FLAG_STRING, &(o)->telemetry_path, "/metrics", NULL,          \
         "Path under which to expose metrics.", 0, false},                                         \
        {"web.config.file", FROND_FLAG_STRING, &(o)->web_config_file, NULL, NULL,                  \
         "Path to configuration file that can enable TLS or authentication.", 0, false},           \
        {"web.max-requests", FROND_FLAG_INT, &(o)->max_requests, "40", NULL,                       \
         "Maximum number of parallel connections served; further ones are refused.", 0, false},   \
        {"web.timeout-offset", FROND_FLAG_DURATION, &(o)->scrape_timeout_offset, "500ms", NULL,    \
         "Subtracted from X-Prometheus-Scrape-Timeout-Seconds to get the scrape deadline.", 0,     \
         false},                                                                                   \
        {"log.level", FROND_FLAG_STRING, &(o)->log_level, "info", NULL,                            \
         "Only log messages with the given severity or above: debug, info, warn, error.", 0,       \
         false},                                                                                   \
    {                                                                                              \
        "log.format", FROND_FLAG_STRING, &(o)->log_format, "logfmt", NULL,                         \
            "Output format of log messages: logfmt or json.", 0, false                             \
    }
/* clang-format on */

#endif
