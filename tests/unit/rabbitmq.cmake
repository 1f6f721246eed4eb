# Unit tests of frond_rabbitmq_exporter (exporters/rabbitmq). Recorded
# replies from a real RabbitMQ 3.10.8 live in tests/unit/data/rabbitmq.
if(TARGET frond_rabbitmq_core)
  foreach(t json collect requests)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_rabbitmq_${t}.c)
      frond_add_unit(test_rabbitmq_${t}
                     SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rabbitmq_${t}.c
                     LIBS frond_rabbitmq_core)
      target_compile_definitions(test_rabbitmq_${t} PRIVATE
                                 RMQ_TEST_DATA="${CMAKE_CURRENT_LIST_DIR}/data/rabbitmq")
    endif()
  endforeach()
endif()
