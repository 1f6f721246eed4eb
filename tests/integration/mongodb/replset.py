"""A scripted 3-member MongoDB replica set on three stand-in servers.

Each member is a `mongostandin.MongoStandin` on its own 127.0.0.1 port,
and all three answer from one shared model of the set, so their views are
consistent (the same optimes, states and config everywhere, each with its
own `self`, `myState` and heartbeat rows). Replies are shaped like MongoDB
6.0/7.0 output: `optime: {ts: Timestamp, t: NumberLong}`, `optimeDate`,
`lastHeartbeat` dates, `pingMs` longs, `stateStr`, `electionDate`, the
`electionCandidateMetrics` of the winner, replSetGetConfig's
`secondaryDelaySecs`, serverStatus's `connections`/`opcounters`/`asserts`,
and the oplog's `find` cursor and `collStats` replies.

Scenarios are named fixtures (`SCENARIOS`, applied with
`rs.set_scenario(name)`), so one set of stand-ins and exporters can walk
through all of them. Every scenario records what a test should expect in
`rs.expect` (e.g. the lag of each member, or None where lag must be absent).

Run as a program for the demo:

    /usr/bin/python3 replset.py --scenario healthy [--ports 27017,27018,27019]

prints one `mongodb://...` URI per member and serves until SIGTERM.
"""

import argparse
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from mongostandin import (CommandError, Int64, MongoStandin, ObjectId,  # noqa: E402
                          Timestamp, cursor_reply, utc)

STATE_STR = {0: "STARTUP", 1: "PRIMARY", 2: "SECONDARY", 3: "RECOVERING", 5: "STARTUP2",
             6: "UNKNOWN", 7: "ARBITER", 8: "(not reachable/healthy)", 9: "ROLLBACK",
             10: "REMOVED"}

OPLOG_WINDOW = 86400          # the oplog of every data-bearing member spans a day
OPLOG_MAX_SIZE = 990 * 1048576


class Member:
    """The model of one member, as every member of the set sees it."""

    def __init__(self, idx):
        self.idx = idx
        self.name = None        # "127.0.0.1:PORT", set when its stand-in is bound
        self.state = 2
        self.health = 1.0
        self.optime = None      # seconds (float, ms precision); None = the null optime
        self.uptime = 3600 + 100 * idx
        self.ping_ms = 1 + idx
        self.hidden = False
        self.arbiter = False
        self.delay = 0
        self.priority = 1.0
        self.votes = 1
        self.election = None    # seconds, for the primary
        self.reachable = True   # False: its stand-in is stopped (server not listening)


