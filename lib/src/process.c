/*
 * Process plumbing (see frond/process.h). Signal handlers only write one
 * byte to a self-pipe; everything else happens in the main loop, so no
 * non-async-signal-safe code ever runs in a handler.
 */
#include "frond/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "frond/log.h"

static int pipe_fds[2] = {-1, -1};
static atomic_int stop_requested;

static void on_signal(int sig)
{
    int saved = errno;
    char c = sig == SIGHUP ? 'h' : 's';
    if (sig != SIGHUP) {
        atomic_store(&stop_requested, 1);
    }
    ssize_t w = write(pipe_fds[1], &c, 1);
    (void)w;
    errno = saved;
}

int frond_process_init(void)
{
    if (pipe_fds[0] >= 0) {
        return 0;
    }
    if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return -errno;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0) {
        return -errno;
    }
    /* A peer closing a socket mid-write must be an error code, not a death. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void frond_process_tune_malloc(int arenas)
{
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, arenas > 0 ? arenas : 1);
}

int frond_process_event_fd(void)
{
    return pipe_fds[0];
}

int frond_process_stopping(void)
{
    return atomic_load(&stop_requested);
}

enum frond_event frond_process_wait(double timeout)
{
    struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
    int ms = timeout < 0 ? -1 : (int)(timeout * 1000.0);
    for (;;) {
        char c;
        ssize_t n = read(pipe_fds[0], &c, 1);
        if (n == 1) {
            return c == 'h' ? FROND_EV_RELOAD : FROND_EV_STOP;
        }
        if (atomic_load(&stop_requested)) {
            return FROND_EV_STOP;
        }
        int rc = poll(&pfd, 1, ms);
        if (rc == 0) {
            return FROND_EV_TIMEOUT;
        }
        if (rc < 0 && errno != EINTR) {
            return FROND_EV_TIMEOUT;
        }
    }
}

void frond_process_run(int (*reload)(void *ctx), void *ctx)
{
    double wd = frond_notify_watchdog_interval();
    frond_notify_ready();
    for (;;) {
        enum frond_event ev = frond_process_wait(wd > 0 ? wd : -1);
        if (ev == FROND_EV_STOP) {
            frond_info("received stop signal, shutting down");
            frond_notify_stopping();
            return;
        }
        if (ev == FROND_EV_RELOAD) {
            frond_notify_reloading();
            if (reload) {
                int rc = reload(ctx);
                frond_info("reload finished", "result", rc == 0 ? "success" : "failure");
            } else {
                frond_info("SIGHUP received; nothing to reload");
            }
            frond_notify_ready();
        }
        if (wd > 0) {
            frond_notify_watchdog();
        }
    }
}

/* ---- process metrics, read from /proc like client_golang's process collector ---- */

struct proc_stat {
    double cpu_seconds;
    double vsize;
    double rss;
    double start_time;
};

static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    char line[256];
    double btime = 0;
    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            btime = strtod(line + 6, NULL);
            break;
        }
    }
    fclose(f);
    return btime;
}

static int read_proc_stat(struct proc_stat *ps)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -EIO;
    }
    buf[n] = '\0';
    /* The command name may contain spaces and parentheses: parse after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p) {
        return -EIO;
    }
    p += 2;
    unsigned long utime = 0, stime = 0, vsize = 0;
    unsigned long long starttime = 0;
    long rss = 0;
    /* Fields 3..24 of proc(5); we skip what we do not need. */
    int got = sscanf(p,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                     "%*d %llu %lu %ld",
                     &utime, &stime, &starttime, &vsize, &rss);
    if (got != 5) {
        return -EIO;
    }
    double tck = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    ps->cpu_seconds = (double)(utime + stime) / tck;
    ps->vsize = (double)vsize;
    ps->rss = (double)rss * page;
    ps->start_time = boot_time() + (double)starttime / tck;
    return 0;
}

static double count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    double n = 0;
    if (!d) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    /* Do not count the descriptor opendir itself used. */
    return n > 0 ? n - 1 : 0;
}

struct process_ctx {
    char program[64];
};

static struct process_ctx process_ctx_storage;

static int collect_process(struct frond_scrape *s, void *ctx)
{
    struct process_ctx *pc = ctx;
    struct proc_stat ps;
    struct frond_family *f;
    if (read_proc_stat(&ps) == 0) {
        f = frond_scrape_family(s, "process_cpu_seconds_total", FROND_COUNTER,
                                "Total user and system CPU time spent in seconds.");
        frond_scrape_sample0(s, f, ps.cpu_seconds);
        f = frond_scrape_family(s, "process_resident_memory_bytes", FROND_GAUGE,
                                "Resident memory size in bytes.");
        frond_scrape_sample0(s, f, ps.rss);
        f = frond_scrape_family(s, "process_virtual_memory_bytes", FROND_GAUGE,
                                "Virtual memory size in bytes.");
        frond_scrape_sample0(s, f, ps.vsize);
        f = frond_scrape_family(s, "process_start_time_seconds", FROND_GAUGE,
                                "Start time of the process since unix epoch in seconds.");
        frond_scrape_sample0(s, f, ps.start_time);
    }
    f = frond_scrape_family(s, "process_open_fds", FROND_GAUGE, "Number of open file descriptors.");
    frond_scrape_sample0(s, f, count_open_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        f = frond_scrape_family(s, "process_max_fds", FROND_GAUGE,
                                "Maximum number of open file descriptors.");
        frond_scrape_sample0(s, f, rl.rlim_cur == RLIM_INFINITY ? 1e308 : (double)rl.rlim_cur);
    }
    f = frond_scrape_family(s, "frond_build_info", FROND_GAUGE,
                            "A metric with a constant '1' value labeled by version, revision and "
                            "program from which frond was built.");
    frond_scrape_sample(s, f, 1, {"program", pc->program}, {"revision", FROND_REVISION},
                        {"version", FROND_VERSION});
    return 0;
}

int frond_process_register_metrics(struct frond_registry *reg, const char *program)
{
    snprintf(process_ctx_storage.program, sizeof(process_ctx_storage.program), "%s",
             program ? program : "");
    return frond_registry_add_collector(reg, collect_process, &process_ctx_storage);
}
