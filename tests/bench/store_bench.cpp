// store_bench: write and read throughput of the store and its memory as the database grows, for
// issue 4's targets (>= 20,000 resource+event+marker writes/s; RSS flat from 10k to 1M resources).
// A benchmark, not a test: it prints figures and asserts nothing about speed.
//
//   store_bench [--dir DIR] [--resources N] [--body BYTES] [--writers C] [--reads N] [--batch N]
//               [--cache-mib N] [--page-size N] [--normal] [--keep]
//
// Writes N pulled changes (store::apply: resource + fingerprint + feed event + marker, one atomic
// unit each) of a FHIR Patient of BYTES bytes, from C coroutines on one io_context thread — the
// way the pull loop and HTTP handlers use the store — so the writer thread group-commits them.
// Uuids are scattered (not sequential), as real ones are. At 10k, 100k, 250k, 500k and 1M
// resources it prints the write rate since the previous mark, VmRSS, VmHWM and the file sizes.
// Then it times point reads by key through the reader thread (one read per job, C in flight) and
// inside one job (SQLite alone). The database is left in DIR (default: a fresh folder in /tmp) and
// removed at the end unless --keep.
#include "store/store.hpp"
#include "tests/bench/proc_status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

using namespace edgesync;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64: scatters the uuids
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::string uuid_of(std::uint64_t n) {
    const std::uint64_t a = mix(n), b = mix(n ^ 0x5555);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>((b >> 48) & 0xfff), static_cast<unsigned long long>(b & 0xffffffffffffull));
    return buf;
}

store::pulled_change change(std::uint64_t n, std::size_t body_bytes) {
    store::pulled_change c;
    c.write.category = "patient";
    c.write.key = {"fhir", "Patient", uuid_of(n)};
    std::string body = "{\"resourceType\":\"Patient\",\"id\":\"" + c.write.key.uuid +
                       "\",\"meta\":{\"versionId\":\"1\"},\"active\":true,\"name\":[{\"family\":\"F" + std::to_string(n) +
                       "\"}],\"text\":{\"div\":\"";
    // Filler made once: the benchmark measures the store, not a text generator.
    static const std::string filler = [] {
        std::string f(1 << 16, 'a');
        std::uint64_t x = 1;
        for (char& ch : f) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            ch = static_cast<char>('a' + (x >> 59) % 26);
        }
        return f;
    }();
    if (body.size() + 4 < body_bytes) body.append(filler, mix(n) % (filler.size() - body_bytes), body_bytes - 4 - body.size());
    body += "\"}}";
    c.write.body = std::move(body);
    c.write.fingerprint = std::to_string(mix(n));
    c.write.origin_node = c.write.arrived_from = c.peer = "parent";
    c.event = {"Patient", "{\"fhir\":\"/ws/fhir2/R4/Patient/" + c.write.key.uuid + "\"}", "", ""};
    c.feed_marker = {"http://parent/ws/atomfeed/patient/recent", "tag:atomfeed.ict4h.org:" + std::to_string(n),
                     "http://parent/ws/atomfeed/patient/1"};
    return c;
}

std::uintmax_t file_size(const std::string& p) {
    std::error_code ec;
    auto s = std::filesystem::file_size(p, ec);
    return ec ? 0 : s;
}

// Shared by the coroutines of one phase; all run on the one io_context thread.
struct progress {
    std::uint64_t total = 0, issued = 0, done = 0, failed = 0, hits = 0, rng = 12345;
    std::size_t body = 0;
    std::function<void()> on_done;  // called after each completed write
};

// Coroutine bodies are free functions taking their state by reference: a lambda coroutine's
// captures live in the closure, which co_spawn does not keep alive.
asio::awaitable<void> write_loop(store::store& s, progress& p) {
    while (p.issued < p.total) {
        const std::uint64_t n = p.issued++;
        auto r = co_await s.apply(change(n, p.body));
        if (!r) ++p.failed;
        ++p.done;
        p.on_done();
    }
}

