/*
 * The yajl (SAX) reader behind json.h. We chose yajl because it is a small,
 * long-lived C library (Debian libyajl 2.1, also what collectd's JSON
 * plugins use) with a callback interface: every token is handled as it is
 * read, so the memory a reply costs is one record, whatever the page size.
 * Numbers are taken through yajl's raw-number callback, so an integer
 * beyond int64 is not a parse error but a field we decline to export.
 *
 * The parser tracks the path of open containers up to RMQ_MAX_DEPTH levels
 * (deeper content is skipped by counting), recognises where records sit
 * (see json.h for the three shapes), and looks each scalar up in a small
 * table of (parent key, key) pairs for the reply kind.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "frond/json.h"

#define RMQ_MAX_DEPTH 8
#define RMQ_KEY_MAX 63

enum field_kind {
    F_NUM,
    F_BOOL,
    F_STR,
    F_ARRLEN,
};

struct field {
    const char *parent; /* key of the enclosing map inside the record, or NULL */
    const char *key;
    enum field_kind kind;
    int slot;
};

static const struct field queue_fields[] = {
    {NULL, "messages_ready", F_NUM, RMQ_Q_MESSAGES_READY},
    {NULL, "messages_unacknowledged", F_NUM, RMQ_Q_MESSAGES_UNACKED},
    {NULL, "messages", F_NUM, RMQ_Q_MESSAGES},
    {NULL, "consumers", F_NUM, RMQ_Q_CONSUMERS},
    {NULL, "consumer_utilisation", F_NUM, RMQ_Q_CONSUMER_UTILISATION},
    {NULL, "consumer_capacity", F_NUM, RMQ_Q_CONSUMER_CAPACITY},
    {NULL, "message_bytes", F_NUM, RMQ_Q_MESSAGE_BYTES},
    {NULL, "message_bytes_ready", F_NUM, RMQ_Q_MESSAGE_BYTES_READY},
    {NULL, "message_bytes_unacknowledged", F_NUM, RMQ_Q_MESSAGE_BYTES_UNACKED},
    {NULL, "head_message_timestamp", F_NUM, RMQ_Q_HEAD_MESSAGE_TIMESTAMP},
    {NULL, "memory", F_NUM, RMQ_Q_MEMORY},
    {"message_stats", "publish", F_NUM, RMQ_Q_PUBLISH},
    {"message_stats", "deliver_get", F_NUM, RMQ_Q_DELIVER_GET},
    {"message_stats", "ack", F_NUM, RMQ_Q_ACK},
    {"message_stats", "redeliver", F_NUM, RMQ_Q_REDELIVER},
    {NULL, "durable", F_BOOL, RMQ_Q_DURABLE},
    {NULL, "name", F_STR, RMQ_Q_NAME},
    {NULL, "vhost", F_STR, RMQ_Q_VHOST},
    {NULL, "type", F_STR, RMQ_Q_TYPE},
    {NULL, "policy", F_STR, RMQ_Q_POLICY},
    {NULL, "node", F_STR, RMQ_Q_NODE},
    {NULL, "leader", F_STR, RMQ_Q_LEADER},
    {NULL, "state", F_STR, RMQ_Q_STATE},
};

static const struct field node_fields[] = {
    {NULL, "running", F_BOOL, RMQ_N_RUNNING},
    {NULL, "uptime", F_NUM, RMQ_N_UPTIME_MS},
    {NULL, "mem_used", F_NUM, RMQ_N_MEM_USED},
    {NULL, "mem_limit", F_NUM, RMQ_N_MEM_LIMIT},
    {NULL, "mem_alarm", F_BOOL, RMQ_N_MEM_ALARM},
    {NULL, "disk_free", F_NUM, RMQ_N_DISK_FREE},
    {NULL, "disk_free_limit", F_NUM, RMQ_N_DISK_FREE_LIMIT},
    {NULL, "disk_free_alarm", F_BOOL, RMQ_N_DISK_FREE_ALARM},
    {NULL, "fd_used", F_NUM, RMQ_N_FD_USED},
    {NULL, "fd_total", F_NUM, RMQ_N_FD_TOTAL},
    {NULL, "sockets_used", F_NUM, RMQ_N_SOCKETS_USED},
    {NULL, "sockets_total", F_NUM, RMQ_N_SOCKETS_TOTAL},
    {NULL, "proc_used", F_NUM, RMQ_N_PROC_USED},
    {NULL, "proc_total", F_NUM, RMQ_N_PROC_TOTAL},
    {NULL, "partitions", F_ARRLEN, RMQ_N_PARTITIONS},
    {NULL, "name", F_STR, RMQ_N_NAME},
};

