// Runs a coroutine on an io_context until it completes (not until the context runs out of work:
// test peers keep accept loops pending), bounded by a deadline so a hang fails the test instead
// of blocking the suite. Exceptions from the coroutine are rethrown.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace edgesync::test {

inline constexpr std::chrono::seconds k_run_timeout{60};

template <class T>
T run_until_done(boost::asio::io_context& ioc, boost::asio::awaitable<T> op, std::chrono::steady_clock::duration limit = k_run_timeout) {
    std::optional<T> out;
    std::exception_ptr err;
    bool done = false;
    boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
        err = e;
        if (!e) out.emplace(std::move(v));
        done = true;
        ioc.stop();
    });
    ioc.restart();
    ioc.run_for(limit);
    ioc.restart();
    REQUIRE(done);
    if (err) std::rethrow_exception(err);
    return std::move(*out);
}

inline void run_until_done(boost::asio::io_context& ioc, boost::asio::awaitable<void> op,
                           std::chrono::steady_clock::duration limit = k_run_timeout) {
    std::exception_ptr err;
    bool done = false;
    boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e) {
        err = e;
        done = true;
        ioc.stop();
    });
    ioc.restart();
    ioc.run_for(limit);
    ioc.restart();
    REQUIRE(done);
    if (err) std::rethrow_exception(err);
}

}  // namespace edgesync::test
