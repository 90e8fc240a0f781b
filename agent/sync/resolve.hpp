// Closing a parked conflict (DESIGN.md §3, `manual` policy): the operator picks this node's
// version, the parent's, or supplies merged JSON. The chosen state is written to the parent first
// (if that fails nothing else changes and the conflict stays open), then here, and then the
// conflict is closed together with the new agreed fingerprint, so neither direction sees a
// conflict again and the next rounds transfer nothing.
#pragma once

#include "agent/backend/backend.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace edgesync::store {
class store;
}

namespace edgesync::sync {

struct resolution {
    enum class choice : std::uint8_t { local, remote, merged } pick = choice::local;
    std::string merged_body;  // pick == merged: the resource as it should be on both sides
    std::string by;           // who resolved it (the admin's name), for the record and the audit
};

struct resolve_result {
    boost::system::error_code ec;  // store::errc::not_found (no such open conflict), errc::refused (bad merged JSON), or the write's
    std::string detail;
};

// `parent` may be null when this node has none (the chosen state is then only written here).
boost::asio::awaitable<resolve_result> resolve_conflict(backend::local_backend& local, backend::local_backend* parent, store::store& st,
                                                        std::int64_t conflict_id, resolution r, std::string node_id);

}  // namespace edgesync::sync
