// Generated response bodies for net tests: many short numbered lines, so a body is large,
// compresses well and any reordering or loss shows in a comparison.
#pragma once

#include <cstddef>
#include <string>

namespace edgesync::test {

inline std::string numbered_lines(std::size_t lines) {
    std::string body;
    for (std::size_t i = 0; i < lines; ++i) body += "entry " + std::to_string(i) + " of a compressible feed body\n";
    return body;
}

}  // namespace edgesync::test
