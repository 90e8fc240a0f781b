// What the store holds, and the operations on it as plain synchronous functions over one
// connection. They run on the store's owner thread (store.hpp hands them to it) inside the
// transaction the caller opened; each either completes or returns an error, and the caller rolls
// back what it started, so no operation is ever half-applied.
//
// Times are milliseconds since the Unix epoch, passed in by the caller (tests choose them).
#pragma once

#include "store/sqlite.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edgesync::store {

using sql::error_code;
using sql::result;
using millis = std::int64_t;

// Names one resource. representation: "fhir" (type is a FHIR R4 type, "Patient") or "rest"
// (type is an OpenMRS REST resource, "location").
struct resource_key {
    std::string representation;
    std::string type;
    std::string uuid;
};

struct stored_resource {
    std::int64_t row_id = 0;  // the resources row (search cursors)
    resource_key key;
    std::string category;
    std::int64_t version = 0;  // meta.versionId
    millis last_updated = 0;
    bool deleted = false;
    std::string fingerprint;  // canonical fingerprint (bytes)
    std::string origin_node;
    std::string arrived_from;  // "" = written here
    std::string body;          // JSON (the last live body for a tombstone)
};

// A change to write. The store assigns version and last_updated.
struct resource_write {
    std::string category;
    resource_key key;
    std::string body;         // JSON; ignored (the previous body kept) when deleted
    std::string fingerprint;  // of the canonical form; equal to the stored one (and same deleted) = no-op
    bool deleted = false;
    std::string origin_node;   // the node that authored the change
    std::string arrived_from;  // the peer it came from; "" for local writes
    std::optional<std::int64_t> expected_version;  // If-Match: fail with version_mismatch unless equal
};

// How the change is announced in the node's own feed. The store fills id, uuid and timestamp.
struct event_spec {
    std::string title;   // atom entry title, e.g. "Patient"
    std::string object;  // entry content: the JSON link map
    std::string uri;     // optional
    std::string tags;    // action, e.g. "UPDATED"; empty = derived from the outcome
};

enum class write_outcome : std::uint8_t { created, updated, deleted, unchanged };
const char* to_string(write_outcome o) noexcept;

struct write_result {
    write_outcome outcome = write_outcome::unchanged;
    std::int64_t version = 0;  // the resource's version after the write
    std::int64_t event_id = 0;  // 0 when no event was emitted (unchanged)
    std::int64_t resource_id = 0;  // the row (0 when an unknown resource's delete was a no-op)
};

struct marker {
    std::string feed_uri;
    std::string last_read_entry_id;
    std::string feed_uri_for_last_read_entry;
};

// A change pulled from a peer: written, fingerprinted as agreed with that peer, announced, and
// the feed marker moved past it — one atomic unit (DESIGN.md §3).
struct pulled_change {
    resource_write write;
    event_spec event;
    std::string peer;  // whose feed it came from; the fingerprint is recorded against it
    marker feed_marker;
};

struct event_record {
    std::int64_t id = 0;
    std::int64_t seq = 0;  // ordinal within its category: 1, 2, 3, ... (feed page numbering)
    std::string uuid;
    std::string title;
    millis timestamp = 0;
    std::string uri;
    std::string object;
    std::string category;
    std::string tags;
};

// ---- resources and events ----------------------------------------------------------------------

// Writes a resource and emits its event in the caller's transaction. An unchanged write (same
// fingerprint and tombstone state) changes nothing and emits nothing. Deleting a missing or
// already deleted resource is `unchanged`. `event_uuid` names the event (write_context::new_uuid).
result<write_result> write_resource(sql::connection& db, const resource_write& w, const event_spec& ev,
                                    const std::string& event_uuid, millis now);
result<write_result> apply_pulled(sql::connection& db, const pulled_change& c, const std::string& event_uuid, millis now);

result<std::optional<stored_resource>> get_resource(sql::connection& db, const resource_key& key);
result<std::int64_t> count_resources(sql::connection& db, bool include_tombstones = false);

// Search over one (representation, type): live resources in row order after `after_row`, at most
// `limit`, optionally limited to some uuids and to a last_updated range [updated_from,
// updated_to) (0 = unbounded).
struct resource_query {
    std::string representation, type;
    std::vector<std::string> uuids;  // empty = any
    millis updated_from = 0, updated_to = 0;
    std::int64_t after_row = 0;
    std::size_t limit = 50;
};
result<std::vector<stored_resource>> find_resources(sql::connection& db, const resource_query& q);

// Events of `category` ("" = all) with id > after_id, oldest first, at most `limit`.
result<std::vector<event_record>> events_after(sql::connection& db, const std::string& category, std::int64_t after_id,
                                               std::size_t limit);
result<std::int64_t> count_events(sql::connection& db, const std::string& category);
// Events of `category` with seq >= first_seq, in seq order, at most `limit` (one feed page, or a
// slice of one).
result<std::vector<event_record>> events_by_seq(sql::connection& db, const std::string& category, std::int64_t first_seq,
                                                std::size_t limit);
// The highest seq of `category`, i.e. how many events it has (events are never deleted).
result<std::int64_t> category_event_count(sql::connection& db, const std::string& category);

// ---- markers -----------------------------------------------------------------------------------

error_code set_marker(sql::connection& db, const marker& m, millis now);
result<std::optional<marker>> get_marker(sql::connection& db, const std::string& feed_uri);

// ---- fingerprints (three-way change detection) ----------------------------------------------------

