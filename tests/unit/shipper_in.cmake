# frondtail's input side (config, parsers, labels, positions, globs, tailer).
# The tests compile the sources they need directly (and #include the .c
# files whose static helpers they reach), so they do not depend on the
# output side's frondtail_core or on frond_proto.
set(FT_IN_DIR ${CMAKE_SOURCE_DIR}/shipper)
if(EXISTS ${FT_IN_DIR}/parse.c AND EXISTS ${FT_IN_DIR}/relabel.c)
  frond_add_unit(test_shipper_parse
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_parse.c ${FT_IN_DIR}/parse.c
    INCLUDES ${FT_IN_DIR})
  frond_add_unit(test_shipper_labels
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_labels.c ${FT_IN_DIR}/labels.c
    INCLUDES ${FT_IN_DIR})
  frond_add_unit(test_shipper_positions
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_positions.c ${FT_IN_DIR}/positions.c
    INCLUDES ${FT_IN_DIR})
  frond_add_unit(test_shipper_config
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_config.c ${FT_IN_DIR}/config.c ${FT_IN_DIR}/relabel.c ${FT_IN_DIR}/regex.c
            ${FT_IN_DIR}/labels.c
    INCLUDES ${FT_IN_DIR})
  frond_add_unit(test_shipper_relabel
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_relabel.c ${FT_IN_DIR}/relabel.c ${FT_IN_DIR}/regex.c ${FT_IN_DIR}/config.c
            ${FT_IN_DIR}/labels.c
    INCLUDES ${FT_IN_DIR})
  frond_add_unit(test_shipper_glob
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_glob.c ${FT_IN_DIR}/tail_glob.c
    INCLUDES ${FT_IN_DIR})
endif()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_shipper_tail.c AND EXISTS ${FT_IN_DIR}/journal.c)
  frond_add_unit(test_shipper_tail
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_tail.c ${FT_IN_DIR}/parse.c
            ${FT_IN_DIR}/labels.c ${FT_IN_DIR}/positions.c ${FT_IN_DIR}/tail_glob.c
            ${FT_IN_DIR}/config.c ${FT_IN_DIR}/relabel.c ${FT_IN_DIR}/regex.c ${FT_IN_DIR}/journal.c
    LIBS Threads::Threads
    INCLUDES ${FT_IN_DIR})
endif()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_shipper_journal.c AND EXISTS ${FT_IN_DIR}/journal.c)
  frond_add_unit(test_shipper_journal
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_journal.c ${FT_IN_DIR}/journal.c
            ${FT_IN_DIR}/config.c ${FT_IN_DIR}/relabel.c ${FT_IN_DIR}/regex.c ${FT_IN_DIR}/labels.c
    LIBS Threads::Threads
    INCLUDES ${FT_IN_DIR})
endif()
