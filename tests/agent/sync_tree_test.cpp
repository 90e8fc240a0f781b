// Pull and push between real edgesync processes on loopback: a root and a leaf whose parent it
// is. Resources created at either end reach the other, updates and deletes propagate both ways,
// both stores end with the same canonical content, and further rounds transfer nothing and emit
// no feed event (no echoes).
#include "net/auth.hpp"
#include "support/canned_server.hpp"
#include "support/fault_proxy.hpp"
#include "support/io_thread.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <csignal>
#include <map>
#include <optional>
#include <random>
#include <thread>

using namespace edgesync;
namespace asio = boost::asio;

namespace {

struct node_proc {
    test::temp_dir tmp;
    std::uint16_t port = test::free_loopback_port();
    std::unique_ptr<test::child_process> proc;

    std::string config_file;
    int starts = 0;  // each start logs to its own file: node.out, node.1.out, ...

    // `parent_port` 0: a root.
    node_proc(const std::string& id, std::uint16_t parent_port, bool pull = true, bool push = true, const std::string& interval = "1s") {
        std::string cfg = "{\"instance_id\": \"" + id + "\", \"data_dir\": \"data\",\n"
                          "\"server\": {\"listen\": \"127.0.0.1:" + std::to_string(port) + "\", \"users\": [" +
                          "{\"name\": \"child\", \"token_sha256\": \"" + net::sha256_hex("child-token") + "\", \"roles\": [\"sync-peer\"]}," +
                          "{\"name\": \"admin\", \"token_sha256\": \"" + net::sha256_hex("admin-token") + "\", \"roles\": [\"admin\"]}," +
                          "{\"name\": \"app\", \"token_sha256\": \"" + net::sha256_hex("app-token") + "\", \"roles\": [\"local-app\"]}]}";
        const std::string direction = R"("interval": ")" + interval + R"(", "categories": ["location", "patient", "observation"], "backoff_initial": "200ms", "backoff_max": "1s")";
        if (parent_port)
            cfg += ",\n\"parent\": {\"url\": \"http://127.0.0.1:" + std::to_string(parent_port) + "\", \"token\": \"child-token\", \"timeouts\": {\"connect\": \"2s\"}},\n"
                   "\"pull\": {\"enabled\": " + (pull ? "true" : "false") + ", " + direction + "},\n"
                   "\"push\": {\"enabled\": " + (push ? "true" : "false") + ", " + direction + "}";
        cfg += "}\n";
        config_file = tmp.write("edgesync.jsonc", cfg);
        start();
    }
    void start() {
        auto argv = test::own_program(EDGESYNC_BINARY);
        argv.insert(argv.end(), {"run", "-c", config_file});
        const std::string log = starts ? "node." + std::to_string(starts) + ".out" : std::string("node.out");
        ++starts;
        proc = std::make_unique<test::child_process>(argv, tmp.file(log));
        REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
    }
    void kill9() {
        ::kill(proc->pid(), SIGKILL);
        REQUIRE(proc->wait(std::chrono::seconds(30)));
    }
    test::raw_response call(const std::string& method, const std::string& path, const std::string& body = "",
                            const std::string& token = "app-token") const {
        asio::io_context ioc;
        std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer " + token + "\r\n";
        if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        req += "\r\n" + body;
        return test::parse_raw_response(test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, req)));
    }
    // (representation/type/uuid) -> (fingerprint, deleted), straight from the store file.
    std::map<std::string, std::string> content() const {
        std::map<std::string, std::string> out;
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(tmp.file("data/edgesync.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, "SELECT representation || '/' || type || '/' || uuid, hex(fingerprint), deleted FROM resources", -1, &st,
                                   nullptr) == SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            out[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] =
                std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))) + (sqlite3_column_int(st, 2) ? " deleted" : "");
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }
    // The answer, or nullopt when the node did not give one (down, or killed mid-request).
    std::optional<test::raw_response> try_call(const std::string& method, const std::string& path, const std::string& body = "") const {
        try {
            return call(method, path, body);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    // One integer from a query on the store file (read-only; the node may be running).
    std::int64_t count(const std::string& sql) const {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(tmp.file("data/edgesync.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(st) == SQLITE_ROW);
        const auto n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
    }
    // Rows of (text, integer) from a query on the store file.
    std::map<std::string, std::int64_t> counts(const std::string& sql) const {
        std::map<std::string, std::int64_t> out;
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(tmp.file("data/edgesync.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) out[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] = sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }
    std::int64_t events() const {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(tmp.file("data/edgesync.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM event_records", -1, &st, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(st) == SQLITE_ROW);
        const auto n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
    }
};

std::string patient(const std::string& id, const std::string& family, bool active = true) {
    return R"({"resourceType":"Patient","id":")" + id + R"(","active":)" + (active ? "true" : "false") + R"(,"name":[{"family":")" + family +
           R"(","given":["Amina"]}],"gender":"female","birthDate":"1990-05-17"})";
}

// The fault proxy in front of 127.0.0.1:`upstream_port`, on its own thread. The counts belong to
// that thread, so stop_and_count() stops it first; the destructor (a failed REQUIRE) stops it too,
// before the proxy goes.
class faulty_link {
public:
    faulty_link(std::uint16_t upstream_port, std::uint64_t seed, const test::link_faults& faults)
        : proxy_(ioc_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream_port), seed, faults), loop_(ioc_) {}
    std::uint16_t port() const { return proxy_.port(); }
    test::fault_proxy::counts stop_and_count() {
        loop_.stop();
        return proxy_.stats();
    }

private:
    asio::io_context ioc_;
    test::fault_proxy proxy_;
    test::io_thread loop_;  // last: destroyed (stopped and joined) first
};

bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return pred();
}

}  // namespace

