// Migrations: a database at every earlier schema version, holding rows written at that version,
// is brought to the newest version with its rows intact and a schema identical to a fresh one.
#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "support/catch_net.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <map>

using namespace edgesync;
using store::errc;

namespace {

store::sql::connection open_db(const std::string& path) {
    std::string why;
    auto c = store::sql::connection::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr, why);
    INFO(why);
    REQUIRE(c);
    return std::move(*c);
}

// Rows a database at version v holds (written with that version's columns).
const std::map<int, const char*> k_seed = {
    {1, "INSERT INTO node_meta VALUES ('store_epoch', 'e1');"
        "INSERT INTO resources (category, representation, type, uuid, version, last_updated, fingerprint, origin_node, body) "
        "VALUES ('patient', 'fhir', 'Patient', 'u1', 3, 1000, x'01', 'n1', '{\"resourceType\":\"Patient\"}');"
        "INSERT INTO event_records (uuid, title, timestamp, object, category, tags) VALUES ('ev1', 'Patient', 1000, '{}', 'patient', 'UPDATED');"
        "INSERT INTO markers VALUES ('http://p/ws/atomfeed/patient/recent', 'tag:e', 'http://p/ws/atomfeed/patient/1', 1000);"},
    {2, "INSERT INTO failed_events (feed_uri, failed_at, error_message, event_id, event_content, error_hash_code, direction, "
        "next_retry_at, state, last_error) VALUES ('f', 1, 'boom', 'e', '{}', 7, 'pull', 2, 'pending', 'boom');"
        "INSERT INTO failed_event_retry_log (feed_uri, failed_at, error_message, event_id, event_content, error_hash_code, attempt) "
        "VALUES ('f', 1, 'boom', 'e', '{}', 7, 1);"
        "INSERT INTO audit_log (at, direction, status) VALUES (1, 'pull', 'success');"},
    {3, "INSERT INTO sync_fingerprints VALUES (1, 'p', x'01', 5);"
        "INSERT INTO conflicts (detected_at, category, representation, type, uuid, peer, policy, status) "
        "VALUES (1, 'patient', 'fhir', 'Patient', 'u1', 'p', 'manual', 'open');"},
    {4, "INSERT INTO event_records (uuid, title, timestamp, object, category, tags, seq) VALUES ('ev4', 'Patient', 2000, '{}', 'patient', 'UPDATED', 2);"},
    {5, "INSERT INTO peer_fingerprints VALUES ('p', 'fhir', 'Patient', 'elsewhere', x'02', 6);"},
};

// Every schema object's SQL, keyed by name: the shape to compare.
std::map<std::string, std::string> schema_of(store::sql::connection& db) {
    auto st = db.prepare("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");
    REQUIRE(st);
    std::map<std::string, std::string> out;
    while (*st->step()) out[std::string(st->text(0))] = std::string(st->text(1));
    return out;
}

std::int64_t count(store::sql::connection& db, const std::string& table) {
    auto st = db.prepare("SELECT count(*) FROM " + table);
    REQUIRE(st);
    REQUIRE(*st->step());
    return st->int64(0);
}

}  // namespace

TEST_CASE("migrations are numbered 1..newest without gaps, each with seed rows in this test", "[store][schema]") {
    int expect = 1;
    for (const auto& m : store::migrations()) {
        CHECK(m.version == expect);
        CHECK(k_seed.count(m.version) == 1);  // a new migration needs seed rows here
        ++expect;
    }
    CHECK(expect - 1 == store::k_schema_version);
}

TEST_CASE("a database at every earlier version migrates to the newest, keeping its rows", "[store][schema]") {
    test::temp_dir tmp;
    std::map<std::string, std::string> fresh;
    {
        auto db = open_db(tmp.file("fresh.db"));
        std::string why;
        REQUIRE_FALSE(store::migrate(db, why));
        fresh = schema_of(db);
    }
    for (int from = 0; from < store::k_schema_version; ++from) {
        DYNAMIC_SECTION("from version " << from) {
            const std::string path = tmp.file("v" + std::to_string(from) + ".db");
            {
                auto db = open_db(path);
                std::string why;
                REQUIRE_FALSE(store::migrate(db, why, from));
                REQUIRE(*store::schema_version(db) == from);
                for (int v = 1; v <= from; ++v) REQUIRE_FALSE(db.exec(k_seed.at(v)));
            }
            auto db = open_db(path);  // as a newer binary would, on a later start
            std::string why;
            REQUIRE_FALSE(store::migrate(db, why));
            CHECK(*store::schema_version(db) == store::k_schema_version);
            CHECK(schema_of(db) == fresh);
            CHECK(*db.query_text("PRAGMA integrity_check") == "ok");
            // The old rows survived and the new tables take rows.
            if (from >= 1) {
                CHECK(count(db, "resources") == 1);
                CHECK(count(db, "markers") == 1);
                CHECK(*db.query_text("SELECT body FROM resources WHERE uuid = 'u1'") == "{\"resourceType\":\"Patient\"}");
            }
            if (from >= 2) CHECK(count(db, "failed_events") == 1);
            // Events written before version 4 were numbered within their category.
            if (from >= 1 && from < 4) CHECK(*db.query_text("SELECT seq FROM event_records WHERE uuid = 'ev1'") == "1");
            for (int v = from + 1; v <= store::k_schema_version; ++v) CHECK_FALSE(db.exec(k_seed.at(v)));
            // Migrating an up-to-date database is a no-op.
            CHECK_FALSE(store::migrate(db, why));
        }
    }
}

TEST_CASE("a failing migration leaves the database at its previous version, intact", "[store][schema]") {
    test::temp_dir tmp;
    const std::string path = tmp.file("edgesync.db");
    {
        auto db = open_db(path);
        std::string why;
        REQUIRE_FALSE(store::migrate(db, why, 2));
        REQUIRE_FALSE(db.exec(k_seed.at(1)));
        // Something (a hand edit, a half-restored backup) already made a table migration 3 creates.
        REQUIRE_FALSE(db.exec("CREATE TABLE conflicts (x)"));
    }
    auto db = open_db(path);
    std::string why;
    auto ec = store::migrate(db, why);
    CHECK(ec == errc::migration_failed);
    CHECK_THAT(why, Catch::Matchers::Contains("schema version 3") && Catch::Matchers::Contains("conflicts"));
    CHECK(*store::schema_version(db) == 2);
    CHECK_FALSE(db.in_transaction());
    CHECK(count(db, "resources") == 1);
    // sync_fingerprints (created earlier in the same step) was rolled back with it.
    CHECK(*db.query_text("SELECT count(*) FROM sqlite_master WHERE name = 'sync_fingerprints'") == "0");
}
