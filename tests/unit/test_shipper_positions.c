/*
 * Unit tests for frondtail's positions file (shipper/positions.c): round
 * trip with identities, promtail files read on migration, odd paths, and
 * corrupt or empty files set aside instead of failing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "positions.h"

static char dir[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int count_aside(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".corrupt-")) {
            n++;
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void test_round_trip(void)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/sub/dir/positions.yaml", dir);
    struct positions p;
    CHECK_INT(positions_load(&p, file, NULL), 0);
    CHECK_INT(p.n, 0);
    struct positions_entry a = {.path = "/var/log/pods/a_b_c/x/0.log",
                                .offset = 123,
                                .has_id = true,
                                .dev = 2049,
                                .ino = 77,
                                .fp_len = 1024,
                                .fp = 0xdeadbeefcafef00dULL};
    struct positions_entry b = {.path = "/odd path/with \"quotes\" and: colon\\x", .offset = 0};
    CHECK_INT(positions_put(&p, &a), 0);
    CHECK_INT(positions_put(&p, &b), 0);
    CHECK(p.dirty);
    CHECK_INT(positions_save(&p), 0);
    CHECK(!p.dirty);
    positions_cleanup(&p);

    CHECK_INT(positions_load(&p, file, NULL), 0);
    CHECK_INT(p.n, 2);
    struct positions_entry *e = positions_get(&p, a.path);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->offset, 123);
        CHECK(e->has_id);
        CHECK_INT(e->dev, 2049);
        CHECK_INT(e->ino, 77);
        CHECK_INT(e->fp_len, 1024);
        CHECK(e->fp == 0xdeadbeefcafef00dULL);
    }
    e = positions_get(&p, b.path);
    CHECK(e != NULL && !e->has_id && e->offset == 0);
    positions_remove(&p, a.path);
    CHECK(positions_get(&p, a.path) == NULL);
    CHECK_INT(p.n, 1);
    positions_cleanup(&p);
}

/*
 * A rotated file still draining is saved under its current name with the
 * path it was tailed under; both survive a save and load, the origin is
 * dropped again when the entry becomes a plain one, and the extra key
 * never turns the file into a corrupt one (a key order with the origin
 * first, or an origin without an offset, still loads).
 */
static void test_rotated_entries(void)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/rotated.yaml", dir);
    struct positions p;
    CHECK_INT(positions_load(&p, file, NULL), 0);
    struct positions_entry live = {.path = "/var/log/pods/ns_pod_u/app/0.log",
                                   .offset = 10,
                                   .has_id = true,
                                   .dev = 1,
                                   .ino = 2,
                                   .fp_len = 5,
                                   .fp = 0x1234};
    struct positions_entry rot = {.path = "/var/log/pods/ns_pod_u/app/0.log.20261128-101010",
                                  .offset = 4096,
                                  .has_id = true,
                                  .dev = 1,
                                  .ino = 3,
                                  .fp_len = 1024,
                                  .fp = 0xabcdef,
                                  .orig = "/var/log/pods/ns_pod_u/app/0.log"};
    CHECK_INT(positions_put(&p, &live), 0);
    CHECK_INT(positions_put(&p, &rot), 0);
    CHECK_INT(positions_save(&p), 0);
    /* Re-putting the same entry changes nothing; a new origin does. */
    CHECK_INT(positions_put(&p, &rot), 0);
    CHECK(!p.dirty);
    size_t len = 0;
    char *text = positions_format(&p, &len);
    CHECK(text != NULL);
    CHECK(text && strstr(text, "\"" POSITIONS_ORIG_PREFIX
                               "/var/log/pods/ns_pod_u/app/0.log.20261128-101010\": "
                               "\"/var/log/pods/ns_pod_u/app/0.log\"") != NULL);
    free(text);
    positions_cleanup(&p);

    CHECK_INT(positions_load(&p, file, NULL), 0);
    CHECK_INT(p.n, 2);
    struct positions_entry *e = positions_get(&p, rot.path);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->offset, 4096);
        CHECK(e->has_id && e->dev == 1 && e->ino == 3 && e->fp_len == 1024 && e->fp == 0xabcdef);
        CHECK(e->orig && strcmp(e->orig, live.path) == 0);
    }
    e = positions_get(&p, live.path);
    CHECK(e != NULL && e->orig == NULL && e->offset == 10);
    /* Renamed back into the globs: a plain entry again, origin gone. */
    rot.orig = NULL;
    CHECK_INT(positions_put(&p, &rot), 0);
    CHECK(p.dirty);
    e = positions_get(&p, rot.path);
    CHECK(e != NULL && e->orig == NULL);
    positions_remove(&p, rot.path);
    CHECK_INT(p.n, 1);
    positions_cleanup(&p);

    /* Key order does not matter; an origin for a path with no offset is ignored. */
    write_file(file, "positions:\n"
                     "  \"frondtail-rotated-from:/r/0.log.1\": \"/r/0.log\"\n"
                     "  \"frondtail-rotated-from:/nowhere\": \"/r/1.log\"\n"
                     "  \"frondtail-id:/r/0.log.1\": \"dev=1 ino=9 fplen=0 fp=0\"\n"
                     "  \"/r/0.log.1\": \"77\"\n");
    bool aside = true;
    CHECK_INT(positions_load(&p, file, &aside), 0);
    CHECK(!aside);
    CHECK_INT(p.n, 1);
    e = positions_get(&p, "/r/0.log.1");
    CHECK(e != NULL && e->offset == 77 && e->has_id && e->ino == 9 && e->orig &&
          strcmp(e->orig, "/r/0.log") == 0);
    positions_cleanup(&p);
}

