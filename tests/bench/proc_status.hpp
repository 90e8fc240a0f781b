// A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"), for the benchmarks' memory figures;
// -1 when absent.
#pragma once

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace edgesync::bench {

inline long proc_status_kib(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0) return std::atol(line.c_str() + n);
    return -1;
}

}  // namespace edgesync::bench
