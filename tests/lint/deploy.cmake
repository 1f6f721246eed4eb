# deploy/ (Kubernetes manifests, Alertmanager, HPA, ArgoCD, Dockerfile, CI
# workflows). Label lint: no binaries needed. Node modules come from
# `npm ci --prefix tests/deploy` (scripts/test.sh). Every checker has a
# self-test proving it can fail.
find_program(FROND_NODE node)
if(NOT FROND_NODE)
  set(FROND_NODE node)  # the tests then fail loudly, never skip
endif()
find_program(FROND_AMTOOL amtool)
if(NOT FROND_AMTOOL)
  set(FROND_AMTOOL amtool)
endif()
set(FROND_DEPLOY_TESTS ${CMAKE_SOURCE_DIR}/tests/deploy)

add_test(NAME deploy_generated COMMAND ${FROND_PYTHON} ${CMAKE_SOURCE_DIR}/deploy/generate.py --check)
add_test(NAME deploy_render_selftest COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/render.py --self-test)
add_test(NAME deploy_validate_selftest COMMAND ${FROND_NODE} ${FROND_DEPLOY_TESTS}/validate.mjs --self-test)
add_test(NAME deploy_manifests COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_manifests.py)
add_test(NAME deploy_manifests_selftest
         COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_manifests.py --self-test)
add_test(NAME deploy_promtool_rules
         COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_manifests.py --promtool)
add_test(NAME deploy_amtool COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_manifests.py --amtool)
set(FROND_DEPLOY_LINT_TESTS deploy_generated deploy_render_selftest deploy_validate_selftest
    deploy_manifests deploy_manifests_selftest deploy_promtool_rules deploy_amtool)
set_tests_properties(${FROND_DEPLOY_LINT_TESTS} PROPERTIES LABELS lint TIMEOUT 60
                     ENVIRONMENT "${FROND_TEST_ENV}")

# Dockerfile rules and CI workflows (no engine, no GitHub: parsed and run here).
add_test(NAME deploy_docker_lint COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_docker.py)
add_test(NAME deploy_docker_selftest
         COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_docker.py --self-test)
add_test(NAME deploy_workflows COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_workflows.py)
add_test(NAME deploy_workflows_selftest
         COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_workflows.py --self-test)
set_tests_properties(deploy_docker_lint deploy_docker_selftest deploy_workflows
                     deploy_workflows_selftest PROPERTIES LABELS lint TIMEOUT 60
                     ENVIRONMENT "${FROND_TEST_ENV}")

# These need the built binaries: the runtime libraries each image must carry
# (readelf NEEDED -> dpkg -S), and the shipped configs checked by the binaries.
if(TARGET frondtail AND TARGET frond_mongodb_exporter AND TARGET frond_rabbitmq_exporter
   AND TARGET frond_usage_exporter)
  add_test(NAME deploy_docker_libs
           COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_docker.py --libs)
  add_test(NAME deploy_configs COMMAND ${FROND_PYTHON} ${FROND_DEPLOY_TESTS}/check_configs.py)
  set_tests_properties(deploy_docker_libs deploy_configs PROPERTIES LABELS integration TIMEOUT 60
                       ENVIRONMENT "${FROND_TEST_ENV}")
endif()