static void test_promtail_file(void)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/promtail.yaml", dir);
    /* What promtail writes (yaml.v2 marshal of map[string]string), including a journal cursor. */
    write_file(file, "positions:\n  /var/log/a.log: \"4096\"\n  /var/log/b.log: \"0\"\n"
                     "  journal-default: s=abc;i=1\n");
    struct positions p;
    bool aside = true;
    CHECK_INT(positions_load(&p, file, &aside), 0);
    /* promtail's journal cursor is kept as it is, and written back unchanged. */
    CHECK(!aside);
    CHECK_INT(p.n, 3);
    struct positions_entry *j = positions_get(&p, "journal-default");
    CHECK(j && j->cursor && strcmp(j->cursor, "s=abc;i=1") == 0);
    CHECK_INT(positions_save(&p), 0);
    positions_cleanup(&p);
    CHECK_INT(positions_load(&p, file, &aside), 0);
    j = positions_get(&p, "journal-default");
    CHECK(j && j->cursor && strcmp(j->cursor, "s=abc;i=1") == 0);
    positions_cleanup(&p);
    write_file(file, "positions:\n  /var/log/a.log: \"4096\"\n  /var/log/b.log: \"0\"\n");
    CHECK_INT(positions_load(&p, file, &aside), 0);
    CHECK(!aside);
    CHECK_INT(p.n, 2);
    struct positions_entry *e = positions_get(&p, "/var/log/a.log");
    CHECK(e && e->offset == 4096 && !e->has_id);
    positions_cleanup(&p);
    /* An identity line without a position is ignored; unknown id fields too. */
    write_file(file, "positions:\n  frondtail-id:/x: \"dev=1 ino=2 fplen=3 fp=4 new=5\"\n"
                     "  /y: 5\n");
    CHECK_INT(positions_load(&p, file, &aside), 0);
    CHECK(!aside);
    CHECK_INT(p.n, 1);
    positions_cleanup(&p);
}

static void test_corrupt(void)
{
    const char *bad[] = {"",
                         "positions: [1, 2]\n",
                         "positions:\n  /a: \"-1\"\n",
                         "positions:\n  /a: \"12x\"\n",
                         "other: {}\n",
                         "\t\x01garbage: [",
                         "positions:\n  /a: \"1\"\n  frondtail-id:/a: \"dev=1\"\n",
                         "positions:\n  /a: {x: 1}\n"};
    char file[512];
    snprintf(file, sizeof(file), "%s/corrupt.yaml", dir);
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        int before = count_aside();
        write_file(file, bad[i]);
        struct positions p;
        bool aside = false;
        CHECK_INT(positions_load(&p, file, &aside), 0);
        CHECK(aside);
        CHECK_INT(p.n, 0);
        CHECK(access(file, F_OK) != 0);
        /* Two corrupt files within one second share a name; at least one is kept aside. */
        CHECK(count_aside() >= (before ? before : 1));
        positions_cleanup(&p);
    }
    /* Read-only (dry-run): a corrupt file is ignored and left where it is. */
    write_file(file, "positions: [oops]\n");
    struct positions ro;
    CHECK_INT(positions_load_readonly(&ro, file), 0);
    CHECK_INT(ro.n, 0);
    CHECK(access(file, F_OK) == 0);
    positions_cleanup(&ro);
    /* An empty map and an empty mapping value are fine. */
    write_file(file, "positions: {}\n");
    struct positions p;
    bool aside = true;
    CHECK_INT(positions_load(&p, file, &aside), 0);
    CHECK(!aside);
    positions_cleanup(&p);
}

