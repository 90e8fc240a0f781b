// How a fuzz target reports a broken contract: one line naming the contract (and what was seen),
// then abort(), which libFuzzer turns into a saved crash input and the replay test into a failure.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace edgesync::fuzz {

[[noreturn]] inline void broken(const char* contract, const std::string& seen = {}) {
    std::fprintf(stderr, "fuzz contract broken: %s%s%s\n", contract, seen.empty() ? "" : ": ", seen.c_str());
    std::fflush(stderr);
    std::abort();
}

inline void require(bool ok, const char* contract, const std::string& seen = {}) {
    if (!ok) broken(contract, seen);
}

}  // namespace edgesync::fuzz
