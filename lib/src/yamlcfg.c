/*
 * YAML configuration files (see frond/yamlcfg.h). libyaml's event parser
 * feeds a small tree builder that keeps the line of every node, so every
 * config loader can say "config.yml:12: batchwait: ..." instead of "bad
 * config". The builder is iterative (an explicit stack), so nesting depth
 * costs no C stack, and it bounds everything a hostile or broken file can
 * make it allocate: text size, node count, nesting depth, and the size the
 * document would have if its aliases were expanded (the "billion laughs"
 * attack: aliases share nodes here, but a walker would still visit a shared
 * node once per reference, so that expanded size is what must be capped).
 *
 * Merge keys (`<<: *defaults`, YAML 1.1 as in Go's yaml.v2) are applied
 * when a mapping closes: explicit keys win, then merged mappings in order.
 */
#include "frond/yamlcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "frond/flags.h"

#define YAML_MAX_TEXT (16u * 1024 * 1024)
#define YAML_MAX_NODES 1000000u
#define YAML_MAX_DEPTH 256
/* Nodes a full walk would visit with every alias expanded. */
#define YAML_MAX_EXPANDED 1000000u

/*
 * The public node plus what only the builder needs. `n` comes first so a
 * struct frond_yaml_node pointer handed out is also a struct ynode pointer.
 */
struct ynode {
    struct frond_yaml_node n;
    size_t weight; /* nodes visited by a full walk from here */
};

struct arena {
    struct ynode **nodes;
    size_t count, cap;
};

/* A string-keyed open-addressing table: anchors, and keys of one mapping. */
struct slot {
    const char *key;
    size_t len;
    void *val;
};

struct strtab {
    struct slot *slots;
    size_t cap, count;
};

struct frame {
    struct ynode *node;
    size_t cap;                /* allocated entries in keys/items */
    struct ynode *pending_key; /* mapping: key read, value not yet */
};

struct builder {
    const char *name;
    const char *text;
    char *err;
    size_t errlen;
    struct arena *arena;
    struct frame stack[YAML_MAX_DEPTH];
    int depth;
    struct strtab anchors; /* anchor name (owned copy) -> struct ynode * */
    struct ynode *root;
    int docs;
};

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

static int fmt_error(char *err, size_t errlen, const char *name, int line, const char *fmt,
                     va_list ap) FROND_PRINTF(5, 0);

static int fmt_error(char *err, size_t errlen, const char *name, int line, const char *fmt,
                     va_list ap)
{
    int n;

    if (!err || errlen == 0) {
        return -EINVAL;
    }
    if (line > 0) {
        n = snprintf(err, errlen, "%s:%d: ", name ? name : "<yaml>", line);
    } else {
        n = snprintf(err, errlen, "%s: ", name ? name : "<yaml>");
    }
    if (n >= 0 && (size_t)n < errlen) {
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    }
    return -EINVAL;
}

static int berr(struct builder *b, int line, const char *fmt, ...) FROND_PRINTF(3, 4);

