// Who a write through the API is recorded as coming from (DESIGN.md §3: each stored change records
// its origin node and the peer it arrived from), and how that travels over HTTP between nodes.
//   - A sync peer (a child pushing up) may name the node that authored the change: the
//     X-Edgesync-Origin header, or in a Bundle entry the request's origin extension. The change is
//     recorded as arrived from "child:<its user name>" (never "parent": the name a node gives its
//     own parent, whose changes its push skips).
//   - Anyone else (a local app, an admin) writes as this node.
//   - Reads tell the origin back the same way: the header on a single read, the response's
//     extension in a batch entry, so a child pulling learns who authored what it stores.
// The origin is provenance for the audit log and echo tracking, not a credential: what a peer may
// write is decided by its role and categories alone.
#pragma once

#include "net/auth.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace edgesync::api {

inline constexpr const char* k_origin_header = "X-Edgesync-Origin";
inline constexpr std::string_view k_origin_extension = "https://edgesync.org/fhir/StructureDefinition/origin";

// A node id as the config allows it: 1..128 of [A-Za-z0-9._:-].
inline bool valid_node_id(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    return true;
}

// The node an `extension` array names as origin (valid ids only); "" when none.
inline std::string origin_in(const boost::json::value* extensions) {
    if (!extensions || !extensions->is_array()) return {};
    for (const auto& x : extensions->as_array()) {
        const auto* o = x.if_object();
        const auto* url = o ? o->if_contains("url") : nullptr;
        const auto* v = o ? o->if_contains("valueString") : nullptr;
        if (url && url->is_string() && url->as_string() == k_origin_extension && v && v->is_string() && valid_node_id(v->as_string()))
            return std::string(v->as_string());
    }
    return {};
}

struct provenance {
    std::string origin_node;
    std::string arrived_from;  // "" = written here
};

inline provenance provenance_of(const net::principal& who, std::string_view claimed_origin, const std::string& self) {
    if (!who.has_any(net::role_sync_peer)) return {self, ""};
    return {valid_node_id(claimed_origin) ? std::string(claimed_origin) : who.name, "child:" + who.name};
}

}  // namespace edgesync::api
