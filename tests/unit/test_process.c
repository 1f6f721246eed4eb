/* Unit tests for process plumbing: signal events and sd_notify messages. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "frond/process.h"

static int notify_fd = -1;

static void bind_notify_socket(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/frond-test-notify-%d", (int)getpid());
    unlink(sa.sun_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static const char *next_notify(void)
{
    static char msg[256];
    ssize_t n = recv(notify_fd, msg, sizeof(msg) - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    return msg;
}

static void test_notify(void)
{
    bind_notify_socket();
    frond_notify_ready();
    CHECK_STR(next_notify(), "READY=1");
    frond_notify_reloading();
    CHECK(strncmp(next_notify(), "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
    frond_notify_watchdog();
    CHECK_STR(next_notify(), "WATCHDOG=1");
    frond_notify_stopping();
    CHECK_STR(next_notify(), "STOPPING=1");
    CHECK(frond_notify_watchdog_interval() == 0);
    setenv("WATCHDOG_USEC", "4000000", 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    CHECK_DBL(frond_notify_watchdog_interval(), 2.0);
    /* Meant for another process (a forking parent's environment): not ours. */
    setenv("WATCHDOG_PID", "1", 1);
    CHECK(frond_notify_watchdog_interval() == 0);
    unsetenv("WATCHDOG_PID");
    CHECK_DBL(frond_notify_watchdog_interval(), 2.0);
    setenv("WATCHDOG_USEC", "4s", 1);
    CHECK(frond_notify_watchdog_interval() == 0);
    unsetenv("WATCHDOG_USEC");
}

/* "@name" in NOTIFY_SOCKET is the abstract namespace (how systemd --user may pass it). */
static void test_notify_abstract(void)
{
    char name[64];
    snprintf(name, sizeof(name), "@frond-test-notify-%d", (int)getpid());
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(bind(fd, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) == 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setenv("NOTIFY_SOCKET", name, 1);
    frond_notify_ready();
    char msg[64];
    ssize_t got = recv(fd, msg, sizeof(msg) - 1, 0);
    msg[got > 0 ? got : 0] = '\0';
    CHECK_STR(msg, "READY=1");
    close(fd);
    /* Unset or not a socket address: nothing is sent, nothing fails. */
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    frond_notify_ready();
    unsetenv("NOTIFY_SOCKET");
    frond_notify_stopping();
}

static void test_signals(void)
{
    CHECK_INT(frond_process_init(), 0);
    CHECK_INT(frond_process_wait(0.01), FROND_EV_TIMEOUT);
    raise(SIGHUP);
    CHECK_INT(frond_process_wait(1), FROND_EV_RELOAD);
    CHECK(!frond_process_stopping());
    raise(SIGTERM);
    CHECK(frond_process_stopping());
    CHECK_INT(frond_process_wait(1), FROND_EV_STOP);
    /* Once asked to stop, every later wait says so at once. */
    CHECK_INT(frond_process_wait(5), FROND_EV_STOP);
}

int main(void)
{
    test_notify();
    test_notify_abstract();
    test_signals();
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    if (getsockname(notify_fd, (struct sockaddr *)&sa, &len) == 0) {
        unlink(sa.sun_path);
    }
    close(notify_fd);
    return check_done("test_process");
}
