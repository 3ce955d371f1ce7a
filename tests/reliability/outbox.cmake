# Item 1: admin mails survive a dead SMTP server and a restart (the durable outbox).
add_test(NAME reliability.outbox_restart
  COMMAND Python3::Interpreter -m unittest -v test_outbox
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
get_property(flasky_clean_env GLOBAL PROPERTY FLASKY_CLEAN_ENV)
set_tests_properties(reliability.outbox_restart PROPERTIES LABELS "reliability" TIMEOUT 180
  ENVIRONMENT "${flasky_clean_env};PYTHONDONTWRITEBYTECODE=1;FLASKY_BIN=$<TARGET_FILE:flasky_manage>")

# The outbox unit: same transaction as the user, 550 logged and kept, 451 retried with the
# same Message-ID, a dead server keeps every row.
workbook_add_boost_test(test_outbox reliability.outbox reliability
  SOURCES test_outbox_unit.cpp
  LINKS flasky)
