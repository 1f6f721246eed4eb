/*
 * Fuzz target of frond_mongodb_exporter's reply → metrics mapping. The
 * input is one flag byte followed by up to six BSON documents, back to
 * back, standing for the replies of one scrape in fetch order:
 * serverStatus, replSetGetStatus, replSetGetConfig, the first and last
 * oplog entry finds, and collStats. Each document is taken with
 * bson_init_static and kept only if bson_validate accepts its structure
 * (libmongoc hands the exporter structurally valid documents, but any
 * field may hold any type). Flag bits: 0 the server is up, 1
 * replSetGetStatus failed with "not a replica set", 2 render
 * OpenMetrics instead of text. The mapping runs in a real registry
 * render, so label escaping and duplicate handling are exercised too.
 */
#include <stdint.h>
#include <string.h>

#include "frond/buf.h"
#include "frond/log.h"
#include "frond/registry.h"
#include "mongo.h"

static int fuzz_collect(struct frond_scrape *s, void *ctx)
{
    return mongo_map_replies(s, ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mongo_replies r;
    bson_t docs[6];
    struct mongo_reply *slots[6];
    struct frond_registry *reg;
    struct frond_buf out;
    uint8_t flags;
    size_t off = 1;

    if (size < 1) {
        return 0;
    }
    frond_log_set_level(FROND_LOG_ERROR);
    flags = data[0];
    mongo_replies_init(&r);
    slots[0] = &r.server_status;
    slots[1] = &r.rs_status;
    slots[2] = &r.rs_config;
    slots[3] = &r.oplog_first;
    slots[4] = &r.oplog_last;
    slots[5] = &r.oplog_stats;
    r.up = flags & 1;

    for (size_t i = 0; i < 6 && size - off >= 5; i++) {
        uint32_t len;
        size_t err_off = 0;
        memcpy(&len, data + off, 4);
        len = BSON_UINT32_FROM_LE(len);
        if (len < 5 || len > size - off) {
            break;
        }
        /*
         * The mapping reads the replies through libmongoc's own copies
         * (heap documents), so a static view is copied the same way.
         */
        if (bson_init_static(&docs[i], data + off, len) &&
            bson_validate(&docs[i], BSON_VALIDATE_NONE, &err_off)) {
            slots[i]->attempted = true;
            slots[i]->ok = true;
            slots[i]->doc = bson_copy(&docs[i]);
        }
        off += len;
    }
    if ((flags & 2) && !r.rs_status.ok) {
        r.rs_status.attempted = true;
        r.rs_status.domain = MONGOC_ERROR_SERVER;
        r.rs_status.code = (flags & 8) ? 94 : 76;
    }

    reg = frond_registry_new();
    frond_buf_init(&out, 4 << 20);
    if (reg && frond_registry_add_collector(reg, fuzz_collect, &r) == 0) {
        /* -ENOSPC or -ENOMEM are fine outcomes here; only crashes and leaks are findings. */
        int rc = frond_registry_render(reg, (flags & 4) ? FROND_EXPO_OPENMETRICS : FROND_EXPO_TEXT,
                                       0, &out);
        (void)rc;
    }
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
    mongo_replies_cleanup(&r);
    return 0;
}
