/*
 * Fuzz target: result documents to samples (exporters/usage/result.c).
 * The first byte picks the value field and the sample limit; the rest is
 * read as a stream of BSON documents, as they would arrive in a cursor.
 * Every label and value conversion runs on every top-level field too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *fields[] = {"k", "_id.status", "a.b.c", "arr.0", "count"};
    static char *names[] = {"k", "status", "abc", "arr0", "count"};
    static char *values[] = {"count", "n", "_id.v", "v"};
    if (size < 1) {
        return 0;
    }
    struct usage_metric m;
    memset(&m, 0, sizeof(m));
    m.name = "fuzz";
    m.value = values[data[0] & 3];
    m.label_fields = fields;
    m.label_names = names;
    m.nlabels = 1 + ((data[0] >> 2) & 3);
    m.max_samples = (data[0] & 0x80) ? 3 : 10000;

    struct usage_result r;
    struct frond_buf lab;
    usage_result_init(&r, m.nlabels, m.max_samples);
    frond_buf_init(&lab, 1 << 20);
    bson_reader_t *rd = bson_reader_new_from_data(data + 1, size - 1);
    const bson_t *doc;
    bool eof = false;
    while ((doc = bson_reader_read(rd, &eof)) != NULL) {
        bson_iter_t it;
        if (bson_iter_init(&it, doc)) {
            while (bson_iter_next(&it)) {
                double v;
                enum usage_skip why;
                (void)usage_value_of(&it, &v, &why);
                frond_buf_reset(&lab);
                if (usage_label_of(&it, &lab) != 0) {
                    break;
                }
            }
        }
        bson_t out = BSON_INITIALIZER;
        int rc = usage_bson_subst_now(doc, &out, 0);
        bson_destroy(&out);
        if (rc == -ENOMEM || usage_result_add_doc(&r, &m, doc) != 0) {
            break;
        }
        /* Sealing between documents: what follows must still map and deduplicate. */
        if (data[0] & 0x40) {
            usage_result_seal(&r);
        }
    }
    if (usage_result_add_plain(&r, 1) != 0) {
        /* Out of memory is the only failure, and the cleanup below handles it. */
    }
    bson_reader_destroy(rd);
    frond_buf_cleanup(&lab);
    usage_result_cleanup(&r);
    return 0;
}
