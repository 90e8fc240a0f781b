// Issue 9: attacks on a node, one TEST_CASE per attack, each named after the attack it tries
// ("attack: ..."). Everything runs over real sockets on 127.0.0.1, never another host: the node as
// run_node() builds it (agent::node_routes, and the users, limits and TLS net_setup makes from its
// config), the real binary where start-up or its logs are the point, OpenSSL's s_client and
// s_server as old or weak TLS peers, hand-made TLS hellos, and attacker listeners that record
// whether anything reached them and with which credentials.
//
// Attacks tested elsewhere, not repeated here:
//   - request smuggling (Content-Length with Transfer-Encoding, two different Content-Lengths),
//     encoded dot segments, a bare CR in a header value: "server refuses request smuggling shapes
//     and path traversal" (tests/net/http_server_test.cpp);
//   - oversized headers, bodies and gzip bombs: "server refuses oversized headers and bodies and
//     closes the connection", "server decodes gzip request bodies within the body limit" (same);
//   - cross-site writes from a browser: "cross-site request forgery: ..." (same);
//   - a route's roles, wrong passwords and tokens: "routes require credentials and roles" (same);
//   - a CR LF in a feed category: "a CR LF smuggled into a feed category cannot inject a response
//     header" (tests/agent/feed_publisher_test.cpp);
//   - credentials across a redirect, in the HTTP client alone: "redirects are followed within the
//     bound and credentials never leave their origin" (tests/net/http_client_test.cpp);
//   - feed hrefs naming another host, in the feed walk alone: "hrefs naming another host or port
//     are rebased onto the configured origin" (tests/agent/feed_walk_test.cpp);
//   - plain HTTP to a TLS port gets a readable 400: "plain HTTP to a TLS port, and TLS to a plain
//     port, are named" (tests/net/tls_test.cpp).
#include "agent/api_setup.hpp"
#include "agent/backend/embedded.hpp"
#include "agent/backend/openmrs.hpp"
#include "agent/net_setup.hpp"
#include "agent/store_setup.hpp"
#include "agent/sync/replicator.hpp"
#include "net/auth.hpp"
#include "net/error.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/tls.hpp"
#include "store/store.hpp"
#include "support/api_node.hpp"
#include "support/canned_server.hpp"
#include "support/catch_net.hpp"
#include "support/openmrs_double.hpp"
#include "support/process.hpp"
#include "support/io_thread.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include <sys/stat.h>

using namespace edgesync;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// Credentials of the callers every test node knows. Distinctive, so a log line holding one is found.
constexpr const char* k_admin_token = "adm1n-T0ken-5f8e2c9a";
constexpr const char* k_child_token = "ch1ld-T0ken-91b3d7e4";
constexpr const char* k_app_token = "app-T0ken-4c6a0e11";
constexpr const char* k_lab_token = "lab-T0ken-77d1f2b0";
constexpr const char* k_operator_password = "0perator-Passw0rd-c3x8";

const std::string& operator_hash() {
    static const std::string h = net::hash_password(k_operator_password, 10'000);
    return h;
}

// The server.users of every test node: an operator (admin, by password or token), a child
// (sync-peer), a local app, and a lab app limited to observations.
std::string users_json() {
    return R"([{"name": "operator", "password_hash": ")" + operator_hash() + R"(", "token_sha256": ")" + net::sha256_hex(k_admin_token) +
           R"(", "roles": ["admin"]},
    {"name": "child", "token_sha256": ")" + net::sha256_hex(k_child_token) + R"(", "roles": ["sync-peer"]},
    {"name": "app", "token_sha256": ")" + net::sha256_hex(k_app_token) + R"(", "roles": ["local-app"]},
    {"name": "lab", "token_sha256": ")" + net::sha256_hex(k_lab_token) + R"(", "roles": ["local-app"], "categories": ["observation"]}])";
}

std::string bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }
std::string basic(const std::string& user, const std::string& password) {
    return "Authorization: " + net::basic_authorization(user, password) + "\r\n";
}

std::string all_problems(const config::load_result& r) {
    std::string out;
    for (const auto& p : r.problems) out += config::format_problem("config", p) + "\n";
    return out;
}

// A node in the test process, built exactly as run_node() builds one: the config parsed from
// text, the routes from agent::node_routes, users, limits and TLS through agent/net_setup. It
// listens on 127.0.0.1 (a port of its own; the config's listen address is not used).
struct node_under_test {
    asio::io_context& ioc;
    test::temp_dir tmp;
    config::node_config cfg;
    std::unique_ptr<store::store> st;
    std::unique_ptr<backend::local_backend> local;
    api::metrics metrics;
    std::shared_ptr<net::router> routes;
    std::unique_ptr<net::http_server> server;
    std::uint16_t port = 0;

    node_under_test(asio::io_context& io, const std::string& config_json) : ioc(io) {
        auto loaded = config::parse_config(config_json, tmp.path());
        INFO(all_problems(loaded));
        REQUIRE(loaded.config);
        cfg = *loaded.config;
        cfg.data_dir = tmp.path();
        std::string why;
        auto s = store::store::open(agent::store_options(cfg), why);
        INFO(why);
        REQUIRE(s);
        st = std::move(*s);
        local = backend::make_embedded_backend(*st, backend::embedded_params{});
        api::admin_params admin;
        admin.trigger_sync = [](std::string_view) { return false; };
        admin.directions = [] { return json::value(json::object{}); };
        metrics.directions = [] { return std::map<std::string, api::metrics::direction_gauges>{}; };
        routes = agent::node_routes(*st, cfg, *local, nullptr, std::move(admin), metrics);
        auto users = agent::http_users(cfg.server);
        auto auth = users.empty() ? nullptr : std::make_shared<net::authenticator>(std::move(users));
        auto tls = agent::make_server_tls(cfg.server, why);
        INFO(why);
        REQUIRE(tls);
        server = std::make_unique<net::http_server>(ioc.get_executor(), agent::http_server_params(cfg), routes, auth,
                                                    *tls ? net::server_tls_wrapper(*tls) : net::connection_wrapper{});
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
    }
    ~node_under_test() { test::run_until_done(ioc, server->stop(std::chrono::seconds(1))); }

    // Sends `bytes` as they are; everything the node sends back until it closes.
    std::string exchange(std::string bytes) {
        return test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, std::move(bytes)));
    }
    test::raw_response call(const std::string& method, const std::string& target, const std::string& headers = "",
                            const std::string& body = "") {
        return test::parse_raw_response(exchange(request_text(method, target, port, headers, body)));
    }

    static std::string request_text(const std::string& method, const std::string& target, std::uint16_t to_port,
                                    const std::string& headers = "", const std::string& body = "") {
        std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(to_port) + "\r\nConnection: close\r\n" + headers;
        if (!body.empty() || method == "POST" || method == "PUT")
            r += "Content-Type: application/fhir+json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        return r + "\r\n" + body;
    }
};

// One request on a connection of its own, from a thread that has no io_context (a node process).
test::raw_response call_process(std::uint16_t port, const std::string& method, const std::string& target, const std::string& headers = "",
                                const std::string& body = "") {
    asio::io_context ioc;
    const std::string raw = test::run_until_done(
        ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, node_under_test::request_text(method, target, port, headers, body)));
    return test::parse_raw_response(raw);
}

std::vector<std::string> node_command(const std::string& config_file) {
    auto argv = test::own_program(EDGESYNC_BINARY);
    argv.insert(argv.end(), {"run", "-c", config_file});
    return argv;
}

// A route's pattern with every parameter filled in, e.g. /ws/fhir2/R4/{type}/{id} ->
// /ws/fhir2/R4/zz-type/zz-id: values no literal segment of any route uses, so the filled path
// matches the very route it came from (the walk checks that).
std::string filled_path(const net::router::route& r) {
    std::string path;
    for (const auto& seg : r.segments) {
        path += '/';
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
            std::string name = seg.substr(1, seg.size() - 2);
            if (name.size() > 3 && name.substr(name.size() - 3) == "...") path += "zz-" + name.substr(0, name.size() - 3) + "/zz-more";
            else path += "zz-" + name;
        } else {
            path += seg;
        }
    }
    return path;
}

std::string route_name(const net::router::route& r) { return std::string(http::to_string(r.method)) + " " + filled_path(r); }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

// ---- 1. every route needs credentials ------------------------------------------------------------

