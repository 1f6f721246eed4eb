/*
 * Fuzz target: the usage exporter's config loader (YAML tree, YAML-to-JSON
 * conversion, extended-JSON queries, placeholders, names). Any input must
 * give a config or a "file:line" error, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>

#include <mongoc/mongoc.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mongoc_init();
    /* libmongoc logs every bad URI it parses; at fuzzing speed that is only noise. */
    mongoc_log_set_handler(NULL, NULL);
    /* Referenced by the seeds' ${} URIs, so expansion paths are exercised. */
    setenv("FUZZ_USAGE_URI", "mongodb://u:p@127.0.0.1:1/?directConnection=true", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct usage_config *cfg = NULL;
    char err[512];
    if (usage_config_parse("fuzz.yml", (const char *)data, size, &cfg, err, sizeof(err)) == 0) {
        /* Exercise the run-time placeholder substitution on every loaded query. */
        for (size_t i = 0; i < cfg->nmetrics; i++) {
            bson_t out = BSON_INITIALIZER;
            if (usage_bson_subst_now(cfg->metrics[i].query, &out, 1700000000000) != 0) {
                /* Only placeholders that passed the loader get here; both outcomes are fine. */
            }
            bson_destroy(&out);
        }
    }
    usage_config_free(cfg);
    return 0;
}
