# Fuzz targets for the configuration modules: command-line flags and YAML.
frond_add_fuzz(fuzz_flags SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_flags.c)
frond_add_fuzz(fuzz_yaml SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_yaml.c)
