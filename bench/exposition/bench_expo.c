/*
 * Exposition benchmark: how long libfrond takes to build and render a
 * large scrape, and how much memory an idle frond HTTP server holds.
 *
 *   bench_expo [--families N] [--series N] [--iterations N]
 *       Registers one collector that builds N families x N label sets
 *       (2 or 3 labels each, like an exporter's per-queue metrics) at every
 *       scrape, renders it --iterations times per format, and prints a
 *       table: ms per render (min and median), MB/s, bytes.
 *
 *   bench_expo --serve [--listen ADDR]
 *       Serves a small registry (process metrics and a few direct metrics,
 *       like an idle exporter) with frond_http on ADDR (default
 *       127.0.0.1:0), prints "port N" once listening, and runs until
 *       SIGTERM. run.sh reads its VmRSS.
 *
 * Timing is CLOCK_MONOTONIC wall time of frond_registry_render(), which
 * includes running the collector, duplicate detection, sorting and
 * writing; the process is single-threaded while measuring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "frond/common.h"
#include "frond/expo.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/process.h"
#include "frond/registry.h"

struct shape {
    long families;
    long series;
    /* --preformatted: label values built once, so only libfrond's work is timed. */
    char (*labels)[3][48];
};

static const char *const family_names[] = {
    "bench_queue_messages_ready",
    "bench_queue_messages_unacked",
    "bench_queue_published_total",
    "bench_queue_delivered_total",
    "bench_queue_consumers",
    "bench_queue_memory_bytes",
    "bench_queue_head_message_timestamp",
    "bench_queue_redelivered_total",
    "bench_queue_acked_total",
    "bench_queue_process_reductions_total",
};

/*
 * The shape of a RabbitMQ exporter's per-queue families: counters get
 * integer values, gauges values with a few decimals (both common), one
 * family in ten a value that needs all 17 digits.
 */
