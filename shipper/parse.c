/*
 * CRI, Docker json-file and raw line parsing. This is frondtail's hot
 * path (the target is >= 150 MB/s of CRI per core end to end), so the CRI
 * parser is a handful of memchr/memcmp calls, timestamps are decoded by
 * hand instead of through strptime/timegm, and JSON strings without
 * escapes are handed out in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

void parse_state_init(struct parse_state *st, enum parse_format format,
                      const struct parse_limits *lim)
{
    memset(st, 0, sizeof(*st));
    st->format = format;
    st->lim = *lim;
    if (st->lim.max_partial_lines <= 0) {
        st->lim.max_partial_lines = 100;
    }
}

void parse_state_cleanup(struct parse_state *st)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(st->join); i++) {
        free(st->join[i].buf);
    }
    free(st->scratch);
    memset(st, 0, sizeof(*st));
}

/*
 * A buffer that once held a huge line gives the memory back: sixty files
 * that each joined one 1 MiB line would otherwise keep over 100 MB
 * resident for good. Called only when the buffer holds nothing needed.
 * A failed shrink keeps the larger buffer, which is still valid.
 */
static void shrink(char **buf, size_t *cap)
{
    if (*cap <= PARSE_KEEP_CAP) {
        return;
    }
    char *nb = realloc(*buf, PARSE_KEEP_CAP);
    if (nb) {
        *buf = nb;
        *cap = PARSE_KEEP_CAP;
    }
}

static void join_clear(struct parse_join *j)
{
    j->len = 0;
    j->nlines = 0;
    j->active = false;
    j->emitted = false;
    j->cut = false;
    shrink(&j->buf, &j->cap);
}

void parse_state_reset(struct parse_state *st)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(st->join); i++) {
        join_clear(&st->join[i]);
    }
    st->line_cut = false;
}

uint64_t parse_pending_offset(const struct parse_state *st)
{
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < FROND_ARRAY_SIZE(st->join); i++) {
        const struct parse_join *j = &st->join[i];
        if (j->active && !j->emitted && j->start_offset < min) {
            min = j->start_offset;
        }
    }
    return min;
}

/* ---- timestamps ---- */

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) {
            return -EINVAL;
        }
        v = v * 10 + (int)d;
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int parse_rfc3339(const char *s, size_t len, int64_t *ns)
{
    int y, mo, d, h, mi, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':') {
        return -EINVAL;
    }
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec)) {
        return -EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return -EINVAL;
    }
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (s[i] - '0');
            }
            nd++;
            i++;
        }
        if (nd == 0) {
            return -EINVAL;
        }
        for (size_t k = nd; k < 9; k++) {
            frac *= 10;
        }
    }
    int64_t off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59) {
            return -EINVAL;
        }
        off = (int64_t)(oh * 3600 + om * 60);
        if (s[i] == '-') {
            off = -off;
        }
        i += 6;
    } else {
        return -EINVAL;
    }
    if (i != len) {
        return -EINVAL;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *ns = secs * 1000000000LL + frac;
    return 0;
}

/* ---- JSON ---- */

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -EINVAL;
        }
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

long parse_json_unescape(const char *in, size_t len, char *out)
{
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        const char *bs = memchr(in + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (in + i)) : len - i;
        memmove(out + o, in + i, run);
        o += run;
        i += run;
        if (!bs) {
            break;
        }
        if (i + 1 >= len) {
            return -EINVAL;
        }
        char c = in[i + 1];
        i += 2;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            out[o++] = c;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (i + 4 > len || hex4(in + i, &cp)) {
                return -EINVAL;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                /* A high surrogate counts only when a low one follows. */
                if (i + 6 <= len && in[i] == '\\' && in[i + 1] == 'u' &&
                    hex4(in + i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            return -EINVAL;
        }
    }
    return (long)o;
}

/* Scan a JSON string starting at the opening quote; *end is after the closing one. */
static int json_string(const char *p, const char *end, const char **body, size_t *blen,
                       bool *escaped, const char **after)
{
    if (p >= end || *p != '"') {
        return -EINVAL;
    }
    const char *s = ++p;
    bool esc = false;
    for (;;) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\') {
            q++;
        }
        if (q >= end) {
            return -EINVAL;
        }
        if (*q == '"') {
            *body = s;
            *blen = (size_t)(q - s);
            *escaped = esc;
            *after = q + 1;
            return 0;
        }
        esc = true;
        if (q + 1 >= end) {
            return -EINVAL;
        }
        p = q + 2;
    }
}

