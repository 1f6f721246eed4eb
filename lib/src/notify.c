/*
 * systemd's notification protocol (sd_notify(3)), without libsystemd: a
 * datagram of NEWLINE-separated assignments to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). The
 * protocol is a stable interface that systemd documents for exactly this
 * use; implementing it here keeps libsystemd and what it links (libgcrypt,
 * liblzma, liblz4, libcap) out of the exporters, about 0.8 MiB of RSS each.
 * frondtail still links libsystemd, for sd-journal.
 *
 * Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op, like
 * sd_notify(). Failures are ignored: a lost notification must never stop
 * the daemon (systemd's own timeouts report it). Not supported: the
 * "vsock:" addresses newer systemd hands to services inside VMs (frond
 * runs on hosts and in Kubernetes, where systemd passes a path).
 */
#include "frond/process.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Fill `sa` from $NOTIFY_SOCKET; returns the address length, or 0 when unset or unusable. */
static socklen_t notify_address(struct sockaddr_un *sa)
{
    const char *e = getenv("NOTIFY_SOCKET");
    size_t n = e ? strlen(e) : 0;
    if (n < 2 || n >= sizeof(sa->sun_path) || (e[0] != '/' && e[0] != '@')) {
        return 0;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, e, n);
    if (e[0] == '@') {
        sa->sun_path[0] = '\0'; /* abstract namespace: no trailing NUL in the length */
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static void notify(const char *msg)
{
    struct sockaddr_un sa;
    socklen_t len = notify_address(&sa);
    if (len == 0) {
        return;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    (void)w;
    close(fd);
}

void frond_notify_ready(void)
{
    notify("READY=1");
}

void frond_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec =
        (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
    char msg[64];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
    notify(msg);
}

void frond_notify_stopping(void)
{
    notify("STOPPING=1");
}

void frond_notify_watchdog(void)
{
    notify("WATCHDOG=1");
}

/* A positive decimal from the environment, or 0 when unset or not one. */
static uint64_t env_u64(const char *name)
{
    const char *e = getenv(name);
    if (!e || *e < '0' || *e > '9') {
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e, &end, 10);
    return errno || *end ? 0 : (uint64_t)v;
}

double frond_notify_watchdog_interval(void)
{
    /* As sd_watchdog_enabled(): WATCHDOG_USEC, meant for us if WATCHDOG_PID is unset or ours. */
    uint64_t usec = env_u64("WATCHDOG_USEC");
    if (usec == 0) {
        return 0;
    }
    if (getenv("WATCHDOG_PID") && env_u64("WATCHDOG_PID") != (uint64_t)getpid()) {
        return 0;
    }
    return (double)usec / 2e6;
}
