# frondtail's output side (shipper/batch.c, shipper/push.c). The tests
# #include the .c under test to reach its static helpers, so they link the
# libraries those files use rather than frondtail_core.
if(TARGET frond_proto AND EXISTS ${CMAKE_SOURCE_DIR}/shipper/push.c)
  frond_add_unit(test_shipper_batch
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_batch.c
    LIBS frond_proto PkgConfig::SNAPPY PkgConfig::PROTOBUFC
    INCLUDES ${CMAKE_SOURCE_DIR}/shipper)
  frond_add_unit(test_shipper_push
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_push.c
    LIBS frond_proto PkgConfig::SNAPPY PkgConfig::PROTOBUFC PkgConfig::CURL Threads::Threads
    INCLUDES ${CMAKE_SOURCE_DIR}/shipper)
endif()
