# Workbook.cmake — the wiring every folder shares, written once.
#
#   workbook_add_common(<name> SOURCES ... [LINKS ...])
#       common/<name> → library target common_<name>, alias common::<name>.
#   workbook_add_chapter(<NN> <slug> SOURCES ... TESTS ... [LINKS ...]
#                        [ARGS ...] [ENV VAR=value ...])
#       chapters/<NN>-<slug> → library chNN, executable chNN_<slug> (from main.cpp),
#       Boost.Test executable test_chNN_<slug> whose cases become ctest tests
#       chNN.<slug>.<suite>.<case> (label chNN), and the transcript test
#       chNN.<slug>.transcript (see tools/transcript.py for the normalisation).
#   workbook_add_boost_test(<target> <prefix> <label> SOURCES ... [LINKS ...])
#       a Boost.Test executable whose cases become ctest tests <prefix>.<suite>.<case>.

find_package(Poco 1.11 CONFIG REQUIRED
  COMPONENTS Foundation Util Net NetSSL Crypto Data DataSQLite JSON)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
# Debian's interpreter: it is the one that sees python3-aiosmtpd and the Flask packages; a
# pyenv or venv python3 earlier on PATH would not.
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(WORKBOOK_TOOLS ${CMAKE_CURRENT_LIST_DIR}/../tools)
cmake_path(NORMAL_PATH WORKBOOK_TOOLS)

# One set of warnings for all our code; -Werror only where asked (CI), so a reader's newer
# compiler with new warnings still builds the book.
add_library(workbook_warnings INTERFACE)

# A ThreadSanitizer build (the tsan preset) links every executable made from here on with the
# pthread_mutex_clocklock wrapper that GCC 12's runtime lacks (tests/tsan_clocklock.cpp says
# why); libraries are left alone, so each executable gets it exactly once.
if(CMAKE_CXX_FLAGS MATCHES "-fsanitize=thread")
  add_library(workbook_tsan_clocklock OBJECT ${CMAKE_CURRENT_LIST_DIR}/../tests/tsan_clocklock.cpp)
  target_link_libraries(workbook_tsan_clocklock PRIVATE workbook_warnings)
  link_libraries($<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:workbook_tsan_clocklock>)
endif()

target_compile_options(workbook_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  $<$<BOOL:${WORKBOOK_WERROR}>:-Werror>)

# Adds every direct sub-folder of <dir> that has a CMakeLists.txt, in name order.
function(workbook_add_subdirectories dir)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/${dir}
       ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*)
  list(SORT children)
  foreach(child IN LISTS children)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/${child}/CMakeLists.txt)
      add_subdirectory(${dir}/${child})
    endif()
  endforeach()
endfunction()

function(workbook_add_common name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINKS" ${ARGN})
  add_library(common_${name} STATIC ${ARG_SOURCES})
  add_library(common::${name} ALIAS common_${name})
  # Headers are included as "common/<name>/x.hpp", so the include root is the repo root.
  target_include_directories(common_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(common_${name} PUBLIC ${ARG_LINKS} PRIVATE workbook_warnings)
endfunction()

# Boost.Test cases are listed after the build (like gtest_discover_tests) so that each case is
# its own ctest test: `ctest -R` picks one, and a failure names the case.
function(workbook_add_boost_test target prefix label)
  cmake_parse_arguments(ARG "" "WORKING_DIRECTORY" "SOURCES;LINKS;ENV" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LINKS} Boost::unit_test_framework workbook_warnings)
  target_compile_definitions(${target} PRIVATE BOOST_TEST_DYN_LINK)
  if(NOT ARG_WORKING_DIRECTORY)
    set(ARG_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(ctest_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_tests.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND}
      -D EXE=$<TARGET_FILE:${target}> -D OUT=${ctest_file} -D PREFIX=${prefix}
      -D LABEL=${label} -D WORKDIR=${ARG_WORKING_DIRECTORY} "-D ENV=${ARG_ENV}"
      -P ${PROJECT_SOURCE_DIR}/cmake/BoostTestDiscover.cmake
    BYPRODUCTS ${ctest_file}
    VERBATIM)
  # ctest reads the list through a guard: until the executable is built (a partial build),
  # a placeholder test fails and says which target to build, instead of ctest aborting.
  set(guard_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
  file(WRITE ${guard_file}
    "if(EXISTS [==[${ctest_file}]==])\n"
    "  include([==[${ctest_file}]==])\n"
    "else()\n"
    "  add_test([==[${prefix}.NOT_BUILT]==] [==[${CMAKE_COMMAND}]==] -E echo [==[${target} is not built: run cmake --build on it]==])\n"
    "  set_tests_properties([==[${prefix}.NOT_BUILT]==] PROPERTIES LABELS [==[${label}]==] WILL_FAIL TRUE)\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${guard_file})
endfunction()

function(workbook_add_chapter nn slug)
  cmake_parse_arguments(ARG "" "" "SOURCES;TESTS;LINKS;ARGS;ENV" ${ARGN})
  string(REPLACE "-" "_" slug_id ${slug})
  set(lib ch${nn})
  set(exe ch${nn}_${slug_id})

  add_library(${lib} STATIC ${ARG_SOURCES})
  target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${lib} PUBLIC ${ARG_LINKS} PRIVATE workbook_warnings)

  add_executable(${exe} main.cpp)
  target_link_libraries(${exe} PRIVATE ${lib} workbook_warnings)

  if(ARG_TESTS)
    workbook_add_boost_test(test_${exe} ch${nn}.${slug} ch${nn}
      SOURCES ${ARG_TESTS} LINKS ${lib} ENV ${ARG_ENV})
  endif()

  add_test(NAME ch${nn}.${slug}.transcript
    COMMAND Python3::Interpreter ${WORKBOOK_TOOLS}/transcript.py
      --expected ${CMAKE_CURRENT_SOURCE_DIR}/expected-output.txt
      --workdir ${CMAKE_CURRENT_BINARY_DIR}/transcript
      -- $<TARGET_FILE:${exe}> ${ARG_ARGS})
  set_tests_properties(ch${nn}.${slug}.transcript PROPERTIES LABELS "ch${nn};transcript")
  if(ARG_ENV)
    set_property(TEST ch${nn}.${slug}.transcript PROPERTY ENVIRONMENT ${ARG_ENV})
  endif()
endfunction()
