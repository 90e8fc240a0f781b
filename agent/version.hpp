// What this binary is: version, source revision, target, and the library versions actually
// linked (read from the libraries at run time where they can tell, so a wrong link shows).
#pragma once

#include <string>

namespace edgesync {

struct build_info {
    const char* version;   // project version, from CMake
    const char* revision;  // `git describe --always --dirty`, or "unknown" outside a checkout
    const char* target;    // compiler target triple, e.g. aarch64-linux-gnu
};

const build_info& build() noexcept;

// The full --version text: first line "edgesync <version> (<revision>, <target>)", then one
// "<library> <version>" line each for SQLite, expat, mbedTLS, zlib and Boost.
std::string version_text();

}  // namespace edgesync
