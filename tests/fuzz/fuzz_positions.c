/*
 * libFuzzer target for the positions file loader (shipper/positions.c):
 * parse the input; when it is accepted, write the table back out and parse
 * that again, which must give the same entries (the writer's quoting must
 * survive any path the reader accepted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "positions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct positions p, q;
    positions_init(&p);
    positions_init(&q);
    if (positions_parse(&p, (const char *)data, size) == 0) {
        size_t len = 0;
        char *text = positions_format(&p, &len);
        if (!text) {
            abort();
        }
        if (positions_parse(&q, text, len) != 0 || q.n != p.n) {
            abort();
        }
        for (size_t i = 0; i < p.n; i++) {
            struct positions_entry *a = &p.e[i], *b = positions_get(&q, a->path);
            if (!b || b->offset != a->offset || b->has_id != a->has_id ||
                !a->cursor != !b->cursor || (a->cursor && strcmp(a->cursor, b->cursor) != 0) ||
                !a->orig != !b->orig || (a->orig && strcmp(a->orig, b->orig) != 0) ||
                (a->has_id && (b->dev != a->dev || b->ino != a->ino || b->fp != a->fp ||
                               b->fp_len != a->fp_len))) {
                abort();
            }
        }
        free(text);
    }
    positions_cleanup(&p);
    positions_cleanup(&q);
    return 0;
}
