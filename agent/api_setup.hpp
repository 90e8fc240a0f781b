// The resource API a node serves, from its configuration: atom feeds for children, FHIR R4 and
// REST v1 for children and local apps (each with the roles that may use it). One place, so the
// node and the in-process test nodes serve exactly the same thing.
#pragma once

#include "agent/config.hpp"
#include "net/router.hpp"

namespace edgesync::store {
class store;
}

namespace edgesync::agent {

// `st` must outlive the router.
void add_api_routes(net::router& routes, store::store& st, const config::node_config& cfg);

}  // namespace edgesync::agent
