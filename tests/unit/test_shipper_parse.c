/*
 * Unit tests for frondtail's line parsers (shipper/parse.c): CRI full and
 * partial lines with their bounds, Docker json-file with every JSON escape,
 * raw lines, timestamps with offsets, max_line_size, and malformed input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parse.h"

#define READ_TS 42

static struct parse_limits lim(size_t max, bool trunc, long partials)
{
    struct parse_limits l = {max, trunc, partials};
    return l;
}

/* Parse one line; returns the entry's line as a NUL-terminated static copy, or NULL if absorbed. */
static const char *one(struct parse_state *st, const char *line, uint64_t off,
                       struct parse_entry *e)
{
    static char buf[1 << 16];
    int rc = parse_line(st, line, strlen(line), off, READ_TS, e);
    if (rc <= 0) {
        return NULL;
    }
    size_t n = e->len < sizeof(buf) - 1 ? e->len : sizeof(buf) - 1;
    memcpy(buf, e->line, n);
    buf[n] = '\0';
    return buf;
}

static void test_rfc3339(void)
{
    int64_t ns = 0;
    CHECK_INT(parse_rfc3339("1970-01-01T00:00:00Z", 20, &ns), 0);
    CHECK_INT(ns, 0);
    const char *s = "2019-01-01T01:00:00.000000001Z";
    CHECK_INT(parse_rfc3339(s, strlen(s), &ns), 0);
    CHECK_INT(ns, 1546304400000000001LL);
    s = "2019-05-07T18:57:50.904275087+00:00";
    CHECK_INT(parse_rfc3339(s, strlen(s), &ns), 0);
    CHECK_INT(ns, 1557255470904275087LL);
    s = "2024-02-29T12:00:00.5+02:30";
    CHECK_INT(parse_rfc3339(s, strlen(s), &ns), 0);
    CHECK_INT(ns, 1709199000500000000LL);
    s = "2024-02-29T12:00:00-01:00";
    CHECK_INT(parse_rfc3339(s, strlen(s), &ns), 0);
    CHECK_INT(ns, (1709208000LL + 3600) * 1000000000LL);
    /* More than nanosecond precision is cut, not rounded. */
    s = "2020-01-01T00:00:00.1234567891Z";
    CHECK_INT(parse_rfc3339(s, strlen(s), &ns), 0);
    CHECK_INT(ns % 1000000000LL, 123456789);
    const char *bad[] = {"2020-01-01 00:00:00Z",     "2020-13-01T00:00:00Z",
                         "2020-01-01T00:00:00",      "2020-01-01T00:00:00.Z",
                         "2020-01-01T00:00:00+0100", "x020-01-01T00:00:00Z",
                         "2020-01-01T00:00:00Zjunk", ""};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        CHECK(parse_rfc3339(bad[i], strlen(bad[i]), &ns) == -EINVAL);
    }
}

static void test_cri_full(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 0);
    parse_state_init(&st, PARSE_CRI, &l);
    struct parse_entry e;
    CHECK_STR(one(&st, "2019-01-01T01:00:00.000000001Z stdout F some full line", 0, &e),
              "some full line");
    CHECK_INT(e.stream, PARSE_STREAM_STDOUT);
    CHECK_INT(e.ts_ns, 1546304400000000001LL);
    CHECK(!e.malformed);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stderr F  two  spaces ", 0, &e), " two  spaces ");
    CHECK_INT(e.stream, PARSE_STREAM_STDERR);
    /* Empty messages, with and without the separating space. */
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F ", 0, &e), "");
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F", 0, &e), "");
    /* Future flags after the tag. */
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F:x msg", 0, &e), "msg");
    /* Unicode and invalid UTF-8 pass through untouched. */
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F h\xc3\xa9llo \xe2\x9c\x93 \xff\xfe", 0, &e),
              "h\xc3\xa9llo \xe2\x9c\x93 \xff\xfe");
    parse_state_cleanup(&st);
}