TEST_CASE("root and leaf processes: creates, updates and deletes flow both ways and converge without echoes", "[agent][sync]") {
    node_proc root("root", 0);
    node_proc leaf("leaf", root.port);
    constexpr int n_root = 40, n_leaf = 15;
    for (int i = 0; i < n_root; ++i) REQUIRE(root.call("PUT", "/ws/fhir2/R4/Patient/r" + std::to_string(i), patient("r" + std::to_string(i), "Root")).status == 201);
    for (int i = 0; i < n_leaf; ++i) REQUIRE(leaf.call("PUT", "/ws/fhir2/R4/Patient/l" + std::to_string(i), patient("l" + std::to_string(i), "Leaf")).status == 201);
    const std::string location = R"({"resourceType":"Location","id":"loc1","name":"Clinic A","status":"active"})";
    REQUIRE(root.call("PUT", "/ws/fhir2/R4/Location/loc1", location).status == 201);

    INFO(leaf.proc->output());
    REQUIRE(eventually([&] { return leaf.call("GET", "/ws/fhir2/R4/Patient/r" + std::to_string(n_root - 1)).status == 200; }));
    REQUIRE(eventually([&] { return root.call("GET", "/ws/fhir2/R4/Patient/l" + std::to_string(n_leaf - 1)).status == 200; }));
    CHECK(leaf.call("GET", "/ws/fhir2/R4/Location/loc1").status == 200);

    // An update at the root and a delete at the leaf.
    REQUIRE(root.call("PUT", "/ws/fhir2/R4/Patient/r0", patient("r0", "Root-Updated", false)).status == 200);
    REQUIRE(leaf.call("DELETE", "/ws/fhir2/R4/Patient/l0").status / 100 == 2);
    REQUIRE(eventually([&] { return leaf.call("GET", "/ws/fhir2/R4/Patient/r0").body.find("Root-Updated") != std::string::npos; }));
    REQUIRE(eventually([&] { return root.call("GET", "/ws/fhir2/R4/Patient/l0").status == 410; }));

    // Converged: the same canonical content on both sides...
    REQUIRE(eventually([&] { return root.content() == leaf.content(); }));
    const auto content = root.content();
    CHECK(content.size() == n_root + n_leaf + 1);
    CHECK(content.at("fhir/Patient/l0").find("deleted") != std::string::npos);
    // ...and further rounds (the interval is 1 s) move nothing and announce nothing.
    const auto root_events = root.events(), leaf_events = leaf.events();
    std::this_thread::sleep_for(std::chrono::seconds(4));
    CHECK(root.events() == root_events);
    CHECK(leaf.events() == leaf_events);
    CHECK(root.content() == content);
    CHECK(leaf.content() == content);
}

