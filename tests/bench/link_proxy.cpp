// link_proxy: the test suite's fault proxy (tests/support/fault_proxy.hpp) as a program, for
// chaos runs and link benchmarks that put a slow, unreliable link between two edgesync nodes.
//
//   link_proxy --upstream PORT [--listen PORT] [--seed N] [--latency-ms MS] [--jitter-ms MS]
//              [--bytes-per-second N] [--reset P] [--stall P] [--stall-ms MS] [--truncate P]
//              [--max-offset BYTES] [--outage FROM_MS-TO_MS]...
//
// Loopback only: it listens on 127.0.0.1 and forwards to 127.0.0.1:PORT. It prints the port and
// the seed, then runs until SIGINT or SIGTERM and prints what it did.
#include "support/fault_proxy.hpp"

#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

namespace {

int usage(const char* why) {
    std::fprintf(stderr, "link_proxy: %s\nusage: link_proxy --upstream PORT [--listen PORT] [--seed N] [--latency-ms MS] [--jitter-ms MS]\n"
                         "  [--bytes-per-second N] [--reset P] [--stall P] [--stall-ms MS] [--truncate P] [--max-offset BYTES]\n"
                         "  [--outage FROM_MS-TO_MS]...\n", why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace edgesync;
    test::link_faults f;
    std::uint16_t upstream = 0, listen = 0;
    std::uint64_t seed = std::random_device{}();
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string_view a = argv[i];
            if (i + 1 >= argc) return usage("every option takes a value");
            const std::string v = argv[++i];
            if (a == "--upstream") upstream = static_cast<std::uint16_t>(std::stoul(v));
            else if (a == "--listen") listen = static_cast<std::uint16_t>(std::stoul(v));
            else if (a == "--seed") seed = std::stoull(v);
            else if (a == "--latency-ms") f.latency = std::chrono::milliseconds(std::stoll(v));
            else if (a == "--jitter-ms") f.jitter = std::chrono::milliseconds(std::stoll(v));
            else if (a == "--bytes-per-second") f.bytes_per_second = std::stoull(v);
            else if (a == "--reset") f.reset = std::stod(v);
            else if (a == "--stall") f.stall = std::stod(v);
            else if (a == "--stall-ms") f.stall_for = std::chrono::milliseconds(std::stoll(v));
            else if (a == "--truncate") f.truncate = std::stod(v);
            else if (a == "--max-offset") f.max_offset = std::stoull(v);
            else if (a == "--outage") {
                const auto dash = v.find('-');
                if (dash == std::string::npos) return usage("--outage takes FROM_MS-TO_MS");
                f.outages.push_back({std::chrono::milliseconds(std::stoll(v.substr(0, dash))), std::chrono::milliseconds(std::stoll(v.substr(dash + 1)))});
            } else {
                return usage(("unknown option " + std::string(a)).c_str());
            }
        }
    } catch (const std::exception&) {
        return usage("a value is not a number");
    }
    if (upstream == 0) return usage("--upstream PORT is required");
    if (f.reset + f.stall + f.truncate > 1.0) return usage("--reset, --stall and --truncate add up to more than 1");
    boost::asio::io_context ioc;
    test::fault_proxy proxy(ioc, {boost::asio::ip::make_address("127.0.0.1"), upstream}, seed, f, listen);
    std::printf("link_proxy listening on 127.0.0.1:%u -> 127.0.0.1:%u, seed %llu\n", proxy.port(), upstream, static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
    ioc.run();
    const auto& s = proxy.stats();
    std::printf("link_proxy seed %llu: %llu connections, %llu resets, %llu stalls, %llu truncations, %llu refused and %llu cut in outages, "
                "%llu bytes up, %llu bytes down\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(s.connections), static_cast<unsigned long long>(s.resets),
                static_cast<unsigned long long>(s.stalls), static_cast<unsigned long long>(s.truncations),
                static_cast<unsigned long long>(s.refused_in_outage), static_cast<unsigned long long>(s.cut_by_outage),
                static_cast<unsigned long long>(s.bytes_up), static_cast<unsigned long long>(s.bytes_down));
    return 0;
}
