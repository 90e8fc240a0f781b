// Thin RAII over the SQLite C API: a connection with a cache of prepared statements, and a
// statement handle that resets itself when the caller is done with it.
//
// Thread-safety: none. A connection and its statements belong to one thread at a time (the store
// thread that owns it; connections are opened with SQLITE_OPEN_NOMUTEX, "multi-thread" mode).
// Errors: SQLite result codes become store::errc (error.hpp); the text of the last failure is
// kept in connection::last_message() for logs and operator messages.
#pragma once

#include "store/error.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace edgesync::store::sql {

template <class T>
using result = boost::system::result<T>;
using boost::system::error_code;

class connection;

// A prepared statement in use. Binding indexes are 1-based, column indexes 0-based (as SQLite).
// The destructor resets it and clears its bindings, so a cached statement never holds a read
// snapshot open after its user is gone. Column views stay valid until the next step/reset.
class statement {
public:
    statement() = default;
    statement(connection& c, sqlite3_stmt* s, bool owned) noexcept : conn_(&c), stmt_(s), owned_(owned) {}
    ~statement();
    statement(statement&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_), owned_(o.owned_) { o.stmt_ = nullptr; }
    statement& operator=(statement&&) = delete;
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int i, std::int64_t v);
    statement& bind(int i, std::string_view text);  // copied (SQLITE_TRANSIENT)
    // Not copied (SQLITE_STATIC): resource bodies are large. REQUIRES: `bytes` outlives this
    // statement object (it resets the statement when it goes away).
    statement& bind_blob(int i, std::string_view bytes);
    statement& bind_null(int i);
    statement& bind_opt(int i, std::string_view text) { return text.empty() ? bind_null(i) : bind(i, text); }

    // true: a row is available; false: done.
    result<bool> step();
    // Steps to completion, ignoring rows.
    error_code run();

    std::int64_t int64(int col) const;
    std::string_view text(int col) const;  // "" for NULL
    std::string_view blob(int col) const;
    bool is_null(int col) const;

private:
    connection* conn_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    bool owned_ = false;  // false: belongs to the connection's cache (reset, not finalized)
};

class connection {
public:
    connection() = default;
    ~connection();
    connection(connection&& o) noexcept;
    connection& operator=(connection&& o) noexcept;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // flags: SQLITE_OPEN_* (NOMUTEX is added). vfs: nullptr for the default. On failure `why`
    // holds SQLite's message.
    static result<connection> open(const std::string& path, int flags, const char* vfs, std::string& why);

    explicit operator bool() const noexcept { return db_ != nullptr; }
    sqlite3* handle() const noexcept { return db_; }

    // Runs one or more statements without results (DDL, PRAGMA with no result, BEGIN/COMMIT).
    error_code exec(const char* sql);
    // A statement from the cache (prepared on first use; the key is the literal's address, so
    // pass string literals only).
    result<statement> cached(const char* sql);
    // A one-off statement, finalized on destruction.
    result<statement> prepare(std::string_view sql);
    // First column of the first row of `sql` as text ("" when no row), e.g. a PRAGMA.
    result<std::string> query_text(const char* sql);

    std::int64_t changes() const noexcept;
    std::int64_t last_insert_rowid() const noexcept;
    bool in_transaction() const noexcept;
    const std::string& last_message() const noexcept { return last_message_; }

    // Records a failure: sets last_message() from SQLite and returns the mapped error.
    error_code fail(int rc);
    void close() noexcept;

private:
    sqlite3* db_ = nullptr;
    std::map<const char*, sqlite3_stmt*> cache_;
    std::string last_message_;
};

}  // namespace edgesync::store::sql
