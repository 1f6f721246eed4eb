/*
 * Unit tests of exporters/common/mongoc_sasl.c: Cyrus SASL may load only
 * the GSSAPI plugin, and in a binary with libmongoc linked in (the default
 * build) it really loads nothing else, whatever libsasl2-modules* packages
 * the machine has.
 */
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "check.h"
#include "mongoc_sasl.h"

static void test_plugin_filter(void)
{
    const char *dir = "/usr/lib/x86_64-linux-gnu/sasl2/";
    char path[256];
    static const char *const wanted[] = {"libgssapiv2.so", "libgssapiv2.so.2",
                                         "libgssapiv2.so.2.0.25"};
    static const char *const unwanted[] = {
        "libsasldb.so", "libplain.so", "libscram.so", "libgs2.so",
        "libgssapi.so", "libgssapiv2", "gssapiv2.so", ""};
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", dir, wanted[i]);
        CHECK(exporter_mongoc_sasl_plugin_wanted(path));
        CHECK(exporter_mongoc_sasl_plugin_wanted(wanted[i]));
    }
    for (size_t i = 0; i < sizeof(unwanted) / sizeof(unwanted[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", dir, unwanted[i]);
        CHECK(!exporter_mongoc_sasl_plugin_wanted(path));
    }
    CHECK(!exporter_mongoc_sasl_plugin_wanted(NULL));
}

/* Mapped files under a sasl2/ plugin directory other than the GSSAPI plugin. */
static int other_plugins_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int n = 0;
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "/sasl2/");
        if ((p && !strstr(p, "/sasl2/libgssapiv2.")) || strstr(line, "/libdb-")) {
            fprintf(stderr, "mapped: %s", line);
            n++;
        }
    }
    fclose(f);
    return n;
}

static void test_only_gssapi_loaded(void)
{
    mongoc_init();
    int others = other_plugins_mapped();
#if FROND_MONGOC_STATIC
    CHECK(exporter_mongoc_sasl_gssapi_only());
    CHECK_INT(others, 0);
#else
    /* The shared libmongoc initialised Cyrus before frond could. */
    fprintf(stderr, "libmongoc is shared: %d mappings of other Cyrus plugins\n", others);
#endif
    mongoc_cleanup();
}

int main(void)
{
    test_plugin_filter();
    test_only_gssapi_loaded();
    return check_done("test_mongoc_sasl");
}
