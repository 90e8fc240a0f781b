// From the node's config to the store's options and retention policy (DESIGN.md §7 fields under
// "store", "audit" and "retry"), so node.cpp and the CLI open the store the same way.
#pragma once

#include "agent/config.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace edgesync::agent {

// The database lives at <data_dir>/edgesync.db.
std::string store_path(const config::node_config& cfg);
store::store_options store_options(const config::node_config& cfg);
store::retention_policy retention_policy(const config::node_config& cfg);
store::retry_policy retry_policy(const config::node_config& cfg);

}  // namespace edgesync::agent
