# Integration tests of frond_mongodb_exporter against the wire-protocol
# stand-in replica set (tests/integration/mongodb/replset.py on
# tests/integration/lib/mongostandin.py) and a real Prometheus.
if(TARGET frond_mongodb_exporter)
  frond_add_integration(test_mongodb_scenarios
                        SCRIPT tests/integration/test_mongodb_scenarios.py TIMEOUT 150)
  frond_add_integration(test_mongodb_connection
                        SCRIPT tests/integration/test_mongodb_connection.py TIMEOUT 90)
  frond_add_integration(test_mongodb_prometheus
                        SCRIPT tests/integration/test_mongodb_prometheus.py TIMEOUT 120)
endif()
