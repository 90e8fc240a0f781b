// The operator's page at /admin/, driven in a real browser: Debian's Chromium, headless, through
// its ChromeDriver (the W3C WebDriver protocol over HTTP on 127.0.0.1). A node pushes to an
// OpenMRS stand-in that refuses one Observation (its Patient is missing there); the test signs in
// on the page, finds that failed event, has the Patient appear upstream, clicks "Retry now" and
// watches the row change and then leave. Screenshots land in the test's working directory
// (admin_page_failed.png, admin_page_retried.png, admin_page_status.png) for a person to look at.
//
// Chromium is kept on loopback: every host name resolves to nothing except 127.0.0.1, any other
// connection would go to a proxy that does not exist, and background services are off.
#include "net/auth.hpp"
#include "support/canned_server.hpp"
#include "support/openmrs_double.hpp"
#include "support/process.hpp"
#include "support/io_thread.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <future>
#include <thread>

using namespace edgesync;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

test::raw_response http_call(std::uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
                             const std::string& authorization = "") {
    asio::io_context ioc;
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n";
    if (!authorization.empty()) req += "Authorization: " + authorization + "\r\n";
    if (!body.empty() || method == "POST") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    return test::parse_raw_response(test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, req)));
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pred();
}

// A WebDriver session with one Chromium. Every call is one HTTP exchange with ChromeDriver; a
// WebDriver error (an element not found, a script that threw) fails the test with its message.
class browser {
public:
    browser(test::temp_dir& tmp) : port_(test::free_loopback_port()) {
        const std::string driver = test::find_program("chromedriver");
        INFO("chromedriver (Debian package chromium-driver) is needed; cross/deps.sh installs it");
        REQUIRE_FALSE(driver.empty());
        driver_ = std::make_unique<test::child_process>(
            std::vector<std::string>{driver, "--port=" + std::to_string(port_), "--allowed-ips=127.0.0.1", "--log-path=" + tmp.file("chromedriver.log")},
            tmp.file("chromedriver.out"));
        REQUIRE(test::wait_for_port(port_, std::chrono::seconds(30)));
        json::array args{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                         "--user-data-dir=" + tmp.file("chromium-profile"), "--no-first-run", "--no-default-browser-check",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                         "--disable-extensions", "--disable-domain-reliability", "--metrics-recording-only",
                         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
                         "--proxy-bypass-list=127.0.0.1"};
        json::object chrome{{"args", std::move(args)}};
        if (auto bin = test::find_program("chromium"); !bin.empty()) chrome["binary"] = bin;
        json::object caps{{"capabilities", json::object{{"alwaysMatch", json::object{{"browserName", "chrome"}, {"goog:chromeOptions", std::move(chrome)}}}}}};
        auto v = call("POST", "/session", caps);
        session_ = std::string(v.at("sessionId").as_string());
    }
    ~browser() {
        if (!session_.empty()) {
            try {
                raw("DELETE", "/session/" + session_, "");
            } catch (...) {
            }
        }
        driver_->terminate();
    }

    void go(const std::string& url) { call("POST", s("/url"), json::object{{"url", url}}); }
    std::string find(const std::string& css) {
        auto v = call("POST", s("/element"), json::object{{"using", "css selector"}, {"value", css}});
        return std::string(v.at("element-6066-11e4-a52e-4f735466cecf").as_string());
    }
    void type(const std::string& css, const std::string& text) { call("POST", s("/element/" + find(css) + "/value"), json::object{{"text", text}}); }
    void click(const std::string& css) { call("POST", s("/element/" + find(css) + "/click"), json::object{}); }
    // Runs `script` (a function body) in the page and returns what it returns.
    json::value js(const std::string& script) { return call("POST", s("/execute/sync"), json::object{{"script", script}, {"args", json::array{}}}); }
    // Polls a script until it returns true.
    bool wait_for(const std::string& script, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        return eventually([&] { return js(script) == true; }, limit);
    }
    // The page as a PNG file.
    std::string screenshot(const std::string& file) {
        auto v = call("GET", s("/screenshot"), nullptr);
        auto png = net::base64_decode(v.as_string());
        REQUIRE(png);
        std::ofstream(file, std::ios::binary) << *png;
        return *png;
    }

private:
    std::string s(const std::string& path) const { return "/session/" + session_ + path; }
    json::value call(const std::string& method, const std::string& path, const json::value& body) {
        auto r = raw(method, path, body.is_null() ? "" : json::serialize(body));
        json::value v = json::parse(r.body);
        INFO(method << " " << path << " answered " << r.status << ": " << r.body.substr(0, 2000));
        REQUIRE(r.status == 200);
        return v.at("value");
    }
    // ChromeDriver keeps connections open whatever the request says, so this reads by the
    // response's own framing (Beast, blocking, with a socket timeout) rather than until close.
    test::raw_response raw(const std::string& method, const std::string& path, const std::string& body) {
        namespace http = boost::beast::http;
        asio::io_context ioc;
        asio::ip::tcp::socket sock(ioc);
        sock.connect({asio::ip::make_address("127.0.0.1"), port_});
        const timeval limit{120, 0};  // a browser start or a page load, never a hang
        ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        http::request<http::string_body> req{http::string_to_verb(method), path, 11};
        req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
        if (method != "GET" && method != "DELETE") {
            req.set(http::field::content_type, "application/json");
            req.body() = body;
            req.prepare_payload();
        }
        http::write(sock, req);
        boost::beast::flat_buffer buf;
        http::response<http::string_body> res;
        http::read(sock, buf, res);
        test::raw_response out;
        out.status = static_cast<int>(res.result_int());
        out.body = std::move(res.body());
        return out;
    }

