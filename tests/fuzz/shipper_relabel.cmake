# frondtail's relabel_configs: YAML rules loaded through the config parser
# and applied to a label set from the input, plus the RE2 engine alone.
include(${CMAKE_CURRENT_LIST_DIR}/../shipper_sources.cmake)
if(EXISTS ${FT_DIR}/relabel.c AND EXISTS ${FT_DIR}/config.c
   AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz_relabel.c)
  frond_add_fuzz(fuzz_relabel
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_relabel.c ${FT_CONFIG_SOURCES}
    INCLUDES ${FT_DIR})
endif()
