# The foundation's integration test: metrics_demo (every metric type, known
# values, the common exporter flags) scraped by promtool and a real
# Prometheus over plain HTTP and TLS + basic auth, plus the server's edges.
add_executable(metrics_demo ${CMAKE_CURRENT_LIST_DIR}/metrics_demo.c)
target_link_libraries(metrics_demo PRIVATE frond)
frond_add_integration(lib_http SCRIPT ${CMAKE_CURRENT_LIST_DIR}/test_lib_http.py TIMEOUT 180)
