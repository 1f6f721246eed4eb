/*
 * The RE2-syntax regex engine behind frondtail's relabel_configs, in four
 * parts: a parser producing a small syntax tree like Go's regexp/syntax
 * (flags, classes, Unicode simple case folding, repeats), a compiler to a
 * Thompson program, a Pike VM that runs the program with RE2's
 * leftmost-first priorities (so lazy quantifiers and alternations capture
 * what Prometheus captures), and Go's Regexp.Expand for templates. The
 * VM is linear in the input: no backtracking, and hard bounds on pattern
 * size, nesting, repeats, program size and per-match work.
 */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include "frond/buf.h"
#include "regex.h"

/* Limits that keep a hostile or mistyped regex from exhausting memory. */
#define RE_MAX_PATTERN (16 * 1024)
#define RE_MAX_DEPTH 100
#define RE_MAX_REPEAT 1000
#define RE_MAX_PROG 20000
/* Program size times capture slots: bounds the VM's scratch memory (16 MiB x 2). */
#define RE_MAX_STATE (1L << 22)
/*
 * Input length times program size times capture slots past which a value
 * is not matched at all (about a second of work): never reached by real
 * rules, it keeps a pathological rule from stalling the journal reader.
 */
#define RE_MAX_WORK (256L * 1024 * 1024)
#define RUNE_MAX 0x10FFFF
#define RUNE_ERROR 0xFFFD

/* ---- UTF-8 ------------------------------------------------------------ */

/* Decode one rune like Go: an invalid or truncated sequence is U+FFFD, width 1. */
static uint32_t decode(const unsigned char *p, size_t n, size_t *w)
{
    *w = 1;
    if (n == 0) {
        return RUNE_ERROR;
    }
    unsigned c = p[0];
    if (c < 0x80) {
        return c;
    }
    size_t need;
    uint32_t r, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1, r = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, r = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, r = c & 0x07, min = 0x10000;
    } else {
        return RUNE_ERROR;
    }
    if (n < need + 1) {
        return RUNE_ERROR;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return RUNE_ERROR;
        }
        r = (r << 6) | (p[i] & 0x3F);
    }
    if (r < min || r > RUNE_MAX || (r >= 0xD800 && r <= 0xDFFF)) {
        return RUNE_ERROR;
    }
    *w = need + 1;
    return r;
}

static size_t encode(uint32_t r, char *out)
{
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

static bool is_word_byte(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* ---- Syntax tree ------------------------------------------------------ */

enum node_kind { N_EMPTY, N_LIT, N_ANY, N_CLASS, N_CAT, N_ALT, N_REPEAT, N_GROUP, N_ASSERT };
enum assert_kind { A_BOT, A_EOT, A_BOL, A_EOL, A_WORD, A_NOTWORD };

struct range {
    uint32_t lo, hi;
};

struct node {
    enum node_kind kind;
    int a, b;      /* children (cat/alt), child (repeat/group) */
    int min, max;  /* repeat; max -1 = unbounded */
    bool greedy;   /* repeat */
    bool nl;       /* any: also newline */
    int cap;       /* group: capture index, -1 for (?:...) */
    uint32_t rune; /* lit */
    int cls;       /* class index */
    int assert_k;  /* assert */
};

struct cls {
    size_t off, n;
    bool neg;
};

struct relabel_re {
    struct inst *prog;
    size_t nprog;
    struct range *ranges;
    size_t nranges;
    struct cls *classes;
    size_t nclasses;
    size_t ngroups; /* including group 0 */
    char **names;   /* names[i]: name of group i or NULL */
};

enum { F_I = 1, F_M = 2, F_S = 4, F_U = 8 };

struct parser {
    const char *p, *end;
    struct node *nodes;
    size_t nnodes, capnodes;
    struct range *ranges;
    size_t nranges, capranges;
    struct cls *classes;
    size_t nclasses, capclasses;
    char **names;
    size_t ngroups, capnames;
    int flags;
    int depth;
    char *err;
    size_t errlen;
    int rc;
};

static int perr(struct parser *ps, const char *fmt, ...) FROND_PRINTF(2, 3);
static int perr(struct parser *ps, const char *fmt, ...)
{
    if (!ps->rc) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
        ps->rc = -EINVAL;
    }
    return -1;
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need) {
        ncap *= 2;
    }
    void *n = realloc(*arr, ncap * size);
    if (!n) {
        return -ENOMEM;
    }
    *arr = n;
    *cap = ncap;
    return 0;
}

