// The config as the net layer sees it: TLS material checked by check-config at the right JSON
// path, the parent client built from the config talking TLS with credentials, and the
// hash-password command that makes the users' secrets.
#include "agent/config.hpp"
#include "agent/hash_password.hpp"
#include "agent/net_setup.hpp"

#include "net/auth.hpp"
#include "net/error.hpp"
#include "support/catch_net.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

std::string problems_at(const config::load_result& r, const std::string& path) {
    std::string out;
    for (const auto& p : r.problems)
        if (p.path == path) out += p.message + "\n";
    return out;
}

std::string all_problems(const config::load_result& r) {
    std::string out;
    for (const auto& p : r.problems) out += config::format_problem("cfg", p) + "\n";
    return out;
}

// Runs the command with `input` as standard input; returns {status, stdout, stderr}.
struct cmd_out {
    int status;
    std::string out, err;
};
cmd_out hash_cmd(const test::temp_dir& dir, std::vector<std::string_view> args, const std::string& input) {
    const std::string in_path = dir.write("stdin.txt", input);
    std::FILE* in = std::fopen(in_path.c_str(), "r");
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    REQUIRE(in);
    const int status = agent::hash_password_command(args, in, out, err);
    auto slurp = [](std::FILE* f) {
        std::fflush(f);
        std::rewind(f);
        std::string s;
        int c;
        while ((c = std::fgetc(f)) != EOF) s += static_cast<char>(c);
        std::fclose(f);
        return s;
    };
    std::fclose(in);
    return {status, slurp(out), slurp(err)};
}

}  // namespace

TEST_CASE("check-config loads the TLS material and names what is wrong with it", "[config][tls]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto a = pki.issue("a");
    const auto b = pki.issue("b");
    auto server_cfg = [&](const std::string& cert, const std::string& key) {
        return R"({"server": {"tls": {"enabled": true, "cert_file": ")" + cert + R"(", "key_file": ")" + key + R"("}}})";
    };
    auto ok = config::parse_config(server_cfg(a.cert_file, a.key_file), dir.path());
    INFO(all_problems(ok));
    CHECK(ok.config);

    auto mismatched = config::parse_config(server_cfg(a.cert_file, b.key_file), dir.path());
    CHECK_FALSE(mismatched.config);
    CHECK(problems_at(mismatched, "$.server.tls").find("does not belong to certificate " + a.cert_file) != std::string::npos);

    auto not_a_cert = config::parse_config(server_cfg(dir.write("junk.crt", "hello\n"), a.key_file), dir.path());
    CHECK_FALSE(not_a_cert.config);
    CHECK(problems_at(not_a_cert, "$.server.tls").find("junk.crt") != std::string::npos);

    auto parent_cfg = [&](const std::string& tls) {
        return R"({"instance_id": "clinic-1", "parent": {"url": "https://127.0.0.1:9/openmrs", "tls": )" + tls + "}}";
    };
    auto good_parent = config::parse_config(parent_cfg(R"({"ca_file": ")" + pki.ca_file() + R"("})"), dir.path());
    INFO(all_problems(good_parent));
    CHECK(good_parent.config);
    auto bad_ca = config::parse_config(parent_cfg(R"({"ca_file": ")" + dir.write("bad-ca.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") + R"("})"),
                                       dir.path());
    CHECK_FALSE(bad_ca.config);
    CHECK(problems_at(bad_ca, "$.parent.tls").find("bad-ca.pem") != std::string::npos);
    // A malformed pin is reported once, at the pin.
    auto bad_pin = config::parse_config(parent_cfg(R"({"pins": ["sha256/xyz"]})"), dir.path());
    CHECK_FALSE(bad_pin.config);
    CHECK_FALSE(problems_at(bad_pin, "$.parent.tls.pins[0]").empty());
    CHECK(problems_at(bad_pin, "$.parent.tls").empty());
}

