# Item 3: nginx in front (deploy/nginx.conf.template) and flasky agree on where every request
# ends: the framing vectors and the smuggling list sent raw to nginx, both access logs compared.
# Exits 77 (skipped, with the reason) only where nginx is not installed.
add_test(NAME reliability.nginx_framing
  COMMAND Python3::Interpreter test_nginx_framing.py
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
get_property(flasky_clean_env GLOBAL PROPERTY FLASKY_CLEAN_ENV)
set_tests_properties(reliability.nginx_framing PROPERTIES LABELS "reliability" TIMEOUT 180
  SKIP_RETURN_CODE 77
  ENVIRONMENT "${flasky_clean_env};PYTHONDONTWRITEBYTECODE=1;FLASKY_BIN=$<TARGET_FILE:flasky_manage>")
