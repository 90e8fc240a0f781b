// sync_bench: the initial pull of N generated clinical resources (tests/bench/generated.hpp: 1–3 KB
// Patients, Encounters and Observations, in the categories patient, encounter and observation) by a
// child from a parent node
// (`edgesync run`, a separate process) over loopback, optionally through a delay proxy that adds
// a round-trip time and caps the bandwidth; resources/s, bytes on the wire, the child's peak RSS,
// and the lower bounds (the round trips the feed protocol cannot avoid, and the bytes at the bandwidth). The
// child (replicate() into a fresh store) and the proxy run in this process; the parent does not.
// With --push 1 the other way round: the child's store holds the N resources and pushes them up
// (in Bundle batches of PUTs when --batch > 1, else one request at a time).
// A benchmark: it prints figures and asserts nothing.
//
//   sync_bench EDGESYNC_BINARY [--resources N] [--rtt-ms R] [--kbit K] [--concurrency C]
//              [--batch B] [--page-size P] [--push 1] [--incremental N] [--gzip-level L]
// --incremental N: after the initial pull, N resources spread over the store change at the parent
// and the child pulls again; that run's time must depend on N, not on the store's size.
// --gzip-level L: the parent's server.gzip_level (1-9; default: the node's default).
#include "agent/backend/embedded.hpp"
#include "agent/backend/openmrs.hpp"
#include "agent/common/log.hpp"
#include "agent/sync/fingerprint.hpp"
#include "agent/sync/replicator.hpp"
#include "net/auth.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "tests/bench/generated.hpp"
#include "tests/bench/loopback_http.hpp"
#include "tests/bench/proc_status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>

#include <malloc.h>
#include <string>

using namespace edgesync;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// ---- the link: one-way delay rtt/2 per direction, optional bandwidth cap, byte counts ------------

struct link_params {
    std::chrono::milliseconds one_way{0};
    std::uint64_t bits_per_second = 0;  // 0 = uncapped
};
struct link_counts {
    std::uint64_t up = 0, down = 0, connections = 0;
    // When each direction of the link is free again: one link, whatever the number of connections
    // over it (all on this process's one thread).
    clock_type::time_point up_free{}, down_free{};
};

