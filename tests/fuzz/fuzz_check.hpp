#pragma once
// What the fuzz targets share: a check that survives NDEBUG (the fuzz preset is an optimised
// build, where assert() would vanish) and stops the run with the invariant that broke, so
// libFuzzer saves the input that broke it.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fuzz {

inline void require(bool ok, const char* invariant) {
    if (ok) return;
    std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
    std::abort();
}

}  // namespace fuzz