static int new_node(struct parser *ps, enum node_kind k)
{
    if (ps->rc) {
        return -1;
    }
    if (grow((void **)&ps->nodes, &ps->capnodes, ps->nnodes + 1, sizeof(struct node))) {
        ps->rc = -ENOMEM;
        return -1;
    }
    struct node *n = &ps->nodes[ps->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = k;
    n->a = n->b = -1;
    return (int)ps->nnodes++;
}

static int add_range(struct parser *ps, uint32_t lo, uint32_t hi)
{
    if (grow((void **)&ps->ranges, &ps->capranges, ps->nranges + 1, sizeof(struct range))) {
        ps->rc = -ENOMEM;
        return -1;
    }
    ps->ranges[ps->nranges].lo = lo;
    ps->ranges[ps->nranges].hi = hi;
    ps->nranges++;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* Sort and merge ranges [from, nranges) in place. */
static void normalize(struct parser *ps, size_t from)
{
    struct range *r = ps->ranges + from;
    size_t n = ps->nranges - from, k = 0;
    if (n == 0) {
        return;
    }
    qsort(r, n, sizeof(*r), cmp_range);
    for (size_t i = 1; i < n; i++) {
        if (r[i].lo <= r[k].hi + 1) {
            if (r[i].hi > r[k].hi) {
                r[k].hi = r[i].hi;
            }
        } else {
            r[++k] = r[i];
        }
    }
    ps->nranges = from + k + 1;
}

/* Replace ranges [from, nranges) by their complement over all runes. */
static int negate(struct parser *ps, size_t from)
{
    normalize(ps, from);
    size_t n = ps->nranges - from;
    struct range tmp[64];
    struct range *old = n <= 64 ? tmp : malloc(n * sizeof(*old));
    if (!old) {
        ps->rc = -ENOMEM;
        return -1;
    }
    memcpy(old, ps->ranges + from, n * sizeof(*old));
    ps->nranges = from;
    uint32_t next = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (old[i].lo > next) {
            rc = add_range(ps, next, old[i].lo - 1);
        }
        next = old[i].hi + 1;
    }
    if (!rc && next <= RUNE_MAX) {
        rc = add_range(ps, next, RUNE_MAX);
    }
    if (old != tmp) {
        free(old);
    }
    return rc;
}

/*
 * Case folding for (?i), as Go's unicode.SimpleFold orbits: the runes tied
 * by the C.UTF-8 locale's simple lower/upper mappings, closed both ways,
 * minus the Turkish dotted/dotless i (Go folds neither). Built once: the
 * sorted runes that have a non-trivial orbit, each with its members.
 */
#define FOLD_MAX 0x1E943
#define ORBIT_MAX 8

struct fold_entry {
    uint32_t r;
    uint32_t off; /* into fold_members */
    uint32_t n;
};

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static struct fold_entry *fold_table;
static size_t nfold;
static uint32_t *fold_members;
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t case_map(uint32_t r, bool upper)
{
    if (r < 0x80) {
        return upper && r >= 'a' && r <= 'z' ? r - 32 : !upper && r >= 'A' && r <= 'Z' ? r + 32 : r;
    }
    if (!utf8_locale) {
        return r;
    }
    return (uint32_t)(upper ? towupper_l((wint_t)r, utf8_locale)
                            : towlower_l((wint_t)r, utf8_locale));
}

/* The one-step neighbours of r: its lower and upper forms (none for İ/ı). */
static size_t fold_step(uint32_t r, uint32_t out[2])
{
    size_t n = 0;
    if (r == 0x130 || r == 0x131) {
        return 0;
    }
    for (int u = 0; u < 2; u++) {
        uint32_t m = case_map(r, u);
        if (m != r && m != 0x130 && m != 0x131 && m <= RUNE_MAX) {
            out[n++] = m;
        }
    }
    return n;
}

struct fold_pair {
    uint32_t a, b;
};

static int cmp_pair(const void *x, const void *y)
{
    const struct fold_pair *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a ? 1 : p->b < q->b ? -1 : p->b > q->b;
}

static void fold_init(void)
{
    pthread_once(&utf8_once, utf8_init);
    /* Every one-step link in both directions, sorted: the orbits' edges. */
    size_t cap = 8192, n = 0;
    struct fold_pair *edges = malloc(cap * sizeof(*edges));
    for (uint32_t r = 0; edges && r <= FOLD_MAX; r++) {
        uint32_t m[2];
        size_t k = fold_step(r, m);
        for (size_t i = 0; i < k; i++) {
            if (n + 2 > cap) {
                struct fold_pair *ne = realloc(edges, 2 * cap * sizeof(*edges));
                if (!ne) {
                    free(edges);
                    edges = NULL;
                    break;
                }
                edges = ne;
                cap *= 2;
            }
            edges[n++] = (struct fold_pair){r, m[i]};
            edges[n++] = (struct fold_pair){m[i], r};
        }
    }
    if (!edges) {
        return;
    }
    qsort(edges, n, sizeof(*edges), cmp_pair);
    /* Orbits by closure over the edges; one table entry per rune with edges. */
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        nr += i == 0 || edges[i].a != edges[i - 1].a;
    }
    fold_table = malloc((nr ? nr : 1) * sizeof(*fold_table));
    fold_members = malloc((nr ? nr : 1) * ORBIT_MAX * sizeof(*fold_members));
    if (!fold_table || !fold_members) {
        free(fold_table);
        free(fold_members);
        fold_table = NULL;
        fold_members = NULL;
        free(edges);
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && edges[i].a == edges[i - 1].a) {
            continue;
        }
        uint32_t orbit[ORBIT_MAX];
        size_t no = 0;
        orbit[no++] = edges[i].a;
        for (size_t k = 0; k < no; k++) {
            /* Binary search the first edge of orbit[k]. */
            size_t lo = 0, hi = n;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (edges[mid].a < orbit[k]) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (size_t e = lo; e < n && edges[e].a == orbit[k]; e++) {
                bool seen = false;
                for (size_t x = 0; x < no; x++) {
                    seen |= orbit[x] == edges[e].b;
                }
                if (!seen && no < ORBIT_MAX) {
                    orbit[no++] = edges[e].b;
                }
            }
        }
        fold_table[nfold].r = edges[i].a;
        fold_table[nfold].off = (uint32_t)used;
        fold_table[nfold].n = (uint32_t)no;
        memcpy(fold_members + used, orbit, no * sizeof(uint32_t));
        used += no;
        nfold++;
    }
    free(edges);
}