static const char *json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* Skip any JSON value; nesting is bounded so hostile input cannot blow the stack. */
static int json_skip(const char *p, const char *end, int depth, const char **after)
{
    p = json_ws(p, end);
    if (p >= end || depth > 64) {
        return -EINVAL;
    }
    if (*p == '"') {
        const char *b;
        size_t bl;
        bool e;
        return json_string(p, end, &b, &bl, &e, after);
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = json_ws(p + 1, end);
        if (p < end && *p == close) {
            *after = p + 1;
            return 0;
        }
        for (;;) {
            if (obj) {
                const char *b;
                size_t bl;
                bool e;
                if (json_string(json_ws(p, end), end, &b, &bl, &e, &p)) {
                    return -EINVAL;
                }
                p = json_ws(p, end);
                if (p >= end || *p != ':') {
                    return -EINVAL;
                }
                p++;
            }
            if (json_skip(p, end, depth + 1, &p)) {
                return -EINVAL;
            }
            p = json_ws(p, end);
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == close) {
                *after = p + 1;
                return 0;
            }
            return -EINVAL;
        }
    }
    /* Numbers and literals: a run of their characters. */
    const char *s = p;
    while (p < end && (strchr("+-.eE0123456789", *p) || (*p >= 'a' && *p <= 'z')) && *p) {
        p++;
    }
    if (p == s) {
        return -EINVAL;
    }
    *after = p;
    return 0;
}

struct json_str {
    const char *p;
    size_t len;
    bool escaped;
    bool set;
};

static int docker_fields(const char *line, size_t len, struct json_str *log,
                         struct json_str *stream, struct json_str *time)
{
    const char *end = line + len;
    const char *p = json_ws(line, end);
    if (p >= end || *p != '{') {
        return -EINVAL;
    }
    p = json_ws(p + 1, end);
    if (p < end && *p == '}') {
        return -EINVAL;
    }
    for (;;) {
        const char *k;
        size_t kl;
        bool ke;
        if (json_string(json_ws(p, end), end, &k, &kl, &ke, &p)) {
            return -EINVAL;
        }
        p = json_ws(p, end);
        if (p >= end || *p != ':') {
            return -EINVAL;
        }
        p = json_ws(p + 1, end);
        struct json_str *want = NULL;
        if (!ke && kl == 3 && memcmp(k, "log", 3) == 0) {
            want = log;
        } else if (!ke && kl == 6 && memcmp(k, "stream", 6) == 0) {
            want = stream;
        } else if (!ke && kl == 4 && memcmp(k, "time", 4) == 0) {
            want = time;
        }
        if (want && p < end && *p == '"') {
            if (json_string(p, end, &want->p, &want->len, &want->escaped, &p)) {
                return -EINVAL;
            }
            want->set = true;
        } else if (json_skip(p, end, 0, &p)) {
            return -EINVAL;
        }
        p = json_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            p = json_ws(p + 1, end);
            return p == end ? 0 : -EINVAL;
        }
        return -EINVAL;
    }
}

static int ensure(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need) {
        ncap *= 2;
    }
    char *nb = realloc(*buf, ncap);
    if (!nb) {
        return -ENOMEM;
    }
    *buf = nb;
    *cap = ncap;
    return 0;
}

/* ---- lines ---- */

/*
 * `over` says the entry already lost bytes before it got here (a physical
 * line longer than the read buffer, or a join clipped at its bound), so it
 * is over the limit even when its length is not.
 */