TEST_CASE("attack: every route the node serves is called without credentials, with bad ones and with the stored digests: all but health, readiness and the admin page answer 401", "[agent][security]") {
    test::temp_dir tmp;
    const auto port = test::free_loopback_port();
    const std::string config_text = R"({"instance_id": "clinic-sec", "data_dir": "data",
  "server": {"listen": "127.0.0.1:)" + std::to_string(port) + R"(", "users": )" + users_json() + "}}\n";
    const std::string config_file = tmp.write("edgesync.jsonc", config_text);

    // The table the node serves, built by the function run_node() builds it with, from the same file.
    asio::io_context ioc;
    node_under_test table(ioc, config_text);
    const auto& routes = table.routes->routes();
    REQUIRE(routes.size() >= 25);

    std::set<std::string> public_routes, areas;
    for (const auto& r : routes) {
        const std::string path = filled_path(r);
        // The walk reaches the route it means (a filled value never selects another route).
        CHECK(table.routes->match(r.method, path).found == &r);
        if (r.roles == net::k_public) public_routes.insert(route_name(r));
        for (const char* area : {"/ws/atomfeed/", "/ws/fhir2/R4", "/ws/rest/v1/", "/admin/api/", "/metrics"})
            if (starts_with(path, area)) areas.insert(area);
    }
    // Public by design, and nothing else: liveness, readiness, the static admin page and its redirect.
    CHECK(public_routes == std::set<std::string>{"GET /healthz", "GET /readyz", "GET /admin/", "GET /admin"});
    CHECK(areas.size() == 5);

    // The real binary, started from that file: each route over its own connection.
    test::child_process node(node_command(config_file), tmp.file("node.out"));
    REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));

    const std::vector<std::pair<const char*, std::string>> bad_credentials{
        {"none", ""},
        {"an unknown bearer token", bearer("not-a-token")},
        {"a near miss of the admin token", bearer(std::string(k_admin_token) + "x")},
        {"the admin token's SHA-256 from the config, as a token", bearer(net::sha256_hex(k_admin_token))},
        {"a wrong password", basic("operator", "wrong-password")},
        {"the stored PBKDF2 hash, as the password", basic("operator", operator_hash())},
        {"an unknown user with the right password", basic("nobody", k_operator_password)},
        {"an unknown scheme", "Authorization: Token " + std::string(k_admin_token) + "\r\n"},
        {"a Basic header that is not base64", "Authorization: Basic %%%\r\n"},
        {"an empty Bearer", "Authorization: Bearer \r\n"},
    };
    std::size_t walked = 0;
    for (const auto& r : routes) {
        const std::string method(http::to_string(r.method));
        const std::string path = filled_path(r);
        CAPTURE(method, path);
        if (r.roles == net::k_public) {
            auto res = call_process(port, method, path);
            CHECK(res.status == (path == "/admin" ? 301 : 200));
            if (path == "/admin") CHECK(res.header("Location") == "/admin/");
            continue;
        }
        for (const auto& [what, header] : bad_credentials) {
            CAPTURE(what);
            auto res = call_process(port, method, path, header);
            CHECK(res.status == 401);
            CHECK_THAT(res.header("WWW-Authenticate"), Catch::Matchers::Contains("Bearer realm="));
            ++walked;
        }
        if (r.method == http::verb::get) CHECK(call_process(port, "HEAD", path).status == 401);

        // The callers the node knows: each reaches what its role allows, and is refused (403, not
        // 401: it is known) everywhere else. The admin's success shows the walk's tokens are real.
        for (const auto& [token, role] : {std::pair{k_admin_token, net::role_admin}, std::pair{k_child_token, net::role_sync_peer},
                                          std::pair{k_app_token, net::role_local_app}}) {
            CAPTURE(token);
            auto res = call_process(port, method, path, bearer(token));
            if (r.roles & role) {
                CHECK(res.status != 401);
                CHECK(res.status != 403);
            } else {
                CHECK(res.status == 403);
            }
        }
    }
    CHECK(walked == (routes.size() - public_routes.size()) * bad_credentials.size());

    // The admin routes: admin only, so a child (sync-peer) and an app are refused on every one.
    std::size_t admin_routes = 0;
    for (const auto& r : routes) {
        const std::string path = filled_path(r);
        if (!(starts_with(path, "/admin/api/") || path == "/metrics")) continue;
        CAPTURE(route_name(r));
        CHECK(r.roles == net::role_admin);
        CHECK(call_process(port, std::string(http::to_string(r.method)), path, bearer(k_child_token)).status == 403);
        CHECK(call_process(port, std::string(http::to_string(r.method)), path, bearer(k_lab_token)).status == 403);
        ++admin_routes;
    }
    CHECK(admin_routes >= 11);
    node.terminate();
}

// ---- 2. a local app limited to its categories -------------------------------------------------------

TEST_CASE("attack: a local app limited to observations reaches patients and encounters through FHIR, REST, search, Bundles and disguised URLs", "[agent][security]") {
    asio::io_context ioc;
    node_under_test node(ioc, R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + "}}");
    const std::string patient = R"({"resourceType":"Patient","id":"p1","name":[{"family":"Achieng"}]})";
    const std::string uuid = "0b7a3f2e-5c1d-4e8a-9f00-3a2b1c0d9e8f";
    REQUIRE(node.call("PUT", "/ws/fhir2/R4/Patient/p1", bearer(k_app_token), patient).status == 201);
    REQUIRE(node.call("POST", "/ws/rest/v1/patient", bearer(k_app_token), R"({"uuid":")" + uuid + R"(","person":{"gender":"F"}})").status / 100 == 2);
    REQUIRE(node.call("PUT", "/ws/fhir2/R4/Encounter/e1", bearer(k_app_token), R"({"resourceType":"Encounter","id":"e1","status":"finished"})").status == 201);
    const auto handled_before = node.server->requests_handled();

    // Its own category: allowed (the control).
    const std::string lab = bearer(k_lab_token);
    CHECK(node.call("PUT", "/ws/fhir2/R4/Observation/o1", lab, R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Hb"}})").status == 201);
    CHECK(node.call("GET", "/ws/fhir2/R4/Observation/o1", lab).status == 200);
    CHECK(node.call("GET", "/ws/fhir2/R4/Observation?_id=o1", lab).status == 200);

    struct attempt {
        const char* what;
        const char* method;
        std::string target, body;
    };
    const std::vector<attempt> refused{
        {"FHIR read", "GET", "/ws/fhir2/R4/Patient/p1", ""},
        {"FHIR read, type percent-encoded", "GET", "/ws/fhir2/R4/Pat%69ent/p1", ""},
        {"FHIR search by id", "GET", "/ws/fhir2/R4/Patient?_id=p1", ""},
        {"FHIR search of everything", "GET", "/ws/fhir2/R4/Patient", ""},
        {"FHIR update", "PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Patient","id":"p1","name":[{"family":"Changed"}]})"},
        {"FHIR create", "POST", "/ws/fhir2/R4/Patient", R"({"resourceType":"Patient","name":[{"family":"New"}]})"},
        {"FHIR delete", "DELETE", "/ws/fhir2/R4/Patient/p1", ""},
        {"FHIR read of another category", "GET", "/ws/fhir2/R4/Encounter/e1", ""},
        {"REST read", "GET", "/ws/rest/v1/patient/" + uuid + "?v=full", ""},
        {"REST update", "POST", "/ws/rest/v1/patient/" + uuid, R"({"person":{"gender":"M"}})"},
        {"REST create", "POST", "/ws/rest/v1/patient", R"({"person":{"gender":"M"}})"},
        {"REST delete", "DELETE", "/ws/rest/v1/patient/" + uuid + "?purge=true", ""},
        {"REST person, a category of its own", "POST", "/ws/rest/v1/person", R"({"gender":"M"})"},
        {"REST encounter", "GET", "/ws/rest/v1/encounter/" + uuid, ""},
        {"a Bundle transaction with one patient among observations", "POST", "/ws/fhir2/R4",
         R"({"resourceType":"Bundle","type":"transaction","entry":[
           {"request":{"method":"PUT","url":"Observation/o2"},"resource":{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"}}},
           {"request":{"method":"PUT","url":"Patient/p1"},"resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Changed"}]}}]})"},
        {"the feeds (sync-peer and admin only)", "GET", "/ws/atomfeed/patient/recent", ""},
        {"the admin API", "GET", "/admin/api/audit", ""},
    };
    for (const auto& a : refused) {
        CAPTURE(a.what, a.target);
        auto r = node.call(a.method, a.target, lab, a.body);
        CHECK(r.status == 403);
        CHECK(r.body.find("Achieng") == std::string::npos);
    }

    // A batch: each entry is checked on its own, whatever its URL looks like.
    auto batch = node.call("POST", "/ws/fhir2/R4", lab, R"({"resourceType":"Bundle","type":"batch","entry":[
        {"request":{"method":"GET","url":"Patient/p1"}},
        {"request":{"method":"GET","url":"/ws/fhir2/R4/Patient/p1"}},
        {"request":{"method":"GET","url":"http://127.0.0.1:1/ws/fhir2/R4/Patient/p1"}},
        {"request":{"method":"GET","url":"Observation/../Patient/p1"}},
        {"request":{"method":"GET","url":"Encounter/e1"}},
        {"request":{"method":"PUT","url":"Patient/p2"},"resource":{"resourceType":"Patient","id":"p2"}},
        {"request":{"method":"DELETE","url":"Patient/p1"}},
        {"request":{"method":"GET","url":"Observation/o1"}}]})");
    REQUIRE(batch.status == 200);
    CHECK(batch.body.find("Achieng") == std::string::npos);
    const auto entries = json::parse(batch.body).at("entry").as_array();
    REQUIRE(entries.size() == 8);
    for (std::size_t i = 0; i + 1 < entries.size(); ++i) {
        CAPTURE(i);
        const std::string status(entries[i].at("response").at("status").as_string());
        CHECK(status.substr(0, 1) == "4");
    }
    CHECK(entries[7].at("response").at("status") == "200 OK");

    // Nothing of the other categories changed; the unrestricted app still sees them as they were.
    auto p1 = node.call("GET", "/ws/fhir2/R4/Patient/p1", bearer(k_app_token));
    CHECK(p1.status == 200);
    CHECK(p1.header("ETag") == "W/\"1\"");
    CHECK_THAT(p1.body, Catch::Matchers::Contains("Achieng"));
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p2", bearer(k_app_token)).status == 404);
    CHECK(node.call("GET", "/ws/fhir2/R4/Observation/o2", bearer(k_app_token)).status == 404);
    CHECK(node.call("GET", "/ws/rest/v1/patient/" + uuid, bearer(k_app_token)).status == 200);
    CHECK(node.server->requests_handled() > handled_before);
}