// Records the fingerprint agreed with `peer` for a resource: with its row when the store holds it,
// else by key (a resource held by an OpenMRS local side; a resource row written later takes over).
error_code set_synced_fingerprint(sql::connection& db, const std::string& peer, const resource_key& key,
                                  const std::string& fingerprint, millis now);
result<std::optional<std::string>> get_synced_fingerprint(sql::connection& db, const std::string& peer,
                                                          const resource_key& key);

// ---- failed events and retries ----------------------------------------------------------------------

enum class failure_state : std::uint8_t { pending, parked };

struct failed_event {
    std::int64_t id = 0;
    std::string direction;  // pull | push
    std::string feed_uri;
    std::string event_id;
    std::string event_content;
    std::string title;
    std::string tags;
    std::string category;
    std::string error_message;  // first failure
    std::string last_error;
    std::int64_t attempts = 0;
    millis failed_at = 0;
    millis next_retry_at = 0;
    failure_state state = failure_state::pending;
};

struct retry_policy {
    std::uint32_t queue_cap = 10'000;
    std::uint32_t max_attempts = 10;
    millis backoff_initial = 30'000;
    millis backoff_max = 6 * 3600'000;
};

// Records a failure of (feed_uri, event_id): a new entry (refused with queue_full when the queue
// is at its cap) or one more attempt of an existing one, plus a retry-log row. The next retry is
// backoff_initial * 2^(attempts-1), capped, scaled by `jitter` in [0.5, 1.5] (caller's random);
// after max_attempts the entry is parked.
result<failed_event> record_failure(sql::connection& db, const failed_event& f, const retry_policy& p, double jitter,
                                    millis now);
// Pending entries due at `now`, oldest due first.
result<std::vector<failed_event>> due_failures(sql::connection& db, millis now, std::size_t limit);
result<std::vector<failed_event>> list_failures(sql::connection& db, std::optional<failure_state> state,
                                                std::int64_t after_id, std::size_t limit);
result<std::int64_t> count_failures(sql::connection& db);
// The event was processed after all: removes it (not_found if absent).
error_code clear_failure(sql::connection& db, std::int64_t id);
// Operator: make a (parked) entry due now with its attempts reset.
error_code retry_failure_now(sql::connection& db, std::int64_t id, millis now);

// ---- audit --------------------------------------------------------------------------------------

struct audit_entry {
    std::int64_t id = 0;
    millis at = 0;
    std::string direction;  // pull | push | local | admin
    std::string category;
    std::string resource_type;
    std::string resource_uuid;
    std::string action;
    std::string status;  // success | failure | conflict | skipped
    std::string error;
    std::string origin;
    std::string peer;
    std::string transport;
    std::int64_t duration_ms = 0;
    std::optional<std::string> payload;
};

struct audit_filter {
    std::string direction, category, status, resource_uuid;
    millis since = 0, until = 0;  // 0 = unbounded
    std::int64_t before_id = 0;   // pagination: entries older than this id (0 = newest first)
    std::size_t limit = 50;
};

result<std::int64_t> append_audit(sql::connection& db, const audit_entry& e);
// Newest first.
result<std::vector<audit_entry>> list_audit(sql::connection& db, const audit_filter& f);

// ---- conflicts ----------------------------------------------------------------------------------

struct conflict_record {
    std::int64_t id = 0;
    millis detected_at = 0;
    std::string category;
    resource_key key;
    std::string peer;
    std::optional<std::string> local_body, local_fingerprint, remote_body, remote_fingerprint;
    std::string policy;
    std::string status;  // open | resolved
    std::string resolution;
    std::optional<std::string> resolved_body;
    millis resolved_at = 0;
    std::string resolved_by;
};

// Opens a conflict for (peer, key), or refreshes the one already open with the newer versions.
result<std::int64_t> open_conflict(sql::connection& db, const conflict_record& c);
result<std::vector<conflict_record>> list_conflicts(sql::connection& db, const std::string& status, std::int64_t after_id,
                                                    std::size_t limit);
result<conflict_record> get_conflict(sql::connection& db, std::int64_t id);
// Closes an open conflict (not_found if no open conflict has this id).
error_code resolve_conflict(sql::connection& db, std::int64_t id, const std::string& resolution,
                            const std::optional<std::string>& body, const std::string& by, millis now);

// ---- node metadata ------------------------------------------------------------------------------

error_code set_meta(sql::connection& db, const std::string& key, const std::string& value);
result<std::optional<std::string>> get_meta(sql::connection& db, const std::string& key);

// ---- retention ----------------------------------------------------------------------------------

struct retention_policy {
    millis audit_max_age = 90LL * 24 * 3600'000;
    std::int64_t audit_max_rows = 1'000'000;
    millis retry_log_max_age = 30LL * 24 * 3600'000;
    millis tombstone_max_age = 180LL * 24 * 3600'000;
};

struct pruned {
    std::int64_t audit_rows = 0;
    std::int64_t retry_log_rows = 0;
    std::int64_t tombstones = 0;
};

// Deletes audit rows older than the age or beyond the row cap (oldest first), retry-log rows
// older than their age, and tombstones deleted longer ago than theirs (with their fingerprints).
// At most `batch` rows of each kind per call, so one call never holds the writer for long.
result<pruned> prune(sql::connection& db, const retention_policy& p, millis now, std::int64_t batch = 10'000);

}  // namespace edgesync::store
