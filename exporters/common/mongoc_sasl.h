/*
 * Cyrus SASL for the exporters that talk to MongoDB: GSSAPI only.
 *
 * libmongoc uses Cyrus SASL for exactly one mechanism, GSSAPI (Kerberos);
 * SCRAM, PLAIN, X.509 and MONGODB-AWS are its own code. Cyrus, though,
 * dlopen()s every plugin in its plugin directory when it is initialised:
 * with Debian's libsasl2-modules-db that is the sasldb plugin and Berkeley
 * DB, with libsasl2-modules seven more, 0.3 to 0.55 MiB of every process
 * for code that can never run. Cyrus keeps the callbacks of the first
 * sasl_client_init() call for good, so mongoc_sasl.c makes that first call
 * from a constructor that runs before libmongoc's own initialisation (which
 * runs from a constructor too), with a file filter that admits only the
 * GSSAPI plugin (libgssapiv2, from libsasl2-modules-gssapi-mit) and the
 * thread-safe mutexes libmongoc would have installed.
 *
 * That ordering holds when libmongoc is linked into the binary
 * (FROND_MONGOC_STATIC, cmake/FrondMongoc.cmake). With the shared
 * libmongoc, whose constructor runs first, Cyrus has already loaded its
 * plugins; everything still works, with the extra memory.
 */
#ifndef EXPORTER_MONGOC_SASL_H
#define EXPORTER_MONGOC_SASL_H

#include <stdbool.h>

/* Whether Cyrus may load the plugin at `path`: only libgssapiv2*. */
bool exporter_mongoc_sasl_plugin_wanted(const char *path);

/*
 * True when Cyrus offers no mechanism but GSSAPI and its built-in EXTERNAL:
 * frond's filter is the one Cyrus used (false when libmongoc initialised
 * Cyrus first and it loaded every plugin).
 */
bool exporter_mongoc_sasl_gssapi_only(void);

#endif