/* Add the case-fold orbits of the runes in [from, nranges). */
static int fold(struct parser *ps, size_t from)
{
    pthread_once(&fold_once, fold_init);
    size_t end = ps->nranges;
    for (size_t i = from; i < end; i++) {
        uint32_t lo = ps->ranges[i].lo, hi = ps->ranges[i].hi;
        if (!fold_table) {
            /* No locale data: ASCII letters still fold. */
            uint32_t a = lo > 'a' ? lo : 'a', b = hi < 'z' ? hi : 'z';
            if (a <= b && add_range(ps, a - 32, b - 32)) {
                return -1;
            }
            a = lo > 'A' ? lo : 'A', b = hi < 'Z' ? hi : 'Z';
            if (a <= b && add_range(ps, a + 32, b + 32)) {
                return -1;
            }
            continue;
        }
        size_t a = 0, b = nfold;
        while (a < b) {
            size_t mid = (a + b) / 2;
            if (fold_table[mid].r < lo) {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        for (size_t k = a; k < nfold && fold_table[k].r <= hi; k++) {
            const struct fold_entry *fe = &fold_table[k];
            for (uint32_t m = 1; m < fe->n; m++) {
                uint32_t r = fold_members[fe->off + m];
                if ((r < lo || r > hi) && add_range(ps, r, r)) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* Perl classes \d \s \w (ASCII, as RE2). */
static int perl_class(struct parser *ps, char c)
{
    switch (c) {
    case 'd':
        return add_range(ps, '0', '9');
    case 's':
        if (add_range(ps, '\t', '\n') || add_range(ps, '\f', '\r')) {
            return -1;
        }
        return add_range(ps, ' ', ' ');
    case 'w':
        if (add_range(ps, '0', '9') || add_range(ps, 'A', 'Z') || add_range(ps, 'a', 'z')) {
            return -1;
        }
        return add_range(ps, '_', '_');
    }
    return -1;
}

struct posix_class {
    const char *name;
    const char *ranges; /* pairs of bytes lo,hi */
};

static const struct posix_class posix_classes[] = {
    {"alnum", "09AZaz"},
    {"alpha", "AZaz"},
    {"ascii", "\x01\x7f"},
    {"blank", "\t\t  "},
    {"cntrl", "\x01\x1f\x7f\x7f"},
    {"digit", "09"},
    {"graph", "!~"},
    {"lower", "az"},
    {"print", " ~"},
    {"punct", "!/:@[`{~"},
    {"space", "\t\r  "},
    {"upper", "AZ"},
    {"word", "09AZaz__"},
    {"xdigit", "09AFaf"},
};

/* Start a class node over ranges [from, nranges). */
static int class_node(struct parser *ps, size_t from, bool neg)
{
    if (ps->flags & F_I && fold(ps, from)) {
        return -1;
    }
    normalize(ps, from);
    if (neg && negate(ps, from)) {
        return -1;
    }
    if (grow((void **)&ps->classes, &ps->capclasses, ps->nclasses + 1, sizeof(struct cls))) {
        ps->rc = -ENOMEM;
        return -1;
    }
    struct cls *c = &ps->classes[ps->nclasses];
    c->off = from;
    c->n = ps->nranges - from;
    c->neg = false;
    int n = new_node(ps, N_CLASS);
    if (n >= 0) {
        ps->nodes[n].cls = (int)ps->nclasses++;
    }
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * A single-rune escape after the backslash (ps->p at the letter): control
 * characters, \x, octal, escaped punctuation. -1 when it is not one.
 */
static int64_t escape_rune(struct parser *ps)
{
    char c = *ps->p;
    switch (c) {
    case 'a':
        ps->p++;
        return 7;
    case 'f':
        ps->p++;
        return '\f';
    case 't':
        ps->p++;
        return '\t';
    case 'n':
        ps->p++;
        return '\n';
    case 'r':
        ps->p++;
        return '\r';
    case 'v':
        ps->p++;
        return '\v';
    case 'x': {
        ps->p++;
        uint32_t r = 0;
        if (ps->p < ps->end && *ps->p == '{') {
            ps->p++;
            int nd = 0;
            while (ps->p < ps->end && hexval(*ps->p) >= 0) {
                r = r * 16 + (uint32_t)hexval(*ps->p++);
                if (r > RUNE_MAX) {
                    return perr(ps, "invalid escape sequence: \\x{...} out of range");
                }
                nd++;
            }
            if (nd == 0 || ps->p >= ps->end || *ps->p != '}') {
                return perr(ps, "invalid escape sequence: \\x{");
            }
            ps->p++;
            return r;
        }
        if (ps->end - ps->p < 2 || hexval(ps->p[0]) < 0 || hexval(ps->p[1]) < 0) {
            return perr(ps, "invalid escape sequence: \\x");
        }
        r = (uint32_t)(hexval(ps->p[0]) * 16 + hexval(ps->p[1]));
        ps->p += 2;
        return r;
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
        /* RE2: \0 and \0nn / \nnn are octal; a lone \1..\7 is a backreference. */
        if (c != '0' && (ps->end - ps->p < 2 || ps->p[1] < '0' || ps->p[1] > '7')) {
            return perr(ps, "invalid escape sequence: \\%c (backreferences are not RE2)", c);
        }
        uint32_t r = 0;
        for (int i = 0; i < 3 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; i++) {
            r = r * 8 + (uint32_t)(*ps->p++ - '0');
        }
        return r;
    }
    default:
        break;
    }
    if ((unsigned char)c < 0x80 && !is_word_byte((unsigned char)c) && c != '\0') {
        ps->p++;
        return (unsigned char)c;
    }
    return perr(ps, "invalid escape sequence: \\%c", c);
}

static int parse_class(struct parser *ps)
{
    /* ps->p just past '[' */
    bool neg = false;
    size_t from = ps->nranges;
    if (ps->p < ps->end && *ps->p == '^') {
        neg = true;
        ps->p++;
    }
    bool first = true;
    while (!ps->rc) {
        if (ps->p >= ps->end) {
            return perr(ps, "missing closing ]");
        }
        if (*ps->p == ']' && !first) {
            ps->p++;
            break;
        }
        first = false;
        if (ps->end - ps->p >= 2 && ps->p[0] == '[' && ps->p[1] == ':') {
            const char *close = ps->p + 2;
            while (close + 1 < ps->end && !(close[0] == ':' && close[1] == ']')) {
                close++;
            }
            if (close + 1 < ps->end) {
                const char *name = ps->p + 2;
                bool pneg = *name == '^';
                if (pneg) {
                    name++;
                }
                size_t len = (size_t)(close - name);
                const struct posix_class *pc = NULL;
                for (size_t i = 0; i < FROND_ARRAY_SIZE(posix_classes); i++) {
                    if (strlen(posix_classes[i].name) == len &&
                        memcmp(posix_classes[i].name, name, len) == 0) {
                        pc = &posix_classes[i];
                    }
                }
                if (!pc) {
                    return perr(ps, "invalid character class range: [:%.*s:]", (int)len, name);
                }
                size_t sub = ps->nranges;
                for (const char *q = pc->ranges; *q; q += 2) {
                    if (add_range(ps, (unsigned char)q[0], (unsigned char)q[1])) {
                        return -1;
                    }
                }
                /* Go folds a named class before negating it. */
                if (pneg && ((ps->flags & F_I && fold(ps, sub)) || negate(ps, sub))) {
                    return -1;
                }
                ps->p = close + 2;
                continue;
            }
        }
        uint32_t lo;
        if (*ps->p == '\\') {
            ps->p++;
            if (ps->p >= ps->end) {
                return perr(ps, "trailing backslash at end of expression");
            }
            char c = *ps->p;
            if (c == 'd' || c == 's' || c == 'w' || c == 'D' || c == 'S' || c == 'W') {
                ps->p++;
                size_t sub = ps->nranges;
                if (perl_class(ps, (char)(c | 0x20))) {
                    return -1;
                }
                if (c < 'a' && ((ps->flags & F_I && fold(ps, sub)) || negate(ps, sub))) {
                    return -1;
                }
                continue;
            }
            if (c == 'p' || c == 'P') {
                return perr(ps, "Unicode classes (\\p) are not supported");
            }
            int64_t r = escape_rune(ps);
            if (r < 0) {
                return -1;
            }
            lo = (uint32_t)r;
        } else {
            size_t w;
            lo = decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &w);
            if (lo == RUNE_ERROR && w == 1 && (unsigned char)*ps->p >= 0x80) {
                return perr(ps, "invalid UTF-8");
            }
            ps->p += w;
        }
        uint32_t hi = lo;
        if (ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') {
                ps->p++;
                if (ps->p >= ps->end) {
                    return perr(ps, "trailing backslash at end of expression");
                }
                int64_t r = escape_rune(ps);
                if (r < 0) {
                    return -1;
                }
                hi = (uint32_t)r;
            } else {
                size_t w;
                hi = decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &w);
                ps->p += w;
            }
            if (hi < lo) {
                return perr(ps, "invalid character class range");
            }
        }
        if (add_range(ps, lo, hi)) {
            return -1;
        }
    }
    if (ps->rc) {
        return -1;
    }
    return class_node(ps, from, neg);
}

static int lit_node(struct parser *ps, uint32_t r)
{
    if (ps->flags & F_I) {
        size_t from = ps->nranges;
        if (add_range(ps, r, r)) {
            return -1;
        }
        return class_node(ps, from, false);
    }
    int n = new_node(ps, N_LIT);
    if (n >= 0) {
        ps->nodes[n].rune = r;
    }
    return n;
}

static int assert_node(struct parser *ps, int k)
{
    int n = new_node(ps, N_ASSERT);
    if (n >= 0) {
        ps->nodes[n].assert_k = k;
    }
    return n;
}

static int cat(struct parser *ps, int a, int b)
{
    if (a < 0) {
        return b;
    }
    int n = new_node(ps, N_CAT);
    if (n >= 0) {
        ps->nodes[n].a = a;
        ps->nodes[n].b = b;
    }
    return n;
}

static int parse_alt(struct parser *ps);

/* Flags in "(?i)", "(?-s:" ...; ps->p past "(?". Returns 1 for a group, 0 for flags only. */
static int parse_flags(struct parser *ps, int *flags)
{
    bool minus = false, any_neg = false;
    int f = *flags;
    while (ps->p < ps->end) {
        char c = *ps->p++;
        int bit = c == 'i' ? F_I : c == 'm' ? F_M : c == 's' ? F_S : c == 'U' ? F_U : 0;
        if (bit) {
            f = minus ? f & ~bit : f | bit;
            any_neg |= minus;
        } else if (c == '-' && !minus) {
            minus = true;
        } else if ((c == ')' || c == ':') && (!minus || any_neg)) {
            /* "(?)" and "(?:" carry no flags; "(?-)" and "(?i-:" are errors (Go). */
            *flags = f;
            return c == ':';
        } else {
            break;
        }
    }
    return perr(ps, "invalid or unsupported Perl syntax (lookarounds and backreferences are "
                    "not RE2)");
}

static int parse_atom(struct parser *ps)
{
    char c = *ps->p;
    switch (c) {
    case '(': {
        ps->p++;
        if (++ps->depth > RE_MAX_DEPTH) {
            return perr(ps, "expression nests too deeply");
        }
        int cap = -1;
        int saved = ps->flags;
        if (ps->p < ps->end && *ps->p == '?') {
            ps->p++;
            const char *name = NULL;
            if (ps->end - ps->p >= 2 && ps->p[0] == 'P' && ps->p[1] == '<') {
                name = ps->p + 2;
            } else if (ps->p < ps->end && *ps->p == '<' &&
                       !(ps->end - ps->p >= 2 && (ps->p[1] == '=' || ps->p[1] == '!'))) {
                name = ps->p + 1;
            }
            if (name) {
                const char *q = name;
                while (q < ps->end && is_word_byte((unsigned char)*q)) {
                    q++;
                }
                if (q == name || q >= ps->end || *q != '>') {
                    return perr(ps, "invalid named capture");
                }
                size_t len = (size_t)(q - name);
                for (size_t i = 0; i < ps->ngroups; i++) {
                    if (ps->names[i] && strlen(ps->names[i]) == len &&
                        memcmp(ps->names[i], name, len) == 0) {
                        return perr(ps, "duplicate capture group name: %.*s", (int)len, name);
                    }
                }
                if (grow((void **)&ps->names, &ps->capnames, ps->ngroups + 1, sizeof(char *))) {
                    ps->rc = -ENOMEM;
                    return -1;
                }
                ps->names[ps->ngroups] = strndup(name, len);
                if (!ps->names[ps->ngroups]) {
                    ps->rc = -ENOMEM;
                    return -1;
                }
                cap = (int)ps->ngroups++;
                ps->p = q + 1;
            } else {
                int isgroup = parse_flags(ps, &ps->flags);
                if (isgroup < 0) {
                    return -1;
                }
                if (!isgroup) {
                    /* (?i) applies to the rest of the enclosing group. */
                    ps->depth--;
                    return new_node(ps, N_EMPTY);
                }
            }
        } else {
            if (grow((void **)&ps->names, &ps->capnames, ps->ngroups + 1, sizeof(char *))) {
                ps->rc = -ENOMEM;
                return -1;
            }
            ps->names[ps->ngroups] = NULL;
            cap = (int)ps->ngroups++;
        }
        int inner = parse_alt(ps);
        if (inner < 0) {
            return -1;
        }
        if (ps->p >= ps->end || *ps->p != ')') {
            return perr(ps, "missing closing )");
        }
        ps->p++;
        ps->flags = saved;
        ps->depth--;
        int n = new_node(ps, N_GROUP);
        if (n >= 0) {
            ps->nodes[n].a = inner;
            ps->nodes[n].cap = cap;
        }
        return n;
    }
    case '[':
        ps->p++;
        return parse_class(ps);
    case '.': {
        ps->p++;
        int n = new_node(ps, N_ANY);
        if (n >= 0) {
            ps->nodes[n].nl = (ps->flags & F_S) != 0;
        }
        return n;
    }
    case '^':
        ps->p++;
        return assert_node(ps, ps->flags & F_M ? A_BOL : A_BOT);
    case '$':
        ps->p++;
        return assert_node(ps, ps->flags & F_M ? A_EOL : A_EOT);
    case '*':
    case '+':
    case '?':
        return perr(ps, "missing argument to repetition operator: %c", c);
    case '\\': {
        ps->p++;
        if (ps->p >= ps->end) {
            return perr(ps, "trailing backslash at end of expression");
        }
        char e = *ps->p;
        switch (e) {
        case 'd':
        case 's':
        case 'w':
        case 'D':
        case 'S':
        case 'W': {
            ps->p++;
            size_t from = ps->nranges;
            if (perl_class(ps, (char)(e | 0x20))) {
                return -1;
            }
            return class_node(ps, from, e < 'a');
        }
        case 'A':
            ps->p++;
            return assert_node(ps, A_BOT);
        case 'z':
            ps->p++;
            return assert_node(ps, A_EOT);
        case 'b':
            ps->p++;
            return assert_node(ps, A_WORD);
        case 'B':
            ps->p++;
            return assert_node(ps, A_NOTWORD);
        case 'p':
        case 'P':
            return perr(ps, "Unicode classes (\\p) are not supported");
        default: {
            int64_t r = escape_rune(ps);
            if (r < 0) {
                return -1;
            }
            return lit_node(ps, (uint32_t)r);
        }
        }
    }
    default: {
        size_t w;
        uint32_t r = decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &w);
        if (r == RUNE_ERROR && w == 1 && (unsigned char)*ps->p >= 0x80) {
            return perr(ps, "invalid UTF-8");
        }
        ps->p += w;
        return lit_node(ps, r);
    }
    }
}

/* "{n}", "{n,}", "{n,m}" at ps->p; 1 and advance when it is one, 0 (a literal '{') otherwise. */
static int parse_braces(struct parser *ps, int *min, int *max)
{
    const char *q = ps->p + 1;
    long lo = 0, hi;
    const char *d = q;
    while (q < ps->end && *q >= '0' && *q <= '9' && q - d < 8) {
        lo = lo * 10 + (*q++ - '0');
    }
    if (q == d || q >= ps->end) {
        return 0;
    }
    if (*q == '}') {
        hi = lo;
    } else if (*q == ',') {
        q++;
        d = q;
        hi = 0;
        while (q < ps->end && *q >= '0' && *q <= '9' && q - d < 8) {
            hi = hi * 10 + (*q++ - '0');
        }
        if (q >= ps->end || *q != '}') {
            return 0;
        }
        if (q == d) {
            hi = -1;
        }
    } else {
        return 0;
    }
    if (lo > RE_MAX_REPEAT || hi > RE_MAX_REPEAT || (hi >= 0 && hi < lo)) {
        return perr(ps, "invalid repeat count");
    }
    ps->p = q + 1;
    *min = (int)lo;
    *max = (int)hi;
    return 1;
}

/*
 * A quantifier at ps->p: "*", "+", "?", or a valid "{n,m}", with an
 * optional lazy "?". 1 and advance when there is one, 0 when not, -1 on error.
 */
static int parse_quant(struct parser *ps, int *min, int *max, bool *lazy)
{
    char c = *ps->p;
    if (c == '*') {
        *min = 0, *max = -1;
        ps->p++;
    } else if (c == '+') {
        *min = 1, *max = -1;
        ps->p++;
    } else if (c == '?') {
        *min = 0, *max = 1;
        ps->p++;
    } else if (c == '{') {
        int b = parse_braces(ps, min, max);
        if (b <= 0) {
            return b;
        }
    } else {
        return 0;
    }
    *lazy = ps->p < ps->end && *ps->p == '?';
    if (*lazy) {
        ps->p++;
    }
    return 1;
}

/*
 * A sequence of atoms and quantifiers up to '|' or ')'. As in Go, a
 * quantifier applies to the last operand pushed: flag groups "(?i)" and an
 * empty "\Q\E" push none, so in "a(?i)*" the star repeats "a". Two
 * quantifiers in a row ("a**", "a{2}*") are an error.
 */
static int parse_concat(struct parser *ps)
{
    int acc = -1, last = -1;
    while (!ps->rc && ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        const char *at = ps->p;
        int min, max;
        bool lazy;
        int q = parse_quant(ps, &min, &max, &lazy);
        if (q < 0) {
            return -1;
        }
        if (q > 0) {
            if (last < 0) {
                return perr(ps, "missing argument to repetition operator: %.*s", (int)(ps->p - at),
                            at);
            }
            int min2, max2;
            bool lazy2;
            int q2 = parse_quant(ps, &min2, &max2, &lazy2);
            if (q2 < 0) {
                return -1;
            }
            if (q2 > 0) {
                return perr(ps, "invalid nested repetition operator: %.*s", (int)(ps->p - at), at);
            }
            int n = new_node(ps, N_REPEAT);
            if (n < 0) {
                return -1;
            }
            ps->nodes[n].a = last;
            ps->nodes[n].min = min;
            ps->nodes[n].max = max;
            ps->nodes[n].greedy = lazy == ((ps->flags & F_U) != 0);
            last = n;
            continue;
        }
        if (ps->end - ps->p >= 2 && ps->p[0] == '\\' && ps->p[1] == 'Q') {
            /* \Q...\E pushes one literal per rune (a quantifier takes the last). */
            ps->p += 2;
            const char *qe = ps->p;
            while (qe < ps->end && !(qe[0] == '\\' && qe + 1 < ps->end && qe[1] == 'E')) {
                qe++;
            }
            while (ps->p < qe && !ps->rc) {
                size_t w;
                uint32_t rn = decode((const unsigned char *)ps->p, (size_t)(qe - ps->p), &w);
                ps->p += w;
                int lit = lit_node(ps, rn);
                if (lit < 0) {
                    return -1;
                }
                if (last >= 0) {
                    acc = cat(ps, acc, last);
                }
                last = lit;
            }
            ps->p = qe < ps->end ? qe + 2 : qe;
            continue;
        }
        int r = parse_atom(ps);
        if (r < 0) {
            return -1;
        }
        if (ps->nodes[r].kind == N_EMPTY) {
            continue; /* flags or an empty quote: nothing to repeat */
        }
        if (last >= 0) {
            acc = cat(ps, acc, last);
        }
        last = r;
    }
    if (ps->rc) {
        return -1;
    }
    if (last >= 0) {
        acc = cat(ps, acc, last);
    }
    return acc >= 0 ? acc : new_node(ps, N_EMPTY);
}

static int parse_alt(struct parser *ps)
{
    int left = parse_concat(ps);
    while (left >= 0 && ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        int right = parse_concat(ps);
        if (right < 0) {
            return -1;
        }
        int n = new_node(ps, N_ALT);
        if (n < 0) {
            return -1;
        }
        ps->nodes[n].a = left;
        ps->nodes[n].b = right;
        left = n;
    }
    return left;
}

/* ---- Program ---------------------------------------------------------- */

enum op { OP_RUNE, OP_CLASS, OP_ANY, OP_ANYNL, OP_SPLIT, OP_JMP, OP_SAVE, OP_ASSERT, OP_MATCH };

struct inst {
    uint8_t op;
    int x, y; /* rune / class / first branch / slot / assert kind; second branch */
};

struct compiler {
    struct parser *ps;
    struct inst *prog;
    size_t n, cap;
};

static int emit(struct compiler *c, uint8_t op, int x, int y)
{
    if (c->n >= RE_MAX_PROG) {
        return perr(c->ps, "expression too large");
    }
    if (grow((void **)&c->prog, &c->cap, c->n + 1, sizeof(struct inst))) {
        c->ps->rc = -ENOMEM;
        return -1;
    }
    c->prog[c->n].op = op;
    c->prog[c->n].x = x;
    c->prog[c->n].y = y;
    return (int)c->n++;
}

/* Split whose preferred branch is the next instruction when `greedy`. */
static void patch_split(struct compiler *c, int at, int body, int out, bool greedy)
{
    c->prog[at].x = greedy ? body : out;
    c->prog[at].y = greedy ? out : body;
}

/* Whether node ni can match the empty string (deep trees answer yes, the safe side). */
static bool nullable(const struct parser *ps, int ni, int depth)
{
    if (depth > 4 * RE_MAX_DEPTH + 64) {
        return true;
    }
    const struct node *n = &ps->nodes[ni];
    switch (n->kind) {
    case N_EMPTY:
    case N_ASSERT:
        return true;
    case N_LIT:
    case N_ANY:
    case N_CLASS:
        return false;
    case N_CAT:
        return nullable(ps, n->a, depth + 1) && nullable(ps, n->b, depth + 1);
    case N_ALT:
        return nullable(ps, n->a, depth + 1) || nullable(ps, n->b, depth + 1);
    case N_GROUP:
        return nullable(ps, n->a, depth + 1);
    case N_REPEAT:
        return n->min == 0 || nullable(ps, n->a, depth + 1);
    }
    return true;
}

static int comp(struct compiler *c, int ni, int depth)
{
    if (depth > 4 * RE_MAX_DEPTH + 64) {
        return perr(c->ps, "expression nests too deeply");
    }
    const struct node *n = &c->ps->nodes[ni];
    switch (n->kind) {
    case N_EMPTY:
        return 0;
    case N_LIT:
        return emit(c, OP_RUNE, (int)n->rune, 0) < 0 ? -1 : 0;
    case N_ANY:
        return emit(c, n->nl ? OP_ANYNL : OP_ANY, 0, 0) < 0 ? -1 : 0;
    case N_CLASS:
        return emit(c, OP_CLASS, n->cls, 0) < 0 ? -1 : 0;
    case N_ASSERT:
        return emit(c, OP_ASSERT, n->assert_k, 0) < 0 ? -1 : 0;
    case N_CAT: {
        /* Left-deep chains: walk the spine iteratively to bound recursion. */
        int spine[64];
        int ns = 0, cur = ni;
        while (c->ps->nodes[cur].kind == N_CAT && ns < 64) {
            spine[ns++] = c->ps->nodes[cur].b;
            cur = c->ps->nodes[cur].a;
        }
        if (comp(c, cur, depth + 1)) {
            return -1;
        }
        while (ns > 0) {
            if (comp(c, spine[--ns], depth + 1)) {
                return -1;
            }
        }
        return 0;
    }
    case N_ALT: {
        /* a|b|c parses left-deep: collect the alternatives, emit them in order. */
        size_t k = 0, cap = 0;
        int *alts = NULL;
        int cur = ni;
        for (;;) {
            if (grow((void **)&alts, &cap, k + 1, sizeof(int))) {
                free(alts);
                c->ps->rc = -ENOMEM;
                return -1;
            }
            if (c->ps->nodes[cur].kind != N_ALT) {
                alts[k++] = cur;
                break;
            }
            alts[k++] = c->ps->nodes[cur].b;
            cur = c->ps->nodes[cur].a;
        }
        int chain = -1, rc = 0;
        for (size_t i = k; !rc && i-- > 0;) {
            if (i == 0) {
                rc = comp(c, alts[0], depth + 1);
                break;
            }
            int sp = emit(c, OP_SPLIT, 0, 0);
            if (sp < 0 || comp(c, alts[i], depth + 1)) {
                rc = -1;
                break;
            }
            int j = emit(c, OP_JMP, chain, 0);
            if (j < 0) {
                rc = -1;
                break;
            }
            chain = j;
            c->prog[sp].x = sp + 1;
            c->prog[sp].y = (int)c->n;
        }
        free(alts);
        if (rc) {
            return -1;
        }
        while (chain >= 0) {
            int next = c->prog[chain].x;
            c->prog[chain].x = (int)c->n;
            chain = next;
        }
        return 0;
    }
    case N_GROUP:
        if (n->cap >= 0 && emit(c, OP_SAVE, 2 * n->cap, 0) < 0) {
            return -1;
        }
        if (comp(c, n->a, depth + 1)) {
            return -1;
        }
        if (n->cap >= 0 && emit(c, OP_SAVE, 2 * n->cap + 1, 0) < 0) {
            return -1;
        }
        return 0;
    case N_REPEAT: {
        int a = n->a, min = n->min, max = n->max;
        bool g = n->greedy;
        for (int i = 0; max >= 0 && i < min; i++) {
            if (comp(c, a, depth + 1)) {
                return -1;
            }
        }
        if (max < 0 && (min > 0 || nullable(c->ps, a, 0))) {
            /*
             * x{n,} is x^(n-1) x+, and a star over something that can
             * match empty is (x+)? as in Go, so that the empty iteration
             * still sets its groups. x+ is L: x; split L, out.
             */
            int q = -1;
            if (min == 0) {
                q = emit(c, OP_SPLIT, 0, 0);
                if (q < 0) {
                    return -1;
                }
            }
            for (int i = 1; i < min; i++) {
                if (comp(c, a, depth + 1)) {
                    return -1;
                }
            }
            int body = (int)c->n;
            if (comp(c, a, depth + 1)) {
                return -1;
            }
            int sp = emit(c, OP_SPLIT, 0, 0);
            if (sp < 0) {
                return -1;
            }
            patch_split(c, sp, body, sp + 1, g);
            if (q >= 0) {
                patch_split(c, q, q + 1, (int)c->n, g);
            }
            return 0;
        }
        if (max < 0) {
            /* L: split body, out; body; jmp L */
            int sp = emit(c, OP_SPLIT, 0, 0);
            if (sp < 0 || comp(c, a, depth + 1)) {
                return -1;
            }
            if (emit(c, OP_JMP, sp, 0) < 0) {
                return -1;
            }
            patch_split(c, sp, sp + 1, (int)c->n, g);
            return 0;
        }
        /*
         * (a(a(a)?)?)? for the optional copies; every split exits to the
         * end. The splits are chained through .y until the end is known.
         */
        int chain = -1;
        for (int i = min; i < max; i++) {
            int sp = emit(c, OP_SPLIT, 0, chain);
            if (sp < 0 || comp(c, a, depth + 1)) {
                return -1;
            }
            chain = sp;
        }
        while (chain >= 0) {
            int next = c->prog[chain].y;
            patch_split(c, chain, chain + 1, (int)c->n, g);
            chain = next;
        }
        return 0;
    }
    }
    return 0;
}

/* Nested counted repetitions may multiply to at most RE_MAX_REPEAT (as Go's parser). */
static int repeat_size(const struct parser *ps, int ni, int depth, long *out)
{
    if (ni < 0 || depth > 4 * RE_MAX_DEPTH + 64) {
        *out = 1;
        return 0;
    }
    const struct node *n = &ps->nodes[ni];
    long a = 1, b = 1;
    switch (n->kind) {
    case N_CAT:
    case N_ALT:
        if (repeat_size(ps, n->a, depth + 1, &a) || repeat_size(ps, n->b, depth + 1, &b)) {
            return -1;
        }
        *out = a > b ? a : b;
        return 0;
    case N_GROUP:
        return repeat_size(ps, n->a, depth + 1, out);
    case N_REPEAT: {
        if (repeat_size(ps, n->a, depth + 1, &a)) {
            return -1;
        }
        long k = n->max >= 0 ? n->max : n->min;
        if (k < 1) {
            k = 1;
        }
        *out = a * k;
        return *out > RE_MAX_REPEAT ? -1 : 0;
    }
    default:
        *out = 1;
        return 0;
    }
}

void relabel_re_free(struct relabel_re *re)
{
    if (!re) {
        return;
    }
    for (size_t i = 0; i < re->ngroups; i++) {
        free(re->names[i]);
    }
    free(re->names);
    free(re->prog);
    free(re->ranges);
    free(re->classes);
    free(re);
}

int relabel_re_compile(const char *pattern, struct relabel_re **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) {
        err[0] = '\0';
    }
    struct parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.p = pattern;
    ps.end = pattern + strlen(pattern);
    ps.err = err;
    ps.errlen = errlen;
    struct compiler c = {.ps = &ps};
    struct relabel_re *re = NULL;
    if (ps.end - ps.p > RE_MAX_PATTERN) {
        perr(&ps, "expression too long");
        goto out;
    }
    /* Group 0 is the whole match. */
    if (grow((void **)&ps.names, &ps.capnames, 1, sizeof(char *))) {
        ps.rc = -ENOMEM;
        goto out;
    }
    ps.names[0] = NULL;
    ps.ngroups = 1;
    int root = parse_alt(&ps);
    if (!ps.rc && ps.p < ps.end) {
        /*
         * Prometheus pastes the regex into "^(?:" ... ")$", so there a stray
         * ")" closes the anchoring group and the rest matches unanchored.
         * Nobody means that; refuse it rather than match differently.
         */
        perr(&ps, "unexpected ): unbalanced parentheses would break Prometheus' ^(?:...)$ "
                  "anchoring");
    }
    if (ps.rc || root < 0) {
        goto out;
    }
    long size;
    if (repeat_size(&ps, root, 0, &size)) {
        perr(&ps, "invalid repeat count (nested repetitions multiply past %d)", RE_MAX_REPEAT);
        goto out;
    }
    if (emit(&c, OP_SAVE, 0, 0) < 0 || comp(&c, root, 0) || emit(&c, OP_SAVE, 1, 0) < 0 ||
        emit(&c, OP_MATCH, 0, 0) < 0) {
        goto out;
    }
    if ((long)c.n * (long)(2 * ps.ngroups + 2) > RE_MAX_STATE) {
        perr(&ps, "expression too large (program size times capture groups)");
        goto out;
    }
    re = calloc(1, sizeof(*re));
    if (!re) {
        ps.rc = -ENOMEM;
        goto out;
    }
    re->prog = c.prog;
    re->nprog = c.n;
    re->ranges = ps.ranges;
    re->nranges = ps.nranges;
    re->classes = ps.classes;
    re->nclasses = ps.nclasses;
    re->names = ps.names;
    re->ngroups = ps.ngroups;
    c.prog = NULL;
    ps.ranges = NULL;
    ps.classes = NULL;
    ps.names = NULL;
    ps.ngroups = 0;
    *out = re;
out:
    for (size_t i = 0; i < ps.ngroups; i++) {
        free(ps.names[i]);
    }
    free(ps.names);
    free(ps.nodes);
    free(ps.ranges);
    free(ps.classes);
    free(c.prog);
    if (!ps.rc && !*out) {
        ps.rc = -EINVAL;
    }
    if (ps.rc == -EINVAL && errlen && !err[0]) {
        snprintf(err, errlen, "invalid regex");
    }
    return ps.rc;
}

size_t relabel_re_groups(const struct relabel_re *re)
{
    return re->ngroups;
}

/* ---- Pike VM ---------------------------------------------------------- */

struct tlist {
    size_t n;
    int *pc;   /* [nprog] */
    int *caps; /* [nprog * ncap] */
    int *mark; /* [nprog]: step stamp */
};

struct vm {
    const struct relabel_re *re;
    const unsigned char *s;
    size_t len;
    size_t ncap; /* slots tracked: 2 per group wanted */
    int *stack;  /* pairs: (pc or -1-slot, value) */
    int *work;   /* [ncap] */
};

static bool class_has(const struct relabel_re *re, int ci, uint32_t r)
{
    const struct cls *c = &re->classes[ci];
    const struct range *rg = re->ranges + c->off;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r < rg[mid].lo) {
            hi = mid;
        } else if (r > rg[mid].hi) {
            lo = mid + 1;
        } else {
            return !c->neg;
        }
    }
    return c->neg;
}