static void test_cri_malformed(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 0);
    parse_state_init(&st, PARSE_CRI, &l);
    struct parse_entry e;
    const char *bad[] = {"no timestamp here",
                         "2019-01-01T01:00:00Z stdin F x",
                         "2019-01-01T01:00:00Z stdout X x",
                         "2019-01-01T01:00:00Z stdout",
                         "2019-01-01T01:00:00Z",
                         "",
                         "2019-01-01T01:00:00Z stdout FF x"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        CHECK_STR(one(&st, bad[i], 0, &e), bad[i]);
        CHECK(e.malformed);
        CHECK_INT(e.ts_ns, READ_TS);
        CHECK_INT(e.stream, PARSE_STREAM_NONE);
    }
    parse_state_cleanup(&st);
}

/* parse_flush: pending partials of each stream come out once, then nothing is pending. */
static void test_cri_flush(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 0);
    parse_state_init(&st, PARSE_CRI, &l);
    struct parse_entry e;
    const char *a = "2019-01-01T01:00:00Z stdout P out-";
    const char *b = "2019-01-01T01:00:01Z stderr P err";
    const char *c = "2019-01-01T01:00:02Z stdout P put";
    CHECK_INT(parse_line(&st, a, strlen(a), 10, READ_TS, &e), 0);
    CHECK_INT(parse_line(&st, b, strlen(b), 50, READ_TS, &e), 0);
    CHECK_INT(parse_line(&st, c, strlen(c), 90, READ_TS, &e), 0);
    CHECK_INT(parse_pending_offset(&st), 10);
    uint64_t before = st.flushed_partials;
    char got[2][32] = {{0}};
    int n = 0;
    while (n < 3 && parse_flush(&st, &e) == 1) {
        if (n < 2) {
            snprintf(got[n], sizeof(got[n]), "%d:%.*s", (int)e.stream, (int)e.len, e.line);
        }
        n++;
    }
    CHECK_INT(n, 2);
    CHECK_STR(got[0], "1:out-put");
    CHECK_STR(got[1], "2:err");
    CHECK_INT(st.flushed_partials - before, 2);
    CHECK(parse_pending_offset(&st) == UINT64_MAX);
    CHECK_INT(parse_flush(&st, &e), 0);
    parse_state_cleanup(&st);
}

static void test_cri_partial(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 0);
    parse_state_init(&st, PARSE_CRI, &l);
    struct parse_entry e;
    CHECK_INT(parse_pending_offset(&st), UINT64_MAX);
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P part one ", 100, &e) == NULL);
    CHECK_INT(parse_pending_offset(&st), 100);
    CHECK(one(&st, "2019-01-01T01:00:01Z stdout P part two ", 150, &e) == NULL);
    /* Another stream in between is not mixed in. */
    CHECK_STR(one(&st, "2019-01-01T01:00:02Z stderr F err", 200, &e), "err");
    CHECK_INT(e.stream, PARSE_STREAM_STDERR);
    CHECK_INT(parse_pending_offset(&st), 100);
    CHECK_STR(one(&st, "2019-01-01T01:00:03Z stdout F end", 250, &e), "part one part two end");
    CHECK_INT(e.stream, PARSE_STREAM_STDOUT);
    /* The joined entry carries the full line's timestamp, like promtail. */
    CHECK_INT(e.ts_ns, 1546304403000000000LL);
    CHECK_INT(parse_pending_offset(&st), UINT64_MAX);
    /* The join buffer is reused after an emit. */
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P a", 300, &e) == NULL);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F b", 310, &e), "ab");
    /* Interleaved partials of both streams. */
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P o1", 400, &e) == NULL);
    CHECK(one(&st, "2019-01-01T01:00:00Z stderr P e1", 410, &e) == NULL);
    CHECK_INT(parse_pending_offset(&st), 400);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stderr F e2", 420, &e), "e1e2");
    CHECK_INT(parse_pending_offset(&st), 400);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F o2", 430, &e), "o1o2");
    /* reset forgets a pending partial (truncated file). */
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P lost", 500, &e) == NULL);
    parse_state_reset(&st);
    CHECK_INT(parse_pending_offset(&st), UINT64_MAX);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F fresh", 0, &e), "fresh");
    parse_state_cleanup(&st);
}

