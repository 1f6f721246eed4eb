# frondtail with Kubernetes metadata: the real binary against the Loki
# stand-in and the Kubernetes API stand-in (tests/integration/k8s_standin.py,
# TLS with a CA made by the openssl CLI, bearer token).
if(TARGET frondtail AND EXISTS ${CMAKE_SOURCE_DIR}/shipper/k8s.c)
  frond_add_integration(frondtail_k8s SCRIPT ${CMAKE_CURRENT_LIST_DIR}/test_frondtail_k8s.py
                        TIMEOUT 120)
endif()