static bool assert_ok(const struct vm *v, int k, size_t pos)
{
    switch (k) {
    case A_BOT:
        return pos == 0;
    case A_EOT:
        return pos == v->len;
    case A_BOL:
        return pos == 0 || v->s[pos - 1] == '\n';
    case A_EOL:
        return pos == v->len || v->s[pos] == '\n';
    case A_WORD:
    case A_NOTWORD: {
        bool before = pos > 0 && is_word_byte(v->s[pos - 1]);
        bool after = pos < v->len && is_word_byte(v->s[pos]);
        return (before != after) == (k == A_WORD);
    }
    }
    return false;
}

/* Follow empty-width instructions from pc with captures v->work, adding threads in priority order.
 */
static void addthread(struct vm *v, struct tlist *l, int pc0, size_t pos, int stamp)
{
    const struct inst *prog = v->re->prog;
    int *st = v->stack;
    size_t sp = 0;
    st[sp++] = pc0;
    st[sp++] = 0;
    while (sp > 0) {
        int val = st[--sp];
        int pc = st[--sp];
        if (pc < 0) {
            v->work[-1 - pc] = val;
            continue;
        }
        if (l->mark[pc] == stamp) {
            continue;
        }
        l->mark[pc] = stamp;
        const struct inst *in = &prog[pc];
        switch (in->op) {
        case OP_JMP:
            st[sp++] = in->x;
            st[sp++] = 0;
            break;
        case OP_SPLIT:
            st[sp++] = in->y;
            st[sp++] = 0;
            st[sp++] = in->x;
            st[sp++] = 0;
            break;
        case OP_SAVE:
            if ((size_t)in->x < v->ncap) {
                st[sp++] = -1 - in->x;
                st[sp++] = v->work[in->x];
                v->work[in->x] = (int)pos;
            }
            st[sp++] = pc + 1;
            st[sp++] = 0;
            break;
        case OP_ASSERT:
            if (assert_ok(v, in->x, pos)) {
                st[sp++] = pc + 1;
                st[sp++] = 0;
            }
            break;
        default:
            l->pc[l->n] = pc;
            memcpy(l->caps + l->n * v->ncap, v->work, v->ncap * sizeof(int));
            l->n++;
            break;
        }
    }
}