// A first taste of issue 9's chaos run: the leaf reaches its root only through a link that
// resets, stalls or truncates 85% of its connections at random byte offsets, and adds
// latency. The seed is printed (and EDGESYNC_FAULT_SEED picks another) so a failure reproduces.
TEST_CASE("through a link that resets, stalls and truncates connections at random, pull and push still converge with nothing lost or doubled", "[agent][sync][faults]") {
    std::uint64_t seed = 20261202;
    if (const char* s = std::getenv("EDGESYNC_FAULT_SEED")) seed = std::stoull(s);
    std::printf("fault proxy seed %llu (EDGESYNC_FAULT_SEED=%llu reproduces it)\n", static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(seed));
    INFO("fault proxy seed " << seed);
    node_proc root("root", 0);
    test::link_faults faults;
    faults.reset = 0.55;
    faults.stall = 0.05;
    faults.stall_for = std::chrono::milliseconds(1500);
    faults.truncate = 0.25;
    faults.max_offset = 8 * 1024;
    faults.latency = std::chrono::milliseconds(5);
    faults.jitter = std::chrono::milliseconds(10);
    faulty_link link(root.port, seed, faults);
    constexpr int n_root = 500, n_leaf = 100;
    for (int i = 0; i < n_root; ++i) REQUIRE(root.call("PUT", "/ws/fhir2/R4/Patient/r" + std::to_string(i), patient("r" + std::to_string(i), "Root")).status == 201);
    node_proc leaf("leaf", link.port());
    for (int i = 0; i < n_leaf; ++i) REQUIRE(leaf.call("PUT", "/ws/fhir2/R4/Patient/l" + std::to_string(i), patient("l" + std::to_string(i), "Leaf")).status == 201);
    INFO(leaf.proc->output());
    REQUIRE(eventually([&] { return root.content() == leaf.content(); }, std::chrono::seconds(120)));
    const auto content = root.content();
    CHECK(content.size() == n_root + n_leaf);
    // Faults were really injected (the counts are read on the proxy's own thread after it stops).
    const auto s = link.stop_and_count();
    std::printf("fault proxy: %llu connections, %llu resets, %llu stalls, %llu truncations\n", static_cast<unsigned long long>(s.connections),
                static_cast<unsigned long long>(s.resets), static_cast<unsigned long long>(s.stalls),
                static_cast<unsigned long long>(s.truncations));
    CHECK(s.resets + s.truncations > 0);
    // Each event once: the root's feed holds its own 500 and the leaf's 100, nothing twice.
    CHECK(root.events() == n_root + n_leaf);
    CHECK(leaf.events() == n_root + n_leaf);
}

