# frondtail's Kubernetes metadata: the pod JSON parser, the cache and the
# app-label resolution, compiled in directly (no network, no frond_proto).
include(${CMAKE_CURRENT_LIST_DIR}/../shipper_sources.cmake)
if(EXISTS ${FT_DIR}/k8s_cache.c AND EXISTS ${FT_DIR}/labels.c)
  frond_add_unit(test_shipper_k8s
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shipper_k8s.c ${FT_K8S_SOURCES}
    LIBS frond_json PkgConfig::YAJL Threads::Threads
    INCLUDES ${FT_DIR})
endif()
