// TLS: our client and server with each other over loopback, every verification failure with its
// own error, mTLS, pinning, plain HTTP on a TLS port and the reverse, a CONNECT tunnel, and
// faults injected under the TLS layer on either side.
#include "net/tls.hpp"

#include "net/error.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "support/canned_server.hpp"
#include "support/bodies.hpp"
#include "support/catch_net.hpp"
#include "support/run.hpp"
#include "support/streams.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using net::errc;

namespace {

std::shared_ptr<net::router> routes() {
    auto r = std::make_shared<net::router>();
    r->add(http::verb::get, "/echo/{what}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, std::string(c.param("what")));
    });
    r->add(http::verb::get, "/big", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, test::numbered_lines(20000));
    });
    r->add(http::verb::get, "/binary/{n}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        std::string body(std::stoul(std::string(c.param("n"))), '\0');
        for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7919) >> 3);
        co_return net::reply::text(http::status::ok, body, "application/octet-stream");
    });
    return r;
}

std::shared_ptr<net::tls_config> server_tls(const test::issued& cert, net::tls_version min_v = net::tls_version::v1_2,
                                            net::tls_version max_v = net::tls_version::v1_3, std::string client_ca = {}) {
    net::tls_server_params p;
    p.cert_file = cert.cert_file;
    p.key_file = cert.key_file;
    p.min_version = min_v;
    p.max_version = max_v;
    p.client_ca_file = std::move(client_ca);
    std::string why;
    auto r = net::make_server_tls(p, &why);
    INFO(why);
    REQUIRE(r);
    return *r;
}

std::shared_ptr<net::tls_config> client_tls(net::tls_client_params p) {
    std::string why;
    auto r = net::make_client_tls(p, &why);
    INFO(why);
    REQUIRE(r);
    return *r;
}

net::tls_client_params trusting(const std::string& ca_file) {
    net::tls_client_params p;
    p.ca_file = ca_file;
    return p;
}

struct tls_fixture {
    asio::io_context ioc;
    test::temp_dir dir;
    test::test_pki pki{dir};
    test::issued server_cert = pki.issue("server");
    std::optional<net::http_server> server;
    std::uint16_t port = 0;

    void start(std::shared_ptr<net::tls_config> cfg, net::connection_wrapper wrap = {}) {
        server.emplace(ioc.get_executor(), net::server_params{}, routes(), nullptr, wrap ? wrap : net::server_tls_wrapper(cfg));
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
    }
    void start_default() { start(server_tls(server_cert)); }

    std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
        return "https://" + host + ":" + std::to_string(port) + path;
    }

    boost::system::result<net::client_response> fetch(std::shared_ptr<net::tls_config> cfg, const std::string& u,
                                                      net::client_params params = {}) {
        params.use_env_proxy = false;
        net::http_client client(ioc.get_executor(), params, net::client_tls_wrapper(cfg));
        net::client_request req;
        req.url = u;
        return test::run_until_done(ioc, client.request(req));
    }

    // Handshake only, on a raw stream, to look at what was negotiated.
    std::unique_ptr<net::tls_stream> handshake(std::shared_ptr<net::tls_config> cfg, const std::string& host, error_code& ec) {
        return test::run_until_done(ioc, [&]() -> asio::awaitable<std::unique_ptr<net::tls_stream>> {
            auto tcp = co_await net::connect_tcp(ioc.get_executor(), "127.0.0.1", port, std::chrono::seconds(5), std::chrono::seconds(5), ec);
            if (!tcp) co_return nullptr;
            auto t = std::make_unique<net::tls_stream>(cfg, std::move(tcp));
            t->expires_after(std::chrono::seconds(10));
            ec = co_await t->handshake(host);
            co_return t;
        }());
    }

    ~tls_fixture() {
        if (server) test::run_until_done(ioc, server->stop(std::chrono::seconds(1)));
    }
};

}  // namespace

