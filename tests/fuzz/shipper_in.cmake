# frondtail's input side: parsers of outside input (CRI and Docker lines,
# the config file, the positions file). The sources are compiled in
# directly, so these targets do not need the output side or frond_proto.
include(${CMAKE_CURRENT_LIST_DIR}/../shipper_sources.cmake)
if(EXISTS ${FT_DIR}/parse.c AND EXISTS ${FT_DIR}/relabel.c)
  frond_add_fuzz(fuzz_cri
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_cri.c ${FT_DIR}/parse.c
    INCLUDES ${FT_DIR})
  frond_add_fuzz(fuzz_docker
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_docker.c ${FT_DIR}/parse.c
    INCLUDES ${FT_DIR})
  frond_add_fuzz(fuzz_shipper_config
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_shipper_config.c ${FT_CONFIG_SOURCES}
    INCLUDES ${FT_DIR})
  frond_add_fuzz(fuzz_positions
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_positions.c ${FT_POSITIONS_SOURCES}
    INCLUDES ${FT_DIR})
endif()