TEST_CASE("attack: categories given to a child or an admin credential, where the feeds and the admin API would ignore them, are refused at start-up", "[agent][security][config]") {
    for (const char* roles : {R"(["sync-peer"])", R"(["admin"])", R"(["local-app", "sync-peer"])", R"(["local-app", "admin"])"}) {
        CAPTURE(roles);
        auto r = config::parse_config(R"({"server": {"users": [{"name": "lab", "token_sha256": ")" + net::sha256_hex(k_lab_token) +
                                          R"(", "roles": )" + roles + R"(, "categories": ["observation"]}]}})",
                                      "/tmp");
        CHECK_FALSE(r.config);
        bool named = false;
        for (const auto& p : r.problems)
            named = named || (p.path == "$.server.users[0].categories" && p.level == config::problem::severity::error &&
                              p.message.find("local-app") != std::string::npos);
        INFO(all_problems(r));
        CHECK(named);
    }
    auto ok = config::parse_config(R"({"server": {"users": [{"name": "lab", "token_sha256": ")" + net::sha256_hex(k_lab_token) +
                                       R"(", "roles": ["local-app"], "categories": ["observation"]}]}})",
                                   "/tmp");
    INFO(all_problems(ok));
    CHECK(ok.config);
}

// ---- 3. header injection -----------------------------------------------------------------------

namespace {

// CR LF with what an attacker would like to follow it: a header of their own, the end of the
// head, and a second response.
constexpr const char* k_crlf = "%0d%0aSet-Cookie:%20sid=evil%0d%0aX-Injected:%20yes%0d%0a%0d%0aHTTP/1.1%20200%20OK%0d%0aX-Injected:%20split";

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// `raw` (everything a connection received) is exactly one response, and no line in it was made by
// the caller: no injected header, no second status line.
void check_one_clean_response(const std::string& raw) {
    CAPTURE(raw);
    CHECK(starts_with(raw, "HTTP/1.1 "));
    const std::string l = lower(raw);
    CHECK(l.find("\nset-cookie") == std::string::npos);
    CHECK(l.find("\nx-injected") == std::string::npos);
    CHECK(raw.find("\nHTTP/1.") == std::string::npos);
    CHECK_NOTHROW(test::parse_raw_response(raw));
}

}  // namespace

TEST_CASE("attack: CR LF smuggled through a path, a query or a resource cannot add a header to the node's response or split it", "[agent][security]") {
    asio::io_context ioc;
    node_under_test node(ioc, R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + "}}");
    const std::string k(k_crlf);
    const std::string uuid = "0b7a3f2e-5c1d-4e8a-9f00-3a2b1c0d9e8f";
    const std::string admin = bearer(k_admin_token);
    const std::vector<std::tuple<const char*, std::string, std::string>> attempts{
        {"GET", "/ws/fhir2/R4/Patient/p1" + k, admin},
        {"GET", "/ws/fhir2/R4/Patient/p1" + k, ""},  // refused unauthenticated, still clean
        {"PUT", "/ws/fhir2/R4/Patient/p1" + k, admin},
        {"DELETE", "/ws/fhir2/R4/Patient/p1" + k, admin},
        {"PATCH", "/ws/fhir2/R4/Patient/p1" + k, admin},  // 405 with an Allow header
        {"GET", "/ws/fhir2/R4/Pat" + k + "/p1", admin},
        {"GET", "/ws/fhir2/R4/Patient?_id=p1" + k, admin},
        {"GET", "/ws/fhir2/R4/Patient?_count=5" + k, admin},
        {"GET", "/ws/fhir2/R4/Patient?_lastUpdated=gt2024" + k, admin},
        {"GET", "/ws/fhir2/R4/Patient?_cursor=" + k, admin},
        {"GET", "/ws/rest/v1/patient/" + uuid + k, admin},
        {"GET", "/ws/rest/v1/pat" + k + "/" + uuid, admin},
        {"GET", "/ws/atomfeed/patient/1" + k, bearer(k_child_token)},
        {"GET", "/admin/api/failed?state=" + k, admin},
        {"GET", "/admin/api/audit?limit=" + k, admin},
        {"GET", "/admin/api/audit/" + k, admin},
        {"GET", "/admin/api/conflicts?status=" + k, admin},
        {"GET", "/admin/api/conflicts/" + k, admin},
        {"POST", "/admin/api/sync/" + k, admin},
        {"POST", "/admin/api/failed/" + k + "/retry", admin},
        {"GET", "/" + k, admin},
        {"GET", "/healthz?" + k, ""},
    };
    for (const auto& [method, target, auth] : attempts) {
        CAPTURE(method, target);
        const std::string raw = node.exchange(node_under_test::request_text(method, target, node.port, auth,
                                                                            std::string(method) == "PUT" ? R"({"resourceType":"Patient"})" : ""));
        check_one_clean_response(raw);
        CHECK(test::parse_raw_response(raw).status < 500);  // refused or ignored, never a handler's failure
    }

    // Caller text inside resources: a body id, a Bundle entry's URL and If-Match, and a claimed
    // origin, the one thing a response header is made from (X-Edgesync-Origin).
    check_one_clean_response(node.exchange(node_under_test::request_text(
        "POST", "/ws/fhir2/R4/Patient", node.port, admin, R"({"resourceType":"Patient","id":"p9\r\nSet-Cookie: sid=evil"})")));
    const std::string bundle = node.exchange(node_under_test::request_text("POST", "/ws/fhir2/R4", node.port, bearer(k_child_token), R"({
        "resourceType":"Bundle","type":"batch","entry":[
        {"request":{"method":"GET","url":"Patient/p8\r\nSet-Cookie: sid=evil"}},
        {"request":{"method":"PUT","url":"Patient/p8","ifMatch":"W/\"1\"\r\nX-Injected: yes"},"resource":{"resourceType":"Patient","id":"p8"}},
        {"request":{"method":"PUT","url":"Patient/p8","extension":[{"url":"https://edgesync.org/fhir/StructureDefinition/origin","valueString":"evil\r\nSet-Cookie: sid=evil"}]},
         "resource":{"resourceType":"Patient","id":"p8"}}]})"));
    check_one_clean_response(bundle);
    const std::string read_back = node.exchange(node_under_test::request_text("GET", "/ws/fhir2/R4/Patient/p8", node.port, admin));
    check_one_clean_response(read_back);
    const auto p8 = test::parse_raw_response(read_back);
    CHECK(p8.status == 200);
    CHECK(p8.header("X-Edgesync-Origin") == "child");  // the invalid claim is replaced by who sent it
}

