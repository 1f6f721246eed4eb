#!/usr/bin/python3
"""Build frond's Grafana dashboards (dashboards/*.json) from this one file.

The JSON files are what operators import or provision, and they are
committed; this script is where they are written, so the conventions
(datasource variables, job/instance variables, units, $__rate_interval)
are applied once instead of by hand in five files. After editing, run

    /usr/bin/python3 dashboards/generate.py          # rewrite dashboards/*.json
    /usr/bin/python3 dashboards/generate.py --check  # fail if a JSON file drifted

`--check` runs as the ctest lint_dashboards_generated. Metric names must be
listed in dashboards/metrics.yml (tests/lint/check_catalog.py).
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

PROM = {"type": "prometheus", "uid": "${prometheus_datasource}"}
LOKI = {"type": "loki", "uid": "${loki_datasource}"}


# ---- building blocks ---------------------------------------------------------------

def ds_var(kind):
    name = "%s_datasource" % kind
    return {"name": name, "label": kind.capitalize(), "type": "datasource", "query": kind,
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}


def query_var(name, query, label=None, multi=True, include_all=True, all_value=".*"):
    v = {"name": name, "label": label or name, "type": "query", "datasource": PROM,
         "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "definition": query, "refresh": 2, "multi": multi, "includeAll": include_all,
         "current": {}, "hide": 0, "regex": "", "sort": 1, "options": []}
    if include_all:
        v["allValue"] = all_value
    return v


def target(expr, legend="", ref="A", ds=PROM, instant=False, table=False):
    t = {"refId": ref, "datasource": ds, "expr": expr}
    if ds is PROM:
        t["legendFormat"] = legend or "__auto"
        t["range"] = not instant
        t["instant"] = instant
        if table:
            t["format"] = "table"
    return t


def targets(*pairs, **kw):
    """targets(("expr", "legend"), ...) -> refIds A, B, C..."""
    return [target(e, l, ref=chr(ord("A") + i), **kw) for i, (e, l) in enumerate(pairs)]


def _thresholds(steps):
    return {"mode": "absolute",
            "steps": [{"color": c, "value": v} for v, c in steps]}


def timeseries(title, tgts, unit, desc="", w=12, h=8, min_=None, max_=None, stack=False,
               thresholds=None):
    defaults = {"unit": unit, "custom": {"drawStyle": "line", "lineWidth": 1,
                                         "fillOpacity": 10 if stack else 0,
                                         "showPoints": "never", "spanNulls": False,
                                         "stacking": {"mode": "normal" if stack else "none"}}}
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if thresholds:
        defaults["thresholds"] = _thresholds(thresholds)
        defaults["custom"]["thresholdsStyle"] = {"mode": "line"}
    return {"type": "timeseries", "title": title, "description": desc, "datasource": PROM,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom",
                                   "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
            "targets": tgts, "_w": w, "_h": h}


def stat(title, tgts, unit, desc="", w=6, h=4, thresholds=None, mappings=None):
    return {"type": "stat", "title": title, "description": desc, "datasource": PROM,
            "fieldConfig": {"defaults": {
                "unit": unit, "mappings": mappings or [],
                "thresholds": _thresholds(thresholds or [(None, "green")])},
                "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background" if thresholds else "value",
                        "graphMode": "none", "textMode": "auto", "justifyMode": "auto",
                        "orientation": "auto"},
            "targets": tgts, "_w": w, "_h": h}


def table(title, tgts, unit="short", desc="", w=12, h=8, columns=None, hide=("Time",)):
    """columns: {"Value #A": ("State", unit, mappings or None)} names, units and mappings
    of the merged value columns."""
    overrides = []
    rename = {}
    for field, (name, funit, mappings) in (columns or {}).items():
        props = [{"id": "unit", "value": funit}]
        if mappings:
            props.append({"id": "mappings", "value": mappings})
        overrides.append({"matcher": {"id": "byName", "options": field}, "properties": props})
        rename[field] = name
    return {"type": "table", "title": title, "description": desc, "datasource": PROM,
            "fieldConfig": {"defaults": {"unit": unit,
                                         "thresholds": _thresholds([(None, "green")])},
                            "overrides": overrides},
            "options": {"showHeader": True, "cellHeight": "sm"},
            "transformations": [
                {"id": "merge", "options": {}},
                {"id": "organize", "options": {"excludeByName": {k: True for k in hide},
                                               "renameByName": rename}}],
            "targets": tgts, "_w": w, "_h": h}


def logs(title, expr, desc="", w=24, h=10):
    return {"type": "logs", "title": title, "description": desc, "datasource": LOKI,
            "options": {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending",
                        "enableLogDetails": True, "dedupStrategy": "none"},
            "targets": [target(expr, ds=LOKI)], "_w": w, "_h": h}


def loki_timeseries(title, tgts, unit, desc="", w=12, h=8):
    p = timeseries(title, tgts, unit, desc=desc, w=w, h=h)
    p["datasource"] = LOKI
    return p


def row(title, repeat=None):
    r = {"type": "row", "title": title, "collapsed": False, "panels": []}
    if repeat:
        r["repeat"] = repeat
    return r


def value_map(pairs):
    """[(value, text, color)] -> Grafana value mappings."""
    return [{"type": "value", "options": {
        str(v): {"text": t, "color": c, "index": i} for i, (v, t, c) in enumerate(pairs)}}]


def layout(items):
    """Assign ids and gridPos: rows span the width, panels flow left to right."""
    out, x, y, line_h, pid = [], 0, 0, 0, 1
    for it in items:
        it = dict(it)
        it["id"] = pid
        pid += 1
        if it["type"] == "row":
            if x:
                y += line_h
            x, line_h = 0, 0
            it["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
            out.append(it)
            continue
        w, h = it.pop("_w"), it.pop("_h")
        if x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        it["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        line_h = max(line_h, h)
        out.append(it)
    return out


def dashboard(uid, title, desc, variables, panels, loki=False):
    tv = [ds_var("prometheus")] + ([ds_var("loki")] if loki else []) + variables
    return {
        "id": None,
        "uid": "frond-" + uid,
        "title": title,
        "description": desc,
        "tags": ["frond"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"type": "dashboards", "tags": ["frond"], "asDropdown": True,
                   "title": "frond", "includeVars": False, "keepTime": True}],
        "templating": {"list": tv},
        "panels": layout(panels),
    }


def job_instance(metric, what=""):
    return [query_var("job", "label_values(%s, job)" % metric, label=(what + " job").strip()),
            query_var("instance", 'label_values(%s{job=~"$job"}, instance)' % metric,
                      label=(what + " instance").strip())]


# ---- mongodb-replset ---------------------------------------------------------------

STATE_NAMES = [(0, "STARTUP", "blue"), (1, "PRIMARY", "green"), (2, "SECONDARY", "green"),
               (3, "RECOVERING", "orange"), (5, "STARTUP2", "orange"), (6, "UNKNOWN", "red"),
               (7, "ARBITER", "green"), (8, "DOWN", "red"), (9, "ROLLBACK", "red"),
               (10, "REMOVED", "red")]


def mongodb():
    s = 'job=~"$job", instance=~"$instance"'
    m = 'job=~"$job", instance=~"$instance", set=~"$set"'
    panels = [
        row("Replica set"),
        stat("Primary present", targets(
            ('max by (set) (mongodb_replset_primary_present{%s})' % m, "{{set}}")), "none",
            desc="1 when some member sees a primary. Without one, writes fail and lag is "
                 "undefined (its series are absent by design).",
            thresholds=[(None, "red"), (1, "green")],
            mappings=value_map([(0, "NO PRIMARY", "red"), (1, "yes", "green")])),
        stat("Members healthy", targets(
            ('sum by (set) (min by (set, member) (mongodb_replset_member_health{%s}))' % m,
             "healthy {{set}}"),
            ('max by (set) (mongodb_replset_members{%s})' % m, "members {{set}}")), "none",
            desc="Members every exporter sees as up, and the members the set has."),
        stat("Exporters reaching MongoDB", targets(
            ('sum(mongodb_up{%s})' % s, "up"),
            ('count(mongodb_up{%s})' % s, "exporters")), "none",
            desc="mongodb_up: the exporter could run serverStatus on its member."),
        stat("Time since last election", targets(
            ('time() - max by (set) (mongodb_replset_last_election_timestamp_seconds{%s})' % m,
             "{{set}}")), "s",
            desc="When the current primary was elected."),
        table("Members", targets(
            ('max by (set, member) (mongodb_replset_member_state{%s})' % m, ""),
            ('min by (set, member) (mongodb_replset_member_health{%s})' % m, ""),
            ('max by (set, member) (mongodb_replset_member_ping_seconds{%s})' % m, ""),
            instant=True, table=True), unit="none", w=12,
            desc="State, health (1 up) and heartbeat round trip of every member.",
            columns={"Value #A": ("State", "none", value_map(STATE_NAMES)),
                     "Value #B": ("Health", "none", value_map([(0, "down", "red"),
                                                                (1, "up", "green")])),
                     "Value #C": ("Ping", "s", None)}),
        timeseries("Members by state", targets(
            ('count by (set, mongodb_replset_member_state_name) (max by (set, member, '
             'mongodb_replset_member_state_name) (mongodb_replset_member_state_name{%s}) == 1)'
             % m, "{{set}} {{mongodb_replset_member_state_name}}")), "none", w=12, stack=True,
            desc="How many members are in each replica set state (from the stateset, which "
                 "keeps its label sets stable across failovers)."),
        row("Replication"),
        timeseries("Replication lag per member", targets(
            ('min by (set, member) (mongodb_replset_member_replication_lag_seconds{%s})' % m,
             "{{member}}")), "s",
            desc="Primary optime minus member optime, the least-behind view. Absent when the "
                 "set has no primary. Delayed members show their configured delay.",
            thresholds=[(None, "green"), (30, "orange"), (300, "red")]),
        timeseries("Oplog headroom per member", targets(
            ('set_member:mongodb_oplog_headroom_seconds:window_minus_lag{set=~"$set"}',
             "{{member}}")), "s",
            desc="The primary's oplog window minus the member's lag: how long it can fall "
                 "further behind before it needs a full resync.",
            thresholds=[(None, "red"), (3600, "green")]),
        timeseries("Oplog window", targets(
            ('mongodb_oplog_window_seconds{%s}' % s, "{{instance}}")), "s",
            desc="Time span between the oldest and newest oplog entry of each member."),
        timeseries("Oplog size used", targets(
            ('mongodb_oplog_size_bytes{%s} / mongodb_oplog_max_size_bytes{%s}' % (s, s),
             "{{instance}}")), "percentunit", min_=0, max_=1,
            desc="Oplog entries' size over the configured maximum."),
        row("Elections"),
        timeseries("Election term", targets(
            ('max by (set) (mongodb_replset_term{%s})' % m, "{{set}}")), "none",
            desc="Each step up is an election."),
        timeseries("Elections", targets(
            ('max by (set) (changes(mongodb_replset_term{%s}[$__rate_interval]))' % m,
             "{{set}}")), "none",
            desc="Term changes within each interval."),
        row("Connections and operations"),
        timeseries("Connections", targets(
            ('mongodb_connections_current{%s}' % s, "current {{instance}}"),
            ('mongodb_connections_available{%s}' % s, "available {{instance}}")), "short"),
        timeseries("Connections used", targets(
            ('mongodb_connections_current{%s} / (mongodb_connections_current{%s} + '
             'mongodb_connections_available{%s})' % (s, s, s), "{{instance}}")),
            "percentunit", min_=0, max_=1, thresholds=[(None, "green"), (0.8, "red")]),
        timeseries("Operations", targets(
            ('sum by (instance, type) (rate(mongodb_opcounters_total{%s}[$__rate_interval]))'
             % s, "{{instance}} {{type}}")), "ops"),
        timeseries("Replicated operations applied", targets(
            ('sum by (instance, type) (rate(mongodb_opcounters_repl_total{%s}'
             '[$__rate_interval]))' % s, "{{instance}} {{type}}")), "ops"),
        timeseries("Exporter scrape duration", targets(
            ('mongodb_exporter_scrape_duration_seconds{%s}' % s, "{{instance}}")), "s"),
        timeseries("Connections created", targets(
            ('sum by (instance) (rate(mongodb_connections_created_total{%s}'
             '[$__rate_interval]))' % s, "{{instance}}")), "cps"),
    ]
    variables = job_instance("mongodb_up") + [
        query_var("set", 'label_values(mongodb_replset_primary_present{job=~"$job"}, set)',
                  label="replica set")]
    return dashboard("mongodb-replset", "frond / MongoDB replica set",
                     "Replica set health, lag, oplog headroom, elections and load, from "
                     "frond_mongodb_exporter (one per member).", variables, panels)


# ---- rabbitmq ----------------------------------------------------------------------

def rabbitmq():
    s = 'job=~"$job", instance=~"$instance"'
    q = 'job=~"$job", instance=~"$instance", vhost=~"$vhost"'
    rate = lambda metric: ('sum by (vhost, queue) (rate(%s{%s}[$__rate_interval]))'
                           % (metric, q))
    panels = [
        row("Cluster"),
        stat("Exporter reaching RabbitMQ", targets(('min(rabbitmq_up{%s})' % s, "up")), "none",
             thresholds=[(None, "red"), (1, "green")],
             mappings=value_map([(0, "DOWN", "red"), (1, "up", "green")]),
             desc="rabbitmq_up: every management API call of the last scrape succeeded."),
        stat("Nodes running", targets(
            ('sum(rabbitmq_cluster_nodes_running{%s})' % s, "running"),
            ('sum(rabbitmq_cluster_nodes{%s})' % s, "in cluster")), "none",
            desc="Running nodes, and the nodes the cluster has."),
        stat("Alarms", targets(
            ('sum(rabbitmq_node_mem_alarm{%s})' % s, "memory"),
            ('sum(rabbitmq_node_disk_free_alarm{%s})' % s, "disk"),
            ('max(rabbitmq_node_partitions{%s})' % s, "partitions")), "none",
            thresholds=[(None, "green"), (1, "red")],
            desc="Nodes with a memory or disk alarm (publishers blocked), and partitioned "
                 "peers seen."),
        stat("Objects", targets(
            ('sum(rabbitmq_cluster_connections{%s})' % s, "connections"),
            ('sum(rabbitmq_cluster_channels{%s})' % s, "channels"),
            ('sum(rabbitmq_cluster_consumers{%s})' % s, "consumers"),
            ('sum(rabbitmq_cluster_queues{%s})' % s, "queues")), "short"),
        timeseries("Messages in the cluster", targets(
            ('sum(rabbitmq_cluster_messages_ready{%s})' % s, "ready"),
            ('sum(rabbitmq_cluster_messages_unacked{%s})' % s, "unacked")), "short", w=24,
            h=6, stack=True),
        row("Nodes"),
        table("Nodes", targets(
            ('max by (node) (rabbitmq_node_running{%s})' % s, ""),
            ('max by (node) (rabbitmq_node_uptime_seconds{%s})' % s, ""),
            ('max by (node) (rabbitmq_node_mem_alarm{%s})' % s, ""),
            ('max by (node) (rabbitmq_node_disk_free_alarm{%s})' % s, ""),
            ('max by (node) (rabbitmq_node_partitions{%s})' % s, ""),
            instant=True, table=True), w=24, h=6,
            columns={"Value #A": ("Running", "none", value_map([(0, "stopped", "red"),
                                                                (1, "running", "green")])),
                     "Value #B": ("Uptime", "s", None),
                     "Value #C": ("Memory alarm", "none", value_map([(0, "ok", "green"),
                                                                     (1, "ALARM", "red")])),
                     "Value #D": ("Disk alarm", "none", value_map([(0, "ok", "green"),
                                                                   (1, "ALARM", "red")])),
                     "Value #E": ("Partitions", "none", None)}),
        timeseries("Memory used and high watermark", targets(
            ('max by (node) (rabbitmq_node_memory_used_bytes{%s})' % s, "used {{node}}"),
            ('max by (node) (rabbitmq_node_memory_limit_bytes{%s})' % s, "limit {{node}}")),
            "bytes"),
        timeseries("Free disk and low watermark", targets(
            ('max by (node) (rabbitmq_node_disk_free_bytes{%s})' % s, "free {{node}}"),
            ('max by (node) (rabbitmq_node_disk_free_limit_bytes{%s})' % s,
             "limit {{node}}")), "bytes"),
        timeseries("File descriptors, sockets and processes used", targets(
            ('max by (node) (rabbitmq_node_fd_used{%s} / rabbitmq_node_fd_limit{%s})' % (s, s),
             "fd {{node}}"),
            ('max by (node) (rabbitmq_node_sockets_used{%s} / rabbitmq_node_sockets_limit{%s})'
             % (s, s), "sockets {{node}}"),
            ('max by (node) (rabbitmq_node_erlang_processes_used{%s} / '
             'rabbitmq_node_erlang_processes_limit{%s})' % (s, s), "processes {{node}}")),
            "percentunit", min_=0, max_=1, thresholds=[(None, "green"), (0.8, "red")]),
        timeseries("Exporter scrape duration", targets(
            ('rabbitmq_exporter_scrape_duration_seconds{%s}' % s, "{{instance}}")), "s"),
        row("Queues"),
        table("Top queues by ready messages", targets(
            ('topk(10, max by (vhost, queue) (rabbitmq_queue_messages_ready{%s}))' % q, ""),
            instant=True, table=True), w=12,
            columns={"Value": ("Ready", "short", None)}),
        table("Top queues by unacknowledged messages", targets(
            ('topk(10, max by (vhost, queue) (rabbitmq_queue_messages_unacked{%s}))' % q, ""),
            instant=True, table=True), w=12,
            columns={"Value": ("Unacked", "short", None)}),
        timeseries("Ready messages (top 10 queues)", targets(
            ('topk(10, max by (vhost, queue) (rabbitmq_queue_messages_ready{%s}))' % q,
             "{{vhost}} {{queue}}")), "short"),
        timeseries("Unacknowledged messages (top 10 queues)", targets(
            ('topk(10, max by (vhost, queue) (rabbitmq_queue_messages_unacked{%s}))' % q,
             "{{vhost}} {{queue}}")), "short"),
        timeseries("Consumers", targets(
            ('max by (vhost, queue) (rabbitmq_queue_consumers{%s})' % q,
             "{{vhost}} {{queue}}")), "short"),
        timeseries("Oldest message age", targets(
            ('max by (vhost, queue) (time() - rabbitmq_queue_head_message_timestamp_seconds{%s})'
             % q, "{{vhost}} {{queue}}")), "s",
            desc="Age of the oldest ready message (needs publishers to set the AMQP timestamp "
                 "property; absent for empty queues).",
            thresholds=[(None, "green"), (600, "red")]),
        timeseries("Consumer utilisation", targets(
            ('max by (vhost, queue) (rabbitmq_queue_consumer_utilisation{%s})' % q,
             "{{vhost}} {{queue}}")), "percentunit", min_=0, max_=1),
        timeseries("Queue size in bytes", targets(
            ('topk(10, max by (vhost, queue) (rabbitmq_queue_messages_bytes{%s}))' % q,
             "{{vhost}} {{queue}}")), "bytes"),
        row("Message rates"),
        timeseries("Published", targets((rate("rabbitmq_queue_messages_published_total"),
                                         "{{vhost}} {{queue}}")), "suffix: msg/s",
                   desc="The message rates need queue statistics: they are empty while "
                        "rabbitmq_exporter_queue_stats_enabled is 0 (--no-rabbit.queue-stats, "
                        "or more queues than --rabbit.queue-stats-limit)."),
        timeseries("Delivered", targets((rate("rabbitmq_queue_messages_delivered_total"),
                                         "{{vhost}} {{queue}}")), "suffix: msg/s"),
        timeseries("Acknowledged", targets((rate("rabbitmq_queue_messages_acked_total"),
                                            "{{vhost}} {{queue}}")), "suffix: msg/s"),
        timeseries("Redelivered", targets((rate("rabbitmq_queue_messages_redelivered_total"),
                                           "{{vhost}} {{queue}}")), "suffix: msg/s",
                   desc="Messages delivered again after a consumer or channel went away."),
    ]
    variables = job_instance("rabbitmq_up") + [
        query_var("vhost", 'label_values(rabbitmq_queue_messages_ready{job=~"$job", '
                           'instance=~"$instance"}, vhost)')]
    return dashboard("rabbitmq", "frond / RabbitMQ",
                     "Cluster and node health, queues and message rates, from "
                     "frond_rabbitmq_exporter.", variables, panels)


# ---- platform-usage ----------------------------------------------------------------

def platform_usage():
    s = 'job=~"$job", instance=~"$instance"'
    panels = [
        row("Users"),
        stat("Registered users", targets(('sum(palm_users{%s})' % s, "users")), "short"),
        stat("Active users", targets(
            ('sum(palm_active_users_24h{%s})' % s, "24 h"),
            ('sum(palm_active_users_7d{%s})' % s, "7 d"),
            ('sum(palm_active_users_30d{%s})' % s, "30 d")), "short", w=12),
        stat("Verified Discord accounts", targets(
            ('sum(palm_discord_verified_accounts{%s})' % s, "verified")), "short"),
        timeseries("Registered and active users", targets(
            ('sum(palm_users{%s})' % s, "registered"),
            ('sum(palm_active_users_24h{%s})' % s, "active 24 h"),
            ('sum(palm_active_users_7d{%s})' % s, "active 7 d"),
            ('sum(palm_active_users_30d{%s})' % s, "active 30 d")), "short"),
        timeseries("Verified Discord accounts", targets(
            ('sum(palm_discord_verified_accounts{%s})' % s, "verified")), "short"),
        row("DAO and validations"),
        timeseries("DAO proposals by status", targets(
            ('sum by (status) (palm_dao_proposals{%s})' % s, "{{status}}")), "short",
            stack=True),
        timeseries("Validations in the last hour, by result", targets(
            ('sum by (result) (palm_validations_last_hour{%s})' % s, "{{result}}")), "short",
            stack=True),
        timeseries("Validations recorded, by result", targets(
            ('sum by (result) (rate(palm_validations_total{%s}[$__rate_interval]))' % s,
             "{{result}}")), "cps",
            desc="Rate of the validations counter. The query runs every few minutes, so "
                 "the rate moves in steps."),
        row("Query health"),
        table("Queries", targets(
            ('max by (metric) (usage_query_up{%s})' % s, ""),
            ('max by (metric) (time() - usage_query_last_success_timestamp_seconds{%s})' % s,
             ""),
            ('max by (metric) (usage_query_duration_seconds{%s})' % s, ""),
            ('max by (metric) (usage_query_samples{%s})' % s, ""),
            instant=True, table=True), w=24,
            desc="Each configured query: did its last run succeed, how long ago it last "
                 "succeeded, how long the last run took, and the samples it exposes.",
            columns={"Value #A": ("Last run", "none", value_map([(0, "FAILED", "red"),
                                                                 (1, "ok", "green")])),
                     "Value #B": ("Since last success", "s", None),
                     "Value #C": ("Duration", "s", None),
                     "Value #D": ("Samples", "short", None)}),
        timeseries("Queries succeeding", targets(
            ('max by (metric) (usage_query_up{%s})' % s, "{{metric}}")), "none", min_=0,
            max_=1),
        timeseries("Query duration", targets(
            ('max by (metric) (usage_query_duration_seconds{%s})' % s, "{{metric}}")), "s"),
        timeseries("Query errors", targets(
            ('sum by (metric) (rate(usage_query_errors_total{%s}[$__rate_interval]))' % s,
             "{{metric}}")), "cps"),
        timeseries("MongoDB servers reachable", targets(
            ('max by (server) (usage_server_up{%s})' % s, "{{server}}")), "none", min_=0,
            max_=1),
        timeseries("Config reload", targets(
            ('max by (instance) (usage_config_last_reload_successful{%s})' % s,
             "{{instance}}")), "none", min_=0, max_=1,
            desc="1 when the last (re)load of the configuration was accepted."),
    ]
    return dashboard("platform-usage", "frond / Platform usage",
                     "Platform usage and user activity from frond_usage_exporter's example "
                     "configuration (exporters/usage/examples/palm.yaml), with per-query "
                     "health.", job_instance("usage_up"), panels)


# ---- frondtail ---------------------------------------------------------------------

def frondtail():
    s = 'job=~"$job", instance=~"$instance"'
    rate = lambda metric, by="instance": ('sum by (%s) (rate(%s{%s}[$__rate_interval]))'
                                          % (by, metric, s))
    q = lambda p: ('histogram_quantile(%s, sum by (le, status_code) '
                   '(rate(frondtail_request_duration_seconds_bucket{%s}[$__rate_interval])))'
                   % (p, s))
    panels = [
        row("Throughput"),
        timeseries("Lines read", targets((rate("frondtail_read_lines_total"),
                                          "{{instance}}")), "cps"),
        timeseries("Bytes read", targets((rate("frondtail_read_bytes_total"),
                                          "{{instance}}")), "Bps"),
        timeseries("Entries accepted by Loki", targets((rate("frondtail_sent_entries_total"),
                                                        "{{instance}}")), "cps"),
        timeseries("Bytes sent: log lines and request bodies", targets(
            (rate("frondtail_sent_bytes_total"), "lines {{instance}}"),
            (rate("frondtail_encoded_bytes_total"), "encoded {{instance}}")), "Bps",
            desc="Uncompressed line bytes Loki accepted, and the snappy-compressed protobuf "
                 "bodies sent (every attempt)."),
        row("Lag and backlog"),
        timeseries("Lag: file size minus committed offset", targets(
            ('sum by (instance) (frondtail_file_size_bytes{%s} - '
             'frondtail_file_position_bytes{%s})' % (s, s), "{{instance}}")), "bytes",
            desc="Bytes written to the tailed files that Loki has not acknowledged yet. It "
                 "should return to ~0 between batches."),
        table("Files furthest behind", targets(
            ('topk(20, frondtail_file_size_bytes{%s} - frondtail_file_position_bytes{%s})'
             % (s, s), ""), instant=True, table=True),
            columns={"Value": ("Lag", "bytes", None)}),
        timeseries("Backlog", targets(('sum by (instance) (frondtail_backlog_bytes{%s})' % s,
                                       "{{instance}}"),
                                      ('sum by (instance) (frondtail_backlog_limit_bytes{%s})' % s,
                                       "limit {{instance}}")), "bytes",
                   desc="Line and label bytes buffered for Loki (pending and in flight), against "
                        "max_backlog_bytes: readers pause at the limit."),
        timeseries("Readers paused by backpressure", targets(
            (rate("frondtail_backpressure_pauses_total"), "{{instance}}")), "cps",
            desc="A file stops being read while the backlog is at its bound."),
        row("Delivery"),
        timeseries("Push latency p50 / p99 by status", targets(
            (q("0.5"), "p50 {{status_code}}"), (q("0.99"), "p99 {{status_code}}")), "s"),
        timeseries("Pushes by status", targets(
            (rate("frondtail_request_duration_seconds_count", "status_code"),
             "{{status_code}}")), "reqps", desc="-1: no HTTP response (connection error)."),
        timeseries("Retries by status", targets(
            (rate("frondtail_batch_retries_total", "instance, status_code"),
             "{{instance}} {{status_code}}")), "cps"),
        timeseries("Drops by reason", targets(
            (rate("frondtail_dropped_entries_total", "instance, reason"),
             "{{instance}} {{reason}}")), "cps",
            desc="Entries dropped on purpose (Loki answered 400, or max_retries ran out)."),
        row("Files"),
        stat("Active files", targets(('sum(frondtail_files_active{%s})' % s, "files")),
             "short"),
        stat("Positions save errors", targets(
            ('sum(increase(frondtail_positions_save_errors_total{%s}[$__rate_interval]))' % s,
             "errors")), "short", thresholds=[(None, "green"), (1, "red")]),
        timeseries("Active files per instance", targets(
            ('sum by (instance) (frondtail_files_active{%s})' % s, "{{instance}}")), "short"),
        timeseries("Rotations and truncations", targets(
            (rate("frondtail_file_rotations_total"), "rotated {{instance}}"),
            (rate("frondtail_file_truncations_total"), "truncated {{instance}}")), "cps"),
        timeseries("Lines too long or malformed", targets(
            (rate("frondtail_lines_too_long_total", "instance, action"),
             "too long, {{action}} {{instance}}"),
            (rate("frondtail_lines_malformed_total", "instance, format"),
             "malformed {{format}} {{instance}}")), "cps"),
        timeseries("Positions file writes", targets(
            (rate("frondtail_positions_saves_total"), "saves {{instance}}"),
            (rate("frondtail_positions_save_errors_total"), "errors {{instance}}")), "cps"),
        timeseries("Memory", targets(
            ('process_resident_memory_bytes{%s}' % s, "{{instance}}")), "bytes"),
    ]
    return dashboard("frondtail", "frond / frondtail",
                     "The log shipper: throughput, lag, backlog, delivery and files.",
                     job_instance("frondtail_files_active"), panels)


# ---- services ----------------------------------------------------------------------

def services():
    pod = 'namespace=~"$namespace", pod=~"$service-.*"'
    ctr = pod + ', container!="", container!="POD"'
    rq = 'job=~"$job", instance=~"$instance", queue=~"$service.*"'
    logsel = '{namespace=~"$namespace", pod=~"$service-.*"}'
    panels = [
        row("$service", repeat="service"),
        timeseries("CPU by pod (cores)", targets(
            ('sum by (pod) (rate(container_cpu_usage_seconds_total{%s}[$__rate_interval]))'
             % ctr, "{{pod}}")), "short", w=8),
        timeseries("Memory by pod", targets(
            ('sum by (pod) (container_memory_working_set_bytes{%s})' % ctr, "{{pod}}"),
            ('max(container_spec_memory_limit_bytes{%s} > 0)' % ctr, "limit")), "bytes",
            w=8),
        timeseries("Replicas and HPA", targets(
            ('sum(kube_deployment_status_replicas_available{namespace=~"$namespace", '
             'deployment="$service"})', "available"),
            ('sum(kube_horizontalpodautoscaler_status_desired_replicas{namespace=~"$namespace", '
             'horizontalpodautoscaler="$service"})', "HPA desired"),
            ('sum(kube_horizontalpodautoscaler_spec_max_replicas{namespace=~"$namespace", '
             'horizontalpodautoscaler="$service"})', "HPA max")), "short", w=8,
            desc="Available replicas of the Deployment named like the service, and what its "
                 "HorizontalPodAutoscaler (same name) wants."),
        timeseries("Container restarts", targets(
            ('sum by (pod) (increase(kube_pod_container_status_restarts_total{%s}'
             '[$__rate_interval]))' % pod, "{{pod}}")), "short", w=8),
        timeseries("RabbitMQ queues", targets(
            ('max by (queue) (rabbitmq_queue_messages_ready{%s})' % rq, "ready {{queue}}"),
            ('max by (queue) (rabbitmq_queue_messages_unacked{%s})' % rq,
             "unacked {{queue}}"),
            ('max by (queue) (rabbitmq_queue_consumers{%s})' % rq, "consumers {{queue}}")),
            "short", w=8, desc="Queues whose name starts with the service name."),
        loki_timeseries("Log lines and error lines", [
            target('sum by (stream) (count_over_time(%s [$__auto]))' % logsel, ds=LOKI,
                   ref="A"),
            target('sum(count_over_time(%s |~ "(?i)(error|fatal|panic)" [$__auto]))' % logsel,
                   ds=LOKI, ref="B")], "short", w=8,
            desc="Lines shipped by frondtail per stream, and lines mentioning "
                 "error/fatal/panic."),
        logs("Logs", logsel, w=24, h=10),
    ]
    variables = job_instance("rabbitmq_queue_messages_ready", "RabbitMQ") + [
        query_var("namespace", "label_values(kube_pod_info, namespace)"),
        query_var("service", 'label_values(kube_deployment_spec_replicas{namespace=~"$namespace"}, '
                             'deployment)', include_all=True)]
    return dashboard("services", "frond / Services",
                     "One row per platform service: pod CPU and memory, replicas vs. HPA, "
                     "its RabbitMQ queues, and its logs next to them.", variables, panels,
                     loki=True)


DASHBOARDS = {
    "mongodb-replset": mongodb,
    "rabbitmq": rabbitmq,
    "platform-usage": platform_usage,
    "frondtail": frondtail,
    "services": services,
}


def render(fn):
    return json.dumps(fn(), indent=2, sort_keys=False) + "\n"


def main(argv):
    check = "--check" in argv
    bad = 0
    for name, fn in DASHBOARDS.items():
        path = os.path.join(HERE, "%s.json" % name)
        text = render(fn)
        if check:
            try:
                with open(path) as f:
                    cur = f.read()
            except OSError:
                cur = None
            if cur != text:
                print("%s: differs from generate.py's output; run dashboards/generate.py" % path)
                bad += 1
        else:
            with open(path, "w") as f:
                f.write(text)
    if check:
        print("%d passed, %d failed" % (len(DASHBOARDS) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
