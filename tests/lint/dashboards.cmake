# Dashboards and rules (dashboards/, alerts/, docs/runbooks.md), label lint:
# - the dashboard linter's self-test (each rule fires on a broken copy of
#   reference_dashboard.json), then the linter over dashboards/*.json;
# - dashboards/*.json are exactly what dashboards/generate.py writes;
# - every metric name used exists in dashboards/metrics.yml (+ self-test);
# - every PromQL parses (promtool) and every LogQL parses (Lezer grammar);
# - rule conventions and test coverage (check_rules.py + self-test);
# - promtool check rules, and promtool test rules for each alerts/tests file.
find_program(FROND_PROMTOOL promtool)
if(NOT FROND_PROMTOOL)
  set(FROND_PROMTOOL promtool)  # the tests then fail loudly, never skip
endif()

add_test(NAME lint_dashboards_selftest
         COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_dashboards.py --self-test)
set_tests_properties(lint_dashboards_selftest PROPERTIES LABELS lint)
file(GLOB FROND_DASHBOARDS ${CMAKE_SOURCE_DIR}/dashboards/*.json)
if(FROND_DASHBOARDS)
  add_test(NAME lint_dashboards
           COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_dashboards.py)
  set_tests_properties(lint_dashboards PROPERTIES LABELS lint)
  add_test(NAME lint_dashboards_generated
           COMMAND ${FROND_PYTHON} ${CMAKE_SOURCE_DIR}/dashboards/generate.py --check)
  set_tests_properties(lint_dashboards_generated PROPERTIES LABELS lint)
endif()

file(GLOB FROND_RULE_FILES ${CMAKE_SOURCE_DIR}/alerts/*.rules.yml)
if(FROND_DASHBOARDS OR FROND_RULE_FILES)
  add_test(NAME lint_queries COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_queries.py)
  set_tests_properties(lint_queries PROPERTIES LABELS lint)
  add_test(NAME lint_catalog COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_catalog.py)
  add_test(NAME lint_catalog_selftest
           COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_catalog.py --self-test)
  set_tests_properties(lint_catalog lint_catalog_selftest PROPERTIES LABELS lint)
endif()

if(FROND_RULE_FILES)
  add_test(NAME lint_rules COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_rules.py)
  add_test(NAME lint_rules_selftest
           COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_rules.py --self-test)
  add_test(NAME lint_promtool_check_rules COMMAND ${FROND_PROMTOOL} check rules ${FROND_RULE_FILES})
  set_tests_properties(lint_rules lint_rules_selftest lint_promtool_check_rules
                       PROPERTIES LABELS lint)
  file(GLOB FROND_RULE_TESTS ${CMAKE_SOURCE_DIR}/alerts/tests/*.test.yml)
  foreach(t ${FROND_RULE_TESTS})
    get_filename_component(tname ${t} NAME_WE)
    add_test(NAME lint_promtool_test_rules_${tname}
             COMMAND ${FROND_PROMTOOL} test rules ${t}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/alerts/tests)
    set_tests_properties(lint_promtool_test_rules_${tname} PROPERTIES LABELS lint)
  endforeach()
endif()