class ReplicaSet:
    """Three stand-ins answering from one model. Start with `start()`, end with `stop()`."""

    def __init__(self, name="rs0", n=3, ports=None):
        self.name = name
        self.members = [Member(i) for i in range(n)]
        self.standins = [MongoStandin(port=(ports[i] if ports else None), label="m%d" % i)
                         for i in range(n)]
        self.lock = threading.Lock()
        self.term = 3
        self.config_version = 5
        self.now = None
        self.scenario = None
        self.expect = {}
        self.mode = "replset"    # replset | standalone | garbage
        for i, s in enumerate(self.standins):
            self._bind(i, s)

    # ---- lifecycle ----

    def start(self):
        for m, s in zip(self.members, self.standins):
            s.start()
            m.name = s.address
        return self

    def stop(self):
        for s in self.standins:
            s.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def uri(self, i):
        return self.standins[i].uri

    def set_scenario_model_only(self, name):
        """Reset the model and apply a scenario without starting or stopping stand-ins."""
        with self.lock:
            self._reset()
            SCENARIOS[name](self)
            self.scenario = name

    def set_scenario(self, name):
        """Reset the model and apply the named scenario (see SCENARIOS)."""
        self.set_scenario_model_only(name)
        for m, s in zip(self.members, self.standins):
            if not m.reachable and s.port and s._server is not None:
                s.stop()
            elif m.reachable and s._server is None:
                s.start()
        return self

    def _reset(self):
        self.now = float(int(time.time()))
        self.term = 3
        self.config_version = 5
        self.mode = "replset"
        self.expect = {}
        for i, m in enumerate(self.members):
            m.state = 1 if i == 0 else 2
            m.health = 1.0
            m.optime = self.now - 1.0
            m.uptime = 3600 + 100 * i
            m.ping_ms = 1 + i
            m.hidden = False
            m.arbiter = False
            m.delay = 0
            m.priority = 1.0
            m.votes = 1
            m.election = self.now - 3000.0 if i == 0 else None
            m.reachable = True
        for s in self.standins:
            s.auth = None
            s.hang = False

    # ---- reply builders ----

    def primary(self):
        for m in self.members:
            if m.state == 1 and m.health:
                return m
        return None

    def _optime(self, m):
        if m.optime is None:
            return {"ts": Timestamp(0, 0), "t": Int64(-1)}, utc(0)
        sec = int(m.optime)
        return {"ts": Timestamp(sec, 1), "t": Int64(self.term)}, utc(m.optime)

    def _member_status(self, m, view):
        """members[] entry for `m` as seen by `view` (both Member)."""
        optime, optime_date = self._optime(m)
        wall = optime_date
        d = {"_id": m.idx, "name": m.name}
        if m is not view and not m.health:
            # What a member reports for a peer it cannot reach.
            d.update({
                "health": 0.0, "state": 8, "stateStr": STATE_STR[8], "uptime": 0,
                "optime": {"ts": Timestamp(0, 0), "t": Int64(-1)},
                "optimeDurable": {"ts": Timestamp(0, 0), "t": Int64(-1)},
                "optimeDate": utc(0), "optimeDurableDate": utc(0),
                "lastAppliedWallTime": utc(0), "lastDurableWallTime": utc(0),
                "lastHeartbeat": utc(self.now - 0.5), "lastHeartbeatRecv": utc(self.now - 12),
                "pingMs": Int64(0),
                "lastHeartbeatMessage": "Error connecting to %s :: caused by :: "
                                        "Connection refused" % m.name,
                "authenticated": False, "syncSourceHost": "", "syncSourceId": -1,
                "infoMessage": "", "configVersion": -1, "configTerm": -1,
            })
            return d
        d.update({"health": 1.0, "state": m.state, "stateStr": STATE_STR.get(m.state, "UNKNOWN"),
                  "uptime": m.uptime})
        if m.state != 7:
            d["optime"] = optime
            if m is not view:
                d["optimeDurable"] = optime
            d["optimeDate"] = optime_date
            if m is not view:
                d["optimeDurableDate"] = optime_date
            d["lastAppliedWallTime"] = wall
            d["lastDurableWallTime"] = wall
        if m is not view:
            d["lastHeartbeat"] = utc(self.now - 0.8 - 0.1 * m.idx)
            d["lastHeartbeatRecv"] = utc(self.now - 0.6 - 0.1 * m.idx)
            d["pingMs"] = Int64(m.ping_ms)
            d["lastHeartbeatMessage"] = ""
        p = self.primary()
        if m.state in (2, 3) and p is not None:
            d["syncSourceHost"] = p.name
            d["syncSourceId"] = p.idx
        else:
            d["syncSourceHost"] = ""
            d["syncSourceId"] = -1
        d["infoMessage"] = ""
        if m.state == 1 and m.election is not None:
            d["electionTime"] = Timestamp(int(m.election), 1)
            d["electionDate"] = utc(m.election)
        d["configVersion"] = self.config_version
        d["configTerm"] = self.term
        if m is view:
            d["self"] = True
            d["lastHeartbeatMessage"] = ""
        return d

    def repl_status(self, view):
        p = self.primary()
        optime, optime_date = self._optime(p or view)
        doc = {
            "set": self.name,
            "date": utc(self.now),
            "myState": view.state,
            "term": Int64(self.term),
            "syncSourceHost": p.name if (p and view is not p and view.state == 2) else "",
            "syncSourceId": p.idx if (p and view is not p and view.state == 2) else -1,
            "heartbeatIntervalMillis": Int64(2000),
            "majorityVoteCount": 2,
            "writeMajorityCount": 2,
            "votingMembersCount": sum(1 for m in self.members if m.votes),
            "writableVotingMembersCount": sum(1 for m in self.members
                                              if m.votes and not m.arbiter),
            "optimes": {
                "lastCommittedOpTime": optime,
                "lastCommittedWallTime": optime_date,
                "readConcernMajorityOpTime": optime,
                "appliedOpTime": self._optime(view)[0],
                "durableOpTime": self._optime(view)[0],
                "lastAppliedWallTime": self._optime(view)[1],
                "lastDurableWallTime": self._optime(view)[1],
            },
            "lastStableRecoveryTimestamp": optime["ts"],
        }
        if view.state == 1 and view.election is not None:
            doc["electionCandidateMetrics"] = {
                "lastElectionReason": "electionTimeout",
                "lastElectionDate": utc(view.election),
                "electionTerm": Int64(self.term),
                "lastCommittedOpTimeAtElection": {"ts": Timestamp(0, 0), "t": Int64(-1)},
                "lastSeenOpTimeAtElection": {"ts": Timestamp(int(view.election) - 5, 1),
                                             "t": Int64(self.term - 1)},
                "numVotesNeeded": 2,
                "priorityAtElection": 1.0,
                "electionTimeoutMillis": Int64(10000),
                "numCatchUpOps": Int64(0),
                "newTermStartDate": utc(view.election + 0.02),
                "wMajorityWriteAvailabilityDate": utc(view.election + 0.5),
            }
        doc["members"] = [self._member_status(m, view) for m in self.members]
        doc["ok"] = 1.0
        doc["$clusterTime"] = {"clusterTime": optime["ts"],
                               "signature": {"hash": b"\0" * 20, "keyId": Int64(0)}}
        doc["operationTime"] = optime["ts"]
        return doc

    def repl_config(self):
        members = []
        for m in self.members:
            members.append({"_id": m.idx, "host": m.name, "arbiterOnly": m.arbiter,
                            "buildIndexes": True, "hidden": m.hidden, "priority": m.priority,
                            "tags": {}, "secondaryDelaySecs": Int64(m.delay), "votes": m.votes})
        return {"config": {
            "_id": self.name, "version": self.config_version, "term": self.term,
            "members": members, "protocolVersion": Int64(1),
            "writeConcernMajorityJournalDefault": True,
            "settings": {"chainingAllowed": True, "heartbeatIntervalMillis": 2000,
                         "heartbeatTimeoutSecs": 10, "electionTimeoutMillis": 10000,
                         "catchUpTimeoutMillis": -1, "catchUpTakeoverDelayMillis": 30000,
                         "getLastErrorModes": {}, "getLastErrorDefaults": {"w": 1, "wtimeout": 0},
                         "replicaSetId": ObjectId("6564b1f0c2a1d5e4f3a2b1c0")}},
            "ok": 1.0}

    def hello(self, view):
        p = self.primary()
        doc = {}
        if self.mode == "standalone":
            return {"isWritablePrimary": True, "maxBsonObjectSize": 16777216,
                    "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
                    "logicalSessionTimeoutMinutes": 30, "minWireVersion": 0,
                    "maxWireVersion": 17, "readOnly": False}
        doc["hosts"] = [m.name for m in self.members if not m.hidden and not m.arbiter]
        arbiters = [m.name for m in self.members if m.arbiter]
        if arbiters:
            doc["arbiters"] = arbiters
        doc["setName"] = self.name
        doc["setVersion"] = self.config_version
        doc["isWritablePrimary"] = view.state == 1
        doc["secondary"] = view.state == 2
        if p is not None:
            doc["primary"] = p.name
        if view.hidden:
            doc["passive"] = True
            doc["hidden"] = True
        if view.arbiter:
            doc["arbiterOnly"] = True
        if view.delay:
            doc["secondaryDelaySecs"] = Int64(view.delay)
        doc["me"] = view.name
        if view.state == 1:
            doc["electionId"] = ObjectId("7fffffff00000000000000%02x" % self.term)
        if view.state != 7:
            optime, optime_date = self._optime(view)
            doc["lastWrite"] = {"opTime": optime, "lastWriteDate": optime_date,
                                "majorityOpTime": optime, "majorityWriteDate": optime_date}
        doc.update({"maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000,
                    "maxWriteBatchSize": 100000, "logicalSessionTimeoutMinutes": 30,
                    "minWireVersion": 0, "maxWireVersion": 17, "readOnly": False})
        return doc

    def server_status(self, view):
        i = view.idx
        return {
            "host": "mongo-%d" % i, "version": "6.0.12", "process": "mongod",
            "pid": Int64(1000 + i), "uptime": float(view.uptime),
            "uptimeMillis": Int64(view.uptime * 1000), "uptimeEstimate": Int64(view.uptime),
            "localTime": utc(self.now),
            "asserts": {"regular": 0, "warning": 0, "msg": 0, "user": 17 + i, "tripwire": 0,
                        "rollovers": 0},
            "connections": {"current": 12 + i, "available": 838848 - i, "totalCreated": 345 + i,
                            "active": 3, "threaded": 12 + i, "exhaustIsMaster": 0,
                            "exhaustHello": 2, "awaitingTopologyChanges": 2},
            "opcounters": {"insert": Int64(1000 + i), "query": Int64(2000), "update": Int64(300),
                           "delete": Int64(40), "getmore": Int64(5000), "command": Int64(9000)},
            "opcountersRepl": {"insert": Int64(10 * i), "query": Int64(0), "update": Int64(3 * i),
                               "delete": Int64(0), "getmore": Int64(0), "command": Int64(i)},
            "ok": 1.0,
        }

    def oplog_entry(self, view, first):
        if view.optime is None or view.state == 7:
            return []
        t = view.optime - OPLOG_WINDOW if first else view.optime
        return [{"ts": Timestamp(int(t), 1)}]

    def oplog_stats(self, view):
        return {"ns": "local.oplog.rs", "size": 512 * 1048576 + view.idx,
                "count": 1200000 + view.idx, "avgObjSize": 447,
                "storageSize": 180 * 1048576, "freeStorageSize": 0, "capped": True,
                "max": Int64(0), "maxSize": OPLOG_MAX_SIZE, "sleepCount": 0, "sleepMS": 0,
                "wiredTiger": {}, "nindexes": 0, "indexDetails": {}, "indexBuilds": [],
                "totalIndexSize": 0, "totalSize": 180 * 1048576, "indexSizes": {},
                "scaleFactor": 1, "ok": 1.0}

    # ---- wiring to the stand-ins ----

    def _bind(self, i, s):
        rs = self

        def view():
            return rs.members[i]

        def hello(cmd, standin):
            with rs.lock:
                if rs.mode == "garbage":
                    return GARBAGE_HELLO(rs, view())
                return rs.hello(view())

        def not_replset():
            if i == 1:
                raise CommandError(94, "no replset config has been received",
                                   "NotYetInitialized")
            raise CommandError(76, "not running with --replSet", "NoReplicationEnabled")

        def repl_status(cmd, standin):
            with rs.lock:
                if rs.mode == "standalone":
                    not_replset()
                if rs.mode == "garbage":
                    return GARBAGE_STATUS(rs, view())
                return rs.repl_status(view())

        def repl_config(cmd, standin):
            with rs.lock:
                if rs.mode == "standalone":
                    not_replset()
                if rs.mode == "garbage":
                    return GARBAGE_CONFIG(rs)
                return rs.repl_config()

        def server_status(cmd, standin):
            with rs.lock:
                if rs.mode == "garbage":
                    return GARBAGE_SERVER_STATUS
                return rs.server_status(view())

        def find(cmd, standin):
            with rs.lock:
                if cmd.get("$db") != "local" or cmd.get("find") != "oplog.rs":
                    return cursor_reply("%s.%s" % (cmd.get("$db"), cmd.get("find")), [])
                if rs.mode == "standalone":
                    return cursor_reply("local.oplog.rs", [])
                first = list((cmd.get("sort") or {}).values()) == [1]
                if rs.mode == "garbage":
                    return GARBAGE_FIND
                return cursor_reply("local.oplog.rs", rs.oplog_entry(view(), first))

        def coll_stats(cmd, standin):
            with rs.lock:
                if rs.mode == "standalone":
                    raise CommandError(26, "Collection [local.oplog.rs] not found.",
                                       "NamespaceNotFound")
                if rs.mode == "garbage":
                    return GARBAGE_COLLSTATS
                return rs.oplog_stats(view())

        s.hello = hello
        s.handlers.update({"replSetGetStatus": repl_status, "replSetGetConfig": repl_config,
                           "serverStatus": server_status, "find": find,
                           "collStats": coll_stats})


