# frondtail's Kubernetes API reader: pod list / watch JSON -> cache -> label
# strings. Byte 0 of an input picks the chunk size fed to the streaming
# parser; the corpus (tests/fuzz/corpus/fuzz_k8s_pod) holds API-shaped
# lists, watch streams, 410 Status errors and broken variants.
set(FT_K8S_DIR ${CMAKE_SOURCE_DIR}/shipper)
if(EXISTS ${FT_K8S_DIR}/k8s_cache.c AND EXISTS ${FT_K8S_DIR}/labels.c)
  frond_add_fuzz(fuzz_k8s_pod
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_k8s_pod.c ${FT_K8S_DIR}/k8s_cache.c
            ${FT_K8S_DIR}/labels.c
    LIBS frond_json PkgConfig::YAJL Threads::Threads
    INCLUDES ${FT_K8S_DIR})
endif()
