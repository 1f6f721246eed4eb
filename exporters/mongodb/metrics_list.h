/*
 * The catalogue of every metric frond_mongodb_exporter can emit, written
 * once as an X-macro list: MONGO_METRIC(variable, name, type, HELP,
 * source) per metric. mongo.h turns it into the extern declarations and
 * metrics.c into the definitions and mongo_metrics_all[], so adding a
 * metric is one entry here (and its README row, which a unit test checks).
 * Included only with MONGO_METRIC defined; no include guard on purpose.
 */
/* clang-format off */
/* ---- exporter ---- */
MONGO_METRIC(MONGO_M_UP, "mongodb_up", FROND_GAUGE,
  "Whether the last scrape could talk to the MongoDB server (connection and authentication).",
  "serverStatus succeeded")
MONGO_METRIC(MONGO_M_SCRAPE_DURATION, "mongodb_exporter_scrape_duration_seconds", FROND_GAUGE,
  "Time the last scrape spent fetching from MongoDB, in seconds.", "exporter")
MONGO_METRIC(MONGO_M_SCRAPE_TIMEOUT, "mongodb_exporter_scrape_timed_out", FROND_GAUGE,
  "1 when the scrape deadline passed before MongoDB answered.", "exporter")

/* ---- serverStatus ---- */
MONGO_METRIC(MONGO_M_VERSION, "mongodb_version_info", FROND_INFO,
  "MongoDB server version and process type, always 1.", "serverStatus.version, .process")
MONGO_METRIC(MONGO_M_UPTIME, "mongodb_uptime_seconds", FROND_GAUGE,
  "Time since the mongod process started, in seconds.", "serverStatus.uptime")
MONGO_METRIC(MONGO_M_CONN_CURRENT, "mongodb_connections_current", FROND_GAUGE,
  "Incoming client connections currently open.", "serverStatus.connections.current")
MONGO_METRIC(MONGO_M_CONN_AVAILABLE, "mongodb_connections_available", FROND_GAUGE,
  "Unused incoming connections still available.", "serverStatus.connections.available")
MONGO_METRIC(MONGO_M_CONN_CREATED, "mongodb_connections_created_total", FROND_COUNTER,
  "Incoming connections created since the server started.",
  "serverStatus.connections.totalCreated")
MONGO_METRIC(MONGO_M_OPCOUNTERS, "mongodb_opcounters_total", FROND_COUNTER,
  "Database operations by type since the server started.", "serverStatus.opcounters")
MONGO_METRIC(MONGO_M_OPCOUNTERS_REPL, "mongodb_opcounters_repl_total", FROND_COUNTER,
  "Replicated operations applied by type since the server started.", "serverStatus.opcountersRepl")
MONGO_METRIC(MONGO_M_ASSERTS, "mongodb_asserts_total", FROND_COUNTER,
  "Assertions raised by type since the server started.", "serverStatus.asserts")

/* ---- replSetGetStatus: the set ---- */
MONGO_METRIC(MONGO_M_RS_ENABLED, "mongodb_replset_enabled", FROND_GAUGE,
  "1 when the server is a configured replica set member, 0 when it is not (errors 76, 94).",
  "replSetGetStatus")
MONGO_METRIC(MONGO_M_RS_INFO, "mongodb_replset_info", FROND_INFO,
  "Replica set name and the name of the member this exporter talks to, always 1.",
  "replSetGetStatus.set, members[self].name")
MONGO_METRIC(MONGO_M_RS_MY_STATE, "mongodb_replset_my_state", FROND_GAUGE,
  "Replica set state of the member this exporter talks to (1 primary, 2 secondary, ...).",
  "replSetGetStatus.myState")
MONGO_METRIC(MONGO_M_RS_TERM, "mongodb_replset_term", FROND_GAUGE, "Election term as seen by this member.",
  "replSetGetStatus.term")
