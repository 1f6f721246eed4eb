/*
 * Command-line flags for every frond binary, in the kingpin style that
 * Prometheus exporters use (`--name=value`, `--name value`, `--[no-]bool`)
 * and the Go flag style that promtail uses (`-name=value`, `-name value`),
 * so an operator can keep the command lines they already have. The value
 * parsers (durations, byte sizes, numbers, booleans) are shared with the
 * YAML config loaders, so a duration means the same thing everywhere.
 *
 * Parsing order: every flag first gets its default (parsed here, so a bad
 * default fails loudly in a unit test rather than in production), then the
 * command line is applied, then environment variables fill in whatever the
 * command line did not set. That gives the documented precedence
 * "command line, then env var, then default".
 */
#include "frond/flags.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A secret file is a password or a URI; anything bigger is a mistake. */
#define FLAG_SECRET_MAX (1024 * 1024)

/*
 * Largest duration we accept, in seconds: Prometheus' model.Duration is an
 * int64 count of milliseconds, so this is the same bound it has.
 */
#define DURATION_MAX_SECONDS 9.2e15

/* ---------------------------------------------------------------------- */
/* Value parsers                                                          */

/*
 * Scan an unsigned decimal number "12", "1.5", ".5" or "5." at s. Returns
 * the number of characters consumed (0 when there is no number) and the
 * value in *out. Hand-rolled rather than strtod() because strtod also takes
 * "inf", "nan", hex floats, exponents and leading blanks, none of which a
 * duration or a size may contain.
 */
