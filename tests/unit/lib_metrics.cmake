# Unit tests of the metrics registry and the exposition formats (libfrond).
# Golden files live in tests/unit/golden; FROND_UPDATE_GOLDEN=1 rewrites them.
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_expo.c)
  frond_add_unit(test_expo SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_expo.c)
endif()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_registry.c)
  frond_add_unit(test_registry SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_registry.c)
  target_compile_definitions(test_registry PRIVATE GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden")
endif()
