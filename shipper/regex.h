/*
 * The RE2-syntax regex engine of frondtail's relabel_configs. Patterns are
 * parsed like Go's regexp/syntax and matched by a small engine of our own
 * with RE2's leftmost-first submatch rules (a Pike VM: linear in the
 * input, no backtracking), because POSIX regcomp picks different groups
 * for the lazy and alternation patterns promtail's Helm chart uses.
 * Unicode classes (\pL) and unbalanced parentheses are rejected; see
 * shipper/README.md. Hostile patterns are bounded: pattern length,
 * nesting, repeat counts, program size and per-match work all have hard
 * limits, past which compiling fails (-EINVAL) or a value does not match.
 *
 * Ownership: relabel_re_compile() hands the caller a regex it frees with
 * relabel_re_free(). Failure behaviour: every fallible call returns a
 * negative errno and leaves its outputs untouched or freed.
 * Thread-safety: a compiled regex is immutable and may be matched and
 * expanded from several threads at once; each match allocates its own
 * scratch. The case tables are built once, under pthread_once.
 */
#ifndef FROND_SHIPPER_REGEX_H
#define FROND_SHIPPER_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/buf.h"
#include "frond/common.h"

/* A compiled RE2-syntax regex (opaque). */
struct relabel_re;

/*
 * Compile `pattern` anchored at both ends, as relabel_compile does: 0,
 * -EINVAL with the reason in err, or -ENOMEM. Match all of `s` and write
 * up to `ncaps` group spans (2 per group, group 0 first, -1 when unset)
 * into caps. relabel_re_match returns 1 on a match, 0 otherwise, -ENOMEM.
 */
FROND_MUST_CHECK int relabel_re_compile(const char *pattern, struct relabel_re **out, char *err,
                                        size_t errlen);
FROND_MUST_CHECK int relabel_re_match(const struct relabel_re *re, const char *s, size_t len,
                                      int *caps, size_t ncaps);
/* Number of groups, group 0 (the whole match) included. */
size_t relabel_re_groups(const struct relabel_re *re);
void relabel_re_free(struct relabel_re *re);

/*
 * Go's Regexp.Expand of `tmpl` against a match of `s` (caps from
 * relabel_re_match): $1, ${1}, $name, ${name}, $$; unknown or unset groups
 * expand to "". Appends to out. -ENOSPC/-ENOMEM from the buffer.
 */
FROND_MUST_CHECK int relabel_expand(const struct relabel_re *re, const char *tmpl, const char *s,
                                    const int *caps, struct frond_buf *out);
/*
 * The same expansion into dst, which must hold the returned length plus a
 * NUL; dst NULL only measures. For callers with their own scratch.
 */
size_t relabel_re_expand_into(const struct relabel_re *re, const char *tmpl, const char *s,
                              const int *caps, char *dst);

/*
 * UTF-8 as Go reads it, shared with the lowercase/uppercase actions: an
 * invalid or truncated sequence decodes to U+FFFD with width 1; encoding
 * writes at most 4 bytes. relabel_re_case_map is the C.UTF-8 locale's
 * simple lower/upper mapping (ASCII by hand; a rune is returned unchanged
 * when the locale is missing), the one the engine's case folding uses.
 */
uint32_t relabel_re_utf8_decode(const unsigned char *p, size_t n, size_t *w);
size_t relabel_re_utf8_encode(uint32_t r, char *out);
uint32_t relabel_re_case_map(uint32_t r, bool upper);

#endif
