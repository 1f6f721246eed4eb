# Fuzz target of frond_rabbitmq_exporter: management API replies -> records
# -> samples -> exposition. The corpus (tests/fuzz/corpus/fuzz_rabbitmq_json)
# starts from replies recorded from a real RabbitMQ 3.10.8; byte 0 picks the
# reply kind, byte 1 the chunk size fed to the streaming parser.
if(TARGET frond_rabbitmq_core)
  frond_add_fuzz(fuzz_rabbitmq_json
                 SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_rabbitmq_json.c
                 LIBS frond_rabbitmq_core)
endif()
