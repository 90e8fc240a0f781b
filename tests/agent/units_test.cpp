#include "agent/common/units.hpp"

#include <catch2/catch.hpp>

using namespace edgesync;
using namespace std::chrono_literals;

TEST_CASE("durations parse strictly", "[units]") {
    CHECK(parse_duration("250ms") == duration(250));
    CHECK(parse_duration("30s") == duration(30'000));
    CHECK(parse_duration("5m") == duration(300'000));
    CHECK(parse_duration("1h30m") == duration(5'400'000));
    CHECK(parse_duration("2d") == duration(172'800'000));
    CHECK(parse_duration("1s500ms") == duration(1500));
    CHECK(parse_duration("0") == duration(0));
    for (const char* bad : {"", "5", "5 m", " 5m", "5m ", "-5m", "1.5h", "5min", "30m1h", "1h1h", "m", "5mx",
                            "99999999999999999999d", "106751991167301d"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("durations format to their shortest exact form", "[units]") {
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(90s) == "1m30s");
    CHECK(format_duration(24h * 90) == "90d");
    CHECK(format_duration(1500ms) == "1s500ms");
    for (const char* s : {"250ms", "1h30m", "7d", "1d2h3m4s5ms"}) CHECK(format_duration(*parse_duration(s)) == s);
}

TEST_CASE("sizes parse with binary and decimal units", "[units]") {
    CHECK(parse_size("65536") == 65536u);
    CHECK(parse_size("64KiB") == 65536u);
    CHECK(parse_size("8MiB") == 8u * 1024 * 1024);
    CHECK(parse_size("1GiB") == 1024ull * 1024 * 1024);
    CHECK(parse_size("10kB") == 10'000u);
    CHECK(parse_size("2MB") == 2'000'000u);
    CHECK(parse_size("7B") == 7u);
    for (const char* bad : {"", "MiB", "8 MiB", "8mib", "-1", "1.5MiB", "99999999999999999999", "20000000000GiB"}) {
        INFO(bad);
        CHECK_FALSE(parse_size(bad));
    }
    CHECK(format_size(16 * 1024 * 1024) == "16MiB");
    CHECK(format_size(1000) == "1000");
}
