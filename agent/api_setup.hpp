// The routes a node serves, from its configuration: atom feeds for children, FHIR R4 and REST v1
// for children and local apps (each with the roles that may use it), and around them liveness,
// readiness, the admin API and page, and metrics. One place, so the node and the in-process test
// nodes serve exactly the same thing, and the security tests walk the very table the node serves.
#pragma once

#include "agent/api/admin.hpp"
#include "agent/api/metrics.hpp"
#include "agent/config.hpp"
#include "net/router.hpp"

#include <memory>

namespace edgesync::backend {
class local_backend;
}
namespace edgesync::store {
class store;
}

namespace edgesync::agent {

// The resource API: feeds, FHIR, REST. `st` must outlive the router.
void add_api_routes(net::router& routes, store::store& st, const config::node_config& cfg);

// Everything run_node() serves: /healthz and /readyz (public), the resource API, the admin API
// and page (admin.roles and admin.node_id are set here: role admin), and /metrics (role admin).
// `st`, `local`, `parent` (null for a root) and `m` must outlive the router.
std::shared_ptr<net::router> node_routes(store::store& st, const config::node_config& cfg, backend::local_backend& local,
                                         backend::local_backend* parent, api::admin_params admin, const api::metrics& m);

}  // namespace edgesync::agent
