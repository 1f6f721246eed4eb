"""A MongoDB wire-protocol stand-in for frond's integration tests.

Debian has no MongoDB server, so tests talk the real wire protocol to this
scripted server built on python3-mockupdb. The core here knows nothing about
replica sets or collections: it answers the libmongoc 1.23 handshake and
hands every other command to a pluggable handler. Scenario fixtures (the
replica set in tests/integration/mongodb/, the usage exporter's count and
aggregate scenarios) are built on top of it.

API
---

    from mongostandin import MongoStandin, CommandError, HANG, cursor_reply

    s = MongoStandin(handlers={"count": lambda cmd, s: {"n": 3}})
    s.start()                  # binds 127.0.0.1 on a free port, returns it
    s.uri                      # "mongodb://127.0.0.1:PORT/?directConnection=true"
    ...
    s.commands("count")        # every recorded `count` command (list of Received)
    s.wait_command("count", timeout=10)   # poll until one arrives; returns it
    s.stop()                   # closes the listener and every connection

    with MongoStandin(...) as s:   # start() and stop() as a context manager
        ...

Constructor arguments (all optional, all also settable as attributes later,
e.g. `s.hang = True` in the middle of a test):

- `handlers`: {command name: fn(cmd, standin)}. `cmd` is the command
  document (an OrderedDict, with "$db"); the name match is exact, except
  that hello/isMaster/ismaster are always handled by the core. `fn`
  returns the reply document (``ok: 1`` is added when missing), raises
  `CommandError(code, errmsg, code_name)` for a command error reply, or
  returns `HANG` to never answer this request. Use `s.set_handler(name, fn)`
  to change one later. An exception in a handler becomes a command error
  (code 8, UnknownError) and is kept in `s.handler_errors` so a test can
  fail on it.
- `default_handler`: fn(cmd, standin) for commands without a handler; the
  default answers `ping`, `endSessions`, `buildInfo`, `killCursors` and
  fails everything else with 59 CommandNotFound, as mongod does.
- `hello`: dict, or fn(cmd, standin) -> dict: the server's hello reply
  (without handshake bookkeeping). The default describes a MongoDB 6.0
  standalone. The core fills in `helloOk` (when the client asked),
  `ismaster` vs `isWritablePrimary` (legacy isMaster vs hello),
  `connectionId`, `localTime`, min/maxWireVersion when missing, and
  `saslSupportedMechs` when the client asked and `auth` is set.
- `auth`: None (the client must not authenticate); "fail": any
  saslStart/authenticate is answered 18 AuthenticationFailed, exactly as
  mongod answers a wrong password; or ("user", "password"): a real
  SCRAM-SHA-256 server conversation (RFC 5802/7677, 4096 iterations) that
  accepts exactly that user and password and answers 18 otherwise. Like
  mongod, the server keys are derived from the SASLprep'd password (RFC
  4013), so a client must SASLprep a non-ASCII password too. Each
  successful authentication is recorded in `s.authenticated` (user names).
- `hang`: False; True to never answer anything, handshake included (a
  server that accepts connections but never replies); or a set of command
  names that get no answer (e.g. {"replSetGetStatus"}).
- `tls`: True to serve TLS only, with mockupdb's bundled self-signed
  certificate (CN=server): clients use `tls=true&tlsCAFile=<TLS_CA_FILE>
  &tlsAllowInvalidHostnames=true`.
- `max_wire_version`: 17 (MongoDB 6.0) by default; 21 is 7.0.
- `port`: a fixed port (e.g. to restart a member on the same address);
  default a free ephemeral one.

Recorded commands are `Received(name, db, doc, client_port, time)`; the
handshake is recorded too (names "isMaster" or "hello"). `s.clear()`
forgets them.

Why the hello reply carries no `topologyVersion`: with it, libmongoc's
monitor switches to the streaming (awaitable, exhaust) hello protocol, which
mockupdb cannot serve (it has no moreToCome replies). Without it the driver
polls every heartbeatFrequencyMS, which real servers before 4.4 also cause.

Thread-safety: handlers run on mockupdb's per-connection threads, one
request at a time per server (mockupdb holds its lock), so a handler may
read shared fixture state without extra locking; tests mutate state between
scrapes.
"""

import base64
import collections
import datetime
import hashlib
import hmac
import itertools
import os
import threading
import time
import traceback

import bson
from bson import Int64, Timestamp  # noqa: F401  (re-exported for fixtures)
from bson.objectid import ObjectId  # noqa: F401
import mockupdb
from pymongo.saslprep import saslprep

UTC = datetime.timezone.utc

TLS_CA_FILE = os.path.join(os.path.dirname(mockupdb.__file__), "server.pem")
"""The certificate a `tls=True` stand-in presents (self-signed, so it is also the CA)."""

HANG = object()
"""Returned by a handler: leave this request unanswered."""

