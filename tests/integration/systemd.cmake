# sd_notify READY/WATCHDOG/RELOADING/STOPPING from every binary.
if(TARGET frondtail AND TARGET frond_mongodb_exporter AND TARGET frond_rabbitmq_exporter
   AND TARGET frond_usage_exporter)
  frond_add_integration(systemd_notify
    SCRIPT ${CMAKE_CURRENT_LIST_DIR}/test_systemd_notify.py TIMEOUT 180)
endif()
