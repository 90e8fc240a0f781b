// The operator's commands against a running node, through its admin API (role admin):
//   status                                      the node at a glance
//   failed list [--state pending|parked] | retry ID | discard ID
//   conflicts list [--status open|resolved] | show ID | resolve ID (--choose local|remote | --merged FILE)
//   audit list [--direction D] [--status S] [--category C] [--resource UUID] [--limit N] [--before ID] | show ID
//   sync pull|push --now
// Where: -c FILE (the node's config: its listen address and TLS) or --url URL; default
// /etc/edgesync/edgesync.jsonc. Credentials: EDGESYNC_ADMIN_TOKEN, --token-file FILE, or --token T
// (visible to other users in the process list). --json prints the API's JSON as it came; otherwise
// tables for people. Exit 0 on success, 1 when the node refused or could not be reached (the
// message says which), 2 for a usage error.
// When the node does not answer and its config is known (-c), the read commands (status, lists,
// show) are answered from its store, opened read-only, by the same handlers the API runs, and
// say so on stderr; commands that change something need the node running.
#pragma once

#include <string_view>
#include <vector>

namespace edgesync::agent {

// `command` is status, failed, conflicts, audit or sync; `args` what follows it.
int admin_command(std::string_view command, const std::vector<std::string_view>& args);

}  // namespace edgesync::agent