    std::uint16_t port_;
    std::unique_ptr<test::child_process> driver_;
    std::string session_;
};

}  // namespace

TEST_CASE("the admin page in Chromium: sign in, see the failed event, retry it and watch its row change and go", "[agent][admin][browser]") {
    test::temp_dir tmp;
    // The parent: an OpenMRS stand-in on its own thread, which refuses an Observation whose
    // Patient it does not hold.
    asio::io_context ioc;
    test::openmrs_double openmrs(ioc);
    openmrs.categories["observation"] = {"Observation", ""};
    test::io_thread parent_loop(ioc);

    // The node: pushes only, an hour between runs and between retries, so nothing but the
    // operator's click retries the event.
    const std::uint16_t port = test::free_loopback_port();
    const std::string password = "correct horse battery staple";
    const std::string cfg = R"({"instance_id": "clinic", "data_dir": "data",
  "server": {"listen": "127.0.0.1:)" + std::to_string(port) + R"(", "users": [
    {"name": "operator", "password_hash": ")" + net::hash_password(password, 10'000) + R"(", "roles": ["admin"]},
    {"name": "app", "token_sha256": ")" + net::sha256_hex("app-token") + R"(", "roles": ["local-app"]}]},
  "parent": {"url": ")" + openmrs.base_url() + R"(", "username": "admin", "password": "Admin123"},
  "pull": {"enabled": false},
  "push": {"enabled": true, "interval": "1h", "categories": ["observation"]},
  "retry": {"backoff_initial": "1h", "backoff_max": "2h"}}
)";
    const auto config_file = tmp.write("edgesync.jsonc", cfg);
    auto argv = test::own_program(EDGESYNC_BINARY);
    argv.insert(argv.end(), {"run", "-c", config_file});
    test::child_process node(argv, tmp.file("node.out"));
    REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
    const auto admin = net::basic_authorization("operator", password);
    REQUIRE(http_call(port, "PUT", "/ws/fhir2/R4/Observation/obs-7",
                      R"({"resourceType":"Observation","id":"obs-7","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/pat-7"},"valueQuantity":{"value":61.5,"unit":"kg"}})",
                      "Bearer app-token")
                .status == 201);
    REQUIRE(http_call(port, "POST", "/admin/api/sync/push", "", admin).status == 202);
    REQUIRE(eventually([&] {
        auto r = http_call(port, "GET", "/admin/api/failed", "", admin);
        return r.status == 200 && json::parse(r.body).at("failed").as_array().size() == 1;
    }, std::chrono::seconds(30)));

    browser b(tmp);
    const std::string page = "http://127.0.0.1:" + std::to_string(port) + "/admin/";
    b.go(page);
    REQUIRE(b.wait_for("return !document.querySelector('#login').hidden;"));
    // A wrong password is refused on the page itself (no browser dialog, no way in).
    b.type("#login-user", "operator");
    b.type("#login-secret", "wrong");
    b.click("#login-submit");
    REQUIRE(b.wait_for("return document.querySelector('#login-error').textContent.length > 0;"));
    CHECK_THAT(std::string(b.js("return document.querySelector('#login-error').textContent;").as_string()),
               Catch::Matchers::Contains("does not know these credentials"));
    CHECK(b.js("return document.querySelector('#app').hidden;") == true);

    b.js("document.querySelector('#login-secret').value = ''; return true;");
    b.type("#login-secret", password);
    b.click("#login-submit");
    REQUIRE(b.wait_for("return !document.querySelector('#app').hidden;"));
    CHECK(b.js("return document.querySelector('#node-name').textContent;") == "node clinic");
    CHECK(b.wait_for("return document.querySelector('#badge-failed').textContent === '1';"));

    b.click("nav button[data-tab=failed]");
    REQUIRE(b.wait_for("return document.querySelectorAll('#failed tbody tr[data-failed-id]').length === 1;"));
    const std::string row = std::string(b.js("return document.querySelector('#failed tbody tr').innerText;").as_string());
    INFO("the row: " << row);
    CHECK_THAT(row, Catch::Matchers::Contains("push") && Catch::Matchers::Contains("observation") && Catch::Matchers::Contains("obs-7") &&
                        Catch::Matchers::Contains("Patient/pat-7 does not exist") && Catch::Matchers::Contains("pending"));
    CHECK(b.js("return document.querySelector('#failed tbody tr').dataset.state;") == "pending");
    const auto before = b.screenshot("admin_page_failed.png");
    CHECK(before.substr(0, 8) == "\x89PNG\r\n\x1a\n");

    // The Patient turns up upstream; the operator retries, and the row says so at once ...
    parent_loop.run_there([&] {
        openmrs.seed_fhir("Patient", "pat-7", json::parse(R"({"resourceType":"Patient","id":"pat-7","name":[{"family":"Otieno"}],"gender":"male"})"));
    });
    b.click("#failed tbody tr button.retry");
    REQUIRE(b.wait_for("const r = document.querySelector('#failed tbody tr'); return !!r && r.dataset.state === 'retrying';", std::chrono::seconds(10)));
    CHECK_THAT(std::string(b.js("return document.querySelector('#failed tbody tr .state').textContent;").as_string()),
               Catch::Matchers::StartsWith("retrying"));
    // ... then the run it started sends the Observation and the row leaves the list.
    CHECK(b.wait_for("return document.querySelectorAll('#failed tbody tr[data-failed-id]').length === 0 && "
                     "!document.querySelector('#failed-empty').hidden;",
                     std::chrono::seconds(30)));
    CHECK(b.js("return document.querySelector('#badge-failed').textContent;") == "0");
    const auto after = b.screenshot("admin_page_retried.png");
    CHECK(after.size() > 1000);
    bool upstream = false;
    parent_loop.run_there([&] { upstream = openmrs.fhir("Observation", "obs-7").has_value(); });
    CHECK(upstream);
    auto queue = http_call(port, "GET", "/admin/api/failed", "", admin);
    REQUIRE(queue.status == 200);
    CHECK(json::parse(queue.body).at("failed").as_array().empty());

    // The status tab: the push direction's last run, with nothing failed.
    b.click("nav button[data-tab=status]");
    REQUIRE(b.wait_for("return !!document.querySelector('.card[data-direction=push]');"));
    CHECK_THAT(std::string(b.js("return document.querySelector('.card[data-direction=push]').innerText;").as_string()),
               Catch::Matchers::Contains("last run") && Catch::Matchers::Contains("recovered"));
    b.screenshot("admin_page_status.png");

    // The audit tab lists the push that went through, newest first.
    b.click("nav button[data-tab=audit]");
    REQUIRE(b.wait_for("return document.querySelectorAll('#audit tbody tr[data-audit-id]').length > 0;"));
    CHECK_THAT(std::string(b.js("return document.querySelector('#audit tbody tr').innerText;").as_string()),
               Catch::Matchers::Contains("obs-7") && Catch::Matchers::Contains("success"));
    node.terminate();
}

