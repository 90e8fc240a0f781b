// node_bench: what a node costs when it is not moving data (issue 10, scenario e). Starts real
// `edgesync run` processes on loopback and reports:
//   - cold start to ready: from fork+exec until GET /readyz answers 200, with a fresh data folder
//     (the store is created) and again with the folder that run left (the store is opened and
//     checked), the median and the fastest of --runs each;
//   - the RSS of a node once ready, and after --idle-s seconds of idling;
//   - the same for a child that syncs with that node every 2 s in both directions (its sync loops,
//     kept-alive connections and timers), after --idle-s seconds.
// A benchmark: it prints figures (the last line is one JSON object) and asserts nothing.
//
//   node_bench EDGESYNC_BINARY [--runs N] [--idle-s S]
#include "net/auth.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "tests/bench/loopback_http.hpp"
#include "tests/bench/proc_status.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace edgesync;
using clock_type = std::chrono::steady_clock;

namespace {

// Milliseconds from the start of `argv` until /readyz answers 200; negative when it does not in 30 s.
double start_until_ready(std::unique_ptr<test::child_process>& out, std::vector<std::string> argv, const std::string& log, std::uint16_t port) {
    const auto t0 = clock_type::now();
    out = std::make_unique<test::child_process>(std::move(argv), log);
    while (clock_type::now() - t0 < std::chrono::seconds(30)) {
        if (bench::loopback_status(port, "GET", "/readyz").find(" 200") != std::string::npos)
            return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return -1;
}

std::string node_config(const std::string& id, std::uint16_t port, const std::string& parent_part) {
    return "{\"instance_id\": \"" + id + "\", \"data_dir\": \"" + id + "\", \"log\": {\"level\": \"warn\"},"
           "\"server\": {\"listen\": \"127.0.0.1:" + std::to_string(port) + "\", \"users\": ["
           "{\"name\": \"child\", \"token_sha256\": \"" + net::sha256_hex("child-token") + "\", \"roles\": [\"sync-peer\"]}]}" +
           parent_part + "}\n";
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? -1 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return std::fprintf(stderr, "usage: node_bench EDGESYNC_BINARY [--runs N] [--idle-s S]\n"), 2;
    int runs = 5, idle_s = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const int v = std::atoi(argv[i + 1]);
        if (k == "--runs") runs = std::max(1, v);
        else if (k == "--idle-s") idle_s = std::max(1, v);
        else return std::fprintf(stderr, "node_bench: unknown option %s\n", k.c_str()), 2;
    }
    const std::string binary = argv[1];
    test::temp_dir tmp;

    // Cold starts: each run a fresh folder (created), then the same folder again (reopened).
    std::vector<double> fresh, reopen;
    for (int r = 0; r < runs; ++r) {
        const auto port = test::free_loopback_port();
        const std::string name = "cold" + std::to_string(r);
        tmp.write(name + ".jsonc", node_config(name, port, ""));
        for (auto* into : {&fresh, &reopen}) {
            std::unique_ptr<test::child_process> p;
            const double ms = start_until_ready(p, {binary, "run", "-c", tmp.file(name + ".jsonc")}, tmp.file(name + ".out"), port);
            if (ms < 0) return std::fprintf(stderr, "node_bench: the node did not get ready in 30 s (see %s)\n", tmp.file(name + ".out").c_str()), 1;
            into->push_back(ms);
            p->terminate();
        }
    }

    // A parent and a child that syncs with it every 2 s, both idle apart from that.
    const auto parent_port = test::free_loopback_port(), child_port = test::free_loopback_port();
    tmp.write("parent.jsonc", node_config("parent", parent_port, ""));
    tmp.write("child.jsonc", node_config("child", child_port,
                                         ", \"parent\": {\"url\": \"http://127.0.0.1:" + std::to_string(parent_port) +
                                             "\", \"token\": \"child-token\"}, \"pull\": {\"interval\": \"2s\"}, \"push\": {\"interval\": \"2s\"}"));
    std::unique_ptr<test::child_process> parent, child;
    if (start_until_ready(parent, {binary, "run", "-c", tmp.file("parent.jsonc")}, tmp.file("parent.out"), parent_port) < 0 ||
        start_until_ready(child, {binary, "run", "-c", tmp.file("child.jsonc")}, tmp.file("child.out"), child_port) < 0)
        return std::fprintf(stderr, "node_bench: the parent or the child did not get ready\n"), 1;
    const long ready_rss = bench::proc_status_kib("VmRSS:", parent->pid());
    std::this_thread::sleep_for(std::chrono::seconds(idle_s));
    const long idle_rss = bench::proc_status_kib("VmRSS:", parent->pid()), idle_hwm = bench::proc_status_kib("VmHWM:", parent->pid());
    // Of the RSS: the program's own pages (file-backed, clean: the kernel may drop and reread
    // them) and the anonymous memory (heap, stacks, the store's cache) that is really spent.
    const long idle_file = bench::proc_status_kib("RssFile:", parent->pid()), idle_anon = bench::proc_status_kib("RssAnon:", parent->pid());
    const long child_rss = bench::proc_status_kib("VmRSS:", child->pid()), child_hwm = bench::proc_status_kib("VmHWM:", child->pid());
    const long child_anon = bench::proc_status_kib("RssAnon:", child->pid());
    child->terminate();
    parent->terminate();

    std::printf("cold start to /readyz (%d runs): fresh data folder median %.1f ms (fastest %.1f), existing store median %.1f ms (fastest %.1f)\n",
                runs, median(fresh), *std::min_element(fresh.begin(), fresh.end()), median(reopen), *std::min_element(reopen.begin(), reopen.end()));
    std::printf("node RSS: %ld KiB when ready, %ld KiB after %d s idle (peak %ld KiB): %ld KiB the program's pages, %ld KiB anonymous\n", ready_rss,
                idle_rss, idle_s, idle_hwm, idle_file, idle_anon);
    std::printf("child syncing every 2 s: %ld KiB after %d s (peak %ld KiB), %ld KiB anonymous\n", child_rss, idle_s, child_hwm, child_anon);
    std::printf("{\"bench\":\"node\",\"runs\":%d,\"cold_fresh_ms\":%.1f,\"cold_fresh_min_ms\":%.1f,\"cold_reopen_ms\":%.1f,\"cold_reopen_min_ms\":%.1f,"
                "\"ready_rss_kib\":%ld,\"idle_rss_kib\":%ld,\"idle_hwm_kib\":%ld,\"idle_file_kib\":%ld,\"idle_anon_kib\":%ld,\"idle_s\":%d,"
                "\"child_idle_rss_kib\":%ld,\"child_idle_hwm_kib\":%ld,\"child_idle_anon_kib\":%ld}\n",
                runs, median(fresh), *std::min_element(fresh.begin(), fresh.end()), median(reopen), *std::min_element(reopen.begin(), reopen.end()),
                ready_rss, idle_rss, idle_hwm, idle_file, idle_anon, idle_s, child_rss, child_hwm, child_anon);
    return 0;
}
