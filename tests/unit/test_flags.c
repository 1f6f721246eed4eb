/*
 * Unit tests for flags.c: every command-line syntax an operator may bring
 * from kingpin or promtail, env-var fallback and precedence, secret files,
 * the exact one-line error messages, the --help/--version output, and the
 * value parsers shared with the YAML loaders. Output to stdout/stderr is
 * captured through temporary files so messages are compared exactly.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frond/flags.h"

/* ---------------------------------------------------------------------- */
/* Capturing stdout and stderr                                            */

struct capture {
    FILE *out, *err;
    int saved_out, saved_err;
};

static void capture_begin(struct capture *c)
{
    fflush(stdout);
    fflush(stderr);
    c->out = tmpfile();
    c->err = tmpfile();
    c->saved_out = dup(1);
    c->saved_err = dup(2);
    if (!c->out || !c->err || c->saved_out < 0 || c->saved_err < 0) {
        perror("capture");
        exit(2);
    }
    dup2(fileno(c->out), 1);
    dup2(fileno(c->err), 2);
}

static void slurp(FILE *f, char *buf, size_t bufsz)
{
    size_t n;

    rewind(f);
    n = fread(buf, 1, bufsz - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void capture_end(struct capture *c, char *out, size_t outsz, char *err, size_t errsz)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_out, 1);
    dup2(c->saved_err, 2);
    close(c->saved_out);
    close(c->saved_err);
    slurp(c->out, out, outsz);
    slurp(c->err, err, errsz);
}

/* ---------------------------------------------------------------------- */
/* A representative flag table                                            */

struct opts {
    char *listen;
    bool dry;
    bool cx;
    long maxreq;
    double ratio;
    double timeout;
    long batch;
    char *uri;
    char *label;
    char *url;
};

struct expect {
    const char *listen;
    bool dry;
    bool cx;
    long maxreq;
    double ratio;
    double timeout;
    long batch;
    const char *uri;
    const char *label;
    const char *url;
};

#define NFLAGS 10

static void make_flags(struct opts *o, struct frond_flag *f)
{
    struct frond_flag t[NFLAGS] = {
        {"web.listen-address", FROND_FLAG_STRING, &o->listen, ":9216", "FT_LISTEN",
         "Address on which to expose metrics and web interface.", 0, false},
        {"dry-run", FROND_FLAG_BOOL, &o->dry, NULL, NULL, "Print instead of pushing.", 0, false},
        {"collector.x", FROND_FLAG_BOOL, &o->cx, "true", "FT_CX", "Enable the x collector.", 0,
         false},
        {"web.max-requests", FROND_FLAG_INT, &o->maxreq, "40", "FT_MAXREQ",
         "Maximum parallel requests.", 0, false},
        {"ratio", FROND_FLAG_DOUBLE, &o->ratio, "0.5", NULL, "A ratio.", 0, false},
        {"timeout", FROND_FLAG_DURATION, &o->timeout, "10s", "FT_TIMEOUT", "Scrape timeout.", 0,
         false},
        {"batch.size", FROND_FLAG_BYTES, &o->batch, "1MiB", NULL, "Batch size.", 0, false},
        {"mongodb.uri", FROND_FLAG_STRING, &o->uri, NULL, "FT_URI", "MongoDB URI.",
         FROND_FLAG_SECRET, false},
        {"label", FROND_FLAG_STRING, &o->label, "a", NULL, "A label.", FROND_FLAG_REPEAT, false},
        {"client.url", FROND_FLAG_STRING, &o->url, NULL, NULL, "Loki push URL.", 0, false},
    };
    memcpy(f, t, sizeof(t));
}

/* Placeholders in argv/env replaced at run time by real paths. */
static char secret_path[64];
static char secret_bad_path[64];

#define DEFAULTS                                                                                   \
    .listen = ":9216", .cx = true, .maxreq = 40, .ratio = 0.5, .timeout = 10, .batch = 1048576,    \
    .label = "a"

