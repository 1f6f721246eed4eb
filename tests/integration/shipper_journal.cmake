# frondtail's journal target end to end: fields, matches, relabelling, kill -9, vacuumed cursor.
if(TARGET frondtail)
  frond_add_integration(frondtail_journal
    SCRIPT ${CMAKE_CURRENT_LIST_DIR}/test_frondtail_journal.py TIMEOUT 180)
endif()