TEST_CASE("the admin page is one static document with a strict Content-Security-Policy, and the API behind it still needs an admin", "[agent][admin]") {
    test::temp_dir tmp;
    const std::uint16_t port = test::free_loopback_port();
    const std::string cfg = R"({"instance_id": "n", "data_dir": "data", "server": {"listen": "127.0.0.1:)" + std::to_string(port) +
                            R"(", "users": [{"name": "app", "token_sha256": ")" + net::sha256_hex("app-token") + R"(", "roles": ["local-app"]}]}})";
    auto argv = test::own_program(EDGESYNC_BINARY);
    argv.insert(argv.end(), {"run", "-c", tmp.write("edgesync.jsonc", cfg)});
    test::child_process node(argv, tmp.file("node.out"));
    REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));

    auto page = http_call(port, "GET", "/admin/");
    REQUIRE(page.status == 200);
    CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
    const auto csp = page.header("Content-Security-Policy");
    CHECK_THAT(csp, Catch::Matchers::StartsWith("default-src 'none'; script-src 'sha256-") && Catch::Matchers::Contains("frame-ancestors 'none'") &&
                        Catch::Matchers::Contains("connect-src 'self'"));
    CHECK_THAT(csp, !Catch::Matchers::Contains("unsafe-inline"));
    CHECK(page.header("X-Frame-Options") == "DENY");
    // Self-contained: nothing is loaded from anywhere.
    CHECK_THAT(page.body, !Catch::Matchers::Contains("src=\"http") && !Catch::Matchers::Contains("href=\"http") &&
                              !Catch::Matchers::Contains("@import") && !Catch::Matchers::Contains("<link"));
    CHECK(http_call(port, "GET", "/admin").header("Location") == "/admin/");
    // The data behind it: 401 without credentials, 403 for an app.
    CHECK(http_call(port, "GET", "/admin/api/status").status == 401);
    CHECK(http_call(port, "GET", "/admin/api/status", "", "Bearer app-token").status == 403);
    node.terminate();
}

