// The OpenMRS backend: an OpenMRS server beside the node, reached over HTTP on localhost with its
// own credentials (DESIGN.md §1, Sync 2.0's design: a child reads and writes its own OpenMRS).
//   feed    GET  {base}/ws/atomfeed/{category}/recent and /{n}   (markers kept in the store)
//   read    GET  {base}/ws/fhir2/R4/{type}/{uuid}        or  GET {base}/ws/rest/v1/{resource}/{uuid}?v=full
//   write   PUT  {base}/ws/fhir2/R4/{type}/{uuid}        (404: POST {base}/ws/fhir2/R4/{type})
//           POST {base}/ws/rest/v1/{resource}/{uuid}     (404: POST {base}/ws/rest/v1/{resource})
//   delete  DELETE the same paths (REST: void/retire, or ?purge=true)
// What OpenMRS refuses on a REST write — links, display, auditInfo, resourceVersion (read-only
// properties its representations carry, with NEED-TO-CONFIGURE link URIs when its uriPrefix is
// unset) — is stripped at every level before sending. REST resources that are voided or retired
// read as deleted (DESIGN.md §3: VOIDED/RETIRED become deletes at the target).
//
// Unlike the embedded backend a change and its marker cannot share a transaction: the marker is
// written after OpenMRS acknowledged the change, so a crash in between replays the change, which
// is harmless (writes are state-based and idempotent).
#pragma once

#include "agent/backend/backend.hpp"
#include "agent/feed/atom_reader.hpp"

#include <memory>
#include <optional>

namespace edgesync::net {
class http_client;
}
namespace edgesync::store {
class store;
}

namespace edgesync::backend {

struct openmrs_params {
    std::string base_url;        // e.g. http://127.0.0.1:8080/openmrs (no trailing slash needed)
    std::string authorization;   // the Authorization header value (Basic for OpenMRS)
    feed::reader_limits limits;
    feed::on_marker_lost on_marker_lost = feed::on_marker_lost::restart;
    std::string peer = "local-openmrs";  // names this side in the audit log
    // FHIR reads and writes in Bundle batches of this many GETs (or PUTs and DELETEs) when the
    // server's CapabilityStatement offers `batch` (asked once); 0 or 1 = one request per resource.
    // A batch the server refuses turns batching off for this backend (automatic fallback to single
    // requests).
    std::uint32_t batch_size = 0;
    std::uint64_t max_batch_response_entry_bytes = 4 * 1024 * 1024;
};

std::unique_ptr<local_backend> make_openmrs_backend(net::http_client& client, store::store& st, openmrs_params p);

// A date-time as OpenMRS writes it — REST "2013-09-05T10:45:56.000+0530", FHIR
// "2024-04-04T08:28:46.000+00:00", atom "2018-01-17T19:44:40Z" — in Unix ms; nullopt if malformed.
std::optional<store::millis> parse_openmrs_time(std::string_view s);

// The body of a REST write: `links`, `display`, `auditInfo` and `resourceVersion` removed at every
// depth (OpenMRS answers 400 "Some properties are not allowed to be set" for them), and `uuid`
// too at the top when `for_update`. Not a JSON object: nullopt.
std::optional<std::string> rest_write_body(std::string_view json, bool for_update);

}  // namespace edgesync::backend