TEST_CASE("attack: a handler that echoes caller text into a response header cannot split the response", "[net][security]") {
    asio::io_context ioc;
    auto routes = std::make_shared<net::router>();
    routes->add(http::verb::get, "/echo", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        auto rep = net::reply::text(http::status::created, "made\n");
        rep.headers.set(http::field::location, "/things/" + c.query_param("name").value_or(""));
        co_return rep;
    });
    net::http_server server(ioc.get_executor(), net::server_params{}, routes, nullptr);
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    const auto port = server.local_endpoint().port();
    auto get = [&](const std::string& target) {
        return test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port},
                                                            "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    };
    // The control: an ordinary value is sent as it is.
    CHECK(test::parse_raw_response(get("/echo?name=x1")).header("Location") == "/things/x1");
    for (const std::string& payload : {std::string(k_crlf), std::string("a%0aSet-Cookie:%20sid=evil"), std::string("a%0dSet-Cookie:%20sid=evil")}) {
        CAPTURE(payload);
        const std::string raw = get("/echo?name=" + payload);
        check_one_clean_response(raw);
        auto r = test::parse_raw_response(raw);
        CHECK(r.status == 500);  // a handler bug: refused whole, never sent in part
        CHECK(r.header("Location").empty());
    }
    test::run_until_done(ioc, server.stop(std::chrono::seconds(1)));
}

TEST_CASE("attack: request header values with a bare LF, a NUL or a bare CR are refused before authentication, and a folded line cannot become a header", "[agent][security]") {
    asio::io_context ioc;
    node_under_test node(ioc, R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + "}}");
    const std::string token(k_admin_token);
    const std::string nul(1, '\0');
    const auto handled = node.server->requests_handled();
    const std::vector<std::pair<const char*, std::string>> malformed{
        {"a bare LF ending the Authorization value", "Authorization: Bearer " + token + "\nX-Injected: yes\r\n"},
        {"a bare CR ending the Authorization value", "Authorization: Bearer " + token + "\rX-Injected: yes\r\n"},
        {"a NUL after the token", "Authorization: Bearer " + token + nul + "\r\n"},
        {"a NUL inside the token", "Authorization: Bearer " + token.substr(0, 5) + nul + token.substr(5) + "\r\n"},
        {"a NUL in another header", "X-Edgesync-Origin: clinic" + nul + "evil\r\nAuthorization: Bearer " + token + "\r\n"},
        {"a bare LF in the Host", "X-Forwarded-Host: a\nHost: 127.0.0.9\r\nAuthorization: Bearer " + token + "\r\n"},
    };
    for (const auto& [what, headers] : malformed) {
        CAPTURE(what);
        const std::string raw = node.exchange(node_under_test::request_text("GET", "/admin/api/status", node.port, headers));
        CHECK(test::parse_raw_response(raw).status == 400);
        check_one_clean_response(raw);
    }
    CHECK(node.server->requests_handled() == handled);

    // Obsolete line folding is unfolded into the header it continues (RFC 9112 §5.2): a folded line
    // that looks like an Authorization header is part of X-Note, and authenticates nothing.
    auto folded = node.call("GET", "/admin/api/status", "X-Note: harmless\r\n Authorization: Bearer " + token + "\r\n");
    CHECK(folded.status == 401);
    CHECK(node.server->requests_handled() == handled);
    // The control: the same token, sent plainly, is accepted.
    CHECK(node.call("GET", "/admin/api/status", bearer(token)).status == 200);
}

// ---- 4. duplicate headers ------------------------------------------------------------------------

TEST_CASE("attack: two Authorization headers, whichever of them is valid, are refused with 400 and authenticate nobody", "[agent][security]") {
    asio::io_context ioc;
    node_under_test node(ioc, R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + "}}");
    const auto handled = node.server->requests_handled();
    const std::string admin = bearer(k_admin_token), app = bearer(k_app_token), child = bearer(k_child_token), wrong = bearer("wrong-token");
    const std::vector<std::pair<const char*, std::string>> doubled{
        {"an app's token, then the admin's", app + admin},
        {"the admin's token, then an app's", admin + app},
        {"a wrong token, then the admin's", wrong + admin},
        {"the admin's token, then a wrong one", admin + wrong},
        {"a child's token, then the admin's", child + admin},
        {"the admin's token twice", admin + admin},
        {"the admin's password, then a wrong token", basic("operator", k_operator_password) + wrong},
        {"a wrong token, then the admin's in lower case", wrong + "authorization: Bearer " + std::string(k_admin_token) + "\r\n"},
    };
    for (const auto& [what, headers] : doubled) {
        CAPTURE(what);
        for (const char* target : {"/admin/api/status", "/ws/fhir2/R4/Patient?_id=p1", "/ws/atomfeed/patient/recent"}) {
            CAPTURE(target);
            auto r = node.call("GET", target, headers);
            CHECK(r.status == 400);
            CHECK_THAT(r.body, Catch::Matchers::Contains("Authorization"));
        }
    }
    CHECK(node.server->requests_handled() == handled);
    CHECK(node.call("GET", "/admin/api/status", admin).status == 200);  // the control
}

TEST_CASE("attack: two Host headers are refused with 400, so no link or origin check is made from the other one", "[agent][security]") {
    asio::io_context ioc;
    node_under_test node(ioc, R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + "}}");
    const auto handled = node.server->requests_handled();
    // request_text sends Host: 127.0.0.1:<port> first; the second names a host no socket goes to.
    const std::string other = "Host: 127.0.0.9:1\r\n";
    CHECK(node.call("GET", "/ws/atomfeed/patient/recent", other + bearer(k_child_token)).status == 400);  // feed links come from Host
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient", other + bearer(k_app_token)).status == 400);           // search links too
    CHECK(node.call("GET", "/healthz", other).status == 400);
    // A browser write whose Origin matches the second Host only (the cross-site check reads Host).
    CHECK(node.call("POST", "/admin/api/sync/pull", other + "Origin: http://127.0.0.9:1\r\n" + bearer(k_admin_token)).status == 400);
    CHECK(node.server->requests_handled() == handled);
    CHECK(node.call("GET", "/healthz").status == 200);  // the control
}

// ---- 5. TLS downgrade --------------------------------------------------------------------------

namespace {

void put_u16(std::string& s, std::size_t v) {
    s += static_cast<char>((v >> 8) & 0xff);
    s += static_cast<char>(v & 0xff);
}
unsigned byte_at(const std::string& s, std::size_t i) { return static_cast<unsigned char>(s.at(i)); }
std::size_t u16_at(const std::string& s, std::size_t i) { return (byte_at(s, i) << 8) | byte_at(s, i + 1); }

// A TLS ClientHello as a client from before TLS 1.3 sends it: `version` is the highest it speaks
// (0x0301 TLS 1.0, 0x0302 TLS 1.1, 0x0303 TLS 1.2), `suites` all it offers, with the extensions
// such a client sends to an ECDSA P-256 server (no supported_versions: no TLS 1.3).
std::string client_hello(std::size_t version, const std::vector<std::size_t>& suites) {
    std::string body;
    put_u16(body, version);
    for (int i = 0; i < 32; ++i) body += static_cast<char>(i * 7 + 1);  // client random
    body += '\0';                                                        // no session id
    put_u16(body, (suites.size() + 1) * 2);
    for (auto s : suites) put_u16(body, s);
    put_u16(body, 0x00ff);  // TLS_EMPTY_RENEGOTIATION_INFO_SCSV (not a cipher)
    body += '\x01';
    body += '\0';  // compression: null only
    std::string ext;
    put_u16(ext, 0x000a);  // supported_groups: secp256r1, x25519
    put_u16(ext, 6);
    put_u16(ext, 4);
    put_u16(ext, 0x0017);
    put_u16(ext, 0x001d);
    put_u16(ext, 0x000b);  // ec_point_formats: uncompressed
    put_u16(ext, 2);
    ext += '\x01';
    ext += '\0';
    if (version >= 0x0303) {
        put_u16(ext, 0x000d);  // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
        put_u16(ext, 8);
        put_u16(ext, 6);
        put_u16(ext, 0x0403);
        put_u16(ext, 0x0804);
        put_u16(ext, 0x0401);
    }
    put_u16(body, ext.size());
    body += ext;
    std::string hs("\x01", 1);
    hs += '\0';
    put_u16(hs, body.size());
    hs += body;
    std::string record("\x16\x03\x01", 3);
    put_u16(record, hs.size());
    return record + hs;
}

// The cipher suites a ClientHello record offers.
std::vector<std::size_t> offered_suites(const std::string& hello) {
    std::vector<std::size_t> out;
    std::size_t at = 5 + 4 + 2 + 32;  // record header, handshake header, version, random
    at += 1 + byte_at(hello, at);     // session id
    const std::size_t n = u16_at(hello, at);
    for (std::size_t i = 0; i < n; i += 2) out.push_back(u16_at(hello, at + 2 + i));
    return out;
}

// The record types in `bytes`, a sequence of TLS records (the last one possibly cut short).
std::vector<unsigned> record_types(const std::string& bytes) {
    std::vector<unsigned> out;
    for (std::size_t at = 0; at + 5 <= bytes.size(); at += 5 + u16_at(bytes, at + 3)) out.push_back(byte_at(bytes, at));
    return out;
}

bool is_server_hello(const std::string& record) { return record.size() > 5 && byte_at(record, 0) == 0x16 && byte_at(record, 5) == 0x02; }
std::size_t chosen_suite(const std::string& server_hello) {
    const std::size_t sid = 5 + 4 + 2 + 32;
    return u16_at(server_hello, sid + 1 + byte_at(server_hello, sid));
}

// Sends `hello` to 127.0.0.1:port and returns the first TLS record the server answers with (an
// alert, or the ServerHello), or what came before the server closed the connection.
asio::awaitable<std::string> first_record(asio::io_context& ioc, std::uint16_t port, std::string hello) {
    beast::tcp_stream s(ioc);
    s.expires_after(std::chrono::seconds(10));
    co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(hello), asio::use_awaitable);
    std::string got;
    for (;;) {
        if (got.size() >= 5 && got.size() >= 5 + u16_at(got, 3)) {
            got.resize(5 + u16_at(got, 3));
            break;
        }
        char buf[4096];
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        got.append(buf, n);
        if (ec) break;
    }
    co_return got;
}

