/*
 * Turning a yajl parse status into a frond return code and a one-line
 * message, the same way for every JSON reader (the RabbitMQ management
 * API replies, the Kubernetes API's pods and watch events).
 *
 * This module is its own static library, frond_json, so that only the
 * binaries that parse JSON link yajl. Pure apart from yajl's own error
 * allocation, which it frees: thread-safe for distinct handles.
 */
#ifndef FROND_JSON_H
#define FROND_JSON_H

#include <stddef.h>
#include <yajl/yajl_parse.h>

#include "frond/common.h"

/*
 * The outcome of one yajl_parse()/yajl_complete_parse() call on handle h:
 * 0 for yajl_status_ok; cb_rc (the error a callback stored before it
 * cancelled the parse) when the parse was cancelled and cb_rc is nonzero;
 * otherwise -EPROTO with "invalid JSON: <yajl's reason>" in err, without
 * yajl's trailing newline so it fits in a log line. data/len are the bytes
 * just fed (NULL, 0 after yajl_complete_parse). err is left alone unless
 * the result is -EPROTO.
 */
FROND_MUST_CHECK int frond_json_status(yajl_handle h, yajl_status st, const void *data, size_t len,
                                       int cb_rc, char *err, size_t errlen);

#endif
