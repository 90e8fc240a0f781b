// FHIR R4 on the embedded store, under /ws/fhir2/R4 as OpenMRS's FHIR2 module serves it:
//   GET    /{type}/{id}     read (410 for a deleted resource)
//   PUT    /{type}/{id}     update, or create with the client's id (upsert); If-Match -> 412
//   POST   /{type}          create (the body's id kept when valid, else a new uuid)
//   DELETE /{type}/{id}     delete (a tombstone; the delete is published in the feed)
//   GET    /{type}?_id=&_lastUpdated=&_count=   search, a searchset Bundle with `next` links
//   GET    /metadata        a CapabilityStatement listing exactly the above
// The node owns meta.versionId and meta.lastUpdated (also in ETag / Last-Modified). Every error is
// an OperationOutcome whose diagnostics name the problem; nothing stored changes on an error.
// Every write emits one feed event (openmrs-module-atomfeed JSON links); an unchanged write none.
// The event links the FHIR representation only: the embedded store keeps a FHIR resource and a
// REST one under separate keys, so a "rest" link to the same uuid would not resolve.
#pragma once

#include "net/router.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace edgesync::store {
class store;
}

namespace edgesync::api {

struct fhir_params {
    std::string base = "/ws/fhir2/R4";
    std::uint8_t read_roles = 0;   // net::role_bit flags
    std::uint8_t write_roles = 0;
    std::uint64_t max_resource_bytes = 4 * 1024 * 1024;
    std::uint32_t max_json_depth = 64;
    std::string node_id;  // origin of local writes
    std::string public_url;  // base of links in responses; empty = from the Host header
    bool tls = false;        // the scheme of links built from the Host header
    // FHIR type -> category (the node's category table); types not in it use their lower-case name.
    std::map<std::string, std::string> categories;
};

void add_fhir_routes(net::router& r, store::store& st, fhir_params p);

// FHIR R4 resource types this server accepts (the R4 list; anything else is "unknown type").
bool is_fhir_r4_type(std::string_view type) noexcept;

// A FHIR date/dateTime/instant as [start, end) in Unix ms (e.g. "2024-03" is the whole month).
// nullopt when malformed.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_fhir_date_range(std::string_view s);

}  // namespace edgesync::api