// Suites by what they are (IANA numbers).
const std::vector<std::size_t> k_ecdhe_ecdsa_cbc{0xc009, 0xc00a, 0xc023, 0xc024};         // AES-CBC with SHA-1 / SHA-2
const std::vector<std::size_t> k_static_ecdh{0xc004, 0xc005, 0xc025, 0xc026, 0xc02d, 0xc02e};  // ECDH-ECDSA: no forward secrecy
const std::vector<std::size_t> k_rsa_kx{0x002f, 0x0035, 0x003c, 0x009c, 0x009d};            // RSA key exchange
// What a node may offer or accept: AEAD with an ephemeral key exchange, TLS 1.3's suites, the SCSV.
const std::set<std::size_t> k_strong{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca8, 0xcca9,
                                     0x009e, 0x009f, 0xccaa, 0x00ff};

std::string tls_node_config(const test::issued& cert) {
    return R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + R"(, "tls": {"enabled": true, "cert_file": ")" +
           cert.cert_file + R"(", "key_file": ")" + cert.key_file + R"("}}})";
}

}  // namespace

TEST_CASE("attack: a client offering only TLS 1.0 or TLS 1.1 gets no ServerHello from the node's TLS server", "[agent][security][tls]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto cert = pki.issue("node");
    asio::io_context ioc;
    node_under_test node(ioc, tls_node_config(cert));
    // The control: the same hello at TLS 1.2 with a suite the node takes is answered.
    auto ok = test::run_until_done(ioc, first_record(ioc, node.port, client_hello(0x0303, {0xc02b})));
    REQUIRE(is_server_hello(ok));
    CHECK(chosen_suite(ok) == 0xc02b);
    for (std::size_t version : {std::size_t{0x0301}, std::size_t{0x0302}}) {
        CAPTURE(version);
        std::vector<std::size_t> suites = k_ecdhe_ecdsa_cbc;
        suites.push_back(0xc02b);  // even with a strong suite among them
        auto r = test::run_until_done(ioc, first_record(ioc, node.port, client_hello(version, suites)));
        CHECK_FALSE(is_server_hello(r));
        if (!r.empty()) CHECK(byte_at(r, 0) == 0x15);  // an alert, or nothing at all
    }
    CHECK(node.server->requests_handled() == 0);
}

TEST_CASE("attack: a client offering only CBC, static ECDH or RSA key exchange suites gets no ServerHello from the node's TLS server", "[agent][security][tls]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto cert = pki.issue("node");
    asio::io_context ioc;
    node_under_test node(ioc, tls_node_config(cert));
    for (std::size_t good : {std::size_t{0xc02b}, std::size_t{0xc02c}, std::size_t{0xcca9}}) {
        auto ok = test::run_until_done(ioc, first_record(ioc, node.port, client_hello(0x0303, {good})));
        REQUIRE(is_server_hello(ok));
        CHECK(chosen_suite(ok) == good);
    }
    for (const auto* weak : {&k_ecdhe_ecdsa_cbc, &k_static_ecdh, &k_rsa_kx}) {
        CAPTURE(*weak);
        auto r = test::run_until_done(ioc, first_record(ioc, node.port, client_hello(0x0303, *weak)));
        CHECK_FALSE(is_server_hello(r));
        if (is_server_hello(r)) FAIL_CHECK("the node chose suite " << chosen_suite(r));
    }
    CHECK(node.server->requests_handled() == 0);
}

TEST_CASE("attack: plain HTTP with a valid token sent to the node's TLS port reaches no handler and is answered with no data", "[agent][security][tls]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto cert = pki.issue("node");
    asio::io_context ioc;
    node_under_test node(ioc, tls_node_config(cert));
    const std::string raw = node.exchange(node_under_test::request_text("GET", "/admin/api/status", node.port, bearer(k_admin_token)));
    auto r = test::parse_raw_response(raw);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Matchers::Contains("HTTPS"));
    CHECK(raw.find("clinic-sec") == std::string::npos);  // nothing of the status the route would show
    CHECK(raw.find("store") == std::string::npos);
    CHECK(node.server->requests_handled() == 0);
}

namespace {

// A "parent" on 127.0.0.1 that answers one ClientHello with `server_hello` and returns every byte
// the client sent (its hello, and whatever followed until it closed or 5 s passed).
asio::awaitable<std::string> answer_one_hello(tcp::acceptor& acc, std::string server_hello) {
    auto sock = co_await acc.async_accept(asio::use_awaitable);
    beast::tcp_stream s(std::move(sock));
    s.expires_after(std::chrono::seconds(5));
    std::string got;
    while (got.size() < 5 || got.size() < 5 + u16_at(got, 3)) {
        char buf[4096];
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        got.append(buf, n);
        if (ec) co_return got;
    }
    co_await asio::async_write(s, asio::buffer(server_hello), asio::as_tuple(asio::use_awaitable));
    for (;;) {
        char buf[4096];
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        got.append(buf, n);
        if (ec) break;
    }
    co_return got;
}

// A ServerHello record for `version` choosing `suite`, without extensions.
std::string server_hello(std::size_t version, std::size_t suite) {
    std::string body;
    put_u16(body, version);
    for (int i = 0; i < 32; ++i) body += static_cast<char>(i * 5 + 3);
    body += '\0';
    put_u16(body, suite);
    body += '\0';
    std::string hs("\x02", 1);
    hs += '\0';
    put_u16(hs, body.size());
    hs += body;
    std::string record("\x16", 1);
    put_u16(record, version);
    put_u16(record, hs.size());
    return record + hs;
}

// The parent link exactly as a node makes it from its config: https to 127.0.0.1:port, the test
// CA trusted, a bearer token.
agent::parent_link parent_link_to(asio::io_context& ioc, std::uint16_t port, const std::string& ca_file, const std::string& token) {
    auto loaded = config::parse_config(R"({"instance_id": "clinic-sec", "parent": {"url": "https://127.0.0.1:)" + std::to_string(port) +
                                           R"(/openmrs", "token": ")" + token + R"(", "tls": {"ca_file": ")" + ca_file + R"("}}})",
                                       "/tmp");
    INFO(all_problems(loaded));
    REQUIRE(loaded.config);
    std::string why;
    auto link = agent::make_parent_link(ioc.get_executor(), *loaded.config, why);
    INFO(why);
    REQUIRE(link);
    return std::move(*link);
}

}  // namespace

