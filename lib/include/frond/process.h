/*
 * Process plumbing shared by every frond binary: signals (SIGTERM/SIGINT to
 * stop, SIGHUP to reload), systemd notification (READY, RELOADING,
 * STOPPING, WATCHDOG, the sd_notify protocol, when NOTIFY_SOCKET is set; no-ops
 * otherwise), the standard process_* metrics and frond_build_info.
 *
 * Signals are turned into events with a self-pipe, so the main loop never
 * runs code in a signal handler. frond_process_init() must be called once
 * from main before any thread starts (it blocks nothing but sets handlers).
 */
#ifndef FROND_PROCESS_H
#define FROND_PROCESS_H

#include "frond/common.h"
#include "frond/registry.h"

enum frond_event {
    FROND_EV_TIMEOUT = 0,
    FROND_EV_STOP,   /* SIGTERM or SIGINT */
    FROND_EV_RELOAD, /* SIGHUP */
};

FROND_MUST_CHECK int frond_process_init(void);
/*
 * glibc malloc for a scraped daemon: at most `arenas` arenas, so each HTTP
 * or worker thread does not keep a high-water mark of its own, and a fixed
 * 256 KiB mmap threshold, so the large per-scrape blocks (samples, body,
 * gzip output) are mmapped and go back to the kernel when freed instead of
 * moving into the heap after glibc's sliding threshold grows. Call from
 * main before any thread starts. Measured effects in bench/README.md.
 */
void frond_process_tune_malloc(int arenas);
/* Wait up to `timeout` seconds (< 0: forever) for a signal event. */
enum frond_event frond_process_wait(double timeout);
/* Has a stop been requested? (For loops that do not wait on events.) */
int frond_process_stopping(void);
/* A file descriptor that becomes readable on any signal event (for poll loops). */
int frond_process_event_fd(void);

/* systemd notifications (lib/src/notify.c); silently do nothing outside systemd. */
void frond_notify_ready(void);
void frond_notify_reloading(void); /* also sends MONOTONIC_USEC as systemd 253+ expects */
void frond_notify_stopping(void);
void frond_notify_watchdog(void);
/* Watchdog ping interval in seconds (half of WatchdogSec), or 0 when not enabled. */
double frond_notify_watchdog_interval(void);

/*
 * Register process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds (from /proc, like client_golang) and
 * frond_build_info{version,revision,program} = 1.
 */
FROND_MUST_CHECK int frond_process_register_metrics(struct frond_registry *reg,
                                                    const char *program);

/*
 * The main loop of a daemon after it is serving: sends READY, pings the
 * watchdog, calls `reload` on SIGHUP (between RELOADING and READY; its
 * failure is logged and the old state kept by the callee), and returns on
 * SIGTERM/SIGINT after sending STOPPING. `reload` may be NULL.
 */
void frond_process_run(int (*reload)(void *ctx), void *ctx);

#endif