asio::awaitable<void> read_loop(store::store& s, progress& p, std::uint64_t resources) {
    while (p.issued < p.total) {
        ++p.issued;
        p.rng = mix(p.rng);
        store::resource_key key{"fhir", "Patient", uuid_of(p.rng % resources)};
        auto r = co_await s.get(std::move(key));
        if (r && *r) ++p.hits;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    std::uint64_t resources = 1'000'000, reads = 200'000;
    std::size_t body = 2048, writers = 512;
    bool normal = false, keep = false;
    std::uint32_t max_batch = 256;
    std::uint64_t cache_mib = 8;
    std::uint32_t page_size = 0;  // 0: the store's default
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--dir") dir = next();
        else if (a == "--resources") resources = std::stoull(next());
        else if (a == "--body") body = std::stoul(next());
        else if (a == "--writers") writers = std::stoul(next());
        else if (a == "--reads") reads = std::stoull(next());
        else if (a == "--normal") normal = true;
        else if (a == "--cache-mib") cache_mib = std::stoull(next());
        else if (a == "--page-size") page_size = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--batch") max_batch = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--keep") keep = true;
        else {
            std::fprintf(stderr, "usage: store_bench [--dir DIR] [--resources N] [--body BYTES] [--writers C] [--reads N] [--batch N] [--cache-mib N] [--page-size N] [--normal] [--keep]\n");
            return 2;
        }
    }
    const bool own_dir = dir.empty();
    if (own_dir) {
        char tmpl[] = "/tmp/store_bench.XXXXXX";
        if (!::mkdtemp(tmpl)) return 1;
        dir = tmpl;
    }
    store::store_options o;
    o.path = dir + "/edgesync.db";
    o.synchronous_full = !normal;
    o.max_batch = max_batch;
    o.cache_bytes = cache_mib * 1024 * 1024;
    if (page_size) o.page_size = page_size;
    o.integrity = store::store_options::check::off;
    std::string why;
    auto opened = store::store::open(o, why);
    if (!opened) {
        std::fprintf(stderr, "open: %s: %s\n", opened.error().message().c_str(), why.c_str());
        return 1;
    }
    auto& s = **opened;
    std::printf("store_bench: %llu resources of %zu B, %zu writers, synchronous=%s, cache %llu KiB, page %u B, max_batch %u\n",
                static_cast<unsigned long long>(resources), body, writers, normal ? "NORMAL" : "FULL",
                static_cast<unsigned long long>(o.cache_bytes / 1024), o.page_size, o.max_batch);
    std::printf("%10s %12s %12s %10s %10s %12s %10s\n", "resources", "writes/s", "cumul w/s", "rss_kib", "hwm_kib",
                "db_bytes", "wal_bytes");

    asio::io_context ioc(1);
    std::uint64_t mark_idx = 0;
    const std::uint64_t marks[] = {10'000, 100'000, 250'000, 500'000, 1'000'000, 2'000'000, 5'000'000};
    const auto t0 = clock_type::now();
    auto t_mark = t0;
    std::uint64_t done_at_mark = 0;
    auto report = [&](std::uint64_t n) {
        const auto now = clock_type::now();
        const double since = std::chrono::duration<double>(now - t_mark).count();
        const double all = std::chrono::duration<double>(now - t0).count();
        std::printf("%10llu %12.0f %12.0f %10ld %10ld %12ju %10ju\n", static_cast<unsigned long long>(n),
                    static_cast<double>(n - done_at_mark) / since, static_cast<double>(n) / all, bench::proc_status_kib("VmRSS:"),
                    bench::proc_status_kib("VmHWM:"), file_size(o.path), file_size(o.path + "-wal"));
        std::fflush(stdout);
        t_mark = now;
        done_at_mark = n;
    };
    progress wp;
    wp.total = resources;
    wp.body = body;
    wp.on_done = [&] {
        while (mark_idx < std::size(marks) && wp.done >= marks[mark_idx] && marks[mark_idx] <= resources) report(marks[mark_idx++]);
    };
    for (std::size_t w = 0; w < writers; ++w) asio::co_spawn(ioc, write_loop(s, wp), asio::detached);
    ioc.run();
    if (done_at_mark != resources) report(resources);
    const std::uint64_t done = wp.done, failed = wp.failed;
    const double write_secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    const auto st = s.status();
    std::printf("writes: %llu units in %.1f s = %.0f/s, %llu failed, %llu transactions (%.1f units each)\n",
                static_cast<unsigned long long>(done), write_secs, static_cast<double>(done) / write_secs,
                static_cast<unsigned long long>(failed), static_cast<unsigned long long>(st.commits),
                static_cast<double>(st.jobs_written) / static_cast<double>(std::max<std::uint64_t>(st.commits, 1)));

    // Point reads by key through the reader thread, `writers` in flight.
    ioc.restart();
    progress rp;
    rp.total = reads;
    const auto r0 = clock_type::now();
    for (std::size_t w = 0; w < std::min<std::size_t>(writers, 64); ++w) asio::co_spawn(ioc, read_loop(s, rp, resources), asio::detached);
    ioc.run();
    const std::uint64_t hits = rp.hits;
    const double rsecs = std::chrono::duration<double>(clock_type::now() - r0).count();
    std::printf("point reads via the reader thread (one per job, 64 in flight): %.0f/s (%llu of %llu found)\n",
                static_cast<double>(reads) / rsecs, static_cast<unsigned long long>(hits), static_cast<unsigned long long>(reads));

    // The same lookups inside one job: SQLite's own speed on this store.
    const auto j0 = clock_type::now();
    auto inside = s.read<std::uint64_t>([&](store::sql::connection& db) -> store::result<std::uint64_t> {
        std::uint64_t found = 0, x = 999;
        for (std::uint64_t i = 0; i < reads; ++i) {
            x = mix(x);
            auto r = store::get_resource(db, {"fhir", "Patient", uuid_of(x % resources)});
            if (r && *r) ++found;
        }
        return found;
    }, asio::use_future).get();
    const double jsecs = std::chrono::duration<double>(clock_type::now() - j0).count();
    std::printf("point reads inside one job: %.0f/s (%llu found)\n", static_cast<double>(reads) / jsecs,
                static_cast<unsigned long long>(inside ? *inside : 0));
    std::printf("final: rss_kib=%ld hwm_kib=%ld db_bytes=%ju (%.0f B/resource)\n", bench::proc_status_kib("VmRSS:"), bench::proc_status_kib("VmHWM:"),
                file_size(o.path), static_cast<double>(file_size(o.path)) / static_cast<double>(resources));
    opened->reset();
    if (own_dir && !keep) std::filesystem::remove_all(dir);
    return failed == 0 ? 0 : 1;
}