TEST_CASE("a three-level tree (root, mid, two leaves) converges: 1,000 resources and REST metadata down, leaf resources up and across", "[agent][sync]") {
    node_proc root("root", 0);
    node_proc mid("mid", root.port);
    node_proc leaf_a("leaf-a", mid.port);
    node_proc leaf_b("leaf-b", mid.port);
    // 1,000 Patients and Observations at the root in one transaction, and REST locations.
    std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
    for (int i = 0; i < 1000; ++i) {
        const std::string id = "root-" + std::to_string(i);
        const std::string res = i % 2 ? patient(id, "Root")
                                      : R"({"resourceType":"Observation","id":")" + id +
                                            R"(","status":"final","code":{"coding":[{"code":"5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]},"valueQuantity":{"value":61.5,"unit":"kg"}})";
        const std::string type = i % 2 ? "Patient" : "Observation";
        bundle += (i ? "," : "") + std::string(R"({"resource":)") + res + R"(,"request":{"method":"PUT","url":")" + type + "/" + id + R"("}})";
    }
    bundle += "]}";
    auto tx = root.call("POST", "/ws/fhir2/R4", bundle);
    REQUIRE(tx.status == 200);
    for (int i = 0; i < 3; ++i)
        REQUIRE(root.call("POST", "/ws/rest/v1/location", R"({"uuid":"loc-)" + std::to_string(i) + R"(","name":"Ward )" + std::to_string(i) + R"(","retired":false})").status == 201);
    for (auto* leaf : {&leaf_a, &leaf_b})
        for (int i = 0; i < 10; ++i) {
            const std::string id = std::string(leaf == &leaf_a ? "leaf-a-" : "leaf-b-") + std::to_string(i);
            REQUIRE(leaf->call("PUT", "/ws/fhir2/R4/Patient/" + id, patient(id, "Leaf")).status == 201);
        }

    auto all_equal = [&] {
        const auto c = root.content();
        return c.size() == 1000 + 3 + 20 && mid.content() == c && leaf_a.content() == c && leaf_b.content() == c;
    };
    INFO(mid.proc->output());
    REQUIRE(eventually(all_equal, std::chrono::seconds(100)));

    // An update at a leaf and a delete at the root travel the whole tree.
    REQUIRE(leaf_b.call("PUT", "/ws/fhir2/R4/Patient/root-1", patient("root-1", "Fixed-At-Leaf-B")).status == 200);
    REQUIRE(root.call("DELETE", "/ws/fhir2/R4/Observation/root-0").status / 100 == 2);
    REQUIRE(eventually([&] { return leaf_a.call("GET", "/ws/fhir2/R4/Patient/root-1").body.find("Fixed-At-Leaf-B") != std::string::npos; }));
    REQUIRE(eventually([&] { return leaf_b.call("GET", "/ws/fhir2/R4/Observation/root-0").status == 410; }));
    REQUIRE(eventually(all_equal, std::chrono::seconds(60)));
    CHECK(root.content().at("fhir/Observation/root-0").find("deleted") != std::string::npos);
    CHECK(root.call("GET", "/ws/fhir2/R4/Patient/root-1").body.find("Fixed-At-Leaf-B") != std::string::npos);

    // Converged: further rounds move nothing and emit no feed event anywhere.
    const std::vector<std::int64_t> before{root.events(), mid.events(), leaf_a.events(), leaf_b.events()};
    std::this_thread::sleep_for(std::chrono::seconds(4));
    CHECK(std::vector<std::int64_t>{root.events(), mid.events(), leaf_a.events(), leaf_b.events()} == before);
    CHECK(all_equal());
}

TEST_CASE("a pull-only node only pulls and a push-only node only pushes", "[agent][sync]") {
    node_proc root("root", 0);
    node_proc pull_only("pull-only", root.port, true, false);
    node_proc push_only("push-only", root.port, false, true);
    REQUIRE(root.call("PUT", "/ws/fhir2/R4/Patient/from-root", patient("from-root", "Root")).status == 201);
    REQUIRE(pull_only.call("PUT", "/ws/fhir2/R4/Patient/from-pull-only", patient("from-pull-only", "P")).status == 201);
    REQUIRE(push_only.call("PUT", "/ws/fhir2/R4/Patient/from-push-only", patient("from-push-only", "Q")).status == 201);
    REQUIRE(eventually([&] { return pull_only.call("GET", "/ws/fhir2/R4/Patient/from-root").status == 200; }));
    REQUIRE(eventually([&] { return root.call("GET", "/ws/fhir2/R4/Patient/from-push-only").status == 200; }));
    // Several rounds later, still nothing the other way.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    CHECK(root.call("GET", "/ws/fhir2/R4/Patient/from-pull-only").status == 404);
    CHECK(push_only.call("GET", "/ws/fhir2/R4/Patient/from-root").status == 404);
    CHECK(push_only.call("GET", "/ws/fhir2/R4/Patient/from-push-only").status == 200);
    // The pull-only node did get what the push-only node sent up, through the root.
    CHECK(eventually([&] { return pull_only.call("GET", "/ws/fhir2/R4/Patient/from-push-only").status == 200; }));
}

TEST_CASE("the parent killed mid-pull: the child resumes after the restart and ends with everything once, nothing lost or doubled", "[agent][sync]") {
    node_proc root("root", 0);
    constexpr int total = 20000;  // enough that the kill lands mid-pull (a child pulls ~14,000/s natively)
    for (int first = 0; first < total; first += 1000) {
        std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
        for (int i = first; i < first + 1000; ++i) {
            const std::string id = "p" + std::to_string(i);
            bundle += (i > first ? "," : "") + std::string(R"({"resource":)") + patient(id, "Root") + R"(,"request":{"method":"PUT","url":"Patient/)" + id + R"("}})";
        }
        bundle += "]}";
        REQUIRE(root.call("POST", "/ws/fhir2/R4", bundle).status == 200);
    }
    node_proc leaf("leaf", root.port, true, false);
    // Kill the parent once the child has some, but not all.
    REQUIRE(eventually([&] { return leaf.content().size() >= 50; }, std::chrono::seconds(60)));
    root.kill9();
    const auto partial = leaf.content().size();
    INFO("child had " << partial << " when the parent died");
    CHECK(partial < total);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the child's runs now fail and back off
    const auto while_down = leaf.content().size();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    CHECK(leaf.content().size() == while_down);
    CHECK_FALSE(leaf.proc->wait(std::chrono::milliseconds(0)));  // still running
    root.start();
    REQUIRE(eventually([&] { return leaf.content() == root.content(); }, std::chrono::seconds(120)));
    CHECK(leaf.content().size() == total);
    // Each resource was written once: one feed event per resource, no replays written twice.
    CHECK(leaf.events() == total);
}

TEST_CASE("an operator starts a run now through the admin API instead of waiting for the interval", "[agent][sync]") {
    node_proc root("root", 0);
    node_proc leaf("leaf", root.port, true, true, "1h");
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the first runs, at start, found nothing
    REQUIRE(root.call("PUT", "/ws/fhir2/R4/Patient/now", patient("now", "Now")).status == 201);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(leaf.call("GET", "/ws/fhir2/R4/Patient/now").status == 404);  // the next scheduled run is an hour away
    CHECK(leaf.call("POST", "/admin/api/sync/pull", "", "app-token").status == 403);
    CHECK(leaf.call("POST", "/admin/api/sync/sideways", "", "admin-token").status == 400);
    CHECK(leaf.call("POST", "/admin/api/sync/pull", "", "admin-token").status == 202);
    CHECK(eventually([&] { return leaf.call("GET", "/ws/fhir2/R4/Patient/now").status == 200; }, std::chrono::seconds(20)));
    CHECK(root.call("POST", "/admin/api/sync/pull", "", "admin-token").status == 404);  // a root has no parent

    // The status the operator (and `edgesync status`) reads: that run, the store, the feed read.
    CHECK(leaf.call("GET", "/admin/api/status", "", "app-token").status == 403);
    boost::json::value s;
    REQUIRE(eventually([&] {
        auto r = leaf.call("GET", "/admin/api/status", "", "admin-token");
        if (r.status != 200) return false;
        s = boost::json::parse(r.body);
        const auto* last = s.at("directions").at("pull").as_object().if_contains("last");
        return last && last->at("written").as_int64() >= 1 && !s.at("directions").at("pull").at("running").as_bool();
    }, std::chrono::seconds(20)));
    CHECK(s.at("node") == "leaf");
    CHECK(s.at("directions").at("pull").at("enabled") == true);
    CHECK(s.at("directions").at("pull").at("last").at("error") == "");
    CHECK(s.at("directions").at("pull").at("last_success").as_int64() > 0);
    CHECK(s.at("directions").at("pull").as_object().contains("next_run"));
    CHECK(s.at("store").at("resources").as_int64() == 1);
    // Lag per feed: each category's feed was read to its end by that run.
    const auto& lag = s.at("directions").at("pull").at("feeds").at("patient");
    CHECK(lag.at("caught_up_at").as_int64() >= s.at("directions").at("pull").at("last_success").as_int64() - 60'000);
    CHECK(lag.at("caught_up_at").as_int64() > 0);
    CHECK(lag.at("error") == "");
    CHECK(s.at("directions").at("pull").at("feeds").as_object().contains("location"));
    CHECK(s.at("events").at("patient").as_int64() == 1);
    CHECK(s.at("queues").at("failed_parked").as_int64() == 0);
    bool reads_root_patient_feed = false;
    for (const auto& f : s.at("feeds").as_array())
        reads_root_patient_feed |= std::string_view(f.at("feed").as_string()).find("/ws/atomfeed/patient/") != std::string_view::npos;
    CHECK(reads_root_patient_feed);

    // /metrics for Prometheus: admin only, counters of what the runs did, gauges of what is held.
    CHECK(leaf.call("GET", "/metrics", "", "app-token").status == 403);
    auto m = leaf.call("GET", "/metrics", "", "admin-token");
    REQUIRE(m.status == 200);
    CHECK(m.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    CHECK_THAT(m.body, Catch::Matchers::Contains("edgesync_sync_written_total{direction=\"pull\",category=\"patient\"} 1\n") &&
                           Catch::Matchers::Contains("edgesync_store_resources 1\n") &&
                           Catch::Matchers::Contains("edgesync_queue_failed{state=\"parked\"} 0\n") &&
                           Catch::Matchers::Contains("edgesync_sync_enabled{direction=\"pull\"} 1\n") &&
                           Catch::Matchers::Contains("# TYPE edgesync_http_request_duration_seconds histogram") &&
                           Catch::Matchers::Contains("edgesync_http_requests_total{area=\"admin\",code=\"2xx\"}") &&
                           Catch::Matchers::Contains("edgesync_http_requests_total{area=\"admin\",code=\"4xx\"}"));
    CHECK_THAT(m.body, Catch::Matchers::Contains("edgesync_sync_runs_total{direction=\"pull\",result=\"ok\"}"));

    // The operator's CLI reads the same through the admin API (-c: the node's own config).
    int calls = 0;
    auto cli = [&](std::vector<std::string> args, const std::string& token = "admin-token") {
        auto argv = test::own_program(EDGESYNC_BINARY);
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back("-c");
        argv.push_back(leaf.config_file);
        argv.push_back("--token");
        argv.push_back(token);
        return test::run_command(argv, leaf.tmp.file("cli" + std::to_string(++calls) + ".out"));
    };
    auto status = cli({"status"});
    CHECK(status.status == 0);
    CHECK_THAT(status.output, Catch::Matchers::Contains("node leaf") && Catch::Matchers::Contains("store: 1 resources") &&
                                  Catch::Matchers::Contains("/ws/atomfeed/patient/") && Catch::Matchers::Contains("0 parked") &&
                                  Catch::Matchers::Contains("caught up") && Catch::Matchers::Matches("(.|\n)*pull +patient +[0-9]+s ago(.|\n)*"));
    auto as_json = cli({"status", "--json"});
    REQUIRE(as_json.status == 0);
    CHECK(boost::json::parse(as_json.output).at("node") == "leaf");
    auto audit = cli({"audit", "list", "--direction", "pull", "--limit", "5", "--json"});
    REQUIRE(audit.status == 0);
    const auto entries = boost::json::parse(audit.output).at("audit").as_array();
    REQUIRE_FALSE(entries.empty());
    CHECK(entries[0].at("uuid") == "now");
    CHECK(entries[0].at("status") == "success");
    auto shown = cli({"audit", "show", std::to_string(entries[0].at("id").as_int64())});
    CHECK(shown.status == 0);
    CHECK_THAT(shown.output, Catch::Matchers::Contains("Patient") && Catch::Matchers::Contains("success"));
    auto table = cli({"audit", "list"});
    CHECK(table.status == 0);
    CHECK_THAT(table.output, Catch::Matchers::Contains("Patient/now"));
    CHECK(cli({"failed", "list"}).status == 0);
    CHECK(cli({"conflicts", "list"}).status == 0);
    auto now = cli({"sync", "pull", "--now"});
    CHECK(now.status == 0);
    CHECK_THAT(now.output, Catch::Matchers::Contains("pull started"));
    auto refused = cli({"status"}, "wrong-token");
    CHECK(refused.status == 1);
    CHECK_THAT(refused.output, Catch::Matchers::Contains("401"));
    auto not_found = cli({"audit", "show", "999999"});
    CHECK(not_found.status == 1);
    CHECK_THAT(not_found.output, Catch::Matchers::Contains("no audit entry 999999"));
    CHECK(cli({"failed", "frobnicate"}).status == 2);
    CHECK(cli({"failed", "retry", "../sync/pull"}).status == 2);  // ids are numbers, never paths
    // A value is encoded: this is one (unknown) category, not "patient" and a second parameter.
    auto filtered = cli({"audit", "list", "--direction", "pull", "--category", "patient&category=", "--json"});
    REQUIRE(filtered.status == 0);
    CHECK(boost::json::parse(filtered.output).at("audit").as_array().empty());

    // The node stopped: the read commands are answered from its store, read-only, and say so;
    // a command that would change something says the node must run.
    leaf.proc->terminate();
    auto down = cli({"status"});
    CHECK(down.status == 0);
    CHECK_THAT(down.output, Catch::Matchers::Contains("NOT RUNNING") && Catch::Matchers::Contains("read-only") &&
                                Catch::Matchers::Contains("store: 1 resources") && Catch::Matchers::Contains("/ws/atomfeed/patient/"));
    auto down_audit = cli({"audit", "list", "--direction", "pull", "--limit", "5", "--json"});
    REQUIRE(down_audit.status == 0);
    const auto json_start = down_audit.output.find('{');
    REQUIRE(json_start != std::string::npos);
    CHECK(boost::json::parse(down_audit.output.substr(json_start)).at("audit").as_array().at(0).at("uuid") == "now");
    CHECK(cli({"failed", "list"}).status == 0);
    auto down_sync = cli({"sync", "pull", "--now"});
    CHECK(down_sync.status == 1);
    CHECK_THAT(down_sync.output, Catch::Matchers::Contains("must be running"));
    // Nothing was written: the store file is as the node left it.
    CHECK(leaf.content().size() == 1);
}

namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::stoull(v) : fallback;
}

// A Patient of 1-3 KB, as a real one with its narrative is; `rng` picks the narrative's length.
std::string chaos_patient(const std::string& id, const std::string& family, std::mt19937_64& rng) {
    static constexpr std::string_view words[] = {"visit ", "clinic ", "fever ", "malaria ", "negative ", "referred ", "Kisumu ", "mother ",
                                                 "weight ", "62kg ", "follow-up ", "2026-11-", "HIV ", "ANC ", "tablets ", "BP "};
    const std::size_t narrative = 800 + static_cast<std::size_t>(rng() % 1800);
    std::string text;
    while (text.size() < narrative) {
        text += words[rng() % std::size(words)];
        text += std::to_string(rng() % 1000);
    }
    return R"({"resourceType":"Patient","id":")" + id + R"(","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">)" +
           text + R"(</div>"},"active":true,"identifier":[{"system":"urn:oid:2.16.840.1.113883.4.642","value":")" + id +
           R"("}],"name":[{"family":")" + family + R"(","given":["Amina","Wanjiru"]}],"gender":"female","birthDate":"1990-05-17"})";
}

