#include "store/schema.hpp"

#include "agent/common/log.hpp"

#include <array>
#include <string>

namespace edgesync::store {
namespace {

// Times are integer milliseconds since the Unix epoch (UTC) throughout.
constexpr std::array<migration, 5> k_migrations{{
    {1, "resources, feed events, markers, node metadata", R"sql(
CREATE TABLE node_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per resource this node holds, live or tombstoned. (representation, type, uuid) names
-- it: representation 'fhir' with a FHIR R4 type ('Patient'), or 'rest' with an OpenMRS REST
-- resource ('location'). version is meta.versionId, bumped on every change.
CREATE TABLE resources (
    id             INTEGER PRIMARY KEY,
    category       TEXT    NOT NULL,
    representation TEXT    NOT NULL CHECK (representation IN ('fhir', 'rest')),
    type           TEXT    NOT NULL,
    uuid           TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version > 0),
    last_updated   INTEGER NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    deleted_at     INTEGER,
    fingerprint    BLOB    NOT NULL,
    origin_node    TEXT    NOT NULL,
    arrived_from   TEXT    NOT NULL DEFAULT '',   -- '' = written here (a local app or the node)
    body           BLOB    NOT NULL,
    UNIQUE (representation, type, uuid)
);
CREATE INDEX resources_by_updated ON resources (type, last_updated);
CREATE INDEX resources_tombstones ON resources (deleted_at) WHERE deleted = 1;

-- The node's own feed, as the atomfeed publisher's event_records. AUTOINCREMENT: ids are never
-- reused, and with one writer they increase in commit order.
CREATE TABLE event_records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT    NOT NULL UNIQUE,
    title        TEXT    NOT NULL,
    timestamp    INTEGER NOT NULL,
    uri          TEXT,
    object       TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    tags         TEXT    NOT NULL DEFAULT '',
    resource_id  INTEGER
);
CREATE INDEX event_records_by_category ON event_records (category, id);

-- Feed read positions, as the atomfeed client's markers table.
CREATE TABLE markers (
    feed_uri                     TEXT PRIMARY KEY,
    last_read_entry_id           TEXT,
    feed_uri_for_last_read_entry TEXT,
    updated_at                   INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
    {2, "failed events, retry log, audit log", R"sql(
-- The atomfeed client's failed_events columns, plus the retry queue's state.
CREATE TABLE failed_events (
    id              INTEGER PRIMARY KEY,
    feed_uri        TEXT    NOT NULL,
    failed_at       INTEGER NOT NULL,
    error_message   TEXT    NOT NULL,   -- the first failure
    event_id        TEXT    NOT NULL,
    event_content   TEXT    NOT NULL,
    error_hash_code INTEGER NOT NULL,
    title           TEXT    NOT NULL DEFAULT '',
    tags            TEXT    NOT NULL DEFAULT '',
    category        TEXT    NOT NULL DEFAULT '',
    direction       TEXT    NOT NULL CHECK (direction IN ('pull', 'push')),
    attempts        INTEGER NOT NULL DEFAULT 1,
    next_retry_at   INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'parked')),
    last_error      TEXT    NOT NULL,
    UNIQUE (feed_uri, event_id)
);
CREATE INDEX failed_events_due ON failed_events (state, next_retry_at);

-- The atomfeed client's failed_event_retry_log: one row per failed attempt.
CREATE TABLE failed_event_retry_log (
    id              INTEGER PRIMARY KEY,
    feed_uri        TEXT    NOT NULL,
    failed_at       INTEGER NOT NULL,
    error_message   TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_content   TEXT    NOT NULL,
    error_hash_code INTEGER NOT NULL,
    attempt         INTEGER NOT NULL
);
CREATE INDEX failed_event_retry_log_by_time ON failed_event_retry_log (failed_at);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    direction     TEXT    NOT NULL,   -- pull | push | local | admin
    category      TEXT    NOT NULL DEFAULT '',
    resource_type TEXT    NOT NULL DEFAULT '',
    resource_uuid TEXT    NOT NULL DEFAULT '',
    action        TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL CHECK (status IN ('success', 'failure', 'conflict', 'skipped')),
    error         TEXT    NOT NULL DEFAULT '',
    origin        TEXT    NOT NULL DEFAULT '',
    peer          TEXT    NOT NULL DEFAULT '',
    transport     TEXT    NOT NULL DEFAULT '',
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    payload       BLOB                         -- only when audit.payloads is on
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE INDEX audit_log_by_resource ON audit_log (resource_uuid) WHERE resource_uuid <> '';
)sql"},
    {3, "last-synced fingerprints, conflicts", R"sql(
-- The fingerprint of the last state this node and `peer` agreed on, per resource. Keyed by the
-- resource's row id (not its uuid), so the row of a new resource is appended, not inserted at a
-- random place in the tree: half the write cost of a pull.
CREATE TABLE sync_fingerprints (
    resource_id    INTEGER NOT NULL,
    peer           TEXT    NOT NULL,
    fingerprint    BLOB    NOT NULL,
    synced_at      INTEGER NOT NULL,
    PRIMARY KEY (resource_id, peer)
) WITHOUT ROWID;

CREATE TABLE conflicts (
    id                 INTEGER PRIMARY KEY,
    detected_at        INTEGER NOT NULL,
    category           TEXT    NOT NULL,
    representation     TEXT    NOT NULL,
    type               TEXT    NOT NULL,
    uuid               TEXT    NOT NULL,
    peer               TEXT    NOT NULL,
    local_body         BLOB,            -- NULL: deleted on this side
    local_fingerprint  BLOB,
    remote_body        BLOB,            -- NULL: deleted on the peer
    remote_fingerprint BLOB,
    policy             TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution         TEXT,            -- local | remote | merged
    resolved_body      BLOB,
    resolved_at        INTEGER,
    resolved_by        TEXT
);
CREATE UNIQUE INDEX conflicts_one_open ON conflicts (peer, representation, type, uuid) WHERE status = 'open';
CREATE INDEX conflicts_by_status ON conflicts (status, id);
)sql"},
    {4, "feed page numbers: events numbered per category", R"sql(
-- seq is the event's ordinal within its category (1, 2, 3, ...): page p of a category holds
-- seq (p-1)*size+1 .. p*size, found by an index range instead of an OFFSET scan.
ALTER TABLE event_records ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE event_records SET seq = (SELECT count(*) FROM event_records e
                                WHERE e.category = event_records.category AND e.id <= event_records.id);
CREATE UNIQUE INDEX event_records_by_seq ON event_records (category, seq);
)sql"},
    {5, "agreed fingerprints of resources this store does not hold", R"sql(
-- With an OpenMRS server as the local side the store holds no resource rows, yet three-way
-- detection needs the fingerprint each resource last agreed on with the parent: kept here, by key.
CREATE TABLE peer_fingerprints (
    peer           TEXT    NOT NULL,
    representation TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    uuid           TEXT    NOT NULL,
    fingerprint    BLOB    NOT NULL,
    synced_at      INTEGER NOT NULL,
    PRIMARY KEY (peer, representation, type, uuid)
) WITHOUT ROWID;
)sql"},
}};

