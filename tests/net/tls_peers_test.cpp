// Real peers nobody here wrote: curl (OpenSSL) against our TLS server; our client against nginx
// (TLS, gzip, chunked) and against `openssl s_server`. All on 127.0.0.1; the programs come from
// Debian packages that cross/deps.sh installs (curl, nginx-light, openssl).
#include "net/error.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/tls.hpp"
#include "support/catch_net.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>
#include <thread>

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using net::errc;

namespace {

std::string feed_text(std::size_t entries) {
    std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
    for (std::size_t i = 0; i < entries; ++i)
        s += "<entry><id>tag:atomfeed.ict4h.org:" + std::to_string(100000 + i) + "</id><title>Patient</title><content type=\"application/vnd.atomfeed+xml\"><![CDATA[/openmrs/ws/fhir2/R4/Patient/" +
             std::to_string(i) + "]]></content></entry>\n";
    return s + "</feed>\n";
}

// Our TLS server on its own thread, so a child process can talk to it while the test waits.
struct threaded_server {
    asio::io_context ioc;
    std::optional<net::http_server> server;
    std::thread thread;
    std::uint16_t port = 0;

    void start(std::shared_ptr<net::tls_config> cfg) {
        auto r = std::make_shared<net::router>();
        r->add(http::verb::get, "/echo/{what}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
            co_return net::reply::text(http::status::ok, std::string(c.param("what")));
        });
        r->add(http::verb::get, "/feed", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
            co_return net::reply::text(http::status::ok, feed_text(3000), "application/atom+xml");
        });
        server.emplace(ioc.get_executor(), net::server_params{}, r, nullptr, net::server_tls_wrapper(cfg));
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
        thread = std::thread([this] { ioc.run(); });
    }
    ~threaded_server() {
        ioc.stop();
        if (thread.joinable()) thread.join();
    }
};

std::shared_ptr<net::tls_config> server_config(const test::issued& cert, std::string client_ca = {}) {
    net::tls_server_params p;
    p.cert_file = cert.cert_file;
    p.key_file = cert.key_file;
    p.client_ca_file = std::move(client_ca);
    auto r = net::make_server_tls(p);
    REQUIRE(r);
    return *r;
}

std::shared_ptr<net::tls_config> client_config(const std::string& ca_file) {
    net::tls_client_params p;
    p.ca_file = ca_file;
    auto r = net::make_client_tls(p);
    REQUIRE(r);
    return *r;
}

boost::system::result<net::client_response> fetch(asio::io_context& ioc, std::shared_ptr<net::tls_config> cfg, std::string url,
                                                  int* pieces = nullptr) {
    net::client_params params;
    params.use_env_proxy = false;
    net::http_client client(ioc.get_executor(), params, net::client_tls_wrapper(std::move(cfg)));
    net::client_response res;
    net::client_request req;
    req.url = std::move(url);
    error_code ec = test::run_until_done(ioc, client.request_stream(
                                                  req,
                                                  [&](const net::response_head& h) {
                                                      res.status = h.status;
                                                      res.headers = h.headers;
                                                      return error_code{};
                                                  },
                                                  [&](std::string_view piece) {
                                                      if (pieces) ++*pieces;
                                                      res.body.append(piece);
                                                      return error_code{};
                                                  }));
    if (ec) return ec;
    return res;
}

std::string negotiated_version(asio::io_context& ioc, std::shared_ptr<net::tls_config> cfg, std::uint16_t port, error_code& ec) {
    return test::run_until_done(ioc, [&]() -> asio::awaitable<std::string> {
        auto tcp = co_await net::connect_tcp(ioc.get_executor(), "127.0.0.1", port, std::chrono::seconds(5), std::chrono::seconds(5), ec);
        if (!tcp) co_return std::string();
        net::tls_stream t(cfg, std::move(tcp));
        t.expires_after(std::chrono::seconds(10));
        ec = co_await t.handshake("localhost");
        std::string v = t.version();
        co_await t.shutdown();
        co_return v;
    }());
}

}  // namespace

