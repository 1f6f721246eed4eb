# libfrond configuration modules: command-line flags and YAML config files.
frond_add_unit(test_flags SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_flags.c)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_yamlcfg.c)
  frond_add_unit(test_yamlcfg SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_yamlcfg.c)
  target_compile_definitions(test_yamlcfg PRIVATE
    FROND_YAML_TESTDATA="${CMAKE_CURRENT_LIST_DIR}/testdata/yaml")
endif()
