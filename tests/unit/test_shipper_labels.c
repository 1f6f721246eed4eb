/*
 * Unit tests for frondtail's label sets (shipper/labels.c): the canonical
 * Loki label string and the kubelet path layouts.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "labels.h"

static const char *render(const struct labels_set *s)
{
    static char out[1024];
    struct frond_buf b;
    frond_buf_init(&b, 4096);
    int rc = labels_render(s, &b);
    snprintf(out, sizeof(out), "%s", rc ? "(error)" : frond_buf_cstr(&b));
    frond_buf_cleanup(&b);
    return out;
}

static void test_render(void)
{
    struct labels_set s;
    labels_init(&s);
    CHECK_STR(render(&s), "{}");
    CHECK_INT(labels_set(&s, "job", "pods"), 0);
    CHECK_INT(labels_set(&s, "app", "a\"b\\c\nd\te\rf"), 0);
    CHECK_INT(labels_set(&s, "__path__", "/var/log/*.log"), 0);
    CHECK_INT(labels_set(&s, "empty", ""), 0);
    CHECK_INT(labels_set(&s, "Zed", "upper sorts first"), 0);
    CHECK_STR(render(&s),
              "{Zed=\"upper sorts first\", app=\"a\\\"b\\\\c\\nd\\te\\rf\", job=\"pods\"}");
    /* Replacing keeps one pair. */
    CHECK_INT(labels_set(&s, "job", "other"), 0);
    CHECK_STR(labels_get(&s, "job"), "other");
    CHECK_INT(s.n, 5);
    labels_cleanup(&s);
}

static void test_merge(void)
{
    struct labels_set a, b;
    labels_init(&a);
    labels_init(&b);
    CHECK_INT(labels_set(&a, "x", "1"), 0);
    CHECK_INT(labels_set(&a, "y", "1"), 0);
    CHECK_INT(labels_set(&b, "y", "2"), 0);
    CHECK_INT(labels_set(&b, "z", "2"), 0);
    CHECK_INT(labels_merge(&a, &b), 0);
    CHECK_STR(render(&a), "{x=\"1\", y=\"2\", z=\"2\"}");
    labels_cleanup(&a);
    labels_cleanup(&b);
}

static void test_kubelet(void)
{
    struct labels_set s;
    int err = 0;
    labels_init(&s);
    CHECK(labels_from_kubelet_path(
        "/var/log/pods/kube-system_coredns-5d78c9869d-abcde_0b1c2d3e-1111-2222-3333-444455556666/"
        "coredns/0.log",
        true, &s, &err));
    CHECK_STR(render(&s), "{container=\"coredns\", namespace=\"kube-system\", "
                          "pod=\"coredns-5d78c9869d-abcde\", "
                          "pod_uid=\"0b1c2d3e-1111-2222-3333-444455556666\"}");
    labels_cleanup(&s);

    /* Any root works (tests use temporary directories), and pod_uid is optional. */
    labels_init(&s);
    CHECK(labels_from_kubelet_path("/tmp/x/ns_pod_uid/c/3.log", false, &s, &err));
    CHECK_STR(render(&s), "{container=\"c\", namespace=\"ns\", pod=\"pod\"}");
    labels_cleanup(&s);

    /* /var/log/containers symlink names. */
    labels_init(&s);
    CHECK(labels_from_kubelet_path(
        "/var/log/containers/web-7f9c_prod_nginx-"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log",
        false, &s, &err));
    CHECK_STR(render(&s), "{container=\"nginx\", namespace=\"prod\", pod=\"web-7f9c\"}");
    labels_cleanup(&s);

    const char *bad[] = {"/var/log/syslog",    "/a/b.log",        "/x/nounderscore/c/0.log",
                         "/x/a_b_c_d/c/0.log", "/x/_b_c/c/0.log", "/x/a__c/c/0.log",
                         "/x/a_b_/c/0.log",    "0.log",           ""};
    for (size_t i = 0; i < FROND_ARRAY_SIZE(bad); i++) {
        labels_init(&s);
        CHECK(!labels_from_kubelet_path(bad[i], true, &s, &err));
        CHECK_INT(s.n, 0);
        labels_cleanup(&s);
    }
}

int main(void)
{
    test_render();
    test_merge();
    test_kubelet();
    return check_done("test_shipper_labels");
}