/* Scratch ints the VM needs for a program of n instructions tracking ncap slots. */
static size_t vm_ints(size_t n, size_t ncap)
{
    return 2 * (2 * n + n * ncap) + 6 * n + 8 + ncap;
}

static int run(const struct relabel_re *re, const char *s, size_t len, int *caps, size_t ncap)
{
    size_t n = re->nprog;
    if (n > 0 && len > (size_t)RE_MAX_WORK / n / (ncap + 2)) {
        return 0;
    }
    int local[4096];
    size_t need = vm_ints(n, ncap);
    int *mem = need <= FROND_ARRAY_SIZE(local) ? local : malloc(need * sizeof(int));
    if (!mem) {
        return -ENOMEM;
    }
    struct tlist a, b, *cl = &a, *nl = &b;
    int *p = mem;
    a.pc = p, p += n;
    a.mark = p, p += n;
    a.caps = p, p += n * ncap;
    b.pc = p, p += n;
    b.mark = p, p += n;
    b.caps = p, p += n * ncap;
    struct vm v = {.re = re, .s = (const unsigned char *)s, .len = len, .ncap = ncap};
    v.stack = p, p += 6 * n + 8;
    v.work = p;
    memset(a.mark, 0, n * sizeof(int));
    memset(b.mark, 0, n * sizeof(int));
    for (size_t i = 0; i < ncap; i++) {
        v.work[i] = -1;
    }
    a.n = b.n = 0;
    int stamp = 1, matched = 0;
    addthread(&v, cl, 0, 0, stamp);
    for (size_t pos = 0;;) {
        size_t w = 0;
        uint32_t r = 0;
        if (pos < len) {
            r = decode(v.s + pos, len - pos, &w);
        }
        stamp++;
        nl->n = 0;
        for (size_t i = 0; i < cl->n; i++) {
            const struct inst *in = &re->prog[cl->pc[i]];
            bool ok = false;
            switch (in->op) {
            case OP_MATCH:
                if (pos == len) {
                    memcpy(caps, cl->caps + i * ncap, ncap * sizeof(int));
                    matched = 1;
                    i = cl->n; /* lower-priority threads lose */
                }
                continue;
            case OP_RUNE:
                ok = pos < len && r == (uint32_t)in->x;
                break;
            case OP_CLASS:
                ok = pos < len && class_has(re, in->x, r);
                break;
            case OP_ANY:
                ok = pos < len && r != '\n';
                break;
            case OP_ANYNL:
                ok = pos < len;
                break;
            default:
                break;
            }
            if (ok) {
                memcpy(v.work, cl->caps + i * ncap, ncap * sizeof(int));
                addthread(&v, nl, cl->pc[i] + 1, pos + w, stamp);
            }
        }
        if (pos >= len || nl->n == 0) {
            break;
        }
        struct tlist *t = cl;
        cl = nl;
        nl = t;
        pos += w;
    }
    if (mem != local) {
        free(mem);
    }
    return matched;
}

