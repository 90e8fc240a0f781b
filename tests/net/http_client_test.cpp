// The HTTP client against our own server (real loopback sockets), against canned peers that
// misbehave on purpose, and against scripted streams for byte-exact parsing and fault loops.
#include "net/http_client.hpp"

#include "net/error.hpp"
#include "net/gzip.hpp"
#include "net/http_server.hpp"
#include "support/canned_server.hpp"
#include "support/bodies.hpp"
#include "support/catch_net.hpp"
#include "support/run.hpp"
#include "support/streams.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <catch2/catch.hpp>

#include <optional>

#include <cstdlib>
#include <sys/socket.h>
#include <unistd.h>

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using net::errc;

namespace {

struct fixture {
    asio::io_context ioc;
    net::server_params sparams;
    std::optional<net::http_server> server;
    std::uint16_t port = 0;
    int in_flight = 0, max_in_flight = 0;
    int puts_received = 0;

    std::shared_ptr<net::router> routes() {
        auto r = std::make_shared<net::router>();
        r->add(http::verb::get, "/echo/{what}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
            std::string auth(c.req[http::field::authorization]);
            co_return net::reply::text(http::status::ok, std::string(c.param("what")) + "|auth=" + auth + "|peer=" + c.peer);
        });
        r->add(http::verb::post, "/echo/{what}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
            co_return net::reply::text(http::status::ok, "posted " + std::to_string(c.req.body().size()));
        });
        r->add(http::verb::get, "/slow/{ms}", net::k_public, [this](net::request_context& c) -> asio::awaitable<net::reply> {
            max_in_flight = std::max(max_in_flight, ++in_flight);
            asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(std::stoi(std::string(c.param("ms")))));
            co_await t.async_wait(asio::use_awaitable);
            --in_flight;
            co_return net::reply::text(http::status::ok, "slept");
        });
        r->add(http::verb::get, "/big", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
            co_return net::reply::text(http::status::ok, test::numbered_lines(5000));
        });
        r->add(http::verb::get, "/stream/{n}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
            net::reply rep;
            rep.headers.set(http::field::content_type, "application/atom+xml");
            const int n = std::stoi(std::string(c.param("n")));
            rep.stream = [n](net::body_writer& w) -> asio::awaitable<error_code> {
                for (int i = 0; i < n; ++i)
                    if (auto ec = co_await w.write("<entry>" + std::to_string(i) + "</entry>\n")) co_return ec;
                co_return error_code{};
            };
            co_return rep;
        });
        r->add(http::verb::get, "/redirect/{n}", net::k_public, [this](net::request_context& c) -> asio::awaitable<net::reply> {
            const int n = std::stoi(std::string(c.param("n")));
            net::reply rep = net::reply::text(http::status::found, "moved\n");
            rep.headers.set(http::field::location, n > 0 ? "/redirect/" + std::to_string(n - 1) : "/echo/arrived");
            co_return rep;
        });
        r->add(http::verb::get, "/elsewhere", net::k_public, [this](net::request_context& c) -> asio::awaitable<net::reply> {
            net::reply rep = net::reply::text(http::status::temporary_redirect, "moved\n");
            rep.headers.set(http::field::location, *c.query_param("to"));
            co_return rep;
        });
        r->add(http::verb::put, "/echo/{what}", net::k_public, [this](net::request_context& c) -> asio::awaitable<net::reply> {
            ++puts_received;
            co_return net::reply::text(http::status::ok, "put " + std::string(c.param("what")) + " " + std::string(c.req.body()));
        });
        r->add(http::verb::put, "/elsewhere", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
            net::reply rep = net::reply::text(http::status::temporary_redirect, "moved\n");
            rep.headers.set(http::field::location, *c.query_param("to"));
            co_return rep;
        });
        r->add(http::verb::post, "/see-other", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
            net::reply rep = net::reply::text(http::status::see_other, "");
            rep.headers.set(http::field::location, "/echo/after-post");
            co_return rep;
        });
        return r;
    }

    void start() {
        server.emplace(ioc.get_executor(), sparams, routes(), nullptr);
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
    }
    std::string url(const std::string& path, std::uint16_t p = 0) const {
        return "http://127.0.0.1:" + std::to_string(p ? p : port) + path;
    }

    template <class F>
    void run(F body) {
        test::run_until_done(ioc, body());
    }
};

