# Dashboard conventions: the linter's own self-test (each rule fires on a
# dashboard broken to trigger it), then the linter over dashboards/*.json.
add_test(NAME lint_dashboards_selftest
         COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_dashboards.py --self-test)
set_tests_properties(lint_dashboards_selftest PROPERTIES LABELS lint)
file(GLOB FROND_DASHBOARDS ${CMAKE_SOURCE_DIR}/dashboards/*.json)
if(FROND_DASHBOARDS)
  add_test(NAME lint_dashboards
           COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_dashboards.py)
  set_tests_properties(lint_dashboards PROPERTIES LABELS lint)
endif()

# Every PromQL (dashboards and rules, via promtool) and LogQL (Grafana's
# Lezer grammar) expression parses.
file(GLOB FROND_RULE_FILES ${CMAKE_SOURCE_DIR}/alerts/*.yml)
if(FROND_DASHBOARDS OR FROND_RULE_FILES)
  add_test(NAME lint_queries COMMAND ${FROND_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_queries.py)
  set_tests_properties(lint_queries PROPERTIES LABELS lint)
endif()