static const struct field overview_fields[] = {
    {"object_totals", "connections", F_NUM, RMQ_O_CONNECTIONS},
    {"object_totals", "channels", F_NUM, RMQ_O_CHANNELS},
    {"object_totals", "consumers", F_NUM, RMQ_O_CONSUMERS},
    {"object_totals", "queues", F_NUM, RMQ_O_QUEUES},
    {"object_totals", "exchanges", F_NUM, RMQ_O_EXCHANGES},
    {"queue_totals", "messages", F_NUM, RMQ_O_MESSAGES},
    {"queue_totals", "messages_ready", F_NUM, RMQ_O_MESSAGES_READY},
    {"queue_totals", "messages_unacknowledged", F_NUM, RMQ_O_MESSAGES_UNACKED},
    {NULL, "cluster_name", F_STR, RMQ_O_CLUSTER_NAME},
    {NULL, "rabbitmq_version", F_STR, RMQ_O_RABBITMQ_VERSION},
    {NULL, "erlang_version", F_STR, RMQ_O_ERLANG_VERSION},
};

static const struct field vhost_fields[] = {
    {NULL, "name", F_STR, RMQ_V_NAME},
};

static const struct field consumer_fields[] = {
    {"queue", "name", F_STR, RMQ_C_QUEUE},
    {"queue", "vhost", F_STR, RMQ_C_VHOST},
};

enum container {
    C_MAP,
    C_ARRAY,
};

struct level {
    enum container type;
    size_t keylen; /* SIZE_MAX when the key was too long to match anything */
    char key[RMQ_KEY_MAX + 1];
};

struct rmq_json {
    yajl_handle h;
    enum rmq_reply_kind kind;
    const struct field *fields;
    size_t nfields;
    uint32_t required_str; /* records without these strings are skipped */
    rmq_record_fn fn;
    void *ctx;
    int cb_rc;

    int depth;     /* open containers */
    int rec_depth; /* depth of the record map while in_record, else 0 */
    bool in_record;
    bool saw_shape;  /* the top-level container had the expected shape */
    int arrlen_slot; /* F_ARRLEN slot being counted, -1 if none */
    struct level lv[RMQ_MAX_DEPTH + 1];

    struct rmq_page_info page;
    size_t nrecords;
    size_t nskipped;
    char err[160];
    struct rmq_record rec;
};

static bool key_is(const struct level *l, const char *s)
{
    size_t n = strlen(s);
    return l->keylen == n && memcmp(l->key, s, n) == 0;
}

/*
 * Find the table entry for a scalar at depth `d` (the depth of the
 * container holding it) inside the current record, or NULL.
 */
static const struct field *lookup(struct rmq_json *p, int d)
{
    const struct level *rl = &p->lv[p->rec_depth];
    if (d == p->rec_depth) {
        for (size_t i = 0; i < p->nfields; i++) {
            if (!p->fields[i].parent && key_is(rl, p->fields[i].key)) {
                return &p->fields[i];
            }
        }
        return NULL;
    }
    if (d == p->rec_depth + 1 && d <= RMQ_MAX_DEPTH && p->lv[d].type == C_MAP) {
        for (size_t i = 0; i < p->nfields; i++) {
            if (p->fields[i].parent && key_is(rl, p->fields[i].parent) &&
                key_is(&p->lv[d], p->fields[i].key)) {
                return &p->fields[i];
            }
        }
    }
    return NULL;
}

/* An element directly inside an array being counted. */
static void count_element(struct rmq_json *p)
{
    if (p->in_record && p->arrlen_slot >= 0 && p->depth == p->rec_depth + 1) {
        p->rec.num[p->arrlen_slot] += 1;
    }
}

static void meta_number(struct rmq_json *p, double v)
{
    if (p->in_record || p->depth != 1 || p->lv[1].type != C_MAP || p->kind == RMQ_REPLY_OVERVIEW) {
        return;
    }
    if (!(v >= 0 && v < 1e15)) {
        return;
    }
    if (key_is(&p->lv[1], "page")) {
        p->page.page = (long)v;
    } else if (key_is(&p->lv[1], "page_count")) {
        p->page.page_count = (long)v;
    } else if (key_is(&p->lv[1], "filtered_count")) {
        p->page.filtered_count = (long)v;
    } else if (key_is(&p->lv[1], "item_count")) {
        p->page.item_count = (long)v;
    }
}

