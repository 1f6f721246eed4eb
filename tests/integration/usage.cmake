# Integration tests of the usage exporter against the MongoDB stand-in
# (tests/integration/lib/mongostandin.py + tests/integration/usage/usagefix.py).
if(TARGET frond_usage_exporter)
  frond_add_integration(test_usage_exporter SCRIPT tests/integration/test_usage_exporter.py
                        TIMEOUT 180)
  frond_add_integration(test_usage_config_errors
                        SCRIPT tests/integration/test_usage_config_errors.py TIMEOUT 60)
endif()
