// replicate(source, target, rules): the one algorithm run in both directions (DESIGN.md §1, §3).
//   pull: source = the parent (over HTTP), target = this node's local backend;
//   push: source = the local backend (its own feed), target = the parent.
// For each category in order, the source's feed is read from its marker; each entry names a
// resource (through the link its client prefers, else any link it offers); the resource's current
// state is fetched from the source and from the target, compared three ways against the
// fingerprint both sides last agreed on (decide() below), and written, agreed, kept or parked as a
// conflict. Each outcome commits together with the feed marker that passes the entry:
//   - a per-record failure (a 4xx, a body the target refuses, a link not understood) goes to the
//     retry queue in the same transaction as the marker, so one bad record never blocks a feed;
//   - a failure of the link or of either side (transport error, 5xx, 401, disk) ends the run with
//     the marker on the last committed entry; the next run resumes there.
// Echoes are suppressed: push skips what arrived from the peer it pushes to; a pulled change
// equal to what this node holds writes nothing and emits no feed event.
//
// After the feeds, queued failures of this direction are retried: those due, or all pending ones
// after a run that wrote something (a missing dependency may have arrived).
//
// Slow links: up to `concurrency` entries are fetched ahead while earlier ones are decided and
// committed, strictly in feed order.
#pragma once

#include "agent/backend/backend.hpp"
#include "agent/config.hpp"
#include "store/records.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::store {
class store;
}

namespace edgesync::sync {

class client_registry;

// ---- the decision, without I/O ----------------------------------------------------------------

enum class decision : std::uint8_t {
    apply,        // write the source's state to the target
    agree,        // both sides already hold the same content: record the agreement only
    keep_target,  // the target's version stands (the source has not changed since the last
                  // agreement, or the policy favours the target); the other direction carries it
    park,         // both changed: a conflict for an operator (policy manual)
};
const char* to_string(decision d) noexcept;

struct three_way {
    std::string source;                 // fingerprint of the source's state ("deleted" if gone)
    std::optional<std::string> target;  // the target's (nullopt: the target has never had it)
    std::optional<std::string> base;    // last agreed between the two (nullopt: never synced)
    store::millis source_time = 0, target_time = 0;  // for newest-wins (0 = unknown)
};

// `source_is_parent`: true for pull. Both sides changed (or they differ with no agreement yet):
// parent-wins / child-wins pick a side, newest-wins the later modification time (the parent on a
// tie or when unknown), manual parks it.
decision decide(const three_way& s, config::conflict_policy policy, bool source_is_parent) noexcept;

// ".../ws/fhir2/R4/{Type}/{id}" -> {"fhir", Type, id}; ".../ws/rest/v1/{resource}/{uuid}[?..]" ->
// {"rest", resource, uuid}. Context paths before /ws (e.g. /openmrs) are allowed. nullopt otherwise.
std::optional<store::resource_key> key_from_link(std::string_view link);

// ---- the run ----------------------------------------------------------------------------------

struct route {
    std::string category;
    std::string client;  // a registered client ("fhir", "rest", "bahmni", ...): its link is tried first
};

struct category_result;

struct replicate_params {
    std::string direction;  // "pull" | "push"
    std::string peer;       // the other side's name: fingerprints, audit, arrived_from of pulled changes
    std::string node_id;    // this node (origin of nothing it relays)
    std::vector<route> categories;  // processed in this order
    const client_registry* clients = nullptr;  // which links name which resource; nullptr: client_registry::standard()
    std::uint32_t concurrency = 4;  // entries fetched ahead while earlier ones commit (1 = none)
    config::conflict_policy policy = config::conflict_policy::manual;
    bool continue_on_failure = true;
    store::retry_policy retry;
    bool audit_success = true, audit_failure = true;
    bool audit_payloads = false;  // successful writes' audit rows hold the body written (patient data!)
    // Told the counts so far as each entry is handled and when a category ends (on the run's
    // executor; must not block).
    std::function<void(const category_result&)> on_progress;
};

struct category_result {
    std::string category;
    std::size_t entries = 0;    // entries handled (committed)
    std::size_t written = 0;    // changes applied to the target
    std::size_t agreed = 0;     // already equal
    std::size_t kept = 0;       // target's version kept, or an echo skipped
    std::size_t failed = 0;     // queued for retry
    std::size_t conflicts = 0;  // parked
    bool finished = false;      // the category's run is over (feed.error says how it ended)
    feed::run_status feed;
};

struct replicate_result {
    std::vector<category_result> categories;
    category_result retried;    // the retry pass over queued failures (entries = retried)
    std::size_t recovered = 0;  // retried events that went through and left the queue
    boost::system::error_code error;  // the first run-ending error (the run stopped there)
    std::string detail;
    std::size_t total(std::size_t category_result::*field) const;
};

boost::asio::awaitable<replicate_result> replicate(backend::local_backend& source, backend::local_backend& target, store::store& st,
                                                   replicate_params p);

}  // namespace edgesync::sync