TEST_CASE("curl (OpenSSL) talks to our TLS server with TLS 1.2 and 1.3", "[net][tls][external]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    threaded_server s;
    s.start(server_config(pki.issue("server")));
    const std::string base = "https://localhost:" + std::to_string(s.port);
    for (const auto& [flags, version] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--tlsv1.2", "--tls-max", "1.2"}, "TLSv1.2"}, {{"--tlsv1.3"}, "TLSv1.3"}}) {
        CAPTURE(version);
        std::vector<std::string> argv = {"curl", "-sS", "-v", "--cacert", pki.ca_file()};
        argv.insert(argv.end(), flags.begin(), flags.end());
        argv.push_back(base + "/echo/from-curl");
        auto r = test::run_command(argv, dir.file("curl.out"));
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK(r.output.find("SSL connection using " + version) != std::string::npos);
        CHECK(r.output.find("SSL certificate verify ok") != std::string::npos);
        CHECK(r.output.size() >= 10);
        CHECK(r.output.substr(r.output.size() - 9) == "from-curl");
    }
    // gzip, decoded by curl.
    auto r = test::run_command({"curl", "-sS", "-v", "--compressed", "--cacert", pki.ca_file(), "-o", dir.file("feed.xml"), base + "/feed"},
                               dir.file("curl.out"));
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("< Content-Encoding: gzip") != std::string::npos);
    CHECK(test::run_command({"cmp", "-s", dir.write("expected.xml", feed_text(3000)), dir.file("feed.xml")}, dir.file("cmp.out")).status == 0);
    // Plain HTTP at the TLS port: curl shows our explanation.
    r = test::run_command({"curl", "-sS", "http://127.0.0.1:" + std::to_string(s.port) + "/echo/x"}, dir.file("curl.out"));
    CHECK(r.output.find("This port speaks HTTPS") != std::string::npos);
}

TEST_CASE("curl with and without a client certificate against our mTLS server", "[net][tls][external]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    test::test_pki clients(dir, "clients");
    test::cert_spec spec;
    spec.common_name = "child-clinic";
    spec.client = true;
    const auto child = clients.issue("child", spec);
    threaded_server s;
    s.start(server_config(pki.issue("server"), clients.ca_file()));
    const std::string url = "https://localhost:" + std::to_string(s.port) + "/echo/mtls";
    for (const std::string tls : {"--tls-max", "--tlsv1.3"}) {
        std::vector<std::string> base = {"curl", "-sS", "--cacert", pki.ca_file()};
        if (tls == "--tls-max") base.insert(base.end(), {"--tlsv1.2", "--tls-max", "1.2"});
        else base.push_back("--tlsv1.3");
        auto with = base;
        with.insert(with.end(), {"--cert", child.cert_file, "--key", child.key_file, url});
        auto r = test::run_command(with, dir.file("curl.out"));
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK(r.output == "mtls");
        auto without = base;
        without.push_back(url);
        r = test::run_command(without, dir.file("curl.out"));
        INFO(r.output);
        CHECK(r.status != 0);  // handshake refused (TLS 1.2) or connection closed after it (TLS 1.3)
        CHECK(r.output.find("mtls") == std::string::npos);
    }
}

