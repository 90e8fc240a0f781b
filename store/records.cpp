#include "store/records.hpp"

#include <algorithm>
#include <cmath>

namespace edgesync::store {
namespace {

error_code bad(const char*) { return make_error_code(errc::bad_input); }

stored_resource read_resource_row(const sql::statement& s) {
    stored_resource r;
    r.row_id = s.int64(11);
    r.key.representation = s.text(0);
    r.key.type = s.text(1);
    r.key.uuid = s.text(2);
    r.category = s.text(3);
    r.version = s.int64(4);
    r.last_updated = s.int64(5);
    r.deleted = s.int64(6) != 0;
    r.fingerprint = s.blob(7);
    r.origin_node = s.text(8);
    r.arrived_from = s.text(9);
    r.body = s.blob(10);
    return r;
}

const char* state_name(failure_state s) { return s == failure_state::parked ? "parked" : "pending"; }

failed_event read_failure_row(const sql::statement& s) {
    failed_event f;
    f.id = s.int64(0);
    f.direction = s.text(1);
    f.feed_uri = s.text(2);
    f.event_id = s.text(3);
    f.event_content = s.text(4);
    f.title = s.text(5);
    f.tags = s.text(6);
    f.category = s.text(7);
    f.error_message = s.text(8);
    f.last_error = s.text(9);
    f.attempts = s.int64(10);
    f.failed_at = s.int64(11);
    f.next_retry_at = s.int64(12);
    f.state = s.text(13) == "parked" ? failure_state::parked : failure_state::pending;
    return f;
}

#define ES_FAILED_COLUMNS                                                                                     \
    "id, direction, feed_uri, event_id, event_content, title, tags, category, error_message, last_error, " \
    "attempts, failed_at, next_retry_at, state"

std::optional<std::string> opt_blob(const sql::statement& s, int col) {
    if (s.is_null(col)) return std::nullopt;
    return std::string(s.blob(col));
}

void bind_opt_blob(sql::statement& s, int i, const std::optional<std::string>& v) {
    if (v) s.bind_blob(i, *v);
    else s.bind_null(i);
}

// Every row of a stepped statement, each made by `read`.
template <class Read>
auto collect_rows(sql::statement& s, Read read) -> result<std::vector<decltype(read(s))>> {
    std::vector<decltype(read(s))> out;
    for (;;) {
        auto row = s.step();
        if (!row) return row.error();
        if (!*row) return out;
        out.push_back(read(s));
    }
}

// The first column of the first row as an integer (0 without a row): counts and maxima.
result<std::int64_t> single_int64(sql::statement& s) {
    auto row = s.step();
    if (!row) return row.error();
    return *row ? s.int64(0) : 0;
}

// Java's String.hashCode of the message, as the atomfeed client stores in error_hash_code.
std::int64_t java_hash(const std::string& s) {
    std::int32_t h = 0;
    for (char c : s) h = static_cast<std::int32_t>(31u * static_cast<std::uint32_t>(h) + static_cast<unsigned char>(c));
    return h;
}

event_record read_event_row(const sql::statement& s) {
    event_record e;
    e.id = s.int64(0);
    e.uuid = s.text(1);
    e.title = s.text(2);
    e.timestamp = s.int64(3);
    e.uri = s.text(4);
    e.object = s.text(5);
    e.category = s.text(6);
    e.tags = s.text(7);
    e.seq = s.int64(8);
    return e;
}

}  // namespace

const char* to_string(write_outcome o) noexcept {
    switch (o) {
        case write_outcome::created: return "created";
        case write_outcome::updated: return "updated";
        case write_outcome::deleted: return "deleted";
        case write_outcome::unchanged: return "unchanged";
    }
    return "?";
}

// ---- resources and events ----------------------------------------------------------------------

result<write_result> write_resource(sql::connection& db, const resource_write& w, const event_spec& ev,
                                    const std::string& event_uuid, millis now) {
    const auto& k = w.key;
    if (k.uuid.empty() || k.type.empty()) return bad("resource key");
    if (k.representation != "fhir" && k.representation != "rest") return bad("representation");
    if (w.category.empty() || w.fingerprint.empty() || event_uuid.empty() || ev.object.empty()) return bad("write");
    if (!w.deleted && w.body.empty()) return bad("body");

    std::int64_t id = 0, version = 0;
    bool exists = false, was_deleted = false;
    std::string old_fp;
    {
        auto s = db.cached("SELECT id, version, deleted, fingerprint FROM resources WHERE representation=?1 AND type=?2 AND uuid=?3");
        if (!s) return s.error();
        s->bind(1, k.representation).bind(2, k.type).bind(3, k.uuid);
        auto row = s->step();
        if (!row) return row.error();
        if (*row) {
            exists = true;
            id = s->int64(0);
            version = s->int64(1);
            was_deleted = s->int64(2) != 0;
            old_fp = s->blob(3);
        }
    }
    if (w.expected_version && (!exists || *w.expected_version != version)) return make_error_code(errc::version_mismatch);

    write_result out;
    out.resource_id = id;
    if (w.deleted ? (!exists || was_deleted) : (exists && !was_deleted && old_fp == w.fingerprint)) {
        out.outcome = write_outcome::unchanged;
        out.version = version;
        return out;
    }

    if (!exists) {
        auto s = db.cached(
            "INSERT INTO resources (category, representation, type, uuid, version, last_updated, deleted, deleted_at, "
            "fingerprint, origin_node, arrived_from, body) VALUES (?1, ?2, ?3, ?4, 1, ?5, 0, NULL, ?6, ?7, ?8, ?9)");
        if (!s) return s.error();
        s->bind(1, w.category).bind(2, k.representation).bind(3, k.type).bind(4, k.uuid).bind(5, now);
        s->bind_blob(6, w.fingerprint).bind(7, w.origin_node).bind(8, w.arrived_from).bind_blob(9, w.body);
        if (auto ec = s->run()) return ec;
        id = out.resource_id = db.last_insert_rowid();
        out.outcome = write_outcome::created;
        out.version = 1;
    } else if (w.deleted) {
        auto s = db.cached(
            "UPDATE resources SET version = version + 1, last_updated = ?2, deleted = 1, deleted_at = ?2, "
            "fingerprint = ?3, origin_node = ?4, arrived_from = ?5 WHERE id = ?1");
        if (!s) return s.error();
        s->bind(1, id).bind(2, now).bind_blob(3, w.fingerprint).bind(4, w.origin_node).bind(5, w.arrived_from);
        if (auto ec = s->run()) return ec;
        out.outcome = write_outcome::deleted;
        out.version = version + 1;
    } else {
        auto s = db.cached(
            "UPDATE resources SET category = ?2, version = version + 1, last_updated = ?3, deleted = 0, deleted_at = NULL, "
            "fingerprint = ?4, origin_node = ?5, arrived_from = ?6, body = ?7 WHERE id = ?1");
        if (!s) return s.error();
        s->bind(1, id).bind(2, w.category).bind(3, now).bind_blob(4, w.fingerprint).bind(5, w.origin_node);
        s->bind(6, w.arrived_from).bind_blob(7, w.body);
        if (auto ec = s->run()) return ec;
        out.outcome = was_deleted ? write_outcome::created : write_outcome::updated;
        out.version = version + 1;
    }

    const char* derived = out.outcome == write_outcome::created   ? "CREATED"
                          : out.outcome == write_outcome::deleted ? "DELETED"
                                                                  : "UPDATED";
    auto s = db.cached(
        "INSERT INTO event_records (uuid, title, timestamp, uri, object, category, tags, resource_id, seq) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "(SELECT coalesce(max(seq), 0) + 1 FROM event_records WHERE category = ?6))");
    if (!s) return s.error();
    s->bind(1, event_uuid).bind(2, ev.title.empty() ? k.type : ev.title).bind(3, now).bind_opt(4, ev.uri);
    s->bind(5, ev.object).bind(6, w.category).bind(7, ev.tags.empty() ? std::string_view(derived) : ev.tags).bind(8, id);
    if (auto ec = s->run()) return ec;
    out.event_id = db.last_insert_rowid();
    return out;
}

result<write_result> apply_pulled(sql::connection& db, const pulled_change& c, const std::string& event_uuid, millis now) {
    if (c.peer.empty() || c.feed_marker.feed_uri.empty()) return bad("pulled change");
    auto w = write_resource(db, c.write, c.event, event_uuid, now);
    if (!w) return w;
    if (w->resource_id != 0) {
        auto s = db.cached(
            "INSERT INTO sync_fingerprints (resource_id, peer, fingerprint, synced_at) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT DO UPDATE SET fingerprint = ?3, synced_at = ?4");
        if (!s) return s.error();
        s->bind(1, w->resource_id).bind(2, c.peer).bind_blob(3, c.write.fingerprint).bind(4, now);
        if (auto ec = s->run()) return ec;
    }
    if (auto ec = set_marker(db, c.feed_marker, now)) return ec;
    return w;
}

result<std::optional<stored_resource>> get_resource(sql::connection& db, const resource_key& key) {
    auto s = db.cached(
        "SELECT representation, type, uuid, category, version, last_updated, deleted, fingerprint, origin_node, "
        "arrived_from, body, id FROM resources WHERE representation=?1 AND type=?2 AND uuid=?3");
    if (!s) return s.error();
    s->bind(1, key.representation).bind(2, key.type).bind(3, key.uuid);
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) return std::optional<stored_resource>();
    return std::optional<stored_resource>(read_resource_row(*s));
}

