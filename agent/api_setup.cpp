#include "agent/api_setup.hpp"

#include "agent/api/fhir.hpp"
#include "agent/api/rest.hpp"
#include "agent/feed/publisher.hpp"
#include "net/auth.hpp"
#include "store/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <cctype>

namespace edgesync::agent {
namespace asio = boost::asio;
namespace http = boost::beast::http;

void add_api_routes(net::router& r, store::store& st, const config::node_config& cfg) {
    auto* routes = &r;
    feed::publisher_params feeds;
    feeds.page_size = cfg.feeds.page_size;
    feeds.public_url = cfg.server.public_url;
    feeds.tls = cfg.server.tls.enabled;
    feeds.roles = net::role_sync_peer | net::role_admin;  // children and operators
    feeds.identity.title = "edgesync " + cfg.instance_id;
    feeds.identity.author = cfg.instance_id.empty() ? "edgesync" : cfg.instance_id;
    feeds.identity.id_prefix = st.status().store_epoch;
    feed::add_feed_routes(*routes, st, feeds);
    api::fhir_params fhir;
    fhir.read_roles = fhir.write_roles = net::role_admin | net::role_sync_peer | net::role_local_app;
    fhir.max_resource_bytes = cfg.limits.max_resource_bytes;
    fhir.max_json_depth = cfg.limits.max_json_depth;
    fhir.node_id = cfg.instance_id;
    fhir.public_url = cfg.server.public_url;
    fhir.tls = cfg.server.tls.enabled;
    for (const auto& [name, def] : cfg.categories) {
        if (def.fhir_type.empty()) continue;
        // Several categories may share a type (visit and encounter are both Encounters): the one
        // named after the type wins.
        std::string lower;
        for (char c : def.fhir_type) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!fhir.categories.count(def.fhir_type) || name == lower) fhir.categories[def.fhir_type] = name;
    }
    api::add_fhir_routes(*routes, st, fhir);
    api::rest_params rest;
    rest.read_roles = rest.write_roles = fhir.read_roles;
    rest.max_resource_bytes = fhir.max_resource_bytes;
    rest.max_json_depth = fhir.max_json_depth;
    rest.node_id = cfg.instance_id;
    rest.public_url = cfg.server.public_url;
    for (const auto& [name, def] : cfg.categories) {
        if (def.rest_resource.empty() || def.rest_resource.find('{') != std::string::npos) continue;
        // Several categories may share a resource (order, drug_order, test_order): the one named
        // after it wins.
        if (!rest.categories.count(def.rest_resource) || name == def.rest_resource) rest.categories[def.rest_resource] = name;
    }
    api::add_rest_routes(*routes, st, rest);
}

std::shared_ptr<net::router> node_routes(store::store& st, const config::node_config& cfg, backend::local_backend& local,
                                         backend::local_backend* parent, api::admin_params admin, const api::metrics& m) {
    auto r = std::make_shared<net::router>();
    // Liveness and readiness for supervisors and load balancers: public by design (issue 9: all
    // else requires authentication). Not ready while the store cannot take writes: a disk I/O
    // error (until the node is restarted) or a full disk (until a write succeeds again).
    r->add(http::verb::get, "/healthz", net::k_public, [](net::request_context&) -> asio::awaitable<net::reply> {
        co_return net::reply::text(http::status::ok, "ok\n");
    });
    r->add(http::verb::get, "/readyz", net::k_public, [&st](net::request_context&) -> asio::awaitable<net::reply> {
        const auto status = st.status();
        const auto blocking = status.sticky ? status.sticky
                              : status.last_error == store::errc::disk_full ? status.last_error
                                                                            : boost::system::error_code{};
        if (blocking) co_return net::reply::text(http::status::service_unavailable, "not ready: " + blocking.message() + "\n");
        co_return net::reply::text(http::status::ok, "ready\n");
    });
    add_api_routes(*r, st, cfg);
    admin.roles = net::role_admin;
    admin.node_id = cfg.instance_id;
    api::add_admin_routes(*r, st, local, parent, std::move(admin));
    api::add_metrics_route(*r, st, m, net::role_admin);
    return r;
}

}  // namespace edgesync::agent
