// The node as an operator runs it (`edgesync run -c FILE`, a real process): it opens its store at
// start, reports readiness, stops cleanly on SIGTERM, and refuses to start — with a message that
// says what to do — when the store cannot be used.
#include "net/auth.hpp"
#include "support/canned_server.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

using namespace edgesync;
namespace asio = boost::asio;

namespace {

std::vector<std::string> node_command(const std::string& config) {
    auto argv = test::own_program(EDGESYNC_BINARY);
    argv.insert(argv.end(), {"run", "-c", config});
    return argv;
}

// A child may read the feeds with the bearer token "child-token".
std::string write_config(const test::temp_dir& tmp, std::uint16_t port, const std::string& instance = "clinic-a") {
    return tmp.write("edgesync.jsonc", "{\"instance_id\": \"" + instance + "\", \"data_dir\": \"data\", "
                                       "\"server\": {\"listen\": \"127.0.0.1:" + std::to_string(port) +
                                       "\", \"users\": [{\"name\": \"child\", \"token_sha256\": \"" +
                                       net::sha256_hex("child-token") + "\", \"roles\": [\"sync-peer\"]}]}}\n");
}

std::string get(std::uint16_t port, const std::string& path, const std::string& headers = "") {
    asio::io_context ioc;
    return test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port},
                                                        "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers +
                                                            "Connection: close\r\n\r\n"));
}

}  // namespace

TEST_CASE("the node opens its store at start, is ready, and stops cleanly", "[agent][node]") {
    test::temp_dir tmp;
    const auto port = test::free_loopback_port();
    const auto cfg = write_config(tmp, port);
    test::child_process node(node_command(cfg), tmp.file("node.out"));
    REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
    CHECK_THAT(get(port, "/readyz"), Catch::Matchers::StartsWith("HTTP/1.1 200") && Catch::Matchers::Contains("ready"));
    // The node publishes its feeds to children (an empty store: page 0), and only to them.
    CHECK_THAT(get(port, "/ws/atomfeed/patient/recent", "Authorization: Bearer child-token\r\n"),
               Catch::Matchers::StartsWith("HTTP/1.1 200") && Catch::Matchers::Contains("/ws/atomfeed/patient/0"));
    CHECK_THAT(get(port, "/ws/atomfeed/patient/recent"), Catch::Matchers::StartsWith("HTTP/1.1 401"));
    ::kill(node.pid(), SIGTERM);
    REQUIRE(node.wait(std::chrono::seconds(30)) == 0);
    INFO(node.output());
    CHECK_THAT(node.output(), Catch::Matchers::Contains("event=store_open"));

    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(tmp.file("data/edgesync.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT value FROM node_meta WHERE key = 'instance_id'", -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "clinic-a");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST_CASE("the node refuses to start on a store it must not use, saying why and what to do", "[agent][node]") {
    test::temp_dir tmp;
    const auto port = test::free_loopback_port();

    SECTION("a damaged database file") {
        ::mkdir(tmp.file("data").c_str(), 0700);
        tmp.write("data/edgesync.db", std::string(4096 * 4, '\x42'));
        auto r = test::run_command(node_command(write_config(tmp, port)), tmp.file("node.out"));
        CHECK(r.status == 1);
        CHECK_THAT(r.output, Catch::Matchers::Contains("damaged") && Catch::Matchers::Contains("edgesync.db") &&
                                 Catch::Matchers::Contains("re-syncs from its parent"));
        // The file is left for recovery, untouched.
        std::ifstream f(tmp.file("data/edgesync.db"), std::ios::binary);
        CHECK(std::string(std::istreambuf_iterator<char>(f), {}) == std::string(4096 * 4, '\x42'));
    }
    SECTION("another node's store") {
        {
            test::child_process first(node_command(write_config(tmp, port, "clinic-b")), tmp.file("first.out"));
            REQUIRE(test::wait_for_port(port, std::chrono::seconds(60)));
            ::kill(first.pid(), SIGTERM);
            REQUIRE(first.wait(std::chrono::seconds(30)) == 0);
        }
        auto r = test::run_command(node_command(write_config(tmp, port, "clinic-a")), tmp.file("node.out"));
        CHECK(r.status == 1);
        CHECK_THAT(r.output, Catch::Matchers::Contains("belongs to node 'clinic-b'"));
    }
    SECTION("the data directory is a file") {
        tmp.write("data", "not a folder");
        auto r = test::run_command(node_command(write_config(tmp, port)), tmp.file("node.out"));
        CHECK(r.status == 1);
        CHECK_THAT(r.output, Catch::Matchers::Contains("data_dir_unusable"));
    }
}

TEST_CASE("under systemd the node says READY once it listens, pings the watchdog while its store answers, and says STOPPING", "[agent][node]") {
    test::temp_dir tmp;
    const auto port = test::free_loopback_port();
    const auto cfg = write_config(tmp, port);
    // systemd's side: a datagram socket at NOTIFY_SOCKET, and a 300 ms watchdog.
    const std::string sock_path = tmp.file("notify.sock");
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(sock_path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setenv("NOTIFY_SOCKET", sock_path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "300000", 1);
    test::child_process node(node_command(cfg), tmp.file("node.out"));
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    auto next = [fd]() -> std::string {
        char buf[256];
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    };
    std::vector<std::string> got;
    for (int i = 0; i < 60 && std::count(got.begin(), got.end(), "WATCHDOG=1") < 3; ++i)
        if (auto m = next(); !m.empty()) got.push_back(m);
    INFO(node.output());
    REQUIRE_FALSE(got.empty());
    CHECK(got.front() == "READY=1");
    CHECK(std::count(got.begin(), got.end(), "WATCHDOG=1") >= 3);
    // Ready means listening.
    CHECK_THAT(get(port, "/readyz"), Catch::Matchers::StartsWith("HTTP/1.1 200"));
    ::kill(node.pid(), SIGTERM);
    std::string last;
    for (int i = 0; i < 30 && last != "STOPPING=1"; ++i) last = next();
    CHECK(last == "STOPPING=1");
    CHECK(node.wait(std::chrono::seconds(30)) == 0);
    ::close(fd);
}
