// net_bench: throughput of our HTTP server and client, plain and TLS, for tests/bench/net_bench.sh.
// A benchmark, not a test: it prints figures and asserts nothing about speed.
//
//   net_bench serve [--tls CERT KEY]
//       our server on 127.0.0.1 (a free port, printed as "port N"); GET /small answers 64 bytes,
//       GET /stream/{MiB} streams that many MiB (chunked, 64 KiB writes). Runs until SIGINT or
//       SIGTERM, then prints "peak_rss_kib K".
//   net_bench get URL --requests N --concurrency C [--ca FILE]
//       N keep-alive GETs from C concurrent coroutines over at most C connections.
//   net_bench stream URL [--ca FILE]
//       one GET whose body is counted as it arrives (never stored).
// Client modes print one line: key=value figures, peak_rss_kib included.
#include "agent/common/log.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/tls.hpp"
#include "tests/bench/proc_status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

int usage() {
    std::fputs("usage: net_bench serve [--tls CERT KEY] | get URL --requests N --concurrency C [--ca FILE] | stream URL [--ca FILE]\n", stderr);
    return 2;
}

int serve(const std::vector<std::string>& args) {
    std::optional<std::pair<std::string, std::string>> tls_files;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--tls" && i + 2 < args.size()) {
            tls_files = {args[i + 1], args[i + 2]};
            i += 2;
        } else {
            return usage();
        }
    }
    asio::io_context ioc(1);
    auto routes = std::make_shared<net::router>();
    routes->add(http::verb::get, "/small", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, std::string(63, 'x') + "\n");
    });
    routes->add(http::verb::get, "/stream/{mib}", net::k_public, [](net::request_context& c) -> asio::awaitable<net::reply> {
        net::reply rep;
        rep.headers.set(http::field::content_type, "application/octet-stream");
        const std::size_t chunks = std::stoul(std::string(c.param("mib"))) * 16;
        rep.stream = [chunks](net::body_writer& w) -> asio::awaitable<error_code> {
            const std::string block(64 * 1024, 'b');
            for (std::size_t i = 0; i < chunks; ++i)
                if (auto ec = co_await w.write(block)) co_return ec;
            co_return error_code{};
        };
        co_return rep;
    });
    net::connection_wrapper wrap;
    if (tls_files) {
        net::tls_server_params p;
        p.cert_file = tls_files->first;
        p.key_file = tls_files->second;
        std::string why;
        auto cfg = net::make_server_tls(p, &why);
        if (!cfg) {
            std::fprintf(stderr, "net_bench: TLS: %s\n", why.c_str());
            return 1;
        }
        wrap = net::server_tls_wrapper(*cfg);
    }
    net::server_params sp;
    sp.max_connections = 512;
    net::http_server server(ioc.get_executor(), sp, routes, nullptr, wrap);
    if (auto ec = server.listen({asio::ip::make_address("127.0.0.1"), 0})) {
        std::fprintf(stderr, "net_bench: listen: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("port %u\n", server.local_endpoint().port());
    std::fflush(stdout);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const error_code&, int) { asio::co_spawn(ioc, server.stop(std::chrono::seconds(1)), log::on_task_exit{"stop"}); });
    ioc.run();
    std::printf("peak_rss_kib %ld\n", bench::proc_status_kib("VmHWM:"));
    return 0;
}

net::tls_wrapper client_tls(const std::string& ca) {
    if (ca.empty()) return {};
    net::tls_client_params p;
    p.ca_file = ca;
    auto cfg = net::make_client_tls(p);
    if (!cfg) {
        std::fprintf(stderr, "net_bench: cannot load CA %s\n", ca.c_str());
        std::exit(1);
    }
    return net::client_tls_wrapper(*cfg);
}

int get(const std::string& url, const std::vector<std::string>& args) {
    std::size_t requests = 10000, concurrency = 1;
    std::string ca;
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
        if (args[i] == "--requests") requests = std::stoul(args[i + 1]);
        else if (args[i] == "--concurrency") concurrency = std::stoul(args[i + 1]);
        else if (args[i] == "--ca") ca = args[i + 1];
        else return usage();
    }
    asio::io_context ioc(1);
    net::client_params params;
    params.use_env_proxy = false;
    params.max_connections_per_origin = static_cast<std::uint32_t>(concurrency);
    net::http_client client(ioc.get_executor(), params, client_tls(ca));
    std::size_t failed = 0;
    // Runs n requests spread over `concurrency` coroutines, to completion.
    auto batch = [&](std::size_t n) {
        std::size_t issued = 0;
        auto worker = [&]() -> asio::awaitable<void> {
            net::client_request req;
            req.url = url;
            while (issued < n) {
                ++issued;
                auto r = co_await client.request(req);
                if (!r || r->status != 200) ++failed;
            }
        };
        for (std::size_t i = 0; i < concurrency; ++i) asio::co_spawn(ioc, worker(), log::on_task_exit{"worker"});
        ioc.run();
        ioc.restart();
    };
    // Warm-up: connections (and TLS handshakes) are made before the clock starts.
    batch(std::min(requests, concurrency * 10));
    const auto t0 = std::chrono::steady_clock::now();
    batch(requests);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("requests=%zu concurrency=%zu failed=%zu seconds=%.3f rps=%.0f peak_rss_kib=%ld\n", requests, concurrency, failed, secs,
                static_cast<double>(requests) / secs, bench::proc_status_kib("VmHWM:"));
    return failed ? 1 : 0;
}

int stream(const std::string& url, const std::vector<std::string>& args) {
    std::string ca;
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
        if (args[i] == "--ca") ca = args[i + 1];
        else return usage();
    }
    asio::io_context ioc(1);
    net::client_params params;
    params.use_env_proxy = false;
    params.max_body_bytes = std::uint64_t(8) << 30;
    net::http_client client(ioc.get_executor(), params, client_tls(ca));
    std::uint64_t bytes = 0;
    error_code result;
    const auto t0 = std::chrono::steady_clock::now();
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        net::client_request req;
        req.url = url;
        result = co_await client.request_stream(req, {}, [&](std::string_view piece) {
            bytes += piece.size();
            return error_code{};
        });
    }, log::on_task_exit{"stream"});
    ioc.run();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (result) {
        std::fprintf(stderr, "net_bench: %s\n", result.message().c_str());
        return 1;
    }
    std::printf("bytes=%llu seconds=%.3f mib_per_s=%.1f peak_rss_kib=%ld\n", static_cast<unsigned long long>(bytes), secs,
                static_cast<double>(bytes) / 1048576.0 / secs, bench::proc_status_kib("VmHWM:"));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return usage();
    const std::string mode = args.front();
    args.erase(args.begin());
    if (mode == "serve") return serve(args);
    if (args.empty()) return usage();
    const std::string url = args.front();
    args.erase(args.begin());
    if (mode == "get") return get(url, args);
    if (mode == "stream") return stream(url, args);
    return usage();
}
