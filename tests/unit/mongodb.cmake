# Unit tests of frond_mongodb_exporter (exporters/mongodb): the reply →
# metrics mapping and the URI preparation. Registered only when the
# exporter's library target exists, so this file never breaks configure.
if(TARGET frond_mongo)
  frond_add_unit(test_mongodb_map SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mongodb_map.c
                 LIBS frond_mongo)
  target_compile_definitions(test_mongodb_map PRIVATE
    MONGO_README="${CMAKE_SOURCE_DIR}/exporters/mongodb/README.md")
  frond_add_unit(test_mongodb_uri SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mongodb_uri.c
                 LIBS frond_mongo)
endif()

# exporters/common: the Cyrus SASL plugin filter both MongoDB exporters share.
if(TARGET exporter_mongoc)
  frond_add_unit(test_mongoc_sasl SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mongoc_sasl.c
                 LIBS exporter_mongoc)
  if(FROND_MONGOC_STATIC)
    target_compile_definitions(test_mongoc_sasl PRIVATE FROND_MONGOC_STATIC=1)
  else()
    target_compile_definitions(test_mongoc_sasl PRIVATE FROND_MONGOC_STATIC=0)
  endif()
endif()
