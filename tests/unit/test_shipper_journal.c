/*
 * Unit tests for frondtail's journal source (shipper/journal.c) on journal
 * files written by systemd-journal-remote from export format: labels from
 * fields through relabel_configs, acks turning into a committed cursor,
 * and a restart from that cursor shipping only newer entries.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "journal.h"

#define JOURNAL_REMOTE "/lib/systemd/systemd-journal-remote"

struct capture {
    pthread_mutex_t mu;
    char lines[64][64];
    char labels[64][256];
    uint64_t end[64];
    int n;
};

static int cap_push(void *ctx, const struct ship_entry *e)
{
    struct capture *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (c->n < 64) {
        snprintf(c->lines[c->n], sizeof(c->lines[0]), "%.*s", (int)e->line_len, e->line);
        snprintf(c->labels[c->n], sizeof(c->labels[0]), "%.*s", (int)e->labels_len, e->labels);
        c->end[c->n] = e->end_offset;
        c->n++;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int count(struct capture *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Poll for `want` entries, up to 10 s. */
static bool wait_for(struct capture *c, int want)
{
    for (int i = 0; i < 1000; i++) {
        if (count(c) >= want) {
            return true;
        }
        struct timespec w = {0, 10 * 1000 * 1000};
        nanosleep(&w, NULL);
    }
    return false;
}

static void write_journal(const char *dir, const char *name, int first, int n, long long base)
{
    char exp[512], cmd[1024];
    snprintf(exp, sizeof(exp), "%s/%s.export", dir, name);
    FILE *f = fopen(exp, "w");
    if (!f) {
        return;
    }
    for (int i = first; i < first + n; i++) {
        fprintf(f,
                "__CURSOR=s=0;i=%d\n__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%d\n"
                "_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=msg %d\n"
                "_SYSTEMD_UNIT=%s.service\nPRIORITY=6\n\n",
                i, base + i * 1000000LL, i + 1, i, i % 2 ? "ssh" : "cron");
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s -o %s/%s.journal - < %s 2>/dev/null", JOURNAL_REMOTE, dir, name,
             exp);
    CHECK_INT(system(cmd), 0);
}

#define CFG_TEXT                                                                                   \
    "scrape_configs:\n"                                                                            \
    "  - job_name: sys\n"                                                                          \
    "    journal:\n"                                                                               \
    "      path: %s\n"                                                                             \
    "      max_age: 1h\n"                                                                          \
    "      labels: {job: systemd-journal}\n"                                                       \
    "    relabel_configs:\n"                                                                       \
    "      - source_labels: [__journal__systemd_unit]\n"                                           \
    "        target_label: unit\n"                                                                 \
    "      - source_labels: [__journal_priority]\n"                                                \
    "        target_label: level\n"

int main(void)
{
    if (access(JOURNAL_REMOTE, X_OK) != 0) {
        fprintf(stderr, "%s is required (package systemd-journal-remote)\n", JOURNAL_REMOTE);
        return 1;
    }
    char dir[] = "/tmp/frondtail-journal-XXXXXX";
    if (!mkdtemp(dir)) {
        return 1;
    }
    long long base = (long long)time(NULL) * 1000000LL - 60 * 1000000LL;
    write_journal(dir, "a", 0, 4, base);

    char text[1024], err[256] = "";
    snprintf(text, sizeof(text), CFG_TEXT, dir);
    struct shipper_config cfg;
    CHECK_INT(config_parse(&cfg, "j.yaml", text, strlen(text), false, err, sizeof(err)), 0);
    struct capture cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct journal *j = journal_new(&cfg, &cfg.scrapes[0], 1, 77, NULL, NULL, NULL);
    CHECK(j != NULL);
    journal_set_output(j, 0, cap_push, &cap);
    CHECK_INT(journal_start(j), 0);
    CHECK(wait_for(&cap, 4));
    CHECK_STR(cap.lines[0], "msg 0");
    CHECK_STR(cap.labels[1], "{job=\"systemd-journal\", level=\"6\", unit=\"ssh.service\"}");
    CHECK_STR(journal_position_key(j), "journal-sys");
    CHECK_INT(journal_source_id(j), 77);
    /* Nothing acknowledged: no cursor yet. Acks up to entry 4 commit the checkpoint after it. */
    char *c = journal_committed_cursor(j);
    CHECK(c == NULL);
    free(c);
    journal_ack(j, 0, cap.end[1]);
    journal_ack(j, 0, cap.end[3]);
    char *cursor = NULL;
    for (int i = 0; i < 1000 && !cursor; i++) {
        cursor = journal_committed_cursor(j);
        if (!cursor) {
            struct timespec w = {0, 10 * 1000 * 1000};
            nanosleep(&w, NULL);
        }
    }
    CHECK(cursor != NULL);
    journal_free(j);

    /* A restart from the cursor ships only what came after it. */
    write_journal(dir, "b", 4, 2, base);
    memset(cap.lines, 0, sizeof(cap.lines));
    cap.n = 0;
    j = journal_new(&cfg, &cfg.scrapes[0], 1, 78, cursor, NULL, NULL);
    CHECK(j != NULL);
    journal_set_output(j, 0, cap_push, &cap);
    CHECK_INT(journal_start(j), 0);
    CHECK(wait_for(&cap, 2));
    CHECK_STR(cap.lines[0], "msg 4");
    CHECK_STR(cap.lines[1], "msg 5");
    CHECK_INT(count(&cap), 2);
    journal_free(j);
    free(cursor);
    config_cleanup(&cfg);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    return check_done("test_shipper_journal");
}
