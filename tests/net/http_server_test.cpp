// The HTTP server over real loopback sockets, driven by a plain Beast client (not our own client,
// so a bug shared by both cannot hide).
#include "net/http_server.hpp"

#include "net/auth.hpp"
#include "net/gzip.hpp"
#include "net/http_client.hpp"
#include "support/canned_server.hpp"
#include "support/catch_net.hpp"
#include "support/run.hpp"
#include "support/streams.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>

#include <optional>

using namespace edgesync;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using response = http::response<http::string_body>;

namespace {

constexpr auto k_test_timeout = std::chrono::seconds(30);

std::shared_ptr<net::router> test_routes() {
    auto r = std::make_shared<net::router>();
    r->add(http::verb::get, "/echo/{what}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, std::string(c.param("what")) + ":" + c.query_param("q").value_or("-"));
    });
    r->add(http::verb::post, "/echo/{what}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, "posted:" + std::to_string(c.req.body().size()) + ":" + c.req.body().substr(0, 16));
    });
    r->add(http::verb::get, "/boom", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        throw std::runtime_error("handler bug");
        co_return net::reply{};
    });
    r->add(http::verb::get, "/slow", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(20));
        co_await t.async_wait(asio::use_awaitable);
        co_return net::reply::text(http::status::ok, "late");
    });
    r->add(http::verb::get, "/big", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        std::string body;
        for (int i = 0; i < 2000; ++i) body += "line " + std::to_string(i) + " of a compressible text body\n";
        co_return net::reply::text(http::status::ok, body);
    });
    r->add(http::verb::get, "/stream/{n}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        net::reply rep;
        rep.headers.set(http::field::content_type, "application/atom+xml");
        const int n = std::stoi(std::string(c.param("n")));
        rep.stream = [n](net::body_writer& w) -> asio::awaitable<boost::system::error_code> {
            for (int i = 0; i < n; ++i) {
                if (auto ec = co_await w.write("<entry>" + std::to_string(i) + "</entry>\n")) co_return ec;
            }
            co_return boost::system::error_code{};
        };
        co_return rep;
    });
    r->add(http::verb::get, "/secret", net::role_admin, [](net::request_context& c) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, "hello " + c.who.name);
    });
    r->add(http::verb::get, "/peer-only", net::role_sync_peer, [](net::request_context&) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, "peer");
    });
    return r;
}

struct fixture {
    asio::io_context ioc;
    net::server_params params;
    std::shared_ptr<net::authenticator> auth;
    net::connection_wrapper wrap;
    std::optional<net::http_server> server;
    tcp::endpoint ep;