static void apply_limit(const struct parse_state *st, struct parse_entry *e, bool over)
{
    size_t max = st->lim.max_line_size;
    if (over && (!max || st->lim.truncate)) {
        e->truncated = true;
    } else if (over) {
        e->drop = true;
    }
    if (max && e->len > max) {
        if (st->lim.truncate) {
            e->len = max;
            e->truncated = true;
        } else {
            e->drop = true;
        }
    }
}

static void malformed(const char *line, size_t len, int64_t read_ts, struct parse_entry *out)
{
    out->ts_ns = read_ts;
    out->stream = PARSE_STREAM_NONE;
    out->line = line;
    out->len = len;
    out->malformed = true;
}

static enum parse_stream stream_of(const char *p, size_t n)
{
    if (n == 6 && memcmp(p, "stdout", 6) == 0) {
        return PARSE_STREAM_STDOUT;
    }
    if (n == 6 && memcmp(p, "stderr", 6) == 0) {
        return PARSE_STREAM_STDERR;
    }
    return PARSE_STREAM_NONE;
}

static size_t join_limit(const struct parse_state *st)
{
    return st->lim.max_line_size ? st->lim.max_line_size : PARSE_DEFAULT_JOIN_LIMIT;
}

static int parse_cri(struct parse_state *st, const char *line, size_t len, uint64_t offset,
                     int64_t read_ts, struct parse_entry *out)
{
    const char *end = line + len;
    const char *sp1 = memchr(line, ' ', len);
    if (!sp1) {
        malformed(line, len, read_ts, out);
        return 1;
    }
    int64_t ts;
    if (parse_rfc3339(line, (size_t)(sp1 - line), &ts)) {
        malformed(line, len, read_ts, out);
        return 1;
    }
    const char *s = sp1 + 1;
    const char *sp2 = memchr(s, ' ', (size_t)(end - s));
    enum parse_stream stream = sp2 ? stream_of(s, (size_t)(sp2 - s)) : PARSE_STREAM_NONE;
    if (stream == PARSE_STREAM_NONE) {
        malformed(line, len, read_ts, out);
        return 1;
    }
    /* The tag is "F" or "P", possibly followed by ":"-separated future flags. */
    const char *tag = sp2 + 1;
    const char *sp3 = memchr(tag, ' ', (size_t)(end - tag));
    const char *tag_end = sp3 ? sp3 : end;
    if (tag_end == tag || (tag[0] != 'F' && tag[0] != 'P') ||
        (tag_end - tag > 1 && tag[1] != ':')) {
        malformed(line, len, read_ts, out);
        return 1;
    }
    const char *msg = sp3 ? sp3 + 1 : end;
    size_t mlen = (size_t)(end - msg);
    struct parse_join *j = &st->join[stream];
    bool partial = tag[0] == 'P';

    if (!partial && !j->active) {
        out->ts_ns = ts;
        out->stream = stream;
        out->line = msg;
        out->len = mlen;
        return 1;
    }
    /*
     * The join never holds more than its byte bound: a partial line can be
     * as long as the read buffer (16 MiB), and appending it whole before
     * the check below would let the buffer reach bound + buffer size. What
     * does not fit is cut and the entry counted as truncated (or dropped).
     */
    size_t limit = join_limit(st);
    size_t have = j->active ? j->len : 0;
    size_t room = limit > have ? limit - have : 0;
    size_t take = mlen < room ? mlen : room;
    if (ensure(&j->buf, &j->cap, have + take + 1)) {
        return -ENOMEM;
    }
    if (!j->active) {
        j->active = true;
        j->start_offset = offset;
        j->len = 0;
        j->nlines = 0;
        j->cut = false;
    }
    memcpy(j->buf + j->len, msg, take);
    j->len += take;
    if (take < mlen || st->line_cut) {
        j->cut = true;
    }
    j->nlines++;
    j->ts_ns = ts;
    /*
     * A full line completes the join; so does reaching either bound, which
     * ships what was gathered as one entry rather than dropping it.
     */
    if (partial && j->nlines < st->lim.max_partial_lines && j->len < limit) {
        return 0;
    }
    if (partial) {
        st->flushed_partials++;
    }
    j->emitted = true;
    out->ts_ns = j->ts_ns;
    out->stream = stream;
    out->line = j->buf;
    out->len = j->len;
    return 1;
}

