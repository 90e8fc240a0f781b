// Generated resources for the benchmarks: a 2 KB FHIR Patient "bench-<n>" (its narrative padded
// with letters that vary with n), the same in every benchmark so their figures compare.
#pragma once

#include <cstdint>
#include <string>

namespace edgesync::bench {

inline std::string patient_2kb(std::uint64_t n) {
    std::string id = "bench-" + std::to_string(n);
    std::string body = "{\"resourceType\":\"Patient\",\"id\":\"" + id +
                       "\",\"active\":true,\"name\":[{\"family\":\"Family" + std::to_string(n) +
                       "\",\"given\":[\"Given\"]}],\"gender\":\"female\",\"birthDate\":\"1990-01-01\",\"text\":{\"status\":\"generated\",\"div\":\"";
    while (body.size() < 2040) body += static_cast<char>('a' + (body.size() * 7 + n) % 26);
    return body + "\"}}";
}

}  // namespace edgesync::bench