TEST_CASE("our client against nginx: TLS 1.2 and 1.3, gzip, chunked, verification", "[net][tls][external]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto cert = pki.issue("nginx");
    std::filesystem::create_directories(dir.file("www"));
    const std::string feed = feed_text(5000);
    dir.write("www/feed.xml", feed, 0644);
    std::string bundle = "{\"resourceType\":\"Bundle\",\"entry\":[";
    for (int i = 0; i < 4000; ++i) bundle += std::string(i ? "," : "") + "{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"obs-" + std::to_string(i) + "\"}}";
    bundle += "]}";
    dir.write("www/bundle.json", bundle, 0644);
    const std::uint16_t both = test::free_loopback_port(), v12 = test::free_loopback_port(), v13 = test::free_loopback_port();
    const std::string tls_common = "ssl_certificate " + cert.cert_file + "; ssl_certificate_key " + cert.key_file + "; root " + dir.file("www") + ";";
    const std::string conf = "daemon off; master_process off; worker_processes 1; pid " + dir.file("nginx.pid") +
                             "; error_log " + dir.file("nginx-error.log") + " info;\n"
                             "events { worker_connections 64; }\n"
                             "http { access_log off; client_body_temp_path " + dir.file("t1") + "; proxy_temp_path " + dir.file("t2") +
                             "; fastcgi_temp_path " + dir.file("t3") + "; uwsgi_temp_path " + dir.file("t4") + "; scgi_temp_path " + dir.file("t5") +
                             ";\n types { application/json json; application/atom+xml xml; }\n"
                             " gzip on; gzip_types application/json application/atom+xml; gzip_min_length 256;\n"
                             " server { listen 127.0.0.1:" + std::to_string(both) + " ssl; ssl_protocols TLSv1.2 TLSv1.3; " + tls_common + " }\n"
                             " server { listen 127.0.0.1:" + std::to_string(v12) + " ssl; ssl_protocols TLSv1.2; " + tls_common + " }\n"
                             " server { listen 127.0.0.1:" + std::to_string(v13) + " ssl; ssl_protocols TLSv1.3; " + tls_common + " }\n"
                             "}\n";
    dir.write("nginx.conf", conf);
    test::child_process nginx({"nginx", "-p", dir.path(), "-e", dir.file("nginx-error.log"), "-c", dir.file("nginx.conf")}, dir.file("nginx.out"));
    const bool up = test::wait_for_port(both, std::chrono::seconds(10)) && test::wait_for_port(v12, std::chrono::seconds(5)) &&
                    test::wait_for_port(v13, std::chrono::seconds(5));
    INFO(nginx.output());
    REQUIRE(up);

    asio::io_context ioc;
    auto cfg = client_config(pki.ca_file());
    error_code ec;
    CHECK(negotiated_version(ioc, cfg, v12, ec) == "TLSv1.2");
    CHECK_FALSE(ec);
    CHECK(negotiated_version(ioc, cfg, v13, ec) == "TLSv1.3");
    CHECK_FALSE(ec);
    CHECK(negotiated_version(ioc, cfg, both, ec) == "TLSv1.3");

    for (auto port : {both, v12, v13}) {
        CAPTURE(port);
        int pieces = 0;
        auto r = fetch(ioc, cfg, "https://localhost:" + std::to_string(port) + "/bundle.json", &pieces);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->headers[http::field::content_encoding] == "gzip");
        CHECK(r->headers[http::field::transfer_encoding] == "chunked");  // nginx streams gzip output chunked
        CHECK(r->body == bundle);
        CHECK(pieces > 1);
        r = fetch(ioc, cfg, "https://127.0.0.1:" + std::to_string(port) + "/feed.xml");
        REQUIRE(r);
        CHECK(r->body == feed);
        r = fetch(ioc, cfg, "https://localhost:" + std::to_string(port) + "/missing.json");
        REQUIRE(r);
        CHECK(r->status == 404);
    }
    // Verification against a real server: a CA we do not trust.
    test::test_pki other(dir, "other");
    auto r = fetch(ioc, client_config(other.ca_file()), "https://localhost:" + std::to_string(both) + "/feed.xml");
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::tls_unknown_ca);
    nginx.terminate();
}

TEST_CASE("our client against openssl s_server", "[net][tls][external]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto good = pki.issue("good");
    test::cert_spec expired_spec;
    expired_spec.not_after = "20210101000000";
    const auto expired = pki.issue("expired", expired_spec);
    asio::io_context ioc;
    auto cfg = client_config(pki.ca_file());
    struct run_case {
        std::string flag, version;
        const test::issued* cert;
    };
    for (const auto& c : {run_case{"-tls1_2", "TLSv1.2", &good}, run_case{"-tls1_3", "TLSv1.3", &good}, run_case{"-tls1_3", "", &expired}}) {
        CAPTURE(c.flag, c.version);
        const auto port = test::free_loopback_port();
        test::child_process server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert", c.cert->cert_file,
                                    "-key", c.cert->key_file, "-www", c.flag, "-quiet"},
                                   dir.file("s_server.out"));
        REQUIRE(test::wait_for_port(port, std::chrono::seconds(10)));
        auto r = fetch(ioc, cfg, "https://localhost:" + std::to_string(port) + "/");
        INFO(server.output());
        if (c.version.empty()) {
            REQUIRE_FALSE(r);
            CHECK(r.error() == errc::tls_cert_expired);
        } else {
            REQUIRE(r);
            CHECK(r->status == 200);
            // -www describes the session it served: the protocol we negotiated.
            CHECK(r->body.find("Protocol  : " + c.version) != std::string::npos);
        }
        server.terminate();
    }
}