static int collect_bench(struct frond_scrape *s, void *ctx)
{
    const struct shape *sh = ctx;
    char vhost[32], queue[48], node[32];
    for (long f = 0; f < sh->families; f++) {
        char fname[96];
        if (f < (long)FROND_ARRAY_SIZE(family_names)) {
            snprintf(fname, sizeof(fname), "%s", family_names[f]);
        } else {
            snprintf(fname, sizeof(fname), "bench_family_%ld", f);
        }
        int counter = strstr(fname, "_total") != NULL;
        struct frond_family *fam =
            frond_scrape_family(s, fname, counter ? FROND_COUNTER : FROND_GAUGE,
                                "Benchmark family shaped like per-queue metrics.");
        if (!fam) {
            return -ENOMEM;
        }
        for (long k = 0; k < sh->series; k++) {
            const char *vh = vhost, *qu = queue, *no = node;
            if (sh->labels) {
                vh = sh->labels[k][0];
                qu = sh->labels[k][1];
                no = sh->labels[k][2];
            } else {
                snprintf(vhost, sizeof(vhost), "vhost-%ld", k % 17);
                snprintf(queue, sizeof(queue), "orders.queue.%ld", k);
                snprintf(node, sizeof(node), "rabbit@node-%ld", k % 3);
            }
            double v;
            if (counter) {
                v = (double)(k * 7919 % 1000003);
            } else if (f % 10 == 9) {
                v = (double)k / 3.0;
            } else {
                v = (double)k + (double)(k % 1000) / 1000.0;
            }
            int rc;
            if (f % 2 == 0) {
                rc = frond_scrape_sample(s, fam, v, {"vhost", vh}, {"queue", qu}, {"node", no});
            } else {
                rc = frond_scrape_sample(s, fam, v, {"vhost", vh}, {"queue", qu});
            }
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

/* CPU time of this thread: unlike wall time, not inflated by other processes on the core. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of this process in MiB, or -1. */
static double rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtod(line + 6, NULL);
        }
    }
    if (f) {
        fclose(f);
    }
    return kb < 0 ? -1 : kb / 1024.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_render(const struct shape *sh, long iterations)
{
    int rc = 0;
    struct frond_buf out;
    double *times = calloc((size_t)iterations, sizeof(double));
    double *cpu = calloc((size_t)iterations, sizeof(double));
    struct frond_registry *reg = frond_registry_new();
    frond_buf_init(&out, (size_t)1 << 30);
    if (!times || !cpu || !reg) {
        rc = -ENOMEM;
        goto out;
    }
    rc = frond_registry_add_collector(reg, collect_bench, (void *)sh);
    if (rc) {
        goto out;
    }
    printf(
        "%ld families x %ld label sets = %ld series, %ld renders per format; label values %s\n\n",
        sh->families, sh->series, sh->families * sh->series, iterations,
        sh->labels ? "pre-formatted (libfrond only)" : "formatted by the collector (snprintf)");
    printf("| format | wall ms/render (min) | wall ms/render (median) | CPU ms/render (median) | "
           "MB/s (median wall) | bytes |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    static const enum frond_expo_format fmts[] = {FROND_EXPO_TEXT, FROND_EXPO_OPENMETRICS};
    static const char *const names[] = {"text 0.0.4", "OpenMetrics 1.0.0"};
    for (size_t fi = 0; fi < FROND_ARRAY_SIZE(fmts); fi++) {
        /* One warm-up render: the arena cache and the output buffer reach their size. */
        rc = frond_registry_render(reg, fmts[fi], 0, &out);
        if (rc) {
            goto out;
        }
        for (long i = 0; i < iterations; i++) {
            double t0 = frond_now_monotonic();
            double c0 = thread_cpu();
            rc = frond_registry_render(reg, fmts[fi], 0, &out);
            cpu[i] = thread_cpu() - c0;
            times[i] = frond_now_monotonic() - t0;
            if (rc) {
                goto out;
            }
        }
        qsort(times, (size_t)iterations, sizeof(double), cmp_double);
        qsort(cpu, (size_t)iterations, sizeof(double), cmp_double);
        double med = times[iterations / 2];
        printf("| %s | %.1f | %.1f | %.1f | %.0f | %zu |\n", names[fi], times[0] * 1e3, med * 1e3,
               cpu[iterations / 2] * 1e3, (double)out.len / med / 1e6, out.len);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak RSS of the render benchmark: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    /* Between scrapes: the registry stays, the rendered body has been sent and freed. */
    frond_buf_cleanup(&out);
    printf("RSS between scrapes (registry kept, output buffer freed): %.1f MiB\n", rss_mib());
out:
    if (rc) {
        fprintf(stderr, "render failed: %s\n", strerror(-rc));
    }
    frond_buf_cleanup(&out);
    frond_registry_free(reg);
    free(times);
    free(cpu);
    return rc ? 1 : 0;
}

static int run_serve(const char *listen)
{
    int rc = 0, err = 0;
    struct frond_http *http = NULL;
    struct frond_registry *reg = frond_registry_new();
    if (!reg) {
        return 1;
    }
    rc = frond_process_init();
    if (rc) {
        goto out;
    }
    rc = frond_process_register_metrics(reg, "bench_expo");
    if (rc) {
        goto out;
    }
    /* A few direct metrics, like an exporter's own bookkeeping. */
    static const char *const reason[] = {"reason", NULL};
    struct frond_metric *errs =
        frond_registry_counter(reg, "bench_scrape_errors_total", "Scrape errors.", reason);
    static const char *const timeout[] = {"timeout"};
    frond_series_inc(frond_metric_series(errs, timeout));
    struct frond_http_opts o = {
        .listen_address = listen,
        .name = "frond exposition benchmark",
        .description = "An idle frond HTTP server for RSS measurement.",
    };
    http = frond_http_start(reg, &o, &err);
    if (!http) {
        rc = err ? err : -EINVAL;
        goto out;
    }
    printf("port %u\n", frond_http_port(http));
    fflush(stdout);
    frond_process_run(NULL, NULL);
out:
    frond_http_stop(http);
    frond_registry_free(reg);
    return rc ? 1 : 0;
}

static long arg_long(const char *s, const char *flag)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v <= 0) {
        fprintf(stderr, "%s: not a positive integer: %s\n", flag, s);
        exit(FROND_EXIT_USAGE);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct shape sh = {.families = 10, .series = 10000};
    long iterations = 20;
    int serve = 0, preformatted = 0;
    const char *listen = "127.0.0.1:0";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--serve") == 0) {
            serve = 1;
        } else if (strcmp(argv[i], "--preformatted") == 0) {
            preformatted = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--listen") == 0) {
            listen = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--families") == 0) {
            sh.families = arg_long(argv[++i], "--families");
        } else if (i + 1 < argc && strcmp(argv[i], "--series") == 0) {
            sh.series = arg_long(argv[++i], "--series");
        } else if (i + 1 < argc && strcmp(argv[i], "--iterations") == 0) {
            iterations = arg_long(argv[++i], "--iterations");
        } else {
            fprintf(
                stderr,
                "usage: %s [--families N] [--series N] [--iterations N] [--preformatted] | --serve "
                "[--listen ADDR]\n",
                argv[0]);
            return FROND_EXIT_USAGE;
        }
    }
    if (serve) {
        return run_serve(listen);
    }
    if (preformatted) {
        sh.labels = calloc((size_t)sh.series, sizeof(*sh.labels));
        if (!sh.labels) {
            return 1;
        }
        for (long k = 0; k < sh.series; k++) {
            snprintf(sh.labels[k][0], sizeof(sh.labels[k][0]), "vhost-%ld", k % 17);
            snprintf(sh.labels[k][1], sizeof(sh.labels[k][1]), "orders.queue.%ld", k);
            snprintf(sh.labels[k][2], sizeof(sh.labels[k][2]), "rabbit@node-%ld", k % 3);
        }
    }
    int rc = run_render(&sh, iterations);
    free(sh.labels);
    return rc;
}
