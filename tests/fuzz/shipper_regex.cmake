# frondtail's RE2-syntax engine (shipper/regex.c) fuzzed on its own: a
# pattern and subjects, no YAML or relabel layer in between.
set(FT_RX_DIR ${CMAKE_SOURCE_DIR}/shipper)
if(EXISTS ${FT_RX_DIR}/regex.c AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz_regex.c)
  frond_add_fuzz(fuzz_regex
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_regex.c ${FT_RX_DIR}/regex.c
    INCLUDES ${FT_RX_DIR})
endif()