    fixture() {
        params.max_header_bytes = 2048;
        params.max_body_bytes = 64 * 1024;
    }
    void start() {
        server.emplace(ioc.get_executor(), params, test_routes(), auth, wrap);
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

asio::awaitable<response> roundtrip(beast::tcp_stream& s, net::request req) {
    req.prepare_payload();
    co_await http::async_write(s, req, asio::use_awaitable);
    beast::flat_buffer buf;
    response res;
    co_await http::async_read(s, buf, res, asio::use_awaitable);
    co_return res;
}

net::request get(std::string target) {
    net::request req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    return req;
}


}  // namespace

TEST_CASE("server routes by method and path, keeps the connection alive", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto a = co_await roundtrip(s, get("/echo/one?q=a%20b"));
        auto b = co_await roundtrip(s, get("/echo/t%C3%A9st"));
        CHECK(a.result() == http::status::ok);
        CHECK(a.body() == "one:a b");
        CHECK(b.body() == "t\xC3\xA9st:-");
        CHECK(b.keep_alive());
        auto nf = co_await roundtrip(s, get("/nothing/here"));
        CHECK(nf.result() == http::status::not_found);
        net::request del{http::verb::delete_, "/echo/x", 11};
        auto na = co_await roundtrip(s, del);
        CHECK(na.result() == http::status::method_not_allowed);
        CHECK(na[http::field::allow] == "GET, POST");
        net::request head{http::verb::head, "/echo/x", 11};
        head.prepare_payload();
        co_await http::async_write(s, head, asio::use_awaitable);
        beast::flat_buffer buf;
        http::response_parser<http::empty_body> hp;
        hp.skip(true);  // HEAD: no body follows
        co_await http::async_read(s, buf, hp, asio::use_awaitable);
        CHECK(hp.get().result() == http::status::ok);
        CHECK(hp.get()[http::field::content_length] == "3");
        CHECK(f.server->active_connections() == 1);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("server refuses oversized headers and bodies and closes the connection", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        {
            beast::tcp_stream s(f.ioc);
            co_await s.async_connect(f.ep, asio::use_awaitable);
            auto req = get("/echo/x");
            req.set("X-Filler", std::string(4096, 'x'));
            auto res = co_await roundtrip(s, req);
            CHECK(res.result() == http::status::request_header_fields_too_large);
            CHECK_FALSE(res.keep_alive());
        }
        {
            beast::tcp_stream s(f.ioc);
            co_await s.async_connect(f.ep, asio::use_awaitable);
            net::request req{http::verb::post, "/echo/x", 11};
            req.body() = std::string(100 * 1024, 'b');
            auto res = co_await roundtrip(s, req);
            CHECK(res.result() == http::status::payload_too_large);
            CHECK_FALSE(res.keep_alive());
        }
        {
            // Chunked body over the limit: refused part-way through.
            std::string raw = "POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (int i = 0; i < 40; ++i) raw += "800\r\n" + std::string(0x800, 'c') + "\r\n";
            raw += "0\r\n\r\n";
            auto out = co_await test::raw_exchange(f.ioc, f.ep, raw);
            CHECK(out.rfind("HTTP/1.1 413", 0) == 0);
        }
        {
            auto out = co_await test::raw_exchange(f.ioc, f.ep, "GARBAGE\r\n\r\n");
            CHECK(out.rfind("HTTP/1.1 400", 0) == 0);
        }
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("server refuses request smuggling shapes and path traversal", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        // Content-Length together with Transfer-Encoding: ambiguous framing, refused.
        auto both = co_await test::raw_exchange(f.ioc, f.ep,
                                          "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                                          "0\r\n\r\n");
        CHECK(both.rfind("HTTP/1.1 400", 0) == 0);
        auto dup = co_await test::raw_exchange(f.ioc, f.ep, "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde");
        CHECK(dup.rfind("HTTP/1.1 400", 0) == 0);
        auto dots = co_await test::raw_exchange(f.ioc, f.ep, "GET /echo/%2e%2e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(dots.rfind("HTTP/1.1 400", 0) == 0);
        auto ctl = co_await test::raw_exchange(f.ioc, f.ep, "GET /echo/x HTTP/1.1\r\nHost: a\r\nX-Bad: a\rb\r\n\r\n");
        CHECK(ctl.rfind("HTTP/1.1 400", 0) == 0);
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
        auto ok = co_await roundtrip(s, get("/echo/after"));
        CHECK(ok.result() == http::status::ok);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("a handler past its deadline gets 503", "[net][http_server]") {
    fixture f;
    f.params.handler_timeout = std::chrono::milliseconds(200);
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto res = co_await roundtrip(s, get("/slow"));
        CHECK(res.result() == http::status::service_unavailable);
        CHECK(res[http::field::retry_after] == "5");
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("responses are gzip-compressed when asked, and streamed bodies are chunked", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto plain = co_await roundtrip(s, get("/big"));
        CHECK(plain[http::field::content_encoding].empty());
        auto req = get("/big");
        req.set(http::field::accept_encoding, "deflate, gzip;q=0.8");
        auto zipped = co_await roundtrip(s, req);
        CHECK(zipped[http::field::content_encoding] == "gzip");
        CHECK(zipped.body().size() < plain.body().size() / 4);
        std::string decoded;
        boost::system::error_code ec;
        CHECK(net::gzip_decompress(zipped.body(), 1 << 20, decoded, ec));
        CHECK(decoded == plain.body());
        req.set(http::field::accept_encoding, "gzip;q=0");
        auto refused = co_await roundtrip(s, req);
        CHECK(refused[http::field::content_encoding].empty());

        auto streamed = co_await roundtrip(s, get("/stream/5000"));
        CHECK(streamed[http::field::transfer_encoding] == "chunked");
        CHECK(streamed.body().find("<entry>4999</entry>\n") != std::string::npos);
        CHECK(streamed.body().rfind("<entry>0</entry>\n", 0) == 0);
        auto sreq = get("/stream/5000");
        sreq.set(http::field::accept_encoding, "gzip");
        auto zstream = co_await roundtrip(s, sreq);
        CHECK(zstream[http::field::content_encoding] == "gzip");
        CHECK(net::gzip_decompress(zstream.body(), 1 << 22, decoded, ec));
        CHECK(decoded == streamed.body());
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("server decodes gzip request bodies within the body limit", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        net::request req{http::verb::post, "/echo/z", 11};
        req.set(http::field::content_encoding, "gzip");
        req.body() = net::gzip_compress(std::string(10'000, 'a'));
        auto ok = co_await roundtrip(s, req);
        CHECK(ok.body() == "posted:10000:aaaaaaaaaaaaaaaa");
        // A gzip bomb: 10 MB of zeros in a few KB, against a 64 KiB body limit.
        req.body() = net::gzip_compress(std::string(10'000'000, '\0'));
        CHECK(req.body().size() < 64 * 1024);
        auto bomb = co_await roundtrip(s, req);
        CHECK(bomb.result() == http::status::payload_too_large);
        beast::tcp_stream s2(f.ioc);
        co_await s2.async_connect(f.ep, asio::use_awaitable);
        req.body() = "not gzip at all";
        auto corrupt = co_await roundtrip(s2, req);
        CHECK(corrupt.result() == http::status::bad_request);
        req.set(http::field::content_encoding, "br");
        auto unknown = co_await roundtrip(s2, req);
        CHECK(unknown.result() == http::status::unsupported_media_type);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("routes require credentials and roles", "[net][http_server][auth]") {
    fixture f;
    const std::string hash = net::hash_password("right-password", 10'000);
    f.auth = std::make_shared<net::authenticator>(std::vector<net::user_entry>{
        {"ops", hash, "", net::role_admin, {}},
        {"child", "", net::sha256_hex("child-token"), net::role_sync_peer, {}},
    });
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto none = co_await roundtrip(s, get("/secret"));
        CHECK(none.result() == http::status::unauthorized);
        CHECK(none[http::field::www_authenticate].find("Basic") != std::string::npos);
        auto req = get("/secret");
        req.set(http::field::authorization, net::basic_authorization("ops", "wrong-password"));
        CHECK((co_await roundtrip(s, req)).result() == http::status::unauthorized);
        req.set(http::field::authorization, net::basic_authorization("nobody", "right-password"));
        CHECK((co_await roundtrip(s, req)).result() == http::status::unauthorized);
        req.set(http::field::authorization, net::basic_authorization("ops", "right-password"));
        auto ok = co_await roundtrip(s, req);
        CHECK(ok.result() == http::status::ok);
        CHECK(ok.body() == "hello ops");
        CHECK((co_await roundtrip(s, req)).result() == http::status::ok);  // cached verification
        // A sync-peer token cannot reach an admin route, but reaches its own.
        req.set(http::field::authorization, net::bearer_authorization("child-token"));
        CHECK((co_await roundtrip(s, req)).result() == http::status::forbidden);
        auto peer = get("/peer-only");
        peer.set(http::field::authorization, net::bearer_authorization("child-token"));
        CHECK((co_await roundtrip(s, peer)).result() == http::status::ok);
        peer.set(http::field::authorization, net::bearer_authorization("child-tokem"));
        CHECK((co_await roundtrip(s, peer)).result() == http::status::unauthorized);
        // Public routes need nothing.
        CHECK((co_await roundtrip(s, get("/echo/x"))).result() == http::status::ok);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("cross-site request forgery: a browser write sent from another site's page is refused, the node's own page and programs are not", "[net][http_server][auth]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        const std::string host = "127.0.0.1:" + std::to_string(f.ep.port());
        auto post = [&](std::string_view origin, std::string_view site) {
            net::request r{http::verb::post, "/echo/x", 11};
            r.set(http::field::host, host);
            if (!origin.empty()) r.set(http::field::origin, origin);
            if (!site.empty()) r.set("Sec-Fetch-Site", site);
            r.body() = "{\"choose\":\"local\"}";
            r.prepare_payload();
            return r;
        };
        // A form on another site, posted by the victim's browser.
        auto forged = co_await roundtrip(s, post("http://evil.example", "cross-site"));
        CHECK(forged.result() == http::status::forbidden);
        CHECK_THAT(forged.body(), Catch::Matchers::Contains("cross-site"));
        // An older browser that sends only Origin, and a sandboxed page ("null").
        CHECK((co_await roundtrip(s, post("http://evil.example", ""))).result() == http::status::forbidden);
        CHECK((co_await roundtrip(s, post("null", ""))).result() == http::status::forbidden);
        CHECK((co_await roundtrip(s, post("http://127.0.0.1", "same-site"))).result() == http::status::forbidden);
        // The node's own page, and a program that sends neither header.
        CHECK((co_await roundtrip(s, post("http://" + host, "same-origin"))).result() == http::status::ok);
        CHECK((co_await roundtrip(s, post("http://" + host, ""))).result() == http::status::ok);
        // Behind a reverse proxy that rewrites Host, the browser's own verdict counts.
        CHECK((co_await roundtrip(s, post("https://clinic.example.org", "same-origin"))).result() == http::status::ok);
        CHECK((co_await roundtrip(s, post("", ""))).result() == http::status::ok);
        // Reads are not writes: a cross-site GET is answered (and reveals nothing to that page:
        // the browser keeps the answer from it).
        auto read = get("/echo/x");
        read.set(http::field::origin, "http://evil.example");
        read.set("Sec-Fetch-Site", "cross-site");
        CHECK((co_await roundtrip(s, read)).result() == http::status::ok);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("a script's request is challenged with Bearer only, so a browser opens no password dialog over the admin page", "[net][http_server][auth]") {
    fixture f;
    f.auth = std::make_shared<net::authenticator>(std::vector<net::user_entry>{{"ops", "", net::sha256_hex("t"), net::role_admin, {}}});
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto plain = co_await roundtrip(s, get("/secret"));
        CHECK(plain.result() == http::status::unauthorized);
        CHECK(plain[http::field::www_authenticate] == "Basic realm=\"edgesync\", Bearer realm=\"edgesync\"");
        auto req = get("/secret");
        req.set("X-Requested-With", "edgesync-admin");
        auto scripted = co_await roundtrip(s, req);
        CHECK(scripted.result() == http::status::unauthorized);
        CHECK(scripted[http::field::www_authenticate] == "Bearer realm=\"edgesync\"");
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

TEST_CASE("stop closes idle keep-alive connections and refuses new ones", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        auto res = co_await roundtrip(s, get("/echo/x"));
        CHECK(res.keep_alive());
        co_await f.server->stop(std::chrono::seconds(5));
        CHECK(f.server->active_connections() == 0);
        beast::flat_buffer buf;
        response r2;
        auto [ec, n] = co_await http::async_read(s, buf, r2, asio::as_tuple(asio::use_awaitable));
        CHECK(ec);
        tcp::socket fresh(f.ioc);
        auto [cec] = co_await fresh.async_connect(f.ep, asio::as_tuple(asio::use_awaitable));
        CHECK(cec == asio::error::connection_refused);
    });
}

TEST_CASE("stop lets a request in flight finish within the grace period", "[net][http_server]") {
    fixture f;
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        beast::tcp_stream s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        // Send a request whose body is still arriving when stop() begins.
        std::string head = "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345";
        co_await asio::async_write(s, asio::buffer(head), asio::use_awaitable);
        asio::steady_timer t(f.ioc, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::use_awaitable);
        bool stopped = false;
        asio::co_spawn(f.ioc, [&]() -> asio::awaitable<void> {
            co_await f.server->stop(std::chrono::seconds(10));
            stopped = true;
        }, asio::detached);
        co_await t.async_wait(asio::use_awaitable);
        CHECK_FALSE(stopped);
        std::string rest = "67890";
        co_await asio::async_write(s, asio::buffer(rest), asio::use_awaitable);
        beast::flat_buffer buf;
        response res;
        co_await http::async_read(s, buf, res, asio::use_awaitable);
        CHECK(res.body() == "posted:10:1234567890");
        CHECK_FALSE(res.keep_alive());  // the server is stopping
        t.expires_after(std::chrono::milliseconds(200));
        co_await t.async_wait(asio::use_awaitable);
        CHECK(stopped);
    });
}

TEST_CASE("a client dribbling its header is cut at the header deadline", "[net][http_server]") {
    fixture f;
    f.params.header_timeout = std::chrono::milliseconds(600);
    f.start();
    f.run([&]() -> asio::awaitable<void> {
        tcp::socket s(f.ioc);
        co_await s.async_connect(f.ep, asio::use_awaitable);
        const std::string req = "GET /echo/x HTTP/1.1\r\nHost: localhost\r\n\r\n";
        asio::steady_timer t(f.ioc);
        std::size_t sent = 0;
        boost::system::error_code ec;
        // One byte every 100 ms: the whole header would take about 4 s, the deadline is 0.6 s.
        for (; sent < req.size() && !ec; ++sent) {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(s, asio::buffer(req.data() + sent, 1), asio::as_tuple(asio::use_awaitable));
            t.expires_after(std::chrono::milliseconds(100));
            co_await t.async_wait(asio::use_awaitable);
            if (f.server->active_connections() == 0) break;
        }
        CHECK(sent < req.size());
        char byte;
        auto [rec, n] = co_await s.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
        CHECK(rec);
        co_await f.server->stop(std::chrono::seconds(1));
    });
}

// ---- byte-exact parsing, fault loops and the connection bound ---------------------------------

namespace {

// Serves one connection whose bytes are `input`, split at `splits`; returns what the server wrote.
std::string serve_scripted(fixture& f, const std::string& input, std::vector<std::size_t> splits) {
    auto s = std::make_unique<test::scripted_stream>(f.ioc.get_executor(), input);
    s->split_at(std::move(splits));
    auto written = s->written_handle();
    test::run_until_done(f.ioc, f.server->serve(std::move(s)));
    return *written;
}

}  // namespace

TEST_CASE("requests split at every byte offset are answered identically", "[net][http_server][grind]") {
    fixture f;
    f.start();
    const std::vector<std::string> inputs = {
        "GET /echo/abc?q=a%20b HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n1234567890",
        "POST /echo/y HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=v\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n",
        // Two pipelined requests, then HTTP/1.0 (closes after its answer).
        "GET /echo/one HTTP/1.1\r\nHost: a\r\n\r\nGET /echo/two HTTP/1.1\r\nHost: a\r\n\r\nGET /echo/three HTTP/1.0\r\n\r\n",
        "POST /echo/z HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: " +
            std::to_string(net::gzip_compress("compressed request body").size()) + "\r\n\r\n" + net::gzip_compress("compressed request body"),
    };
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        const std::string whole = serve_scripted(f, inputs[i], {});
        CAPTURE(whole);
        REQUIRE(whole.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        for (std::size_t k = 1; k < inputs[i].size(); ++k) {
            const std::string split = serve_scripted(f, inputs[i], {k});
            if (split != whole) {
                CAPTURE(k, whole, split);
                FAIL("a split request was answered differently");
            }
        }
        std::vector<std::size_t> every(inputs[i].size());
        for (std::size_t k = 0; k < every.size(); ++k) every[k] = k + 1;
        CHECK(serve_scripted(f, inputs[i], every) == whole);
    }
    CHECK(serve_scripted(f, inputs[3], {}).find("one") != std::string::npos);
    CHECK(serve_scripted(f, inputs[4], {}).find("posted:23:compressed reque") != std::string::npos);
    test::run_until_done(f.ioc, f.server->stop(std::chrono::seconds(1)));
}

TEST_CASE("server operations fail cleanly at every failure point", "[net][http_server][faults]") {
    auto plan = std::make_shared<test::fault_plan>();
    fixture f;
    f.wrap = [plan](std::unique_ptr<net::byte_stream> s, boost::system::error_code& ec) {
        return [](std::unique_ptr<net::byte_stream> inner, std::shared_ptr<test::fault_plan> p,
                  boost::system::error_code& e) -> asio::awaitable<std::unique_ptr<net::byte_stream>> {
            e.clear();
            co_return std::make_unique<test::faulty_stream>(std::move(inner), std::move(p));
        }(std::move(s), plan, ec);
    };
    f.start();
    std::string streamed;
    for (int i = 0; i < 3000; ++i) streamed += "<entry>" + std::to_string(i) + "</entry>\n";
    for (bool persistent : {false, true}) {
        CAPTURE(persistent);
        bool completed_clean = false;
        for (std::size_t n = 0; n < 200 && !completed_clean; ++n) {
            CAPTURE(n);
            *plan = test::fault_plan{};
            plan->fail_at = n;
            plan->persistent = persistent;
            net::client_params params;
            params.use_env_proxy = false;
            net::http_client client(f.ioc.get_executor(), params);
            test::run_until_done(f.ioc, [&]() -> asio::awaitable<void> {
                const std::string base = "http://127.0.0.1:" + std::to_string(f.ep.port());
                for (const std::string path : {"/stream/3000", "/big", "/echo/x?q=1"}) {
                    net::client_request req;
                    req.url = base + path;
                    auto r = co_await client.request(req);
                    if (!r) continue;
                    // A success is always the whole, right answer: never a short body.
                    CHECK(r->status == 200);
                    if (path == "/stream/3000") CHECK(r->body == streamed);
                    if (path == "/echo/x?q=1") CHECK(r->body == "x:1");
                }
            }());
            client.close_idle();
            completed_clean = plan->injected == 0;
            CHECK(test::run_until(f.ioc, [&] { return f.server->active_connections() == 0; }));  // nothing hangs
        }
        CHECK(completed_clean);
    }
    test::run_until_done(f.ioc, f.server->stop(std::chrono::seconds(1)));
}

TEST_CASE("the server holds at most max_connections and serves the rest as slots free", "[net][http_server]") {
    fixture f;
    f.params.max_connections = 2;
    f.start();
    test::run_until_done(f.ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::unique_ptr<beast::tcp_stream>> conns;
        for (int i = 0; i < 3; ++i) {
            conns.push_back(std::make_unique<beast::tcp_stream>(f.ioc));
            co_await conns.back()->async_connect(f.ep, asio::use_awaitable);
        }
        auto r0 = co_await roundtrip(*conns[0], get("/echo/a"));
        auto r1 = co_await roundtrip(*conns[1], get("/echo/b"));
        CHECK(r0.body() == "a:-");
        CHECK(r1.body() == "b:-");
        CHECK(f.server->active_connections() == 2);
        // The third waits in the kernel's backlog: no answer while both slots are taken.
        auto req = get("/echo/c");
        req.prepare_payload();
        co_await http::async_write(*conns[2], req, asio::use_awaitable);
        conns[2]->expires_after(std::chrono::milliseconds(300));
        beast::flat_buffer buf;
        response res;
        auto [ec, n] = co_await http::async_read(*conns[2], buf, res, asio::as_tuple(asio::use_awaitable));
        CHECK(ec == beast::error::timeout);
        conns.pop_back();
        // Retry on a fresh connection after freeing a slot.
        conns[0]->close();
        beast::tcp_stream again(f.ioc);
        co_await again.async_connect(f.ep, asio::use_awaitable);
        again.expires_after(std::chrono::seconds(5));
        auto r2 = co_await roundtrip(again, get("/echo/c"));
        CHECK(r2.body() == "c:-");
        CHECK(f.server->active_connections() <= 2);
        co_await f.server->stop(std::chrono::seconds(1));
    }());
}
