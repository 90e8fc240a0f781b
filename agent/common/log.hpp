// Levelled, one-line-per-event logging in key=value form, to stderr.
//
//   log::info("listening", {{"addr", "0.0.0.0:8080"}, {"tls", false}});
//   -> ts=2026-11-28T08:00:00.123Z level=info event=listening addr=0.0.0.0:8080 tls=false
//
// Values containing spaces, quotes, '=' or control characters are quoted and escaped, so every
// line parses back unambiguously. Under systemd (JOURNAL_STREAM set) the timestamp is left to
// journald and each line starts with a "<N>" syslog priority prefix instead.
//
// Secrets never reach a log line as long as they are kept in `secret` (config.hpp), which has no
// conversion to field. Thread-safety: every function may be called from any thread; a line is
// written with one write(2), so lines from different threads never interleave.
#pragma once

#include <chrono>
#include <exception>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace edgesync::log {

enum class level : std::uint8_t { trace, debug, info, warn, error };

std::string_view to_string(level l) noexcept;
std::optional<level> parse_level(std::string_view s) noexcept;

// One key=value pair. The value is rendered at construction so no references are kept.
class field {
public:
    field(std::string_view key, std::string_view value) : key_(key), value_(value) {}
    field(std::string_view key, const std::string& value) : key_(key), value_(value) {}
    field(std::string_view key, const char* value) : key_(key), value_(value ? value : "") {}
    field(std::string_view key, bool value) : key_(key), value_(value ? "true" : "false") {}
    template <class T>
        requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
    field(std::string_view key, T value) : key_(key), value_(std::to_string(value)) {}
    field(std::string_view key, double value);
    // Durations are rendered in milliseconds with an "ms" suffix: "elapsed=12.5ms".
    field(std::string_view key, std::chrono::nanoseconds value);

    std::string_view key() const noexcept { return key_; }
    std::string_view value() const noexcept { return value_; }

private:
    std::string_view key_;  // keys are string literals at every call site
    std::string value_;
};

// The minimum level written; lines below it cost one comparison. Default: info.
void set_level(level l) noexcept;
level current_level() noexcept;
inline bool enabled(level l) noexcept { return l >= current_level(); }

// Where lines go. Default: file descriptor 2. Tests point it at a pipe or file to assert lines.
void set_fd(int fd) noexcept;

// Formats one line (without trailing newline) exactly as write() would emit it, minus the
// timestamp/priority prefix. Exposed for tests.
std::string format_fields(level l, std::string_view event, std::initializer_list<field> fields);

void write(level l, std::string_view event, std::initializer_list<field> fields = {});

inline void trace(std::string_view e, std::initializer_list<field> f = {}) { if (enabled(level::trace)) write(level::trace, e, f); }
inline void debug(std::string_view e, std::initializer_list<field> f = {}) { if (enabled(level::debug)) write(level::debug, e, f); }
inline void info(std::string_view e, std::initializer_list<field> f = {}) { if (enabled(level::info)) write(level::info, e, f); }
inline void warn(std::string_view e, std::initializer_list<field> f = {}) { if (enabled(level::warn)) write(level::warn, e, f); }
inline void error(std::string_view e, std::initializer_list<field> f = {}) { if (enabled(level::error)) write(level::error, e, f); }

// Completion handler for asio::co_spawn: an exception that escaped a task is logged with the
// task's name (never swallowed, as asio::detached would). Only that task ends.
struct on_task_exit {
    std::string_view task;  // a string literal
    void operator()(std::exception_ptr e) const;
};

}  // namespace edgesync::log
