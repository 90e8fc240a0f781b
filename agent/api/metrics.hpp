// GET /metrics in the Prometheus text format (0.0.4), role admin: what the node has done since it
// started (sync runs and their outcomes per direction and category, HTTP requests by area and
// status class with a latency histogram, bytes in and out) and what it holds now (resources, the
// store's size, the retry queue and open conflicts, events per category, each direction's last
// success and whether it is running).
//
// Threading: counters are updated and read on the node's one thread (the io_context); no locks.
// Labels are bounded: areas are a fixed set, categories come from the config.
#pragma once

#include "agent/sync/replicator.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"

#include <array>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace edgesync::store {
class store;
}

namespace edgesync::api {

class metrics {
public:
    // A finished sync run of `direction`.
    void sync_run(std::string_view direction, const sync::replicate_result& r, double seconds);
    // One HTTP request answered by this node's server.
    void http_request(const net::server_params::request_done& d);

    // A direction's live state, for gauges: read at each scrape from what the node's loops keep
    // (the same state GET /admin/api/status shows), never copied here.
    struct direction_gauges {
        bool enabled = false, running = false;
        double last_success_unix = 0;  // 0 = never
    };
    std::function<std::map<std::string, direction_gauges>()> directions;

    // The text for /metrics: the counters plus `current` (store gauges) appended.
    std::string render(const std::string& current) const;

    // The area a path belongs to (a bounded label): fhir, rest, atomfeed, admin, metrics, health, other.
    static std::string_view area_of(std::string_view path);

private:
    struct sync_counts {
        std::uint64_t entries = 0, written = 0, agreed = 0, kept = 0, failed = 0, conflicts = 0;
    };
    std::map<std::pair<std::string, std::string>, sync_counts> sync_;  // (direction, category)
    std::map<std::pair<std::string, std::string>, std::uint64_t> runs_;  // (direction, "ok"|"error")
    std::map<std::string, std::uint64_t> retried_, recovered_;            // by direction
    static constexpr std::array<double, 11> k_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    struct http_counts {
        std::uint64_t requests = 0, bytes_in = 0, bytes_out = 0;
        std::array<std::uint64_t, k_buckets.size()> le{};  // cumulative counts per bucket
        double seconds = 0;
    };
    std::map<std::pair<std::string, std::string>, http_counts> http_;  // (area, "2xx"...)
};

// Adds GET /metrics (role `roles`). `m` must outlive the router.
void add_metrics_route(net::router& r, store::store& st, const metrics& m, std::uint8_t roles);

}  // namespace edgesync::api
