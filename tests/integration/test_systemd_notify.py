"""Every frond binary speaks systemd's notify protocol (Type=notify units).

Each binary is started with NOTIFY_SOCKET pointing at a datagram socket this
test binds, and WATCHDOG_USEC set, then must send READY=1, keep sending
WATCHDOG=1, answer SIGHUP with RELOADING=1 (with MONOTONIC_USEC, as
Type=notify-reload expects) followed by READY=1, and SIGTERM with
STOPPING=1 before exiting 0. Backends are deliberately unreachable: a unit
must become ready without them (the exporters say `_up 0` instead).
"""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import frondtest as ft  # noqa: E402

DEAD = "127.0.0.1:1"  # nothing listens on port 1


class NotifySocket:
    def __init__(self, h):
        self.path = h.path("notify.sock")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        self.s.settimeout(0.2)
        self.got = []
        h.on_cleanup(self.s.close)

    def wait_for(self, prefix, timeout=20.0):
        """Wait for a message starting with prefix; return it."""
        def poll():
            try:
                msg = self.s.recv(4096).decode()
                self.got.append(msg)
            except socket.timeout:
                pass
            for i, m in enumerate(self.got):
                if m.startswith(prefix):
                    del self.got[:i + 1]
                    return m
            return None
        return ft.wait_until(poll, timeout, interval=0.01, what="sd_notify %r" % prefix)


def run_unit(h, name, argv):
    ns = NotifySocket(h)
    env = {"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"}
    p = h.start(name, argv, env=env)
    ns.wait_for("READY=1")
    ns.wait_for("WATCHDOG=1")
    ns.wait_for("WATCHDOG=1")  # pings keep coming, not just once
    p.p.send_signal(signal.SIGHUP)
    msg = ns.wait_for("RELOADING=1")
    if "MONOTONIC_USEC=" not in msg:
        raise ft.TestFailure("%s: RELOADING=1 without MONOTONIC_USEC: %r" % (name, msg))
    ns.wait_for("READY=1")
    if not p.alive():
        raise ft.TestFailure("%s died on SIGHUP" % name)
    p.p.send_signal(signal.SIGTERM)
    ns.wait_for("STOPPING=1")
    p.stop(expect_code=0)


def listen():
    return "--web.listen-address=127.0.0.1:%d" % ft.free_port()


def test_mongodb_exporter(h):
    run_unit(h, "mongodb", [ft.binary("exporters", "mongodb", "frond_mongodb_exporter"),
                            "--mongodb.uri=mongodb://%s/" % DEAD, listen()])


def test_rabbitmq_exporter(h):
    run_unit(h, "rabbitmq", [ft.binary("exporters", "rabbitmq", "frond_rabbitmq_exporter"),
                             "--rabbit.url=http://%s" % DEAD, listen()])


def test_usage_exporter(h):
    cfg = h.path("usage.yml")
    with open(cfg, "w") as f:
        f.write("servers:\n  main:\n    uri: mongodb://%s/\n"
                "metrics:\n  - name: users\n    help: Users.\n    server: main\n"
                "    database: app\n    collection: users\n    count: {}\n" % DEAD)
    run_unit(h, "usage", [ft.binary("exporters", "usage", "frond_usage_exporter"),
                          "--config.file=%s" % cfg, listen()])


def test_frondtail(h):
    os.makedirs(h.path("logs"))
    cfg = h.path("frondtail.yml")
    with open(cfg, "w") as f:
        f.write("server:\n  http_listen_address: 127.0.0.1\n  http_listen_port: %d\n"
                "positions:\n  filename: %s\n"
                "clients:\n  - url: http://%s/loki/api/v1/push\n"
                "scrape_configs:\n  - job_name: t\n    static_configs:\n"
                "      - labels: {job: t, __path__: %s/*.log}\n"
                % (ft.free_port(), h.path("positions.yaml"), DEAD, h.path("logs")))
    run_unit(h, "frondtail", [ft.binary("shipper", "frondtail"), "-config.file=%s" % cfg])


if __name__ == "__main__":
    ft.run_tests("systemd_notify", [test_mongodb_exporter, test_rabbitmq_exporter,
                                    test_usage_exporter, test_frondtail])
