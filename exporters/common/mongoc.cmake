# exporter_mongoc: libmongoc start-up (log routing) shared by the MongoDB
# and usage exporters. Included from both exporters' CMakeLists.txt; the
# first one to be configured defines the target.
if(NOT TARGET exporter_mongoc)
  add_library(exporter_mongoc STATIC ${CMAKE_CURRENT_LIST_DIR}/mongoc_log.c)
  target_include_directories(exporter_mongoc PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(exporter_mongoc PUBLIC frond frond::mongoc)
endif()