Received = collections.namedtuple("Received", "name db doc client_port time")

_HELLO_NAMES = ("hello", "isMaster", "ismaster")


class CommandError(Exception):
    """Raised by a handler to answer {ok: 0, code, codeName, errmsg}."""

    def __init__(self, code, errmsg, code_name=None, **extra):
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.code_name = code_name
        self.extra = extra

    def reply(self):
        doc = {"ok": 0.0, "errmsg": self.errmsg, "code": self.code}
        if self.code_name:
            doc["codeName"] = self.code_name
        doc.update(self.extra)
        return doc


def utc(seconds):
    """A timezone-aware datetime for `seconds` since the epoch (BSON date)."""
    return datetime.datetime.fromtimestamp(seconds, tz=UTC)


def cursor_reply(ns, docs, cursor_id=0, first=True):
    """A find/aggregate (first=True) or getMore (first=False) reply document."""
    key = "firstBatch" if first else "nextBatch"
    return {"cursor": {key: list(docs), "id": Int64(cursor_id), "ns": ns}, "ok": 1.0}


def standalone_hello(max_wire_version=17):
    """The hello reply of a MongoDB 6.0 standalone mongod (without handshake fields)."""
    return {
        "isWritablePrimary": True,
        "maxBsonObjectSize": 16777216,
        "maxMessageSizeBytes": 48000000,
        "maxWriteBatchSize": 100000,
        "logicalSessionTimeoutMinutes": 30,
        "minWireVersion": 0,
        "maxWireVersion": max_wire_version,
        "readOnly": False,
    }


def _default_handler(cmd, standin):
    name = next(iter(cmd))
    if name in ("ping", "endSessions", "killCursors"):
        return {"ok": 1.0}
    if name.lower() == "buildinfo":
        return {"version": "6.0.12", "gitVersion": "21e6e8e11a45dfbdb7ca6cf95fa8c5f859e2b118",
                "versionArray": [6, 0, 12, 0], "bits": 64, "maxBsonObjectSize": 16777216,
                "ok": 1.0}
    raise CommandError(59, "no such command: '%s'" % name, "CommandNotFound")


