/*
 * metrics_demo: a small program on libfrond that exposes every metric type
 * with known values and serves them with frond_http and the common
 * exporter flags. The integration tests scrape it with promtool and a real
 * Prometheus and compare exact values; it is also the foundation's demo.
 *
 * What it exposes (all values fixed, so tests can assert them):
 *   demo_requests_total{code,method}            counter: 1027 and 3
 *   demo_temperature_celsius{room}              gauge: 21.5 and -4.25
 *   demo_label_escaping{case,value}             gauge 1 per awkward label value:
 *                                               `"`, `\`, newline, non-ASCII
 *   demo_special_values{kind}                   gauge: NaN, +Inf, -Inf
 *   demo_request_duration_seconds               histogram: 0.05 0.2 0.3 0.7 2 observed
 *                                               in buckets 0.1 0.5 1
 *   demo_backend_state{demo_backend_state}      stateset: "degraded" of up/degraded/down
 *   demo_build_info{version,commit}             info
 *   demo_scrape_deadline_remaining_seconds      gauge: deadline minus now, seen by a collector
 *   demo_collect_slept_seconds                  gauge: how long the slow collector slept
 *   process_*, frond_build_info                 from frond_process_register_metrics()
 *
 * `metrics_demo --hash-password` reads a password on stdin and prints its
 * bcrypt hash for a web config's basic_auth_users (like `htpasswd -nBC 10`).
 */
#include <crypt.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frond/flags.h"
#include "frond/http.h"
#include "frond/log.h"
#include "frond/process.h"
#include "frond/registry.h"

struct demo {
    double collect_delay; /* --demo.collect-delay, seconds */
    long series;          /* --demo.series: extra demo_bulk series, for large bodies */
};

static int hash_password(void)
{
    char line[1024], salt[64];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h;
    size_t n;
    int rc = 1;

    if (!cd || !fgets(line, sizeof(line), stdin)) {
        fprintf(stderr, "metrics_demo: --hash-password reads a password on stdin\n");
        goto out;
    }
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (!crypt_gensalt_rn("$2y$", 10, NULL, 0, salt, sizeof(salt))) {
        fprintf(stderr, "metrics_demo: crypt_gensalt: %s\n", strerror(errno));
        goto out;
    }
    h = crypt_r(line, salt, cd);
    if (!h || h[0] != '$') {
        fprintf(stderr, "metrics_demo: bcrypt failed\n");
        goto out;
    }
    printf("%s\n", h);
    rc = 0;
out:
    explicit_bzero(line, sizeof(line));
    free(cd);
    return rc;
}

/* Sleep up to `seconds`, but never past the scrape deadline (0 = none). */
static double sleep_until(double seconds, double deadline)
{
    double start = frond_now_monotonic(), until = start + seconds;
    struct timespec ts;

    if (deadline > 0 && deadline < until) {
        until = deadline;
    }
    while (frond_now_monotonic() < until) {
        double left = until - frond_now_monotonic();
        if (left <= 0) {
            break;
        }
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
    }
    return frond_now_monotonic() - start;
}

/* Families that only a collector can build: stateset, info and the deadline probes. */
static int demo_collect(struct frond_scrape *s, void *ctx)
{
    static const char *const states[] = {"up", "degraded", "down"};
    struct demo *d = ctx;
    struct frond_family *f;
    double deadline = frond_scrape_deadline(s);
    int rc;

    f = frond_scrape_family(s, "demo_backend_state", FROND_STATESET,
                            "State of the demo backend, one of up, degraded, down.");
    if (!f) {
        return -ENOMEM;
    }
    rc = frond_scrape_stateset(s, f, 0, NULL, states, FROND_ARRAY_SIZE(states), "degraded");
    if (rc) {
        return rc;
    }
    f = frond_scrape_family(s, "demo_build_info", FROND_INFO, "Build of the demo backend.");
    if (!f) {
        return -ENOMEM;
    }
    rc = frond_scrape_sample(s, f, 1, {"version", "1.2.3"}, {"commit", "abc123"});
    if (rc) {
        return rc;
    }
    if (d->collect_delay > 0) {
        double slept = sleep_until(d->collect_delay, deadline);
        f = frond_scrape_family(s, "demo_collect_slept_seconds", FROND_GAUGE,
                                "How long the slow collector slept (bounded by the deadline).");
        if (!f) {
            return -ENOMEM;
        }
        rc = frond_scrape_sample0(s, f, slept);
        if (rc) {
            return rc;
        }
    }
    if (d->series > 0) {
        f = frond_scrape_family(s, "demo_bulk", FROND_GAUGE,
                                "Filler series (--demo.series) that make the body large.");
        if (!f) {
            return -ENOMEM;
        }
        for (long i = 0; i < d->series && !rc; i++) {
            char v[24];
            snprintf(v, sizeof(v), "%ld", i);
            rc = frond_scrape_sample(s, f, (double)i, {"series", v}, {"kind", "filler"});
        }
        if (rc) {
            return rc;
        }
    }
    /* Absent when the scrape has no deadline: no sentinel values. */
    if (deadline > 0) {
        f = frond_scrape_family(s, "demo_scrape_deadline_remaining_seconds", FROND_GAUGE,
                                "Seconds left before the scrape deadline, seen by a collector.");
        if (!f) {
            return -ENOMEM;
        }
        rc = frond_scrape_sample0(s, f, deadline - frond_now_monotonic());
    }
    return rc;
}

