/*
 * Value parsers (see frond/parse.h): durations, byte sizes, numbers and
 * booleans as command-line flags (flags.c) and YAML config files
 * (yamlcfg_read.c) both read them, so a duration means the same thing
 * everywhere. Each accepts exactly what the Go tool it stands in for
 * accepts (Prometheus' model.Duration, go-humanize's ParseBytes,
 * strconv.ParseBool plus YAML 1.1), no more: no blanks, no hex, no
 * infinities.
 */
#include "frond/parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

/*
 * Largest duration we accept, in seconds: Prometheus' model.Duration is an
 * int64 count of milliseconds, so this is the same bound it has.
 */
#define DURATION_MAX_SECONDS 9.2e15

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

int frond_parse_duration_rc(const char *s, double *seconds)
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
    return frond_parse_duration_rc(s, seconds) ? -EINVAL : 0;
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

int frond_parse_bytes_rc(const char *s, long *bytes)
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
    return frond_parse_bytes_rc(s, bytes) ? -EINVAL : 0;
}

int frond_parse_long_rc(const char *s, long *out)
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
    return frond_parse_long_rc(s, out) ? -EINVAL : 0;
}

int frond_parse_double_rc(const char *s, double *out)
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
    return frond_parse_double_rc(s, out) ? -EINVAL : 0;
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
