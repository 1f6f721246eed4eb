/*
 * Positions table, loader and atomic writer. The table is a plain array:
 * one entry per tailed file (a DaemonSet node has hundreds, not millions),
 * saved every sync_period, so linear lookups cost less than the write.
 * Keys are written as YAML double-quoted strings so any path (spaces,
 * colons, quotes) round-trips through both us and promtail's yaml.v2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frond/buf.h"
#include "frond/flags.h"
#include "frond/log.h"
#include "frond/yamlcfg.h"
#include "positions.h"
#include "readfile.h"

#define POSITIONS_MAX_BYTES (64u * 1024 * 1024)

uint64_t positions_fp_hash(const void *data, size_t len)
{
    return frond_fnv1a64(data, len);
}

void positions_init(struct positions *p)
{
    memset(p, 0, sizeof(*p));
}

void positions_cleanup(struct positions *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].path);
        free(p->e[i].cursor);
        free(p->e[i].orig);
    }
    free(p->e);
    free(p->filename);
    free(p->bucket);
    free(p->chain);
    positions_init(p);
}

/*
 * A node tracks a thousand files and looks each up at every save, so the
 * table keeps a hash index. It is rebuilt whole when the array grows or
 * loses an entry (both rare); a failed rebuild leaves no index, and lookups
 * fall back to a linear scan.
 */
static void reindex(struct positions *p)
{
    free(p->bucket);
    free(p->chain);
    p->nbuckets = 16;
    while (p->nbuckets < p->cap * 2) {
        p->nbuckets *= 2;
    }
    p->bucket = calloc(p->nbuckets, sizeof(size_t));
    p->chain = calloc(p->cap ? p->cap : 1, sizeof(size_t));
    if (!p->bucket || !p->chain) {
        free(p->bucket);
        free(p->chain);
        p->bucket = p->chain = NULL;
        p->nbuckets = 0;
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        size_t h = (size_t)positions_fp_hash(p->e[i].path, strlen(p->e[i].path)) % p->nbuckets;
        p->chain[i] = p->bucket[h];
        p->bucket[h] = i + 1;
    }
}

struct positions_entry *positions_get(struct positions *p, const char *path)
{
    if (!p->bucket) {
        for (size_t i = 0; i < p->n; i++) {
            if (strcmp(p->e[i].path, path) == 0) {
                return &p->e[i];
            }
        }
        return NULL;
    }
    size_t h = (size_t)positions_fp_hash(path, strlen(path)) % p->nbuckets;
    for (size_t i = p->bucket[h]; i; i = p->chain[i - 1]) {
        if (strcmp(p->e[i - 1].path, path) == 0) {
            return &p->e[i - 1];
        }
    }
    return NULL;
}

static bool str_differ(const char *a, const char *b)
{
    return !a != !b || (a && strcmp(a, b) != 0);
}

int positions_put(struct positions *p, const struct positions_entry *e)
{
    char *cursor = NULL, *orig = NULL;
    if (e->cursor) {
        cursor = strdup(e->cursor);
        if (!cursor) {
            return -ENOMEM;
        }
    }
    if (e->orig) {
        orig = strdup(e->orig);
        if (!orig) {
            free(cursor);
            return -ENOMEM;
        }
    }
    struct positions_entry *cur = positions_get(p, e->path);
    if (cur) {
        char *path = cur->path;
        if (cur->offset != e->offset || cur->has_id != e->has_id || cur->dev != e->dev ||
            cur->ino != e->ino || cur->fp_len != e->fp_len || cur->fp != e->fp ||
            str_differ(cur->cursor, cursor) || str_differ(cur->orig, orig)) {
            p->dirty = true;
        }
        free(cur->cursor);
        free(cur->orig);
        *cur = *e;
        cur->path = path;
        cur->cursor = cursor;
        cur->orig = orig;
        return 0;
    }
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        struct positions_entry *ne = realloc(p->e, ncap * sizeof(*ne));
        if (!ne) {
            free(cursor);
            free(orig);
            return -ENOMEM;
        }
        p->e = ne;
        p->cap = ncap;
    }
    char *path = strdup(e->path);
    if (!path) {
        free(cursor);
        free(orig);
        return -ENOMEM;
    }
    p->e[p->n] = *e;
    p->e[p->n].path = path;
    p->e[p->n].cursor = cursor;
    p->e[p->n].orig = orig;
    p->n++;
    p->dirty = true;
    if (p->bucket && p->nbuckets >= p->cap * 2) {
        size_t h = (size_t)positions_fp_hash(path, strlen(path)) % p->nbuckets;
        p->chain[p->n - 1] = p->bucket[h];
        p->bucket[h] = p->n;
    } else {
        reindex(p);
    }
    return 0;
}

