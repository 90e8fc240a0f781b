#include "agent/version.hpp"

#include <boost/version.hpp>
#include <expat.h>
#include <mbedtls/version.h>
#include <sqlite3.h>
#include <zlib.h>

#include <string>

// Written at build time by agent/revision.cmake (only when the revision changes).
extern "C" const char edgesync_git_revision[];

namespace edgesync {

const build_info& build() noexcept {
    static const build_info k_info{EDGESYNC_VERSION, edgesync_git_revision, EDGESYNC_TARGET};
    return k_info;
}

std::string version_text() {
    const auto& b = build();
    std::string out = std::string("edgesync ") + b.version + " (" + b.revision + ", " + b.target + ")\n";
    // Run-time queries: these report the library the binary was linked with.
    out += std::string("sqlite ") + sqlite3_libversion() + "\n";
    XML_Expat_Version ev = XML_ExpatVersionInfo();
    out += "expat " + std::to_string(ev.major) + "." + std::to_string(ev.minor) + "." + std::to_string(ev.micro) + "\n";
    char mbed[18] = {};
    mbedtls_version_get_string(mbed);
    out += std::string("mbedtls ") + mbed + "\n";
    out += std::string("zlib ") + zlibVersion() + "\n";
    // Boost is header-only here (Asio, Beast and JSON compiled into this binary), so the headers'
    // version is the linked version.
    out += "boost " + std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) + "." +
           std::to_string(BOOST_VERSION % 100) + "\n";
    return out;
}

}  // namespace edgesync
