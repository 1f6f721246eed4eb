/*
 * The catalogue of every metric frond_mongodb_exporter can emit: name,
 * type, HELP text and the command and field it comes from. The mapping
 * code refers to these entries instead of repeating strings, and a unit
 * test checks that README.md documents every entry, so the list cannot
 * drift from the documentation.
 */
#include <errno.h>

#include "mongo.h"

#define M(var, mname, mtype, mhelp, msrc)                                                          \
    const struct mongo_metric var = {.name = mname, .type = mtype, .help = mhelp, .source = msrc}

/* ---- exporter ---- */
M(MONGO_M_UP, "mongodb_up", FROND_GAUGE,
  "Whether the last scrape could talk to the MongoDB server (connection and authentication).",
  "serverStatus succeeded");
M(MONGO_M_SCRAPE_DURATION, "mongodb_exporter_scrape_duration_seconds", FROND_GAUGE,
  "Time the last scrape spent fetching from MongoDB, in seconds.", "exporter");
M(MONGO_M_SCRAPE_TIMEOUT, "mongodb_exporter_scrape_timed_out", FROND_GAUGE,
  "1 when the scrape deadline passed before MongoDB answered.", "exporter");

/* ---- serverStatus ---- */
M(MONGO_M_VERSION, "mongodb_version_info", FROND_INFO,
  "MongoDB server version and process type, always 1.", "serverStatus.version, .process");
M(MONGO_M_UPTIME, "mongodb_uptime_seconds", FROND_GAUGE,
  "Time since the mongod process started, in seconds.", "serverStatus.uptime");
M(MONGO_M_CONN_CURRENT, "mongodb_connections_current", FROND_GAUGE,
  "Incoming client connections currently open.", "serverStatus.connections.current");
M(MONGO_M_CONN_AVAILABLE, "mongodb_connections_available", FROND_GAUGE,
  "Unused incoming connections still available.", "serverStatus.connections.available");
M(MONGO_M_CONN_CREATED, "mongodb_connections_created_total", FROND_COUNTER,
  "Incoming connections created since the server started.",
  "serverStatus.connections.totalCreated");
M(MONGO_M_OPCOUNTERS, "mongodb_opcounters_total", FROND_COUNTER,
  "Database operations by type since the server started.", "serverStatus.opcounters");
M(MONGO_M_OPCOUNTERS_REPL, "mongodb_opcounters_repl_total", FROND_COUNTER,
  "Replicated operations applied by type since the server started.", "serverStatus.opcountersRepl");
M(MONGO_M_ASSERTS, "mongodb_asserts_total", FROND_COUNTER,
  "Assertions raised by type since the server started.", "serverStatus.asserts");

/* ---- replSetGetStatus: the set ---- */
M(MONGO_M_RS_ENABLED, "mongodb_replset_enabled", FROND_GAUGE,
  "1 when the server is a configured replica set member, 0 when it is not (errors 76, 94).",
  "replSetGetStatus");
M(MONGO_M_RS_INFO, "mongodb_replset_info", FROND_INFO,
  "Replica set name and the name of the member this exporter talks to, always 1.",
  "replSetGetStatus.set, members[self].name");
M(MONGO_M_RS_MY_STATE, "mongodb_replset_my_state", FROND_GAUGE,
  "Replica set state of the member this exporter talks to (1 primary, 2 secondary, ...).",
  "replSetGetStatus.myState");
M(MONGO_M_RS_TERM, "mongodb_replset_term", FROND_GAUGE, "Election term as seen by this member.",
  "replSetGetStatus.term");
M(MONGO_M_RS_PRIMARY_PRESENT, "mongodb_replset_primary_present", FROND_GAUGE,
  "1 when this member sees a primary in the set, 0 when none (election in progress).",
  "replSetGetStatus.members[].state");
M(MONGO_M_RS_MEMBERS, "mongodb_replset_members", FROND_GAUGE,
  "Number of members in the replica set.", "replSetGetStatus.members");
M(MONGO_M_RS_LAST_ELECTION, "mongodb_replset_last_election_timestamp_seconds", FROND_GAUGE,
  "When the current primary was elected, as a Unix timestamp.",
  "replSetGetStatus.members[primary].electionDate");
M(MONGO_M_RS_HEARTBEAT_INTERVAL, "mongodb_replset_heartbeat_interval_seconds", FROND_GAUGE,
  "Interval between heartbeats among members, in seconds.",
  "replSetGetStatus.heartbeatIntervalMillis");