static int demo_register(struct frond_registry *reg, struct demo *d)
{
    static const char *const code_method[] = {"code", "method", NULL};
    static const char *const room[] = {"room", NULL};
    static const char *const case_value[] = {"case", "value", NULL};
    static const char *const kind[] = {"kind", NULL};
    static const double buckets[] = {0.1, 0.5, 1};
    static const double observations[] = {0.05, 0.2, 0.3, 0.7, 2};
    static const char *const escapes[][2] = {
        {"quote", "say \"hi\""},
        {"backslash", "C:\\dir\\file"},
        {"newline", "line one\nline two"},
        {"unicode", "Grüße, 世界 ☃"},
    };
    struct frond_metric *m;
    struct frond_series *s;
    int rc;

    m = frond_registry_counter(reg, "demo_requests_total", "Requests served by the demo backend.",
                               code_method);
    if (!m) {
        return -ENOMEM;
    }
    s = frond_metric_series(m, (const char *const[]){"200", "get"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_add(s, 1027);
    s = frond_metric_series(m, (const char *const[]){"400", "post"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_add(s, 3);

    m = frond_registry_gauge(reg, "demo_temperature_celsius",
                             "Temperature by room. Help with a \\ backslash and a\nnewline.", room);
    if (!m) {
        return -ENOMEM;
    }
    s = frond_metric_series(m, (const char *const[]){"kitchen"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_set(s, 21.5);
    s = frond_metric_series(m, (const char *const[]){"freezer"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_set(s, -4.25);

    m = frond_registry_gauge(reg, "demo_label_escaping",
                             "Always 1; label values that need escaping.", case_value);
    if (!m) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < FROND_ARRAY_SIZE(escapes); i++) {
        s = frond_metric_series(m, escapes[i]);
        if (!s) {
            return -ENOMEM;
        }
        frond_series_set(s, 1);
    }

    m = frond_registry_gauge(reg, "demo_special_values", "NaN and infinities.", kind);
    if (!m) {
        return -ENOMEM;
    }
    s = frond_metric_series(m, (const char *const[]){"nan"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_set(s, NAN);
    s = frond_metric_series(m, (const char *const[]){"pos_inf"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_set(s, INFINITY);
    s = frond_metric_series(m, (const char *const[]){"neg_inf"});
    if (!s) {
        return -ENOMEM;
    }
    frond_series_set(s, -INFINITY);

    m = frond_registry_histogram(reg, "demo_request_duration_seconds",
                                 "Request latency of the demo backend.", NULL, buckets,
                                 FROND_ARRAY_SIZE(buckets));
    if (!m) {
        return -ENOMEM;
    }
    s = frond_metric_series(m, NULL);
    if (!s) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < FROND_ARRAY_SIZE(observations); i++) {
        frond_series_observe(s, observations[i]);
    }

    rc = frond_registry_add_collector(reg, demo_collect, d);
    if (rc) {
        return rc;
    }
    return frond_process_register_metrics(reg, "metrics_demo");
}

int main(int argc, char **argv)
{
    struct frond_common_opts co;
    struct demo d;
    struct frond_flag flags[] = {
        FROND_COMMON_FLAGS(&co, "127.0.0.1:9900"),
        {"demo.collect-delay", FROND_FLAG_DURATION, &d.collect_delay, "0s", NULL,
         "Make a collector sleep this long (bounded by the scrape deadline) at each scrape.", 0,
         false},
        {"demo.series", FROND_FLAG_INT, &d.series, "0", NULL,
         "Add this many demo_bulk series to every scrape (large bodies).", 0, false},
    };
    struct frond_flagset fs = {"metrics_demo",
                               "Serves every frond metric type with known values (tests, demo).",
                               flags, FROND_ARRAY_SIZE(flags)};
    struct frond_registry *reg = NULL;
    struct frond_http *h = NULL;
    struct frond_http_opts ho;
    int rc, err = 0, code = FROND_EXIT_FAILURE;

    if (argc == 2 && strcmp(argv[1], "--hash-password") == 0) {
        return hash_password();
    }
    memset(&co, 0, sizeof(co));
    memset(&d, 0, sizeof(d));
    rc = frond_flags_parse(&fs, argc, argv);
    if (rc) {
        code = rc > 0 ? FROND_EXIT_OK : FROND_EXIT_USAGE;
        goto out;
    }
    if (frond_log_setup(co.log_level, co.log_format)) {
        fprintf(stderr, "metrics_demo: invalid --log.level or --log.format\n");
        code = FROND_EXIT_USAGE;
        goto out;
    }
    if (frond_process_init()) {
        frond_error("cannot install signal handlers");
        goto out;
    }
    reg = frond_registry_new();
    if (!reg || demo_register(reg, &d)) {
        frond_error("cannot build the registry");
        goto out;
    }
    memset(&ho, 0, sizeof(ho));
    ho.listen_address = co.listen_address;
    ho.telemetry_path = co.telemetry_path;
    ho.web_config_file = co.web_config_file;
    ho.name = "frond metrics demo";
    ho.description = "Every libfrond metric type with known values.";
    ho.max_connections = co.max_requests > 0 ? (unsigned)co.max_requests : 40;
    ho.timeout_offset = co.scrape_timeout_offset;
    h = frond_http_start(reg, &ho, &err);
    if (!h) {
        code = err == -EINVAL ? FROND_EXIT_USAGE : FROND_EXIT_FAILURE;
        goto out;
    }
    frond_process_run(NULL, NULL);
    code = FROND_EXIT_OK;
out:
    frond_http_stop(h);
    frond_registry_free(reg);
    frond_flags_free(&fs);
    return code;
}
