#include "agent/node.hpp"

#include "agent/api/admin.hpp"
#include "agent/api/metrics.hpp"
#include "agent/api/fhir.hpp"
#include "agent/backend/embedded.hpp"
#include "agent/backend/openmrs.hpp"
#include "agent/sync/replicator.hpp"
#include "agent/api/rest.hpp"
#include "agent/common/log.hpp"
#include "agent/feed/publisher.hpp"
#include "agent/api_setup.hpp"
#include "agent/net_setup.hpp"
#include "agent/store_setup.hpp"
#include "agent/version.hpp"
#include "net/http_server.hpp"
#include "store/data_dir.hpp"
#include "store/store.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace edgesync {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// systemd's notify protocol without libsystemd: one datagram to $NOTIFY_SOCKET ("@..." is an
// abstract socket). Does nothing when not started by systemd with Type=notify.
void sd_notify(const char* message) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t n = std::strlen(path);
    if (n >= sizeof(addr.sun_path)) return;
    std::memcpy(addr.sun_path, path, n);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    (void)::sendto(fd, message, std::strlen(message), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n));
    ::close(fd);
}

// The systemd watchdog ($WATCHDOG_USEC set): pings at half the interval, but only while the store
// still answers a read, so a node whose store thread is wedged stops pinging and is restarted.
asio::awaitable<void> watchdog_loop(store::store& st) {
    const char* usec = std::getenv("WATCHDOG_USEC");
    const long long interval_us = usec ? std::atoll(usec) : 0;
    if (interval_us <= 0) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto alive = co_await st.read<std::int64_t>([](store::sql::connection& db) { return store::count_resources(db, true); });
        if (alive) sd_notify("WATCHDOG=1");
        else log::warn("watchdog_skipped", {{"error", alive.error().message()}});
        timer.expires_after(std::chrono::microseconds(interval_us / 2));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // the node is stopping
    }
}

// Retention: prunes audit rows, retry-log rows and old tombstones at start and then hourly, in
// slices (store::prune bounds each call) so the writer is never held for long.
asio::awaitable<void> retention_loop(store::store& st, store::retention_policy policy) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        store::pruned total;
        for (int slice = 0; slice < 100; ++slice) {  // the job lambda is trivially copyable (store.hpp caveat)
            auto r = co_await st.write<store::pruned>(
                [policy](store::write_context& c) { return store::prune(c.db(), policy, c.now()); });
            if (!r) {
                log::warn("retention_failed", {{"error", r.error().message()}});
                break;
            }
            total.audit_rows += r->audit_rows;
            total.retry_log_rows += r->retry_log_rows;
            total.tombstones += r->tombstones;
            if (r->audit_rows + r->retry_log_rows + r->tombstones == 0) break;
        }
        if (total.audit_rows + total.retry_log_rows + total.tombstones > 0)
            log::info("retention_pruned", {{"audit_rows", total.audit_rows}, {"retry_log_rows", total.retry_log_rows},
                                           {"tombstones", total.tombstones}});
        timer.expires_after(std::chrono::hours(1));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // cancelled: the node is stopping
    }
}

// The sync schedule of one direction: a run, then a wait of interval * (1 ± jitter); after a run
// that a network or backend error stopped, an exponential backoff (with the same jitter) instead,
// reset by the next clean run. Cancelled when the node stops (between runs or inside one: every
// network wait has its deadline, and the marker only ever moves with committed data).
// Lets an operator start a direction's run now: wakes the loop's wait, or, during a run, makes the
// loop start the next one at once.
// What one direction's loop is doing and last did, for GET /admin/api/status. Owned by the node,
// written by the loop, read by the status route: both on the node's one thread.
struct direction_status {
    bool running = false;
    std::int64_t run_started = 0;  // Unix ms
    std::string category;          // in progress
    std::size_t entries = 0, written = 0;  // in progress, this category
    std::size_t run_entries = 0, run_written = 0;  // in progress, earlier categories of this run
    bool has_last = false;
    std::int64_t last_finished = 0, last_success = 0, last_ms = 0;
    std::size_t last_entries = 0, last_written = 0, last_failed = 0, last_conflicts = 0, last_recovered = 0;
    std::string last_error;
    std::int64_t next_run = 0;  // Unix ms, while waiting
    // Per category, as its feed was last read: when a run last reached the feed's end (Unix ms;
    // 0: never since start), how many events that run handled, and how its last run ended.
    struct feed_lag {
        std::int64_t caught_up_at = 0;
        std::size_t entries = 0;
        std::string error;
    };
    std::map<std::string, feed_lag> feeds;

