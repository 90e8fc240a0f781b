#include "agent/common/log.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

namespace edgesync::log {
namespace {

std::atomic<level> g_level{level::info};
std::atomic<int> g_fd{2};
// Decided once: journald adds its own timestamps and understands "<N>" priority prefixes.
const bool g_journald = std::getenv("JOURNAL_STREAM") != nullptr;

bool needs_quotes(std::string_view v) noexcept {
    if (v.empty()) return true;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || c == '"' || c == '=' || c == '\\' || u == 0x7f) return true;
    }
    return false;
}

void append_value(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20 || u == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", u);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

int syslog_priority(level l) noexcept {
    switch (l) {
        case level::trace:
        case level::debug: return 7;
        case level::info: return 6;
        case level::warn: return 4;
        case level::error: return 3;
    }
    return 6;
}

}  // namespace

std::string_view to_string(level l) noexcept {
    switch (l) {
        case level::trace: return "trace";
        case level::debug: return "debug";
        case level::info: return "info";
        case level::warn: return "warn";
        case level::error: return "error";
    }
    return "info";
}

std::optional<level> parse_level(std::string_view s) noexcept {
    for (level l : {level::trace, level::debug, level::info, level::warn, level::error})
        if (s == to_string(l)) return l;
    return std::nullopt;
}

field::field(std::string_view key, double value) : key_(key) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", value);
    value_ = buf;
}

field::field(std::string_view key, std::chrono::nanoseconds value) : key_(key) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(value.count()) / 1e6);
    value_ = buf;
}

void set_level(level l) noexcept { g_level.store(l, std::memory_order_relaxed); }
level current_level() noexcept { return g_level.load(std::memory_order_relaxed); }
void set_fd(int fd) noexcept { g_fd.store(fd, std::memory_order_relaxed); }

std::string format_fields(level l, std::string_view event, std::initializer_list<field> fields) {
    std::string out;
    out.reserve(96);
    out += "level=";
    out += to_string(l);
    out += " event=";
    append_value(out, event);
    for (const field& f : fields) {
        out += ' ';
        out += f.key();
        out += '=';
        append_value(out, f.value());
    }
    return out;
}

void write(level l, std::string_view event, std::initializer_list<field> fields) {
    std::string line;
    if (g_journald) {
        line = "<" + std::to_string(syslog_priority(l)) + ">";
    } else {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        char buf[64];
        std::snprintf(buf, sizeof buf, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", utc.tm_year + 1900,
                      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec / 1000000);
        line = buf;
    }
    line += format_fields(l, event, fields);
    line += '\n';
    // One write(2) per line; retry on EINTR and short writes (a pipe may take it in pieces).
    const int fd = g_fd.load(std::memory_order_relaxed);
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere left to report a failing log sink
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void on_task_exit::operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        error("task_exception", {{"task", task}, {"what", ex.what()}});
    } catch (...) {
        error("task_exception", {{"task", task}, {"what", "unknown exception"}});
    }
}

}  // namespace edgesync::log
