// fhir_bench: FHIR PUT and GET throughput of the node's API for generated 1–3 KB clinical resources
// (tests/bench/generated.hpp: Patients, Encounters, Observations) over keep-alive
// loopback connections, with p50/p99 latency and the process's peak RSS (issue 6). Server and
// clients share this process and its one io_context thread (plus the store's threads), as on a Pi
// that serves its own apps. A benchmark, not a test: it prints figures and asserts nothing.
//
//   fhir_bench [--requests N] [--concurrency C]
#include "agent/api/fhir.hpp"
#include "agent/common/log.hpp"
#include "net/auth.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"
#include "tests/bench/generated.hpp"
#include "tests/bench/proc_status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

struct phase {
    std::string method;
    std::uint64_t total = 0, issued = 0, failed = 0;
    std::size_t running = 0;  // client loops still going; the last one stops the io_context
    std::vector<double> latencies_ms;
};

asio::awaitable<void> client_loop(asio::io_context& ioc, net::http_client& client, std::string base, phase& ph) {
    while (ph.issued < ph.total) {
        const std::uint64_t n = ph.issued++;
        net::client_request req;
        req.method = ph.method == "PUT" ? http::verb::put : http::verb::get;
        const bench::clinical_resource res = bench::resource(n);
        req.url = base + "/" + std::string(res.type) + "/" + res.id;
        req.authorization = "Bearer bench-token";
        if (ph.method == "PUT") {
            req.body = res.body;
            req.headers.set(http::field::content_type, "application/fhir+json");
        }
        const auto t0 = clock_type::now();
        auto r = co_await client.request(std::move(req));
        ph.latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        if (!r || (r->status != 200 && r->status != 201)) ++ph.failed;
    }
    if (--ph.running == 0) ioc.stop();
}

void report(phase& ph, double secs) {
    std::sort(ph.latencies_ms.begin(), ph.latencies_ms.end());
    auto pct = [&](double q) { return ph.latencies_ms.empty() ? 0.0 : ph.latencies_ms[static_cast<std::size_t>(q * static_cast<double>(ph.latencies_ms.size() - 1))]; };
    std::printf("%-4s %8llu requests in %6.2f s = %8.0f req/s   p50 %6.2f ms   p99 %6.2f ms   failed %llu\n", ph.method.c_str(),
                static_cast<unsigned long long>(ph.total), secs, static_cast<double>(ph.total) / secs, pct(0.50), pct(0.99),
                static_cast<unsigned long long>(ph.failed));
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t requests = 20'000;
    std::size_t concurrency = 8;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--requests" && i + 1 < argc) requests = std::stoull(argv[++i]);
        else if (a == "--concurrency" && i + 1 < argc) concurrency = std::stoul(argv[++i]);
        else {
            std::fprintf(stderr, "usage: fhir_bench [--requests N] [--concurrency C]\n");
            return 2;
        }
    }
    log::set_level(log::level::warn);
    char tmpl[] = "/tmp/fhir_bench.XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    const std::string dir = tmpl;
    int rc = 0;
    {
        store::store_options o;
        o.path = dir + "/edgesync.db";
        std::string why;
        auto st = store::store::open(o, why);
        if (!st) {
            std::fprintf(stderr, "open: %s\n", why.c_str());
            return 1;
        }
        asio::io_context ioc(1);
        auto routes = std::make_shared<net::router>();
        api::fhir_params p;
        p.read_roles = p.write_roles = net::role_local_app;
        p.node_id = "bench";
        p.categories = {{"Patient", "patient"}, {"Encounter", "encounter"}, {"Observation", "observation"}};
        api::add_fhir_routes(*routes, **st, p);
        std::vector<net::user_entry> users{{"bench", "", net::sha256_hex("bench-token"), net::role_local_app, {}}};
        net::http_server server(ioc.get_executor(), net::server_params{}, routes, std::make_shared<net::authenticator>(users));
        if (server.listen({asio::ip::make_address("127.0.0.1"), 0})) return 1;
        const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + "/ws/fhir2/R4";
        net::client_params cp;
        cp.max_connections_per_origin = static_cast<std::uint32_t>(concurrency);
        cp.use_env_proxy = false;
        net::http_client client(ioc.get_executor(), cp);
        std::printf("fhir_bench: %llu requests per method, %zu concurrent keep-alive connections, 1-3 KB Patients, Encounters and Observations, synchronous=FULL\n",
                    static_cast<unsigned long long>(requests), concurrency);
        for (const char* method : {"PUT", "GET"}) {
            phase ph;
            ph.method = method;
            ph.total = requests;
            ph.latencies_ms.reserve(requests);
            ph.running = concurrency;
            ioc.restart();
            for (std::size_t c = 0; c < concurrency; ++c) asio::co_spawn(ioc, client_loop(ioc, client, base, ph), asio::detached);
            const auto t0 = clock_type::now();
            ioc.run_for(std::chrono::minutes(10));  // the last client loop stops it
            report(ph, std::chrono::duration<double>(clock_type::now() - t0).count());
            if (ph.failed) rc = 1;
        }
        std::printf("peak RSS (server, store and clients together): %ld KiB\n", bench::proc_status_kib("VmHWM:"));
    }
    std::filesystem::remove_all(dir);
    return rc;
}