void positions_remove(struct positions *p, const char *path)
{
    struct positions_entry *cur = positions_get(p, path);
    if (!cur) {
        return;
    }
    free(cur->path);
    free(cur->cursor);
    free(cur->orig);
    *cur = p->e[--p->n];
    p->dirty = true;
    reindex(p);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+') {
        return -EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_hex64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s) {
        return -EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (errno || *end || *s == '-' || *s == '+') {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* "dev=2049 ino=1234 fplen=1024 fp=9ae1" -> identity fields. */
static int parse_id(const char *v, struct positions_entry *e)
{
    char buf[256];
    size_t len = strlen(v);
    if (len >= sizeof(buf)) {
        return -EINVAL;
    }
    memcpy(buf, v, len + 1);
    unsigned seen = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            return -EINVAL;
        }
        *eq = '\0';
        const char *val = eq + 1;
        uint64_t x;
        int rc;
        if (strcmp(tok, "dev") == 0) {
            rc = parse_u64(val, &e->dev);
            seen |= 1;
        } else if (strcmp(tok, "ino") == 0) {
            rc = parse_u64(val, &e->ino);
            seen |= 2;
        } else if (strcmp(tok, "fplen") == 0) {
            rc = parse_u64(val, &x);
            if (!rc && x > UINT32_MAX) {
                rc = -EINVAL;
            }
            e->fp_len = (uint32_t)x;
            seen |= 4;
        } else if (strcmp(tok, "fp") == 0) {
            rc = parse_hex64(val, &e->fp);
            seen |= 8;
        } else {
            /* Unknown fields from a newer frondtail are ignored. */
            rc = 0;
        }
        if (rc) {
            return rc;
        }
    }
    return seen == 15 ? 0 : -EINVAL;
}

int positions_parse(struct positions *p, const char *text, size_t len)
{
    struct frond_yaml_doc doc;
    char err[256];
    int rc = frond_yaml_parse("positions", text, len, &doc, err, sizeof(err));
    if (rc) {
        return -EINVAL;
    }
    const struct frond_yaml_node *root = doc.root;
    const struct frond_yaml_node *map = NULL;
    rc = -EINVAL;
    if (!root) {
        /* An empty document is a valid, empty table (promtail writes none, but accepts it). */
        rc = 0;
        goto out;
    }
    if (root->kind != FROND_YAML_MAP) {
        goto out;
    }
    for (size_t i = 0; i < root->n; i++) {
        if (strcmp(root->keys[i]->value ? root->keys[i]->value : "", "positions") != 0) {
            goto out;
        }
    }
    map = frond_yaml_get(root, "positions");
    if (frond_yaml_is_null(map)) {
        rc = 0;
        goto out;
    }
    if (map->kind != FROND_YAML_MAP) {
        goto out;
    }
    /* Offsets first, then identities, so the order in the file does not matter. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < map->n; i++) {
            const struct frond_yaml_node *k = map->keys[i], *v = map->items[i];
            if (k->kind != FROND_YAML_SCALAR || v->kind != FROND_YAML_SCALAR || !k->value ||
                !v->value) {
                goto out;
            }
            bool is_id = strncmp(k->value, POSITIONS_ID_PREFIX, strlen(POSITIONS_ID_PREFIX)) == 0;
            bool is_orig =
                strncmp(k->value, POSITIONS_ORIG_PREFIX, strlen(POSITIONS_ORIG_PREFIX)) == 0;
            bool is_cursor =
                strncmp(k->value, "journal-", 8) == 0 || strncmp(k->value, "cursor-", 7) == 0;
            if (pass == 1 && is_orig) {
                struct positions_entry *e =
                    positions_get(p, k->value + strlen(POSITIONS_ORIG_PREFIX));
                /* Like an identity, an origin without an offset is a harmless leftover. */
                if (e && *v->value && !e->cursor) {
                    char *o = strdup(v->value);
                    if (!o) {
                        rc = -ENOMEM;
                        goto out;
                    }
                    free(e->orig);
                    e->orig = o;
                }
            } else if (is_orig) {
                continue;
            } else if (pass == 0 && !is_id) {
                struct positions_entry e = {.path = k->value};
                if (is_cursor) {
                    e.cursor = v->value;
                } else if (!*k->value || parse_u64(v->value, &e.offset)) {
                    goto out;
                }
                rc = positions_put(p, &e);
                if (rc) {
                    goto out;
                }
                rc = -EINVAL;
            } else if (pass == 1 && is_id) {
                struct positions_entry *e =
                    positions_get(p, k->value + strlen(POSITIONS_ID_PREFIX));
                struct positions_entry id = {0};
                if (parse_id(v->value, &id)) {
                    goto out;
                }
                /* An identity without an offset is harmless leftover; skip it. */
                if (e) {
                    e->has_id = true;
                    e->dev = id.dev;
                    e->ino = id.ino;
                    e->fp_len = id.fp_len;
                    e->fp = id.fp;
                }
            }
        }
    }
    rc = 0;
