// feed_bench: the atom reader's parse throughput against expat alone on the same bytes, and its
// peak RSS while reading one page of 200,000 entries (issue 5: >= 60% of raw expat; peak within
// 2 MB of idle). A benchmark, not a test: it prints figures and asserts nothing.
//
//   feed_bench [--entries N] [--mb M]
//
// Phase 1 streams a page of N entries (default 200,000), generated 64 KiB at a time so the
// generator holds nothing, through the reader, and reports VmHWM before and after. Phase 2 builds
// an M MB page (default 50) in memory and times expat with no handlers, then our reader, over the
// same buffer in 64 KiB slices (best of 5 each).
#include "agent/feed/atom_reader.hpp"
#include "tests/bench/proc_status.hpp"

#include <expat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

using namespace edgesync;
using clock_type = std::chrono::steady_clock;

namespace {

const char* k_head =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\r\n"
    "  <title>Patient AOP</title>\r\n"
    "  <link rel=\"self\" type=\"application/atom+xml\" href=\"http://h/openmrs/ws/atomfeed/patient/recent\" />\r\n"
    "  <link rel=\"via\" type=\"application/atom+xml\" href=\"http://h/openmrs/ws/atomfeed/patient/1\" />\r\n"
    "  <id>bec795b1-3d17-451d-b43e-a094019f6984+1</id>\r\n  <updated>2024-03-05T09:14:27Z</updated>\r\n";

void append_entry(std::string& out, std::uint64_t i) {
    char uuid[40];
    std::snprintf(uuid, sizeof uuid, "%08llx-2d6f-4a51-9a0e-%012llx", static_cast<unsigned long long>(i & 0xffffffff),
                  static_cast<unsigned long long>(i * 2654435761u & 0xffffffffffffull));
    out += "  <entry>\r\n    <title>Patient</title>\r\n    <category term=\"patient\" />\r\n    <category term=\"UPDATED\" />\r\n"
           "    <id>tag:atomfeed.ict4h.org:";
    out += uuid;
    out += "</id>\r\n    <updated>2024-03-05T09:14:27Z</updated>\r\n    <published>2024-03-05T09:14:27Z</published>\r\n"
           "    <content type=\"application/vnd.atomfeed+xml\"><![CDATA[{\"rest\":\"/ws/rest/v1/patient/";
    out += uuid;
    out += "?v=full\",\"fhir\":\"/ws/fhir2/R4/Patient/";
    out += uuid;
    out += "\"}]]></content>\r\n  </entry>\r\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t entries = 200'000, mb = 50;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--entries" && i + 1 < argc) entries = std::stoull(argv[++i]);
        else if (a == "--mb" && i + 1 < argc) mb = std::stoull(argv[++i]);
        else {
            std::fprintf(stderr, "usage: feed_bench [--entries N] [--mb M]\n");
            return 2;
        }
    }

    // Phase 1: memory while streaming one huge page.
    feed::reader_limits limits;
    limits.max_entries = static_cast<std::uint32_t>(entries + 1);
    std::uint64_t seen = 0, bytes = 0;
    std::string chunk;
    chunk.reserve(80 * 1024);
    const long idle_rss = bench::proc_status_kib("VmRSS:"), idle_hwm = bench::proc_status_kib("VmHWM:");
    {
        feed::atom_reader r(limits, [&](feed::feed_entry&& e) { if (!e.id.empty()) ++seen; });
        chunk = k_head;
        boost::system::error_code ec;
        for (std::uint64_t i = 0; i < entries && !ec; ++i) {
            append_entry(chunk, i);
            if (chunk.size() >= 64 * 1024) {
                bytes += chunk.size();
                ec = r.feed(chunk);
                chunk.clear();
            }
        }
        chunk += "</feed>\r\n";
        bytes += chunk.size();
        if (!ec) ec = r.feed(chunk);
        if (!ec) ec = r.finish();
        if (ec) {
            std::fprintf(stderr, "parse failed: %s %s\n", ec.message().c_str(), r.error_detail().c_str());
            return 1;
        }
    }
    const long peak_hwm = bench::proc_status_kib("VmHWM:");
    std::printf("one page of %llu entries (%.1f MB) streamed: %llu entries read; VmRSS idle %ld KiB, VmHWM before %ld KiB, after %ld KiB (+%ld KiB)\n",
                static_cast<unsigned long long>(entries), static_cast<double>(bytes) / 1e6, static_cast<unsigned long long>(seen),
                idle_rss, idle_hwm, peak_hwm, peak_hwm - idle_hwm);

    // Phase 2: throughput on one in-memory buffer.
    std::string page = k_head;
    for (std::uint64_t i = 0; page.size() < mb * 1000 * 1000; ++i) append_entry(page, i);
    page += "</feed>\r\n";
    const std::uint64_t n_entries = [&] {
        std::uint64_t n = 0;
        for (std::size_t p = 0; (p = page.find("<entry>", p)) != std::string::npos; ++p) ++n;
        return n;
    }();
    constexpr std::size_t slice = 64 * 1024;
    auto best_of = [&](auto run) {
        double best = 1e18;
        for (int k = 0; k < 5; ++k) {
            const auto t0 = clock_type::now();
            run();
            best = std::min(best, std::chrono::duration<double>(clock_type::now() - t0).count());
        }
        return best;
    };
    const double expat_s = best_of([&] {
        XML_Parser p = XML_ParserCreateNS(nullptr, '\x01');
        for (std::size_t off = 0; off < page.size(); off += slice)
            XML_Parse(p, page.data() + off, static_cast<int>(std::min(slice, page.size() - off)), XML_FALSE);
        XML_Parse(p, nullptr, 0, XML_TRUE);
        XML_ParserFree(p);
    });
    limits.max_entries = static_cast<std::uint32_t>(n_entries + 1);
    std::uint64_t read_entries = 0;
    const double ours_s = best_of([&] {
        read_entries = 0;
        feed::atom_reader r(limits, [&](feed::feed_entry&&) { ++read_entries; });
        for (std::size_t off = 0; off < page.size(); off += slice) r.feed(std::string_view(page).substr(off, slice));
        r.finish();
    });
    const double mbytes = static_cast<double>(page.size()) / 1e6;
    std::printf("throughput on %.1f MB (%llu entries), best of 5: expat alone %.1f MB/s, our reader %.1f MB/s = %.0f%% (%.0f entries/s)\n",
                mbytes, static_cast<unsigned long long>(n_entries), mbytes / expat_s, mbytes / ours_s, 100.0 * expat_s / ours_s,
                static_cast<double>(read_entries) / ours_s);
    return read_entries == n_entries ? 0 : 1;
}