M(MONGO_M_RS_CONFIG_VERSION, "mongodb_replset_config_version", FROND_GAUGE,
  "Version of the replica set configuration this member holds.", "replSetGetConfig.config.version");
M(MONGO_M_RS_CONFIG_TERM, "mongodb_replset_config_term", FROND_GAUGE,
  "Term of the replica set configuration this member holds.", "replSetGetConfig.config.term");

/* ---- replSetGetStatus: per member ---- */
M(MONGO_M_MEMBER_STATE, "mongodb_replset_member_state", FROND_GAUGE,
  "Replica set state of the member as seen by this member (0 startup, 1 primary, 2 secondary, "
  "3 recovering, 5 startup2, 6 unknown, 7 arbiter, 8 down, 9 rollback, 10 removed).",
  "replSetGetStatus.members[].state");
M(MONGO_M_MEMBER_STATE_NAME, "mongodb_replset_member_state_name", FROND_STATESET,
  "Replica set state of the member as a stateset: every state is present, the current one is 1.",
  "replSetGetStatus.members[].state");
M(MONGO_M_MEMBER_SELF, "mongodb_replset_member_self", FROND_GAUGE,
  "1 for the member this exporter talks to, 0 for the others.", "replSetGetStatus.members[].self");
M(MONGO_M_MEMBER_HEALTH, "mongodb_replset_member_health", FROND_GAUGE,
  "1 when the member is up as seen by this member, 0 when it is down.",
  "replSetGetStatus.members[].health");
M(MONGO_M_MEMBER_UPTIME, "mongodb_replset_member_uptime_seconds", FROND_GAUGE,
  "Time the member has been up (for others: reachable) as seen by this member, in seconds.",
  "replSetGetStatus.members[].uptime");
M(MONGO_M_MEMBER_OPTIME, "mongodb_replset_member_optime_timestamp_seconds", FROND_GAUGE,
  "Time of the last operation the member applied, as a Unix timestamp; absent when unknown.",
  "replSetGetStatus.members[].optimeDate (else optime.ts)");
M(MONGO_M_MEMBER_HEARTBEAT, "mongodb_replset_member_last_heartbeat_timestamp_seconds", FROND_GAUGE,
  "When this member last received a heartbeat response from the member, as a Unix timestamp.",
  "replSetGetStatus.members[].lastHeartbeat");
M(MONGO_M_MEMBER_HEARTBEAT_RECV, "mongodb_replset_member_last_heartbeat_received_timestamp_seconds",
  FROND_GAUGE,
  "When this member last received a heartbeat request from the member, as a Unix timestamp.",
  "replSetGetStatus.members[].lastHeartbeatRecv");
M(MONGO_M_MEMBER_PING, "mongodb_replset_member_ping_seconds", FROND_GAUGE,
  "Heartbeat round-trip time from this member to the member, in seconds.",
  "replSetGetStatus.members[].pingMs");
M(MONGO_M_MEMBER_CONFIG_VERSION, "mongodb_replset_member_config_version", FROND_GAUGE,
  "Replica set configuration version the member runs with.",
  "replSetGetStatus.members[].configVersion");
M(MONGO_M_MEMBER_LAG, "mongodb_replset_member_replication_lag_seconds", FROND_GAUGE,
  "Primary optime minus member optime, in seconds (signed); absent without a primary, for "
  "arbiters, down members and unknown optimes.",
  "replSetGetStatus.members[].optimeDate");

/* ---- replSetGetConfig: per member ---- */
M(MONGO_M_MEMBER_HIDDEN, "mongodb_replset_member_hidden", FROND_GAUGE,
  "1 when the member is hidden from clients.", "replSetGetConfig.config.members[].hidden");
M(MONGO_M_MEMBER_ARBITER, "mongodb_replset_member_arbiter_only", FROND_GAUGE,
  "1 when the member is an arbiter.", "replSetGetConfig.config.members[].arbiterOnly");
M(MONGO_M_MEMBER_DELAY, "mongodb_replset_member_secondary_delay_seconds", FROND_GAUGE,
  "Configured replication delay of the member, in seconds.",
  "replSetGetConfig.config.members[].secondaryDelaySecs (slaveDelay before 5.0)");
M(MONGO_M_MEMBER_PRIORITY, "mongodb_replset_member_priority", FROND_GAUGE,
  "Election priority of the member (0 never becomes primary).",
  "replSetGetConfig.config.members[].priority");
M(MONGO_M_MEMBER_VOTES, "mongodb_replset_member_votes", FROND_GAUGE,
  "Votes the member casts in elections.", "replSetGetConfig.config.members[].votes");