int relabel_re_match(const struct relabel_re *re, const char *s, size_t len, int *caps,
                     size_t ncaps)
{
    int dummy[2];
    if (ncaps > 2 * re->ngroups) {
        ncaps = 2 * re->ngroups;
    }
    for (size_t i = 0; i < ncaps; i++) {
        caps[i] = -1;
    }
    return run(re, s, len, ncaps ? caps : dummy, ncaps);
}

/* ---- Go template expansion -------------------------------------------- */

/* Go's extract(): a group reference after '$'. Returns chars consumed, 0 if malformed. */
static size_t extract(const char *t, const char **name, size_t *nlen, long *num)
{
    bool brace = *t == '{';
    const char *p = brace ? t + 1 : t;
    const char *start = p;
    for (;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '\0') {
            break;
        }
        if (c < 0x80) {
            if (!is_word_byte(c)) {
                break;
            }
            p++;
            continue;
        }
        /* Non-ASCII: Go reads letters and digits; treat every valid rune as one. */
        size_t w;
        uint32_t r = decode((const unsigned char *)p, strlen(p), &w);
        if (r == RUNE_ERROR) {
            break;
        }
        p += w;
    }
    if (p == start) {
        return 0;
    }
    *name = start;
    *nlen = (size_t)(p - start);
    if (brace) {
        if (*p != '}') {
            return 0;
        }
        p++;
    }
    long n = 0;
    for (size_t i = 0; i < *nlen; i++) {
        if (start[i] < '0' || start[i] > '9' || n >= 100000000) {
            n = -1;
            break;
        }
        n = n * 10 + (start[i] - '0');
    }
    if (start[0] == '0' && *nlen > 1) {
        n = -1;
    }
    *num = n;
    return (size_t)(p - t);
}

