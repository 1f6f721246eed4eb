/*
 * Command-line flags for every frond binary, in the kingpin style that
 * Prometheus exporters use (`--name=value`, `--name value`, `--[no-]bool`)
 * and the Go flag style that promtail uses (`-name=value`, `-name value`),
 * so an operator can keep the command lines they already have. Values are
 * read by the parsers of parse.c, which the YAML config loaders share, so
 * a duration means the same thing everywhere.
 *
 * Parsing order: every flag first gets its default (parsed here, so a bad
 * default fails loudly in a unit test rather than in production), then the
 * command line is applied, then environment variables fill in whatever the
 * command line did not set. That gives the documented precedence
 * "command line, then env var, then default".
 */
#include "frond/flags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frond/buf.h"
#include "parse_int.h"

/* A secret file is a password or a URI; anything bigger is a mistake. */
#define FLAG_SECRET_MAX (1024 * 1024)

/* ---------------------------------------------------------------------- */
/* Flag table                                                             */

static const char *type_name(enum frond_flag_type t)
{
    switch (t) {
    case FROND_FLAG_STRING:
        return "string";
    case FROND_FLAG_BOOL:
        return "bool";
    case FROND_FLAG_INT:
        return "int";
    case FROND_FLAG_DOUBLE:
        return "float";
    case FROND_FLAG_DURATION:
        return "duration";
    case FROND_FLAG_BYTES:
        return "bytes";
    }
    return "value";
}

/* What a valid value looks like, for error messages. */
static const char *type_expect(enum frond_flag_type t)
{
    switch (t) {
    case FROND_FLAG_STRING:
        return "a string";
    case FROND_FLAG_BOOL:
        return "true or false";
    case FROND_FLAG_INT:
        return "an integer";
    case FROND_FLAG_DOUBLE:
        return "a number";
    case FROND_FLAG_DURATION:
        return "a duration like \"1m30s\"";
    case FROND_FLAG_BYTES:
        return "a size like \"64MiB\"";
    }
    return "a value";
}

static const char *prog_name(const struct frond_flagset *fs)
{
    return fs->prog ? fs->prog : "frond";
}

static void usage_error(const struct frond_flagset *fs, const char *fmt, ...) FROND_PRINTF(2, 3);

/* One line to stderr, kingpin's shape: "prog: error: <what>, try --help". */
static void usage_error(const struct frond_flagset *fs, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: error: %s, try --help\n", prog_name(fs), msg);
}

static void plain_error(const struct frond_flagset *fs, const char *fmt, ...) FROND_PRINTF(2, 3);

/* Same, for errors that --help will not fix (unreadable secret files). */
static void plain_error(const struct frond_flagset *fs, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: error: %s\n", prog_name(fs), msg);
}

/*
 * Store `s` into the flag's value according to its type. `append` joins a
 * repeated string flag's values with ','. Returns 0, -EINVAL / -ERANGE for
 * a bad value, -ENOMEM.
 */