# ---- unexpected field types ----

def GARBAGE_HELLO(rs, view):
    d = {}
    d.update({"isWritablePrimary": True, "setName": rs.name, "me": view.name,
              "hosts": [m.name for m in rs.members], "maxWireVersion": 17, "minWireVersion": 0})
    return d


def GARBAGE_STATUS(rs, view):
    """A replSetGetStatus whose fields all have the wrong BSON types."""
    ms = rs.members
    return {
        "set": rs.name, "date": "yesterday", "myState": "PRIMARY", "term": "three",
        "heartbeatIntervalMillis": [2000],
        "electionCandidateMetrics": "none",
        "members": [
            {"_id": 0, "name": ms[0].name, "health": "1", "state": "1", "stateStr": 1,
             "uptime": {"s": 1}, "optime": 12345, "optimeDate": "2026-01-01",
             "self": "yes", "configVersion": None},
            {"_id": 1, "name": ms[1].name, "health": 1.0, "state": 2.0,
             "optime": {"ts": "Timestamp(1,1)", "t": "3"}, "optimeDate": Int64(5),
             "lastHeartbeat": 17, "lastHeartbeatRecv": [utc(rs.now)],
             "pingMs": "fast", "configVersion": 5.5},
            {"_id": 2, "name": 42, "health": 1, "state": 2},
            "not a member",
            None,
            [1, 2, 3],
        ],
        "ok": 1.0,
    }


