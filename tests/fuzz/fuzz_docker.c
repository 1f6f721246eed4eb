/*
 * libFuzzer target for the Docker json-file parser (shipper/parse.c). The driver
 * and its invariants are shared by every line format: fuzz_parse_lines.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_parse_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_parse_lines(PARSE_DOCKER, data, size);
}