result<std::vector<stored_resource>> find_resources(sql::connection& db, const resource_query& q) {
    std::string sql =
        "SELECT representation, type, uuid, category, version, last_updated, deleted, fingerprint, origin_node, "
        "arrived_from, body, id FROM resources WHERE representation = ?1 AND type = ?2 AND deleted = 0 AND id > ?3 "
        "AND (?4 = 0 OR last_updated >= ?4) AND (?5 = 0 OR last_updated < ?5)";
    if (!q.uuids.empty()) {
        sql += " AND uuid IN (";
        for (std::size_t i = 0; i < q.uuids.size(); ++i) sql += (i ? ",?" : "?") + std::to_string(7 + i);
        sql += ")";
    }
    sql += " ORDER BY id LIMIT ?6";
    auto s = db.prepare(sql);
    if (!s) return s.error();
    s->bind(1, q.representation).bind(2, q.type).bind(3, q.after_row).bind(4, q.updated_from).bind(5, q.updated_to);
    s->bind(6, static_cast<std::int64_t>(q.limit));
    for (std::size_t i = 0; i < q.uuids.size(); ++i) s->bind(static_cast<int>(7 + i), q.uuids[i]);
    return collect_rows(*s, read_resource_row);
}

result<std::int64_t> count_resources(sql::connection& db, bool include_tombstones) {
    auto s = include_tombstones ? db.cached("SELECT count(*) FROM resources")
                                : db.cached("SELECT count(*) FROM resources WHERE deleted = 0");
    if (!s) return s.error();
    return single_int64(*s);
}

