# frondtail's relabel_configs: YAML rules loaded through the config parser
# and applied to a label set from the input, plus the RE2 engine alone.
set(FT_RL_DIR ${CMAKE_SOURCE_DIR}/shipper)
if(EXISTS ${FT_RL_DIR}/relabel.c AND EXISTS ${FT_RL_DIR}/config.c
   AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz_relabel.c)
  frond_add_fuzz(fuzz_relabel
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_relabel.c ${FT_RL_DIR}/config.c ${FT_RL_DIR}/relabel.c ${FT_RL_DIR}/regex.c
            ${FT_RL_DIR}/labels.c
    INCLUDES ${FT_RL_DIR})
endif()
