// A field of /proc/self/status (or of another process's) in KiB ("VmRSS:", "VmHWM:"), for the
// benchmarks' memory figures; -1 when absent.
#pragma once

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace edgesync::bench {

inline long proc_status_kib(const char* key, long pid = 0) {
    std::ifstream in(pid ? "/proc/" + std::to_string(pid) + "/status" : std::string("/proc/self/status"));
    std::string line;
    const std::size_t n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0) return std::atol(line.c_str() + n);
    return -1;
}

// CPU seconds (user + system) in a /proc .../stat file (a process's or a thread's); -1 when
// unreadable.
inline double stat_cpu_seconds(const std::filesystem::path& stat_file) {
    std::ifstream in(stat_file);
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 2));
    std::string f;
    double utime = 0;
    for (int i = 3; fields >> f; ++i) {  // field 3 is the state; utime is 14, stime 15
        if (i == 14) utime = std::atof(f.c_str());
        if (i == 15) return (utime + std::atof(f.c_str())) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return -1;
}

// The CPU seconds a process has used so far (0: this process, all its threads).
inline double proc_cpu_seconds(long pid = 0) {
    return stat_cpu_seconds(pid ? "/proc/" + std::to_string(pid) + "/stat" : std::string("/proc/self/stat"));
}

// CPU seconds per thread of this process, from /proc/self/task/<tid>/stat: (tid, seconds).
inline std::vector<std::pair<long, double>> thread_cpu_seconds() {
    std::vector<std::pair<long, double>> out;
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator("/proc/self/task", ec))
        if (const double s = stat_cpu_seconds(t.path() / "stat"); s >= 0) out.emplace_back(std::atol(t.path().filename().c_str()), s);
    return out;
}

}  // namespace edgesync::bench
