/*
 * libFuzzer target for the web config parser (frond_webconfig_parse): any
 * bytes must give 0 or -EINVAL with a message, never a crash, a leak or a
 * hang. Certificate paths in fuzzed input may point anywhere; the parser
 * reads only regular files, so /dev/stdin or a FIFO cannot block a run.
 * A config that parses is also asked to check a password, which exercises
 * the bcrypt path and its cache (cheap: corpus hashes use cost 4).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frond/webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frond_webconfig wc;
    char err[512];
    int rc = frond_webconfig_parse("fuzz.yml", (const char *)data, size, &wc, err, sizeof(err));

    if (rc == 0) {
        /* Costs above 6 are legal but make a run take seconds; check only cheap hashes. */
        if (frond_webconfig_has_auth(&wc) && wc.users[0].hash[4] == '0' &&
            wc.users[0].hash[5] <= '6') {
            (void)frond_webconfig_check_auth(&wc, wc.users[0].name, "password");
            (void)frond_webconfig_check_auth(&wc, "nobody-has-this-name", "password");
        }
    } else if (rc != -EINVAL || err[0] == '\0') {
        abort();
    }
    frond_webconfig_cleanup(&wc);
    return 0;
}
