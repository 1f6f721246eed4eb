/*
 * The positions file: how far each tailed file has been delivered to Loki,
 * so a restart resumes where the last acknowledged batch ended.
 *
 * Format: promtail's, so a promtail positions file is read on migration
 * and promtail can read ours back:
 *
 *   positions:
 *     /var/log/pods/ns_pod_uid/app/0.log: "12345"
 *     frondtail-id:/var/log/pods/ns_pod_uid/app/0.log: "dev=2049 ino=1234 fplen=1024 fp=9ae1..."
 *
 * The `frondtail-id:` keys carry the file identity (device, inode and a
 * hash of the first bytes) that rotation and inode-reuse detection need.
 * A renamed-away file that was still draining is saved under its current
 * (rotated) name with a third key,
 *
 *     frondtail-rotated-from:/var/log/pods/.../0.log.20261128-101010: "/var/log/pods/.../0.log"
 *
 * naming the path it was tailed under, so a restart finishes draining it
 * with the labels it had even though the globs no longer match its name.
 * promtail's journal cursors (`journal-<job>: <cursor>`, `cursor-...`) are
 * kept unchanged, so a migrated file is not mistaken for a corrupt one.
 * promtail keeps only one `positions` map and parses values lazily by path,
 * so these extra keys are read as positions of files that do not exist and
 * are cleaned away by promtail; nothing breaks in either direction.
 *
 * Saving is atomic: temp file, fsync, rename, fsync of the directory. A
 * file that cannot be parsed is renamed aside (`<file>.corrupt-<unix ts>`)
 * and logged, and the table starts empty: a corrupt file must never turn
 * into a crash loop.
 *
 * Ownership: struct positions owns its entries and strings. Not
 * thread-safe (the tailer thread owns it; main saves after it stopped).
 */
#ifndef FROND_SHIPPER_POSITIONS_H
#define FROND_SHIPPER_POSITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frond/common.h"

#define POSITIONS_ID_PREFIX "frondtail-id:"
#define POSITIONS_ORIG_PREFIX "frondtail-rotated-from:"

struct positions_entry {
    char *path;
    uint64_t offset;
    bool has_id; /* false for entries migrated from promtail */
    uint64_t dev;
    uint64_t ino;
    uint32_t fp_len; /* bytes hashed, 0 = empty file */
    uint64_t fp;     /* FNV-1a 64 of the first fp_len bytes */
    char *cursor;    /* promtail journal cursor ("journal-<job>" keys), kept as is; else NULL */
    /*
     * A rotated file still draining: the path it was tailed under (its
     * labels come from it). `path` is where the file lives now (the
     * rotated name, which the globs may not match). NULL for others.
     */
    char *orig;
};

struct positions {
    char *filename;
    struct positions_entry *e;
    size_t n, cap;
    bool dirty;
    /* Path index: bucket[h] and chain[i] hold entry index + 1 (0 = none). */
    size_t *bucket, *chain;
    size_t nbuckets;
};

/*
 * Load `filename` (a missing file is an empty table). A file that does not
 * parse, is empty, or is over the 64 MiB cap is renamed aside
 * (<file>.corrupt-<unix time>) and logged; *set_aside is set (may be NULL).
 * -ENOMEM, or -errno when the file exists but cannot be read (EACCES, EIO).
 */
FROND_MUST_CHECK int positions_load(struct positions *p, const char *filename, bool *set_aside);
/* Same, but a corrupt file is only logged, never renamed (-dry-run must change nothing). */
FROND_MUST_CHECK int positions_load_readonly(struct positions *p, const char *filename);
/* Parse a document from memory (used by the loader and the fuzzer). -EINVAL if invalid. */
FROND_MUST_CHECK int positions_parse(struct positions *p, const char *text, size_t len);
void positions_init(struct positions *p);
void positions_cleanup(struct positions *p);

struct positions_entry *positions_get(struct positions *p, const char *path);
/* Insert or update; -ENOMEM. */
FROND_MUST_CHECK int positions_put(struct positions *p, const struct positions_entry *e);
void positions_remove(struct positions *p, const char *path);

/* Write the table atomically to p->filename (creating its directory). 0 or -errno. */
FROND_MUST_CHECK int positions_save(struct positions *p);
/* Serialize into a heap string (the caller frees). NULL on ENOMEM. */
char *positions_format(const struct positions *p, size_t *len);

/* The fingerprint hash (FNV-1a 64), exposed for the tailer and the tests. */
uint64_t positions_fp_hash(const void *data, size_t len);

#endif