TEST_CASE("attack: a parent that answers with TLS 1.1, or with a CBC suite, gets no request and no token from the sync client", "[agent][security][tls]") {
    test::temp_dir dir;
    test::test_pki pki(dir);
    const std::string token = "parent-T0ken-0d9c7b";
    for (const auto& [what, hello] : {std::pair{"TLS 1.1", server_hello(0x0302, 0xc00a)}, std::pair{"TLS 1.2 with AES-CBC", server_hello(0x0303, 0xc009)}}) {
        CAPTURE(what);
        asio::io_context ioc;
        tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        auto link = parent_link_to(ioc, acc.local_endpoint().port(), pki.ca_file(), token);
        std::optional<boost::system::result<net::client_response>> result;
        net::client_request req;
        req.url = "https://127.0.0.1:" + std::to_string(acc.local_endpoint().port()) + "/openmrs/ws/atomfeed/patient/recent";
        req.authorization = link.authorization;
        asio::co_spawn(ioc, link.client->request(req), [&](std::exception_ptr, boost::system::result<net::client_response> r) { result = std::move(r); });
        const std::string sent = test::run_until_done(ioc, answer_one_hello(acc, hello));
        REQUIRE(test::run_until(ioc, [&] { return result.has_value(); }, std::chrono::seconds(10)));
        REQUIRE_FALSE(*result);
        CHECK(result->error() == net::errc::tls_handshake_failed);
        // What the client sent: its hello, offering nothing weak, then at most an alert.
        const auto types = record_types(sent);
        REQUIRE_FALSE(types.empty());
        CHECK(types.front() == 0x16);
        for (std::size_t i = 1; i < types.size(); ++i) CHECK(types[i] == 0x15);
        for (auto s : offered_suites(sent)) {
            CAPTURE(s);
            CHECK(k_strong.count(s) == 1);
        }
        CHECK(sent.find(token) == std::string::npos);
        link.client.reset();
    }
}

namespace {

struct openssl_result {
    bool established = false;
    std::string output;
};

// openssl s_client against 127.0.0.1:port with `flags`, run on a thread while `ioc` serves.
openssl_result s_client(asio::io_context& ioc, const test::temp_dir& dir, std::uint16_t port, std::vector<std::string> flags) {
    std::vector<std::string> argv{test::find_program("openssl"), "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-brief"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::atomic<bool> done{false};
    test::command_result r;
    std::thread t([&] {
        r = test::run_command(argv, dir.file("s_client.out"), std::chrono::seconds(30));
        done = true;
    });
    test::run_until(ioc, [&] { return done.load(); }, std::chrono::seconds(40));
    t.join();
    return {r.output.find("CONNECTION ESTABLISHED") != std::string::npos, r.output};
}

}  // namespace

TEST_CASE("attack: OpenSSL as an old or weak TLS peer: s_client with TLS 1.0, TLS 1.1 or CBC suites against the node, s_server with them against the sync client", "[agent][security][tls][external]") {
    REQUIRE_FALSE(test::find_program("openssl").empty());
    test::temp_dir dir;
    test::test_pki pki(dir);
    const auto cert = pki.issue("node");
    const std::string weak_tls12 = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384";
    {
        asio::io_context ioc;
        node_under_test node(ioc, tls_node_config(cert));
        for (const auto& flags : std::vector<std::vector<std::string>>{{"-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"},
                                                                       {"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"},
                                                                       {"-tls1_2", "-cipher", weak_tls12}}) {
            CAPTURE(flags);
            auto r = s_client(ioc, dir, node.port, flags);
            INFO(r.output);
            CHECK_FALSE(r.established);
        }
        // The controls: TLS 1.2 and 1.3 with OpenSSL's defaults are accepted.
        for (const char* v : {"-tls1_2", "-tls1_3"}) {
            auto r = s_client(ioc, dir, node.port, {v, "-CAfile", pki.ca_file()});
            INFO(r.output);
            CHECK(r.established);
        }
        CHECK(node.server->requests_handled() == 0);
    }

    // The sync client against s_server speaking only TLS 1.1, or TLS 1.2 with CBC suites only.
    const std::string token = "parent-T0ken-0d9c7b";
    for (const auto& flags : std::vector<std::vector<std::string>>{{"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"},
                                                                   {"-tls1_2", "-cipher", weak_tls12},
                                                                   {}}) {
        CAPTURE(flags);
        const bool control = flags.empty();  // s_server's defaults: the client gets through
        const auto port = test::free_loopback_port();
        std::vector<std::string> argv{"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert", cert.cert_file,
                                      "-key", cert.key_file, "-www"};
        argv.insert(argv.end(), flags.begin(), flags.end());
        test::child_process server(argv, dir.file("s_server.out"));
        REQUIRE(test::wait_for_port(port, std::chrono::seconds(20)));
        asio::io_context ioc;
        {
            // s_server really speaks what it was told: OpenSSL's own client gets through.
            auto r = s_client(ioc, dir, port, control ? std::vector<std::string>{} : flags);
            INFO(r.output);
            CHECK(r.established);
        }
        auto link = parent_link_to(ioc, port, pki.ca_file(), token);
        net::client_request req;
        req.url = "https://127.0.0.1:" + std::to_string(port) + "/";
        req.authorization = link.authorization;
        auto res = test::run_until_done(ioc, link.client->request(req));
        if (control) {
            REQUIRE(res);
            CHECK(res->status == 200);
        } else {
            REQUIRE_FALSE(res);
            CHECK(res.error() == net::errc::tls_handshake_failed);
        }
        link.client.reset();
        server.terminate();
    }
}

// ---- 6. credentials never logged ------------------------------------------------------------------

TEST_CASE("attack: tokens, passwords and Authorization values, good and bad, sent to a node and used for its parent never reach its log", "[agent][security]") {
    test::temp_dir tmp;
    const std::string parent_user = "clinic-sec-7", parent_password = "Par3nt-Passw0rd-e61b";
    // The parent: an OpenMRS stand-in (HTTP Basic) on a thread of its own.
    asio::io_context pioc;
    test::openmrs_double openmrs(pioc, parent_user, parent_password);
    openmrs.categories["patient"] = {"Patient", ""};
    openmrs.categories["observation"] = {"Observation", ""};
    openmrs.seed_fhir("Patient", "pat-1", json::parse(R"({"resourceType":"Patient","id":"pat-1","name":[{"family":"Wanjiru"}]})"));
    openmrs.add_event("patient", "Patient", R"({"fhir":"/openmrs/ws/fhir2/R4/Patient/pat-1"})");
    test::io_thread parent_loop(pioc);

    // The node, logging everything it can (trace), with its parent's password inline.
    const auto port = test::free_loopback_port();
    const std::string config_file = tmp.write("edgesync.jsonc", R"({"instance_id": "clinic-sec", "data_dir": "data", "log": {"level": "trace"},
  "server": {"listen": "127.0.0.1:)" + std::to_string(port) + R"(", "users": )" + users_json() + R"(},
  "parent": {"url": ")" + openmrs.base_url() + R"(", "username": ")" + parent_user + R"(", "password": ")" + parent_password + R"("},
  "pull": {"interval": "1h", "categories": ["patient"]},
  "push": {"interval": "1h", "categories": ["observation"]},
  "retry": {"backoff_initial": "1h", "backoff_max": "2h"}})");
    test::child_process node(node_command(config_file), tmp.file("node.out"));
    REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
    auto runs = [&](const std::string& direction) {
        const std::string out = node.output();
        std::size_t n = 0;
        for (auto at = out.find("event=sync_run direction=" + direction); at != std::string::npos; at = out.find("event=sync_run direction=" + direction, at + 1)) ++n;
        return n;
    };
    auto wait_for_runs = [&](const std::string& direction, std::size_t n) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (runs(direction) < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return runs(direction) >= n;
    };
    // The start-up runs of both directions.
    REQUIRE(wait_for_runs("pull", 1));
    REQUIRE(wait_for_runs("push", 1));

    // Callers with good and bad credentials, in every form the node reads them.
    const std::string wrong_password = "Wr0ng-Passw0rd-5aa1", wrong_token = "Wr0ng-T0ken-93fe";
    CHECK(call_process(port, "GET", "/ws/fhir2/R4/Patient/pat-1", bearer(k_app_token)).status == 200);
    CHECK(call_process(port, "GET", "/ws/fhir2/R4/Patient/pat-1", bearer(wrong_token)).status == 401);
    CHECK(call_process(port, "GET", "/admin/api/status", basic("operator", k_operator_password)).status == 200);
    CHECK(call_process(port, "GET", "/admin/api/status", basic("operator", wrong_password)).status == 401);
    CHECK(call_process(port, "GET", "/admin/api/status", basic(wrong_token, wrong_password)).status == 401);
    CHECK(call_process(port, "GET", "/admin/api/status", bearer(k_child_token)).status == 403);
    CHECK(call_process(port, "GET", "/admin/api/status", "Authorization: Basic " + net::base64_encode(wrong_token) + "\r\n").status == 401);
    CHECK(call_process(port, "GET", "/admin/api/status", "Authorization: " + std::string(k_admin_token) + "\r\n").status == 401);
    CHECK(call_process(port, "GET", "/ws/fhir2/R4/Patient?_id=pat-1&access_token=" + wrong_token, bearer(k_lab_token)).status == 403);
    CHECK(call_process(port, "GET", "/ws/atomfeed/patient/recent", bearer(k_child_token) + bearer(k_admin_token)).status == 400);
    CHECK(call_process(port, "PUT", "/ws/fhir2/R4/Observation/obs-1", bearer(k_app_token),
                       R"({"resourceType":"Observation","id":"obs-1","status":"final","code":{"text":"Hb"}})").status == 201);
    // A pull and a push with the parent's credentials, then both refused by the parent (401) and
    // failing on it (500).
    CHECK(call_process(port, "POST", "/admin/api/sync/push", bearer(k_admin_token)).status == 202);
    CHECK(call_process(port, "POST", "/admin/api/sync/pull", bearer(k_admin_token)).status == 202);
    REQUIRE(wait_for_runs("pull", 2));
    REQUIRE(wait_for_runs("push", 2));
    parent_loop.run_there([&] {
        openmrs.add_event("patient", "Patient", R"({"fhir":"/openmrs/ws/fhir2/R4/Patient/pat-1"})");
        openmrs.fail_status = 401;
        openmrs.fail_next = 1000;
    });
    CHECK(call_process(port, "POST", "/admin/api/sync/pull", basic("operator", k_operator_password)).status == 202);
    REQUIRE(wait_for_runs("pull", 3));
    parent_loop.run_there([&] { openmrs.fail_status = 500; });
    CHECK(call_process(port, "POST", "/admin/api/sync/pull", basic("operator", k_operator_password)).status == 202);
    REQUIRE(wait_for_runs("pull", 4));
    parent_loop.run_there([&] { openmrs.fail_next = 0; });
    ::kill(node.pid(), SIGTERM);
    REQUIRE(node.wait(std::chrono::seconds(30)) == 0);

