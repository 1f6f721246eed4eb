# frondtail end to end: the real binary against the Loki stand-in
# (tests/integration/loki_standin.py). Registered once the binary exists.
if(TARGET frondtail)
  set(_ft ${CMAKE_CURRENT_LIST_DIR})
  frond_add_integration(frondtail_formats SCRIPT ${_ft}/test_frondtail_formats.py TIMEOUT 240)
  frond_add_integration(frondtail_rotation SCRIPT ${_ft}/test_frondtail_rotation.py TIMEOUT 240)
  frond_add_integration(frondtail_loki SCRIPT ${_ft}/test_frondtail_loki.py TIMEOUT 300)
  frond_add_integration(frondtail_crash SCRIPT ${_ft}/test_frondtail_crash.py TIMEOUT 300)
  frond_add_integration(frondtail_config SCRIPT ${_ft}/test_frondtail_config.py TIMEOUT 120)
  frond_add_integration(frondtail_auth SCRIPT ${_ft}/test_frondtail_auth.py TIMEOUT 120)
endif()
# The stand-in itself, so a frondtail failure never comes from the judge.
frond_add_integration(loki_standin SCRIPT ${CMAKE_CURRENT_LIST_DIR}/test_loki_standin.py TIMEOUT 60)
