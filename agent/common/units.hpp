// Human-written quantities in the config file: durations ("250ms", "30s", "5m", "1h30m", "90d")
// and byte sizes (1048576, "64KiB", "8MiB", "1GB"). Parsing is strict: no spaces, no signs, no
// fractions, no unknown units, and no overflow; anything else is nullopt, never a guess.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgesync {

using duration = std::chrono::milliseconds;

// Sequence of <digits><unit> with unit in ms, s, m, h, d; units may repeat only in decreasing
// order ("1h30m" yes, "30m1h" no). "0" alone is accepted as zero.
std::optional<duration> parse_duration(std::string_view text) noexcept;
// The shortest exact rendering: 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(duration d);

// Bytes: a plain number, or <digits><unit> with unit B, KiB, MiB, GiB (powers of 1024) or
// kB, KB, MB, GB (powers of 1000).
std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;
std::string format_size(std::uint64_t bytes);

}  // namespace edgesync