static size_t scan_decimal(const char *s, double *out, bool *had_fraction)
{
    size_t i = 0, digits = 0;
    char tmp[64];

    while (s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    *had_fraction = false;
    if (s[i] == '.') {
        i++;
        *had_fraction = true;
        while (s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0 || i >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, s, i);
    tmp[i] = '\0';
    *out = strtod(tmp, NULL);
    return i;
}

struct unit {
    const char *name;
    double factor;
};

/* Longest names first, so "ms" wins over "m" and "µs" is matched whole. */
static const struct unit duration_units[] = {
    {"ms", 1e-3},        {"us", 1e-6}, {"\xc2\xb5s", 1e-6},
    {"\xce\xbcs", 1e-6}, {"ns", 1e-9}, {"y", 365.0 * 86400},
    {"w", 7.0 * 86400},  {"d", 86400}, {"h", 3600},
    {"m", 60},           {"s", 1},
};

static int parse_duration(const char *s, double *seconds)
{
    double total = 0;
    size_t i = 0;

    if (!s || !*s) {
        return -EINVAL;
    }
    /* A plain number is seconds, as for promtail's and our own flags. */
    {
        double v;
        bool frac;
        size_t n = scan_decimal(s, &v, &frac);
        if (n > 0 && s[n] == '\0') {
            if (!(v <= DURATION_MAX_SECONDS)) {
                return -ERANGE;
            }
            *seconds = v;
            return 0;
        }
    }
    while (s[i]) {
        double v;
        bool frac;
        size_t n = scan_decimal(s + i, &v, &frac);
        const struct unit *u = NULL;

        if (n == 0) {
            return -EINVAL;
        }
        i += n;
        for (size_t k = 0; k < FROND_ARRAY_SIZE(duration_units); k++) {
            size_t len = strlen(duration_units[k].name);
            if (strncmp(s + i, duration_units[k].name, len) == 0) {
                u = &duration_units[k];
                i += len;
                break;
            }
        }
        if (!u) {
            return -EINVAL;
        }
        total += v * u->factor;
        if (!(total <= DURATION_MAX_SECONDS)) {
            return -ERANGE;
        }
    }
    *seconds = total;
    return 0;
}

int frond_parse_duration(const char *s, double *seconds)
{
    return parse_duration(s, seconds) ? -EINVAL : 0;
}

/*
 * Size units as github.com/dustin/go-humanize's ParseBytes knows them,
 * which is what promtail's flagext.ByteSize uses: SI units are powers of
 * 1000, IEC units ("Ki", "KiB") powers of 1024, case does not matter.
 */
static const struct {
    const char *name;
    unsigned shift10; /* power of 1000 */
    unsigned shift2;  /* power of 1024 */
} byte_units[] = {
    {"", 0, 0},   {"b", 0, 0},   {"k", 1, 0},  {"kb", 1, 0},  {"ki", 0, 1}, {"kib", 0, 1},
    {"m", 2, 0},  {"mb", 2, 0},  {"mi", 0, 2}, {"mib", 0, 2}, {"g", 3, 0},  {"gb", 3, 0},
    {"gi", 0, 3}, {"gib", 0, 3}, {"t", 4, 0},  {"tb", 4, 0},  {"ti", 0, 4}, {"tib", 0, 4},
    {"p", 5, 0},  {"pb", 5, 0},  {"pi", 0, 5}, {"pib", 0, 5}, {"e", 6, 0},  {"eb", 6, 0},
    {"ei", 0, 6}, {"eib", 0, 6},
};

static int parse_bytes(const char *s, long *bytes)
{
    double v;
    bool frac;
    size_t n, i;
    char unit[8];
    size_t ulen = 0;
    unsigned long long mult = 1, whole = 0;
    int found = -1;

    if (!s) {
        return -EINVAL;
    }
    n = scan_decimal(s, &v, &frac);
    if (n == 0) {
        return -EINVAL;
    }
    i = n;
    /* humanize allows one run of blanks between number and unit: "1 MiB". */
    while (s[i] == ' ') {
        i++;
    }
    while (s[i] && ulen < sizeof(unit) - 1) {
        char c = s[i++];
        unit[ulen++] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    unit[ulen] = '\0';
    if (s[i] != '\0' || (ulen == 0 && i != n)) {
        return -EINVAL;
    }
    for (size_t k = 0; k < FROND_ARRAY_SIZE(byte_units); k++) {
        if (strcmp(unit, byte_units[k].name) == 0) {
            found = (int)k;
            break;
        }
    }
    if (found < 0) {
        return -EINVAL;
    }
    for (unsigned k = 0; k < byte_units[found].shift10; k++) {
        mult *= 1000;
    }
    for (unsigned k = 0; k < byte_units[found].shift2; k++) {
        mult *= 1024;
    }
    if (!frac) {
        /* Whole numbers stay exact: no double rounding on "9223372036854775807". */
        for (size_t k = 0; k < n; k++) {
            if (__builtin_mul_overflow(whole, 10ULL, &whole) ||
                __builtin_add_overflow(whole, (unsigned long long)(s[k] - '0'), &whole)) {
                return -ERANGE;
            }
        }
        if (__builtin_mul_overflow(whole, mult, &whole) || whole > (unsigned long long)LONG_MAX) {
            return -ERANGE;
        }
        *bytes = (long)whole;
        return 0;
    }
    v *= (double)mult;
    /* 0x1p63 is LONG_MAX + 1 exactly; anything at or past it overflows. */
    if (!(v < 0x1p63)) {
        return -ERANGE;
    }
    *bytes = (long)v;
    return 0;
}

int frond_parse_bytes(const char *s, long *bytes)
{
    return parse_bytes(s, bytes) ? -EINVAL : 0;
}

static int parse_long(const char *s, long *out)
{
    char *end = NULL;
    long v;

    /* strtol skips leading blanks and accepts "" as 0; we accept neither. */
    if (!s || !*s || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+')) {
        return -EINVAL;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0') {
        return -EINVAL;
    }
    if (errno == ERANGE) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

int frond_parse_long(const char *s, long *out)
{
    return parse_long(s, out) ? -EINVAL : 0;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (!s || !*s || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+' || s[0] == '.')) {
        return -EINVAL;
    }
    /* Hex floats are legal C but nobody writes them in a config file by intent. */
    if (strpbrk(s, "xX")) {
        return -EINVAL;
    }
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0') {
        return -EINVAL;
    }
    /* "inf"/"nan" spellings are rejected above by the first-character check. */
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) {
        return -ERANGE;
    }
    if (!isfinite(v)) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

int frond_parse_double(const char *s, double *out)
{
    return parse_double(s, out) ? -EINVAL : 0;
}

/*
 * The union of Go's strconv.ParseBool (what kingpin and the flag package
 * accept) and YAML 1.1's booleans (what yaml.v2 accepts in promtail's
 * config), in the case variants both of them allow.
 */
static const char *const bool_true[] = {"1",   "t",   "T",   "true", "True", "TRUE", "y", "Y",
                                        "yes", "Yes", "YES", "on",   "On",   "ON",   NULL};
static const char *const bool_false[] = {"0",  "f",  "F",  "false", "False", "FALSE", "n", "N",
                                         "no", "No", "NO", "off",   "Off",   "OFF",   NULL};

int frond_parse_bool(const char *s, bool *out)
{
    if (!s) {
        return -EINVAL;
    }
    for (size_t i = 0; bool_true[i]; i++) {
        if (strcmp(s, bool_true[i]) == 0) {
            *out = true;
            return 0;
        }
    }
    for (size_t i = 0; bool_false[i]; i++) {
        if (strcmp(s, bool_false[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

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
        rc = parse_long(s, &v);
        if (rc == 0) {
            *(long *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_DOUBLE: {
        double v;
        rc = parse_double(s, &v);
        if (rc == 0) {
            *(double *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_DURATION: {
        double v;
        rc = parse_duration(s, &v);
        if (rc == 0) {
            *(double *)f->value = v;
        }
        return rc;
    }
    case FROND_FLAG_BYTES: {
        long v;
        rc = parse_bytes(s, &v);
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
    FILE *fp = NULL;
    char *data = NULL;
    size_t len = 0, cap = 256;
    int rc = 0;

    fp = fopen(path, "rb");
    if (!fp) {
        rc = -errno;
        goto out;
    }
    data = malloc(cap);
    if (!data) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        size_t n;
        if (len + 1 >= cap) {
            char *bigger;
            if (cap >= FLAG_SECRET_MAX) {
                rc = -EFBIG;
                goto out;
            }
            bigger = realloc(data, cap * 2);
            if (!bigger) {
                rc = -ENOMEM;
                goto out;
            }
            data = bigger;
            cap *= 2;
        }
        n = fread(data + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0) {
            if (ferror(fp)) {
                rc = errno ? -errno : -EIO;
                goto out;
            }
            break;
        }
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
        len--;
    }
    data[len] = '\0';
    *out = data;
    data = NULL;
out:
    free(data);
    if (fp) {
        fclose(fp);
    }
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
