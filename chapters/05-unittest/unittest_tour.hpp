#pragma once
// Chapter 05: the notes' unit tests, their three bugs, and the C++ fixture that fixes them.

#include <iosfwd>

namespace ch05 {

/// Prints the notes' tests/test_basics.py beside the C++ fixture and tests, runs the two
/// tests verbosely (`flasky test BasicTestCase`), then runs the notes' buggy versions and
/// shows how each fails. Returns 0 when the fixed tests pass and the buggy ones fail.
int run(std::ostream& out);

}  // namespace ch05
