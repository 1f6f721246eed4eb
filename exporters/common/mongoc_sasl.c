/*
 * Cyrus SASL restricted to the GSSAPI plugin (see mongoc_sasl.h).
 */
#include "mongoc_sasl.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

bool exporter_mongoc_sasl_plugin_wanted(const char *path)
{
    if (!path) {
        return false;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libgssapiv2.", strlen("libgssapiv2.")) == 0;
}

bool exporter_mongoc_sasl_gssapi_only(void)
{
    const char **mechs = sasl_global_listmech();
    for (size_t i = 0; mechs && mechs[i]; i++) {
        if (strcmp(mechs[i], "GSSAPI") != 0 && strcmp(mechs[i], "EXTERNAL") != 0) {
            return false;
        }
    }
    return true;
}

/* Cyrus calls this for every plugin file and config file it considers. */
static int verify_file(void *context, const char *file, sasl_verify_type_t type)
{
    (void)context;
    if (type != SASL_VRFY_PLUGIN) {
        return SASL_OK;
    }
    return exporter_mongoc_sasl_plugin_wanted(file) ? SASL_OK : SASL_CONTINUE;
}

/*
 * Cyrus's own mutexes are no-ops; libmongoc installs pthread ones before
 * its sasl_client_init(), and Cyrus ignores sasl_set_mutex() once
 * initialised, so frond installs the equivalent first.
 */
static void *mutex_alloc(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    if (m && pthread_mutex_init(m, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}

static int mutex_lock(void *m)
{
    return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int mutex_unlock(void *m)
{
    return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void mutex_free(void *m)
{
    if (m) {
        pthread_mutex_destroy(m);
        free(m);
    }
}

static const sasl_callback_t sasl_callbacks[] = {
    {SASL_CB_VERIFYFILE, (int (*)(void))(void (*)(void))verify_file, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/*
 * Priority 101 runs before every constructor without a priority in the same
 * binary, libmongoc's included. A second sasl_client_init() (libmongoc's)
 * only counts a reference, so each side's sasl_client_done() pairs with its
 * own init.
 */
__attribute__((constructor(101))) static void sasl_init_gssapi_only(void)
{
    sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
    (void)sasl_client_init(sasl_callbacks); /* on failure libmongoc's own init decides */
}

__attribute__((destructor(101))) static void sasl_done_gssapi_only(void)
{
    sasl_client_done();
}
