// The link-fault proxy itself: its plan is a pure function of the seed, and each fault it applies
// is the one planned, to the byte.
#include "support/canned_server.hpp"
#include "support/fault_proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <thread>

using namespace edgesync;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// The proxy and its upstream on their own thread; the test talks to them with blocking sockets.
struct rig {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
    test::canned_server upstream{ioc};
    std::unique_ptr<test::fault_proxy> proxy;
    std::thread runner;

    rig(std::uint64_t seed, test::link_faults faults, std::size_t replies, std::size_t bytes) {
        for (std::size_t i = 0; i < replies; ++i) upstream.push({std::string(bytes, static_cast<char>('a' + i % 26))});
        proxy = std::make_unique<test::fault_proxy>(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream.port()), seed, std::move(faults));
        runner = std::thread([this] { ioc.run(); });
    }
    // The thread stops first; the proxy and upstream are then destroyed with no thread running
    // their context, and their coroutines with the context itself.
    ~rig() {
        work.reset();
        ioc.stop();
        runner.join();
    }
    struct fetched {
        std::string body;
        boost::system::error_code end;  // how the read ended: eof, or the reset
    };
    // One request through the proxy; everything until the connection ends.
    fetched fetch() const {
        asio::io_context local;
        tcp::socket s(local);
        s.connect({asio::ip::make_address("127.0.0.1"), proxy->port()});
        const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        boost::system::error_code ec;
        asio::write(s, asio::buffer(req), ec);
        fetched out;
        if (ec) {
            // Reset before the request went out (a connection cut the moment it was accepted): the
            // write reports it, and a read after that would only see the end of the stream.
            out.end = ec == asio::error::broken_pipe ? asio::error::connection_reset : ec;
            return out;
        }
        std::array<char, 8192> buf;
        for (;;) {
            const auto n = s.read_some(asio::buffer(buf), ec);
            out.body.append(buf.data(), n);
            if (ec) break;
        }
        out.end = ec;
        return out;
    }
};

// A seed whose first connection has `what` on the response (found with the pure plan).
std::uint64_t seed_for(test::connection_fate::kind what, const test::link_faults& f) {
    for (std::uint64_t seed = 1; seed < 10'000; ++seed) {
        test::fault_plan plan(seed, f);
        auto fate = plan.next_connection();
        if (fate.what == what && fate.downstream && fate.offset > 0) return seed;
    }
    FAIL("no seed found");
    return 0;
}

}  // namespace

TEST_CASE("fault plan: the same seed gives the same fates and delays, another seed others", "[support][fault_proxy]") {
    test::link_faults f;
    f.reset = 0.2;
    f.stall = 0.1;
    f.truncate = 0.1;
    f.latency = 50ms;
    f.jitter = 40ms;
    auto run = [&](std::uint64_t seed) {
        test::fault_plan plan(seed, f);
        std::vector<test::connection_fate> fates;
        std::vector<std::chrono::milliseconds> delays;
        for (int i = 0; i < 1000; ++i) {
            fates.push_back(plan.next_connection());
            delays.push_back(plan.next_delay());
        }
        return std::pair{fates, delays};
    };
    const auto a = run(42), b = run(42), c = run(43);
    CHECK(a == b);
    CHECK(a.first != c.first);
    std::size_t resets = 0, clean = 0;
    for (const auto& x : a.first) {
        resets += x.what == test::connection_fate::kind::reset;
        clean += x.what == test::connection_fate::kind::clean;
        CHECK(x.offset < f.max_offset);
    }
    CHECK(resets > 150);  // about 200 of 1,000
    CHECK(resets < 250);
    CHECK(clean > 520);  // about 600
    CHECK(clean < 680);
    for (const auto d : a.second) CHECK((d >= 50ms && d < 90ms));
    test::link_faults outage;
    outage.outages = {{1000ms, 2000ms}};
    test::fault_plan p(1, outage);
    CHECK_FALSE(p.in_outage(999ms));
    CHECK(p.in_outage(1000ms));
    CHECK(p.in_outage(1999ms));
    CHECK_FALSE(p.in_outage(2000ms));
}

TEST_CASE("fault proxy: a planned reset cuts the response at exactly its byte offset, and the client sees a reset", "[support][fault_proxy]") {
    test::link_faults f;
    f.reset = 1;
    f.max_offset = 40'000;
    const auto seed = seed_for(test::connection_fate::kind::reset, f);
    const auto planned = test::fault_plan(seed, f).next_connection();
    rig r(seed, f, 1, 100'000);
    const auto got = r.fetch();
    INFO("seed " << seed << ", fate " << test::to_string(planned));
    CHECK(got.body.size() == planned.offset);
    CHECK(got.body == std::string(planned.offset, 'a'));
    CHECK(got.end == asio::error::connection_reset);
}

TEST_CASE("fault proxy: a truncated response ends cleanly after its planned bytes", "[support][fault_proxy]") {
    test::link_faults f;
    f.truncate = 1;
    f.max_offset = 40'000;
    const auto seed = seed_for(test::connection_fate::kind::truncate, f);
    const auto planned = test::fault_plan(seed, f).next_connection();
    rig r(seed, f, 1, 100'000);
    const auto got = r.fetch();
    INFO("seed " << seed << ", fate " << test::to_string(planned));
    CHECK(got.body.size() == planned.offset);
    CHECK(got.end == asio::error::eof);
}

TEST_CASE("fault proxy: a stall holds the response for its time, then every byte arrives", "[support][fault_proxy]") {
    test::link_faults f;
    f.stall = 1;
    f.stall_for = 400ms;
    f.max_offset = 40'000;
    const auto seed = seed_for(test::connection_fate::kind::stall, f);
    rig r(seed, f, 1, 100'000);
    const auto t0 = std::chrono::steady_clock::now();
    const auto got = r.fetch();
    CHECK(std::chrono::steady_clock::now() - t0 >= 400ms);  // a lower bound: a slow machine only adds
    CHECK(got.body == std::string(100'000, 'a'));
    CHECK(got.end == asio::error::eof);
}

TEST_CASE("fault proxy: latency and the bandwidth cap delay a clean transfer at least as the link would, and lose nothing", "[support][fault_proxy]") {
    test::link_faults f;
    f.latency = 100ms;
    f.bytes_per_second = 1'000'000;
    rig r(7, f, 1, 300'000);
    const auto t0 = std::chrono::steady_clock::now();
    const auto got = r.fetch();
    // The request's way up and the response's way down (200 ms), plus 300 kB at 1 MB/s.
    CHECK(std::chrono::steady_clock::now() - t0 >= 480ms);
    CHECK(got.body == std::string(300'000, 'a'));
    CHECK(got.end == asio::error::eof);
}

TEST_CASE("fault proxy: during a scripted outage connections are reset, and the link works again after it", "[support][fault_proxy]") {
    test::link_faults f;
    f.outages = {{0ms, 600ms}};
    rig r(3, f, 2, 5'000);
    const auto during = r.fetch();
    CHECK(during.body.empty());
    CHECK(during.end == asio::error::connection_reset);
    std::this_thread::sleep_for(700ms);
    const auto after = r.fetch();
    CHECK(after.body == std::string(5'000, 'a'));
}