static_assert(k_migrations.back().version == k_schema_version);

}  // namespace

std::span<const migration> migrations() noexcept { return k_migrations; }

sql::result<int> schema_version(sql::connection& db) {
    auto v = db.query_text("PRAGMA user_version");
    if (!v) return v.error();
    return std::stoi(v->empty() ? "0" : *v);
}

sql::error_code migrate(sql::connection& db, std::string& why, int target) {
    auto current = schema_version(db);
    if (!current) {
        why = "read schema version: " + db.last_message();
        return current.error();
    }
    if (*current > k_schema_version) {
        why = "the database is at schema version " + std::to_string(*current) + ", this edgesync knows up to " +
              std::to_string(k_schema_version) + "; run the newer edgesync that wrote it, or restore a backup";
        return make_error_code(errc::schema_too_new);
    }
    for (const migration& m : k_migrations) {
        if (m.version <= *current || m.version > target) continue;
        const std::string bump = "PRAGMA user_version = " + std::to_string(m.version);
        sql::error_code ec = db.exec("BEGIN IMMEDIATE");
        if (!ec) ec = db.exec(m.sql);
        if (!ec) ec = db.exec(bump.c_str());
        if (!ec) ec = db.exec("COMMIT");
        if (ec) {
            why = "migration to schema version " + std::to_string(m.version) + " (" + m.summary + "): " + db.last_message();
            if (db.in_transaction()) db.exec("ROLLBACK");
            // Disk trouble keeps its own name (the operator's fix differs); anything else is a bug
            // in the step itself.
            return dooms_transaction(ec) && ec != errc::internal ? ec : make_error_code(errc::migration_failed);
        }
        // A new database passes through every step; only upgrades of existing data are news.
        if (*current > 0) log::info("store_migrated", {{"version", m.version}, {"summary", m.summary}});
    }
    return {};
}

}  // namespace edgesync::store
