/*
 * libFuzzer target for flags.c: the input is split on newlines into argv
 * (the first line is the value of an environment variable that one flag
 * falls back to) and parsed against a flag table with every type and
 * option, then every token also goes through each value parser directly.
 * Run with -close_fd_mask=3: --help and the error lines are printed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frond/flags.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_values(const char *s)
{
    double d;
    long l;
    bool b;

    (void)!frond_parse_duration(s, &d);
    (void)!frond_parse_bytes(s, &l);
    (void)!frond_parse_long(s, &l);
    (void)!frond_parse_double(s, &d);
    (void)!frond_parse_bool(s, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *argv[MAX_ARGS + 2];
    int argc = 0;
    struct frond_common_opts co;
    char *uri = NULL, *label = NULL;
    bool dry = false;
    double dur = 0, ratio = 0;
    long bytes = 0;
    struct frond_flag flags[] = {
        FROND_COMMON_FLAGS(&co, ":9216"),
        {"mongodb.uri", FROND_FLAG_STRING, &uri, NULL, "FUZZ_FLAGS_URI", "URI.", FROND_FLAG_SECRET,
         false},
        {"label", FROND_FLAG_STRING, &label, "a", NULL, "Label.", FROND_FLAG_REPEAT, false},
        {"dry-run", FROND_FLAG_BOOL, &dry, "false", "FUZZ_FLAGS_DRY", "Dry run.", 0, false},
        {"batchwait", FROND_FLAG_DURATION, &dur, "1s", "FUZZ_FLAGS_DUR", "Wait.", 0, false},
        {"ratio", FROND_FLAG_DOUBLE, &ratio, "0.5", NULL, "Ratio.", 0, false},
        {"batchsize", FROND_FLAG_BYTES, &bytes, "1MiB", "FUZZ_FLAGS_BYTES", "Size.", 0, false},
    };
    struct frond_flagset fs = {"frond_fuzz", "Fuzzing.", flags, FROND_ARRAY_SIZE(flags)};
    char *p, *line;
    int rc;

    if (size > 4096) {
        return 0;
    }
    text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    /* Secret files are read from the paths given; keep devices and pseudo files out. */
    if (strstr(text, "/dev") || strstr(text, "/proc") || strstr(text, "/sys")) {
        free(text);
        return 0;
    }
    argv[argc++] = "frond_fuzz";
    p = text;
    line = strsep(&p, "\n");
    if (*line) {
        setenv("FUZZ_FLAGS_URI", line, 1);
        setenv("FUZZ_FLAGS_DUR", line, 1);
        setenv("FUZZ_FLAGS_BYTES", line, 1);
        setenv("FUZZ_FLAGS_DRY", line, 1);
    } else {
        unsetenv("FUZZ_FLAGS_URI");
        unsetenv("FUZZ_FLAGS_DUR");
        unsetenv("FUZZ_FLAGS_BYTES");
        unsetenv("FUZZ_FLAGS_DRY");
    }
    parse_values(line);
    while (p && argc < MAX_ARGS) {
        line = strsep(&p, "\n");
        argv[argc++] = line;
        parse_values(line);
    }
    argv[argc] = NULL;
    rc = frond_flags_parse(&fs, argc, argv);
    if (rc == 0) {
        /* Values a successful parse produced must be usable. */
        if (co.listen_address) {
            (void)strlen(co.listen_address);
        }
        if (label) {
            (void)strlen(label);
        }
    }
    frond_flags_free(&fs);
    if (uri || label || co.listen_address || co.log_level) {
        abort(); /* frond_flags_free must leave every string NULL */
    }
    free(text);
    return 0;
}