result<std::vector<event_record>> events_after(sql::connection& db, const std::string& category, std::int64_t after_id,
                                               std::size_t limit) {
    auto s = category.empty()
                 ? db.cached("SELECT id, uuid, title, timestamp, uri, object, category, tags, seq FROM event_records "
                             "WHERE id > ?1 ORDER BY id LIMIT ?3")
                 : db.cached("SELECT id, uuid, title, timestamp, uri, object, category, tags, seq FROM event_records "
                             "WHERE category = ?2 AND id > ?1 ORDER BY id LIMIT ?3");
    if (!s) return s.error();
    s->bind(1, after_id).bind(3, static_cast<std::int64_t>(limit));
    if (!category.empty()) s->bind(2, category);
    return collect_rows(*s, read_event_row);
}

result<std::vector<event_record>> events_by_seq(sql::connection& db, const std::string& category, std::int64_t first_seq,
                                                std::size_t limit) {
    auto s = db.cached("SELECT id, uuid, title, timestamp, uri, object, category, tags, seq FROM event_records "
                       "WHERE category = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3");
    if (!s) return s.error();
    s->bind(1, category).bind(2, first_seq).bind(3, static_cast<std::int64_t>(limit));
    return collect_rows(*s, read_event_row);
}

result<std::int64_t> category_event_count(sql::connection& db, const std::string& category) {
    auto s = db.cached("SELECT coalesce(max(seq), 0) FROM event_records WHERE category = ?1");
    if (!s) return s.error();
    s->bind(1, category);
    return single_int64(*s);
}