TEST_CASE("our client and server speak TLS 1.2 and TLS 1.3", "[net][tls]") {
    for (auto v : {net::tls_version::v1_2, net::tls_version::v1_3}) {
        tls_fixture f;
        f.start(server_tls(f.server_cert, v, v));
        const std::string expected = v == net::tls_version::v1_3 ? "TLSv1.3" : "TLSv1.2";
        CAPTURE(expected);
        auto cfg = client_tls(trusting(f.pki.ca_file()));
        error_code ec;
        auto s = f.handshake(cfg, "localhost", ec);
        REQUIRE_FALSE(ec);
        CHECK(s->version() == expected);
        CHECK_FALSE(s->cipher().empty());
        CHECK(s->peer_subject().find("CN=localhost") != std::string::npos);
        CHECK(s->peer_cert_sha256() == f.server_cert.cert_sha256_hex);

        for (const std::string host : {"127.0.0.1", "localhost"}) {
            auto r = f.fetch(cfg, f.url("/echo/hello", host));
            REQUIRE(r);
            CHECK(r->status == 200);
            CHECK(r->body == "hello");
        }
        // Large bodies, gzip and raw, arrive intact through many records.
        auto r = f.fetch(cfg, f.url("/big"));
        REQUIRE(r);
        CHECK(r->headers[http::field::content_encoding] == "gzip");
        CHECK(r->body == test::numbered_lines(20000));
        r = f.fetch(cfg, f.url("/binary/3000000"));
        REQUIRE(r);
        REQUIRE(r->body.size() == 3000000);
        bool same = true;
        for (std::size_t i = 0; i < r->body.size() && same; ++i) same = r->body[i] == static_cast<char>((i * 7919) >> 3);
        CHECK(same);
    }
}

TEST_CASE("each certificate problem has its own error", "[net][tls]") {
    tls_fixture f;
    test::test_pki other(f.dir, "other");

    SECTION("a CA we do not trust") {
        f.start_default();
        auto r = f.fetch(client_tls(trusting(other.ca_file())), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_unknown_ca);
    }
    SECTION("a self-signed certificate") {
        f.start(server_tls(f.pki.self_signed("self")));
        auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_unknown_ca);
    }
    SECTION("a certificate for another name") {
        test::cert_spec spec;
        spec.common_name = "district.localhost";
        spec.dns_names = {"district.localhost"};
        spec.ip_addresses = {};
        f.start(server_tls(f.pki.issue("wrong-name", spec)));
        auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_hostname_mismatch);
        // The configured server name overrides the URL's host (a parent reached by address).
        auto p = trusting(f.pki.ca_file());
        p.server_name = "district.localhost";
        r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE(r);
        CHECK(r->body == "x");
    }
    SECTION("an expired certificate") {
        test::cert_spec spec;
        spec.not_before = "20200101000000";
        spec.not_after = "20210101000000";
        f.start(server_tls(f.pki.issue("expired", spec)));
        auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_cert_expired);
    }
    SECTION("a certificate not valid yet") {
        test::cert_spec spec;
        spec.not_before = "20400101000000";
        f.start(server_tls(f.pki.issue("future", spec)));
        auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_cert_expired);
    }
    SECTION("no version both sides accept") {
        f.start(server_tls(f.server_cert, net::tls_version::v1_2, net::tls_version::v1_2));
        auto p = trusting(f.pki.ca_file());
        p.min_version = net::tls_version::v1_3;
        auto r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_handshake_failed);
    }
    SECTION("a CA folder instead of a CA file") {
        f.start_default();
        std::filesystem::create_directories(f.dir.file("cas"));
        f.dir.write("cas/other.pem", other.ca().cert_pem);
        net::tls_client_params p;
        p.ca_dir = f.dir.file("cas");
        auto r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_unknown_ca);
        f.dir.write("cas/ours.pem", f.pki.ca().cert_pem);
        r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE(r);
        CHECK(r->body == "x");
    }
    SECTION("the system bundle, by default, does not know a private CA") {
        f.start_default();
        auto r = f.fetch(client_tls(net::tls_client_params{}), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_unknown_ca);
    }
    SECTION("insecure skips verification") {
        f.start(server_tls(f.pki.self_signed("self")));
        net::tls_client_params p;
        p.insecure = true;
        auto r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE(r);
        CHECK(r->body == "x");
    }
}

TEST_CASE("pins accept a parent on a private CA and refuse anything else", "[net][tls]") {
    tls_fixture f;
    test::test_pki other(f.dir, "other");
    f.start_default();
    SECTION("the server's public key pinned, its CA unknown to us") {
        auto p = trusting(other.ca_file());
        p.pins = {f.server_cert.spki_sha256_b64};
        auto r = f.fetch(client_tls(p), f.url("/echo/pinned"));
        REQUIRE(r);
        CHECK(r->body == "pinned");
    }
    SECTION("the server certificate pinned by its hex SHA-256, with a trusted CA") {
        auto p = trusting(f.pki.ca_file());
        p.pins = {"0000000000000000000000000000000000000000000000000000000000000000", f.server_cert.cert_sha256_hex};
        auto r = f.fetch(client_tls(p), f.url("/echo/pinned"));
        REQUIRE(r);
    }
    SECTION("a trusted chain without the pinned key") {
        auto p = trusting(f.pki.ca_file());
        p.pins = {other.ca().spki_sha256_b64};
        auto r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_pin_mismatch);
    }
    SECTION("a pinned key does not excuse a wrong host name") {
        auto p = trusting(other.ca_file());
        p.pins = {f.server_cert.spki_sha256_b64};
        p.server_name = "elsewhere.localhost";
        auto r = f.fetch(client_tls(p), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_hostname_mismatch);
    }
}

