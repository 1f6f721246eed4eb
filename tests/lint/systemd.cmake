# systemd units verified against the real binaries (registered once all exist).
if(TARGET frondtail AND TARGET frond_mongodb_exporter AND TARGET frond_rabbitmq_exporter
   AND TARGET frond_usage_exporter)
  add_test(NAME lint_systemd_units COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_systemd.sh)
  set_tests_properties(lint_systemd_units PROPERTIES LABELS lint ENVIRONMENT "${FROND_TEST_ENV}")
endif()