/*
 * A file over the 64 MiB cap would fail every start if refused: it is set
 * aside like a corrupt one. A file that cannot be read at all (EACCES, a
 * directory) stays a startup error, since starting from 0 re-sends all.
 */
static void test_oversized_and_unreadable(void)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/big.yaml", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    const char *head = "positions:\n  \"/a\": \"1\"\n";
    CHECK_INT(write(fd, head, strlen(head)), (long)strlen(head));
    /* Sparse: 64 MiB + 1 of size without writing it all. */
    CHECK_INT(ftruncate(fd, 64L * 1024 * 1024 + 1), 0);
    close(fd);
    int before = count_aside();
    struct positions p;
    bool aside = false;
    CHECK_INT(positions_load(&p, file, &aside), 0);
    CHECK(aside);
    CHECK_INT(p.n, 0);
    CHECK(access(file, F_OK) != 0);
    CHECK(count_aside() > before);
    positions_cleanup(&p);

    snprintf(file, sizeof(file), "%s/adir.yaml", dir);
    CHECK_INT(mkdir(file, 0700), 0);
    aside = false;
    CHECK(positions_load(&p, file, &aside) < 0);
    CHECK(!aside);
    positions_cleanup(&p);
    rmdir(file);
    if (geteuid() != 0) {
        snprintf(file, sizeof(file), "%s/noperm.yaml", dir);
        write_file(file, "positions: {}\n");
        CHECK_INT(chmod(file, 0), 0);
        CHECK_INT(positions_load(&p, file, &aside), -EACCES);
        CHECK(!aside);
        CHECK(access(file, F_OK) == 0);
        positions_cleanup(&p);
    }
}

static void test_unicode_paths(void)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/unicode.yaml", dir);
    struct positions p;
    CHECK_INT(positions_load(&p, file, NULL), 0);
    struct positions_entry c1 = {.path = "/c1\xc2\x81 nel\xc2\x85 ls\xe2\x80\xa8 bom\xef\xbb\xbf "
                                         "\xc3\xa9\xf0\x9f\x98\x80\t",
                                 .offset = 7};
    struct positions_entry bad = {.path = "/invalid\xff\xfe", .offset = 9};
    CHECK_INT(positions_put(&p, &c1), 0);
    CHECK_INT(positions_put(&p, &bad), 0);
    /* The invalid UTF-8 path is left out; the rest of the file stays readable. */
    CHECK_INT(positions_save(&p), 0);
    positions_cleanup(&p);
    bool aside = true;
    CHECK_INT(positions_load(&p, file, &aside), 0);
    CHECK(!aside);
    CHECK_INT(p.n, 1);
    struct positions_entry *e = positions_get(&p, c1.path);
    CHECK(e && e->offset == 7);
    positions_cleanup(&p);
}

static void test_many(void)
{
    struct positions p;
    positions_init(&p);
    char path[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof(path), "/var/log/pods/p%d/c/0.log", i);
        struct positions_entry e = {.path = path, .offset = (uint64_t)i};
        CHECK_INT(positions_put(&p, &e), 0);
    }
    for (int i = 0; i < 3000; i += 2) {
        snprintf(path, sizeof(path), "/var/log/pods/p%d/c/0.log", i);
        positions_remove(&p, path);
    }
    CHECK_INT(p.n, 1500);
    int ok = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof(path), "/var/log/pods/p%d/c/0.log", i);
        struct positions_entry *e = positions_get(&p, path);
        ok += (i % 2) ? (e && e->offset == (uint64_t)i) : (e == NULL);
    }
    CHECK_INT(ok, 3000);
    positions_cleanup(&p);
}

static void test_format_empty(void)
{
    struct positions p;
    positions_init(&p);
    size_t len = 0;
    char *s = positions_format(&p, &len);
    CHECK_STR(s, "positions: {}\n");
    free(s);
    CHECK(positions_fp_hash("", 0) == 1469598103934665603ULL);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/frondtail-positions-XXXXXX");
    if (!mkdtemp(dir)) {
        return 1;
    }
    test_round_trip();
    test_rotated_entries();
    test_promtail_file();
    test_corrupt();
    test_oversized_and_unreadable();
    test_unicode_paths();
    test_many();
    test_format_empty();
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cleanup failed\n");
    }
    return check_done("test_shipper_positions");
}
