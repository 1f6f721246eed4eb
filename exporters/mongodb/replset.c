/*
 * replSetGetStatus and replSetGetConfig replies → replica set samples.
 *
 * Every exporter talks to one member (direct connection) and reports the
 * whole set as that member sees it, labelled {set, member}; PromQL picks
 * the view it wants (mongodb_replset_member_self == 1 selects each
 * member's own row). Replication lag is computed here rather than in
 * PromQL because the primary's optime and the member's optime must come
 * from the same reply to be comparable.
 *
 * Field shapes follow MongoDB 6.0/7.0 (`optime: {ts: Timestamp, t: Long}`,
 * `optimeDate: Date`, `lastHeartbeat: Date`, `pingMs: Long`, `health:
 * Double`); protocol-version-0 optimes (a bare Timestamp) are accepted too.
 * A field of another type makes its sample absent.
 */
#include <errno.h>
#include <string.h>

#include "mongo.h"

/* Names of the member states by number, for the stateset (4 has been unused since 3.0). */
static const char *const state_names[] = {
    "STARTUP", "PRIMARY", "SECONDARY", "RECOVERING", NULL,      "STARTUP2",
    "UNKNOWN", "ARBITER", "DOWN",      "ROLLBACK",   "REMOVED",
};

/* The states in the stateset: every defined one, so label sets never change on failover. */
static const char *const stateset_states[] = {
    "STARTUP", "PRIMARY", "SECONDARY", "RECOVERING", "STARTUP2",
    "UNKNOWN", "ARBITER", "DOWN",      "ROLLBACK",   "REMOVED",
};

#define MEMBER_NAME_MAX 256

bool mongo_error_not_replset(uint32_t domain, uint32_t code)
{
    /*
     * 76 NoReplicationEnabled: started without --replSet. 94
     * NotYetInitialized: started with --replSet but rs.initiate() never
     * ran. Both mean "not a replica set member (yet)", not a failure. With
     * error API version 2 the server code arrives in the SERVER domain;
     * QUERY is where version 1 put it.
     */
    if (domain != MONGOC_ERROR_SERVER && domain != MONGOC_ERROR_QUERY) {
        return false;
    }
    return code == 76 || code == 94;
}

/*
 * The member's last applied optime in Unix seconds. optimeDate carries
 * milliseconds; optime.ts only seconds, so it is the fallback. Zero (the
 * "null optime" that arbiters and unreachable members report) is unknown.
 */
static bool member_optime(const bson_t *m, double *out)
{
    double v = 0;
    bson_iter_t it;
    if (mongo_bson_get_time(m, "optimeDate", &v) && v > 0) {
        *out = v;
        return true;
    }
    if (mongo_bson_get_time(m, "optime.ts", &v) && v > 0) {
        *out = v;
        return true;
    }
    /* Protocol version 0 kept the optime as a bare Timestamp. */
    if (mongo_bson_find(m, "optime", &it) && BSON_ITER_HOLDS_TIMESTAMP(&it) &&
        mongo_bson_time(&it, &v) && v > 0) {
        *out = v;
        return true;
    }
    return false;
}

static bool member_state(const bson_t *m, int *state)
{
    double v;
    if (!mongo_bson_get_number(m, "state", &v) || v < 0 || v > 1000) {
        return false;
    }
    *state = (int)v;
    return true;
}

/* The iterator over `members` when it is an array; false otherwise. */
static bool members_iter(const bson_t *doc, const char *key, bson_iter_t *out)
{
    bson_iter_t it;
    bson_t arr;
    if (!mongo_bson_find(doc, key, &it) || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !mongo_bson_sub(&it, &arr)) {
        return false;
    }
    return bson_iter_init(out, &arr);
}

/*
 * Find the arbiterOnly flag of `name` in the config, so an arbiter is
 * recognised even while its status says DOWN or UNKNOWN.
 */
static bool config_says_arbiter(const bson_t *config, const char *name)
{
    bson_iter_t it;
    if (!config || !members_iter(config, "config.members", &it)) {
        return false;
    }
    while (bson_iter_next(&it)) {
        bson_t m;
        double v;
        const char *host;
        if (!mongo_bson_sub(&it, &m) || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
            continue;
        }
        host = mongo_bson_get_utf8(&m, "host");
        if (host && strcmp(host, name) == 0) {
            return mongo_bson_get_number(&m, "arbiterOnly", &v) && v != 0;
        }
    }
    return false;
}

/*
 * A boolean member option: absent means false (its documented default), a
 * number or bool is tested for non-zero, any other type is unknown.
 */
static bool config_flag(const bson_t *m, const char *key, double *out)
{
    bson_iter_t f;
    double v;
    if (!mongo_bson_find(m, key, &f)) {
        *out = 0;
        return true;
    }
    if (!mongo_bson_number(&f, &v)) {
        return false;
    }
    *out = v != 0;
    return true;
}