static int parse_docker(struct parse_state *st, const char *line, size_t len, int64_t read_ts,
                        struct parse_entry *out)
{
    struct json_str log = {0}, stream = {0}, time = {0};
    if (docker_fields(line, len, &log, &stream, &time) || !log.set) {
        malformed(line, len, read_ts, out);
        return 1;
    }
    out->ts_ns = read_ts;
    if (time.set && !time.escaped) {
        int64_t ts;
        if (parse_rfc3339(time.p, time.len, &ts) == 0) {
            out->ts_ns = ts;
        }
    }
    out->stream = stream.set && !stream.escaped ? stream_of(stream.p, stream.len) : 0;
    if (log.escaped) {
        if (ensure(&st->scratch, &st->scratch_cap, log.len + 1)) {
            return -ENOMEM;
        }
        long n = parse_json_unescape(log.p, log.len, st->scratch);
        if (n < 0) {
            malformed(line, len, read_ts, out);
            return 1;
        }
        out->line = st->scratch;
        out->len = (size_t)n;
    } else {
        out->line = log.p;
        out->len = log.len;
    }
    /* Docker keeps the writer's newline in `log`; Loki lines carry none. */
    if (out->len && out->line[out->len - 1] == '\n') {
        out->len--;
    }
    return 1;
}

/*
 * A join handed out by the previous call is finished now, and so is the
 * previous unescaped Docker line: both buffers go back to their small size.
 */
static void retire_emitted(struct parse_state *st)
{
    for (size_t i = 0; i < FROND_ARRAY_SIZE(st->join); i++) {
        struct parse_join *j = &st->join[i];
        if (j->emitted) {
            join_clear(j);
        }
    }
    shrink(&st->scratch, &st->scratch_cap);
}

int parse_flush(struct parse_state *st, struct parse_entry *out)
{
    memset(out, 0, sizeof(*out));
    retire_emitted(st);
    for (size_t i = 0; i < FROND_ARRAY_SIZE(st->join); i++) {
        struct parse_join *j = &st->join[i];
        if (!j->active) {
            continue;
        }
        /* The writer never finished this line; what it wrote is still the container's. */
        st->flushed_partials++;
        j->emitted = true;
        out->ts_ns = j->ts_ns;
        out->stream = (enum parse_stream)i;
        out->line = j->buf;
        out->len = j->len;
        apply_limit(st, out, j->cut);
        return 1;
    }
    return 0;
}

int parse_line(struct parse_state *st, const char *line, size_t len, uint64_t offset,
               int64_t read_ts_ns, struct parse_entry *out)
{
    memset(out, 0, sizeof(*out));
    retire_emitted(st);
    int rc;
    switch (st->format) {
    case PARSE_CRI:
        rc = parse_cri(st, line, len, offset, read_ts_ns, out);
        break;
    case PARSE_DOCKER:
        rc = parse_docker(st, line, len, read_ts_ns, out);
        break;
    case PARSE_RAW:
    default:
        out->ts_ns = read_ts_ns;
        out->line = line;
        out->len = len;
        rc = 1;
        break;
    }
    /*
     * One place for the limit, so malformed lines obey it too. A cut line
     * absorbed into a join marked the join instead (above).
     */
    bool over = st->line_cut;
    const struct parse_join *j = &st->join[out->stream];
    if (rc == 1 && j->emitted && out->line == j->buf) {
        over = j->cut;
    }
    if (rc == 1) {
        apply_limit(st, out, over);
    }
    if (rc >= 0) {
        st->line_cut = false;
    }
    return rc;
}
