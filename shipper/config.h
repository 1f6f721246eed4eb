/*
 * frondtail's configuration: the promtail YAML subset a DaemonSet needs
 * (server, positions, clients, scrape_configs with static_configs and
 * cri/docker pipeline stages, limits_config, target_config), loaded so that
 * a promtail user's existing file works unchanged. Every unknown key,
 * wrong type or unsupported feature is an error naming file:line, because
 * a shipper that silently ignores part of its config loses logs.
 *
 * With no file at all, config_defaults() gives what a Kubernetes node
 * needs: tail /var/log/pods/ * / * / *.log as CRI, positions under
 * /var/lib/frondtail/, push to $LOKI_URL or http://loki:3100/loki/api/v1/push.
 *
 * Ownership: struct shipper_config owns every string and array in it
 * (including the ship_client_config entries handed to the output side);
 * config_cleanup() frees them. After a failed load the struct is cleaned.
 * Not thread-safe; read-only once loaded.
 */
#ifndef FROND_SHIPPER_CONFIG_H
#define FROND_SHIPPER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "frond/common.h"
#include "k8s.h"
#include "labels.h"
#include "parse.h"
#include "relabel.h"
#include "ship.h"

#define CONFIG_DEFAULT_POSITIONS "/var/lib/frondtail/positions.yaml"
#define CONFIG_DEFAULT_URL "http://loki:3100/loki/api/v1/push"
#define CONFIG_DEFAULT_PODS_GLOB "/var/log/pods/*/*/*.log"

struct tail_target {
    char *path;               /* __path__ glob */
    char *path_exclude;       /* __path_exclude__ glob, or NULL */
    struct labels_set labels; /* static labels, `__` ones included (dropped at render) */
};

/* promtail's `journal:` scrape config. */
struct journal_config {
    bool json;      /* ship every field as a JSON object instead of MESSAGE */
    double max_age; /* seconds; where to start without a saved cursor (default 7h) */
    char *path;     /* journal directory, NULL = the system journal */
    char *matches;  /* "FIELD=value FIELD=value" ("+" = OR), or NULL */
    struct labels_set labels;
};

struct scrape_config {
    char *job_name;
    enum parse_format format;
    long max_partial_lines;
    struct tail_target *targets;
    size_t ntargets;
    struct relabel_rule *relabel;
    size_t nrelabel;
    struct journal_config *journal; /* NULL for file targets */
};

struct shipper_config {
    /* server */
    char *http_listen_address; /* host part, "" = all interfaces */
    long http_listen_port;     /* default 9080 */
    char *log_level;           /* NULL = keep the flag's */
    char *log_format;
    /* positions */
    char *positions_file;
    double positions_sync_period; /* default 10 s */
    bool ignore_invalid_yaml;
    /* clients */
    struct ship_client_config *clients;
    size_t nclients;
    /*
     * The line of each client's `url:` (0 when not from the file), so the
     * caller's curl check of the URLs (push_url_check) can name file:line.
     */
    int *client_url_lines;
    char *file_name; /* the config file's name for those messages; NULL for defaults */
    /* scrape_configs */
    struct scrape_config *scrapes;
    size_t nscrapes;
    /* limits_config */
    long max_line_size; /* 0 = no limit */
    bool max_line_size_truncate;
    /* target_config */
    double target_sync_period; /* default 10 s */
    /* frondtail extensions, documented in README.md */
    bool pod_uid_label; /* also add pod_uid from the kubelet path */
    bool start_at_end;  /* files found at the first start without a position: from the end */
    /* kubernetes_metadata: pod labels from the Kubernetes API (k8s.h, README-k8s.md) */
    struct k8s_meta_config kubernetes_metadata;
};

/* Fill the no-config-file defaults (one client from $LOKI_URL, the pods glob). -ENOMEM. */
FROND_MUST_CHECK int config_defaults(struct shipper_config *c);
/*
 * Load a YAML file (optionally ${VAR}-expanded). On error returns
 * -EINVAL with "file:line: reason" in err (exit 2), or -errno when the
 * file cannot be read; *c is left cleaned either way.
 */
FROND_MUST_CHECK int config_load(struct shipper_config *c, const char *path, bool expand_env,
                                 char *err, size_t errlen);
/* Same from memory; `name` is used in messages (the fuzzer uses this). */
FROND_MUST_CHECK int config_parse(struct shipper_config *c, const char *name, const char *text,
                                  size_t len, bool expand_env, char *err, size_t errlen);
void config_cleanup(struct shipper_config *c);
/* Free one client config's strings (the array entry itself stays). */
void config_client_cleanup(struct ship_client_config *cc);

#endif