static void test_cri_bounds(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 3);
    parse_state_init(&st, PARSE_CRI, &l);
    struct parse_entry e;
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P 1", 0, &e) == NULL);
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P 2", 0, &e) == NULL);
    /* The third partial reaches max_partial_lines: shipped joined, not dropped. */
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout P 3", 0, &e), "123");
    CHECK_INT(st.flushed_partials, 1);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F 4", 0, &e), "4");
    parse_state_cleanup(&st);

    /* The byte bound: max_line_size also bounds a join. */
    l = lim(10, true, 100);
    parse_state_init(&st, PARSE_CRI, &l);
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P 12345", 0, &e) == NULL);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout P 6789012", 0, &e), "1234567890");
    CHECK(e.truncated);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F end", 0, &e), "end");
    CHECK(!e.truncated);
    parse_state_cleanup(&st);
}

static void test_max_line_size(void)
{
    struct parse_state st;
    struct parse_limits l = lim(5, false, 0);
    parse_state_init(&st, PARSE_RAW, &l);
    struct parse_entry e;
    CHECK_STR(one(&st, "12345", 0, &e), "12345");
    CHECK(!e.drop && !e.truncated);
    one(&st, "123456", 0, &e);
    CHECK(e.drop);
    parse_state_cleanup(&st);
    l = lim(5, true, 0);
    parse_state_init(&st, PARSE_RAW, &l);
    CHECK_STR(one(&st, "123456789", 0, &e), "12345");
    CHECK(e.truncated && !e.drop);
    CHECK_INT(e.ts_ns, READ_TS);
    parse_state_cleanup(&st);
}

/*
 * A huge joined line must not pin its memory: once the entry is retired the
 * join buffer is back under PARSE_KEEP_CAP (sixty files that once held a
 * 1 MiB line kept 130 MB resident before). The join also never grows past
 * its byte bound, even from one partial as long as the read buffer.
 */
static void test_buffers_shrink(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 100);
    parse_state_init(&st, PARSE_CRI, &l);
    size_t big = 3 * 1024 * 1024;
    const char *pfx = "2019-01-01T01:00:00Z stdout P ";
    size_t plen = strlen(pfx);
    char *line = malloc(plen + big + 1);
    CHECK(line != NULL);
    memcpy(line, pfx, plen);
    memset(line + plen, 'x', big);
    line[plen + big] = '\0';
    struct parse_entry e;
    CHECK_INT(parse_line(&st, line, plen + 200 * 1024, 0, READ_TS, &e), 0);
    CHECK_INT(parse_line(&st, line, plen + big, 0, READ_TS, &e), 1);
    CHECK_INT(e.len, PARSE_DEFAULT_JOIN_LIMIT);
    CHECK(e.truncated);
    CHECK(st.join[PARSE_STREAM_STDOUT].cap <= 2 * PARSE_DEFAULT_JOIN_LIMIT);
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout F next", 0, &e) != NULL);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F next", 0, &e), "next");
    CHECK(!e.truncated);
    CHECK(st.join[PARSE_STREAM_STDOUT].cap <= PARSE_KEEP_CAP);
    /* A cut physical line absorbed into a join marks the join. */
    st.line_cut = true;
    CHECK(one(&st, "2019-01-01T01:00:00Z stdout P ab", 0, &e) == NULL);
    CHECK(!st.line_cut);
    CHECK_STR(one(&st, "2019-01-01T01:00:00Z stdout F cd", 0, &e), "abcd");
    CHECK(e.truncated);
    parse_state_cleanup(&st);

    /* The Docker unescape buffer shrinks the same way. */
    parse_state_init(&st, PARSE_DOCKER, &l);
    size_t dn = 512 * 1024;
    char *dj = malloc(dn + 64);
    CHECK(dj != NULL);
    size_t k = (size_t)snprintf(dj, 64, "{\"log\":\"\\n");
    memset(dj + k, 'y', dn);
    k += dn;
    memcpy(dj + k, "\"}", 3);
    CHECK_INT(parse_line(&st, dj, k + 2, 0, READ_TS, &e), 1);
    CHECK_INT(e.len, dn + 1);
    CHECK(st.scratch_cap > PARSE_KEEP_CAP);
    CHECK_STR(one(&st, "{\"log\":\"small\\n\"}", 0, &e), "small");
    CHECK(st.scratch_cap <= PARSE_KEEP_CAP);
    parse_state_cleanup(&st);

    /* A cut raw line is counted as truncated without max_line_size, dropped with it. */
    parse_state_init(&st, PARSE_RAW, &l);
    st.line_cut = true;
    CHECK_STR(one(&st, "abc", 0, &e), "abc");
    CHECK(e.truncated && !e.drop);
    CHECK_STR(one(&st, "def", 0, &e), "def");
    CHECK(!e.truncated);
    parse_state_cleanup(&st);
    l = lim(5, false, 100);
    parse_state_init(&st, PARSE_RAW, &l);
    st.line_cut = true;
    one(&st, "abc", 0, &e);
    CHECK(e.drop);
    parse_state_cleanup(&st);
    free(dj);
    free(line);
}