def GARBAGE_CONFIG(rs):
    return {"config": {"_id": rs.name, "version": "5", "term": [],
                       "members": [{"_id": 0, "host": rs.members[0].name, "hidden": "no",
                                    "arbiterOnly": {}, "secondaryDelaySecs": "3600",
                                    "priority": None, "votes": "1"},
                                   {"_id": 1, "host": 7},
                                   "x"]},
            "ok": 1.0}


GARBAGE_SERVER_STATUS = {
    "version": 6.0, "process": ["mongod"], "uptime": "long",
    "connections": [12, 800],
    "opcounters": {"insert": "many", "query": None, "update": -5, "delete": float("nan"),
                   "getmore": {"n": 1}, "command": Int64(9000)},
    "opcountersRepl": "none",
    "asserts": {"regular": True, "warning": "0", "user": 3.5},
    "ok": 1.0,
}

GARBAGE_FIND = {"cursor": {"firstBatch": [{"ts": "Timestamp(1700000000, 1)"}], "id": Int64(0),
                           "ns": "local.oplog.rs"}, "ok": 1.0}

GARBAGE_COLLSTATS = {"ns": "local.oplog.rs", "size": "512MB", "maxSize": [990],
                     "storageSize": None, "count": {"n": 3}, "ok": 1.0}


