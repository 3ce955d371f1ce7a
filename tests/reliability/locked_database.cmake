# Item 2: another process holds an exclusive lock on the database for 8 s while 50 clients GET
# and POST: every request answered, GET / fast, POSTs 302 or 503. Timing-sensitive, so it runs
# alone; the asan build's server is slower, so its latency bound is looser.
add_test(NAME reliability.locked_database
  COMMAND Python3::Interpreter -m unittest -v test_locked_database
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
if(CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  set(locked_database_p99_ms 250)
else()
  set(locked_database_p99_ms 50)
endif()
get_property(flasky_clean_env GLOBAL PROPERTY FLASKY_CLEAN_ENV)
set_tests_properties(reliability.locked_database PROPERTIES LABELS "reliability" TIMEOUT 120
  RUN_SERIAL TRUE
  ENVIRONMENT "${flasky_clean_env};PYTHONDONTWRITEBYTECODE=1;P99_BOUND_MS=${locked_database_p99_ms};FLASKY_BIN=$<TARGET_FILE:flasky_manage>")