struct bundle_builder {
    std::string text = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
    bool first = true;
    void put(const std::string& id, const std::string& body) {
        text += (first ? "" : ",") + std::string(R"({"resource":)") + body + R"(,"request":{"method":"PUT","url":"Patient/)" + id + R"("}})";
        first = false;
    }
    void remove(const std::string& id) {
        text += (first ? "" : ",") + std::string(R"({"request":{"method":"DELETE","url":"Patient/)") + id + R"("}})";
        first = false;
    }
    std::string done() const { return text + "]}"; }
};

// What a clinic app does when its node is restarting: sends the same (idempotent) transaction
// again until it is answered.
void send_until_answered(const node_proc& n, const std::string& bundle) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = n.try_call("POST", "/ws/fhir2/R4", bundle);
        if (r && r->status == 200) return;
        if (r && r->status / 100 == 4) FAIL("the node refused a transaction: " << r->status << " " << r->body.substr(0, 300));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the node did not take a transaction within 120 s");
}

}  // namespace

// Issue 9's chaos run (hidden: `tests/chaos/run.sh` runs it with three seeds; ctest does not).
// A child syncs both ways with its parent through a link that resets, stalls and truncates
// connections, while it is SIGKILLed at random moments and restarted (and the parent once), and
// both sides keep writing. At the end both stores hold the same canonical content, no resource
// was written more often than it changed, every resource is in the child's audit log for its
// direction, and nothing is left failed. The seed decides the faults, the data's sizes and the
// kill moments; EDGESYNC_CHAOS_SEED repeats a run (EDGESYNC_CHAOS_DOWN / _UP / _KILLS size it).
TEST_CASE("chaos: a child SIGKILLed at random moments while syncing both ways over a faulty link converges with nothing lost or doubled", "[.chaos]") {
    const std::uint64_t seed = env_number("EDGESYNC_CHAOS_SEED", std::random_device{}());
    const auto n_down = static_cast<int>(env_number("EDGESYNC_CHAOS_DOWN", 20000));
    const auto n_up = static_cast<int>(env_number("EDGESYNC_CHAOS_UP", 20000));
    const auto kills = static_cast<int>(env_number("EDGESYNC_CHAOS_KILLS", 30));
    std::printf("chaos seed %llu: %d down, %d up, %d child kills (EDGESYNC_CHAOS_SEED=%llu reproduces it)\n",
                static_cast<unsigned long long>(seed), n_down, n_up, kills, static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    INFO("chaos seed " << seed);
    REQUIRE(n_down >= 2 * kills);
    REQUIRE(n_up >= 2 * kills);
    std::mt19937_64 rng(seed);
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

    node_proc root("root", 0);
    // Half the parent's data is there before the child first connects, the rest arrives during.
    const int down_first = n_down / 2;
    auto write_root = [&](int from, int to) {
        for (int at = from; at < to; at += 500) {
            bundle_builder b;
            for (int i = at; i < std::min(to, at + 500); ++i) b.put("r" + std::to_string(i), chaos_patient("r" + std::to_string(i), "Root", rng));
            send_until_answered(root, b.done());
        }
    };
    write_root(0, down_first);

    test::link_faults faults;
    // Connections are kept alive and carry many requests each, so most of them meet a fault.
    faults.reset = 0.35;
    faults.stall = 0.1;
    faults.stall_for = std::chrono::milliseconds(1500);
    faults.truncate = 0.2;
    faults.max_offset = 64 * 1024;
    faults.latency = std::chrono::milliseconds(2);
    faults.jitter = std::chrono::milliseconds(5);
    faulty_link link(root.port, seed, faults);

    node_proc leaf("leaf", link.port());
    // How often each resource changed (creates, updates, deletes), by canonical key.
    std::map<std::string, int> changes;
    for (int i = 0; i < down_first; ++i) changes["fhir/Patient/r" + std::to_string(i)] = 1;
    const int updates = std::min(1000, down_first);
    const int deletes = std::min(200, n_up / kills);
    int leaf_kills = 0, root_kills = 0;
    for (int k = 0; k < kills; ++k) {
        // Both sides write their next slice while the child syncs.
        const int root_from = down_first + k * (n_down - down_first) / kills, root_to = down_first + (k + 1) * (n_down - down_first) / kills;
        write_root(root_from, root_to);
        for (int i = root_from; i < root_to; ++i) changes["fhir/Patient/r" + std::to_string(i)] = 1;
        const int up_from = k * n_up / kills, up_to = (k + 1) * n_up / kills;
        for (int at = up_from; at < up_to; at += 250) {
            bundle_builder b;
            for (int i = at; i < std::min(up_to, at + 250); ++i) b.put("l" + std::to_string(i), chaos_patient("l" + std::to_string(i), "Leaf", rng));
            send_until_answered(leaf, b.done());
        }
        for (int i = up_from; i < up_to; ++i) changes["fhir/Patient/l" + std::to_string(i)] = 1;
        if (k == kills / 3) {  // the parent updates some of what the child has (or is pulling)
            bundle_builder b;
            for (int i = 0; i < updates; ++i) b.put("r" + std::to_string(i), chaos_patient("r" + std::to_string(i), "Root-Updated", rng));
            send_until_answered(root, b.done());
            for (int i = 0; i < updates; ++i) ++changes["fhir/Patient/r" + std::to_string(i)];
        }
        if (k == 2 * kills / 3) {  // the child deletes some of its first slice
            bundle_builder b;
            for (int i = 0; i < deletes; ++i) b.remove("l" + std::to_string(i));
            send_until_answered(leaf, b.done());
            for (int i = 0; i < deletes; ++i) ++changes["fhir/Patient/l" + std::to_string(i)];
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 2300));
        if (k == kills / 2) {
            root.kill9();
            ++root_kills;
            std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1000));
            root.start();
        }
        leaf.kill9();
        ++leaf_kills;
        leaf.start();
    }
    std::printf("chaos seed %llu: %d child kills, %d parent kills, writes done at %.1f s\n", static_cast<unsigned long long>(seed), leaf_kills,
                root_kills, elapsed());
    std::fflush(stdout);

    INFO(leaf.proc->output());
    const bool converged = eventually([&] { return root.content() == leaf.content(); }, std::chrono::seconds(600));
    std::printf("chaos seed %llu: %s at %.1f s\n", static_cast<unsigned long long>(seed), converged ? "converged" : "NOT converged", elapsed());
    REQUIRE(converged);
    const auto content = root.content();
    CHECK(content.size() == static_cast<std::size_t>(n_down + n_up));
    std::size_t tombstones = 0;
    for (const auto& [key, value] : content) tombstones += value.find("deleted") != std::string::npos;
    CHECK(tombstones == static_cast<std::size_t>(deletes));
    CHECK(root.call("GET", "/ws/fhir2/R4/Patient/r0").body.find("Root-Updated") != std::string::npos);
    CHECK(leaf.call("GET", "/ws/fhir2/R4/Patient/r0").body.find("Root-Updated") != std::string::npos);

    // Nothing doubled: on each side every resource has at least one feed event and no more than
    // it had changes (a replay after a kill that wrote it again would add one).
    const std::string per_resource = "SELECT r.representation || '/' || r.type || '/' || r.uuid, count(e.id) FROM resources r "
                                     "LEFT JOIN event_records e ON e.resource_id = r.id GROUP BY r.id";
    for (const auto* side : {&root, &leaf}) {
        const auto events = side->counts(per_resource);
        CHECK(events.size() == changes.size());
        std::size_t doubled = 0, missing = 0;
        std::string example;
        for (const auto& [key, n] : events) {
            const auto it = changes.find(key);
            if (it == changes.end() || n > it->second) {
                ++doubled;
                if (example.empty()) example = key + " has " + std::to_string(n) + " events";
            }
            missing += n == 0;
        }
        INFO((side == &root ? "parent" : "child") << ": " << example);
        CHECK(doubled == 0);
        CHECK(missing == 0);
    }
    // The audit log accounts for every resource: each of the parent's was pulled, each of the
    // child's pushed (a success, or a skip that says why), and nothing is left failed.
    const auto pulled = leaf.counts("SELECT 'fhir/' || resource_type || '/' || resource_uuid, count(*) FROM audit_log "
                                    "WHERE direction = 'pull' AND status IN ('success', 'skipped') GROUP BY resource_type, resource_uuid");
    const auto pushed = leaf.counts("SELECT 'fhir/' || resource_type || '/' || resource_uuid, count(*) FROM audit_log "
                                    "WHERE direction = 'push' AND status IN ('success', 'skipped') GROUP BY resource_type, resource_uuid");
    std::size_t unaccounted = 0;
    std::string example;
    for (const auto& [key, n] : changes) {
        const bool from_root = key.rfind("fhir/Patient/r", 0) == 0;
        if (!(from_root ? pulled : pushed).count(key)) {
            ++unaccounted;
            if (example.empty()) example = key;
        }
    }
    INFO("not in the audit log: " << example);
    CHECK(unaccounted == 0);
    CHECK(leaf.count("SELECT count(*) FROM failed_events") == 0);
    CHECK(leaf.count("SELECT count(*) FROM conflicts WHERE status = 'open'") == 0);

    const auto s = link.stop_and_count();
    std::printf("chaos seed %llu: passed; link: %llu connections, %llu resets, %llu stalls, %llu truncations, %llu KB up, %llu KB down\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(s.connections), static_cast<unsigned long long>(s.resets),
                static_cast<unsigned long long>(s.stalls), static_cast<unsigned long long>(s.truncations),
                static_cast<unsigned long long>(s.bytes_up / 1024), static_cast<unsigned long long>(s.bytes_down / 1024));
    CHECK(s.resets + s.truncations + s.stalls > 0);
    CHECK(leaf_kills == kills);
    CHECK(root_kills == 1);
}
