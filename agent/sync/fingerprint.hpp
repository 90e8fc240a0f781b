// The canonical fingerprint of a resource (DESIGN.md §3): SHA-256 of its JSON with object keys
// sorted and the fields that change without the content changing left out — meta.versionId,
// meta.lastUpdated, REST `links` and `auditInfo`, anywhere in the document, and in a REST
// representation (no top-level resourceType) also `display` and `resourceVersion`, which the
// server computes and refuses on writes. Two bodies that say the same thing have the same
// fingerprint whatever their key order or server bookkeeping.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace edgesync::sync {

// The canonical text (for tests and diffs).
std::string canonical_json(const boost::json::value& v);
// Lower-case hex SHA-256 of canonical_json(v).
std::string fingerprint(const boost::json::value& v);

// Appends `s` as a JSON string, byte for byte as boost::json::serialize writes it (the canonical
// text, and so every stored fingerprint, depends on that).
void append_json_string(std::string& out, std::string_view s);

}  // namespace edgesync::sync
