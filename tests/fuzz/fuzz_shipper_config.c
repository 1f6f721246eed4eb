/*
 * libFuzzer target for frondtail's promtail-compatible config loader
 * (shipper/config.c): any input either loads into a config or fails with
 * a "name:line: reason" message, never crashes or leaks. The first byte
 * toggles ${VAR} expansion, like -config.expand-env.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    bool expand = data[0] & 1;
    struct shipper_config c;
    char err[512];
    err[0] = '\0';
    int rc =
        config_parse(&c, "fuzz.yaml", (const char *)data + 1, size - 1, expand, err, sizeof(err));
    if (rc == 0) {
        /* A loaded config is complete: a client with a URL and sane periods. */
        if (c.nclients == 0 || !c.clients[0].url || c.positions_sync_period <= 0 ||
            c.target_sync_period <= 0) {
            abort();
        }
        for (size_t i = 0; i < c.nscrapes; i++) {
            for (size_t j = 0; j < c.scrapes[i].ntargets; j++) {
                if (!c.scrapes[i].targets[j].path) {
                    abort();
                }
            }
        }
        config_cleanup(&c);
    } else if (rc == -EINVAL && strncmp(err, "fuzz.yaml", 9) != 0) {
        abort();
    }
    return 0;
}
