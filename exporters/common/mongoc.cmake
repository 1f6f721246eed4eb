# exporter_mongoc: libmongoc start-up (log routing, Cyrus SASL limited to
# GSSAPI) shared by the MongoDB and usage exporters. Included from both
# exporters' CMakeLists.txt; the first one to be configured defines the
# target.
if(NOT TARGET exporter_mongoc)
  add_library(exporter_mongoc STATIC ${CMAKE_CURRENT_LIST_DIR}/mongoc_log.c
                                     ${CMAKE_CURRENT_LIST_DIR}/mongoc_sasl.c)
  target_include_directories(exporter_mongoc PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  pkg_check_modules(SASL2 REQUIRED IMPORTED_TARGET libsasl2)
  target_link_libraries(exporter_mongoc PUBLIC frond frond::mongoc PkgConfig::SASL2 Threads::Threads)
endif()