    boost::json::object to_json(bool enabled) const {
        boost::json::object o{{"enabled", enabled}, {"running", running}};
        if (running)
            o["current"] = boost::json::object{{"started", run_started}, {"category", category}, {"entries", run_entries + entries},
                                               {"written", run_written + written}, {"category_entries", entries}};
        else if (next_run)
            o["next_run"] = next_run;
        if (has_last)
            o["last"] = boost::json::object{{"finished", last_finished}, {"ms", last_ms}, {"entries", last_entries}, {"written", last_written},
                                            {"failed", last_failed}, {"conflicts", last_conflicts}, {"recovered", last_recovered},
                                            {"error", last_error}};
        o["last_success"] = last_success;
        boost::json::object f;
        for (const auto& [name, lag] : feeds)
            f[name] = boost::json::object{{"caught_up_at", lag.caught_up_at}, {"entries", lag.entries}, {"error", lag.error}};
        o["feeds"] = std::move(f);
        return o;
    }
};

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct sync_trigger {
    asio::steady_timer* timer = nullptr;  // the loop's, while it waits
    bool requested = false;
    bool enabled = false;
    direction_status status;
    void fire() {
        requested = true;
        if (timer) timer->cancel();
    }
};

asio::awaitable<void> sync_loop(backend::local_backend& source, backend::local_backend& target, store::store& st,
                                sync::replicate_params p, config::direction_params d, sync_trigger& trigger, api::metrics& m) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::mt19937_64 rng{std::random_device{}()};
    std::chrono::milliseconds backoff = std::chrono::duration_cast<std::chrono::milliseconds>(d.backoff_initial);
    direction_status& status = trigger.status;
    p.on_progress = [&status](const sync::category_result& c) {
        if (c.category != status.category) {
            status.run_entries += status.entries;
            status.run_written += status.written;
            status.category = c.category;
        }
        status.entries = c.entries;
        status.written = c.written;
        if (c.finished) {
            auto& lag = status.feeds[c.category];
            lag.entries = c.entries;
            lag.error = c.feed.error ? c.feed.detail.empty() ? c.feed.error.message() : c.feed.detail : std::string();
            if (!c.feed.error && !c.feed.paused) lag.caught_up_at = unix_ms();
        }
    };
    for (;;) {
        const auto t0 = std::chrono::steady_clock::now();
        status.running = true;
        status.run_started = unix_ms();
        status.category.clear();
        status.entries = status.written = status.run_entries = status.run_written = 0;
        status.next_run = 0;
        auto r = co_await sync::replicate(source, target, st, p);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        using cr = sync::category_result;
        status.running = false;
        status.has_last = true;
        status.last_finished = unix_ms();
        status.last_ms = ms;
        status.last_entries = r.total(&cr::entries);
        status.last_written = r.total(&cr::written) + r.retried.written;
        status.last_failed = r.total(&cr::failed) + r.retried.failed;
        status.last_conflicts = r.total(&cr::conflicts) + r.retried.conflicts;
        status.last_recovered = r.recovered;
        status.last_error = r.error ? r.detail : std::string();
        if (!r.error) status.last_success = status.last_finished;
        m.sync_run(p.direction, r, static_cast<double>(ms) / 1000.0);
        log::info("sync_run", {{"direction", p.direction}, {"entries", r.total(&cr::entries)}, {"written", r.total(&cr::written)},
                               {"agreed", r.total(&cr::agreed)}, {"kept", r.total(&cr::kept)}, {"failed", r.total(&cr::failed)},
                               {"conflicts", r.total(&cr::conflicts)}, {"ms", ms},
                               {"error", r.error ? r.error.message() : std::string()}});
        std::chrono::milliseconds wait = std::chrono::duration_cast<std::chrono::milliseconds>(d.interval);
        if (r.error) {
            wait = backoff;
            backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(d.backoff_max));
        } else {
            backoff = std::chrono::duration_cast<std::chrono::milliseconds>(d.backoff_initial);
        }
        const double factor = std::uniform_real_distribution<double>(1.0 - d.jitter, 1.0 + d.jitter)(rng);
        if (trigger.requested) {  // asked for during the run
            trigger.requested = false;
            continue;
        }
        const std::chrono::milliseconds pause(static_cast<std::int64_t>(static_cast<double>(wait.count()) * factor));
        timer.expires_after(pause);
        status.next_run = unix_ms() + pause.count();
        boost::system::error_code ec;
        trigger.timer = &timer;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        trigger.timer = nullptr;
        if (ec && !trigger.requested) co_return;  // cancelled: the node is stopping
        trigger.requested = false;
    }
}