out:
    frond_yaml_doc_cleanup(&doc);
    if (rc == 0) {
        p->dirty = false;
    }
    return rc;
}

static int load(struct positions *p, const char *filename, bool readonly, bool *set_aside);

int positions_load(struct positions *p, const char *filename, bool *set_aside)
{
    return load(p, filename, false, set_aside);
}

int positions_load_readonly(struct positions *p, const char *filename)
{
    return load(p, filename, true, NULL);
}

static int load(struct positions *p, const char *filename, bool readonly, bool *set_aside)
{
    char *text = NULL;
    size_t len = 0;
    if (set_aside) {
        *set_aside = false;
    }
    positions_init(p);
    p->filename = strdup(filename);
    if (!p->filename) {
        return -ENOMEM;
    }
    int rc = ship_read_file(filename, POSITIONS_MAX_BYTES, &text, &len);
    if (rc == -ENOENT) {
        return 0;
    }
    /*
     * Over the size cap (-ENOSPC from the bounded buffer) is no more usable
     * than a corrupt file, and refusing it would fail every start: set it
     * aside the same way. Permissions and I/O errors stay fatal, because
     * starting from 0 would re-send everything.
     */
    bool too_big = rc == -ENOSPC;
    if (rc && !too_big) {
        frond_error("cannot read positions file", "file", filename, "err", strerror(-rc));
        return rc;
    }
    /* An empty file is what a crash between create and write leaves: treat it as corrupt. */
    if (too_big || len == 0 || positions_parse(p, text ? text : "", len) != 0) {
        const char *why = too_big ? "larger than the 64 MiB cap" : len == 0 ? "empty" : "corrupt";
        for (size_t i = 0; i < p->n; i++) {
            free(p->e[i].path);
            free(p->e[i].cursor);
            free(p->e[i].orig);
        }
        p->n = 0;
        reindex(p);
        char aside[4096];
        snprintf(aside, sizeof(aside), "%s.corrupt-%lld", filename, (long long)time(NULL));
        if (readonly) {
            frond_warn("positions file is unusable; ignored (read-only)", "file", filename,
                       "reason", why);
        } else if (rename(filename, aside) != 0) {
            frond_error("positions file is unusable and cannot be set aside; starting fresh",
                        "file", filename, "reason", why, "err", strerror(errno));
        } else {
            frond_error("positions file is unusable; set aside, starting fresh", "file", filename,
                        "reason", why, "moved_to", aside);
        }
        if (set_aside) {
            *set_aside = true;
        }
        p->dirty = true;
    }
    free(text);
    return 0;
}

/* Length of the UTF-8 sequence at p and its code point, or 0 when invalid. */
static size_t utf8_next(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || p[0] > 0xF4) {
        return 0;
    }
    uint32_t v = p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF)) {
        return 0;
    }
    *cp = v;
    return n;
}

/*
 * A YAML double-quoted scalar for `s`. YAML streams are Unicode: anything
 * not printable (C0/C1 controls, DEL, BOM, U+FFFE/FFFF) is escaped, and
 * NEL/LS/PS are escaped because YAML folds them like newlines. A path that
 * is not valid UTF-8 cannot be written at all: -EILSEQ, and the caller
 * leaves that entry out rather than produce a file nobody can read.
 */
