/*
 * libFuzzer target for frondtail's RE2-syntax engine on its own
 * (shipper/regex.c), without the YAML and relabel layers fuzz_relabel
 * goes through. The input is
 *
 *   <pattern>\n<subject>\n<subject>...
 *
 * The pattern is compiled; a failure must be -EINVAL with a reason. Each
 * subject is matched twice (a compiled regex is immutable, so the answers
 * must be equal), the capture spans must nest inside the fully anchored
 * match, and the pattern is expanded as a Go template against the match,
 * with the measured length equal to the written one. The UTF-8 helpers
 * the relabel case actions share must round-trip every valid rune.
 * Nothing may crash, leak or break an invariant (abort()).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_re_checks.h"
#include "regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (16 * 1024)

static void check_utf8(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t w;
        uint32_t r = relabel_re_utf8_decode((const unsigned char *)s + i, len - i, &w);
        if (w == 0 || w > 4 || w > len - i) {
            abort();
        }
        char out[4];
        size_t n = relabel_re_utf8_encode(r, out);
        if (n == 0 || n > 4 || (r != 0xFFFD && (n != w || memcmp(out, s + i, n) != 0))) {
            abort();
        }
        uint32_t up = relabel_re_case_map(r, true), lo = relabel_re_case_map(r, false);
        if (up > 0x10FFFF || lo > 0x10FFFF) {
            abort();
        }
        i += w;
    }
}

static void check_subject(const struct relabel_re *re, const char *tmpl, const char *v, int *caps,
                          int *again, size_t ncap)
{
    size_t len = strlen(v);
    int m = relabel_re_match(re, v, len, caps, ncap);
    int m2 = relabel_re_match(re, v, len, again, ncap);
    if (m < 0 || m > 1 || m != m2 || (m == 1 && memcmp(caps, again, ncap * sizeof(int)) != 0)) {
        abort();
    }
    if (m != 1) {
        return;
    }
    fuzz_check_spans(caps, ncap / 2, len);
    size_t n = relabel_re_expand_into(re, tmpl, v, caps, NULL);
    if (n > (1 << 20)) {
        return;
    }
    char *dst = malloc(n + 1);
    if (!dst) {
        abort();
    }
    if (relabel_re_expand_into(re, tmpl, v, caps, dst) != n || strlen(dst) > n) {
        abort();
    }
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_input_string(data, size, MAX_INPUT);
    if (!in) {
        return 0;
    }
    char *subjects = strchr(in, '\n');
    if (subjects) {
        *subjects++ = '\0';
    }
    check_utf8(in, strlen(in));
    struct relabel_re *re = NULL;
    char err[256];
    err[0] = '\0';
    int rc = relabel_re_compile(in, &re, err, sizeof(err));
    if (rc) {
        if ((rc != -EINVAL && rc != -ENOMEM) || re || (rc == -EINVAL && !err[0])) {
            abort();
        }
        free(in);
        return 0;
    }
    size_t ng = relabel_re_groups(re);
    if (ng == 0) {
        abort();
    }
    int *caps = calloc(2 * ng, sizeof(int));
    int *again = calloc(2 * ng, sizeof(int));
    if (!caps || !again) {
        abort();
    }
    for (char *line = subjects; line;) {
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
        }
        check_utf8(line, strlen(line));
        check_subject(re, in, line, caps, again, 2 * ng);
        line = nl ? nl + 1 : NULL;
    }
    free(caps);
    free(again);
    relabel_re_free(re);
    free(in);
    return 0;
}
