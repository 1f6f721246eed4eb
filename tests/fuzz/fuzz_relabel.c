/*
 * libFuzzer target for frondtail's relabel_configs (shipper/relabel.c and
 * the relabel part of shipper/config.c). The input is
 *
 *   <relabel_configs YAML list>\n%%\n<label lines "name=value">
 *
 * The rules are loaded through config_parse (so parsing, RE2 compiling
 * and Prometheus' validation all run) and applied to the label set; a
 * failed load must say "name:line: reason". The first line of the input is
 * also compiled as a bare regex and matched against every label value,
 * checking the capture spans. Nothing may crash, leak or break an
 * invariant (abort()).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_re_checks.h"
#include "relabel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (16 * 1024)

static void check_regex(const char *pattern, const struct labels_set *s)
{
    struct relabel_re *re = NULL;
    char err[256];
    int rc = relabel_re_compile(pattern, &re, err, sizeof(err));
    if (rc) {
        if (rc != -EINVAL || re || !err[0]) {
            abort();
        }
        return;
    }
    size_t ng = relabel_re_groups(re);
    int *caps = calloc(2 * ng, sizeof(int));
    if (!caps) {
        abort();
    }
    for (size_t i = 0; i < s->n; i++) {
        const char *v = s->l[i].value;
        size_t len = strlen(v);
        int m = relabel_re_match(re, v, len, caps, 2 * ng);
        if (m < 0 || m > 1) {
            abort();
        }
        if (m == 1) {
            fuzz_check_spans(caps, ng, len);
            struct frond_buf out;
            frond_buf_init(&out, 1 << 20);
            int xr = relabel_expand(re, pattern, v, caps, &out);
            if (xr != 0 && xr != -ENOSPC) {
                abort();
            }
            frond_buf_cleanup(&out);
        }
    }
    free(caps);
    relabel_re_free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_input_string(data, size, MAX_INPUT);
    if (!in) {
        return 0;
    }
    /* NUL bytes end the text like a C string would. */
    size_t len = strlen(in);
    char *labels = strstr(in, "\n%%\n");
    size_t rules_len = labels ? (size_t)(labels - in) : len;
    if (labels) {
        labels += 4;
    }

    /* The label set: one "name=value" per line; a default one without. */
    struct labels_set s;
    labels_init(&s);
    if (labels) {
        for (char *line = labels; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) {
                *nl = '\0';
            }
            char *eq = strchr(line, '=');
            if (eq && eq != line) {
                *eq = '\0';
                if (labels_set(&s, line, eq + 1)) {
                    abort();
                }
            }
            line = nl ? nl + 1 : NULL;
        }
    } else if (labels_set(&s, "__journal__systemd_unit", "ssh.service") ||
               labels_set(&s, "__meta_kubernetes_pod_label_app", "web") ||
               labels_set(&s, "__path__", "/var/log/pods/ns_pod_uid/c/0.log") ||
               labels_set(&s, "job", "fuzz")) {
        abort();
    }

    /* The rules, indented under a scrape config of their own. */
    static const char head[] = "scrape_configs:\n  - job_name: fuzz\n    journal: {}\n"
                               "    relabel_configs:\n";
    size_t cap = sizeof(head) + rules_len * 7 + 8;
    char *text = malloc(cap);
    if (!text) {
        abort();
    }
    size_t k = 0;
    memcpy(text, head, sizeof(head) - 1);
    k = sizeof(head) - 1;
    bool bol = true;
    for (size_t i = 0; i < rules_len; i++) {
        if (bol) {
            memcpy(text + k, "      ", 6);
            k += 6;
        }
        text[k++] = in[i];
        bol = in[i] == '\n';
    }
    text[k++] = '\n';
    text[k] = '\0';

    struct shipper_config c;
    char err[512];
    err[0] = '\0';
    int rc = config_parse(&c, "fuzz.yaml", text, k, false, err, sizeof(err));
    if (rc == 0) {
        for (size_t i = 0; i < c.nscrapes; i++) {
            int keep = relabel_apply(c.scrapes[i].relabel, c.scrapes[i].nrelabel, &s);
            if (keep < 0 && keep != -ENOMEM) {
                abort();
            }
            if (keep > 1) {
                abort();
            }
        }
        config_cleanup(&c);
    } else if (rc == -EINVAL && strncmp(err, "fuzz.yaml", 9) != 0) {
        abort();
    }

    /* The first line as a bare regex. */
    char *nl = strchr(in, '\n');
    if (nl) {
        *nl = '\0';
    }
    check_regex(in, &s);

    labels_cleanup(&s);
    free(text);
    free(in);
    return 0;
}