result<std::int64_t> count_events(sql::connection& db, const std::string& category) {
    auto s = category.empty() ? db.cached("SELECT count(*) FROM event_records")
                              : db.cached("SELECT count(*) FROM event_records WHERE category = ?1");
    if (!s) return s.error();
    if (!category.empty()) s->bind(1, category);
    return single_int64(*s);
}

// ---- markers -----------------------------------------------------------------------------------

error_code set_marker(sql::connection& db, const marker& m, millis now) {
    if (m.feed_uri.empty()) return bad("marker");
    auto s = db.cached(
        "INSERT INTO markers (feed_uri, last_read_entry_id, feed_uri_for_last_read_entry, updated_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (feed_uri) DO UPDATE SET last_read_entry_id = ?2, feed_uri_for_last_read_entry = ?3, updated_at = ?4");
    if (!s) return s.error();
    s->bind(1, m.feed_uri).bind_opt(2, m.last_read_entry_id).bind_opt(3, m.feed_uri_for_last_read_entry).bind(4, now);
    return s->run();
}

result<std::optional<marker>> get_marker(sql::connection& db, const std::string& feed_uri) {
    auto s = db.cached("SELECT last_read_entry_id, feed_uri_for_last_read_entry FROM markers WHERE feed_uri = ?1");
    if (!s) return s.error();
    s->bind(1, feed_uri);
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) return std::optional<marker>();
    return std::optional<marker>(marker{feed_uri, std::string(s->text(0)), std::string(s->text(1))});
}

// ---- fingerprints --------------------------------------------------------------------------------

error_code set_synced_fingerprint(sql::connection& db, const std::string& peer, const resource_key& key,
                                  const std::string& fingerprint, millis now) {
    auto s = db.cached(
        "INSERT INTO sync_fingerprints (resource_id, peer, fingerprint, synced_at) SELECT id, ?1, ?5, ?6 FROM resources "
        "WHERE representation = ?2 AND type = ?3 AND uuid = ?4 ON CONFLICT DO UPDATE SET fingerprint = ?5, synced_at = ?6");
    if (!s) return s.error();
    s->bind(1, peer).bind(2, key.representation).bind(3, key.type).bind(4, key.uuid).bind_blob(5, fingerprint).bind(6, now);
    if (auto ec = s->run()) return ec;
    if (db.changes() > 0) return {};
    auto k = db.cached(
        "INSERT INTO peer_fingerprints (peer, representation, type, uuid, fingerprint, synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT DO UPDATE SET fingerprint = ?5, synced_at = ?6");
    if (!k) return k.error();
    k->bind(1, peer).bind(2, key.representation).bind(3, key.type).bind(4, key.uuid).bind_blob(5, fingerprint).bind(6, now);
    return k->run();
}