// Copies `from` to `to`, each piece delivered `one_way` after it was read and no faster than the
// bandwidth allows. A reader and a writer coroutine share the queue, so pieces in flight overlap
// the delay (a pipe, not stop-and-wait). `free_at` is the direction's, shared by every connection.
asio::awaitable<void> pipe(tcp::socket& from, tcp::socket& to, link_params lp, std::uint64_t& counter, clock_type::time_point& free_at) {
    struct piece {
        clock_type::time_point due;
        std::string data;
    };
    auto q = std::make_shared<std::deque<piece>>();
    auto wake = std::make_shared<asio::steady_timer>(from.get_executor(), clock_type::time_point::max());
    auto done = std::make_shared<bool>(false);
    auto writer = [](tcp::socket& out, std::shared_ptr<std::deque<piece>> queue, std::shared_ptr<asio::steady_timer> w,
                     std::shared_ptr<bool> finished, link_params l, clock_type::time_point& link_free) -> asio::awaitable<void> {
        asio::steady_timer t(out.get_executor());
        for (;;) {
            if (queue->empty()) {
                if (*finished) break;
                w->expires_at(clock_type::time_point::max());
                boost::system::error_code ec;
                co_await w->async_wait(asio::redirect_error(asio::use_awaitable, ec));
                continue;
            }
            piece p = std::move(queue->front());
            queue->pop_front();
            // The piece takes the link when it is free (after any other connection's), for as
            // long as its bytes need at the bandwidth, and arrives one_way after it was sent.
            if (l.bits_per_second) {
                const auto start = std::max(p.due - l.one_way, std::max(link_free, clock_type::now() - l.one_way));
                link_free = start + std::chrono::microseconds(static_cast<std::int64_t>(p.data.size() * 8 * 1'000'000 / l.bits_per_second));
                p.due = link_free + l.one_way;
            }
            if (p.due > clock_type::now()) {
                t.expires_at(p.due);
                boost::system::error_code ec;
                co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            boost::system::error_code ec;
            co_await asio::async_write(out, asio::buffer(p.data), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
        }
        boost::system::error_code ignored;
        out.shutdown(tcp::socket::shutdown_send, ignored);
    };
    asio::co_spawn(from.get_executor(), writer(to, q, wake, done, lp, free_at), asio::detached);
    char buf[16 * 1024];
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        if (n) {
            counter += n;
            q->push_back({clock_type::now() + lp.one_way, std::string(buf, n)});
            wake->cancel();
        }
        if (ec) break;
    }
    *done = true;
    wake->cancel();
}

asio::awaitable<void> proxy_connection(tcp::socket down, tcp::endpoint upstream, link_params lp, link_counts& counts) {
    tcp::socket up(down.get_executor());
    boost::system::error_code ec;
    co_await up.async_connect(upstream, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ++counts.connections;
    // No Nagle: a proxy that holds small writes back adds delayed-ACK stalls the link would not have.
    down.set_option(tcp::no_delay(true), ec);
    up.set_option(tcp::no_delay(true), ec);
    auto a = std::make_shared<tcp::socket>(std::move(down));
    auto b = std::make_shared<tcp::socket>(std::move(up));
    auto both = [](std::shared_ptr<tcp::socket> x, std::shared_ptr<tcp::socket> y, link_params l, std::uint64_t& c,
                   clock_type::time_point& free_at) -> asio::awaitable<void> { co_await pipe(*x, *y, l, c, free_at); };
    asio::co_spawn(a->get_executor(), both(a, b, lp, counts.up, counts.up_free), asio::detached);
    co_await both(b, a, lp, counts.down, counts.down_free);
}

asio::awaitable<void> proxy_accept(tcp::acceptor& acc, tcp::endpoint upstream, link_params lp, link_counts& counts) {
    for (;;) {
        boost::system::error_code ec;
        tcp::socket s = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        asio::co_spawn(acc.get_executor(), proxy_connection(std::move(s), upstream, lp, counts), asio::detached);
    }
}

// ---- the parent ------------------------------------------------------------------------------------

// The local app's request to the parent: its status line ("" if nothing answered).
std::string http_call(std::uint16_t port, const std::string& method, const std::string& path, const std::string& body) {
    return bench::loopback_status(port, method, path, "Authorization: Bearer app-token\r\nContent-Type: application/fhir+json\r\n", body);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return std::fprintf(stderr, "usage: sync_bench EDGESYNC_BINARY [--resources N] [--rtt-ms R] [--kbit K] [--concurrency C] [--batch B] [--page-size P] [--push 1] [--incremental N] [--gzip-level L]\n"), 2;
    std::uint64_t resources = 10'000, rtt_ms = 0, kbit = 0, page_size = 200;
    std::uint32_t concurrency = 4, batch = 50;
    bool push = false;
    std::uint64_t incremental = 0;
    std::uint64_t gzip_level = 0;  // the parent's server.gzip_level; 0 = its default
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const std::uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
        if (k == "--resources") resources = v;
        else if (k == "--rtt-ms") rtt_ms = v;
        else if (k == "--kbit") kbit = v;
        else if (k == "--concurrency") concurrency = static_cast<std::uint32_t>(v);
        else if (k == "--batch") batch = static_cast<std::uint32_t>(v);
        else if (k == "--page-size") page_size = v;
        else if (k == "--push") push = v != 0;
        else if (k == "--incremental") incremental = v;
        else if (k == "--gzip-level") gzip_level = v;
        else return std::fprintf(stderr, "sync_bench: unknown option %s\n", k.c_str()), 2;
    }
    log::set_level(log::level::warn);

    // The parent: a real node process, seeded through its FHIR API in transactions of 1,000.
    test::temp_dir tmp;
    const auto parent_port = test::free_loopback_port();
    tmp.write("parent.jsonc", "{\"instance_id\": \"parent\", \"data_dir\": \"parent\", \"log\": {\"level\": \"warn\"},"
                              "\"feeds\": {\"page_size\": " + std::to_string(page_size) + "},"
                              "\"server\": {" + (gzip_level ? "\"gzip_level\": " + std::to_string(gzip_level) + ", " : std::string()) +
                              "\"listen\": \"127.0.0.1:" + std::to_string(parent_port) + "\", \"users\": ["
                              "{\"name\": \"child\", \"token_sha256\": \"" + net::sha256_hex("child-token") + "\", \"roles\": [\"sync-peer\"]},"
                              "{\"name\": \"app\", \"token_sha256\": \"" + net::sha256_hex("app-token") + "\", \"roles\": [\"local-app\"]}]}}\n");
    test::child_process parent({argv[1], "run", "-c", tmp.file("parent.jsonc")}, tmp.file("parent.out"));
    if (!test::wait_for_port(parent_port, std::chrono::seconds(30))) return std::fprintf(stderr, "sync_bench: the parent did not start\n"), 1;
    const auto seed0 = clock_type::now();
    for (std::uint64_t first = 0; first < resources && !push; first += 1000) {
        std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[)";
        for (std::uint64_t n = first; n < std::min(resources, first + 1000); ++n) {
            const bench::clinical_resource r = bench::resource(n);
            bundle += (n > first ? "," : "") + std::string(R"({"resource":)") + r.body + R"(,"request":{"method":"PUT","url":")" +
                      std::string(r.type) + "/" + r.id + R"("}})";
        }
        bundle += "]}";
        const std::string status = http_call(parent_port, "POST", "/ws/fhir2/R4", bundle);
        if (status.find(" 200") == std::string::npos) return std::fprintf(stderr, "sync_bench: seeding failed: %s\n", status.c_str()), 1;
    }
    const double seed_s = std::chrono::duration<double>(clock_type::now() - seed0).count();

    // The link and the child.
    asio::io_context ioc(1);
    tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    link_params lp{std::chrono::milliseconds(rtt_ms / 2), kbit * 1000};
    link_counts counts;
    asio::co_spawn(ioc, proxy_accept(acc, {asio::ip::make_address("127.0.0.1"), parent_port}, lp, counts), asio::detached);
    store::store_options so;
    so.path = tmp.file("child.db");
    std::string why;
    auto child = store::store::open(so, why);
    if (!child) return std::fprintf(stderr, "sync_bench: %s\n", why.c_str()), 1;
    net::client_params cp;
    cp.use_env_proxy = false;
    cp.max_connections_per_origin = std::max<std::uint32_t>(4, concurrency + 1);
    cp.gzip_requests = false;
    net::http_client client(ioc.get_executor(), cp);
    backend::openmrs_params pp;
    pp.base_url = "http://127.0.0.1:" + std::to_string(acc.local_endpoint().port());
    pp.authorization = net::bearer_authorization("child-token");
    pp.peer = "parent";
    pp.batch_size = batch;
    auto up = backend::make_openmrs_backend(client, **child, pp);
    auto local = backend::make_embedded_backend(**child, backend::embedded_params{});
    if (push) {
        // The child's own resources, written as a local app would (one feed event each), in one job.
        auto job = [resources](store::write_context& c) -> store::result<bool> {
            for (std::uint64_t n = 0; n < resources; ++n) {
                bench::clinical_resource r = bench::resource(n);
                store::resource_write w;
                w.category = std::string(r.category);
                w.key = {"fhir", std::string(r.type), r.id};
                w.fingerprint = sync::fingerprint(boost::json::parse(r.body));
                w.body = std::move(r.body);
                w.origin_node = "child";
                const store::event_spec ev{std::string(r.type), R"({"fhir":"/ws/fhir2/R4/)" + std::string(r.type) + "/" + r.id + R"("})", "", ""};
                if (auto done = store::write_resource(c.db(), w, ev, c.new_uuid(), c.now()); !done) return store::result<bool>(boost::system::in_place_error, done.error());
            }
            return true;
        };
        std::optional<store::result<bool>> seeded;
        asio::co_spawn(ioc, (*child)->write<bool>(std::move(job)), [&](std::exception_ptr, store::result<bool> r) { seeded = r; });
        while (!seeded) ioc.run_one();
        if (!*seeded) return std::fprintf(stderr, "sync_bench: seeding the child failed\n"), 1;
        ioc.restart();
    }
    sync::replicate_params rp;
    rp.direction = push ? "push" : "pull";
    rp.peer = "parent";
    rp.node_id = "child";
    rp.categories = {{"patient", "fhir"}, {"encounter", "fhir"}, {"observation", "fhir"}};
    rp.concurrency = concurrency;

    // The child's peak is the pull's: what seeding the child's store (push) left on the heap goes
    // back to the system, and the peak is reset ("5" to clear_refs: Linux 4.0 and later).
    malloc_trim(0);
    std::ofstream("/proc/self/clear_refs") << "5";
    const long hwm0 = bench::proc_status_kib("VmHWM:");
    const store::store_status store0 = (*child)->status();
    const double child_cpu0 = bench::proc_cpu_seconds(), parent_cpu0 = bench::proc_cpu_seconds(parent.pid());
    const auto t0 = clock_type::now();
    sync::replicate_result result;
    auto& source = push ? *local : *up;
    auto& target = push ? *up : *local;
    asio::co_spawn(ioc, sync::replicate(source, target, **child, rp), [&](std::exception_ptr e, sync::replicate_result r) {
        if (e) std::fprintf(stderr, "sync_bench: the run threw\n");
        result = std::move(r);
        ioc.stop();
    });
    ioc.run();
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    const long hwm1 = bench::proc_status_kib("VmHWM:");
    const store::store_status store1 = (*child)->status();
    // This process's CPU covers the proxy too (a few percent on loopback).
    const double child_cpu = bench::proc_cpu_seconds() - child_cpu0, parent_cpu = bench::proc_cpu_seconds(parent.pid()) - parent_cpu0;

    std::size_t pages = 0;
    for (const auto& c : result.categories) pages += c.feed.pages;
    const std::size_t written = result.total(&sync::category_result::written);
    // What the protocol cannot avoid: each feed page is one round trip (the walk is sequential),
    // plus connecting, per category (the categories run one after another, dependencies first);
    // and every byte at the link's bandwidth.
    const double rtt = static_cast<double>(rtt_ms) / 1000.0;
    std::uint64_t per_category[3] = {0, 0, 0};
    for (std::uint64_t n = 0; n < resources; ++n) ++per_category[static_cast<std::size_t>(bench::kind_of(n))];
    std::uint64_t min_pages = 0, round_trips = 0;
    for (auto c : per_category) {
        min_pages += (c + page_size - 1) / page_size;
        round_trips += c ? (c + page_size - 1) / page_size + 1 : 0;
    }
    // Two bounds. The issue's: the round trips plus every byte at the bandwidth, one after the
    // other. And the strict one, which no client can beat: the page round trips happen while bytes
    // flow, and each direction of the link has its own bandwidth, so the larger of the two.
    const double bw = static_cast<double>(kbit * 1000);
    const double bytes_s = kbit ? static_cast<double>(counts.down + counts.up) * 8.0 / bw : 0.0;
    const double busiest_s = kbit ? static_cast<double>(std::max(counts.down, counts.up)) * 8.0 / bw : 0.0;
    const double bound_sum = static_cast<double>(round_trips) * rtt + bytes_s;
    const double bound = std::max(static_cast<double>(round_trips) * rtt, busiest_s);
    std::printf("%s seeded with %llu resources (%llu Patients, %llu Encounters, %llu Observations; 1-3 KB) in %.1f s; feed pages of %llu\n",
                push ? "child" : "parent", static_cast<unsigned long long>(resources), static_cast<unsigned long long>(per_category[0]),
                static_cast<unsigned long long>(per_category[1]), static_cast<unsigned long long>(per_category[2]), seed_s,
                static_cast<unsigned long long>(page_size));
    std::printf("link: rtt %llu ms, %s; child: concurrency %u, batch %u\n", static_cast<unsigned long long>(rtt_ms),
                kbit ? (std::to_string(kbit) + " kbit/s").c_str() : "uncapped", concurrency, batch);
    std::printf("%s %zu in %.2f s = %.0f resources/s; %zu page fetches, %llu connections\n", push ? "pushed" : "pulled", written, secs,
                static_cast<double>(written) / secs, pages, static_cast<unsigned long long>(counts.connections));
    std::printf("bytes: %.1f MB down, %.2f MB up (%.0f B down per resource)\n", static_cast<double>(counts.down) / 1e6, static_cast<double>(counts.up) / 1e6,
                static_cast<double>(counts.down) / static_cast<double>(std::max<std::size_t>(1, written)));
    std::printf("child peak RSS: %ld KiB (before the pull %ld KiB); its store: %llu writes in %llu transactions\n", hwm1, hwm0,
                static_cast<unsigned long long>(store1.jobs_written - store0.jobs_written), static_cast<unsigned long long>(store1.commits - store0.commits));
    std::string threads;
    for (const auto& [tid, s] : bench::thread_cpu_seconds()) threads += (threads.empty() ? "" : ", ") + std::to_string(s).substr(0, 4);
    std::printf("CPU: child %.2f s (proxy included; by thread since start: %s), parent %.2f s: %.0f + %.0f us per resource\n", child_cpu, threads.c_str(), parent_cpu,
                child_cpu * 1e6 / static_cast<double>(std::max<std::size_t>(1, written)), parent_cpu * 1e6 / static_cast<double>(std::max<std::size_t>(1, written)));
    if ((rtt_ms || kbit) && !push)
        std::printf("lower bound %.1f s = max(%llu round trips (%llu pages) x rtt, the busier direction's bytes / bandwidth): %.2fx of it; "
                    "round trips + all bytes / bandwidth: %.1f s, %.2fx of that\n",
                    bound, static_cast<unsigned long long>(round_trips), static_cast<unsigned long long>(min_pages), secs / std::max(bound, 1e-9),
                    bound_sum, secs / std::max(bound_sum, 1e-9));
    // Push: the local feed costs nothing; every change must cross the link and be acknowledged:
    // one round trip at least, and the bytes. A client that waits for each batch's answer before
    // sending the next also pays a round trip per batch (this one keeps up to three out).
    const std::uint64_t requests = batch > 1 ? (resources + batch - 1) / batch : resources;
    const double push_bound = std::max(rtt, busiest_s), push_bound_sum = static_cast<double>(requests) * rtt + bytes_s;
    if ((rtt_ms || kbit) && push)
        std::printf("lower bound %.1f s = max(rtt, the busier direction's bytes / bandwidth): %.2fx of it; "
                    "one round trip per write batch (%llu; a client that waits for each answer) + all bytes / bandwidth: %.1f s, %.2fx of that\n",
                    push_bound, secs / std::max(push_bound, 1e-9), static_cast<unsigned long long>(requests), push_bound_sum,
                    secs / std::max(push_bound_sum, 1e-9));
    if (result.error) std::printf("run error: %s (%s)\n", result.error.message().c_str(), result.detail.c_str());
    bool incremental_ok = true;
    double inc_ms = -1;
    std::uint64_t inc_changed = 0, inc_down = 0, inc_up = 0;
    if (incremental && !push && !result.error) {
        // N changes spread evenly over the ids (and over the three types: the k-th is step*k + k%10),
        // sent as one batch (not timed), then one pull.
        std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[)";
        const std::uint64_t step = std::max<std::uint64_t>(1, resources / incremental);
        std::uint64_t changed = 0;
        for (std::uint64_t k = 0; k * step + k % 10 < resources && changed < incremental; ++k, ++changed) {
            const std::uint64_t n = k * step + k % 10;
            const bench::clinical_resource r = bench::resource(n);
            bundle += (changed ? "," : "") + std::string(R"({"resource":)") + bench::changed_body(n) + R"(,"request":{"method":"PUT","url":")" +
                      std::string(r.type) + "/" + r.id + R"("}})";
        }
        bundle += "]}";
        const std::string status = http_call(parent_port, "POST", "/ws/fhir2/R4", bundle);
        if (status.find(" 200") == std::string::npos) return std::fprintf(stderr, "sync_bench: changing failed: %s\n", status.c_str()), 1;
        const auto down0 = counts.down, up0 = counts.up;
        const auto t1 = clock_type::now();
        sync::replicate_result again;
        ioc.restart();
        asio::co_spawn(ioc, sync::replicate(*up, *local, **child, rp), [&](std::exception_ptr e, sync::replicate_result r) {
            if (e) std::fprintf(stderr, "sync_bench: the incremental run threw\n");
            again = std::move(r);
            ioc.stop();
        });
        ioc.run();
        const double isecs = std::chrono::duration<double>(clock_type::now() - t1).count();
        const std::size_t iwritten = again.total(&sync::category_result::written);
        std::printf("incremental: %llu changed of %llu, pulled in %.0f ms, %zu written; %.1f KB down, %.1f KB up\n",
                    static_cast<unsigned long long>(changed), static_cast<unsigned long long>(resources), isecs * 1000.0, iwritten,
                    static_cast<double>(counts.down - down0) / 1e3, static_cast<double>(counts.up - up0) / 1e3);
        incremental_ok = !again.error && iwritten == changed;
        inc_ms = isecs * 1000.0;
        inc_changed = changed;
        inc_down = counts.down - down0;
        inc_up = counts.up - up0;
        if (again.error) std::printf("incremental run error: %s (%s)\n", again.error.message().c_str(), again.detail.c_str());
    }
    const long parent_hwm = bench::proc_status_kib("VmHWM:", parent.pid());
    std::printf("parent peak RSS: %ld KiB (seeding included)\n", parent_hwm);
    parent.terminate();
    const bool ok = !result.error && written == resources && incremental_ok;
    // One JSON object for tests/bench/run_all.sh.
    std::printf("{\"bench\":\"sync\",\"direction\":\"%s\",\"resources\":%llu,\"rtt_ms\":%llu,\"kbit\":%llu,\"concurrency\":%u,\"batch\":%u,"
                "\"page_size\":%llu,\"gzip_level\":%llu,\"seconds\":%.3f,\"per_s\":%.0f,\"pages\":%zu,\"connections\":%llu,\"down_bytes\":%llu,\"up_bytes\":%llu,"
                "\"child_hwm_kib\":%ld,\"child_hwm_before_kib\":%ld,\"parent_hwm_kib\":%ld,\"bound_s\":%.3f,\"bound_sum_s\":%.3f,\"round_trips\":%llu,\"incremental_changed\":%llu,"
                "\"incremental_ms\":%.1f,\"incremental_down_bytes\":%llu,\"incremental_up_bytes\":%llu,\"child_cpu_s\":%.3f,\"parent_cpu_s\":%.3f,\"ok\":%s}\n",
                push ? "push" : "pull", static_cast<unsigned long long>(resources), static_cast<unsigned long long>(rtt_ms),
                static_cast<unsigned long long>(kbit), concurrency, batch, static_cast<unsigned long long>(page_size), static_cast<unsigned long long>(gzip_level), secs,
                static_cast<double>(written) / secs, pages, static_cast<unsigned long long>(counts.connections),
                static_cast<unsigned long long>(counts.down), static_cast<unsigned long long>(counts.up), hwm1, hwm0, parent_hwm,
                rtt_ms || kbit ? (push ? push_bound : bound) : 0.0, rtt_ms || kbit ? (push ? push_bound_sum : bound_sum) : 0.0,
                static_cast<unsigned long long>(push ? requests : round_trips), static_cast<unsigned long long>(inc_changed), inc_ms,
                static_cast<unsigned long long>(inc_down), static_cast<unsigned long long>(inc_up), child_cpu, parent_cpu, ok ? "true" : "false");
    return ok ? 0 : 1;
}