TEST_CASE("mutual TLS: the server requires a client certificate from its CA", "[net][tls]") {
    tls_fixture f;
    test::test_pki clients(f.dir, "clients");
    test::cert_spec client_spec;
    client_spec.common_name = "child-clinic-7";
    client_spec.client = true;
    const auto child = clients.issue("child", client_spec);
    const auto stranger = f.pki.issue("stranger", client_spec);
    f.start(server_tls(f.server_cert, net::tls_version::v1_2, net::tls_version::v1_3, clients.ca_file()));
    for (auto v : {net::tls_version::v1_2, net::tls_version::v1_3}) {
        auto p = trusting(f.pki.ca_file());
        p.min_version = p.max_version = v;
        auto r = f.fetch(client_tls(p), f.url("/echo/x"));
        CHECK_FALSE(r);  // no certificate
        p.cert_file = child.cert_file;
        p.key_file = child.key_file;
        r = f.fetch(client_tls(p), f.url("/echo/mtls"));
        REQUIRE(r);
        CHECK(r->body == "mtls");
        p.cert_file = stranger.cert_file;
        p.key_file = stranger.key_file;
        r = f.fetch(client_tls(p), f.url("/echo/x"));
        CHECK_FALSE(r);  // a certificate from a CA the server does not trust for clients
    }
}

TEST_CASE("plain HTTP to a TLS port, and TLS to a plain port, are named", "[net][tls]") {
    tls_fixture f;
    SECTION("a plain client gets a readable 400 from the TLS port") {
        f.start_default();
        auto reply = test::run_until_done(f.ioc, test::raw_exchange(f.ioc, {asio::ip::make_address("127.0.0.1"), f.port},
                                                                    "GET /echo/x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        CHECK(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
        CHECK(reply.find("This port speaks HTTPS") != std::string::npos);
    }
    SECTION("the server side reports plain_http_to_tls_port") {
        asio::ip::tcp::acceptor acc(f.ioc, {asio::ip::make_address("127.0.0.1"), 0});
        auto cfg = server_tls(f.server_cert);
        auto ec = test::run_until_done(f.ioc, [&]() -> asio::awaitable<error_code> {
            asio::ip::tcp::socket client(f.ioc);
            co_await client.async_connect(acc.local_endpoint(), asio::use_awaitable);
            co_await asio::async_write(client, asio::buffer(std::string("POST /ws/fhir2/R4/Patient HTTP/1.1\r\n\r\n")), asio::use_awaitable);
            auto sock = co_await acc.async_accept(asio::use_awaitable);
            net::tls_stream t(cfg, std::make_unique<net::tcp_byte_stream>(std::move(sock)));
            co_return co_await t.accept();
        }());
        CHECK(ec == errc::plain_http_to_tls_port);
    }
    SECTION("our TLS client at a plain HTTP port") {
        f.server.emplace(f.ioc.get_executor(), net::server_params{}, routes(), nullptr);
        REQUIRE_FALSE(f.server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        f.port = f.server->local_endpoint().port();
        auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), f.url("/echo/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::tls_peer_not_tls);
    }
}

TEST_CASE("a server that never finishes the handshake hits the TLS deadline", "[net][tls]") {
    tls_fixture f;
    test::canned_server silent(f.ioc);
    silent.push({"", test::canned_reply::then::stall});
    net::client_params params;
    params.tls_timeout = std::chrono::milliseconds(300);
    auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), "https://127.0.0.1:" + std::to_string(silent.port()) + "/", params);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::tls_handshake_timeout);
}

