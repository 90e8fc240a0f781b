#include "net/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>

#include <optional>

using namespace edgesync;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto k_test_timeout = std::chrono::seconds(20);

net::response echo_handler(const net::request& req) {
    if (req.target() == "/boom") throw std::runtime_error("handler bug");
    net::response res{http::status::ok, req.version()};
    res.body() = std::string(req.target()) + ":" + std::to_string(req.body().size());
    return res;
}

struct fixture {
    asio::io_context ioc;
    net::server_params params;
    std::optional<net::http_server> server;
    tcp::endpoint ep;

    fixture() {
        params.max_header_bytes = 2048;
        params.max_body_bytes = 1024;
    }
    void start() {
        server.emplace(ioc.get_executor(), params, echo_handler);
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        ep = server->local_endpoint();
    }
    // Runs `body` as a coroutine to completion (bounded by the test timeout), rethrowing.
    template <class F>
    void run(F body) {
        std::exception_ptr err;
        bool done = false;
        asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
            err = e;
            done = true;
        });
        ioc.run_for(k_test_timeout);
        REQUIRE(done);
        if (err) std::rethrow_exception(err);
    }
};

asio::awaitable<net::response> roundtrip(beast::tcp_stream& s, net::request req) {
    req.prepare_payload();
    co_await http::async_write(s, req, asio::use_awaitable);
    beast::flat_buffer buf;
    net::response res;
    co_await http::async_read(s, buf, res, asio::use_awaitable);
    co_return res;
}

net::request get(std::string target) {
    net::request req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    return req;
}

}  // namespace

TEST_CASE("server answers over loopback and keeps the connection alive", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto a = co_await roundtrip(s, get("/one"));
        auto b = co_await roundtrip(s, get("/two"));
        CHECK(a.result() == http::status::ok);
        CHECK(a.body() == "/one:0");
        CHECK(b.body() == "/two:0");
        CHECK(b.keep_alive());
        CHECK(f.server->active_connections() == 1);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("server enforces header and body limits with the right status", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        {
            beast::tcp_stream s(f.ioc);
            co_await s.async_connect(f.ep, asio::use_awaitable);
            auto req = get("/big-header");
            req.set("X-Filler", std::string(4096, 'x'));
            auto res = co_await roundtrip(s, req);
            CHECK(res.result() == http::status::request_header_fields_too_large);
            CHECK_FALSE(res.keep_alive());
        }
        {
            beast::tcp_stream s(f.ioc);
            co_await s.async_connect(f.ep, asio::use_awaitable);
            net::request req{http::verb::post, "/upload", 11};
            req.body() = std::string(4096, 'b');
            auto res = co_await roundtrip(s, req);
            CHECK(res.result() == http::status::payload_too_large);
        }
        {
            beast::tcp_stream s(f.ioc);
            co_await s.async_connect(f.ep, asio::use_awaitable);
            std::string junk = "GARBAGE\r\n\r\n";
            co_await asio::async_write(s, asio::buffer(junk), asio::use_awaitable);
            beast::flat_buffer buf;
            net::response res;
            co_await http::async_read(s, buf, res, asio::use_awaitable);
            CHECK(res.result() == http::status::bad_request);
        }
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("a throwing handler gives 500 and the server keeps serving", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto res = co_await roundtrip(s, get("/boom"));
        CHECK(res.result() == http::status::internal_server_error);
        CHECK(res.body().find("handler bug") == std::string::npos);  // no internals to the caller
        beast::tcp_stream s2(f.ioc);
        co_await s2.async_connect(f.ep, asio::use_awaitable);
        auto ok = co_await roundtrip(s2, get("/after"));
        CHECK(ok.result() == http::status::ok);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("stop closes idle keep-alive connections and refuses new ones", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto res = co_await roundtrip(s, get("/x"));
        CHECK(res.keep_alive());
        co_await f.server->stop(std::chrono::seconds(5));
        CHECK(f.server->active_connections() == 0);
        // The idle connection was closed by the server: the next read sees end of stream.
        beast::flat_buffer buf;
        net::response r2;
        auto [ec, n] = co_await http::async_read(s, buf, r2, asio::as_tuple(asio::use_awaitable));
        CHECK(ec);
        tcp::socket fresh(f.ioc);
        auto [cec] = co_await fresh.async_connect(f.ep, asio::as_tuple(asio::use_awaitable));
        CHECK(cec == asio::error::connection_refused);
    });
}

TEST_CASE("a client that sends nothing is cut off at the header deadline", "[net][http_server]") {
    fixture f;
    f.params.header_timeout = std::chrono::milliseconds(200);
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        tcp::socket s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        char byte;
        auto start = std::chrono::steady_clock::now();
        auto [ec, n] = co_await s.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
        CHECK(ec == asio::error::eof);
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
        co_await f.server->stop(std::chrono::seconds(1));
    });
}