TEST_CASE("the parent client built from the config talks TLS and sends the credentials", "[config][tls][net]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto cert = pki.issue("parent");
    asio::io_context ioc;
    net::tls_server_params sp;
    sp.cert_file = cert.cert_file;
    sp.key_file = cert.key_file;
    auto stls = net::make_server_tls(sp);
    REQUIRE(stls);
    const std::string pw_hash = net::hash_password("clinic-secret-2026", 10'000);
    auto auth = std::make_shared<net::authenticator>(std::vector<net::user_entry>{{"clinic-1", pw_hash, "", net::role_sync_peer, {}}});
    auto routes = std::make_shared<net::router>();
    routes->add(http::verb::get, "/openmrs/ws/atomfeed/patient/recent", net::role_sync_peer,
                [](net::request_context& c) -> asio::awaitable<net::reply> { co_return net::reply::text(http::status::ok, "feed for " + c.who.name); });
    net::http_server server(ioc.get_executor(), net::server_params{}, routes, auth, net::server_tls_wrapper(*stls));
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    const auto port = server.local_endpoint().port();

    const std::string pw_file = dir.write("parent.password", "clinic-secret-2026\n");
    const std::string text = R"({"instance_id": "clinic-1", "parent": {"url": "https://localhost:)" + std::to_string(port) +
                             R"(/openmrs", "username": "clinic-1", "password_file": ")" + pw_file + R"(", "tls": {"ca_file": ")" +
                             pki.ca_file() + R"("}}})";
    auto loaded = config::parse_config(text, dir.path());
    INFO(all_problems(loaded));
    REQUIRE(loaded.config);
    std::string why;
    auto link = agent::make_parent_link(ioc.get_executor(), *loaded.config, why);
    INFO(why);
    REQUIRE(link);
    CHECK(link->authorization == net::basic_authorization("clinic-1", "clinic-secret-2026"));
    net::client_request req;
    req.url = loaded.config->parent.url + "/ws/atomfeed/patient/recent";
    req.authorization = link->authorization;
    auto r = test::run_until_done(ioc, link->client->request(req));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "feed for clinic-1");
    req.authorization = net::basic_authorization("clinic-1", "wrong");
    r = test::run_until_done(ioc, link->client->request(req));
    REQUIRE(r);
    CHECK(r->status == 401);
    link->client.reset();
    test::run_until_done(ioc, server.stop(std::chrono::seconds(1)));
}

TEST_CASE("hash-password prints a hash that verifies, and tokens with their digest", "[cli]") {
    test::temp_dir dir;
    auto r = hash_cmd(dir, {"--iterations", "10000"}, "correct horse battery staple\n");
    REQUIRE(r.status == 0);
    REQUIRE(r.out.size() > 1);
    const std::string hash = r.out.substr(0, r.out.size() - 1);
    CHECK(hash.rfind("pbkdf2-sha256$10000$", 0) == 0);
    CHECK(net::verify_password("correct horse battery staple", hash) == net::password_check::match);
    CHECK(net::verify_password("correct horse battery stapler", hash) == net::password_check::mismatch);
    CHECK(r.err.empty());

    r = hash_cmd(dir, {"--iterations", "10000"}, "short\n");
    CHECK(r.status == 0);
    CHECK(r.err.find("easy to guess") != std::string::npos);

    r = hash_cmd(dir, {}, "\n");
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("empty password") != std::string::npos);

    r = hash_cmd(dir, {"--iterations", "5"}, "x\n");
    CHECK(r.status == 2);
    r = hash_cmd(dir, {"--frobnicate"}, "x\n");
    CHECK(r.status == 2);

    r = hash_cmd(dir, {"--token"}, "");
    REQUIRE(r.status == 0);
    std::istringstream lines(r.out);
    std::string token_line, digest_line;
    std::getline(lines, token_line);
    std::getline(lines, digest_line);
    REQUIRE(token_line.rfind("token: ", 0) == 0);
    REQUIRE(digest_line.rfind("token_sha256: ", 0) == 0);
    const std::string token = token_line.substr(7);
    CHECK(token.size() == 64);
    CHECK(digest_line.substr(14) == net::sha256_hex(token));
    auto again = hash_cmd(dir, {"--token"}, "");
    CHECK(again.out != r.out);
}