MONGO_METRIC(MONGO_M_RS_PRIMARY_PRESENT, "mongodb_replset_primary_present", FROND_GAUGE,
  "1 when this member sees a primary in the set, 0 when none (election in progress).",
  "replSetGetStatus.members[].state")
MONGO_METRIC(MONGO_M_RS_MEMBERS, "mongodb_replset_members", FROND_GAUGE,
  "Number of members in the replica set.", "replSetGetStatus.members")
MONGO_METRIC(MONGO_M_RS_LAST_ELECTION, "mongodb_replset_last_election_timestamp_seconds", FROND_GAUGE,
  "When the current primary was elected, as a Unix timestamp.",
  "replSetGetStatus.members[primary].electionDate")
MONGO_METRIC(MONGO_M_RS_HEARTBEAT_INTERVAL, "mongodb_replset_heartbeat_interval_seconds", FROND_GAUGE,
  "Interval between heartbeats among members, in seconds.",
  "replSetGetStatus.heartbeatIntervalMillis")
MONGO_METRIC(MONGO_M_RS_CONFIG_VERSION, "mongodb_replset_config_version", FROND_GAUGE,
  "Version of the replica set configuration this member holds.", "replSetGetConfig.config.version")
MONGO_METRIC(MONGO_M_RS_CONFIG_TERM, "mongodb_replset_config_term", FROND_GAUGE,
  "Term of the replica set configuration this member holds.", "replSetGetConfig.config.term")

/* ---- replSetGetStatus: per member ---- */
MONGO_METRIC(MONGO_M_MEMBER_STATE, "mongodb_replset_member_state", FROND_GAUGE,
  "Replica set state of the member as seen by this member (0 startup, 1 primary, 2 secondary, "
  "3 recovering, 5 startup2, 6 unknown, 7 arbiter, 8 down, 9 rollback, 10 removed).",
  "replSetGetStatus.members[].state")
MONGO_METRIC(MONGO_M_MEMBER_STATE_NAME, "mongodb_replset_member_state_name", FROND_STATESET,
  "Replica set state of the member as a stateset: every state is present, the current one is 1.",
  "replSetGetStatus.members[].state")
MONGO_METRIC(MONGO_M_MEMBER_SELF, "mongodb_replset_member_self", FROND_GAUGE,
  "1 for the member this exporter talks to, 0 for the others.", "replSetGetStatus.members[].self")
MONGO_METRIC(MONGO_M_MEMBER_HEALTH, "mongodb_replset_member_health", FROND_GAUGE,
  "1 when the member is up as seen by this member, 0 when it is down.",
  "replSetGetStatus.members[].health")
MONGO_METRIC(MONGO_M_MEMBER_UPTIME, "mongodb_replset_member_uptime_seconds", FROND_GAUGE,
  "Time the member has been up (for others: reachable) as seen by this member, in seconds.",
  "replSetGetStatus.members[].uptime")
MONGO_METRIC(MONGO_M_MEMBER_OPTIME, "mongodb_replset_member_optime_timestamp_seconds", FROND_GAUGE,
  "Time of the last operation the member applied, as a Unix timestamp; absent when unknown.",
  "replSetGetStatus.members[].optimeDate (else optime.ts)")
MONGO_METRIC(MONGO_M_MEMBER_HEARTBEAT, "mongodb_replset_member_last_heartbeat_timestamp_seconds", FROND_GAUGE,
  "When this member last received a heartbeat response from the member, as a Unix timestamp.",
  "replSetGetStatus.members[].lastHeartbeat")
MONGO_METRIC(MONGO_M_MEMBER_HEARTBEAT_RECV, "mongodb_replset_member_last_heartbeat_received_timestamp_seconds",
  FROND_GAUGE,
  "When this member last received a heartbeat request from the member, as a Unix timestamp.",
  "replSetGetStatus.members[].lastHeartbeatRecv")