    const std::string log = node.output();
    INFO(log);
    // The log saw all of it ...
    CHECK_THAT(log, Catch::Matchers::Contains("event=http_auth_failed"));
    CHECK_THAT(log, Catch::Matchers::Contains("event=http_forbidden"));
    CHECK_THAT(log, Catch::Matchers::Contains("event=http_request"));
    CHECK_THAT(log, Catch::Matchers::Contains("event=sync_run direction=pull") && Catch::Matchers::Contains("error=\"\""));
    CHECK_THAT(log, Catch::Matchers::Contains("event=sync_run_stopped"));
    bool pulled = false;
    parent_loop.run_there([&] {
        for (const auto& r : openmrs.requests()) pulled = pulled || r.target == "/openmrs/ws/fhir2/R4/Patient/pat-1";
    });
    CHECK(pulled);
    // ... and holds no secret, in any encoding a header carries it.
    const std::vector<std::string> secrets{k_admin_token, k_child_token, k_app_token, k_lab_token, k_operator_password, wrong_password,
                                           wrong_token, parent_password, net::sha256_hex(k_admin_token),
                                           net::base64_encode(parent_user + ":" + parent_password),
                                           net::base64_encode(std::string("operator:") + k_operator_password),
                                           net::base64_encode("operator:" + wrong_password), net::base64_encode(wrong_token)};
    for (const auto& s : secrets) {
        CAPTURE(s);
        CHECK(log.find(s) == std::string::npos);
    }
    CHECK(lower(log).find("authorization:") == std::string::npos);
    CHECK(log.find("Bearer ") == std::string::npos);
    CHECK(log.find("Basic ") == std::string::npos);
}

// ---- 7. config file permissions ---------------------------------------------------------------------

TEST_CASE("attack: a config file holding a secret that other users can read, or any config other users can write, stops the node before it starts", "[agent][security][config]") {
    test::temp_dir tmp;
    const auto port = test::free_loopback_port();
    const std::string with_secret = R"({"instance_id": "clinic-sec", "data_dir": "data",
  "server": {"listen": "127.0.0.1:)" + std::to_string(port) + R"(", "users": )" + users_json() + R"(},
  "parent": {"url": "http://127.0.0.1:1/openmrs", "token": "parent-T0ken-0d9c7b"}, "pull": {"interval": "1h"}, "push": {"interval": "1h"}})";
    const std::string without_secret = R"({"instance_id": "clinic-sec", "data_dir": "data",
  "server": {"listen": "127.0.0.1:)" + std::to_string(port) + R"(", "users": )" + users_json() + "}}";
    auto run = [&](const std::string& file) { return test::run_command(node_command(file), tmp.file("node.out"), std::chrono::seconds(30)); };
    auto check_config = [&](const std::string& file) {
        auto argv = test::own_program(EDGESYNC_BINARY);
        argv.insert(argv.end(), {"check-config", file});
        return test::run_command(argv, tmp.file("check.out"), std::chrono::seconds(30));
    };

    struct refused_case {
        const char* what;
        const std::string* text;
        unsigned mode;
        const char* mode_text;
    };
    for (const auto& c : {refused_case{"an inline token, readable by all", &with_secret, 0644, "0644"},
                          refused_case{"an inline token, readable by others only", &with_secret, 0604, "0604"},
                          refused_case{"no secret, but writable by all", &without_secret, 0666, "0666"},
                          refused_case{"no secret, writable by others only", &without_secret, 0602, "0602"}}) {
        CAPTURE(c.what);
        const std::string file = tmp.write("edgesync.jsonc", *c.text, c.mode);
        struct stat sb {};
        REQUIRE(::stat(file.c_str(), &sb) == 0);
        REQUIRE((sb.st_mode & 07777) == c.mode);
        auto loaded = config::load_config_file(file);
        CHECK_FALSE(loaded.config);
        INFO(all_problems(loaded));
        auto r = run(file);
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK_THAT(r.output, Catch::Matchers::Contains(file) && Catch::Matchers::Contains(c.mode_text) &&
                                 Catch::Matchers::Contains("chmod 600 " + file) && Catch::Matchers::Contains("not starting"));
        CHECK(r.output.find("parent-T0ken-0d9c7b") == std::string::npos);  // naming the problem, not the secret
        CHECK_FALSE(std::filesystem::exists(tmp.file("data")));  // refused before touching anything
        CHECK(check_config(file).status == 1);
    }

    // What an implementer writes: 0600, or root:edgesync 0640 (the package's). A config without
    // inline secrets may be world-readable (its users hold only hashes and digests).
    for (const auto& [text, mode] : {std::pair{&with_secret, 0600u}, std::pair{&with_secret, 0640u}, std::pair{&without_secret, 0644u}}) {
        CAPTURE(mode);
        const std::string file = tmp.write("edgesync.jsonc", *text, mode);
        auto loaded = config::load_config_file(file);
        INFO(all_problems(loaded));
        CHECK(loaded.config);
        CHECK(check_config(file).status == 0);
    }
    // ... and the node starts on the first.
    const std::string file = tmp.write("edgesync.jsonc", with_secret, 0600);
    test::child_process node(node_command(file), tmp.file("node.out"));
    CHECK(test::wait_for_port(port, std::chrono::seconds(60)));
    node.terminate();
}

TEST_CASE("attack: a secret file other users can read or write stops the node before it starts", "[agent][security][config]") {
    test::temp_dir tmp;
    for (const auto& [mode, refused] : {std::pair{0644u, true}, std::pair{0604u, true}, std::pair{0602u, true}, std::pair{0640u, false}, std::pair{0600u, false}}) {
        CAPTURE(mode);
        const std::string token_file = tmp.write("parent.token", "parent-T0ken-0d9c7b\n", mode);
        const std::string file = tmp.write("edgesync.jsonc", R"({"instance_id": "clinic-sec", "data_dir": "data",
  "parent": {"url": "http://127.0.0.1:1/openmrs", "token_file": ")" + token_file + R"("}})", 0644);
        auto loaded = config::load_config_file(file);
        INFO(all_problems(loaded));
        CHECK(loaded.config.has_value() == !refused);
        const auto p = std::find_if(loaded.problems.begin(), loaded.problems.end(), [](const config::problem& q) { return q.path == "$.parent.token_file"; });
        if (refused) {
            REQUIRE(p != loaded.problems.end());
            CHECK(p->level == config::problem::severity::error);
            CHECK_THAT(p->message, Catch::Matchers::Contains(token_file) && Catch::Matchers::Contains("chmod 600 " + token_file));
        } else {
            CHECK(p == loaded.problems.end());
        }
    }
}

// ---- 8. no caller-chosen URL gets the node's credentials -------------------------------------------

namespace {

// What an attacker's listener on 127.0.0.1 saw: connections, and any Authorization header.
bool saw_authorization(const test::canned_server& s) {
    for (const auto& r : s.requests())
        if (lower(r).find("\nauthorization:") != std::string::npos) return true;
    return false;
}

// A pull of `categories` from the parent at `parent_url`, as the node runs one: the parent link
// from a config naming that URL with HTTP Basic credentials, the OpenMRS backend over it.
struct child_of {
    asio::io_context& ioc;
    test::api_node node;
    agent::parent_link link;
    std::unique_ptr<backend::local_backend> parent;