TEST_CASE("the admin page in Chromium: a conflict shown side by side, settled with Keep this node's version", "[agent][admin][browser]") {
    test::temp_dir tmp;
    auto start = [&](const std::string& id, std::uint16_t port, std::uint16_t parent) {
        std::string cfg = R"({"instance_id": ")" + id + R"(", "data_dir": ")" + id + R"(-data",
  "server": {"listen": "127.0.0.1:)" + std::to_string(port) + R"(", "users": [
    {"name": "admin", "token_sha256": ")" + net::sha256_hex("admin-token") + R"(", "roles": ["admin"]},
    {"name": "child", "token_sha256": ")" + net::sha256_hex("child-token") + R"(", "roles": ["sync-peer"]},
    {"name": "app", "token_sha256": ")" + net::sha256_hex("app-token") + R"(", "roles": ["local-app"]}]})";
        if (parent)
            cfg += R"(, "parent": {"url": "http://127.0.0.1:)" + std::to_string(parent) + R"(", "token": "child-token"},
  "pull": {"interval": "1h", "categories": ["patient"]}, "push": {"enabled": false})";
        cfg += "}\n";
        auto argv = test::own_program(EDGESYNC_BINARY);
        argv.insert(argv.end(), {"run", "-c", tmp.write(id + ".jsonc", cfg)});
        auto p = std::make_unique<test::child_process>(argv, tmp.file(id + ".out"));
        REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
        return p;
    };
    const std::uint16_t root_port = test::free_loopback_port(), leaf_port = test::free_loopback_port();
    auto root = start("root", root_port, 0);
    auto leaf = start("leaf", leaf_port, root_port);
    auto patient = [](const std::string& family) {
        return R"({"resourceType":"Patient","id":"pat-c","name":[{"family":")" + family + R"(","given":["Achieng"]}],"gender":"female","birthDate":"1988-02-11"})";
    };
    const std::string app = "Bearer app-token", admin = "Bearer admin-token";
    REQUIRE(http_call(root_port, "PUT", "/ws/fhir2/R4/Patient/pat-c", patient("Odhiambo"), app).status == 201);
    REQUIRE(http_call(leaf_port, "POST", "/admin/api/sync/pull", "", admin).status == 202);
    REQUIRE(eventually([&] { return http_call(leaf_port, "GET", "/ws/fhir2/R4/Patient/pat-c", "", app).status == 200; }, std::chrono::seconds(30)));
    // Both sides change it before they sync again: the next pull parks it (policy manual).
    REQUIRE(http_call(root_port, "PUT", "/ws/fhir2/R4/Patient/pat-c", patient("Odhiambo-District"), app).status == 200);
    REQUIRE(http_call(leaf_port, "PUT", "/ws/fhir2/R4/Patient/pat-c", patient("Odhiambo-Clinic"), app).status == 200);
    REQUIRE(http_call(leaf_port, "POST", "/admin/api/sync/pull", "", admin).status == 202);
    REQUIRE(eventually([&] {
        auto r = http_call(leaf_port, "GET", "/admin/api/conflicts", "", admin);
        return r.status == 200 && json::parse(r.body).at("conflicts").as_array().size() == 1;
    }, std::chrono::seconds(30)));

    browser b(tmp);
    b.go("http://127.0.0.1:" + std::to_string(leaf_port) + "/admin/");
    REQUIRE(b.wait_for("return !document.querySelector('#login').hidden;"));
    b.type("#login-secret", "admin-token");  // an empty user name: the secret is a bearer token
    b.click("#login-submit");
    REQUIRE(b.wait_for("return !document.querySelector('#app').hidden;"));
    b.click("nav button[data-tab=conflicts]");
    REQUIRE(b.wait_for("return document.querySelectorAll('#conflicts tbody tr[data-conflict-id]').length === 1;"));
    b.click("#conflicts tbody tr[data-conflict-id]");
    REQUIRE(b.wait_for("return !document.querySelector('#conflict-detail').hidden;"));
    // Side by side: this node's line on the left marked removed, the parent's on the right added;
    // the lines both share are unmarked.
    CHECK(b.js("return [...document.querySelectorAll('.diff .line.del')].some(e => e.textContent.includes('Odhiambo-Clinic'));") == true);
    CHECK(b.js("return [...document.querySelectorAll('.diff .line.add')].some(e => e.textContent.includes('Odhiambo-District'));") == true);
    CHECK(b.js("return [...document.querySelectorAll('.diff .line:not(.del):not(.add):not(.gap)')].some(e => e.textContent.includes('1988-02-11'));") == true);
    CHECK(b.js("return [...document.querySelectorAll('.diff .line.del, .diff .line.add')].some(e => e.textContent.includes('1988-02-11'));") == false);
    b.screenshot("admin_page_conflict.png");
    b.click("#keep-local");
    CHECK(b.wait_for("return document.querySelectorAll('#conflicts tbody tr[data-conflict-id]').length === 0;"));
    auto resolved = http_call(leaf_port, "GET", "/admin/api/conflicts?status=resolved", "", admin);
    REQUIRE(resolved.status == 200);
    const auto list = json::parse(resolved.body).at("conflicts").as_array();
    REQUIRE(list.size() == 1);
    CHECK(list[0].at("resolution") == "local");
    CHECK(list[0].at("resolved_by") == "admin");
    auto kept = http_call(leaf_port, "GET", "/ws/fhir2/R4/Patient/pat-c", "", app);
    CHECK_THAT(kept.body, Catch::Matchers::Contains("Odhiambo-Clinic"));
    leaf->terminate();
    root->terminate();
}