# ---- scenarios ----

def _lag_expect(rs):
    """Expected lag per member name (None = absent) from the model."""
    p = rs.primary()
    out = {}
    for m in rs.members:
        if p is None or p.optime is None or m.optime is None or m.arbiter or m.state == 7 \
                or not m.health:
            out[m.name] = None
        else:
            out[m.name] = p.optime - m.optime
    return out


def healthy(rs):
    """Primary m0, secondaries m1 and m2 1 s and 2 s behind."""
    rs.members[1].optime = rs.members[0].optime - 1.0
    rs.members[2].optime = rs.members[0].optime - 2.0
    rs.expect["lag"] = _lag_expect(rs)


def secondary_lag_45s(rs):
    """m2 is 45 s behind the primary."""
    rs.members[1].optime = rs.members[0].optime - 0.5
    rs.members[2].optime = rs.members[0].optime - 45.0
    rs.expect["lag"] = _lag_expect(rs)


def primary_lost(rs):
    """m0 (the primary) died; m1 and m2 are secondaries holding an election."""
    rs.members[0].health = 0.0
    rs.members[0].state = 8
    rs.members[0].reachable = False
    rs.members[0].election = None
    rs.members[1].optime = rs.members[0].optime - 0.5
    rs.members[2].optime = rs.members[0].optime - 0.7
    rs.term = 4   # the candidates already bumped the term
    rs.expect["lag"] = {m.name: None for m in rs.members}


