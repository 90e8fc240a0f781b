#include "agent/node.hpp"

#include "agent/common/log.hpp"
#include "agent/net_setup.hpp"
#include "agent/version.hpp"
#include "net/http_server.hpp"
#include "store/data_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>

namespace edgesync {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Routes every node serves whatever else it does: liveness and readiness for supervisors and
// load balancers. Public by design (issue 9: all else requires authentication).
std::shared_ptr<net::router> base_routes() {
    auto r = std::make_shared<net::router>();
    r->add(http::verb::get, "/healthz", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, "ok\n");
    });
    r->add(http::verb::get, "/readyz", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, "ready\n");
    });
    return r;
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

    asio::io_context ioc(1);
    std::string why;
    auto tls = agent::make_server_tls(cfg.server, why);
    if (!tls) {
        log::error("server_tls_unusable", {{"error", tls.error().message()}, {"reason", why}});
        return 1;
    }
    auto users = agent::http_users(cfg.server);
    auto auth = users.empty() ? nullptr : std::make_shared<net::authenticator>(std::move(users));
    net::http_server server(ioc.get_executor(), agent::http_server_params(cfg), base_routes(), auth,
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

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& sig_ec, int sig) {
        if (sig_ec) return;
        log::info("stopping", {{"signal", sig}});
        asio::co_spawn(ioc, server.stop(cfg.server.shutdown_grace), log::on_task_exit{"http_stop"});
    });
    ioc.run();
    log::info("stopped");
    return 0;
}

}  // namespace edgesync
