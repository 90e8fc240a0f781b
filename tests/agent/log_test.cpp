#include "agent/common/log.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace edgesync;

TEST_CASE("log lines are key=value with quoting where needed", "[log]") {
    CHECK(log::format_fields(log::level::info, "ready", {{"listen", "127.0.0.1:8090"}, {"tls", false}, {"n", 42}}) ==
          "level=info event=ready listen=127.0.0.1:8090 tls=false n=42");
    CHECK(log::format_fields(log::level::warn, "x", {{"msg", "two words"}, {"empty", ""}}) ==
          R"(level=warn event=x msg="two words" empty="")");
    // Quotes, backslashes, '=' and control characters cannot break the line apart.
    CHECK(log::format_fields(log::level::error, "x", {{"v", "a\"b\\c=d\ne\x01"}}) ==
          R"(level=error event=x v="a\"b\\c=d\ne\x01")");
    CHECK(log::format_fields(log::level::debug, "t", {{"elapsed", std::chrono::microseconds(1500)}}) ==
          "level=debug event=t elapsed=1.500ms");
}

TEST_CASE("levels parse and filter", "[log]") {
    CHECK(log::parse_level("warn") == log::level::warn);
    CHECK_FALSE(log::parse_level("verbose"));
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    log::set_fd(fds[1]);
    log::set_level(log::level::warn);
    log::info("hidden");
    log::warn("shown", {{"k", "v"}});
    log::set_fd(2);
    log::set_level(log::level::info);
    ::close(fds[1]);
    char buf[512] = {};
    auto n = ::read(fds[0], buf, sizeof buf - 1);
    ::close(fds[0]);
    REQUIRE(n > 0);
    std::string out(buf, static_cast<std::size_t>(n));
    CHECK(out.find("hidden") == std::string::npos);
    CHECK(out.find("level=warn event=shown k=v\n") != std::string::npos);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}
