# Dashboards and rules against the real exporters and a real Prometheus
# (tests/integration/test_dashboards_live.py): every catalog name exposed,
# every dashboard/rule query returns series, no alert active when healthy.
# It needs every binary it scrapes; RabbitMQ takes its own lock because the
# broker is heavy on 2 cores.
if(TARGET frond_mongodb_exporter AND TARGET frond_rabbitmq_exporter
   AND TARGET frond_usage_exporter AND TARGET frondtail)
  frond_add_integration(test_dashboards_live SCRIPT tests/integration/test_dashboards_live.py
                        TIMEOUT 180 LOCK rabbitmq)
endif()