class MongoStandin:
    """One scripted mongod on 127.0.0.1 (see the module docstring)."""

    _conn_ids = itertools.count(1)

    def __init__(self, handlers=None, default_handler=None, hello=None, auth=None, hang=False,
                 max_wire_version=17, port=None, label=None, tls=False):
        self.handlers = dict(handlers or {})
        self.default_handler = default_handler or _default_handler
        self.hello = hello
        self.auth = auth
        self.authenticated = []
        self._scram = {}
        self._conv_ids = itertools.count(1)
        self.hang = hang
        self.max_wire_version = max_wire_version
        self.label = label
        self.tls = tls
        self.handler_errors = []
        self._port = port
        self._received = []
        self._lock = threading.Lock()
        self._server = None

    # ---- lifecycle ----

    def start(self):
        """Bind and serve; returns the port."""
        srv = mockupdb.MockupDB(port=self._port, request_timeout=int(1e6), ssl=self.tls)
        # mockupdb binds "localhost", which may resolve to ::1 first; frond tests use IPv4 only.
        srv._address = ("127.0.0.1", self._port)
        srv.autoresponds(self._respond)
        self._port = srv.run()
        self._server = srv
        return self._port

    def stop(self):
        """Close the listener and every client connection; idempotent."""
        srv, self._server = self._server, None
        if srv is not None:
            srv.stop()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._port

    @property
    def address(self):
        return "127.0.0.1:%d" % self._port

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d/?directConnection=true" % self._port

    # ---- configuration ----

    def set_handler(self, name, fn):
        """Install (or with fn=None remove) the handler of one command."""
        if fn is None:
            self.handlers.pop(name, None)
        else:
            self.handlers[name] = fn

    # ---- recording ----

    def commands(self, name=None):
        """Recorded commands, oldest first, optionally only those named `name`."""
        with self._lock:
            return [r for r in self._received if name is None or r.name == name]

    def clear(self):
        with self._lock:
            del self._received[:]

    def wait_command(self, name, timeout=10.0, count=1):
        """Poll until `count` commands named `name` were received; return the last."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.commands(name)
            if len(got) >= count:
                return got[count - 1]
            if time.monotonic() >= deadline:
                raise AssertionError("stand-in %s: no %r command within %.1fs (got %s)" % (
                    self.address, name, timeout, [r.name for r in self.commands()]))
            time.sleep(0.02)

    # ---- request handling (runs on mockupdb threads) ----

    def _respond(self, req):
        doc = req.doc if req.docs else {}
        name = next(iter(doc), None) or "?"
        db = doc.get("$db") or (req.namespace or "").split(".")[0]
        with self._lock:
            self._received.append(Received(name, db, doc, req.client_port, time.time()))
        if self.hang is True or (self.hang and name in self.hang):
            return True  # accepted, never answered
        try:
            if name in _HELLO_NAMES:
                reply = self._hello(name, doc)
            elif name in ("saslStart", "saslContinue", "authenticate") and self.auth == "fail":
                raise CommandError(18, "Authentication failed.", "AuthenticationFailed")
            elif name in ("saslStart", "saslContinue") and isinstance(self.auth, tuple):
                reply = self._scram_step(name, doc)
            else:
                fn = self.handlers.get(name, self.default_handler)
                reply = fn(doc, self)
                if reply is HANG:
                    return True
        except CommandError as e:
            reply = e.reply()
        except Exception as e:  # a broken fixture must fail the test, not hang the client
            self.handler_errors.append(traceback.format_exc())
            reply = CommandError(8, "stand-in handler error: %r" % (e,), "UnknownError").reply()
        req.replies(reply)
        return True

    def _hello(self, name, cmd):
        base = self.hello(cmd, self) if callable(self.hello) else self.hello
        reply = dict(base if base is not None else standalone_hello(self.max_wire_version))
        reply.pop("topologyVersion", None)
        writable = reply.pop("isWritablePrimary", reply.pop("ismaster", False))
        if name == "hello":
            reply["isWritablePrimary"] = writable
        else:
            reply["ismaster"] = writable
        if cmd.get("helloOk"):
            reply["helloOk"] = True
        reply.setdefault("minWireVersion", 0)
        reply.setdefault("maxWireVersion", self.max_wire_version)
        reply.setdefault("maxBsonObjectSize", 16777216)
        reply.setdefault("maxMessageSizeBytes", 48000000)
        reply.setdefault("maxWriteBatchSize", 100000)
        reply["localTime"] = datetime.datetime.now(tz=UTC)
        reply["connectionId"] = next(self._conn_ids)
        if self.auth == "fail" and cmd.get("saslSupportedMechs"):
            reply["saslSupportedMechs"] = ["SCRAM-SHA-1", "SCRAM-SHA-256"]
        elif isinstance(self.auth, tuple) and cmd.get("saslSupportedMechs"):
            if cmd["saslSupportedMechs"].split(".", 1)[-1] == self.auth[0]:
                reply["saslSupportedMechs"] = ["SCRAM-SHA-256"]
        reply["ok"] = 1.0
        return reply


    # ---- SCRAM-SHA-256 (RFC 5802, RFC 7677), server side ----

    _SALT = b"frond-standin-scram-sha256-x"  # 28 bytes: mongod and libmongoc use 28 for SHA-256
    _ITERATIONS = 4096

    def _scram_step(self, name, cmd):
        fail = CommandError(18, "Authentication failed.", "AuthenticationFailed")
        user, password = self.auth
        payload = bytes(cmd.get("payload") or b"").decode("utf-8", "replace")
        if name == "saslStart":
            if cmd.get("mechanism") != "SCRAM-SHA-256" or not payload.startswith("n,,"):
                raise fail
            first_bare = payload[3:]
            attrs = dict(kv.split("=", 1) for kv in first_bare.split(",") if "=" in kv)
            got_user = attrs.get("n", "").replace("=2C", ",").replace("=3D", "=")
            if got_user != user or "r" not in attrs:
                raise fail
            nonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
            server_first = "r=%s,s=%s,i=%d" % (nonce, base64.b64encode(self._SALT).decode(),
                                               self._ITERATIONS)
            conv = next(self._conv_ids)
            self._scram[conv] = (first_bare, server_first, nonce, got_user)
            return {"conversationId": conv, "done": False,
                    "payload": server_first.encode(), "ok": 1.0}
        state = self._scram.pop(cmd.get("conversationId"), None)
        if state is None:
            raise fail
        first_bare, server_first, nonce, got_user = state
        if "p=" not in payload:
            raise fail
        without_proof, proof_b64 = payload.rsplit(",p=", 1)
        if ("r=%s" % nonce) not in without_proof.split(","):
            raise fail
        auth_message = ",".join([first_bare, server_first, without_proof]).encode()
        salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode(), self._SALT,
                                     self._ITERATIONS)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        try:
            proof = base64.b64decode(proof_b64)
        except ValueError:
            raise fail
        if len(proof) != len(signature):
            raise fail
        recovered = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.sha256(recovered).digest(), stored_key):
            raise fail
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        server_sig = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        self.authenticated.append(got_user)
        return {"conversationId": cmd.get("conversationId"), "done": True,
                "payload": ("v=" + base64.b64encode(server_sig).decode()).encode(), "ok": 1.0}


def bson_bytes(doc):
    """Encode one reply document as BSON (for fuzz seeds and unit-test fixtures)."""
    return bson.encode(doc)
