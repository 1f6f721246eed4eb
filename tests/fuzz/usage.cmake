# Fuzz targets of the usage exporter: config loader and result -> samples.
# Corpora: tests/fuzz/corpus/fuzz_usage_config, tests/fuzz/corpus/fuzz_usage_result.
if(TARGET usage_core)
  frond_add_fuzz(fuzz_usage_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_usage_config.c
                 LIBS usage_core)
  frond_add_fuzz(fuzz_usage_result SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_usage_result.c
                 LIBS usage_core)
endif()