sync::replicate_params direction_params_of(const config::node_config& cfg, const config::direction_params& d, const char* direction) {
    sync::replicate_params p;
    p.direction = direction;
    p.peer = "parent";
    p.node_id = cfg.instance_id;
    for (const auto& c : d.categories) {
        auto client = d.clients.find(c);
        auto def = cfg.categories.find(c);
        p.categories.push_back({c, client != d.clients.end() ? client->second : def != cfg.categories.end() ? def->second.client : "fhir"});
    }
    p.concurrency = d.concurrency;
    p.policy = cfg.conflicts;
    p.continue_on_failure = cfg.retry.continue_on_failure;
    p.retry = agent::retry_policy(cfg);
    p.audit_success = cfg.audit.success;
    p.audit_failure = cfg.audit.failure;
    p.audit_payloads = cfg.audit.payloads;
    return p;
}

}  // namespace

int run_node(const config::node_config& cfg) {
    log::set_level(cfg.log_level);
    log::info("starting", {{"version", build().version},
                           {"revision", build().revision},
                           {"target", build().target},
                           {"instance_id", cfg.instance_id},
                           {"data_dir", cfg.data_dir},
                           {"backend", cfg.local.backend == config::backend_kind::embedded ? "embedded" : "openmrs"}});
    if (cfg.parent.tls.insecure) log::warn("parent_tls_insecure", {{"parent", cfg.parent.url}});

    boost::system::error_code ec;
    std::string what;
    store::data_dir_lock lock = store::claim_data_dir(cfg.data_dir, ec, what);
    if (!lock.held()) {
        log::error("data_dir_unusable", {{"step", what}, {"error", ec.message()}});
        return 1;
    }

    std::string why;
    auto opened = store::store::open(agent::store_options(cfg), why);
    if (!opened) {
        log::error("store_unusable", {{"error", opened.error().message()}, {"reason", why}});
        std::fprintf(stderr, "edgesync: %s: %s\n", opened.error().message().c_str(), why.c_str());
        return 1;
    }
    store::store& st = **opened;
    log::info("store_open", {{"path", agent::store_path(cfg)}, {"store_epoch", st.status().store_epoch}});

    asio::io_context ioc(1);
    // Claimed before anything listens: a SIGTERM during start-up (a supervisor stopping a node
    // that has just come up) is queued for the handler below instead of killing the process.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    auto tls = agent::make_server_tls(cfg.server, why);
    if (!tls) {
        log::error("server_tls_unusable", {{"error", tls.error().message()}, {"reason", why}});
        return 1;
    }
    // The local side, and the parent seen through the same interface (an edgesync node or an
    // OpenMRS server: both speak atomfeed, FHIR2 and REST v1).
    feed::reader_limits reader_limits;
    reader_limits.max_depth = cfg.limits.max_xml_depth;
    reader_limits.max_text_bytes = cfg.limits.max_xml_text_bytes;
    reader_limits.max_entries = cfg.limits.max_feed_entries;
    const auto feed_policy = cfg.feeds.on_marker_lost == config::marker_lost_policy::pause ? feed::on_marker_lost::pause : feed::on_marker_lost::restart;
    std::unique_ptr<net::http_client> local_client;
    std::unique_ptr<backend::local_backend> local;
    if (cfg.local.backend == config::backend_kind::openmrs) {
        net::client_params lp;
        lp.use_env_proxy = false;  // localhost
        local_client = std::make_unique<net::http_client>(ioc.get_executor(), lp);
        backend::openmrs_params op;
        op.base_url = cfg.local.openmrs_url;
        op.authorization = net::basic_authorization(cfg.local.openmrs_username, cfg.local.openmrs_password.reveal());
        op.limits = reader_limits;
        op.on_marker_lost = feed_policy;
        local = backend::make_openmrs_backend(*local_client, st, op);
    } else {
        local = backend::make_embedded_backend(st, backend::embedded_params{});
    }
    std::optional<agent::parent_link> parent_link;
    std::unique_ptr<backend::local_backend> parent;
    asio::cancellation_signal stop_pull, stop_push;
    if (cfg.has_parent()) {
        auto link = agent::make_parent_link(ioc.get_executor(), cfg, why);
        if (!link) {
            log::error("parent_unusable", {{"error", link.error().message()}, {"reason", why}});
            return 1;
        }
        parent_link = std::move(*link);
        backend::openmrs_params pp;
        pp.base_url = cfg.parent.url;
        pp.authorization = parent_link->authorization;
        pp.limits = reader_limits;
        pp.on_marker_lost = feed_policy;
        pp.peer = "parent";
        pp.batch_size = cfg.pull.batch_size;
        parent = backend::make_openmrs_backend(*parent_link->client, st, pp);
    }
    sync_trigger pull_trigger, push_trigger;
    pull_trigger.enabled = parent && cfg.pull.enabled;
    push_trigger.enabled = parent && cfg.push.enabled;
    api::admin_params admin;
    admin.trigger_sync = [&pull_trigger, &push_trigger](std::string_view d) {
        sync_trigger& t = d == "pull" ? pull_trigger : push_trigger;
        if (!t.enabled) return false;
        t.fire();
        return true;
    };
    admin.directions = [&pull_trigger, &push_trigger]() -> boost::json::value {
        return boost::json::object{{"pull", pull_trigger.status.to_json(pull_trigger.enabled)},
                                   {"push", push_trigger.status.to_json(push_trigger.enabled)}};
    };
    api::metrics metrics;
    metrics.directions = [&pull_trigger, &push_trigger] {
        std::map<std::string, api::metrics::direction_gauges> g;
        for (const auto* t : {&pull_trigger, &push_trigger})
            g[t == &pull_trigger ? "pull" : "push"] = {t->enabled, t->status.running, static_cast<double>(t->status.last_success) / 1000.0};
        return g;
    };
    auto routes = agent::node_routes(st, cfg, *local, parent.get(), std::move(admin), metrics);
    auto users = agent::http_users(cfg.server);
    auto auth = users.empty() ? nullptr : std::make_shared<net::authenticator>(std::move(users));
    auto server_params = agent::http_server_params(cfg);
    server_params.on_request = [&metrics](const net::server_params::request_done& d) { metrics.http_request(d); };
    net::http_server server(ioc.get_executor(), server_params, routes, auth,
                            *tls ? net::server_tls_wrapper(*tls) : net::connection_wrapper{});

    auto addr = asio::ip::make_address(cfg.server.listen_host, ec);
    if (!ec) ec = server.listen({addr, cfg.server.listen_port});
    if (ec) {
        log::error("listen_failed", {{"addr", cfg.server.listen_host + ":" + std::to_string(cfg.server.listen_port)},
                                     {"error", ec.message()}});
        return 1;
    }
    const auto ep = server.local_endpoint();
    const std::string where = (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) +
                              ":" + std::to_string(ep.port());
    log::info("ready", {{"listen", where}, {"tls", cfg.server.tls.enabled}});
    std::printf("edgesync ready: %s://%s/healthz (Ctrl-C to stop)\n", cfg.server.tls.enabled ? "https" : "http", where.c_str());
    std::fflush(stdout);
    sd_notify("READY=1");
    asio::cancellation_signal stop_watchdog;
    asio::co_spawn(ioc, watchdog_loop(st), asio::bind_cancellation_slot(stop_watchdog.slot(), log::on_task_exit{"watchdog"}));

    asio::cancellation_signal stop_retention;
    asio::co_spawn(ioc, retention_loop(st, agent::retention_policy(cfg)),
                   asio::bind_cancellation_slot(stop_retention.slot(), log::on_task_exit{"retention"}));

    if (parent) {
        if (cfg.pull.enabled)
            asio::co_spawn(ioc, sync_loop(*parent, *local, st, direction_params_of(cfg, cfg.pull, "pull"), cfg.pull, pull_trigger, metrics),
                           asio::bind_cancellation_slot(stop_pull.slot(), log::on_task_exit{"pull"}));
        if (cfg.push.enabled)
            asio::co_spawn(ioc, sync_loop(*local, *parent, st, direction_params_of(cfg, cfg.push, "push"), cfg.push, push_trigger, metrics),
                           asio::bind_cancellation_slot(stop_push.slot(), log::on_task_exit{"push"}));
    }

    signals.async_wait([&](const boost::system::error_code& sig_ec, int sig) {
        if (sig_ec) return;
        log::info("stopping", {{"signal", sig}});
        sd_notify("STOPPING=1");
        stop_watchdog.emit(asio::cancellation_type::terminal);
        stop_retention.emit(asio::cancellation_type::terminal);
        stop_pull.emit(asio::cancellation_type::terminal);
        stop_push.emit(asio::cancellation_type::terminal);
        asio::co_spawn(ioc, server.stop(cfg.server.shutdown_grace), log::on_task_exit{"http_stop"});
    });
    ioc.run();
    log::info("stopped");
    return 0;
}

}  // namespace edgesync