static int map_config_members(struct frond_scrape *s, const char *set, const bson_t *config)
{
    bson_iter_t it;
    double v;
    int rc = 0;

    if (mongo_bson_get_number(config, "config.version", &v)) {
        rc = mongo_emit(s, &MONGO_M_RS_CONFIG_VERSION, v, 1, (struct frond_label[]){{"set", set}});
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(config, "config.term", &v)) {
        rc = mongo_emit(s, &MONGO_M_RS_CONFIG_TERM, v, 1, (struct frond_label[]){{"set", set}});
        if (rc) {
            return rc;
        }
    }
    if (!members_iter(config, "config.members", &it)) {
        return 0;
    }
    while (bson_iter_next(&it)) {
        bson_t m;
        const char *host;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !mongo_bson_sub(&it, &m)) {
            continue;
        }
        host = mongo_bson_get_utf8(&m, "host");
        if (!host) {
            continue;
        }
        struct frond_label l[] = {{"set", set}, {"member", host}};
        if (config_flag(&m, "hidden", &v)) {
            rc = mongo_emit(s, &MONGO_M_MEMBER_HIDDEN, v, 2, l);
            if (rc) {
                return rc;
            }
        }
        if (config_flag(&m, "arbiterOnly", &v)) {
            rc = mongo_emit(s, &MONGO_M_MEMBER_ARBITER, v, 2, l);
            if (rc) {
                return rc;
            }
        }
        /* secondaryDelaySecs replaced slaveDelay in 5.0; a set upgraded in place has either. */
        bson_iter_t f;
        if (mongo_bson_get_number(&m, "secondaryDelaySecs", &v) ||
            mongo_bson_get_number(&m, "slaveDelay", &v)) {
            rc = mongo_emit(s, &MONGO_M_MEMBER_DELAY, v, 2, l);
        } else if (!mongo_bson_find(&m, "secondaryDelaySecs", &f) &&
                   !mongo_bson_find(&m, "slaveDelay", &f)) {
            rc = mongo_emit(s, &MONGO_M_MEMBER_DELAY, 0, 2, l);
        }
        if (rc) {
            return rc;
        }
        if (mongo_bson_get_number(&m, "priority", &v)) {
            rc = mongo_emit(s, &MONGO_M_MEMBER_PRIORITY, v, 2, l);
            if (rc) {
                return rc;
            }
        }
        if (mongo_bson_get_number(&m, "votes", &v)) {
            rc = mongo_emit(s, &MONGO_M_MEMBER_VOTES, v, 2, l);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

/* Per-member samples that need nothing but the member's own document. */
static int map_member(struct frond_scrape *s, const char *set, const char *name, const bson_t *m)
{
    struct frond_label l[] = {{"set", set}, {"member", name}};
    double v;
    int state;
    int rc = 0;
    bson_iter_t it;

    if (member_state(m, &state)) {
        const char *current = NULL;
        if ((size_t)state < FROND_ARRAY_SIZE(state_names)) {
            current = state_names[state];
        }
        rc = mongo_emit(s, &MONGO_M_MEMBER_STATE, state, 2, l);
        if (rc) {
            return rc;
        }
        struct frond_family *f =
            frond_scrape_family(s, MONGO_M_MEMBER_STATE_NAME.name, MONGO_M_MEMBER_STATE_NAME.type,
                                MONGO_M_MEMBER_STATE_NAME.help);
        if (!f) {
            return -ENOMEM;
        }
        rc = frond_scrape_stateset(s, f, 2, l, stateset_states, FROND_ARRAY_SIZE(stateset_states),
                                   current);
        if (rc) {
            return rc;
        }
    }
    v = 0;
    if (mongo_bson_find(m, "self", &it) && mongo_bson_number(&it, &v)) {
        v = v != 0;
    }
    rc = mongo_emit(s, &MONGO_M_MEMBER_SELF, v, 2, l);
    if (rc) {
        return rc;
    }
    if (mongo_bson_get_number(m, "health", &v)) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_HEALTH, v, 2, l);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(m, "uptime", &v)) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_UPTIME, v, 2, l);
        if (rc) {
            return rc;
        }
    }
    if (member_optime(m, &v)) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_OPTIME, v, 2, l);
        if (rc) {
            return rc;
        }
    }
    /* A member never heartbeats itself: these are absent on the `self` row. */
    if (mongo_bson_get_time(m, "lastHeartbeat", &v) && v > 0) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_HEARTBEAT, v, 2, l);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_time(m, "lastHeartbeatRecv", &v) && v > 0) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_HEARTBEAT_RECV, v, 2, l);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(m, "pingMs", &v)) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_PING, v / 1000.0, 2, l);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(m, "configVersion", &v)) {
        rc = mongo_emit(s, &MONGO_M_MEMBER_CONFIG_VERSION, v, 2, l);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/*
 * Copy the member's name into `buf`; false when it has none we can use
 * as a label (missing, not a string, too long).
 */
static bool member_name(const bson_t *m, char *buf, size_t bufsz)
{
    const char *name = mongo_bson_get_utf8(m, "name");
    size_t n;
    if (!name || !*name) {
        return false;
    }
    n = strlen(name);
    if (n >= bufsz) {
        return false;
    }
    memcpy(buf, name, n + 1);
    return true;
}

int mongo_map_replset(struct frond_scrape *s, const bson_t *status, const bson_t *config)
{
    const char *set;
    char self[MEMBER_NAME_MAX] = "";
    bson_iter_t it;
    double v;
    double primary_optime = 0, election = 0;
    bool have_primary = false, have_primary_optime = false;
    int nmembers = 0;
    int rc = 0;

    if (!status) {
        return 0;
    }
    set = mongo_bson_get_utf8(status, "set");
    if (!set) {
        /* Without a set name nothing can be labelled; the reply is not one we understand. */
        return 0;
    }
    struct frond_label sl[] = {{"set", set}};

    /* First pass: the primary's optime, this member's name, the member count. */
    if (members_iter(status, "members", &it)) {
        while (bson_iter_next(&it)) {
            bson_t m;
            int state;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !mongo_bson_sub(&it, &m)) {
                continue;
            }
            nmembers++;
            if (mongo_bson_get_number(&m, "self", &v) && v != 0) {
                if (!member_name(&m, self, sizeof(self))) {
                    self[0] = '\0';
                }
            }
            if (!member_state(&m, &state) || state != MONGO_STATE_PRIMARY) {
                continue;
            }
            have_primary = true;
            /*
             * Two members can both claim PRIMARY for a moment after a
             * network partition heals; the newer optime is the one writes
             * go to, so lag is measured against it.
             */
            if (member_optime(&m, &v) && (!have_primary_optime || v > primary_optime)) {
                primary_optime = v;
                have_primary_optime = true;
                if (!mongo_bson_get_time(&m, "electionDate", &election) &&
                    !mongo_bson_get_time(&m, "electionTime", &election)) {
                    election = 0;
                }
            }
        }
    }

    if (self[0]) {
        rc = mongo_emit(s, &MONGO_M_RS_INFO, 1, 2,
                        (struct frond_label[]){{"set", set}, {"self", self}});
    } else {
        rc = mongo_emit(s, &MONGO_M_RS_INFO, 1, 1, sl);
    }
    if (rc) {
        return rc;
    }
    if (mongo_bson_get_number(status, "myState", &v)) {
        rc = mongo_emit(s, &MONGO_M_RS_MY_STATE, v, 1, sl);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(status, "term", &v)) {
        rc = mongo_emit(s, &MONGO_M_RS_TERM, v, 1, sl);
        if (rc) {
            return rc;
        }
    }
    if (mongo_bson_get_number(status, "heartbeatIntervalMillis", &v)) {
        rc = mongo_emit(s, &MONGO_M_RS_HEARTBEAT_INTERVAL, v / 1000.0, 1, sl);
        if (rc) {
            return rc;
        }
    }
    rc = mongo_emit(s, &MONGO_M_RS_PRIMARY_PRESENT, have_primary, 1, sl);
    if (rc) {
        return rc;
    }
    rc = mongo_emit(s, &MONGO_M_RS_MEMBERS, nmembers, 1, sl);
    if (rc) {
        return rc;
    }
    /* The winner of the election also reports it in electionCandidateMetrics. */
    if (election <= 0 && have_primary &&
        !mongo_bson_get_time(status, "electionCandidateMetrics.lastElectionDate", &election)) {
        election = 0;
    }
    if (election > 0) {
        rc = mongo_emit(s, &MONGO_M_RS_LAST_ELECTION, election, 1, sl);
        if (rc) {
            return rc;
        }
    }

    /* Second pass: per-member samples and lag. */
    if (members_iter(status, "members", &it)) {
        while (bson_iter_next(&it)) {
            bson_t m;
            char name[MEMBER_NAME_MAX];
            int state = -1;
            double optime, health;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !mongo_bson_sub(&it, &m) ||
                !member_name(&m, name, sizeof(name))) {
                continue;
            }
            rc = map_member(s, set, name, &m);
            if (rc) {
                return rc;
            }
            /*
             * Lag is absent, never a sentinel, when it cannot be known: no
             * primary (or its optime unknown), an arbiter (it holds no
             * data), a member that is down (its optime is stale) or whose
             * optime is the null optime.
             */
            if (!have_primary_optime || !member_optime(&m, &optime)) {
                continue;
            }
            if (member_state(&m, &state) && state == MONGO_STATE_ARBITER) {
                continue;
            }
            if (mongo_bson_get_number(&m, "health", &health) && health == 0) {
                continue;
            }
            if (config_says_arbiter(config, name)) {
                continue;
            }
            rc = mongo_emit(s, &MONGO_M_MEMBER_LAG, primary_optime - optime, 2,
                            (struct frond_label[]){{"set", set}, {"member", name}});
            if (rc) {
                return rc;
            }
        }
    }

    if (config) {
        rc = map_config_members(s, set, config);
    }
    return rc;
}