static int flag_store(struct frond_flag *f, const char *s, bool append)
{
    int rc = 0;

    switch (f->type) {
    case FROND_FLAG_STRING: {
        char **dst = f->value;
        char *copy;
        if (append && *dst) {
            size_t a = strlen(*dst), b = strlen(s);
            copy = malloc(a + 1 + b + 1);
            if (!copy) {
                return -ENOMEM;
            }
            memcpy(copy, *dst, a);
            copy[a] = ',';
            memcpy(copy + a + 1, s, b + 1);
        } else {
            copy = strdup(s);
            if (!copy) {
                return -ENOMEM;
            }
        }
        free(*dst);
        *dst = copy;
        return 0;
    }
    case FROND_FLAG_BOOL: {
        bool v;
        rc = frond_parse_bool(s, &v);
        if (rc == 0) {
            *(bool *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_INT: {
        long v;
        rc = frond_parse_long_rc(s, &v);
        if (rc == 0) {
            *(long *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_DOUBLE: {
        double v;
        rc = frond_parse_double_rc(s, &v);
        if (rc == 0) {
            *(double *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_DURATION: {
        double v;
        rc = frond_parse_duration_rc(s, &v);
        if (rc == 0) {
            *(double *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_BYTES: {
        long v;
        rc = frond_parse_bytes_rc(s, &v);
        if (rc == 0) {
            *(long *)f->value = v;
        }
        return rc;
    }
    }
    return -EINVAL;
}

/* Print one bad-value line; `via` is "flag --x" or "env var X (flag --x)". */
static void value_error(const struct frond_flagset *fs, const struct frond_flag *f, int rc,
                        const char *via, const char *value)
{
    if (rc == -ENOMEM) {
        plain_error(fs, "out of memory storing %s", via);
        return;
    }
    usage_error(fs, "invalid value \"%.200s\" for %s: expected %s%s", value, via,
                type_expect(f->type), rc == -ERANGE ? " (out of range)" : "");
}

static struct frond_flag *find_flag(struct frond_flagset *fs, const char *name, size_t len)
{
    for (size_t i = 0; i < fs->nflags; i++) {
        const char *n = fs->flags[i].name;
        if (n && strlen(n) == len && memcmp(n, name, len) == 0) {
            return &fs->flags[i];
        }
    }
    return NULL;
}

/* Is name[0..len) "<flag>-file" for a secret flag? Returns that flag. */
static struct frond_flag *find_secret_twin(struct frond_flagset *fs, const char *name, size_t len)
{
    static const char suffix[] = "-file";
    size_t sl = sizeof(suffix) - 1;
    struct frond_flag *f;

    if (len <= sl || memcmp(name + len - sl, suffix, sl) != 0) {
        return NULL;
    }
    f = find_flag(fs, name, len - sl);
    if (f && (f->opts & FROND_FLAG_SECRET)) {
        return f;
    }
    return NULL;
}

/*
 * Read a secret file into a fresh string with trailing newlines removed
 * (`echo pw > file` and Kubernetes secrets both end up here). -errno on
 * failure, -EFBIG past FLAG_SECRET_MAX.
 */
static int read_secret(const char *path, char **out)
{
    struct frond_buf b;
    int rc;

    frond_buf_init(&b, FLAG_SECRET_MAX);
    rc = frond_buf_append_file(&b, path, false);
    if (rc) {
        rc = rc == -ENOSPC ? -EFBIG : rc;
        goto out;
    }
    while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) {
        b.data[--b.len] = '\0';
    }
    *out = strdup(frond_buf_cstr(&b));
    rc = *out ? 0 : -ENOMEM;
out:
    frond_buf_cleanup(&b);
    return rc;
}

static int apply_secret_file(struct frond_flagset *fs, struct frond_flag *f, const char *path,
                             const char *via)
{
    char *secret = NULL;
    int rc = read_secret(path, &secret);

    if (rc) {
        plain_error(fs, "%s: cannot read secret file \"%s\": %s", via, path, strerror(-rc));
        return -EINVAL;
    }
    rc = flag_store(f, secret, false);
    if (rc) {
        /* Never echo the content of a secret file into a log. */
        if (rc == -ENOMEM) {
            plain_error(fs, "out of memory storing %s", via);
        } else {
            usage_error(fs, "invalid value in secret file \"%s\" for %s: expected %s", path, via,
                        type_expect(f->type));
        }
        rc = -EINVAL;
    }
    free(secret);
    return rc;
}

static void print_version(const struct frond_flagset *fs)
{
    /* The first line of Prometheus' version.Print, which people grep for. */
    printf("%s, version %s (revision: %s)\n", prog_name(fs), FROND_VERSION, FROND_REVISION);
}

/* Left column of the usage line for a flag, like kingpin's "--name=DEFAULT". */
static void usage_left(const struct frond_flag *f, char *out, size_t outsz)
{
    if (f->type == FROND_FLAG_BOOL) {
        snprintf(out, outsz, "      --[no-]%s", f->name);
    } else if (f->def) {
        snprintf(out, outsz, "      --%s=\"%s\"", f->name, f->def);
    } else {
        snprintf(out, outsz, "      --%s=<%s>", f->name, type_name(f->type));
    }
}

#define USAGE_COL 38

static void usage_line(const char *left, const char *right)
{
    size_t l = strlen(left);

    if (l + 2 > USAGE_COL) {
        printf("%s\n%*s%s\n", left, USAGE_COL, "", right);
    } else {
        printf("%s%*s%s\n", left, (int)(USAGE_COL - l), "", right);
    }
}

void frond_flags_usage(const struct frond_flagset *fs)
{
    char left[512], right[1024];

    printf("usage: %s [<flags>]\n\n", prog_name(fs));
    if (fs->summary) {
        printf("%s\n\n", fs->summary);
    }
    printf("Flags:\n");
    usage_line("  -h, --help", "Show context-sensitive help.");
    for (size_t i = 0; i < fs->nflags; i++) {
        const struct frond_flag *f = &fs->flags[i];
        int n;

        if (!f->name) {
            continue;
        }
        usage_left(f, left, sizeof(left));
        n = snprintf(right, sizeof(right), "%s (%s", f->help ? f->help : "", type_name(f->type));
        if (n > 0 && (size_t)n < sizeof(right) && f->type == FROND_FLAG_BOOL) {
            bool on = false;
            if (f->def && frond_parse_bool(f->def, &on) == 0 && on) {
                n += snprintf(right + n, sizeof(right) - (size_t)n, ", default true");
            }
        }
        if (n > 0 && (size_t)n < sizeof(right) && (f->opts & FROND_FLAG_REPEAT)) {
            n += snprintf(right + n, sizeof(right) - (size_t)n, ", repeatable");
        }
        if (n > 0 && (size_t)n < sizeof(right) && (f->opts & FROND_FLAG_SECRET)) {
            n += snprintf(right + n, sizeof(right) - (size_t)n, "; or --%s-file=PATH", f->name);
        }
        if (n > 0 && (size_t)n < sizeof(right)) {
            n += snprintf(right + n, sizeof(right) - (size_t)n, ")");
        }
        if (n > 0 && (size_t)n < sizeof(right) && f->env) {
            snprintf(right + n, sizeof(right) - (size_t)n, " ($%s)", f->env);
        }
        usage_line(left, right);
    }
    usage_line("      --version", "Show application version.");
}

/*
 * Give every flag its default. Done first and for every flag, so that
 * frond_flags_free() is safe whatever happens later.
 */
static int apply_defaults(struct frond_flagset *fs)
{
    for (size_t i = 0; i < fs->nflags; i++) {
        struct frond_flag *f = &fs->flags[i];
        f->set = false;
        if (f->type == FROND_FLAG_STRING) {
            *(char **)f->value = NULL;
        }
    }
    for (size_t i = 0; i < fs->nflags; i++) {
        struct frond_flag *f = &fs->flags[i];
        int rc;

        if (!f->def) {
            switch (f->type) {
            case FROND_FLAG_STRING:
                break;
            case FROND_FLAG_BOOL:
                *(bool *)f->value = false;
                break;
            case FROND_FLAG_INT:
            case FROND_FLAG_BYTES:
                *(long *)f->value = 0;
                break;
            case FROND_FLAG_DOUBLE:
            case FROND_FLAG_DURATION:
                *(double *)f->value = 0;
                break;
            }
            continue;
        }
        rc = flag_store(f, f->def, false);
        if (rc) {
            /* A programming error: the flag table itself is wrong. */
            plain_error(fs, "bad default \"%s\" for flag --%s: expected %s", f->def, f->name,
                        type_expect(f->type));
            return -EINVAL;
        }
    }
    return 0;
}

/*
 * Environment fallback for flags the command line left alone. An empty
 * variable counts as unset, as in kingpin, because Kubernetes manifests
 * often template in "" for "not configured". A secret flag also looks at
 * <ENV>_FILE, the convention of many container images.
 */
static int apply_env(struct frond_flagset *fs, const bool *from_cli)
{
    for (size_t i = 0; i < fs->nflags; i++) {
        struct frond_flag *f = &fs->flags[i];
        const char *v;
        char via[512];
        int rc;

        if (from_cli[i] || !f->env) {
            continue;
        }
        v = getenv(f->env);
        if (v && *v) {
            snprintf(via, sizeof(via), "env var %s (flag --%s)", f->env, f->name);
            rc = flag_store(f, v, false);
            if (rc) {
                value_error(fs, f, rc, via, v);
                return -EINVAL;
            }
            f->set = true;
            continue;
        }
        if (f->opts & FROND_FLAG_SECRET) {
            char fname[256];
            snprintf(fname, sizeof(fname), "%s_FILE", f->env);
            v = getenv(fname);
            if (v && *v) {
                snprintf(via, sizeof(via), "env var %s (flag --%s)", fname, f->name);
                rc = apply_secret_file(fs, f, v, via);
                if (rc) {
                    return rc;
                }
                f->set = true;
            }
        }
    }
    return 0;
}

int frond_flags_parse(struct frond_flagset *fs, int argc, char **argv)
{
    bool *from_cli = NULL;
    int rc;

    rc = apply_defaults(fs);
    if (rc) {
        goto out;
    }
    from_cli = calloc(fs->nflags ? fs->nflags : 1, sizeof(*from_cli));
    if (!from_cli) {
        rc = -ENOMEM;
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name, *eq, *value = NULL;
        size_t nlen, idx;
        bool dash2, negate = false, is_file = false;
        struct frond_flag *f;
        char via[256];

        if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc) {
                usage_error(fs, "unexpected argument '%s'", argv[i + 1]);
                rc = -EINVAL;
                goto out;
            }
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            usage_error(fs, "unexpected argument '%s'", arg);
            rc = -EINVAL;
            goto out;
        }
        dash2 = arg[1] == '-';
        name = arg + (dash2 ? 2 : 1);
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (eq) {
            value = eq + 1;
        }
        if ((nlen == 4 && memcmp(name, "help", 4) == 0) || (!dash2 && nlen == 1 && *name == 'h')) {
            frond_flags_usage(fs);
            rc = 1;
            goto out;
        }
        if (nlen == 7 && memcmp(name, "version", 7) == 0) {
            print_version(fs);
            rc = 1;
            goto out;
        }
        f = find_flag(fs, name, nlen);
        if (!f && nlen > 3 && memcmp(name, "no-", 3) == 0) {
            f = find_flag(fs, name + 3, nlen - 3);
            if (f && f->type == FROND_FLAG_BOOL) {
                negate = true;
            } else {
                f = NULL;
            }
        }
        if (!f) {
            f = find_secret_twin(fs, name, nlen);
            is_file = f != NULL;
        }
        if (!f || nlen == 0) {
            if (dash2) {
                usage_error(fs, "unknown long flag '--%.*s'", (int)nlen, name);
            } else if (nlen == 1) {
                usage_error(fs, "unknown short flag '-%.*s'", (int)nlen, name);
            } else {
                usage_error(fs, "unknown flag '-%.*s'", (int)nlen, name);
            }
            rc = -EINVAL;
            goto out;
        }
        idx = (size_t)(f - fs->flags);
        snprintf(via, sizeof(via), "flag --%.*s", (int)nlen, name);
        if (f->type == FROND_FLAG_BOOL && !is_file) {
            /* Bool flags never take the next argument: "--dry-run config.yml" is not ambiguous. */
            bool v = !negate;
            if (value) {
                if (frond_parse_bool(value, &v) != 0) {
                    value_error(fs, f, -EINVAL, via, value);
                    rc = -EINVAL;
                    goto out;
                }
                if (negate) {
                    v = !v;
                }
            }
            *(bool *)f->value = v;
        } else {
            if (negate) {
                usage_error(fs, "unknown long flag '--%.*s'", (int)nlen, name);
                rc = -EINVAL;
                goto out;
            }
            if (!value) {
                if (i + 1 >= argc) {
                    usage_error(fs, "expected argument for flag '%s%.*s'", dash2 ? "--" : "-",
                                (int)nlen, name);
                    rc = -EINVAL;
                    goto out;
                }
                value = argv[++i];
            }
            if (is_file) {
                rc = apply_secret_file(fs, f, value, via);
                if (rc) {
                    goto out;
                }
            } else {
                rc = flag_store(f, value,
                                from_cli[idx] && (f->opts & FROND_FLAG_REPEAT) &&
                                    f->type == FROND_FLAG_STRING);
                if (rc) {
                    value_error(fs, f, rc, via, value);
                    rc = -EINVAL;
                    goto out;
                }
            }
        }
        from_cli[idx] = true;
        f->set = true;
    }
    rc = apply_env(fs, from_cli);
out:
    free(from_cli);
    if (rc < 0 && rc != -ENOMEM) {
        rc = -EINVAL;
    }
    return rc;
}

void frond_flags_free(struct frond_flagset *fs)
{
    if (!fs) {
        return;
    }
    for (size_t i = 0; i < fs->nflags; i++) {
        struct frond_flag *f = &fs->flags[i];
        if (f->type == FROND_FLAG_STRING && f->value) {
            free(*(char **)f->value);
            *(char **)f->value = NULL;
        }
    }
}