TEST_CASE("the CLI reaches a node that serves HTTPS: its own certificate from the config, or the CA given with --ca", "[agent][admin][tls]") {
    test::temp_dir tmp;
    test::test_pki pki(tmp);
    auto start = [&](const std::string& id, const test::issued& cert, std::uint16_t port) {
        const std::string cfg = R"({"instance_id": ")" + id + R"(", "data_dir": ")" + id + R"(-data", "server": {"listen": "127.0.0.1:)" +
                                std::to_string(port) + R"(", "tls": {"enabled": true, "cert_file": ")" + cert.cert_file + R"(", "key_file": ")" +
                                cert.key_file + R"("}, "users": [{"name": "admin", "token_sha256": ")" + net::sha256_hex("admin-token") +
                                R"(", "roles": ["admin"]}]}})";
        const auto file = tmp.write(id + ".jsonc", cfg);
        auto argv = test::own_program(EDGESYNC_BINARY);
        argv.insert(argv.end(), {"run", "-c", file});
        auto p = std::make_unique<test::child_process>(argv, tmp.file(id + ".out"));
        REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
        return std::pair{std::move(p), file};
    };
    int calls = 0;
    auto cli = [&](std::vector<std::string> args) {
        auto argv = test::own_program(EDGESYNC_BINARY);
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--token", "admin-token"});
        return test::run_command(argv, tmp.file("cli" + std::to_string(++calls) + ".out"));
    };
    // A self-signed certificate: the config's cert_file is the one to trust.
    const auto self_port = test::free_loopback_port();
    auto [self_node, self_cfg] = start("self", pki.self_signed("self"), self_port);
    auto ok = cli({"status", "-c", self_cfg});
    INFO(ok.output);
    CHECK(ok.status == 0);
    CHECK_THAT(ok.output, Catch::Matchers::Contains("node self") && Catch::Matchers::Contains("https://127.0.0.1:"));
    // Signed by a CA: the CLI is told the CA; without it the certificate is refused by name.
    const auto ca_port = test::free_loopback_port();
    auto [ca_node, ca_cfg] = start("signed", pki.issue("signed"), ca_port);
    const std::string url = "https://127.0.0.1:" + std::to_string(ca_port);
    auto trusted = cli({"status", "--url", url, "--ca", pki.ca_file()});
    CHECK(trusted.status == 0);
    CHECK_THAT(trusted.output, Catch::Matchers::Contains("node signed"));
    auto untrusted = cli({"status", "--url", url, "--ca", pki.self_signed("other").cert_file});
    CHECK(untrusted.status == 1);
    CHECK_THAT(untrusted.output, Catch::Matchers::Contains(url));
    self_node->terminate();
    ca_node->terminate();
}
