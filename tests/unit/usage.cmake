# Unit tests of the usage exporter (exporters/usage): config loader and
# result -> sample mapping. Only when the exporter's library is part of the build.
if(TARGET usage_core)
  frond_add_unit(test_usage_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_usage_config.c
                 LIBS usage_core)
  frond_add_unit(test_usage_result SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_usage_result.c
                 LIBS usage_core)
endif()
