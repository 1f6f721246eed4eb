# Integration tests of frond_rabbitmq_exporter against a real RabbitMQ
# (Debian rabbitmq-server, booted once for the whole file by
# tests/integration/rabbitmq/broker.py on private ports and directories).
if(TARGET frond_rabbitmq_exporter)
  frond_add_integration(integration_rabbitmq
                        SCRIPT tests/integration/rabbitmq/test_rabbitmq.py
                        TIMEOUT 300 LOCK rabbitmq)
endif()