result<std::optional<std::string>> get_synced_fingerprint(sql::connection& db, const std::string& peer,
                                                          const resource_key& key) {
    auto s = db.cached(
        "SELECT f.fingerprint FROM sync_fingerprints f JOIN resources r ON r.id = f.resource_id "
        "WHERE f.peer = ?1 AND r.representation = ?2 AND r.type = ?3 AND r.uuid = ?4");
    if (!s) return s.error();
    s->bind(1, peer).bind(2, key.representation).bind(3, key.type).bind(4, key.uuid);
    auto row = s->step();
    if (!row) return row.error();
    if (*row) return std::optional<std::string>(std::string(s->blob(0)));
    auto k = db.cached("SELECT fingerprint FROM peer_fingerprints WHERE peer = ?1 AND representation = ?2 AND type = ?3 AND uuid = ?4");
    if (!k) return k.error();
    k->bind(1, peer).bind(2, key.representation).bind(3, key.type).bind(4, key.uuid);
    row = k->step();
    if (!row) return row.error();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(std::string(k->blob(0)));
}

// ---- failed events -------------------------------------------------------------------------------

result<failed_event> record_failure(sql::connection& db, const failed_event& f, const retry_policy& p, double jitter,
                                    millis now) {
    if (f.feed_uri.empty() || f.event_id.empty() || (f.direction != "pull" && f.direction != "push")) return bad("failure");
    std::optional<failed_event> existing;
    {
        auto s = db.cached("SELECT " ES_FAILED_COLUMNS " FROM failed_events WHERE feed_uri = ?1 AND event_id = ?2");
        if (!s) return s.error();
        s->bind(1, f.feed_uri).bind(2, f.event_id);
        auto row = s->step();
        if (!row) return row.error();
        if (*row) existing = read_failure_row(*s);
    }
    if (!existing) {
        auto n = count_failures(db);
        if (!n) return n.error();
        if (*n >= p.queue_cap) return make_error_code(errc::queue_full);
    }
    failed_event out = existing ? *existing : f;
    out.attempts = existing ? existing->attempts + 1 : 1;
    out.last_error = f.last_error.empty() ? f.error_message : f.last_error;
    if (!existing) {
        out.error_message = f.error_message.empty() ? out.last_error : f.error_message;
        out.failed_at = now;
    }
    const double factor = std::pow(2.0, static_cast<double>(std::min<std::int64_t>(out.attempts - 1, 40)));
    const double base = std::min(static_cast<double>(p.backoff_initial) * factor, static_cast<double>(p.backoff_max));
    out.next_retry_at = now + static_cast<millis>(base * std::clamp(jitter, 0.5, 1.5));
    out.state = out.attempts >= p.max_attempts ? failure_state::parked : failure_state::pending;

    if (existing) {
        auto s = db.cached(
            "UPDATE failed_events SET attempts = ?2, last_error = ?3, next_retry_at = ?4, state = ?5, event_content = ?6 "
            "WHERE id = ?1");
        if (!s) return s.error();
        s->bind(1, out.id).bind(2, out.attempts).bind(3, out.last_error).bind(4, out.next_retry_at);
        s->bind(5, state_name(out.state)).bind(6, f.event_content.empty() ? out.event_content : f.event_content);
        if (auto ec = s->run()) return ec;
    } else {
        auto s = db.cached(
            "INSERT INTO failed_events (feed_uri, failed_at, error_message, event_id, event_content, error_hash_code, title, "
            "tags, category, direction, attempts, next_retry_at, state, last_error) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
        if (!s) return s.error();
        s->bind(1, out.feed_uri).bind(2, now).bind(3, out.error_message).bind(4, out.event_id).bind(5, out.event_content);
        s->bind(6, java_hash(out.error_message)).bind(7, out.title).bind(8, out.tags).bind(9, out.category);
        s->bind(10, out.direction).bind(11, out.attempts).bind(12, out.next_retry_at).bind(13, state_name(out.state));
        s->bind(14, out.last_error);
        if (auto ec = s->run()) return ec;
        out.id = db.last_insert_rowid();
    }
    auto log = db.cached(
        "INSERT INTO failed_event_retry_log (feed_uri, failed_at, error_message, event_id, event_content, error_hash_code, attempt) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!log) return log.error();
    log->bind(1, out.feed_uri).bind(2, now).bind(3, out.last_error).bind(4, out.event_id).bind(5, out.event_content);
    log->bind(6, java_hash(out.last_error)).bind(7, out.attempts);
    if (auto ec = log->run()) return ec;
    return out;
}


result<std::vector<failed_event>> due_failures(sql::connection& db, millis now, std::size_t limit) {
    auto s = db.cached("SELECT " ES_FAILED_COLUMNS " FROM failed_events WHERE state = 'pending' AND next_retry_at <= ?1 "
                       "ORDER BY next_retry_at, id LIMIT ?2");
    if (!s) return s.error();
    s->bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    return collect_rows(*s, read_failure_row);
}

result<std::vector<failed_event>> list_failures(sql::connection& db, std::optional<failure_state> state,
                                                std::int64_t after_id, std::size_t limit) {
    auto s = db.cached("SELECT " ES_FAILED_COLUMNS " FROM failed_events WHERE (?1 IS NULL OR state = ?1) AND id > ?2 "
                       "ORDER BY id LIMIT ?3");
    if (!s) return s.error();
    if (state) s->bind(1, state_name(*state));
    s->bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
    return collect_rows(*s, read_failure_row);
}

result<std::int64_t> count_failures(sql::connection& db) {
    auto s = db.cached("SELECT count(*) FROM failed_events");
    if (!s) return s.error();
    return single_int64(*s);
}

error_code clear_failure(sql::connection& db, std::int64_t id) {
    auto s = db.cached("DELETE FROM failed_events WHERE id = ?1");
    if (!s) return s.error();
    s->bind(1, id);
    if (auto ec = s->run()) return ec;
    return db.changes() == 0 ? make_error_code(errc::not_found) : error_code{};
}

error_code retry_failure_now(sql::connection& db, std::int64_t id, millis now) {
    auto s = db.cached("UPDATE failed_events SET state = 'pending', attempts = 0, next_retry_at = ?2 WHERE id = ?1");
    if (!s) return s.error();
    s->bind(1, id).bind(2, now);
    if (auto ec = s->run()) return ec;
    return db.changes() == 0 ? make_error_code(errc::not_found) : error_code{};
}

#undef ES_FAILED_COLUMNS

// ---- audit --------------------------------------------------------------------------------------

namespace {
audit_entry read_audit_row(const sql::statement& s) {
    audit_entry e;
    e.id = s.int64(0);
    e.at = s.int64(1);
    e.direction = s.text(2);
    e.category = s.text(3);
    e.resource_type = s.text(4);
    e.resource_uuid = s.text(5);
    e.action = s.text(6);
    e.status = s.text(7);
    e.error = s.text(8);
    e.origin = s.text(9);
    e.peer = s.text(10);
    e.transport = s.text(11);
    e.duration_ms = s.int64(12);
    e.payload = opt_blob(s, 13);
    return e;
}
}  // namespace

result<std::int64_t> append_audit(sql::connection& db, const audit_entry& e) {
    if (e.direction.empty() || e.status.empty()) return bad("audit");
    auto s = db.cached(
        "INSERT INTO audit_log (at, direction, category, resource_type, resource_uuid, action, status, error, origin, peer, "
        "transport, duration_ms, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!s) return s.error();
    s->bind(1, e.at).bind(2, e.direction).bind(3, e.category).bind(4, e.resource_type).bind(5, e.resource_uuid);
    s->bind(6, e.action).bind(7, e.status).bind(8, e.error).bind(9, e.origin).bind(10, e.peer).bind(11, e.transport);
    s->bind(12, e.duration_ms);
    bind_opt_blob(*s, 13, e.payload);
    if (auto ec = s->run()) return ec;
    return db.last_insert_rowid();
}

result<std::vector<audit_entry>> list_audit(sql::connection& db, const audit_filter& f) {
    auto s = db.cached(
        "SELECT id, at, direction, category, resource_type, resource_uuid, action, status, error, origin, peer, transport, "
        "duration_ms, payload FROM audit_log WHERE (?1 = '' OR direction = ?1) AND (?2 = '' OR category = ?2) "
        "AND (?3 = '' OR status = ?3) AND (?4 = '' OR resource_uuid = ?4) AND (?5 = 0 OR at >= ?5) AND (?6 = 0 OR at < ?6) "
        "AND (?7 = 0 OR id < ?7) ORDER BY id DESC LIMIT ?8");
    if (!s) return s.error();
    s->bind(1, f.direction).bind(2, f.category).bind(3, f.status).bind(4, f.resource_uuid).bind(5, f.since).bind(6, f.until);
    s->bind(7, f.before_id).bind(8, static_cast<std::int64_t>(f.limit));
    return collect_rows(*s, read_audit_row);
}

// ---- conflicts ----------------------------------------------------------------------------------

result<std::int64_t> open_conflict(sql::connection& db, const conflict_record& c) {
    if (c.peer.empty() || c.key.uuid.empty() || c.policy.empty()) return bad("conflict");
    auto s = db.cached(
        "INSERT INTO conflicts (detected_at, category, representation, type, uuid, peer, local_body, local_fingerprint, "
        "remote_body, remote_fingerprint, policy, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'open') "
        "ON CONFLICT (peer, representation, type, uuid) WHERE status = 'open' DO UPDATE SET detected_at = ?1, "
        "local_body = ?7, local_fingerprint = ?8, remote_body = ?9, remote_fingerprint = ?10, policy = ?11 RETURNING id");
    if (!s) return s.error();
    s->bind(1, c.detected_at).bind(2, c.category).bind(3, c.key.representation).bind(4, c.key.type).bind(5, c.key.uuid);
    s->bind(6, c.peer);
    bind_opt_blob(*s, 7, c.local_body);
    bind_opt_blob(*s, 8, c.local_fingerprint);
    bind_opt_blob(*s, 9, c.remote_body);
    bind_opt_blob(*s, 10, c.remote_fingerprint);
    s->bind(11, c.policy);
    auto row = s->step();
    if (!row) return row.error();
    const std::int64_t id = s->int64(0);
    if (auto ec = s->run()) return ec;
    return id;
}

namespace {
constexpr const char* k_conflict_select =
    "SELECT id, detected_at, category, representation, type, uuid, peer, local_body, local_fingerprint, remote_body, "
    "remote_fingerprint, policy, status, resolution, resolved_body, resolved_at, resolved_by FROM conflicts ";

conflict_record read_conflict_row(const sql::statement& s) {
    conflict_record c;
    c.id = s.int64(0);
    c.detected_at = s.int64(1);
    c.category = s.text(2);
    c.key = {std::string(s.text(3)), std::string(s.text(4)), std::string(s.text(5))};
    c.peer = s.text(6);
    c.local_body = opt_blob(s, 7);
    c.local_fingerprint = opt_blob(s, 8);
    c.remote_body = opt_blob(s, 9);
    c.remote_fingerprint = opt_blob(s, 10);
    c.policy = s.text(11);
    c.status = s.text(12);
    c.resolution = s.text(13);
    c.resolved_body = opt_blob(s, 14);
    c.resolved_at = s.int64(15);
    c.resolved_by = s.text(16);
    return c;
}
}  // namespace

result<std::vector<conflict_record>> list_conflicts(sql::connection& db, const std::string& status, std::int64_t after_id,
                                                    std::size_t limit) {
    auto s = db.prepare(std::string(k_conflict_select) + "WHERE (?1 = '' OR status = ?1) AND id > ?2 ORDER BY id LIMIT ?3");
    if (!s) return s.error();
    s->bind(1, status).bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
    return collect_rows(*s, read_conflict_row);
}

result<conflict_record> get_conflict(sql::connection& db, std::int64_t id) {
    auto s = db.prepare(std::string(k_conflict_select) + "WHERE id = ?1");
    if (!s) return s.error();
    s->bind(1, id);
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) return make_error_code(errc::not_found);
    return read_conflict_row(*s);
}

error_code resolve_conflict(sql::connection& db, std::int64_t id, const std::string& resolution,
                            const std::optional<std::string>& body, const std::string& by, millis now) {
    if (resolution != "local" && resolution != "remote" && resolution != "merged") return bad("resolution");
    if (resolution == "merged" && !body) return bad("merged body");
    auto s = db.cached(
        "UPDATE conflicts SET status = 'resolved', resolution = ?2, resolved_body = ?3, resolved_at = ?4, resolved_by = ?5 "
        "WHERE id = ?1 AND status = 'open'");
    if (!s) return s.error();
    s->bind(1, id).bind(2, resolution);
    bind_opt_blob(*s, 3, body);
    s->bind(4, now).bind(5, by);
    if (auto ec = s->run()) return ec;
    return db.changes() == 0 ? make_error_code(errc::not_found) : error_code{};
}

// ---- node metadata ------------------------------------------------------------------------------

error_code set_meta(sql::connection& db, const std::string& key, const std::string& value) {
    auto s = db.cached("INSERT INTO node_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2");
    if (!s) return s.error();
    s->bind(1, key).bind(2, value);
    return s->run();
}

result<std::optional<std::string>> get_meta(sql::connection& db, const std::string& key) {
    auto s = db.cached("SELECT value FROM node_meta WHERE key = ?1");
    if (!s) return s.error();
    s->bind(1, key);
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(std::string(s->text(0)));
}

// ---- retention ----------------------------------------------------------------------------------

result<pruned> prune(sql::connection& db, const retention_policy& p, millis now, std::int64_t batch) {
    pruned out;
    auto run = [&](const char* sql, std::int64_t a, std::int64_t& count) -> error_code {
        auto s = db.cached(sql);
        if (!s) return s.error();
        s->bind(1, a).bind(2, batch);
        if (auto ec = s->run()) return ec;
        count += db.changes();
        return {};
    };
    if (auto ec = run("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ?1 ORDER BY id LIMIT ?2)",
                      now - p.audit_max_age, out.audit_rows))
        return ec;
    // Beyond the row cap: the oldest go first.
    std::int64_t rows = 0;
    {
        auto n = db.cached("SELECT count(*) FROM audit_log");
        if (!n) return n.error();
        auto c = single_int64(*n);
        if (!c) return c.error();
        rows = *c;
    }
    if (const std::int64_t excess = rows - p.audit_max_rows; excess > 0) {
        auto s = db.cached("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id LIMIT ?1)");
        if (!s) return s.error();
        s->bind(1, std::min(excess, batch));
        if (auto ec = s->run()) return ec;
        out.audit_rows += db.changes();
    }
    if (auto ec = run("DELETE FROM failed_event_retry_log WHERE id IN (SELECT id FROM failed_event_retry_log WHERE "
                      "failed_at < ?1 ORDER BY id LIMIT ?2)",
                      now - p.retry_log_max_age, out.retry_log_rows))
        return ec;
    {
        auto fp = db.cached(
            "DELETE FROM sync_fingerprints WHERE resource_id IN (SELECT id FROM resources WHERE deleted = 1 AND "
            "deleted_at < ?1 ORDER BY deleted_at LIMIT ?2)");
        if (!fp) return fp.error();
        fp->bind(1, now - p.tombstone_max_age).bind(2, batch);
        if (auto ec = fp->run()) return ec;
    }
    if (auto ec = run("DELETE FROM resources WHERE id IN (SELECT id FROM resources WHERE deleted = 1 AND deleted_at < ?1 "
                      "ORDER BY deleted_at LIMIT ?2)",
                      now - p.tombstone_max_age, out.tombstones))
        return ec;
    return out;
}

}  // namespace edgesync::store
