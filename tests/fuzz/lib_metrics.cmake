# Fuzz target of the metrics registry and exposition escaping/rendering; the
# committed corpus (tests/fuzz/corpus/fuzz_expo) replays as a ctest.
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz_expo.c)
  frond_add_fuzz(fuzz_expo SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_expo.c)
endif()
