// The bookkeeping tables: retry queue, audit log, conflicts, fingerprints, metadata, retention.
// Run directly on a migrated connection (the functions are synchronous; store_test covers the
// threads that normally call them).
#include "store/records.hpp"
#include "store/schema.hpp"
#include "support/catch_net.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

using namespace edgesync;
using store::errc;

namespace {

struct db_fixture {
    test::temp_dir tmp;
    store::sql::connection db;
    db_fixture() {
        std::string why;
        auto c = store::sql::connection::open(tmp.file("t.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr, why);
        REQUIRE(c);
        db = std::move(*c);
        REQUIRE_FALSE(store::migrate(db, why));
    }
};

store::failed_event failure(const std::string& event_id, const std::string& error = "HTTP 422: invalid gender") {
    store::failed_event f;
    f.direction = "pull";
    f.feed_uri = "http://p/ws/atomfeed/patient/recent";
    f.event_id = event_id;
    f.event_content = "{\"fhir\":\"/ws/fhir2/R4/Patient/x\"}";
    f.title = "Patient";
    f.category = "patient";
    f.error_message = error;
    return f;
}

}  // namespace

TEST_CASE("failed events back off exponentially, park after max attempts, respect the queue cap", "[store][records]") {
    db_fixture fx;
    store::retry_policy p;
    p.queue_cap = 3;
    p.max_attempts = 4;
    p.backoff_initial = 1000;
    p.backoff_max = 5000;

    auto a = store::record_failure(fx.db, failure("e1"), p, 1.0, 10'000);
    REQUIRE(a);
    CHECK(a->attempts == 1);
    CHECK(a->next_retry_at == 11'000);
    CHECK(a->state == store::failure_state::pending);
    // Not due yet; due once its time comes.
    CHECK(store::due_failures(fx.db, 10'500, 10)->empty());
    CHECK(store::due_failures(fx.db, 11'000, 10)->size() == 1);

    auto b = store::record_failure(fx.db, failure("e1", "HTTP 500"), p, 1.0, 11'000);
    REQUIRE(b);
    CHECK(b->id == a->id);
    CHECK(b->attempts == 2);
    CHECK(b->next_retry_at == 13'000);  // 2 s
    CHECK(b->error_message == "HTTP 422: invalid gender");  // the first failure is kept
    CHECK(b->last_error == "HTTP 500");
    auto c = store::record_failure(fx.db, failure("e1"), p, 1.0, 13'000);
    CHECK(c->next_retry_at == 17'000);  // 4 s
    auto d = store::record_failure(fx.db, failure("e1"), p, 1.5, 17'000);
    CHECK(d->attempts == 4);
    CHECK(d->next_retry_at == 17'000 + 5000 * 3 / 2);  // capped at 5 s, then jittered
    CHECK(d->state == store::failure_state::parked);
    CHECK(store::due_failures(fx.db, 1'000'000, 10)->empty());  // parked entries are not retried

    // The retry log has one row per failed attempt.
    auto log_rows = fx.db.query_text("SELECT count(*) FROM failed_event_retry_log");
    CHECK(*log_rows == "4");

    // Operator retry: due now, attempts reset.
    REQUIRE_FALSE(store::retry_failure_now(fx.db, d->id, 20'000));
    auto due = store::due_failures(fx.db, 20'000, 10);
    REQUIRE(due->size() == 1);
    CHECK((*due)[0].attempts == 0);
    CHECK(store::retry_failure_now(fx.db, 999, 1) == errc::not_found);

    // Cap: 3 entries at most; the 4th is refused (the reader pauses), repeats of existing ones are not.
    REQUIRE(store::record_failure(fx.db, failure("e2"), p, 1.0, 1));
    REQUIRE(store::record_failure(fx.db, failure("e3"), p, 1.0, 1));
    auto full = store::record_failure(fx.db, failure("e4"), p, 1.0, 1);
    REQUIRE_FALSE(full);
    CHECK(full.error() == errc::queue_full);
    CHECK(store::record_failure(fx.db, failure("e2"), p, 1.0, 2));
    CHECK(*store::count_failures(fx.db) == 3);

    // Processed after all: gone, and the cap has room again.
    REQUIRE_FALSE(store::clear_failure(fx.db, a->id));
    CHECK(store::clear_failure(fx.db, a->id) == errc::not_found);
    CHECK(store::record_failure(fx.db, failure("e4"), p, 1.0, 3));
    CHECK(store::list_failures(fx.db, store::failure_state::pending, 0, 10)->size() == 3);
    CHECK(store::list_failures(fx.db, store::failure_state::parked, 0, 10)->empty());

    auto bad = failure("e5");
    bad.direction = "sideways";
    CHECK(store::record_failure(fx.db, bad, p, 1.0, 1).error() == errc::bad_input);
}

TEST_CASE("audit entries filter by direction, status, resource and time, newest first with pagination", "[store][records]") {
    db_fixture fx;
    for (int i = 0; i < 30; ++i) {
        store::audit_entry e;
        e.at = 1000 + i;
        e.direction = i % 2 ? "pull" : "push";
        e.category = "patient";
        e.resource_type = "Patient";
        e.resource_uuid = "u" + std::to_string(i % 5);
        e.action = "UPDATED";
        e.status = i % 3 ? "success" : "failure";
        e.transport = "fhir";
        REQUIRE(store::append_audit(fx.db, e));
    }
    store::audit_filter f;
    f.direction = "pull";
    f.limit = 100;
    auto pulls = store::list_audit(fx.db, f);
    REQUIRE(pulls->size() == 15);
    CHECK((*pulls)[0].at > (*pulls)[1].at);

    f = {};
    f.status = "failure";
    f.resource_uuid = "u0";
    for (const auto& e : *store::list_audit(fx.db, f)) {
        CHECK(e.status == "failure");
        CHECK(e.resource_uuid == "u0");
    }
    f = {};
    f.since = 1010;
    f.until = 1020;
    CHECK(store::list_audit(fx.db, f)->size() == 10);

    // Pages of 7, walking back by id, cover everything once.
    f = {};
    f.limit = 7;
    std::size_t seen = 0;
    for (;;) {
        auto page = store::list_audit(fx.db, f);
        if (page->empty()) break;
        seen += page->size();
        f.before_id = page->back().id;
    }
    CHECK(seen == 30);
}

TEST_CASE("conflicts keep both versions, one open per resource, and close once resolved", "[store][records]") {
    db_fixture fx;
    store::conflict_record c;
    c.detected_at = 5;
    c.category = "patient";
    c.key = {"fhir", "Patient", "u1"};
    c.peer = "district";
    c.local_body = "{\"local\":1}";
    c.remote_body = "{\"remote\":1}";
    c.local_fingerprint = "l1";
    c.remote_fingerprint = "r1";
    c.policy = "manual";
    auto id = store::open_conflict(fx.db, c);
    REQUIRE(id);
    // Detected again with newer versions: the same open conflict is refreshed, not duplicated.
    c.remote_body = "{\"remote\":2}";
    auto id2 = store::open_conflict(fx.db, c);
    REQUIRE(id2);
    CHECK(*id2 == *id);
    auto got = store::get_conflict(fx.db, *id);
    REQUIRE(got);
    CHECK(got->remote_body == "{\"remote\":2}");
    CHECK(got->local_body == "{\"local\":1}");
    CHECK(got->status == "open");

    CHECK(store::resolve_conflict(fx.db, *id, "merged", std::nullopt, "admin", 9) == errc::bad_input);
    REQUIRE_FALSE(store::resolve_conflict(fx.db, *id, "merged", std::string("{\"m\":1}"), "admin", 9));
    CHECK(store::resolve_conflict(fx.db, *id, "local", std::nullopt, "admin", 9) == errc::not_found);  // already closed
    got = store::get_conflict(fx.db, *id);
    CHECK(got->status == "resolved");
    CHECK(got->resolution == "merged");
    CHECK(got->resolved_by == "admin");
    CHECK(store::list_conflicts(fx.db, "open", 0, 10)->empty());
    // A new disagreement after resolution opens a new conflict.
    auto id3 = store::open_conflict(fx.db, c);
    CHECK(*id3 != *id);
    CHECK(store::list_conflicts(fx.db, "", 0, 10)->size() == 2);
    CHECK(store::get_conflict(fx.db, 12345).error() == errc::not_found);
}

TEST_CASE("retention prunes audit by age and row cap, the retry log by age, tombstones only when old", "[store][records]") {
    db_fixture fx;
    constexpr store::millis day = 24 * 3600'000LL;
    const store::millis now = 400 * day;
    for (int i = 0; i < 50; ++i) {
        store::audit_entry e;
        e.at = now - (i < 10 ? 100 * day : day);  // 10 old, 40 recent
        e.direction = "pull";
        e.status = "success";
        REQUIRE(store::append_audit(fx.db, e));
    }
    store::retry_policy rp;
    REQUIRE(store::record_failure(fx.db, failure("old"), rp, 1.0, now - 40 * day));
    REQUIRE(store::record_failure(fx.db, failure("new"), rp, 1.0, now - day));

    auto live = [&](const std::string& uuid, store::millis at, bool deleted) {
        store::resource_write w;
        w.category = "patient";
        w.key = {"fhir", "Patient", uuid};
        w.body = "{}";
        w.fingerprint = "f";
        w.origin_node = "n";
        REQUIRE(store::write_resource(fx.db, w, {"Patient", "{}", "", ""}, uuid + "-e1", at));
        if (deleted) {
            w.deleted = true;
            w.fingerprint = "gone";
            REQUIRE(store::write_resource(fx.db, w, {"Patient", "{}", "", ""}, uuid + "-e2", at));
            REQUIRE_FALSE(store::set_synced_fingerprint(fx.db, "p", w.key, "gone", at));
        }
    };
    live("keep", now - 300 * day, false);
    // A resource this store does not hold (an OpenMRS local side): its agreement is kept by key.
    REQUIRE_FALSE(store::set_synced_fingerprint(fx.db, "p", {"rest", "location", "elsewhere"}, "f1", now));
    REQUIRE_FALSE(store::set_synced_fingerprint(fx.db, "p", {"rest", "location", "elsewhere"}, "f2", now));
    CHECK(*store::get_synced_fingerprint(fx.db, "p", {"rest", "location", "elsewhere"}) == std::optional<std::string>("f2"));
    CHECK(*store::get_synced_fingerprint(fx.db, "other-peer", {"rest", "location", "elsewhere"}) == std::nullopt);
    live("young-tombstone", now - 10 * day, true);
    live("old-tombstone", now - 200 * day, true);

    store::retention_policy p;
    p.audit_max_age = 90 * day;
    p.audit_max_rows = 30;
    p.retry_log_max_age = 30 * day;
    p.tombstone_max_age = 180 * day;
    auto r = store::prune(fx.db, p, now);
    REQUIRE(r);
    CHECK(r->audit_rows == 20);  // 10 too old, then 10 more beyond the cap of 30
    CHECK(*fx.db.query_text("SELECT count(*) FROM audit_log") == "30");
    CHECK(r->retry_log_rows == 1);
    CHECK(r->tombstones == 1);
    CHECK(*store::get_resource(fx.db, {"fhir", "Patient", "old-tombstone"}) == std::nullopt);
    CHECK(store::get_resource(fx.db, {"fhir", "Patient", "young-tombstone"})->has_value());
    CHECK(store::get_resource(fx.db, {"fhir", "Patient", "keep"})->has_value());  // live rows never go
    CHECK(*store::get_synced_fingerprint(fx.db, "p", {"fhir", "Patient", "old-tombstone"}) == std::nullopt);
    CHECK(store::get_synced_fingerprint(fx.db, "p", {"fhir", "Patient", "young-tombstone"})->has_value());
    // The failed event itself stays (only its log ages out).
    CHECK(*store::count_failures(fx.db) == 2);
    // Nothing left to do: a second pass prunes nothing.
    auto again = store::prune(fx.db, p, now);
    CHECK(again->audit_rows + again->retry_log_rows + again->tombstones == 0);
}

TEST_CASE("markers and metadata round-trip, and bad input is refused by name", "[store][records]") {
    db_fixture fx;
    CHECK(*store::get_marker(fx.db, "f") == std::nullopt);
    REQUIRE_FALSE(store::set_marker(fx.db, {"f", "tag:1", "f/1"}, 1));
    REQUIRE_FALSE(store::set_marker(fx.db, {"f", "tag:2", "f/2"}, 2));
    auto m = store::get_marker(fx.db, "f");
    CHECK((*m)->last_read_entry_id == "tag:2");
    CHECK(store::set_marker(fx.db, {"", "x", "y"}, 1) == errc::bad_input);
    REQUIRE_FALSE(store::set_meta(fx.db, "k", "v"));
    CHECK(**store::get_meta(fx.db, "k") == "v");

    store::resource_write w;
    w.category = "patient";
    w.key = {"xml", "Patient", "u"};
    w.body = "{}";
    w.fingerprint = "f";
    CHECK(store::write_resource(fx.db, w, {"Patient", "{}", "", ""}, "e", 1).error() == errc::bad_input);
}
