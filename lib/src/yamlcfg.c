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
 *
 * This file turns text into a document; yamlcfg_read.c loads files and
 * reads typed values out of the tree, env.c expands ${VAR} references.
 */
#include "frond/yamlcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamlcfg_int.h"

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

int frond_yaml_vfmt_error(char *err, size_t errlen, const char *name, int line, const char *fmt,
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
    frond_yaml_vfmt_error(b->err, b->errlen, b->name, line, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/*
 * Messages quote scalars this way so that a binary blob or a secret-sized
 * string cannot flood a log line.
 */
void frond_yaml_quote(const char *s, size_t len, char *out, size_t outsz)
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
    i = (size_t)frond_fnv1a64(key, len) & mask;
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
            return berr(b, line, "mapping keys must be scalars, got %s",
                        frond_yaml_kind_name(child->n.kind));
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
            return berr(b, line, "mapping keys must be scalars, got %s",
                        frond_yaml_kind_name(kind));
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

        if (k->plain && frond_yaml_key_is(k, "<<", 2)) {
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
            frond_yaml_quote(k->value, k->value_len, q, sizeof(q));
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
        if (!(m->keys[i]->plain && frond_yaml_key_is(m->keys[i], "<<", 2))) {
            keys[n] = m->keys[i];
            items[n] = m->items[i];
            n++;
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct frond_yaml_node *v = m->items[i];
        size_t nsrc;

        if (!(m->keys[i]->plain && frond_yaml_key_is(m->keys[i], "<<", 2))) {
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
