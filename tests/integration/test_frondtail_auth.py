#!/usr/bin/python3
"""frondtail end to end, what a client sends besides the logs: two clients
in one config push every line to a Loki stand-in served over HTTPS with a
self-signed certificate for "loki.test", reached at 127.0.0.1:
- client A verifies the certificate with `tls_config.ca_file` and
  `server_name: loki.test`, authenticates with `basic_auth` (password from
  `password_file`), sets `tenant_id: team-a` and an extra header;
- client B skips verification (`insecure_skip_verify`), uses
  `bearer_token_file` and `tenant_id: team-b`.
Every line arrives once per tenant, each request with its client's headers.
"""

import base64
import subprocess

from frondtail_testlib import (Config, LokiStandin, TestFailure, cri_line, ids_of, pod_log,
                               start)
import frondtest

BASE_TS = 1764300000 * 1000000000


def test_tls_auth_tenants(h):
    cert, key = h.path("cert.pem"), h.path("key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=loki.test",
                    "-addext", "subjectAltName=DNS:loki.test"], check=True, capture_output=True)
    loki = LokiStandin(h.path("loki"), tls=(cert, key)).start()
    h.on_cleanup(loki.stop)
    with open(h.path("password"), "w") as f:
        f.write("s3cret\n")
    with open(h.path("token"), "w") as f:
        f.write("tok-123\n")
    root = h.path("pods")
    path = pod_log(root, "ns", "auth", "app")
    ids = []
    with open(path, "wb") as f:
        for n in range(20):
            ids.append("t:%d" % n)
            f.write(cri_line(BASE_TS + n * 1000, "stdout", "F", b"id=t:%d over tls" % n))
    cfg = Config(h, loki.url, root + "/*/*/*.log")
    cfg.client.update({
        "tenant_id": "team-a",
        "basic_auth": {"username": "alice", "password_file": h.path("password")},
        "tls_config": {"ca_file": cert, "server_name": "loki.test"},
        "headers": {"X-Custom": "yes"},
    })
    second = dict(cfg.client)
    for k in ("basic_auth", "headers"):
        second.pop(k)
    second.update({"url": loki.url, "tenant_id": "team-b", "bearer_token_file": h.path("token"),
                   "tls_config": {"insecure_skip_verify": True}})
    cfg.more_clients.append(second)
    p = start(h, cfg)

    def both():
        a = set(ids_of(loki.entries(tenant="team-a")))
        b = set(ids_of(loki.entries(tenant="team-b")))
        return set(ids) <= a and set(ids) <= b
    frondtest.wait_until(both, 60, what="every line for both tenants")
    for tenant in ("team-a", "team-b"):
        got = ids_of(loki.entries(tenant=tenant))
        if sorted(got) != sorted(ids):
            raise TestFailure("tenant %s got %d entries, want %d" % (tenant, len(got), len(ids)))
    basic = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    for r in loki.requests:
        if r["tenant"] == "team-a":
            if r["authorization"] != basic or r["headers"].get("X-Custom") != "yes":
                raise TestFailure("team-a request headers: %s" % r["headers"])
            if r["headers"].get("Host", "").split(":")[0] != "loki.test":
                raise TestFailure("server_name not used: Host %r" % r["headers"].get("Host"))
        elif r["tenant"] == "team-b":
            if r["authorization"] != "Bearer tok-123" or "X-Custom" in r["headers"]:
                raise TestFailure("team-b request headers: %s" % r["headers"])
        else:
            raise TestFailure("request without a tenant: %s" % r["headers"])
        if not (r["user_agent"] or "").startswith("frondtail/"):
            raise TestFailure("User-Agent %r" % r["user_agent"])
    p.stop()


if __name__ == "__main__":
    frondtest.run_tests("frondtail_auth", [test_tls_auth_tenants])