/* ---- local.oplog.rs ---- */
M(MONGO_M_OPLOG_FIRST, "mongodb_oplog_first_timestamp_seconds", FROND_GAUGE,
  "Time of the oldest entry in the oplog, as a Unix timestamp.",
  "find local.oplog.rs sort {$natural: 1} limit 1: ts");
M(MONGO_M_OPLOG_LAST, "mongodb_oplog_last_timestamp_seconds", FROND_GAUGE,
  "Time of the newest entry in the oplog, as a Unix timestamp.",
  "find local.oplog.rs sort {$natural: -1} limit 1: ts");
M(MONGO_M_OPLOG_WINDOW, "mongodb_oplog_window_seconds", FROND_GAUGE,
  "Time span covered by the oplog (newest minus oldest entry), in seconds.",
  "oplog last ts - first ts");
M(MONGO_M_OPLOG_SIZE, "mongodb_oplog_size_bytes", FROND_GAUGE,
  "Uncompressed size of the oplog's entries, in bytes.", "collStats oplog.rs: size");
M(MONGO_M_OPLOG_MAX_SIZE, "mongodb_oplog_max_size_bytes", FROND_GAUGE,
  "Configured maximum size of the oplog, in bytes.", "collStats oplog.rs: maxSize");
M(MONGO_M_OPLOG_STORAGE_SIZE, "mongodb_oplog_storage_size_bytes", FROND_GAUGE,
  "Storage allocated to the oplog on disk, in bytes.", "collStats oplog.rs: storageSize");
M(MONGO_M_OPLOG_ENTRIES, "mongodb_oplog_entries", FROND_GAUGE, "Number of entries in the oplog.",
  "collStats oplog.rs: count");

const struct mongo_metric *const mongo_metrics_all[] = {
    &MONGO_M_UP,
    &MONGO_M_SCRAPE_DURATION,
    &MONGO_M_SCRAPE_TIMEOUT,
    &MONGO_M_VERSION,
    &MONGO_M_UPTIME,
    &MONGO_M_CONN_CURRENT,
    &MONGO_M_CONN_AVAILABLE,
    &MONGO_M_CONN_CREATED,
    &MONGO_M_OPCOUNTERS,
    &MONGO_M_OPCOUNTERS_REPL,
    &MONGO_M_ASSERTS,
    &MONGO_M_RS_ENABLED,
    &MONGO_M_RS_INFO,
    &MONGO_M_RS_MY_STATE,
    &MONGO_M_RS_TERM,
    &MONGO_M_RS_PRIMARY_PRESENT,
    &MONGO_M_RS_MEMBERS,
    &MONGO_M_RS_LAST_ELECTION,
    &MONGO_M_RS_HEARTBEAT_INTERVAL,
    &MONGO_M_RS_CONFIG_VERSION,
    &MONGO_M_RS_CONFIG_TERM,
    &MONGO_M_MEMBER_STATE,
    &MONGO_M_MEMBER_STATE_NAME,
    &MONGO_M_MEMBER_SELF,
    &MONGO_M_MEMBER_HEALTH,
    &MONGO_M_MEMBER_UPTIME,
    &MONGO_M_MEMBER_OPTIME,
    &MONGO_M_MEMBER_HEARTBEAT,
    &MONGO_M_MEMBER_HEARTBEAT_RECV,
    &MONGO_M_MEMBER_PING,
    &MONGO_M_MEMBER_CONFIG_VERSION,
    &MONGO_M_MEMBER_LAG,
    &MONGO_M_MEMBER_HIDDEN,
    &MONGO_M_MEMBER_ARBITER,
    &MONGO_M_MEMBER_DELAY,
    &MONGO_M_MEMBER_PRIORITY,
    &MONGO_M_MEMBER_VOTES,
    &MONGO_M_OPLOG_FIRST,
    &MONGO_M_OPLOG_LAST,
    &MONGO_M_OPLOG_WINDOW,
    &MONGO_M_OPLOG_SIZE,
    &MONGO_M_OPLOG_MAX_SIZE,
    &MONGO_M_OPLOG_STORAGE_SIZE,
    &MONGO_M_OPLOG_ENTRIES,
};
const size_t mongo_metrics_count = FROND_ARRAY_SIZE(mongo_metrics_all);

int mongo_emit(struct frond_scrape *s, const struct mongo_metric *m, double value, size_t nlabels,
               const struct frond_label *labels)
{
    struct frond_family *f = frond_scrape_family(s, m->name, m->type, m->help);
    if (!f) {
        return -ENOMEM;
    }
    return frond_scrape_samplev(s, f, value, nlabels, labels);
}
