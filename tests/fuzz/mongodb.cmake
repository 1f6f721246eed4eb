# Fuzz target of frond_mongodb_exporter: BSON replies (serverStatus,
# replSetGetStatus, replSetGetConfig, oplog finds, collStats) -> samples ->
# exposition. The seed corpus (tests/fuzz/corpus/fuzz_mongodb_reply) is
# generated from the stand-in's scenarios by tests/fuzz/mongodb_corpus.py.
if(TARGET frond_mongo)
  frond_add_fuzz(fuzz_mongodb_reply
                 SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_mongodb_reply.c
                 LIBS frond_mongo)
endif()
