/*
 * Environment-variable expansion of configuration text, as promtail's
 * -config.expand-env: the loaders of YAML config files
 * (frond_yaml_load_file) run it over a whole file before parsing.
 *
 * Ownership: the caller owns `out`; the expansion is appended to it, and
 * on failure what was appended so far stays there. Thread-safe as long as
 * nothing changes the environment meanwhile (it reads getenv()).
 */
#ifndef FROND_ENV_H
#define FROND_ENV_H

#include <stddef.h>

#include "frond/buf.h"
#include "frond/common.h"

/*
 * Expand ${VAR}, ${VAR:-default} and $VAR like promtail's -config.expand-env
 * (backed by Go's os.ExpandEnv plus defaults); "$$" is a literal "$".
 * Unset variables expand to "". -ENOSPC/-ENOMEM from the buffer.
 */
FROND_MUST_CHECK int frond_expand_env(const char *in, size_t len, struct frond_buf *out);

#endif
