// Bundle reader benchmark: a generated batch Bundle of N 2 KB Patients, produced and parsed in
// 64 KiB pieces (as it would arrive from a socket) by api::bundle_reader, then the same text parsed
// whole by json::parse. Reports MB/s and how much each grew the peak RSS (VmHWM).
//   bundle_bench [entries=50000]
#include "agent/api/bundle_reader.hpp"
#include "tests/bench/proc_status.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace edgesync;
namespace json = boost::json;

namespace {

std::string entry(std::size_t i) {
    std::string id = "p" + std::to_string(i);
    std::string text(1800, 'x');
    return R"({"fullUrl":"Patient/)" + id + R"(","resource":{"resourceType":"Patient","id":")" + id +
           R"(","name":[{"family":"Family","given":["Given"]}],"text":{"status":"generated","div":")" + text +
           R"("}},"request":{"method":"PUT","url":"Patient/)" + id + R"("}})";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 50'000;
    const long hwm0 = bench::proc_status_kib("VmHWM:");

    // Streamed: the document is produced piece by piece and never exists whole.
    std::size_t seen = 0, bytes = 0;
    api::bundle_reader reader([&](json::value v, std::size_t) -> boost::system::error_code {
        if (v.is_object()) ++seen;
        return {};
    });
    auto t0 = std::chrono::steady_clock::now();
    std::string piece = R"({"resourceType":"Bundle","type":"batch","entry":[)";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) piece += ",";
        piece += entry(i);
        if (piece.size() >= 64 * 1024 || i + 1 == n) {
            if (i + 1 == n) piece += "]}";
            bytes += piece.size();
            if (auto ec = reader.write(piece)) return std::fprintf(stderr, "bundle_bench: %s\n", ec.message().c_str()), 1;
            piece.clear();
        }
    }
    if (auto ec = reader.finish()) return std::fprintf(stderr, "bundle_bench: %s\n", ec.message().c_str()), 1;
    const double streamed_s = seconds_since(t0);
    const long hwm_streamed = bench::proc_status_kib("VmHWM:");

    // Whole: the same text held and parsed into one DOM.
    std::string doc = R"({"resourceType":"Bundle","type":"batch","entry":[)";
    for (std::size_t i = 0; i < n; ++i) doc += (i ? "," : "") + entry(i);
    doc += "]}";
    const long hwm_text = bench::proc_status_kib("VmHWM:");
    t0 = std::chrono::steady_clock::now();
    json::value whole = json::parse(doc);
    const double whole_s = seconds_since(t0);
    const long hwm_whole = bench::proc_status_kib("VmHWM:");

    std::printf("entries %zu, %.1f MB\n", seen, static_cast<double>(bytes) / 1e6);
    std::printf("bundle_reader (64 KiB pieces): %.1f MB/s, peak RSS grew %ld KiB\n", static_cast<double>(bytes) / 1e6 / streamed_s,
                hwm_streamed - hwm0);
    std::printf("json::parse (whole text):      %.1f MB/s, peak RSS grew %ld KiB (text %ld KiB + DOM %ld KiB)\n",
                static_cast<double>(bytes) / 1e6 / whole_s, hwm_whole - hwm_streamed, hwm_text - hwm_streamed, hwm_whole - hwm_text);
    return whole.as_object().at("entry").as_array().size() == seen ? 0 : 1;
}