static int berr(struct builder *b, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fmt_error(b->err, b->errlen, b->name, line, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/*
 * Quote a scalar for a message: printable ASCII as is, anything else
 * escaped, long values cut, so a binary blob or a secret-sized string
 * cannot flood a log line.
 */
static void quote(const char *s, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    const size_t limit = 64;

    if (outsz < 8) {
        if (outsz) {
            out[0] = '\0';
        }
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < len && i < limit; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 6 >= outsz) {
            break;
        }
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
        }
    }
    out[o++] = '"';
    if (len > limit && o + 4 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void strtab_cleanup(struct strtab *t, bool free_keys)
{
    if (free_keys) {
        for (size_t i = 0; i < t->cap; i++) {
            free((char *)t->slots[i].key);
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

static struct slot *strtab_find(struct strtab *t, const char *key, size_t len)
{
    size_t mask = t->cap - 1, i;

    if (t->cap == 0) {
        return NULL;
    }
    i = (size_t)hash_bytes(key, len) & mask;
    while (t->slots[i].key) {
        if (t->slots[i].len == len && memcmp(t->slots[i].key, key, len) == 0) {
            return &t->slots[i];
        }
        i = (i + 1) & mask;
    }
    return &t->slots[i];
}

static int strtab_grow(struct strtab *t)
{
    struct strtab bigger = {0};

    bigger.cap = t->cap ? t->cap * 2 : 16;
    bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
    if (!bigger.slots) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].key) {
            struct slot *s = strtab_find(&bigger, t->slots[i].key, t->slots[i].len);
            *s = t->slots[i];
            bigger.count++;
        }
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

/*
 * Find or insert `key`. Returns the slot; *found says whether it existed.
 * The table does not copy the key: the caller keeps it alive.
 */
static int strtab_upsert(struct strtab *t, const char *key, size_t len, struct slot **out,
                         bool *found)
{
    struct slot *s;

    if ((t->count + 1) * 2 > t->cap) {
        int rc = strtab_grow(t);
        if (rc) {
            return rc;
        }
    }
    s = strtab_find(t, key, len);
    *found = s->key != NULL;
    if (!*found) {
        s->key = key;
        s->len = len;
        s->val = NULL;
        t->count++;
    }
    *out = s;
    return 0;
}

static void node_free(struct ynode *y)
{
    free(y->n.value);
    free(y->n.keys);
    free(y->n.items);
    free(y);
}

static void arena_free(struct arena *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->count; i++) {
        node_free(a->nodes[i]);
    }
    free(a->nodes);
    free(a);
}

static struct ynode *node_new(struct builder *b, enum frond_yaml_kind kind, int line, int *rc)
{
    struct arena *a = b->arena;
    struct ynode *y;

    if (a->count >= YAML_MAX_NODES) {
        *rc = berr(b, line, "too many nodes (more than %u)", YAML_MAX_NODES);
        return NULL;
    }
    if (a->count == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        struct ynode **bigger = realloc(a->nodes, ncap * sizeof(*bigger));
        if (!bigger) {
            *rc = berr(b, line, "out of memory");
            return NULL;
        }
        a->nodes = bigger;
        a->cap = ncap;
    }
    y = calloc(1, sizeof(*y));
    if (!y) {
        *rc = berr(b, line, "out of memory");
        return NULL;
    }
    y->n.kind = kind;
    y->n.line = line;
    y->weight = 1;
    a->nodes[a->count++] = y;
    return y;
}

static int grow_pairs(struct builder *b, struct frame *fr, bool with_keys)
{
    struct frond_yaml_node *n = &fr->node->n;
    size_t ncap;

    if (n->n < fr->cap) {
        return 0;
    }
    ncap = fr->cap ? fr->cap * 2 : 4;
    if (with_keys) {
        struct frond_yaml_node **k = realloc(n->keys, ncap * sizeof(*k));
        if (!k) {
            return berr(b, n->line, "out of memory");
        }
        n->keys = k;
    }
    {
        struct frond_yaml_node **it = realloc(n->items, ncap * sizeof(*it));
        if (!it) {
            return berr(b, n->line, "out of memory");
        }
        n->items = it;
    }
    fr->cap = ncap;
    return 0;
}

static const char *kind_name(enum frond_yaml_kind k)
{
    switch (k) {
    case FROND_YAML_SCALAR:
        return "a scalar";
    case FROND_YAML_MAP:
        return "a mapping";
    case FROND_YAML_SEQ:
        return "a sequence";
    }
    return "a node";
}

/* ---------------------------------------------------------------------- */
/* Tree builder                                                           */

/* Attach a finished (or just opened) node to whatever is open above it. */
static int add_child(struct builder *b, struct ynode *child, int line)
{
    struct frame *fr;
    struct frond_yaml_node *p;
    int rc;

    if (b->depth == 0) {
        b->root = child;
        return 0;
    }
    fr = &b->stack[b->depth - 1];
    p = &fr->node->n;
    if (p->kind == FROND_YAML_SEQ) {
        rc = grow_pairs(b, fr, false);
        if (rc) {
            return rc;
        }
        p->items[p->n++] = &child->n;
        return 0;
    }
    if (!fr->pending_key) {
        if (child->n.kind != FROND_YAML_SCALAR) {
            return berr(b, line, "mapping keys must be scalars, got %s", kind_name(child->n.kind));
        }
        fr->pending_key = child;
        return 0;
    }
    rc = grow_pairs(b, fr, true);
    if (rc) {
        return rc;
    }
    p->keys[p->n] = &fr->pending_key->n;
    p->items[p->n] = &child->n;
    p->n++;
    fr->pending_key = NULL;
    return 0;
}

static int register_anchor(struct builder *b, const yaml_char_t *anchor, struct ynode *y, int line)
{
    struct slot *s = NULL;
    bool found = false;
    size_t len;
    char *copy;
    int rc;

    if (!anchor) {
        return 0;
    }
    len = strlen((const char *)anchor);
    copy = strndup((const char *)anchor, len);
    if (!copy) {
        return berr(b, line, "out of memory");
    }
    rc = strtab_upsert(&b->anchors, copy, len, &s, &found);
    if (rc) {
        free(copy);
        return berr(b, line, "out of memory");
    }
    if (found) {
        /* YAML lets a later anchor of the same name take over. */
        free(copy);
    }
    s->val = y;
    return 0;
}

static int open_container(struct builder *b, enum frond_yaml_kind kind, const yaml_char_t *anchor,
                          int line)
{
    struct ynode *y;
    int rc = 0;

    if (b->depth >= YAML_MAX_DEPTH) {
        return berr(b, line, "nesting deeper than %d levels", YAML_MAX_DEPTH);
    }
    if (b->depth > 0) {
        struct frame *fr = &b->stack[b->depth - 1];
        if (fr->node->n.kind == FROND_YAML_MAP && !fr->pending_key) {
            return berr(b, line, "mapping keys must be scalars, got %s", kind_name(kind));
        }
    }
    y = node_new(b, kind, line, &rc);
    if (!y) {
        return rc;
    }
    rc = add_child(b, y, line);
    if (rc) {
        return rc;
    }
    rc = register_anchor(b, anchor, y, line);
    if (rc) {
        return rc;
    }
    b->stack[b->depth].node = y;
    b->stack[b->depth].cap = 0;
    b->stack[b->depth].pending_key = NULL;
    b->depth++;
    return 0;
}

static bool key_is(const struct frond_yaml_node *k, const char *s, size_t len)
{
    return k->kind == FROND_YAML_SCALAR && k->value_len == len && memcmp(k->value, s, len) == 0;
}

/*
 * Apply `<<` merge keys of a closing mapping and reject duplicate keys.
 * The key table holds pointers into the nodes' own values, so nothing is
 * copied.
 */
static int finish_map(struct builder *b, struct ynode *y)
{
    struct frond_yaml_node *m = &y->n;
    struct strtab seen = {0};
    struct frond_yaml_node **keys = NULL, **items = NULL;
    size_t n = 0, cap = 0, merges = 0, examined = 0;
    int rc = 0;

    for (size_t i = 0; i < m->n; i++) {
        struct frond_yaml_node *k = m->keys[i];
        struct slot *s = NULL;
        bool found = false;

        if (k->plain && key_is(k, "<<", 2)) {
            merges++;
            continue;
        }
        rc = strtab_upsert(&seen, k->value, k->value_len, &s, &found);
        if (rc) {
            rc = berr(b, k->line, "out of memory");
            goto out;
        }
        if (found) {
            char q[160];
            const struct frond_yaml_node *first = s->val;
            quote(k->value, k->value_len, q, sizeof(q));
            rc = berr(b, k->line, "duplicate key %s (first defined at line %d)", q, first->line);
            goto out;
        }
        s->val = k;
    }
    if (merges == 0) {
        goto out;
    }
    /* Rebuild the pairs: explicit ones first, then merged ones not yet present. */
    cap = m->n;
    keys = malloc(cap * sizeof(*keys));
    items = malloc(cap * sizeof(*items));
    if (!keys || !items) {
        rc = berr(b, m->line, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (!(m->keys[i]->plain && key_is(m->keys[i], "<<", 2))) {
            keys[n] = m->keys[i];
            items[n] = m->items[i];
            n++;
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct frond_yaml_node *v = m->items[i];
        size_t nsrc;

        if (!(m->keys[i]->plain && key_is(m->keys[i], "<<", 2))) {
            continue;
        }
        if (v->kind == FROND_YAML_MAP) {
            nsrc = 1;
        } else if (v->kind == FROND_YAML_SEQ) {
            nsrc = v->n;
        } else {
            rc =
                berr(b, m->keys[i]->line, "merge key << needs a mapping or a sequence of mappings");
            goto out;
        }
        for (size_t j = 0; j < nsrc; j++) {
            const struct frond_yaml_node *src = v->kind == FROND_YAML_MAP ? v : v->items[j];
            if (src->kind != FROND_YAML_MAP) {
                rc = berr(b, m->keys[i]->line,
                          "merge key << needs a mapping or a sequence of mappings");
                goto out;
            }
            /*
             * `<<: [*big, *big, ...]` would make this loop quadratic before
             * the expanded-size check at close could stop it.
             */
            examined += src->n;
            if (examined > YAML_MAX_EXPANDED) {
                rc = berr(b, m->keys[i]->line,
                          "document too large with aliases expanded (more than %u nodes)",
                          YAML_MAX_EXPANDED);
                goto out;
            }
            for (size_t k = 0; k < src->n; k++) {
                struct slot *s = NULL;
                bool found = false;
                rc = strtab_upsert(&seen, src->keys[k]->value, src->keys[k]->value_len, &s, &found);
                if (rc) {
                    rc = berr(b, m->line, "out of memory");
                    goto out;
                }
                if (found) {
                    continue;
                }
                s->val = src->keys[k];
                if (n == cap) {
                    size_t ncap = cap * 2 + 4;
                    struct frond_yaml_node **nk = realloc(keys, ncap * sizeof(*nk));
                    if (!nk) {
                        rc = berr(b, m->line, "out of memory");
                        goto out;
                    }
                    keys = nk;
                    struct frond_yaml_node **ni = realloc(items, ncap * sizeof(*ni));
                    if (!ni) {
                        rc = berr(b, m->line, "out of memory");
                        goto out;
                    }
                    items = ni;
                    cap = ncap;
                }
                keys[n] = src->keys[k];
                items[n] = src->items[k];
                n++;
            }
        }
    }
    free(m->keys);
    free(m->items);
    m->keys = keys;
    m->items = items;
    m->n = n;
    keys = items = NULL;
out:
    free(keys);
    free(items);
    strtab_cleanup(&seen, false);
    return rc;
}

static int close_container(struct builder *b, int line)
{
    struct frame *fr;
    struct ynode *y;
    size_t w = 1;
    int rc;

    if (b->depth == 0) {
        return berr(b, line, "unbalanced end of collection");
    }
    fr = &b->stack[b->depth - 1];
    y = fr->node;
    if (y->n.kind == FROND_YAML_MAP) {
        rc = finish_map(b, y);
        if (rc) {
            return rc;
        }
    }
    for (size_t i = 0; i < y->n.n; i++) {
        w += ((const struct ynode *)y->n.items[i])->weight;
        if (y->n.keys) {
            w += ((const struct ynode *)y->n.keys[i])->weight;
        }
        if (w > YAML_MAX_EXPANDED) {
            return berr(b, y->n.line,
                        "document too large with aliases expanded (more than %u nodes)",
                        YAML_MAX_EXPANDED);
        }
    }
    y->weight = w;
    b->depth--;
    return 0;
}

static int on_alias(struct builder *b, const yaml_char_t *anchor, int line)
{
    const char *name = (const char *)anchor;
    struct slot *s = strtab_find(&b->anchors, name, strlen(name));
    struct ynode *y;

    if (!s || !s->key) {
        return berr(b, line, "unknown anchor \"%.100s\" referenced", name);
    }
    y = s->val;
    /*
     * An alias to a collection that is still open would make the tree a
     * cycle, and every walker would loop forever.
     */
    for (int i = 0; i < b->depth; i++) {
        if (b->stack[i].node == y) {
            return berr(b, line, "alias \"%.100s\" refers to a collection that contains it", name);
        }
    }
    return add_child(b, y, line);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev, int line)
{
    struct ynode *y;
    int rc = 0;

    y = node_new(b, FROND_YAML_SCALAR, line, &rc);
    if (!y) {
        return rc;
    }
    y->n.value = malloc(ev->data.scalar.length + 1);
    if (!y->n.value) {
        return berr(b, line, "out of memory");
    }
    memcpy(y->n.value, ev->data.scalar.value, ev->data.scalar.length);
    y->n.value[ev->data.scalar.length] = '\0';
    y->n.value_len = ev->data.scalar.length;
    /* An explicit tag ("!!str ~") makes a plain scalar mean its text. */
    y->n.plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL;
    rc = add_child(b, y, line);
    if (rc) {
        return rc;
    }
    return register_anchor(b, ev->data.scalar.anchor, y, line);
}

/* libyaml's reader errors carry a byte offset, not a line: count newlines. */
static int offset_line(const char *text, size_t len, size_t offset)
{
    int line = 1;

    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            line++;
        }
    }
    return line;
}

static int parser_error(struct builder *b, const yaml_parser_t *p, size_t len)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return berr(b, 0, "out of memory");
    case YAML_READER_ERROR:
        return berr(b, offset_line(b->text, len, p->problem_offset), "%s", problem);
    default:
        break;
    }
    /*
     * For an unclosed quote or bracket the problem is seen where the file
     * ends; the context says where the construct began, which is the line
     * the operator must look at.
     */
    if (p->context && p->context_mark.line != p->problem_mark.line) {
        return berr(b, (int)p->problem_mark.line + 1, "%s (%s started at line %d)", problem,
                    p->context, (int)p->context_mark.line + 1);
    }
    return berr(b, (int)p->problem_mark.line + 1, "%s", problem);
}

static int build(struct builder *b, const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    bool done = false;
    int rc = 0;

    if (!yaml_parser_initialize(&parser)) {
        return berr(b, 0, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        int line;

        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser_error(b, &parser, len);
            break;
        }
        line = (int)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++b->docs > 1) {
                rc = berr(b, line, "only one YAML document per file is supported");
            }
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(b, &ev, line);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(b, ev.data.alias.anchor, line);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = open_container(b, FROND_YAML_SEQ, ev.data.sequence_start.anchor, line);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = open_container(b, FROND_YAML_MAP, ev.data.mapping_start.anchor, line);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = close_container(b, line);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc) {
            break;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Documents                                                              */

void frond_yaml_doc_cleanup(struct frond_yaml_doc *doc)
{
    if (!doc) {
        return;
    }
    arena_free(doc->arena_);
    free(doc->name);
    doc->arena_ = NULL;
    doc->name = NULL;
    doc->root = NULL;
}

int frond_yaml_parse(const char *name, const char *text, size_t len, struct frond_yaml_doc *doc,
                     char *err, size_t errlen)
{
    struct builder b;
    int rc = 0;

    memset(doc, 0, sizeof(*doc));
    memset(&b, 0, sizeof(b));
    b.name = name ? name : "<yaml>";
    b.text = text;
    b.err = err;
    b.errlen = errlen;
    if (err && errlen) {
        err[0] = '\0';
    }
    if (len > YAML_MAX_TEXT) {
        return berr(&b, 0, "document too large (more than %u MiB)", YAML_MAX_TEXT >> 20);
    }
    doc->name = strdup(b.name);
    b.arena = calloc(1, sizeof(*b.arena));
    doc->arena_ = b.arena;
    if (!doc->name || !b.arena) {
        rc = berr(&b, 0, "out of memory");
        goto out;
    }
    rc = build(&b, text ? text : "", text ? len : 0);
    if (rc) {
        goto out;
    }
    /* A document that is only "---" or "~" is as empty as one with only comments. */
    doc->root = b.root ? &b.root->n : NULL;
    if (doc->root && frond_yaml_is_null(doc->root)) {
        doc->root = NULL;
    }
out:
    strtab_cleanup(&b.anchors, true);
    if (rc) {
        frond_yaml_doc_cleanup(doc);
    }
    return rc;
}

static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
    FILE *fp = NULL;
    char *data = NULL;
    struct stat st;
    size_t len = 0, cap;
    int rc = 0;

    fp = fopen(path, "rb");
    if (!fp) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    cap = 4096;
    data = malloc(cap + 1);
    if (!data) {
        rc = -ENOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        size_t n = fread(data + len, 1, cap - len, fp);
        len += n;
        if (len > YAML_MAX_TEXT) {
            rc = -EFBIG;
            snprintf(err, errlen, "%s: file too large (more than %u MiB)", path,
                     YAML_MAX_TEXT >> 20);
            goto out;
        }
        if (n == 0) {
            if (ferror(fp)) {
                rc = -EIO;
                snprintf(err, errlen, "%s: read error", path);
                goto out;
            }
            break;
        }
        if (len == cap) {
            char *bigger = realloc(data, cap * 2 + 1);
            if (!bigger) {
                rc = -ENOMEM;
                snprintf(err, errlen, "%s: out of memory", path);
                goto out;
            }
            data = bigger;
            cap *= 2;
        }
    }
    data[len] = '\0';
    *out = data;
    *outlen = len;
    data = NULL;
out:
    free(data);
    if (fp) {
        fclose(fp);
    }
    return rc;
}

int frond_yaml_load_file(const char *path, bool expand_env, struct frond_yaml_doc *doc, char *err,
                         size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    struct frond_buf expanded;
    int rc;

    memset(doc, 0, sizeof(*doc));
    frond_buf_init(&expanded, YAML_MAX_TEXT);
    rc = read_file(path, &text, &len, err, errlen);
    if (rc) {
        goto out;
    }
    if (expand_env) {
        rc = frond_expand_env(text, len, &expanded);
        if (rc) {
            snprintf(err, errlen, "%s: %s", path,
                     rc == -ENOSPC ? "too large after expanding environment variables"
                                   : "out of memory");
            goto out;
        }
        rc = frond_yaml_parse(path, expanded.data ? expanded.data : "", expanded.len, doc, err,
                              errlen);
    } else {
        rc = frond_yaml_parse(path, text, len, doc, err, errlen);
    }
out:
    free(text);
    frond_buf_cleanup(&expanded);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Environment expansion                                                  */

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Append the value of in[0..len) as an environment variable name. */
static const char *lookup_env(const char *name, size_t len)
{
    char tmp[256];

    if (len >= sizeof(tmp)) {
        return NULL;
    }
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    return getenv(tmp);
}

int frond_expand_env(const char *in, size_t len, struct frond_buf *out)
{
    size_t i = 0, lit = 0;
    int rc = 0;

    while (i < len) {
        size_t start = i;
        const char *val = NULL;

        if (in[i] != '$' || i + 1 >= len) {
            i++;
            continue;
        }
        /* Flush the literal run before this '$'. */
        rc = frond_buf_append(out, in + lit, start - lit);
        if (rc) {
            return rc;
        }
        if (in[i + 1] == '$') {
            rc = frond_buf_putc(out, '$');
            i += 2;
        } else if (in[i + 1] == '{') {
            size_t j = i + 2, nstart = j, nlen;
            const char *def = NULL;
            size_t deflen = 0, close;
            bool def_on_empty = false;

            while (j < len && name_char(in[j])) {
                j++;
            }
            nlen = j - nstart;
            close = j;
            while (close < len && in[close] != '}') {
                close++;
            }
            if (nlen == 0 || !name_start(in[nstart]) || close >= len) {
                /* Not a reference we understand: keep the text as written. */
                rc = frond_buf_putc(out, '$');
                i += 1;
            } else if (j == close) {
                val = lookup_env(in + nstart, nlen);
                rc = val ? frond_buf_puts(out, val) : 0;
                i = close + 1;
            } else if (in[j] == ':' && j + 1 < close && in[j + 1] == '-') {
                def_on_empty = true;
                def = in + j + 2;
                deflen = close - (j + 2);
            } else if (in[j] == '-') {
                def = in + j + 1;
                deflen = close - (j + 1);
            } else {
                rc = frond_buf_putc(out, '$');
                i += 1;
            }
            if (def) {
                val = lookup_env(in + nstart, nlen);
                if (val && (*val || !def_on_empty)) {
                    rc = frond_buf_puts(out, val);
                } else {
                    rc = frond_buf_append(out, def, deflen);
                }
                i = close + 1;
            }
        } else if (name_start(in[i + 1])) {
            size_t j = i + 1;
            while (j < len && name_char(in[j])) {
                j++;
            }
            val = lookup_env(in + i + 1, j - i - 1);
            rc = val ? frond_buf_puts(out, val) : 0;
            i = j;
        } else {
            rc = frond_buf_putc(out, '$');
            i += 1;
        }
        if (rc) {
            return rc;
        }
        lit = i;
    }
    rc = frond_buf_append(out, in + lit, len - lit);
    if (rc) {
        return rc;
    }
    /* Callers read the result as a C string; make it one even when empty. */
    rc = frond_buf_reserve(out, 1);
    if (rc) {
        return rc;
    }
    out->data[out->len] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Readers                                                                */

int frond_yaml_error(const struct frond_yaml_doc *doc, const struct frond_yaml_node *at, char *err,
                     size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fmt_error(err, errlen, doc ? doc->name : NULL, at ? at->line : 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

bool frond_yaml_is_null(const struct frond_yaml_node *n)
{
    if (!n) {
        return true;
    }
    if (n->kind != FROND_YAML_SCALAR || !n->plain) {
        return false;
    }
    return n->value_len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

const struct frond_yaml_node *frond_yaml_get(const struct frond_yaml_node *map, const char *key)
{
    size_t len;

    if (!map || map->kind != FROND_YAML_MAP || !key) {
        return NULL;
    }
    len = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        if (key_is(map->keys[i], key, len)) {
            return map->items[i];
        }
    }
    return NULL;
}

int frond_yaml_check_keys(const struct frond_yaml_doc *doc, const struct frond_yaml_node *map,
                          const char *const *known, const char *where, char *err, size_t errlen)
{
    if (frond_yaml_is_null(map)) {
        return 0;
    }
    if (map->kind != FROND_YAML_MAP) {
        return frond_yaml_error(doc, map, err, errlen, "%s: expected a mapping, got %s", where,
                                kind_name(map->kind));
    }
    for (size_t i = 0; i < map->n; i++) {
        const struct frond_yaml_node *k = map->keys[i];
        bool ok = false;

        for (size_t j = 0; known && known[j]; j++) {
            if (key_is(k, known[j], strlen(known[j]))) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            char q[160];
            quote(k->value, k->value_len, q, sizeof(q));
            return frond_yaml_error(doc, k, err, errlen, "unknown key %s in %s", q, where);
        }
    }
    return 0;
}

/*
 * Common front of the typed readers: a NULL or null node leaves *out as the
 * caller initialised it (the default), anything but a scalar is an error,
 * and so is a scalar with an embedded NUL, which C strings would silently
 * cut short.
 */
static int scalar_of(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     const char *what, const char *expect, char *err, size_t errlen, bool *skip)
{
    *skip = false;
    if (frond_yaml_is_null(n)) {
        *skip = true;
        return 0;
    }
    if (n->kind != FROND_YAML_SCALAR) {
        return frond_yaml_error(doc, n, err, errlen, "%s: expected %s, got %s", what, expect,
                                kind_name(n->kind));
    }
    if (strlen(n->value) != n->value_len) {
        return frond_yaml_error(doc, n, err, errlen, "%s: expected %s, got a NUL byte", what,
                                expect);
    }
    return 0;
}

static int bad_value(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     const char *what, const char *expect, char *err, size_t errlen)
{
    char q[160];

    quote(n->value, n->value_len, q, sizeof(q));
    return frond_yaml_error(doc, n, err, errlen, "%s: expected %s, got %s", what, expect, q);
}

int frond_yaml_string(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                      const char *what, char **out, char *err, size_t errlen)
{
    static const char expect[] = "a string";
    bool skip;
    char *copy;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc) {
        return rc;
    }
    /*
     * Null reads as "", as Go's yaml.v2 decodes it into a string, so that
     * callers always get a string to look at and never a NULL to trip on.
     */
    copy = skip ? strdup("") : strndup(n->value, n->value_len);
    if (!copy) {
        return -ENOMEM;
    }
    *out = copy;
    return 0;
}

int frond_yaml_bool(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                    const char *what, bool *out, char *err, size_t errlen)
{
    static const char expect[] = "a boolean (true or false)";
    bool skip, v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_bool(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_long(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                    const char *what, long *out, char *err, size_t errlen)
{
    static const char expect[] = "an integer";
    bool skip;
    long v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_long(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_double(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                      const char *what, double *out, char *err, size_t errlen)
{
    static const char expect[] = "a number";
    bool skip;
    double v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_double(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_duration(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                        const char *what, double *out, char *err, size_t errlen)
{
    static const char expect[] = "a duration like \"1s\"";
    bool skip;
    double v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_duration(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}

int frond_yaml_bytes(const struct frond_yaml_doc *doc, const struct frond_yaml_node *n,
                     const char *what, long *out, char *err, size_t errlen)
{
    static const char expect[] = "a size like \"1MiB\"";
    bool skip;
    long v;
    int rc = scalar_of(doc, n, what, expect, err, errlen, &skip);

    if (rc || skip) {
        return rc;
    }
    if (frond_parse_bytes(n->value, &v) != 0) {
        return bad_value(doc, n, what, expect, err, errlen);
    }
    *out = v;
    return 0;
}