struct flag_case {
    const char *args[8];
    const char *env[4]; /* "NAME=value" */
    int rc;
    struct expect want; /* compared only when rc == 0 */
    const char *err;    /* exact stderr, when not NULL */
};

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
static const struct flag_case flag_cases[] = {
    /* Defaults. */
    {{NULL}, {NULL}, 0, {DEFAULTS}, ""},
    /* Long flags with '=' and with a separate value. */
    {{"--web.listen-address=:9100"}, {NULL}, 0, {DEFAULTS, .listen = ":9100"}, ""},
    {{"--web.listen-address", ":9100"}, {NULL}, 0, {DEFAULTS, .listen = ":9100"}, ""},
    {{"--web.listen-address", "[::1]:9100"}, {NULL}, 0, {DEFAULTS, .listen = "[::1]:9100"}, ""},
    {{"--web.listen-address="}, {NULL}, 0, {DEFAULTS, .listen = ""}, ""},
    /* A value may itself start with a dash or contain '='. */
    {{"--client.url", "-x=y"}, {NULL}, 0, {DEFAULTS, .url = "-x=y"}, ""},
    {{"--client.url=http://l/?a=b"}, {NULL}, 0, {DEFAULTS, .url = "http://l/?a=b"}, ""},
    /* promtail's single-dash style. */
    {{"-client.url=http://loki:3100"}, {NULL}, 0, {DEFAULTS, .url = "http://loki:3100"}, ""},
    {{"-client.url", "http://loki:3100"}, {NULL}, 0, {DEFAULTS, .url = "http://loki:3100"}, ""},
    {{"-dry-run"}, {NULL}, 0, {DEFAULTS, .dry = true}, ""},
    {{"-dry-run=false"}, {NULL}, 0, {DEFAULTS}, ""},
    /* Last one wins for ordinary flags. */
    {{"--client.url=a", "-client.url", "b"}, {NULL}, 0, {DEFAULTS, .url = "b"}, ""},
    /* Booleans: bare, negated, explicit. */
    {{"--dry-run"}, {NULL}, 0, {DEFAULTS, .dry = true}, ""},
    {{"--no-collector.x"}, {NULL}, 0, {DEFAULTS, .cx = false}, ""},
    {{"--collector.x=false"}, {NULL}, 0, {DEFAULTS, .cx = false}, ""},
    {{"--dry-run=true"}, {NULL}, 0, {DEFAULTS, .dry = true}, ""},
    {{"--dry-run=0"}, {NULL}, 0, {DEFAULTS}, ""},
    {{"--no-dry-run=false"}, {NULL}, 0, {DEFAULTS, .dry = true}, ""},
    {{"--dry-run", "--no-dry-run"}, {NULL}, 0, {DEFAULTS}, ""},
    /* Bool flags take no argument, so the next word is positional. */
    {{"--dry-run", "true"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unexpected argument 'true', try --help\n"},
    {{"--dry-run=maybe"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"maybe\" for flag --dry-run: expected true or false, try "
     "--help\n"},
    /* Typed values. */
    {{"--web.max-requests=7"}, {NULL}, 0, {DEFAULTS, .maxreq = 7}, ""},
    {{"--web.max-requests", "-3"}, {NULL}, 0, {DEFAULTS, .maxreq = -3}, ""},
    {{"--web.max-requests=abc"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"abc\" for flag --web.max-requests: expected an integer, try "
     "--help\n"},
    {{"--web.max-requests=99999999999999999999"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"99999999999999999999\" for flag --web.max-requests: expected "
     "an integer (out of range), try --help\n"},
    {{"--web.max-requests="},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"\" for flag --web.max-requests: expected an integer, try "
     "--help\n"},
    {{"--ratio=1e3"}, {NULL}, 0, {DEFAULTS, .ratio = 1000}, ""},
    {{"--ratio=nan"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"nan\" for flag --ratio: expected a number, try --help\n"},
    {{"--timeout=1h30m"}, {NULL}, 0, {DEFAULTS, .timeout = 5400}, ""},
    {{"--timeout", "1.5s"}, {NULL}, 0, {DEFAULTS, .timeout = 1.5}, ""},
    {{"-timeout=250ms"}, {NULL}, 0, {DEFAULTS, .timeout = 0.25}, ""},
    {{"--timeout=30"}, {NULL}, 0, {DEFAULTS, .timeout = 30}, ""},
    {{"--timeout=abc"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"abc\" for flag --timeout: expected a duration like "
     "\"1m30s\", try --help\n"},
    {{"--batch.size=64MiB"}, {NULL}, 0, {DEFAULTS, .batch = 64L << 20}, ""},
    {{"--batch.size=1MB"}, {NULL}, 0, {DEFAULTS, .batch = 1000000}, ""},
    {{"--batch.size=12QB"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"12QB\" for flag --batch.size: expected a size like "
     "\"64MiB\", try --help\n"},
    /* Environment fallback and precedence. */
    {{NULL}, {"FT_LISTEN=:1"}, 0, {DEFAULTS, .listen = ":1"}, ""},
    {{"--web.listen-address=:2"}, {"FT_LISTEN=:1"}, 0, {DEFAULTS, .listen = ":2"}, ""},
    {{NULL}, {"FT_LISTEN="}, 0, {DEFAULTS}, ""},
    {{NULL}, {"FT_CX=false", "FT_TIMEOUT=2m"}, 0, {DEFAULTS, .cx = false, .timeout = 120}, ""},
    {{"--collector.x"}, {"FT_CX=false"}, 0, {DEFAULTS}, ""},
    {{NULL},
     {"FT_MAXREQ=x"},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: invalid value \"x\" for env var FT_MAXREQ (flag --web.max-requests): "
     "expected an integer, try --help\n"},
    /* Secrets from files, from the flag or from <ENV>_FILE. */
    {{"--mongodb.uri-file=@SECRET@"}, {NULL}, 0, {DEFAULTS, .uri = "mongodb://u:p@h"}, ""},
    {{"-mongodb.uri-file", "@SECRET@"}, {NULL}, 0, {DEFAULTS, .uri = "mongodb://u:p@h"}, ""},
    {{NULL}, {"FT_URI_FILE=@SECRET@"}, 0, {DEFAULTS, .uri = "mongodb://u:p@h"}, ""},
    {{NULL},
     {"FT_URI=mongodb://e", "FT_URI_FILE=@SECRET@"},
     0,
     {DEFAULTS, .uri = "mongodb://e"},
     ""},
    {{"--mongodb.uri=mongodb://x"}, {NULL}, 0, {DEFAULTS, .uri = "mongodb://x"}, ""},
    {{"--mongodb.uri-file=@MISSING@"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: flag --mongodb.uri-file: cannot read secret file "
     "\"/nonexistent/frond-secret\": No such file or directory\n"},
    {{NULL},
     {"FT_URI_FILE=@MISSING@"},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: env var FT_URI_FILE (flag --mongodb.uri): cannot read secret file "
     "\"/nonexistent/frond-secret\": No such file or directory\n"},
    /* Only secret flags have a -file twin. */
    {{"--client.url-file=/x"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unknown long flag '--client.url-file', try --help\n"},
    /* Repeatable flags join with ','; the first use replaces the default. */
    {{"--label=b", "--label", "c"}, {NULL}, 0, {DEFAULTS, .label = "b,c"}, ""},
    {{"--label=b"}, {NULL}, 0, {DEFAULTS, .label = "b"}, ""},
    /* Unknown flags and positional arguments. */
    {{"--foo"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unknown long flag '--foo', try --help\n"},
    {{"--foo=1"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unknown long flag '--foo', try --help\n"},
    {{"-x"}, {NULL}, -EINVAL, {DEFAULTS}, "frond_x: error: unknown short flag '-x', try --help\n"},
    {{"-foo"}, {NULL}, -EINVAL, {DEFAULTS}, "frond_x: error: unknown flag '-foo', try --help\n"},
    {{"--no-web.listen-address"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unknown long flag '--no-web.listen-address', try --help\n"},
    {{"bar"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unexpected argument 'bar', try --help\n"},
    {{"-"}, {NULL}, -EINVAL, {DEFAULTS}, "frond_x: error: unexpected argument '-', try --help\n"},
    {{"--=x"}, {NULL}, -EINVAL, {DEFAULTS}, "frond_x: error: unknown long flag '--', try --help\n"},
    {{"--"}, {NULL}, 0, {DEFAULTS}, ""},
    {{"--dry-run", "--", "x"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unexpected argument 'x', try --help\n"},
    {{"--", "--dry-run"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: unexpected argument '--dry-run', try --help\n"},
    {{"--web.listen-address"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: expected argument for flag '--web.listen-address', try --help\n"},
    {{"-client.url"},
     {NULL},
     -EINVAL,
     {DEFAULTS},
     "frond_x: error: expected argument for flag '-client.url', try --help\n"},
    /* --help and --version stop parsing and return 1. */
    {{"--help"}, {NULL}, 1, {DEFAULTS}, ""},
    {{"-h"}, {NULL}, 1, {DEFAULTS}, ""},
    {{"-help"}, {NULL}, 1, {DEFAULTS}, ""},
    {{"--version"}, {NULL}, 1, {DEFAULTS}, ""},
    {{"-version"}, {NULL}, 1, {DEFAULTS}, ""},
};
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static const char *subst(const char *s, char *tmp, size_t tmpsz)
{
    const char *marks[] = {"@SECRET@", "@MISSING@"};
    const char *paths[] = {secret_path, secret_bad_path};

    for (size_t i = 0; i < 2; i++) {
        const char *p = strstr(s, marks[i]);
        if (p) {
            snprintf(tmp, tmpsz, "%.*s%s%s", (int)(p - s), s, paths[i], p + strlen(marks[i]));
            return tmp;
        }
    }
    return s;
}

static const char *env_names[] = {"FT_LISTEN",  "FT_CX",  "FT_MAXREQ",
                                  "FT_TIMEOUT", "FT_URI", "FT_URI_FILE"};

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void test_flag_table(void)
{
    for (size_t ci = 0; ci < FROND_ARRAY_SIZE(flag_cases); ci++) {
        const struct flag_case *c = &flag_cases[ci];
        struct opts o;
        struct frond_flag f[NFLAGS];
        struct frond_flagset fs = {"frond_x", "A test program.", f, NFLAGS};
        char *argv[10];
        char argbuf[8][256];
        int argc = 1;
        char out[8192], err[2048];
        struct capture cap;
        int rc;

        memset(&o, 0xa5, sizeof(o)); /* garbage, as in an uninitialised struct */
        make_flags(&o, f);
        for (size_t i = 0; i < FROND_ARRAY_SIZE(env_names); i++) {
            unsetenv(env_names[i]);
        }
        for (size_t i = 0; i < 4 && c->env[i]; i++) {
            char tmp[256], kv[256];
            const char *s = subst(c->env[i], tmp, sizeof(tmp));
            const char *eq;
            snprintf(kv, sizeof(kv), "%s", s);
            eq = strchr(kv, '=');
            kv[eq - kv] = '\0';
            setenv(kv, kv + (eq - kv) + 1, 1);
        }
        argv[0] = "frond_x";
        for (size_t i = 0; i < 8 && c->args[i]; i++) {
            const char *s = subst(c->args[i], argbuf[i], sizeof(argbuf[i]));
            if (s != argbuf[i]) {
                snprintf(argbuf[i], sizeof(argbuf[i]), "%s", s);
            }
            argv[argc++] = argbuf[i];
        }
        argv[argc] = NULL;

        capture_begin(&cap);
        rc = frond_flags_parse(&fs, argc, argv);
        capture_end(&cap, out, sizeof(out), err, sizeof(err));

        if (rc != c->rc) {
            fprintf(stderr, "case %zu (%s): rc %d, want %d; stderr: %s\n", ci,
                    c->args[0] ? c->args[0] : "-", rc, c->rc, err);
        }
        CHECK_INT(rc, c->rc);
        if (c->err && strcmp(err, c->err) != 0) {
            fprintf(stderr, "case %zu (%s):\n", ci, c->args[0] ? c->args[0] : "-");
        }
        if (c->err) {
            CHECK_STR(err, c->err);
        }
        if (rc == 0) {
            const struct expect *w = &c->want;
            bool ok = str_eq(o.listen, w->listen) && o.dry == w->dry && o.cx == w->cx &&
                      o.maxreq == w->maxreq && o.ratio == w->ratio && o.timeout == w->timeout &&
                      o.batch == w->batch && str_eq(o.uri, w->uri) && str_eq(o.label, w->label) &&
                      str_eq(o.url, w->url);
            if (!ok) {
                fprintf(stderr,
                        "case %zu (%s): got listen=%s dry=%d cx=%d max=%ld ratio=%g timeout=%g "
                        "batch=%ld uri=%s label=%s url=%s\n",
                        ci, c->args[0] ? c->args[0] : "-", o.listen ? o.listen : "(null)", o.dry,
                        o.cx, o.maxreq, o.ratio, o.timeout, o.batch, o.uri ? o.uri : "(null)",
                        o.label ? o.label : "(null)", o.url ? o.url : "(null)");
            }
            CHECK(ok);
        }
        frond_flags_free(&fs);
        CHECK(o.listen == NULL && o.uri == NULL && o.label == NULL && o.url == NULL);
    }
    for (size_t i = 0; i < FROND_ARRAY_SIZE(env_names); i++) {
        unsetenv(env_names[i]);
    }
}

static void test_set_marks(void)
{
    struct opts o;
    struct frond_flag f[NFLAGS];
    struct frond_flagset fs = {"frond_x", NULL, f, NFLAGS};
    char *argv[] = {"frond_x", "--dry-run", "--timeout=1s", NULL};

    make_flags(&o, f);
    setenv("FT_MAXREQ", "5", 1);
    CHECK_INT(frond_flags_parse(&fs, 3, argv), 0);
    CHECK(f[1].set);  /* dry-run: command line */
    CHECK(f[5].set);  /* timeout: command line */
    CHECK(f[3].set);  /* max-requests: env */
    CHECK(!f[0].set); /* listen: default */
    CHECK(!f[2].set);
    CHECK_INT(o.maxreq, 5);
    frond_flags_free(&fs);
    unsetenv("FT_MAXREQ");
}

static void test_help_and_version(void)
{
    struct opts o;
    struct frond_flag f[NFLAGS];
    struct frond_flagset fs = {"frond_x", "A test program.", f, NFLAGS};
    char *argv[] = {"frond_x", "--help", NULL};
    char *vargv[] = {"frond_x", "--version", NULL};
    char out[8192], err[2048], want[256];
    struct capture cap;

    make_flags(&o, f);
    capture_begin(&cap);
    CHECK_INT(frond_flags_parse(&fs, 2, argv), 1);
    capture_end(&cap, out, sizeof(out), err, sizeof(err));
    CHECK_STR(err, "");
    CHECK(strncmp(out, "usage: frond_x [<flags>]\n\nA test program.\n\nFlags:\n", 50) == 0);
    /* Every flag, its type, default and env var appear. */
    for (size_t i = 0; i < NFLAGS; i++) {
        char name[128];
        snprintf(name, sizeof(name), "--%s%s", f[i].type == FROND_FLAG_BOOL ? "" : f[i].name,
                 f[i].type == FROND_FLAG_BOOL ? "[no-]" : "");
        if (f[i].type == FROND_FLAG_BOOL) {
            snprintf(name, sizeof(name), "--[no-]%s", f[i].name);
        }
        CHECK(strstr(out, name) != NULL);
        CHECK(strstr(out, f[i].help) != NULL);
    }
    CHECK(strstr(out, "  --web.listen-address=\":9216\"") != NULL);
    CHECK(strstr(out,
                 "Address on which to expose metrics and web interface. (string) ($FT_LISTEN)") !=
          NULL);
    CHECK(strstr(out, "--timeout=\"10s\"") != NULL);
    CHECK(strstr(out, "Scrape timeout. (duration) ($FT_TIMEOUT)") != NULL);
    CHECK(strstr(out, "Enable the x collector. (bool, default true) ($FT_CX)") != NULL);
    CHECK(strstr(out, "--mongodb.uri=<string>") != NULL);
    CHECK(strstr(out, "MongoDB URI. (string; or --mongodb.uri-file=PATH) ($FT_URI)") != NULL);
    CHECK(strstr(out, "A label. (string, repeatable)") != NULL);
    CHECK(strstr(out, "--batch.size=\"1MiB\"") != NULL);
    CHECK(strstr(out, "  -h, --help") != NULL);
    CHECK(strstr(out, "      --version") != NULL);
    frond_flags_free(&fs);

    make_flags(&o, f);
    capture_begin(&cap);
    CHECK_INT(frond_flags_parse(&fs, 2, vargv), 1);
    capture_end(&cap, out, sizeof(out), err, sizeof(err));
    snprintf(want, sizeof(want), "frond_x, version %s (revision: %s)\n", FROND_VERSION,
             FROND_REVISION);
    CHECK_STR(out, want);
    CHECK_STR(err, "");
    frond_flags_free(&fs);
}

/* A bad default is a programming error, caught here rather than in production. */
static void test_bad_default(void)
{
    long n = 0;
    char *s = NULL;
    struct frond_flag f[] = {
        {"name", FROND_FLAG_STRING, &s, "x", NULL, "A string.", 0, false},
        {"count", FROND_FLAG_INT, &n, "abc", NULL, "A count.", 0, false},
    };
    struct frond_flagset fs = {"frond_x", NULL, f, 2};
    char *argv[] = {"frond_x", NULL};
    char out[1024], err[1024];
    struct capture cap;

    capture_begin(&cap);
    CHECK_INT(frond_flags_parse(&fs, 1, argv), -EINVAL);
    capture_end(&cap, out, sizeof(out), err, sizeof(err));
    CHECK_STR(err, "frond_x: error: bad default \"abc\" for flag --count: expected an integer\n");
    frond_flags_free(&fs);
    CHECK(s == NULL);
}

/* The shared exporter flags have valid defaults and parse like any others. */
static void test_common_flags(void)
{
    struct frond_common_opts o;
    struct frond_flag f[] = {FROND_COMMON_FLAGS(&o, ":9216")};
    struct frond_flagset fs = {"frond_x", NULL, f, FROND_ARRAY_SIZE(f)};
    char *argv[] = {"frond_x", "--web.listen-address=127.0.0.1:0", "--log.level=debug",
                    "--web.timeout-offset=250ms", NULL};

    memset(&o, 0, sizeof(o));
    CHECK_INT(frond_flags_parse(&fs, 4, argv), 0);
    CHECK_STR(o.listen_address, "127.0.0.1:0");
    CHECK_STR(o.telemetry_path, "/metrics");
    CHECK(o.web_config_file == NULL);
    CHECK_STR(o.log_level, "debug");
    CHECK_STR(o.log_format, "logfmt");
    CHECK_DBL(o.scrape_timeout_offset, 0.25);
    CHECK_INT(o.max_requests, 40);
    frond_flags_free(&fs);
    CHECK(o.listen_address == NULL && o.log_level == NULL && o.telemetry_path == NULL);
}

/* ---------------------------------------------------------------------- */
/* Value parsers                                                          */

enum ptype { P_DUR, P_BYTES, P_LONG, P_DOUBLE, P_BOOL };

struct parse_case {
    enum ptype type;
    const char *in;
    int rc;
    double want; /* seconds, bytes, number, or 0/1 */
};

static const struct parse_case parse_cases[] = {
    /* Durations: Prometheus units, combinations, Go-style fractions, plain seconds. */
    {P_DUR, "1s", 0, 1},
    {P_DUR, "1m", 0, 60},
    {P_DUR, "1h", 0, 3600},
    {P_DUR, "1d", 0, 86400},
    {P_DUR, "1w", 0, 604800},
    {P_DUR, "1y", 0, 31536000},
    {P_DUR, "1ms", 0, 0.001},
    {P_DUR, "500us", 0, 0.0005},
    {P_DUR, "500\xc2\xb5s", 0, 0.0005},
    {P_DUR, "10ns", 0, 1e-8},
    {P_DUR, "1h30m", 0, 5400},
    {P_DUR, "1h30m15s500ms", 0, 5415.5},
    {P_DUR, "1y1w1d1h1m1s1ms", 0, 31536000 + 604800 + 86400 + 3600 + 60 + 1 + 0.001},
    {P_DUR, "1.5s", 0, 1.5},
    {P_DUR, "1.5h", 0, 5400},
    {P_DUR, ".5s", 0, 0.5},
    {P_DUR, "0", 0, 0},
    {P_DUR, "0s", 0, 0},
    {P_DUR, "30", 0, 30},
    {P_DUR, "2.5", 0, 2.5},
    {P_DUR, "", -EINVAL, 0},
    {P_DUR, "s", -EINVAL, 0},
    {P_DUR, "abc", -EINVAL, 0},
    {P_DUR, "1", 0, 1},
    {P_DUR, "1x", -EINVAL, 0},
    {P_DUR, "-1s", -EINVAL, 0},
    {P_DUR, "1h 30m", -EINVAL, 0},
    {P_DUR, " 1s", -EINVAL, 0},
    {P_DUR, "1s ", -EINVAL, 0},
    {P_DUR, "1.2.3s", -EINVAL, 0},
    {P_DUR, "inf", -EINVAL, 0},
    {P_DUR, "nan", -EINVAL, 0},
    {P_DUR, "1e3s", -EINVAL, 0},
    {P_DUR, "999999999999y", -EINVAL, 0},
    {P_DUR, "99999999999999999999999999", -EINVAL, 0},
    /* Sizes: SI and IEC, as go-humanize parses them. */
    {P_BYTES, "0", 0, 0},
    {P_BYTES, "1024", 0, 1024},
    {P_BYTES, "1B", 0, 1},
    {P_BYTES, "1KB", 0, 1000},
    {P_BYTES, "1kb", 0, 1000},
    {P_BYTES, "1K", 0, 1000},
    {P_BYTES, "1KiB", 0, 1024},
    {P_BYTES, "1Ki", 0, 1024},
    {P_BYTES, "1MB", 0, 1000000},
    {P_BYTES, "1MiB", 0, 1048576},
    {P_BYTES, "1GB", 0, 1e9},
    {P_BYTES, "1GiB", 0, 1073741824},
    {P_BYTES, "2TiB", 0, 2199023255552.0},
    {P_BYTES, "1.5MiB", 0, 1572864},
    {P_BYTES, "1 MiB", 0, 1048576},
    {P_BYTES, "9223372036854775807", 0, 9223372036854775807.0},
    {P_BYTES, "9223372036854775808", -EINVAL, 0},
    {P_BYTES, "8EiB", -EINVAL, 0},
    {P_BYTES, "7EiB", 0, 8070450532247928832.0},
    {P_BYTES, "10000PB", -EINVAL, 0},
    {P_BYTES, "9.3EB", -EINVAL, 0},
    {P_BYTES, "", -EINVAL, 0},
    {P_BYTES, "MiB", -EINVAL, 0},
    {P_BYTES, "-1", -EINVAL, 0},
    {P_BYTES, "1XB", -EINVAL, 0},
    {P_BYTES, "1 ", -EINVAL, 0},
    {P_BYTES, "1MiBs", -EINVAL, 0},
    /* Integers: strtol with errno/endptr checks. */
    {P_LONG, "0", 0, 0},
    {P_LONG, "42", 0, 42},
    {P_LONG, "-42", 0, -42},
    {P_LONG, "+7", 0, 7},
    {P_LONG, "9223372036854775807", 0, 9223372036854775807.0},
    {P_LONG, "9223372036854775808", -EINVAL, 0},
    {P_LONG, "-9223372036854775809", -EINVAL, 0},
    {P_LONG, "", -EINVAL, 0},
    {P_LONG, " 1", -EINVAL, 0},
    {P_LONG, "1 ", -EINVAL, 0},
    {P_LONG, "1.0", -EINVAL, 0},
    {P_LONG, "0x10", -EINVAL, 0},
    {P_LONG, "abc", -EINVAL, 0},
    {P_LONG, "-", -EINVAL, 0},
    /* Floats. */
    {P_DOUBLE, "0.25", 0, 0.25},
    {P_DOUBLE, "-1.5", 0, -1.5},
    {P_DOUBLE, "1e3", 0, 1000},
    {P_DOUBLE, ".5", 0, 0.5},
    {P_DOUBLE, "1e999", -EINVAL, 0},
    {P_DOUBLE, "nan", -EINVAL, 0},
    {P_DOUBLE, "inf", -EINVAL, 0},
    {P_DOUBLE, "0x1p3", -EINVAL, 0},
    {P_DOUBLE, "", -EINVAL, 0},
    {P_DOUBLE, "1.5x", -EINVAL, 0},
    {P_DOUBLE, " 1", -EINVAL, 0},
    /* Booleans: Go's ParseBool plus YAML 1.1's words. */
    {P_BOOL, "true", 0, 1},
    {P_BOOL, "True", 0, 1},
    {P_BOOL, "TRUE", 0, 1},
    {P_BOOL, "1", 0, 1},
    {P_BOOL, "yes", 0, 1},
    {P_BOOL, "on", 0, 1},
    {P_BOOL, "false", 0, 0},
    {P_BOOL, "OFF", 0, 0},
    {P_BOOL, "no", 0, 0},
    {P_BOOL, "0", 0, 0},
    {P_BOOL, "tRUE", -EINVAL, 0},
    {P_BOOL, "", -EINVAL, 0},
    {P_BOOL, "2", -EINVAL, 0},
    {P_BOOL, "yess", -EINVAL, 0},
};

static void test_parsers(void)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        double got = -12345;
        int rc = -1;

        switch (c->type) {
        case P_DUR:
            rc = frond_parse_duration(c->in, &got);
            break;
        case P_BYTES: {
            long v = -12345;
            rc = frond_parse_bytes(c->in, &v);
            got = (double)v;
            break;
        }
        case P_LONG: {
            long v = -12345;
            rc = frond_parse_long(c->in, &v);
            got = (double)v;
            break;
        }
        case P_DOUBLE:
            rc = frond_parse_double(c->in, &got);
            break;
        case P_BOOL: {
            bool v = false;
            rc = frond_parse_bool(c->in, &v);
            got = v;
            break;
        }
        }
        if (rc != c->rc || (rc == 0 && !(fabs(got - c->want) <= 1e-9 * (fabs(c->want) + 1)))) {
            fprintf(stderr, "parse case %zu \"%s\": rc %d got %.17g, want rc %d %.17g\n", i, c->in,
                    rc, got, c->rc, c->want);
        }
        CHECK_INT(rc, c->rc);
        if (rc == 0 && c->rc == 0) {
            CHECK_DBL(got, c->want);
        }
    }
    /* Exactness where doubles would round. */
    {
        long v = 0;
        CHECK_INT(frond_parse_bytes("9223372036854775807", &v), 0);
        CHECK(v == LONG_MAX);
        CHECK_INT(frond_parse_long("-9223372036854775808", &v), 0);
        CHECK(v == LONG_MIN);
    }
    CHECK(frond_parse_duration(NULL, &(double){0}) == -EINVAL);
    CHECK(frond_parse_bytes(NULL, &(long){0}) == -EINVAL);
}

int main(void)
{
    FILE *fp;

    snprintf(secret_path, sizeof(secret_path), "/tmp/frond-test-secret-%d", (int)getpid());
    snprintf(secret_bad_path, sizeof(secret_bad_path), "/nonexistent/frond-secret");
    fp = fopen(secret_path, "w");
    if (!fp) {
        perror(secret_path);
        return 2;
    }
    fputs("mongodb://u:p@h\n", fp);
    fclose(fp);

    test_flag_table();
    test_set_marks();
    test_help_and_version();
    test_bad_default();
    test_common_flags();
    test_parsers();

    unlink(secret_path);
    return check_done("test_flags");
}