static int on_null(void *ctx)
{
    struct rmq_json *p = ctx;
    count_element(p);
    return 1;
}

static int on_boolean(void *ctx, int b)
{
    struct rmq_json *p = ctx;
    count_element(p);
    if (!p->in_record) {
        return 1;
    }
    const struct field *f = lookup(p, p->depth);
    if (f && f->kind == F_BOOL) {
        p->rec.num[f->slot] = b ? 1 : 0;
        p->rec.have_num |= 1u << f->slot;
    }
    return 1;
}

/*
 * JSON numbers arrive as raw text. Anything strtod cannot hold as a finite
 * double (1e999, hundreds of digits) is declined: the field stays absent.
 */
static int on_number(void *ctx, const char *s, size_t len)
{
    struct rmq_json *p = ctx;
    char buf[64];
    count_element(p);
    if (len == 0 || len >= sizeof(buf)) {
        return 1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len || errno == ERANGE || !isfinite(v)) {
        return 1;
    }
    if (!p->in_record) {
        meta_number(p, v);
        return 1;
    }
    const struct field *f = lookup(p, p->depth);
    if (f && f->kind == F_NUM) {
        p->rec.num[f->slot] = v;
        p->rec.have_num |= 1u << f->slot;
    }
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct rmq_json *p = ctx;
    count_element(p);
    if (!p->in_record) {
        return 1;
    }
    const struct field *f = lookup(p, p->depth);
    if (!f || f->kind != F_STR) {
        return 1;
    }
    /* A NUL inside a label value would be cut by every consumer downstream. */
    if (len > RMQ_STR_MAX || memchr(s, '\0', len)) {
        p->rec.have_str &= ~(1u << f->slot);
        return 1;
    }
    memcpy(p->rec.str[f->slot], s, len);
    p->rec.str[f->slot][len] = '\0';
    p->rec.len[f->slot] = len;
    p->rec.have_str |= 1u << f->slot;
    return 1;
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    struct rmq_json *p = ctx;
    if (p->depth < 1 || p->depth > RMQ_MAX_DEPTH) {
        return 1;
    }
    struct level *l = &p->lv[p->depth];
    if (len > RMQ_KEY_MAX) {
        l->keylen = SIZE_MAX;
        return 1;
    }
    memcpy(l->key, s, len);
    l->key[len] = '\0';
    l->keylen = len;
    return 1;
}

static bool record_starts_here(const struct rmq_json *p)
{
    /* Called after depth was incremented for a new map. */
    if (p->in_record) {
        return false;
    }
    if (p->kind == RMQ_REPLY_OVERVIEW) {
        return p->depth == 1;
    }
    if (p->depth == 2 && p->lv[1].type == C_ARRAY) {
        return true;
    }
    return p->depth == 3 && p->lv[1].type == C_MAP && key_is(&p->lv[1], "items") &&
           p->lv[2].type == C_ARRAY;
}

static void open_container(struct rmq_json *p, enum container type)
{
    count_element(p);
    p->depth++;
    if (p->depth <= RMQ_MAX_DEPTH) {
        p->lv[p->depth].type = type;
        p->lv[p->depth].keylen = SIZE_MAX;
    }
}

static int on_start_map(void *ctx)
{
    struct rmq_json *p = ctx;
    open_container(p, C_MAP);
    if (p->depth == 1 && p->kind == RMQ_REPLY_OVERVIEW) {
        p->saw_shape = true;
    }
    if (record_starts_here(p)) {
        p->in_record = true;
        p->rec_depth = p->depth;
        p->rec.have_num = 0;
        p->rec.have_str = 0;
        p->arrlen_slot = -1;
    }
    return 1;
}

static int on_start_array(void *ctx)
{
    struct rmq_json *p = ctx;
    open_container(p, C_ARRAY);
    /* A bare list, or the list under a pagination envelope's "items". */
    if (p->kind != RMQ_REPLY_OVERVIEW &&
        (p->depth == 1 ||
         (p->depth == 2 && p->lv[1].type == C_MAP && key_is(&p->lv[1], "items")))) {
        p->saw_shape = true;
    }
    if (p->in_record && p->depth == p->rec_depth + 1) {
        const struct field *f = lookup(p, p->rec_depth);
        if (f && f->kind == F_ARRLEN) {
            p->arrlen_slot = f->slot;
            p->rec.num[f->slot] = 0;
            p->rec.have_num |= 1u << f->slot;
        }
    }
    return 1;
}

