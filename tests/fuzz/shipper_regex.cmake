# frondtail's RE2-syntax engine (shipper/regex.c) fuzzed on its own: a
# pattern and subjects, no YAML or relabel layer in between.
include(${CMAKE_CURRENT_LIST_DIR}/../shipper_sources.cmake)
if(EXISTS ${FT_DIR}/regex.c AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz_regex.c)
  frond_add_fuzz(fuzz_regex
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_regex.c ${FT_DIR}/regex.c
    INCLUDES ${FT_DIR})
endif()
