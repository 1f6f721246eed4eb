# libfrond HTTP server and exporter-toolkit web config.
frond_add_unit(test_webconfig SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_webconfig.c)
frond_add_unit(test_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http.c)