static int finish_record(struct rmq_json *p)
{
    p->in_record = false;
    p->rec_depth = 0;
    p->arrlen_slot = -1;
    if ((p->rec.have_str & p->required_str) != p->required_str) {
        p->nskipped++;
        return 1;
    }
    p->nrecords++;
    int rc = p->fn ? p->fn(&p->rec, p->ctx) : 0;
    if (rc) {
        p->cb_rc = rc;
        return 0; /* yajl reports client_canceled */
    }
    return 1;
}

static int on_end_map(void *ctx)
{
    struct rmq_json *p = ctx;
    int ok = 1;
    if (p->in_record && p->depth == p->rec_depth) {
        ok = finish_record(p);
    }
    p->depth--;
    return ok;
}

static int on_end_array(void *ctx)
{
    struct rmq_json *p = ctx;
    if (p->in_record && p->depth == p->rec_depth + 1) {
        p->arrlen_slot = -1;
    }
    p->depth--;
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

struct rmq_json *rmq_json_new(enum rmq_reply_kind kind, rmq_record_fn fn, void *ctx)
{
    struct rmq_json *p = calloc(1, sizeof(*p));
    if (!p) {
        return NULL;
    }
    p->kind = kind;
    p->fn = fn;
    p->ctx = ctx;
    p->arrlen_slot = -1;
    p->page = (struct rmq_page_info){-1, -1, -1, -1};
    switch (kind) {
    case RMQ_REPLY_QUEUES:
        p->fields = queue_fields;
        p->nfields = FROND_ARRAY_SIZE(queue_fields);
        p->required_str = (1u << RMQ_Q_NAME) | (1u << RMQ_Q_VHOST);
        break;
    case RMQ_REPLY_NODES:
        p->fields = node_fields;
        p->nfields = FROND_ARRAY_SIZE(node_fields);
        p->required_str = 1u << RMQ_N_NAME;
        break;
    case RMQ_REPLY_OVERVIEW:
        p->fields = overview_fields;
        p->nfields = FROND_ARRAY_SIZE(overview_fields);
        break;
    case RMQ_REPLY_VHOSTS:
        p->fields = vhost_fields;
        p->nfields = FROND_ARRAY_SIZE(vhost_fields);
        p->required_str = 1u << RMQ_V_NAME;
        break;
    case RMQ_REPLY_CONSUMERS:
        p->fields = consumer_fields;
        p->nfields = FROND_ARRAY_SIZE(consumer_fields);
        p->required_str = (1u << RMQ_C_QUEUE) | (1u << RMQ_C_VHOST);
        break;
    }
    p->h = yajl_alloc(&callbacks, NULL, p);
    if (!p->h) {
        free(p);
        return NULL;
    }
    return p;
}

void rmq_json_free(struct rmq_json *p)
{
    if (!p) {
        return;
    }
    yajl_free(p->h);
    free(p);
}

static int status_rc(struct rmq_json *p, yajl_status st, const void *data, size_t len)
{
    return frond_json_status(p->h, st, data, len, p->cb_rc, p->err, sizeof(p->err));
}

int rmq_json_feed(struct rmq_json *p, const void *data, size_t len)
{
    if (p->cb_rc) {
        return p->cb_rc;
    }
    return status_rc(p, yajl_parse(p->h, data, len), data, len);
}

int rmq_json_finish(struct rmq_json *p)
{
    if (p->cb_rc) {
        return p->cb_rc;
    }
    int rc = status_rc(p, yajl_complete_parse(p->h), NULL, 0);
    if (rc) {
        return rc;
    }
    if (!p->saw_shape) {
        snprintf(p->err, sizeof(p->err), "unexpected reply shape");
        return -EPROTO;
    }
    return 0;
}

const char *rmq_json_error(const struct rmq_json *p)
{
    return p->err[0] ? p->err : "no error";
}

const struct rmq_page_info *rmq_json_page(const struct rmq_json *p)
{
    return &p->page;
}

size_t rmq_json_records(const struct rmq_json *p)
{
    return p->nrecords;
}

size_t rmq_json_skipped(const struct rmq_json *p)
{
    return p->nskipped;
}

int rmq_json_parse_all(enum rmq_reply_kind kind, const void *data, size_t len, rmq_record_fn fn,
                       void *ctx, struct rmq_page_info *page)
{
    struct rmq_json *p = rmq_json_new(kind, fn, ctx);
    if (!p) {
        return -ENOMEM;
    }
    int rc = rmq_json_feed(p, data, len);
    if (!rc) {
        rc = rmq_json_finish(p);
    }
    if (page) {
        *page = p->page;
    }
    rmq_json_free(p);
    return rc;
}