net::client_params test_params() {
    net::client_params p;
    p.use_env_proxy = false;
    return p;
}

net::client_request get(std::string url, std::string auth = {}) {
    net::client_request r;
    r.url = std::move(url);
    r.authorization = std::move(auth);
    return r;
}

}  // namespace

TEST_CASE("client fetches, and reuses one kept-alive connection for sequential requests", "[net][http_client]") {
    fixture f;
    f.start();
    net::http_client client(f.ioc.get_executor(), test_params());
    f.run([&]() -> asio::awaitable<void> {
        std::string first_peer;
        for (int i = 0; i < 5; ++i) {
            auto r = co_await client.request(get(f.url("/echo/n" + std::to_string(i))));
            REQUIRE(r);
            CHECK(r->status == 200);
            CHECK(r->body.rfind("n" + std::to_string(i) + "|auth=|peer=", 0) == 0);
            const std::string peer = r->body.substr(r->body.find("peer=") + 5);
            if (i == 0) first_peer = peer;
            CHECK(peer == first_peer);  // same client port: the same connection
        }
        CHECK(client.open_connections() == 1);
        client.close_idle();
        CHECK(client.open_connections() == 0);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("client bounds its connections per origin and queues the rest", "[net][http_client]") {
    fixture f;
    f.start();
    auto params = test_params();
    params.max_connections_per_origin = 2;
    net::http_client client(f.ioc.get_executor(), params);
    f.run([&]() -> asio::awaitable<void> {
        int done = 0;
        std::size_t max_open = 0;
        auto one = [&]() -> asio::awaitable<void> {
            auto r = co_await client.request(get(f.url("/slow/100")));
            CHECK(r);
            if (r) CHECK(r->body == "slept");
            max_open = std::max(max_open, client.open_connections());
            ++done;
        };
        using namespace asio::experimental::awaitable_operators;
        co_await (one() && one() && one() && one() && one() && one());
        CHECK(done == 6);
        CHECK(f.max_in_flight == 2);
        CHECK(max_open <= 2);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("client delivers chunked and gzip bodies in pieces as they arrive", "[net][http_client]") {
    fixture f;
    f.start();
    net::http_client client(f.ioc.get_executor(), test_params());
    f.run([&]() -> asio::awaitable<void> {
        std::string body, encoding;
        int pieces = 0;
        error_code ec = co_await client.request_stream(
            get(f.url("/stream/3000")),
            [&](const net::response_head& h) {
                CHECK(h.status == 200);
                encoding = std::string(h.headers[http::field::content_encoding]);
                return error_code{};
            },
            [&](std::string_view piece) {
                ++pieces;
                body.append(piece);
                return error_code{};
            });
        REQUIRE_FALSE(ec);
        CHECK(encoding == "gzip");  // the client asked for it; the server compressed the stream
        CHECK(pieces > 1);
        std::string expected;
        for (int i = 0; i < 3000; ++i) expected += "<entry>" + std::to_string(i) + "</entry>\n";
        CHECK(body == expected);

        auto r = co_await client.request(get(f.url("/big")));
        REQUIRE(r);
        CHECK(r->headers[http::field::content_encoding] == "gzip");
        CHECK(r->body == test::numbered_lines(5000));

        // A consumer that stops the body ends the request with its own error.
        ec = co_await client.request_stream(get(f.url("/big")), {}, [](std::string_view) { return error_code(errc::body_too_large); });
        CHECK(ec == errc::body_too_large);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("client compresses request bodies when configured", "[net][http_client]") {
    fixture f;
    f.start();
    auto params = test_params();
    params.gzip_requests = true;
    net::http_client client(f.ioc.get_executor(), params);
    f.run([&]() -> asio::awaitable<void> {
        net::client_request req;
        req.method = http::verb::post;
        req.url = f.url("/echo/x");
        req.body = test::numbered_lines(1000);
        req.headers.set(http::field::content_type, "application/json");
        auto r = co_await client.request(req);
        REQUIRE(r);
        CHECK(r->body == "posted " + std::to_string(test::numbered_lines(1000).size()));  // the server saw it decoded
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("redirects are followed within the bound and credentials never leave their origin", "[net][http_client]") {
    fixture f;
    f.start();
    fixture other;  // a second origin (another port)
    net::server_params sp;
    other.server.emplace(f.ioc.get_executor(), sp, other.routes(), nullptr);
    REQUIRE_FALSE(other.server->listen({asio::ip::make_address("127.0.0.1"), 0}));
    other.port = other.server->local_endpoint().port();
    auto params = test_params();
    params.max_redirects = 3;
    net::http_client client(f.ioc.get_executor(), params);
    f.run([&]() -> asio::awaitable<void> {
        // Same origin: the Authorization header follows.
        auto r = co_await client.request(get(f.url("/redirect/2"), "Bearer s3cret"));
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body.rfind("arrived|auth=Bearer s3cret|", 0) == 0);
        CHECK(r->final_url == f.url("/echo/arrived"));

        // Another origin: dropped.
        r = co_await client.request(get(f.url("/elsewhere?to=" + other.url("/echo/there")), "Bearer s3cret"));
        REQUIRE(r);
        CHECK(r->body.rfind("there|auth=|", 0) == 0);

        // Past the bound.
        r = co_await client.request(get(f.url("/redirect/5")));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::too_many_redirects);

        // 303 after POST: the next request is a GET.
        net::client_request post;
        post.method = http::verb::post;
        post.url = f.url("/see-other");
        post.body = "data";
        r = co_await client.request(post);
        REQUIRE(r);
        CHECK(r->body.rfind("after-post|", 0) == 0);
        co_await f.server->stop(std::chrono::seconds(1));
        co_await other.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("attack: a parent that redirects a push to another origin gets the redirect refused, and the body never leaves for that origin", "[net][http_client][security]") {
    fixture f;
    f.start();
    fixture other;  // the origin a parent (or anyone on a plain-http path) would send the data to
    net::server_params sp;
    other.server.emplace(f.ioc.get_executor(), sp, other.routes(), nullptr);
    REQUIRE_FALSE(other.server->listen({asio::ip::make_address("127.0.0.1"), 0}));
    other.port = other.server->local_endpoint().port();
    net::http_client client(f.ioc.get_executor(), test_params());
    f.run([&]() -> asio::awaitable<void> {
        net::client_request put;
        put.method = http::verb::put;
        put.url = f.url("/elsewhere?to=" + other.url("/echo/stolen"));
        put.body = R"({"resourceType":"Patient","id":"p1"})";
        put.authorization = "Bearer s3cret";
        auto r = co_await client.request(put);
        REQUIRE(r);
        CHECK(r->status == 307);  // the answer the caller refuses, as any 3xx
        CHECK(other.puts_received == 0);
        // The same redirect within the origin is followed, body and all.
        put.url = f.url("/elsewhere?to=" + f.url("/echo/here"));
        r = co_await client.request(put);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == R"(put here {"resourceType":"Patient","id":"p1"})");
        CHECK(f.puts_received == 1);
        co_await f.server->stop(std::chrono::seconds(1));
        co_await other.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("a pooled connection the server closed is replaced transparently", "[net][http_client]") {
    fixture f;
    f.sparams.idle_timeout = std::chrono::milliseconds(100);
    f.start();
    net::http_client client(f.ioc.get_executor(), test_params());
    f.run([&]() -> asio::awaitable<void> {
        auto r = co_await client.request(get(f.url("/echo/a")));
        REQUIRE(r);
        asio::steady_timer t(f.ioc, std::chrono::milliseconds(400));
        co_await t.async_wait(asio::use_awaitable);  // the server drops the idle connection meanwhile
        r = co_await client.request(get(f.url("/echo/b")));
        REQUIRE(r);
        CHECK(r->body.rfind("b|", 0) == 0);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

namespace {

struct bad_peer_case {
    const char* what;
    std::string bytes;
    errc expected;
};

}  // namespace

TEST_CASE("truncated, oversized and malformed responses are named errors, never short successes", "[net][http_client]") {
    std::string bomb_plain(20 * 1024 * 1024, 'a');
    const std::string bomb = net::gzip_compress(bomb_plain, 9);
    bomb_plain.clear();
    const std::string good_gzip = net::gzip_compress("hello, world");
    std::vector<bad_peer_case> cases = {
        {"body shorter than Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly fifty bytes of a hundred are sent here......", errc::length_mismatch},
        {"chunked body cut mid-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabcdefgh", errc::truncated_body},
        {"chunked body without its last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", errc::truncated_body},
        {"header cut short", "HTTP/1.1 200 OK\r\nContent-Len", errc::bad_response},
        {"not HTTP at all", "SSH-2.0-OpenSSH_9.2\r\n\r\n", errc::bad_response},
        {"oversized header", "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'x') + "\r\n\r\n", errc::header_too_large},
        {"body over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + std::string(2000000, 'b'), errc::body_too_large},
        {"gzip bomb", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(bomb.size()) + "\r\n\r\n" + bomb,
         errc::decompressed_too_large},
        {"corrupt gzip", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzipped!", errc::bad_gzip},
        {"gzip cut short", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(good_gzip.size() - 6) +
                               "\r\n\r\n" + good_gzip.substr(0, good_gzip.size() - 6),
         errc::bad_gzip},
        {"unknown content coding", "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc", errc::unsupported_encoding},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            asio::io_context ioc;
            test::canned_server peer(ioc);
            peer.push({c.bytes});
            auto params = test_params();
            params.max_body_bytes = 1024 * 1024;
            net::http_client client(ioc.get_executor(), params);
            auto got = test::run_until_done(ioc, client.request(get("http://127.0.0.1:" + std::to_string(peer.port()) + "/x")));
            REQUIRE_FALSE(got);
            CHECK(got.error() == c.expected);
            CHECK(client.open_connections() == 0);  // a failed connection is never pooled
        }
    }
}

TEST_CASE("every client deadline fires with its own error", "[net][http_client]") {
    asio::io_context ioc;
    test::canned_server peer(ioc);
    auto params = test_params();
    params.first_byte_timeout = std::chrono::milliseconds(300);
    params.body_idle_timeout = std::chrono::milliseconds(300);
    params.write_timeout = std::chrono::milliseconds(300);
    net::http_client client(ioc.get_executor(), params);
    const std::string base = "http://127.0.0.1:" + std::to_string(peer.port());
    auto run = [&](net::client_request req) {
        const auto t0 = std::chrono::steady_clock::now();
        auto got = test::run_until_done(ioc, client.request(std::move(req)));
        REQUIRE_FALSE(got);
        // Each deadline is 0.3 s; failing within a few seconds shows the deadline did it.
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
        return got.error();
    };
    SECTION("no response at all") {
        peer.push({"", test::canned_reply::then::stall});
        CHECK(run(get(base + "/silent")) == errc::first_byte_timeout);
    }
    SECTION("the body stalls after the header") {
        peer.push({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", test::canned_reply::then::stall});
        CHECK(run(get(base + "/stall")) == errc::body_idle_timeout);
    }
    SECTION("a body that keeps trickling is not idle") {
        test::canned_reply r{"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nabcdefghijkl"};
        r.split_every = 45;  // the header in one piece, then the body a few bytes at a time
        r.pause = std::chrono::milliseconds(200);
        peer.push(r);
        auto got = test::run_until_done(ioc, client.request(get(base + "/trickle")));
        REQUIRE(got);
        CHECK(got->body == "abcdefghijkl");
    }
}

TEST_CASE("a peer that accepts but never reads hits the write deadline", "[net][http_client]") {
    asio::io_context ioc;
    // A listener nobody accepts from: the kernel completes the handshake into the backlog and
    // buffers a little, then the client's writes block.
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    a.set_option(asio::socket_base::receive_buffer_size(4096));
    auto params = test_params();
    params.write_timeout = std::chrono::milliseconds(300);
    net::http_client client(ioc.get_executor(), params);
    net::client_request req;
    req.method = http::verb::put;
    req.url = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/big";
    req.body.assign(32 * 1024 * 1024, 'w');
    auto got = test::run_until_done(ioc, client.request(std::move(req)));
    REQUIRE_FALSE(got);
    CHECK(got.error() == errc::write_timeout);
}

TEST_CASE("a listener whose backlog is full hits the connect deadline", "[net][http_client]") {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc);
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    a.open(ep.protocol());
    a.bind(ep);
    a.listen(0);  // accept queue of one; never accepted from
    const auto target = a.local_endpoint();
    // Fill the queue: later SYNs are dropped by the kernel, so a connect waits.
    // (Raw non-blocking sockets: Asio's synchronous connect would wait for the answer.)
    std::vector<int> fillers;
    for (int i = 0; i < 3; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        REQUIRE(fd >= 0);
        ::connect(fd, target.data(), static_cast<socklen_t>(target.size()));
        fillers.push_back(fd);
    }
    struct closer {
        std::vector<int>& fds;
        ~closer() {
            for (int fd : fds) ::close(fd);
        }
    } close_fillers{fillers};
    auto params = test_params();
    params.connect_timeout = std::chrono::milliseconds(300);
    net::http_client client(ioc.get_executor(), params);
    auto got = test::run_until_done(ioc, client.request(get("http://127.0.0.1:" + std::to_string(target.port()) + "/")));
    REQUIRE_FALSE(got);
    CHECK(got.error() == errc::connect_timeout);
}

TEST_CASE("https through a CONNECT proxy, and a proxy that refuses", "[net][http_client]") {
    asio::io_context ioc;
    test::canned_server target(ioc);
    target.push({"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied"});
    test::connect_proxy proxy(ioc);
    test::connect_proxy refusing(ioc, true);
    auto params = test_params();
    const std::string url = "http://127.0.0.1:" + std::to_string(target.port()) + "/via";

    SECTION("plain http goes to the proxy in absolute form") {
        // Our CONNECT-only proxy refuses absolute-form requests (403), which shows the request
        // reached it as "GET http://... HTTP/1.1".
        params.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
        net::http_client client(ioc.get_executor(), params);
        auto got = test::run_until_done(ioc, client.request(get(url)));
        REQUIRE(got);
        CHECK(got->status == 403);
        REQUIRE(proxy.request_lines().size() == 1);
        CHECK(proxy.request_lines()[0] == "GET " + url + " HTTP/1.1");
        CHECK(target.requests().empty());
    }
    SECTION("a refused CONNECT is proxy_refused") {
        params.proxy = "http://127.0.0.1:" + std::to_string(refusing.port());
        net::http_client client(ioc.get_executor(), params, test::passthrough_tls());
        const std::string https_url = "https://127.0.0.1:" + std::to_string(target.port()) + "/via";
        auto got = test::run_until_done(ioc, client.request(get(https_url)));
        REQUIRE_FALSE(got);
        CHECK(got.error() == errc::proxy_refused);
        REQUIRE(refusing.request_lines().size() == 1);
        CHECK(refusing.request_lines()[0] == "CONNECT 127.0.0.1:" + std::to_string(target.port()) + " HTTP/1.1");
    }
    SECTION("CONNECT tunnels the request to the target") {
        // An "https" URL whose TLS layer is a pass-through, so the tunnel itself is what is
        // tested; the real TLS through a tunnel is in tls_test.cpp.
        params.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
        net::http_client client(ioc.get_executor(), params, test::passthrough_tls());
        const std::string https_url = "https://127.0.0.1:" + std::to_string(target.port()) + "/via";
        auto got = test::run_until_done(ioc, client.request(get(https_url)));
        REQUIRE(got);
        CHECK(got->body == "proxied");
        REQUIRE(target.requests().size() == 1);
        CHECK(target.requests()[0].rfind("GET /via HTTP/1.1\r\n", 0) == 0);
    }
}

TEST_CASE("proxies from the environment: used for remote hosts, skipped for loopback", "[net][http_client]") {
    asio::io_context ioc;
    test::connect_proxy proxy(ioc);  // relays loopback targets only; refuses the rest (403)
    test::canned_server local(ioc);
    local.push({"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ndirect"});
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
    ::setenv("https_proxy", proxy_url.c_str(), 1);
    ::setenv("http_proxy", proxy_url.c_str(), 1);
    struct unset {
        ~unset() {
            ::unsetenv("https_proxy");
            ::unsetenv("http_proxy");
        }
    } restore_env;
    net::client_params params;  // use_env_proxy defaults to true
    params.connect_timeout = std::chrono::milliseconds(500);
    net::http_client client(ioc.get_executor(), params, test::passthrough_tls());
    // A remote https parent: the client connects to the proxy only (the name is never looked up
    // here) and asks for a tunnel, which this proxy refuses.
    auto r = test::run_until_done(ioc, client.request(get("https://district.example.org/openmrs/ws/atomfeed/patient/recent")));
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::proxy_refused);
    // Plain http goes to the proxy in absolute form.
    r = test::run_until_done(ioc, client.request(get("http://district.example.org/x")));
    REQUIRE(r);
    CHECK(r->status == 403);
    REQUIRE(proxy.request_lines().size() == 2);
    CHECK(proxy.request_lines()[0] == "CONNECT district.example.org:443 HTTP/1.1");
    CHECK(proxy.request_lines()[1] == "GET http://district.example.org/x HTTP/1.1");
    // Loopback is reached directly.
    r = test::run_until_done(ioc, client.request(get("http://127.0.0.1:" + std::to_string(local.port()) + "/")));
    REQUIRE(r);
    CHECK(r->body == "direct");
    CHECK(proxy.request_lines().size() == 2);

    // no_proxy: a matching host (suffix match on a dot boundary, any case) is contacted directly.
    // The connector only records where the client would connect; nothing is looked up.
    std::vector<std::string> dialled;
    net::http_client recording(ioc.get_executor(), params, test::passthrough_tls(),
                               [&](std::string host, std::uint16_t port, error_code& ec) -> asio::awaitable<std::unique_ptr<net::byte_stream>> {
                                   dialled.push_back(host + ":" + std::to_string(port));
                                   ec = asio::error::connection_refused;
                                   co_return nullptr;
                               });
    ::setenv("no_proxy", "localhost, .Example.ORG", 1);
    for (const char* u : {"http://district.example.org/x", "https://example.org/x", "https://notexample.org/x"})
        CHECK_FALSE(test::run_until_done(ioc, recording.request(get(u))));
    ::unsetenv("no_proxy");
    const std::string via_proxy = "127.0.0.1:" + std::to_string(proxy.port());
    CHECK(dialled == std::vector<std::string>{"district.example.org:80", "example.org:443", via_proxy});
}

// ---- scripted streams: byte-exact parsing and fault loops ------------------------------------

namespace {

// Runs one request whose connection is a scripted stream carrying `response`, split at `split`.
boost::system::result<net::client_response> scripted_request(const std::string& response, std::vector<std::size_t> split,
                                                             std::string* sent = nullptr) {
    asio::io_context ioc;
    auto params = test_params();
    std::shared_ptr<const std::string> written;
    net::http_client client(ioc.get_executor(), params, {},
                            [&](std::string, std::uint16_t, error_code& ec) -> asio::awaitable<std::unique_ptr<net::byte_stream>> {
                                auto s = std::make_unique<test::scripted_stream>(ioc.get_executor(), response);
                                s->split_at(split);
                                written = s->written_handle();
                                ec.clear();
                                co_return s;
                            });
    auto got = test::run_until_done(ioc, client.request(get("http://127.0.0.1:1/feed")));
    if (sent && written) *sent = *written;
    return got;
}

}  // namespace

TEST_CASE("responses split at every byte offset parse identically", "[net][http_client][grind]") {
    const std::string gz = net::gzip_compress(test::numbered_lines(20));
    const std::vector<std::string> responses = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Extra: yes\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) + "\r\n\r\n" + gz,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the connection closes",
    };
    for (std::size_t i = 0; i < responses.size(); ++i) {
        CAPTURE(i);
        const auto& resp = responses[i];
        auto whole = scripted_request(resp, {});
        REQUIRE(whole);
        for (std::size_t k = 1; k < resp.size(); ++k) {
            auto split = scripted_request(resp, {k});
            REQUIRE(split);
            if (split->status != whole->status || split->body != whole->body) {
                CAPTURE(k);
                FAIL("split response parsed differently");
            }
        }
        // Byte by byte.
        std::vector<std::size_t> every(resp.size());
        for (std::size_t k = 0; k < resp.size(); ++k) every[k] = k + 1;
        auto dribbled = scripted_request(resp, every);
        REQUIRE(dribbled);
        CHECK(dribbled->body == whole->body);
    }
}

TEST_CASE("the request the client writes is exact", "[net][http_client]") {
    std::string sent;
    auto r = scripted_request("HTTP/1.1 204 No Content\r\n\r\n", {}, &sent);
    REQUIRE(r);
    CHECK(r->status == 204);
    CHECK(sent == "GET /feed HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUser-Agent: edgesync\r\nAccept-Encoding: gzip\r\n\r\n");
}

TEST_CASE("client operations fail cleanly at every failure point", "[net][http_client][faults]") {
    // The real server over loopback; the client's connection fails its Nth read or write.
    fixture f;
    f.start();
    const std::string expected = test::numbered_lines(5000);
    for (bool persistent : {false, true}) {
        CAPTURE(persistent);
        bool completed_clean = false;
        for (std::size_t n = 0; n < 200 && !completed_clean; ++n) {
            CAPTURE(n);
            auto plan = std::make_shared<test::fault_plan>();
            plan->fail_at = n;
            plan->persistent = persistent;
            net::http_client client(f.ioc.get_executor(), test_params(), {}, test::faulty_connector(f.ioc.get_executor(), plan));
            f.run([&]() -> asio::awaitable<void> {
                // Twice: the second request reuses the pooled connection when the first worked.
                for (int i = 0; i < 2; ++i) {
                    auto r = co_await client.request(get(f.url("/big")));
                    if (r) {
                        CHECK(r->status == 200);
                        CHECK(r->body == expected);  // a success is always the whole body
                    }
                }
            });
            client.close_idle();
            CHECK(client.open_connections() == 0);
            completed_clean = plan->injected == 0;
        }
        CHECK(completed_clean);
    }
    f.run([&]() -> asio::awaitable<void> { co_await f.server->stop(std::chrono::seconds(1)); });
}
