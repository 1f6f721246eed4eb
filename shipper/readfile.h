/*
 * Reading a whole small file (the config, the positions file) into memory
 * under a size bound, so that every reader of a frondtail file obeys the
 * same limit and retries EINTR the same way.
 *
 * Ownership: *out is a fresh heap string (NUL-terminated) the caller
 * frees; it may be NULL for an empty file read with a bound under 64 KiB.
 * Failure: -errno from open() or read(), -ENOSPC when the file does not
 * fit in `max` bytes with 64 KiB to spare, -ENOMEM; nothing is returned
 * in *out then. Thread-safety: none needed, it shares no state.
 */
#ifndef FROND_SHIPPER_READFILE_H
#define FROND_SHIPPER_READFILE_H

#include <stddef.h>

#include "frond/common.h"

FROND_MUST_CHECK int ship_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