TEST_CASE("unusable TLS settings are refused with the file and the reason", "[net][tls]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto a = pki.issue("a");
    const auto b = pki.issue("b");
    std::string why;
    net::tls_server_params sp;
    sp.cert_file = dir.file("missing.crt");
    sp.key_file = a.key_file;
    auto r = net::make_server_tls(sp, &why);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::tls_bad_config);
    CHECK(why.find("missing.crt") != std::string::npos);

    sp.cert_file = a.cert_file;
    sp.key_file = b.key_file;  // a key that belongs to another certificate
    r = net::make_server_tls(sp, &why);
    REQUIRE_FALSE(r);
    CHECK(why.find("does not belong to certificate") != std::string::npos);

    sp.key_file = dir.write("garbage.key", "-----BEGIN EC PRIVATE KEY-----\nnot a key\n-----END EC PRIVATE KEY-----\n");
    r = net::make_server_tls(sp, &why);
    REQUIRE_FALSE(r);
    CHECK(why.find("garbage.key") != std::string::npos);

    net::tls_client_params cp;
    cp.ca_file = dir.write("empty.pem", "");
    auto c = net::make_client_tls(cp, &why);
    REQUIRE_FALSE(c);
    CHECK(why.find("empty.pem") != std::string::npos);

    cp.ca_file = pki.ca_file();
    cp.pins = {"sha256/too-short"};
    c = net::make_client_tls(cp, &why);
    REQUIRE_FALSE(c);
    CHECK(why.find("sha256/too-short") != std::string::npos);

    cp.pins = {};
    cp.cert_file = a.cert_file;  // a certificate without its key
    c = net::make_client_tls(cp, &why);
    REQUIRE_FALSE(c);
    CHECK(why.find("key_file") != std::string::npos);
}

TEST_CASE("pins parse in both notations", "[net][tls]") {
    std::string raw;
    CHECK(net::parse_pin("sha256/" + std::string(43, 'A') + "=", raw));
    CHECK(raw == std::string(32, '\0'));
    CHECK(net::parse_pin(std::string(64, 'f'), raw));
    CHECK(raw == std::string(32, '\xff'));
    CHECK(net::parse_pin("AB:CD:" + std::string(60, '0'), raw));
    CHECK_FALSE(net::parse_pin(std::string(63, 'f'), raw));
    CHECK_FALSE(net::parse_pin(std::string(64, 'g'), raw));
    CHECK_FALSE(net::parse_pin("sha1/AAAA", raw));
}

TEST_CASE("https through a CONNECT proxy", "[net][tls]") {
    tls_fixture f;
    f.start_default();
    test::connect_proxy proxy(f.ioc);
    net::client_params params;
    params.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto r = f.fetch(client_tls(trusting(f.pki.ca_file())), f.url("/echo/tunnelled"), params);
    REQUIRE(r);
    CHECK(r->body == "tunnelled");
    REQUIRE(proxy.request_lines().size() == 1);
    CHECK(proxy.request_lines()[0] == "CONNECT 127.0.0.1:" + std::to_string(f.port) + " HTTP/1.1");
}

TEST_CASE("TLS fails cleanly wherever the transport fails, on either side", "[net][tls][faults]") {
    const std::string expected = test::numbered_lines(20000);
    for (bool server_side : {false, true}) {
        CAPTURE(server_side);
        tls_fixture f;
        auto plan = std::make_shared<test::fault_plan>();
        auto scfg = server_tls(f.server_cert);
        if (server_side) {
            // Faults under the server's TLS layer: wrap the accepted TCP stream first.
            f.start(scfg, [plan, scfg](std::unique_ptr<net::byte_stream> s, error_code& ec) {
                return net::server_tls_wrapper(scfg)(std::make_unique<test::faulty_stream>(std::move(s), plan), ec);
            });
        } else {
            f.start(scfg);
        }
        auto ccfg = client_tls(trusting(f.pki.ca_file()));
        bool completed_clean = false;
        for (std::size_t n = 0; n < 300 && !completed_clean; ++n) {
            CAPTURE(n);
            *plan = test::fault_plan{};
            plan->fail_at = n;
            net::client_params params;
            params.use_env_proxy = false;
            net::connector connect = server_side ? net::connector{} : test::faulty_connector(f.ioc.get_executor(), plan);
            net::http_client client(f.ioc.get_executor(), params, net::client_tls_wrapper(ccfg), connect);
            test::run_until_done(f.ioc, [&]() -> asio::awaitable<void> {
                for (int i = 0; i < 2; ++i) {
                    net::client_request req;
                    req.url = f.url("/big");
                    auto r = co_await client.request(req);
                    if (r) {
                        CHECK(r->status == 200);
                        CHECK(r->body == expected);
                    }
                }
            }());
            client.close_idle();
            completed_clean = plan->injected == 0;
            // Let the server notice closed connections, then check nothing is left hanging.
            CHECK(test::run_until(f.ioc, [&] { return f.server->active_connections() == 0; }));
        }
        CHECK(completed_clean);
    }
}