def failover(rs):
    """m1 won an election in term 4 and is primary; m0 came back as a secondary."""
    m0, m1, m2 = rs.members
    rs.term = 4
    m1.state, m0.state = 1, 2
    m1.election, m0.election = rs.now - 20.0, None
    m0.optime = m1.optime - 3.0
    m2.optime = m1.optime - 1.0
    rs.expect["lag"] = _lag_expect(rs)


def arbiter(rs):
    """m2 is an arbiter: no optime, no oplog, no lag."""
    m = rs.members[2]
    m.state = 7
    m.arbiter = True
    m.optime = None
    m.priority = 0.0
    rs.members[1].optime = rs.members[0].optime - 1.5
    rs.expect["lag"] = _lag_expect(rs)


def hidden_delayed(rs):
    """m2 is hidden, priority 0, secondaryDelaySecs 3600: it runs an hour behind."""
    m = rs.members[2]
    m.hidden = True
    m.priority = 0.0
    m.delay = 3600
    m.optime = rs.members[0].optime - 3600.0
    rs.members[1].optime = rs.members[0].optime - 1.0
    rs.expect["lag"] = _lag_expect(rs)


def recovering(rs):
    """m1 is RECOVERING 120 s behind; m2 is in initial sync (STARTUP2) with no optime yet."""
    rs.members[1].state = 3
    rs.members[1].optime = rs.members[0].optime - 120.0
    rs.members[2].state = 5
    rs.members[2].optime = None
    rs.expect["lag"] = _lag_expect(rs)


def standalone(rs):
    """Not a replica set: m0 answers 76 NoReplicationEnabled, m1 94 NotYetInitialized."""
    rs.mode = "standalone"


def auth_failure(rs):
    """Every member refuses the credentials (18 AuthenticationFailed)."""
    for s in rs.standins:
        s.auth = "fail"


def not_listening(rs):
    """Every member's stand-in is stopped: connections are refused."""
    for m in rs.members:
        m.reachable = False


def never_answers(rs):
    """Every member accepts connections and reads requests but never replies."""
    for s in rs.standins:
        s.hang = True


def unexpected_types(rs):
    """Every reply has fields of the wrong BSON type (see GARBAGE_*)."""
    rs.mode = "garbage"


SCENARIOS = {
    "healthy": healthy,
    "secondary_lag_45s": secondary_lag_45s,
    "primary_lost": primary_lost,
    "failover": failover,
    "arbiter": arbiter,
    "hidden_delayed": hidden_delayed,
    "recovering": recovering,
    "standalone": standalone,
    "auth_failure": auth_failure,
    "not_listening": not_listening,
    "never_answers": never_answers,
    "unexpected_types": unexpected_types,
}


def main():
    ap = argparse.ArgumentParser(description="Serve a scripted 3-member MongoDB replica set.")
    ap.add_argument("--scenario", default="healthy", choices=sorted(SCENARIOS))
    ap.add_argument("--ports", default="", help="comma-separated ports (default: free ones)")
    ap.add_argument("--uris-file", help="write one URI per line here once serving")
    args = ap.parse_args()
    ports = [int(p) for p in args.ports.split(",")] if args.ports else None
    rs = ReplicaSet(ports=ports).start()
    rs.set_scenario(args.scenario)
    uris = [rs.uri(i) for i in range(len(rs.members))]
    if args.uris_file:
        tmp = args.uris_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(uris) + "\n")
        os.rename(tmp, args.uris_file)
    print("\n".join(uris), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(1.0):
        with rs.lock:
            # Keep the set alive: time passes, optimes move with it.
            dt = float(int(time.time())) - rs.now
            if dt > 0:
                rs.now += dt
                for m in rs.members:
                    if m.optime is not None:
                        m.optime += dt
    rs.stop()


if __name__ == "__main__":
    main()
