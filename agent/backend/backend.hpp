// The local side of a node, as the replicator sees it (DESIGN.md §1): read this side's feed, get a
// resource, apply a change. Two implementations:
//   embedded_backend — the node's own SQLite store is the system of record;
//   openmrs_backend  — an OpenMRS server beside the node, over HTTP on localhost (its atom feed,
//                      FHIR2 and REST v1), the store keeping only sync state (markers).
// The replicator never knows which one it has.
//
// Threading: both are used from the node's io_context only. Lifetime: they borrow the store (and
// the HTTP client), which must outlive them.
#pragma once

#include "agent/feed/runner.hpp"
#include "store/store.hpp"
#include "store/records.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace edgesync::backend {

// Failures of a backend call that are not transport errors (those come from net:: and the store).
enum class errc {
    refused = 1,   // the backend rejected this record (a 4xx other than auth): retry queue, not a stop
    unauthorized,  // 401/403: the backend credentials are wrong; every call would fail
    unavailable,   // 5xx, or the backend answered something that is not its API
    bad_response,  // a 2xx whose body is not the JSON object expected
};
const boost::system::error_category& backend_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), backend_category()}; }

// One resource of one category. key.representation says which API holds it: "fhir" (key.type a
// FHIR R4 type) or "rest" (key.type an OpenMRS REST resource such as "location").
struct resource_ref {
    std::string category;
    store::resource_key key;
};

enum class presence : std::uint8_t { present, deleted, missing };

struct local_resource {
    presence state = presence::missing;
    std::string body;              // JSON as the backend holds it (present; a tombstone's last body)
    std::string version;           // the backend's version tag (FHIR versionId / ETag), "" if none
    store::millis last_updated = 0;  // from meta.lastUpdated or auditInfo; 0 = unknown
    // Who authored it: from the embedded store, or an edgesync parent's X-Edgesync-Origin
    // (api/provenance.hpp); "" when unknown (OpenMRS). Known to the embedded backend only: which
    // peer it came from ("" = written here).
    std::string origin_node, arrived_from;
    // Its canonical fingerprint (sync/fingerprint.hpp; "deleted" for a tombstone) when the backend
    // has it at no cost: the embedded store keeps it; the HTTP backend computes it from a resource
    // it parsed anyway (a Bundle entry). "" = not known: the caller computes it from `body`.
    // INVARIANT: when set for a present resource, `body` is a JSON object and this is its
    // fingerprint, so a caller may skip parsing `body`.
    std::string fingerprint;
};

struct get_result {
    boost::system::error_code ec;  // set: `resource` is meaningless
    unsigned status = 0;           // the HTTP status, when there was one
    std::string detail;            // what went wrong, for the retry queue and the audit log
    local_resource resource;
};

// A change to make on this side: the resource's new state (or its removal), where it came from,
// and, for a pull, the feed marker that moves past it.
struct change {
    resource_ref ref;
    std::string body;           // JSON; ignored when remove
    bool remove = false;        // delete (FHIR) / void or retire (REST)
    bool purge = false;         // REST: purge instead of void/retire
    std::string action;         // the feed action to announce ("" = from the outcome)
    std::string origin_node;    // who authored the change
    std::string arrived_from;   // the peer it came from; "" = made here
    // Canonical fingerprint of body; "" = computed here. When set, the caller vouches that body
    // is a JSON object with this fingerprint (local_resource::fingerprint's invariant), and the
    // embedded backend stores both without parsing body again.
    std::string fingerprint;
    std::optional<store::marker> then_marker;  // committed with the change (embedded) or after it
    // Embedded only: the write joins this chain (store::write_chain), and this audit row is
    // committed in the same transaction.
    std::shared_ptr<store::write_chain> chain;
    std::optional<store::audit_entry> audit;
};

struct apply_result {
    boost::system::error_code ec;
    unsigned status = 0;
    std::string detail;
    store::write_outcome outcome = store::write_outcome::unchanged;
};

class local_backend {
public:
    virtual ~local_backend() = default;
    virtual std::string_view kind() const noexcept = 0;  // "embedded" | "openmrs"

    // Reads this side's feed of `category` from the marker stored for it, handing each new entry
    // to `process` with the marker that follows it (feed::run_feed's contract).
    // `ahead` (optional) sees each batch of entries before they are processed (see feed::entries_hook).
    virtual boost::asio::awaitable<feed::run_status> read_feed(std::string category, feed::entry_processor process,
                                                               feed::entries_hook ahead = {}) = 0;
    // The marker key read_feed keeps for `category` (for status and tests).
    virtual std::string feed_key(const std::string& category) const = 0;

    virtual boost::asio::awaitable<get_result> get(resource_ref r) = 0;
    // Several at once: each result is handed to `each` (with its index in `refs`) as soon as it is
    // known — for a Bundle batch, as its entry is parsed off the wire, before the rest has
    // arrived — so the caller can go on with it at once. Every index is handed on exactly once,
    // before the call completes. `each` must not suspend. The default asks one by one; a backend
    // that can do better (a FHIR Bundle batch) overrides it and says how many it takes per call.
    using get_handler = std::function<void(std::size_t index, get_result)>;
    virtual boost::asio::awaitable<void> get_each(std::vector<resource_ref> refs, get_handler each);
    // get_each, collected: results in the order of `refs`.
    boost::asio::awaitable<std::vector<get_result>> get_many(std::vector<resource_ref> refs);
    // How many resources one get_each or apply_many call should carry (1 = no batching).
    virtual std::size_t batch_limit() const noexcept { return 1; }

    virtual boost::asio::awaitable<apply_result> apply(change c) = 0;
    // Several changes, results in the same order. Changes of different resources only (the order
    // among them is not kept). The default applies one by one; the OpenMRS backend sends FHIR
    // changes as one Bundle batch of PUTs and DELETEs when the server takes batches.
    virtual boost::asio::awaitable<std::vector<apply_result>> apply_many(std::vector<change> changes);
};

// Whether a failure belongs to the one record (queue it and go on) or to the link or the backend
// (stop the run and resume later from the marker).
bool is_record_failure(const boost::system::error_code& ec) noexcept;

}  // namespace edgesync::backend

template <>
struct boost::system::is_error_code_enum<edgesync::backend::errc> : std::true_type {};