    child_of(asio::io_context& io, const std::string& parent_url, const std::string& user, const std::string& password)
        : ioc(io), node(io, "clinic-sec") {
        auto loaded = config::parse_config(R"({"instance_id": "clinic-sec", "parent": {"url": ")" + parent_url + R"(", "username": ")" + user +
                                               R"(", "password": ")" + password + R"("}})",
                                           "/tmp");
        INFO(all_problems(loaded));
        REQUIRE(loaded.config);
        std::string why;
        auto l = agent::make_parent_link(io.get_executor(), *loaded.config, why);
        INFO(why);
        REQUIRE(l);
        link = std::move(*l);
        backend::openmrs_params pp;
        pp.base_url = loaded.config->parent.url;
        pp.authorization = link.authorization;
        pp.peer = "parent";
        parent = backend::make_openmrs_backend(*link.client, node.st(), pp);
    }
    sync::replicate_result run(const char* direction, std::vector<std::string> categories) {
        sync::replicate_params p;
        p.direction = direction;
        p.peer = "parent";
        p.node_id = "clinic-sec";
        for (auto& c : categories) p.categories.push_back({c, "fhir"});
        p.retry.max_attempts = 1;
        if (std::string(direction) == "pull") return test::run_until_done(ioc, sync::replicate(*parent, node.local(), node.st(), p));
        return test::run_until_done(ioc, sync::replicate(node.local(), *parent, node.st(), p));
    }
};

}  // namespace

TEST_CASE("attack: Bundle entries whose URLs name another host are answered from the node's own store and send nothing to that host", "[agent][security]") {
    asio::io_context ioc;
    test::canned_server attacker(ioc);
    node_under_test node(ioc, R"({"instance_id": "clinic-sec", "server": {"users": )" + users_json() + "}}");
    const std::string elsewhere = "http://127.0.0.1:" + std::to_string(attacker.port());
    REQUIRE(node.call("PUT", "/ws/fhir2/R4/Patient/p1", bearer(k_app_token), R"({"resourceType":"Patient","id":"p1","gender":"female"})").status == 201);
    auto r = node.call("POST", "/ws/fhir2/R4", bearer(k_child_token), R"({"resourceType":"Bundle","type":"batch","entry":[
        {"request":{"method":"GET","url":")" + elsewhere + R"(/ws/fhir2/R4/Patient/p1"}},
        {"fullUrl":")" + elsewhere + R"(/ws/fhir2/R4/Patient/p2","request":{"method":"PUT","url":")" + elsewhere + R"(/ws/fhir2/R4/Patient/p2"},
         "resource":{"resourceType":"Patient","id":"p2"}},
        {"request":{"method":"GET","url":")" + elsewhere + R"(/openmrs/ws/fhir2/R4/Patient/p1"}},
        {"request":{"method":"GET","url":")" + elsewhere + R"(/metadata"}},
        {"request":{"method":"DELETE","url":")" + elsewhere + R"(/Patient/p1"}}]})");
    REQUIRE(r.status == 200);
    const auto entries = json::parse(r.body).at("entry").as_array();
    REQUIRE(entries.size() == 5);
    CHECK(entries[0].at("resource").at("gender") == "female");  // this node's Patient/p1
    CHECK(entries[1].at("response").at("status") == "201 Created");
    CHECK(entries[2].at("resource").at("id") == "p1");
    CHECK(std::string(entries[3].at("response").at("status").as_string()).substr(0, 1) == "4");
    CHECK(std::string(entries[4].at("response").at("status").as_string()).substr(0, 1) == "4");
    test::run_until(ioc, [] { return false; }, std::chrono::milliseconds(300));
    CHECK(attacker.connections() == 0);
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p1", bearer(k_app_token)).status == 200);  // not deleted
}

TEST_CASE("attack: a feed whose page links and entry links name an attacker's host: the child fetches only from its configured parent, and the attacker sees nothing", "[agent][security]") {
    asio::io_context ioc;
    test::canned_server attacker(ioc);
    const std::string user = "clinic-sec-7", password = "Par3nt-Passw0rd-e61b";
    test::openmrs_double openmrs(ioc, user, password);
    openmrs.categories["patient"] = {"Patient", "patient"};
    const std::string elsewhere = "http://127.0.0.1:" + std::to_string(attacker.port());
    openmrs.feed_origin = elsewhere;  // every self, via, prev-archive and next-archive href names the attacker
    openmrs.page_size = 2;
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        const std::string id = "pat-" + std::to_string(i);
        ids.push_back(id);
        openmrs.seed_fhir("Patient", id, json::parse(R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":"Otieno"}]})"));
    }
    // Entry links in each form a feed carries them, absolute and naming the attacker.
    openmrs.add_event("patient", "Patient", R"({"fhir":")" + elsewhere + R"(/openmrs/ws/fhir2/R4/Patient/pat-0"})");
    openmrs.add_event("patient", "Patient", R"({"fhir":")" + elsewhere + R"(/ws/fhir2/R4/Patient/pat-1","rest":")" + elsewhere + R"(/openmrs/ws/rest/v1/patient/pat-1?v=full"})");
    openmrs.add_event("patient", "Patient", elsewhere + "/openmrs/ws/fhir2/R4/Patient/pat-2");  // one URL, Bahmni style
    openmrs.add_event("patient", "Patient", R"({"fhir":"//127.0.0.1:)" + std::to_string(attacker.port()) + R"(/openmrs/ws/fhir2/R4/Patient/pat-3"})");
    openmrs.add_event("patient", "Patient", R"({"fhir":"/openmrs/ws/fhir2/R4/Patient/pat-4"})");

    child_of child(ioc, openmrs.base_url(), user, password);
    auto result = child.run("pull", {"patient"});
    INFO(result.detail);
    CHECK_FALSE(result.error);
    test::run_until(ioc, [] { return false; }, std::chrono::milliseconds(300));
    CHECK(attacker.connections() == 0);
    // Everything came from the configured parent, which the child did call with its credentials.
    for (const auto& id : ids) {
        CAPTURE(id);
        CHECK(child.node.call("GET", "/ws/fhir2/R4/Patient/" + id).status == 200);
    }
    std::size_t feed_pages = 0;
    for (const auto& r : openmrs.requests())
        if (starts_with(r.target, "/openmrs/ws/atomfeed/patient/")) ++feed_pages;
    CHECK(feed_pages >= 3);  // the walk followed prev-archive and next-archive, rebased onto the parent
    child.link.client.reset();
}

TEST_CASE("attack: a parent that redirects the child to another origin never gets the child's credentials sent there", "[agent][security]") {
    asio::io_context ioc;
    test::canned_server attacker(ioc), parent(ioc);
    const std::string user = "clinic-sec-7", password = "Par3nt-Passw0rd-e61b";
    const std::string elsewhere = "http://127.0.0.1:" + std::to_string(attacker.port());
    // The feed read, then a push's write: each answered with a redirect to the attacker, who
    // answers what it gets with 404.
    for (const char* status : {"302 Found", "307 Temporary Redirect", "308 Permanent Redirect", "301 Moved Permanently"}) {
        parent.push({"HTTP/1.1 " + std::string(status) + "\r\nLocation: " + elsewhere + "/openmrs/ws/atomfeed/patient/recent\r\nContent-Length: 0\r\n\r\n"});
        attacker.push({"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"});
    }
    child_of child(ioc, "http://127.0.0.1:" + std::to_string(parent.port()) + "/openmrs", user, password);
    for (int i = 0; i < 2; ++i) {
        auto r = child.run("pull", {"patient"});
        CHECK(r.error);  // the attacker's 404: no feed, the run stops
    }
    REQUIRE(child.node.call("PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Patient","id":"p1","gender":"female"})").status == 201);
    for (int i = 0; i < 2; ++i) child.run("push", {"patient"});
    test::run_until(ioc, [&] { return attacker.requests().size() >= 2; }, std::chrono::seconds(5));

    // The parent was asked with the credentials; the attacker was reached, but without them.
    REQUIRE_FALSE(parent.requests().empty());
    CHECK_THAT(parent.requests().front(), Catch::Matchers::Contains("Authorization: " + net::basic_authorization(user, password)));
    CHECK(attacker.requests().size() >= 2);
    CHECK_FALSE(saw_authorization(attacker));
    for (const auto& r : attacker.requests()) {
        CAPTURE(r);
        CHECK(r.find(net::basic_authorization(user, password).substr(6)) == std::string::npos);
        CHECK(r.find(password) == std::string::npos);
    }
    child.link.client.reset();
}
