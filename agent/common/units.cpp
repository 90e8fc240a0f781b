#include "agent/common/units.hpp"

#include <array>
#include <limits>
#include <utility>

namespace edgesync {
namespace {

// Reads a run of decimal digits starting at pos. nullopt on no digits or overflow.
std::optional<std::uint64_t> read_digits(std::string_view s, std::size_t& pos) noexcept {
    std::size_t start = pos;
    std::uint64_t v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        auto digit = static_cast<std::uint64_t>(s[pos] - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        v = v * 10 + digit;
        ++pos;
    }
    if (pos == start) return std::nullopt;
    return v;
}

bool mul_ok(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    out = a * b;
    return true;
}

struct unit {
    std::string_view name;
    std::uint64_t factor;
};
// Longest names first so "ms" wins over "m".
constexpr std::array<unit, 5> k_time_units{{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
constexpr std::array<unit, 8> k_size_units{{{"KiB", 1024},
                                            {"MiB", 1024ull * 1024},
                                            {"GiB", 1024ull * 1024 * 1024},
                                            {"kB", 1000},
                                            {"KB", 1000},
                                            {"MB", 1000ull * 1000},
                                            {"GB", 1000ull * 1000 * 1000},
                                            {"B", 1}}};

}  // namespace

std::optional<duration> parse_duration(std::string_view s) noexcept {
    if (s == "0") return duration{0};
    if (s.empty()) return std::nullopt;
    std::size_t pos = 0;
    std::uint64_t total = 0;
    std::uint64_t last_factor = std::numeric_limits<std::uint64_t>::max();
    // Max representable: keep within int64 milliseconds (duration's rep).
    constexpr auto k_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    while (pos < s.size()) {
        auto n = read_digits(s, pos);
        if (!n) return std::nullopt;
        const unit* u = nullptr;
        for (const unit& cand : k_time_units) {
            if (s.substr(pos, cand.name.size()) == cand.name) {
                // "m" must not swallow the "m" of "ms"; the table order already prefers "ms".
                u = &cand;
                break;
            }
        }
        if (!u || u->factor >= last_factor) return std::nullopt;
        pos += u->name.size();
        last_factor = u->factor;
        std::uint64_t part = 0;
        if (!mul_ok(*n, u->factor, part) || part > k_max - total) return std::nullopt;
        total += part;
    }
    return duration{static_cast<std::int64_t>(total)};
}

std::string format_duration(duration d) {
    auto ms = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    if (ms == 0) return "0s";
    std::string out;
    for (auto it = k_time_units.rbegin(); it != k_time_units.rend(); ++it) {
        if (ms >= it->factor) {
            out += std::to_string(ms / it->factor);
            out += it->name;
            ms %= it->factor;
        }
    }
    return out;
}

std::optional<std::uint64_t> parse_size(std::string_view s) noexcept {
    std::size_t pos = 0;
    auto n = read_digits(s, pos);
    if (!n) return std::nullopt;
    if (pos == s.size()) return n;
    for (const unit& u : k_size_units) {
        if (s.substr(pos) == u.name) {
            std::uint64_t out = 0;
            if (!mul_ok(*n, u.factor, out)) return std::nullopt;
            return out;
        }
    }
    return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
    for (const char* name : {"GiB", "MiB", "KiB"}) {
        std::uint64_t f = name[0] == 'G' ? 1024ull * 1024 * 1024 : name[0] == 'M' ? 1024ull * 1024 : 1024;
        if (bytes >= f && bytes % f == 0) return std::to_string(bytes / f) + name;
    }
    return std::to_string(bytes);
}

}  // namespace edgesync
