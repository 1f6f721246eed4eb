# libfrond core modules: buffer, logging, process plumbing.
frond_add_unit(test_buf SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_buf.c)
frond_add_unit(test_log SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_log.c)
frond_add_unit(test_process SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_process.c)
