#include "agent/api/metrics.hpp"

#include "store/store.hpp"
#include "store/summary.hpp"

#include <cstdio>

namespace edgesync::api {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// A label value, escaped as the text format requires.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

void head(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string_view metrics::area_of(std::string_view path) {
    auto starts = [&](std::string_view p) { return path.substr(0, p.size()) == p; };
    if (starts("/ws/fhir2/")) return "fhir";
    if (starts("/ws/rest/")) return "rest";
    if (starts("/ws/atomfeed/")) return "atomfeed";
    if (starts("/admin")) return "admin";
    if (path == "/metrics") return "metrics";
    if (path == "/healthz" || path == "/readyz") return "health";
    return "other";
}

void metrics::sync_run(std::string_view direction, const sync::replicate_result& r, double /*seconds*/) {
    const std::string d(direction);
    for (const auto& c : r.categories) {
        auto& s = sync_[{d, c.category}];
        s.entries += c.entries;
        s.written += c.written;
        s.agreed += c.agreed;
        s.kept += c.kept;
        s.failed += c.failed;
        s.conflicts += c.conflicts;
    }
    retried_[d] += r.retried.entries;
    recovered_[d] += r.recovered;
    ++runs_[{d, r.error ? "error" : "ok"}];
}

void metrics::http_request(const net::server_params::request_done& d) {
    const std::string cls = std::to_string(d.status / 100) + "xx";
    auto& h = http_[{std::string(area_of(d.path)), cls}];
    ++h.requests;
    h.bytes_in += d.bytes_in;
    h.bytes_out += d.bytes_out;
    const double s = std::chrono::duration<double>(d.elapsed).count();
    h.seconds += s;
    for (std::size_t i = 0; i < k_buckets.size(); ++i)
        if (s <= k_buckets[i]) ++h.le[i];
}

std::string metrics::render(const std::string& current) const {
    std::string out;
    struct field {
        const char* name;
        std::uint64_t sync_counts::*member;
        const char* help;
    };
    for (const field f : {field{"edgesync_sync_entries_total", &sync_counts::entries, "Feed entries handled."},
                          field{"edgesync_sync_written_total", &sync_counts::written, "Changes written to the target."},
                          field{"edgesync_sync_agreed_total", &sync_counts::agreed, "Entries whose two sides were already equal."},
                          field{"edgesync_sync_kept_total", &sync_counts::kept, "Entries where the target's version was kept, or echoes skipped."},
                          field{"edgesync_sync_failed_total", &sync_counts::failed, "Entries queued for retry."},
                          field{"edgesync_sync_conflicts_total", &sync_counts::conflicts, "Entries parked as conflicts."}}) {
        head(out, f.name, "counter", f.help);
        for (const auto& [k, s] : sync_)
            out += std::string(f.name) + "{direction=\"" + label(k.first) + "\",category=\"" + label(k.second) + "\"} " + std::to_string(s.*f.member) + "\n";
    }
    head(out, "edgesync_sync_runs_total", "counter", "Sync runs by direction and result.");
    for (const auto& [k, n] : runs_) out += "edgesync_sync_runs_total{direction=\"" + label(k.first) + "\",result=\"" + k.second + "\"} " + std::to_string(n) + "\n";
    head(out, "edgesync_sync_retried_total", "counter", "Queued failures retried.");
    for (const auto& [d, n] : retried_) out += "edgesync_sync_retried_total{direction=\"" + label(d) + "\"} " + std::to_string(n) + "\n";
    head(out, "edgesync_sync_recovered_total", "counter", "Retried failures that went through.");
    for (const auto& [d, n] : recovered_) out += "edgesync_sync_recovered_total{direction=\"" + label(d) + "\"} " + std::to_string(n) + "\n";
    const auto gauges = directions ? directions() : std::map<std::string, direction_gauges>{};
    head(out, "edgesync_sync_running", "gauge", "1 while a run of the direction is in progress.");
    for (const auto& [d, g] : gauges) out += "edgesync_sync_running{direction=\"" + label(d) + "\"} " + (g.running ? "1" : "0") + "\n";
    head(out, "edgesync_sync_enabled", "gauge", "1 when the direction is configured.");
    for (const auto& [d, g] : gauges) out += "edgesync_sync_enabled{direction=\"" + label(d) + "\"} " + (g.enabled ? "1" : "0") + "\n";
    head(out, "edgesync_sync_last_success_timestamp_seconds", "gauge", "When the direction last completed a run without error (0: never).");
    for (const auto& [d, g] : gauges)
        out += "edgesync_sync_last_success_timestamp_seconds{direction=\"" + label(d) + "\"} " + number(g.last_success_unix) + "\n";

    head(out, "edgesync_http_requests_total", "counter", "HTTP requests answered, by area and status class.");
    for (const auto& [k, h] : http_)
        out += "edgesync_http_requests_total{area=\"" + k.first + "\",code=\"" + k.second + "\"} " + std::to_string(h.requests) + "\n";
    head(out, "edgesync_http_request_bytes_total", "counter", "Request body bytes received.");
    for (const auto& [k, h] : http_)
        out += "edgesync_http_request_bytes_total{area=\"" + k.first + "\",code=\"" + k.second + "\"} " + std::to_string(h.bytes_in) + "\n";
    head(out, "edgesync_http_response_bytes_total", "counter", "Response body bytes sent.");
    for (const auto& [k, h] : http_)
        out += "edgesync_http_response_bytes_total{area=\"" + k.first + "\",code=\"" + k.second + "\"} " + std::to_string(h.bytes_out) + "\n";
    head(out, "edgesync_http_request_duration_seconds", "histogram", "Time from a request's arrival to its response sent.");
    for (const auto& [k, h] : http_) {
        const std::string labels = "area=\"" + k.first + "\",code=\"" + k.second + "\"";
        for (std::size_t i = 0; i < k_buckets.size(); ++i)
            out += "edgesync_http_request_duration_seconds_bucket{" + labels + ",le=\"" + number(k_buckets[i]) + "\"} " + std::to_string(h.le[i]) + "\n";
        out += "edgesync_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(h.requests) + "\n";
        out += "edgesync_http_request_duration_seconds_sum{" + labels + "} " + number(h.seconds) + "\n";
        out += "edgesync_http_request_duration_seconds_count{" + labels + "} " + std::to_string(h.requests) + "\n";
    }
    return out + current;
}

void add_metrics_route(net::router& r, store::store& st, const metrics& m, std::uint8_t roles) {
    r.add(http::verb::get, "/metrics", roles, [&st, &m](net::request_context&) -> asio::awaitable<net::reply> {
        auto job = [](store::sql::connection& db) { return store::summarize(db); };
        auto got = co_await st.read<store::store_summary>(std::move(job));
        std::string now;
        head(now, "edgesync_store_up", "gauge", "1 when the store answered this scrape.");
        now += std::string("edgesync_store_up ") + (got ? "1" : "0") + "\n";
        if (got) {
            const auto& s = *got;
            head(now, "edgesync_store_resources", "gauge", "Live resources held.");
            now += "edgesync_store_resources " + std::to_string(s.resources) + "\n";
            head(now, "edgesync_store_tombstones", "gauge", "Deleted resources kept so the delete reaches children.");
            now += "edgesync_store_tombstones " + std::to_string(s.tombstones) + "\n";
            head(now, "edgesync_store_bytes", "gauge", "Bytes of the database in use.");
            now += "edgesync_store_bytes " + std::to_string(s.bytes) + "\n";
            head(now, "edgesync_queue_failed", "gauge", "Failed events waiting, by state.");
            now += "edgesync_queue_failed{state=\"pending\"} " + std::to_string(s.failed_pending) + "\n";
            now += "edgesync_queue_failed{state=\"parked\"} " + std::to_string(s.failed_parked) + "\n";
            head(now, "edgesync_conflicts_open", "gauge", "Conflicts waiting for an operator.");
            now += "edgesync_conflicts_open " + std::to_string(s.conflicts_open) + "\n";
            head(now, "edgesync_feed_events", "gauge", "Events in this node's own feed, by category.");
            for (const auto& [c, n] : s.events) now += "edgesync_feed_events{category=\"" + label(c) + "\"} " + std::to_string(n) + "\n";
        }
        net::reply rep = net::reply::text(http::status::ok, m.render(now));
        rep.headers.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        co_return rep;
    });
}

}  // namespace edgesync::api