static int put_quoted(struct frond_buf *b, const char *s)
{
    int rc = frond_buf_putc(b, '"');
    for (const unsigned char *c = (const unsigned char *)s; !rc && *c;) {
        uint32_t cp;
        size_t n = utf8_next(c, &cp);
        if (n == 0) {
            return -EILSEQ;
        }
        if (cp == '"' || cp == '\\') {
            rc = frond_buf_printf(b, "\\%c", (char)cp);
        } else if (cp == 0x85) {
            rc = frond_buf_puts(b, "\\N");
        } else if (cp == 0x2028 || cp == 0x2029) {
            rc = frond_buf_puts(b, cp == 0x2028 ? "\\L" : "\\P");
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            rc = frond_buf_printf(b, "\\x%02x", (unsigned)cp);
        } else if (cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) {
            rc = frond_buf_printf(b, "\\u%04x", (unsigned)cp);
        } else {
            rc = frond_buf_append(b, c, n);
        }
        c += n;
    }
    if (!rc) {
        rc = frond_buf_putc(b, '"');
    }
    return rc;
}

/*
 * One "key: value" line. YAML allows implicit keys of at most 1024
 * characters; a longer quoted path is written as an explicit "? key" pair,
 * which both libyaml and promtail's yaml.v2 read.
 */
static int put_pair(struct frond_buf *b, const char *prefix, const char *path, const char *value)
{
    struct frond_buf key;
    frond_buf_init(&key, POSITIONS_MAX_BYTES);
    int rc = frond_buf_putc(&key, '"');
    if (!rc) {
        rc = frond_buf_puts(&key, prefix);
    }
    if (!rc) {
        /* put_quoted opens its own quote: skip it, the prefix is inside ours. */
        size_t mark = key.len;
        rc = put_quoted(&key, path);
        if (!rc) {
            memmove(key.data + mark, key.data + mark + 1, key.len - mark - 1);
            key.len--;
        }
    }
    if (!rc) {
        if (key.len > 1000) {
            rc = frond_buf_printf(b, "  ? %.*s\n  : ", (int)key.len, key.data);
        } else {
            rc = frond_buf_printf(b, "  %.*s: ", (int)key.len, key.data);
        }
    }
    if (!rc) {
        rc = put_quoted(b, value);
    }
    if (!rc) {
        rc = frond_buf_putc(b, '\n');
    }
    frond_buf_cleanup(&key);
    return rc;
}

char *positions_format(const struct positions *p, size_t *len)
{
    struct frond_buf b;
    frond_buf_init(&b, POSITIONS_MAX_BYTES);
    int rc = frond_buf_puts(&b, p->n ? "positions:\n" : "positions: {}\n");
    for (size_t i = 0; !rc && i < p->n; i++) {
        const struct positions_entry *e = &p->e[i];
        char v[128];
        snprintf(v, sizeof(v), "%" PRIu64, e->offset);
        size_t mark = b.len;
        rc = put_pair(&b, "", e->path, e->cursor ? e->cursor : v);
        if (rc == -EILSEQ) {
            b.len = mark;
        }
        if (rc == -EILSEQ) {
            /* Not representable in YAML: this file will be read again from 0 after a restart. */
            rc = 0;
            continue;
        }
        if (!rc && e->has_id) {
            snprintf(v, sizeof(v),
                     "dev=%" PRIu64 " ino=%" PRIu64 " fplen=%" PRIu32 " fp=%016" PRIx64, e->dev,
                     e->ino, e->fp_len, e->fp);
            rc = put_pair(&b, POSITIONS_ID_PREFIX, e->path, v);
        }
        if (!rc && e->orig && !e->cursor) {
            rc = put_pair(&b, POSITIONS_ORIG_PREFIX, e->path, e->orig);
            if (rc == -EILSEQ) {
                /* The origin cannot be written: drop the whole entry, as for its path. */
                b.len = mark;
                rc = 0;
            }
        }
    }
    if (rc) {
        frond_buf_cleanup(&b);
        return NULL;
    }
    return frond_buf_take(&b, len);
}

static int mkdirs(const char *dir)
{
    char tmp[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof(tmp)) {
        return len ? -ENAMETOOLONG : 0;
    }
    memcpy(tmp, dir, len + 1);
    for (char *s = tmp + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return -errno;
            }
            *s = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

int positions_save(struct positions *p)
{
    char tmp[4200], dir[4096];
    size_t len = 0;
    int fd = -1, rc = 0;
    char *text = positions_format(p, &len);
    if (!text) {
        return -ENOMEM;
    }
    snprintf(dir, sizeof(dir), "%s", p->filename);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (slash == dir) {
            dir[1] = '\0';
        }
    } else {
        dir[0] = '.';
        dir[1] = '\0';
    }
    rc = mkdirs(dir);
    if (rc) {
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", p->filename);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -errno;
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, p->filename) != 0) {
        rc = -errno;
        goto out;
    }
    /* The rename is durable only once the directory entry is. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    p->dirty = false;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(text);
    return rc;
}