MONGO_METRIC(MONGO_M_MEMBER_PING, "mongodb_replset_member_ping_seconds", FROND_GAUGE,
  "Heartbeat round-trip time from this member to the member, in seconds.",
  "replSetGetStatus.members[].pingMs")
MONGO_METRIC(MONGO_M_MEMBER_CONFIG_VERSION, "mongodb_replset_member_config_version", FROND_GAUGE,
  "Replica set configuration version the member runs with.",
  "replSetGetStatus.members[].configVersion")
MONGO_METRIC(MONGO_M_MEMBER_LAG, "mongodb_replset_member_replication_lag_seconds", FROND_GAUGE,
  "Primary optime minus member optime, in seconds (signed); absent without a primary, for "
  "arbiters, down members and unknown optimes.",
  "replSetGetStatus.members[].optimeDate")

/* ---- replSetGetConfig: per member ---- */
MONGO_METRIC(MONGO_M_MEMBER_HIDDEN, "mongodb_replset_member_hidden", FROND_GAUGE,
  "1 when the member is hidden from clients.", "replSetGetConfig.config.members[].hidden")
MONGO_METRIC(MONGO_M_MEMBER_ARBITER, "mongodb_replset_member_arbiter_only", FROND_GAUGE,
  "1 when the member is an arbiter.", "replSetGetConfig.config.members[].arbiterOnly")
MONGO_METRIC(MONGO_M_MEMBER_DELAY, "mongodb_replset_member_secondary_delay_seconds", FROND_GAUGE,
  "Configured replication delay of the member, in seconds.",
  "replSetGetConfig.config.members[].secondaryDelaySecs (slaveDelay before 5.0)")
MONGO_METRIC(MONGO_M_MEMBER_PRIORITY, "mongodb_replset_member_priority", FROND_GAUGE,
  "Election priority of the member (0 never becomes primary).",
  "replSetGetConfig.config.members[].priority")
MONGO_METRIC(MONGO_M_MEMBER_VOTES, "mongodb_replset_member_votes", FROND_GAUGE,
  "Votes the member casts in elections.", "replSetGetConfig.config.members[].votes")

/* ---- local.oplog.rs ---- */
MONGO_METRIC(MONGO_M_OPLOG_FIRST, "mongodb_oplog_first_timestamp_seconds", FROND_GAUGE,
  "Time of the oldest entry in the oplog, as a Unix timestamp.",
  "find local.oplog.rs sort {$natural: 1} limit 1: ts")
MONGO_METRIC(MONGO_M_OPLOG_LAST, "mongodb_oplog_last_timestamp_seconds", FROND_GAUGE,
  "Time of the newest entry in the oplog, as a Unix timestamp.",
  "find local.oplog.rs sort {$natural: -1} limit 1: ts")
MONGO_METRIC(MONGO_M_OPLOG_WINDOW, "mongodb_oplog_window_seconds", FROND_GAUGE,
  "Time span covered by the oplog (newest minus oldest entry), in seconds.",
  "oplog last ts - first ts")
MONGO_METRIC(MONGO_M_OPLOG_SIZE, "mongodb_oplog_size_bytes", FROND_GAUGE,
  "Uncompressed size of the oplog's entries, in bytes.", "collStats oplog.rs: size")
MONGO_METRIC(MONGO_M_OPLOG_MAX_SIZE, "mongodb_oplog_max_size_bytes", FROND_GAUGE,
  "Configured maximum size of the oplog, in bytes.", "collStats oplog.rs: maxSize")
MONGO_METRIC(MONGO_M_OPLOG_STORAGE_SIZE, "mongodb_oplog_storage_size_bytes", FROND_GAUGE,
  "Storage allocated to the oplog on disk, in bytes.", "collStats oplog.rs: storageSize")
MONGO_METRIC(MONGO_M_OPLOG_ENTRIES, "mongodb_oplog_entries", FROND_GAUGE, "Number of entries in the oplog.",
  "collStats oplog.rs: count")
/* clang-format on */
