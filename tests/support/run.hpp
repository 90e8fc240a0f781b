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
    run_until_done(ioc, [](boost::asio::awaitable<void> inner) -> boost::asio::awaitable<bool> {
        co_await std::move(inner);
        co_return true;
    }(std::move(op)), limit);
}

// Lets the context run until `done()` holds, polling every 10 ms, for at most `limit`
// (e.g. until a server has noticed that its clients went away). Returns done().
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(10));
    }
    ioc.restart();
    return done();
}

}  // namespace edgesync::test
