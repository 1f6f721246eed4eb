/*
 * What the parts of frondtail's config loader share (config.c: the reading
 * primitives, the root and kubernetes_metadata; config_client.c: clients;
 * config_scrape.c: scrape_configs). Not for use outside shipper/config*.c.
 *
 * Ownership: the readers replace the member they fill and free the old
 * value; on failure they leave it as it was. Failure: 0, -EINVAL with
 * "name:line: reason" in x->err, or -ENOMEM. Thread-safety: one load at a
 * time per struct ctx; nothing is shared between loads.
 */
#ifndef FROND_SHIPPER_CONFIG_INT_H
#define FROND_SHIPPER_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "frond/common.h"
#include "frond/yamlcfg.h"
#include "labels.h"

/* One load: the document and where its first error goes. */
struct ctx {
    const struct frond_yaml_doc *doc;
    char *err;
    size_t errlen;
};

/*
 * A key read into a member of the struct its section fills, so that a
 * section of plain keys is a table rather than a run of reads. The reads
 * run in table order and stop at the first error.
 */
enum field_kind { FIELD_STR, FIELD_DUR, FIELD_BYTES, FIELD_NUM, FIELD_BOOL };

struct field {
    const char *key;
    enum field_kind kind;
    size_t at; /* offsetof the member: char *, double, long, long, bool by kind */
};

/*
 * FIELD() refuses to compile when the member's type is not the one its kind
 * writes: the table reaches the member through an offset, so a mismatch
 * would otherwise corrupt memory silently.
 */
#define FIELD_TYPE_FIELD_STR char *
#define FIELD_TYPE_FIELD_DUR double
#define FIELD_TYPE_FIELD_BYTES long
#define FIELD_TYPE_FIELD_NUM long
#define FIELD_TYPE_FIELD_BOOL bool
#define FIELD(type, member, key, kind)                                                             \
    {                                                                                              \
        key, kind,                                                                                 \
            offsetof(type, member) +                                                               \
                0 * sizeof(char[_Generic(((type *)0)->member, FIELD_TYPE_##kind : 1, default       \
                                         : -1)])                                                   \
    }

/* The reading primitives (config.c); an absent or null key keeps the default. */
FROND_MUST_CHECK int cfg_check(struct ctx *x, const struct frond_yaml_node *map,
                               const char *const *known, const char *where);
FROND_MUST_CHECK int cfg_str(struct ctx *x, const struct frond_yaml_node *map, const char *key,
                             char **out);
FROND_MUST_CHECK int cfg_num(struct ctx *x, const struct frond_yaml_node *map, const char *key,
                             long *out);
FROND_MUST_CHECK int cfg_read_fields(struct ctx *x, const struct frond_yaml_node *map, void *dst,
                                     const struct field *f, size_t n);
FROND_MUST_CHECK int cfg_read_section(struct ctx *x, const struct frond_yaml_node *parent,
                                      const char *key, const char *const *known, const char *where,
                                      void *dst, const struct field *fields, size_t n);
const struct frond_yaml_node *cfg_key_of(const struct frond_yaml_node *map, const char *key);
FROND_MUST_CHECK int cfg_string_map(struct ctx *x, const struct frond_yaml_node *n,
                                    const char *what, bool label_names, struct labels_set *out);
void cfg_ignored(struct ctx *x, const struct frond_yaml_node *map, const char *key);

/* clients (config_client.c). */
FROND_MUST_CHECK int cfg_load_client(struct ctx *x, const struct frond_yaml_node *n,
                                     struct ship_client_config *cc);
int cfg_url_line(const struct frond_yaml_node *client);
FROND_MUST_CHECK int cfg_add_client(struct shipper_config *c, struct ship_client_config **out);

/* scrape_configs (config_scrape.c). */
void cfg_scrape_cleanup(struct scrape_config *s);
FROND_MUST_CHECK int cfg_load_scrape(struct ctx *x, const struct frond_yaml_node *n,
                                     struct scrape_config *s);

#endif
