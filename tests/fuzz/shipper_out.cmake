# frondtail's output side: Loki's responses (status, Retry-After, body).
if(TARGET frond_proto AND EXISTS ${CMAKE_SOURCE_DIR}/shipper/push.c)
  frond_add_fuzz(fuzz_push_response
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_push_response.c
    LIBS frond_proto PkgConfig::SNAPPY PkgConfig::PROTOBUFC PkgConfig::CURL Threads::Threads
    INCLUDES ${CMAKE_SOURCE_DIR}/shipper)
endif()
