# frondtail's Kubernetes API reader: pod list / watch JSON -> cache -> label
# strings. Byte 0 of an input picks the chunk size fed to the streaming
# parser; the corpus (tests/fuzz/corpus/fuzz_k8s_pod) holds API-shaped
# lists, watch streams, 410 Status errors and broken variants.
include(${CMAKE_CURRENT_LIST_DIR}/../shipper_sources.cmake)
if(EXISTS ${FT_DIR}/k8s_cache.c AND EXISTS ${FT_DIR}/labels.c)
  frond_add_fuzz(fuzz_k8s_pod
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_k8s_pod.c ${FT_K8S_SOURCES}
    LIBS frond_json PkgConfig::YAJL Threads::Threads
    INCLUDES ${FT_DIR})
endif()
