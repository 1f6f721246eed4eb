# frondtail's input side (config, parsers, labels, positions, globs, tailer).
# The tests compile the sources they need directly (and #include the .c
# files whose static helpers they reach), so they do not depend on the
# output side's frondtail_core or on frond_proto.
include(${CMAKE_CURRENT_LIST_DIR}/../shipper_sources.cmake)
if(EXISTS ${FT_DIR}/parse.c AND EXISTS ${FT_DIR}/relabel.c)
  frond_add_unit(test_shipper_parse
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_parse.c ${FT_DIR}/parse.c
    INCLUDES ${FT_DIR})
  frond_add_unit(test_shipper_labels
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_labels.c ${FT_DIR}/labels.c
    INCLUDES ${FT_DIR})
  frond_add_unit(test_shipper_positions
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_positions.c ${FT_POSITIONS_SOURCES}
    INCLUDES ${FT_DIR})
  frond_add_unit(test_shipper_config
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_config.c ${FT_CONFIG_SOURCES}
    INCLUDES ${FT_DIR})
  frond_add_unit(test_shipper_relabel
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_relabel.c ${FT_CONFIG_SOURCES}
    INCLUDES ${FT_DIR})
  frond_add_unit(test_shipper_glob
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_glob.c ${FT_DIR}/tail_glob.c
    INCLUDES ${FT_DIR})
endif()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_shipper_tail.c AND EXISTS ${FT_DIR}/journal.c)
  frond_add_unit(test_shipper_tail
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_tail.c ${FT_DIR}/parse.c ${FT_DIR}/tail_glob.c
            ${FT_DIR}/journal.c ${FT_DIR}/positions.c ${FT_CONFIG_SOURCES}
    LIBS Threads::Threads PkgConfig::SYSTEMD
    INCLUDES ${FT_DIR})
endif()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_shipper_journal.c AND EXISTS ${FT_DIR}/journal.c)
  frond_add_unit(test_shipper_journal
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_journal.c ${FT_DIR}/journal.c
            ${FT_CONFIG_SOURCES}
    LIBS Threads::Threads PkgConfig::SYSTEMD
    INCLUDES ${FT_DIR})
endif()