static void test_docker(void)
{
    struct parse_state st;
    struct parse_limits l = lim(0, false, 0);
    parse_state_init(&st, PARSE_DOCKER, &l);
    struct parse_entry e;
    CHECK_STR(one(&st,
                  "{\"log\":\"hello world\\n\",\"stream\":\"stderr\","
                  "\"time\":\"2019-04-30T02:12:41.8443515Z\"}",
                  0, &e),
              "hello world");
    CHECK_INT(e.stream, PARSE_STREAM_STDERR);
    CHECK_INT(e.ts_ns, 1556590361844351500LL);
    CHECK(!e.malformed);
    /* Every escape, including a surrogate pair and a lone surrogate. */
    CHECK_STR(one(&st,
                  "{\"log\":\"q\\\" b\\\\ s\\/ \\b\\f\\r\\t \\u00e9 \\u2713 \\ud83d\\ude00 "
                  "\\udc00x \\ud800\\n\",\"stream\":\"stdout\",\"time\":\"2019-01-01T00:00:00Z\"}",
                  0, &e),
              "q\" b\\ s/ \b\f\r\t \xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xef\xbf\xbdx "
              "\xef\xbf\xbd");
    CHECK_INT(e.stream, PARSE_STREAM_STDOUT);
    /* Other keys (attrs) in any order, whitespace, no time: read time. */
    CHECK_STR(one(&st,
                  " { \"attrs\" : {\"a\":[1,2,{\"b\":null}],\"c\":true} , \"stream\":\"stdout\" , "
                  "\"log\" : \"x\" } ",
                  0, &e),
              "x");
    CHECK_INT(e.ts_ns, READ_TS);
    /* A bad time keeps the read time and still ships the line. */
    CHECK_STR(one(&st, "{\"log\":\"y\\n\",\"time\":\"yesterday\"}", 0, &e), "y");
    CHECK_INT(e.ts_ns, READ_TS);
    CHECK(!e.malformed);
    /* Malformed JSON ships the raw line. */
    const char *bad[] = {"{\"log\":\"unterminated}",
                         "not json",
                         "{\"stream\":\"stdout\"}",
                         "{\"log\":\"x\"} trailing",
                         "{\"log\":\"bad \\q escape\"}",
                         "{\"log\":\"\\u12\"}",
                         "{}",
                         "{\"log\":1}"};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        CHECK_STR(one(&st, bad[i], 0, &e), bad[i]);
        CHECK(e.malformed);
    }
    parse_state_cleanup(&st);
}

static void test_unescape(void)
{
    char out[64];
    CHECK_INT(parse_json_unescape("abc", 3, out), 3);
    CHECK_INT(parse_json_unescape("a\\", 2, out), -EINVAL);
    CHECK_INT(parse_json_unescape("\\u00", 4, out), -EINVAL);
    long n = parse_json_unescape("\\u0000", 6, out);
    CHECK_INT(n, 1);
    CHECK_INT(out[0], 0);
}

int main(void)
{
    test_rfc3339();
    test_cri_full();
    test_cri_malformed();
    test_cri_partial();
    test_cri_flush();
    test_cri_bounds();
    test_max_line_size();
    test_buffers_shrink();
    test_docker();
    test_unescape();
    return check_done("test_shipper_parse");
}
