/*
 * The systemd journal as a frondtail source (promtail's `journal:` scrape
 * config). One thread per journal scrape config reads entries with
 * sd-journal, turns every field into a `__journal_<field>` label (lower
 * case, like promtail) for relabel_configs, and ships MESSAGE (or, with
 * `json: true`, every field as a JSON object) with the entry's realtime
 * timestamp.
 *
 * Positions: a journal position is a cursor, not an offset. Entries carry
 * a sequence number as their end_offset; every 100 entries (and whenever
 * the journal runs dry) the reader records a checkpoint (sequence,
 * cursor). The committed cursor is the newest checkpoint every output has
 * acknowledged, saved under promtail's key `journal-<job_name>`, so the
 * next start resumes after it.
 *
 * Ownership: struct journal borrows the config and outputs. Thread-safety:
 * journal_ack() and journal_committed_cursor() may be called from any
 * thread; the rest from main.
 */
#ifndef FROND_SHIPPER_JOURNAL_H
#define FROND_SHIPPER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "frond/common.h"
#include "frond/registry.h"
#include "tail.h"

struct journal;

/*
 * Prepare a reader for `sc` (which has sc->journal). `cursor` is the saved
 * position (may be NULL). `entries` is a counter family with a `job` label,
 * `skipped` one with `job` and `reason` labels (entries not shipped: no
 * MESSAGE, empty labels after relabeling, a JSON line over the size
 * limit; a MESSAGE over it is truncated and counted as "truncated", but
 * shipped); either may be NULL. NULL on failure (logged).
 */
struct journal *journal_new(const struct shipper_config *cfg, const struct scrape_config *sc,
                            size_t noutputs, uint64_t source_id, const char *cursor,
                            struct frond_metric *entries, struct frond_metric *skipped);
void journal_set_output(struct journal *j, size_t i, tail_push_fn push, void *ctx);
/* Open the journal and start the reader thread. 0 or a negative errno (logged). */
FROND_MUST_CHECK int journal_start(struct journal *j);
/* Stop the reader thread (entries already pushed stay with the outputs). */
void journal_stop(struct journal *j);
void journal_free(struct journal *j);

uint64_t journal_source_id(const struct journal *j);
/* Output `i` delivered every entry up to sequence `end_offset`. */
void journal_ack(struct journal *j, size_t i, uint64_t end_offset);
/* The positions key ("journal-<job_name>"). */
const char *journal_position_key(const struct journal *j);
/* A copy of the committed cursor, or NULL when none yet (caller frees). */
char *journal_committed_cursor(struct journal *j);

#endif
