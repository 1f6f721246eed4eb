"""A private, real RabbitMQ (Debian's rabbitmq-server 3.10) for tests, the
benchmark and the demo.

Everything the node touches is private to one directory: HOME (the Erlang
cookie), mnesia, logs, the pid file, the enabled-plugins file, the config,
and every port (AMQP, distribution, epmd, management, prometheus). We start
our own epmd in the foreground first, so the node registers with it instead
of spawning a daemon that would outlive us; it is stopped by its PID like
the node itself. Nothing is started through /usr/sbin wrappers (they switch
user and use /var/lib/rabbitmq).

Usage:
    b = Broker("/tmp/somewhere")
    b.start()          # ~10-15 s: polls /api/health/checks/alarms
    b.api("PUT", "/api/vhosts/v1")
    b.ctl("set_vm_memory_high_watermark", "0.0001")
    b.stop()           # node, then epmd

Also usable from shell scripts: `python3 broker.py start DIR` prints
`key=value` lines (ports, pids) and leaves the node running;
`python3 broker.py ctl DIR ARGS...` runs rabbitmqctl against it;
`python3 broker.py stop DIR` stops it again.
"""

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

RABBIT_BIN = "/usr/lib/rabbitmq/bin"
EPMD = "/usr/bin/epmd"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); look at its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class BrokerError(AssertionError):
    pass