/*
 * Expand into dst (NULL: only measure). Returns the length. caps holds
 * 2 * ngroups spans.
 */
static size_t expand_into(const struct relabel_re *re, const char *tmpl, const char *s,
                          const int *caps, char *dst)
{
    size_t len = 0;
    for (const char *t = tmpl; *t;) {
        if (*t != '$') {
            if (dst) {
                dst[len] = *t;
            }
            len++;
            t++;
            continue;
        }
        t++;
        if (*t == '$') {
            if (dst) {
                dst[len] = '$';
            }
            len++;
            t++;
            continue;
        }
        const char *name;
        size_t nlen;
        long num;
        size_t used = extract(t, &name, &nlen, &num);
        if (!used) {
            if (dst) {
                dst[len] = '$';
            }
            len++;
            continue;
        }
        t += used;
        long g = -1;
        if (num >= 0) {
            g = num;
        } else {
            for (size_t i = 0; i < re->ngroups; i++) {
                if (re->names[i] && strlen(re->names[i]) == nlen &&
                    memcmp(re->names[i], name, nlen) == 0) {
                    g = (long)i;
                    break;
                }
            }
        }
        if (g >= 0 && (size_t)g < re->ngroups && caps[2 * g] >= 0) {
            size_t n = (size_t)(caps[2 * g + 1] - caps[2 * g]);
            if (dst) {
                memcpy(dst + len, s + caps[2 * g], n);
            }
            len += n;
        }
    }
    if (dst) {
        dst[len] = '\0';
    }
    return len;
}

int relabel_expand(const struct relabel_re *re, const char *tmpl, const char *s, const int *caps,
                   struct frond_buf *out)
{
    size_t n = expand_into(re, tmpl, s, caps, NULL);
    int rc = frond_buf_reserve(out, n + 1);
    if (rc) {
        return rc;
    }
    expand_into(re, tmpl, s, caps, out->data + out->len);
    out->len += n;
    return 0;
}

/* ---- Helpers shared with the relabel actions ---------------------------- */

uint32_t relabel_re_utf8_decode(const unsigned char *p, size_t n, size_t *w)
{
    return decode(p, n, w);
}

size_t relabel_re_utf8_encode(uint32_t r, char *out)
{
    return encode(r, out);
}

size_t relabel_re_expand_into(const struct relabel_re *re, const char *tmpl, const char *s,
                              const int *caps, char *dst)
{
    return expand_into(re, tmpl, s, caps, dst);
}

uint32_t relabel_re_case_map(uint32_t r, bool upper)
{
    pthread_once(&utf8_once, utf8_init);
    return case_map(r, upper);
}
