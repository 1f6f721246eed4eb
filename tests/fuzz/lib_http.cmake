# Fuzz target for the exporter-toolkit web config parser.
frond_add_fuzz(fuzz_webconfig SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_webconfig.c)