class Broker:
    """One single-node RabbitMQ cluster with management and prometheus plugins."""

    def __init__(self, workdir, name="frond", ports=None, stats_interval_ms=1000):
        self.dir = os.path.abspath(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.nodename = "%s@localhost" % name
        state = self._load_state()
        if ports is None:
            ports = state.get("ports") or {}
        self.ports = {k: ports.get(k) or _free_port()
                      for k in ("amqp", "dist", "epmd", "mgmt", "prom")}
        self.stats_interval_ms = stats_interval_ms
        self.user = "guest"
        self.password = "guest"
        self.server = None  # Popen of the rabbitmq-server script
        self.epmd = None    # Popen of our epmd
        self._log = None
        self._write_files()

    # ---- paths and environment ----

    def path(self, *p):
        return os.path.join(self.dir, *p)

    @property
    def mgmt_url(self):
        return "http://127.0.0.1:%d" % self.ports["mgmt"]

    @property
    def prom_url(self):
        return "http://127.0.0.1:%d" % self.ports["prom"]

    @property
    def amqp_url(self):
        return "amqp://%s:%s@127.0.0.1:%d" % (self.user, self.password, self.ports["amqp"])

    def env(self):
        e = dict(os.environ)
        e.update({
            "PATH": RABBIT_BIN + ":" + e.get("PATH", "/usr/bin:/bin"),
            "HOME": self.path("home"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.ports["amqp"]),
            "RABBITMQ_DIST_PORT": str(self.ports["dist"]),
            "ERL_EPMD_PORT": str(self.ports["epmd"]),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": self.path("mnesia"),
            "RABBITMQ_LOG_BASE": self.path("log"),
            "RABBITMQ_PID_FILE": self.path("rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": self.path("enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": self.path("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self.path("advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": self.path("rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return e

    def _write_files(self):
        for d in ("home", "mnesia", "log"):
            os.makedirs(self.path(d), exist_ok=True)
        with open(self.path("enabled_plugins"), "w") as f:
            f.write("[rabbitmq_management,rabbitmq_prometheus].\n")
        with open(self.path("rabbitmq.conf"), "w") as f:
            f.write("listeners.tcp.default = 127.0.0.1:%d\n" % self.ports["amqp"])
            f.write("management.tcp.ip = 127.0.0.1\n")
            f.write("management.tcp.port = %d\n" % self.ports["mgmt"])
            f.write("prometheus.tcp.ip = 127.0.0.1\n")
            f.write("prometheus.tcp.port = %d\n" % self.ports["prom"])
            f.write("collect_statistics_interval = %d\n" % self.stats_interval_ms)
            f.write("loopback_users = none\n")
            f.write("log.console = false\n")
            f.write("log.file.level = warning\n")
        with open(self.path("advanced.config"), "w") as f:
            f.write("[].\n")
        with open(self.path("rabbitmq-env.conf"), "w") as f:
            f.write("")
        self._save_state()

    def _state_path(self):
        return os.path.join(self.dir, "broker.json")

    def _load_state(self):
        try:
            with open(self._state_path()) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _save_state(self, **extra):
        st = self._load_state()
        st["ports"] = self.ports
        st.update(extra)
        with open(self._state_path(), "w") as f:
            json.dump(st, f)

    # ---- lifecycle ----

    def beam_pid(self):
        try:
            with open(self.path("rabbit.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout=90.0):
        """Start epmd (if not running) and the node; return when the API answers."""
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen(
                [EPMD, "-port", str(self.ports["epmd"]), "-address", "127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=self.env(), start_new_session=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path("rabbit.pid"))
        self._log = open(self.path("server.out"), "ab")
        self.server = subprocess.Popen(
            [os.path.join(RABBIT_BIN, "rabbitmq-server")], stdout=self._log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env(),
            start_new_session=True)
        self._save_state(epmd_pid=self.epmd.pid, server_pid=self.server.pid)
        self.wait_ready(timeout)
        self._save_state(epmd_pid=self.epmd.pid, server_pid=self.server.pid,
                         beam_pid=self.beam_pid())

    def wait_ready(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.server is not None and self.server.poll() is not None:
                raise BrokerError("rabbitmq-server exited with %s:\n%s" % (
                    self.server.returncode, self.tail_log()))
            try:
                st, _ = self.api("GET", "/api/health/checks/alarms", timeout=2)
                if st == 200:
                    with socket.create_connection(("127.0.0.1", self.ports["amqp"]), 1):
                        return
                last = "HTTP %d" % st
            except OSError as e:
                last = repr(e)
            time.sleep(0.2)
        raise BrokerError("broker not ready after %.0fs (%s):\n%s" % (
            timeout, last, self.tail_log()))

    def tail_log(self, n=3000):
        out = []
        for p in (self.path("server.out"),
                  self.path("log", "%s.log" % self.nodename)):
            with contextlib.suppress(OSError):
                with open(p, "rb") as f:
                    out.append(f.read()[-n:].decode("utf-8", "replace"))
        return "\n".join(out)

    def stop_node(self, timeout=60.0):
        """Stop the node (SIGTERM to beam makes RabbitMQ shut down cleanly); keep epmd."""
        pid = self.beam_pid()
        if pid and _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.server is not None:
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=5)
            self.server = None
        if self._log:
            self._log.close()
            self._log = None

    def stop(self):
        """Stop the node and our epmd."""
        self.stop_node()
        if self.epmd is not None:
            if self.epmd.poll() is None:
                self.epmd.terminate()
                try:
                    self.epmd.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.epmd.kill()
                    self.epmd.wait(timeout=5)
            self.epmd = None

    # ---- tools ----

    def ctl(self, *args, timeout=60.0, check=True):
        """Run rabbitmqctl against this node; return stdout."""
        p = subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", self.nodename]
                           + list(args), env=self.env(), capture_output=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise BrokerError("rabbitmqctl %s: %s%s" % (
                " ".join(args), p.stdout.decode(), p.stderr.decode()))
        return p.stdout.decode()

    def api(self, method, path, body=None, timeout=10.0, user=None, password=None):
        """One management API call; returns (status, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.mgmt_url + path, method=method, data=data)
        cred = "%s:%s" % (user or self.user, password or self.password)
        req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def api_ok(self, method, path, body=None, timeout=10.0):
        st, js = self.api(method, path, body, timeout=timeout)
        if st >= 300:
            raise BrokerError("%s %s: HTTP %d %r" % (method, path, st, js))
        return js

    def add_vhost(self, vhost):
        self.api_ok("PUT", "/api/vhosts/" + urllib.parse.quote(vhost, safe=""))
        self.api_ok("PUT", "/api/permissions/%s/%s" % (urllib.parse.quote(vhost, safe=""),
                                                       self.user),
                    {"configure": ".*", "write": ".*", "read": ".*"})

    def declare_queue(self, vhost, name, qtype="classic", durable=True, arguments=None):
        args = dict(arguments or {})
        args["x-queue-type"] = qtype
        self.api_ok("PUT", "/api/queues/%s/%s" % (urllib.parse.quote(vhost, safe=""),
                                                  urllib.parse.quote(name, safe="")),
                    {"durable": durable or qtype == "quorum", "auto_delete": False,
                     "arguments": args})

    def delete_queue(self, vhost, name):
        self.api_ok("DELETE", "/api/queues/%s/%s" % (urllib.parse.quote(vhost, safe=""),
                                                     urllib.parse.quote(name, safe="")))

    def publish(self, vhost, queue, n, body="x"):
        """Publish n persistent messages to `queue` through the default exchange."""
        path = "/api/exchanges/%s/amq.default/publish" % urllib.parse.quote(vhost, safe="")
        for i in range(n):
            js = self.api_ok("POST", path, {"properties": {"delivery_mode": 2,
                                                           "timestamp": int(time.time())},
                                            "routing_key": queue, "payload": body,
                                            "payload_encoding": "string"})
            if not js or not js.get("routed"):
                raise BrokerError("message to %s/%s not routed" % (vhost, queue))


def _main(argv):
    if len(argv) < 3 or argv[1] not in ("start", "stop", "ctl"):
        sys.stderr.write("usage: broker.py start|stop DIR | broker.py ctl DIR ARGS...\n")
        return 2
    b = Broker(argv[2])
    if argv[1] == "ctl":
        # rabbitmqctl with this node's private environment (cookie, epmd port).
        sys.stdout.write(b.ctl(*argv[3:], check=False))
        return 0
    if argv[1] == "start":
        b.start()
        for k, v in sorted(b.ports.items()):
            print("%s_port=%d" % (k, v))
        print("beam_pid=%d" % b.beam_pid())
        print("epmd_pid=%d" % b.epmd.pid)
        print("nodename=%s" % b.nodename)
        return 0
    st = b._load_state()
    pid = b.beam_pid()
    if pid and _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    epmd = st.get("epmd_pid")
    if epmd and _pid_alive(epmd):
        with open("/proc/%d/comm" % epmd) as f:
            if f.read().strip() == "epmd":
                os.kill(epmd, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
