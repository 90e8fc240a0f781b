#include "store/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace edgesync::store::sql {

statement::~statement() {
    if (!stmt_) return;
    if (owned_) {
        sqlite3_finalize(stmt_);
    } else {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

statement& statement::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
}
statement& statement::bind(int i, std::string_view text) {
    sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}
statement& statement::bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_STATIC);
    return *this;
}
statement& statement::bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
}

result<bool> statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return result<bool>(boost::system::in_place_error, conn_->fail(rc));
}

error_code statement::run() {
    for (;;) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) return {};
    }
}

std::int64_t statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
std::string_view statement::text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    if (!p) return {};
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}
std::string_view statement::blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    if (!p) return {};
    return {static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}
bool statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

connection::~connection() { close(); }

connection::connection(connection&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), cache_(std::move(o.cache_)), last_message_(std::move(o.last_message_)) {
    o.cache_.clear();
}

connection& connection::operator=(connection&& o) noexcept {
    if (this != &o) {
        close();
        db_ = std::exchange(o.db_, nullptr);
        cache_ = std::move(o.cache_);
        o.cache_.clear();
        last_message_ = std::move(o.last_message_);
    }
    return *this;
}

void connection::close() noexcept {
    for (auto& [_, s] : cache_) sqlite3_finalize(s);
    cache_.clear();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

result<connection> connection::open(const std::string& path, int flags, const char* vfs, std::string& why) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, vfs);
    if (rc != SQLITE_OK) {
        why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        const int ext = db ? sqlite3_extended_errcode(db) : rc;
        sqlite3_close_v2(db);
        return make_error_code(from_sqlite(ext));
    }
    sqlite3_extended_result_codes(db, 1);
    connection c;
    c.db_ = db;
    return c;
}

error_code connection::fail(int rc) {
    last_message_ = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return make_error_code(from_sqlite(rc));
}

error_code connection::exec(const char* sql) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return fail(sqlite3_extended_errcode(db_));
    return {};
}

result<statement> connection::cached(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* s = nullptr;
        const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        it = cache_.emplace(sql, s).first;
    }
    return statement(*this, it->second, false);
}

result<statement> connection::prepare(std::string_view sql) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
    if (rc != SQLITE_OK) return fail(rc);
    return statement(*this, s, true);
}

result<std::string> connection::query_text(const char* sql) {
    auto st = prepare(sql);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::string();
    return std::string(st->text(0));
}

std::int64_t connection::changes() const noexcept { return sqlite3_changes64(db_); }
std::int64_t connection::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
bool connection::in_transaction() const noexcept { return db_ && sqlite3_get_autocommit(db_) == 0; }

}  // namespace edgesync::store::sql
