// A running node: the config applied, the data directory claimed, the HTTP listener up.
// run_node() blocks until SIGINT/SIGTERM and returns the process exit code.
#pragma once

#include "agent/config.hpp"

namespace edgesync {

int run_node(const config::node_config& cfg);

}  // namespace edgesync
