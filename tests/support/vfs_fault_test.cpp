// Self-test of the fault-injecting VFS (support/vfs_fault.hpp) on real SQLite files: injected
// write/sync failures and disk full leave a consistent database with all-or-nothing transactions,
// and the power-loss simulation keeps exactly what was synced.
#include "support/vfs_fault.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

using edgesync::test::fault_vfs;
using op = fault_vfs::op;

namespace {

// Resets the VFS on entry and exit, so no fault or crash state leaks into another test.
struct vfs_session {
    vfs_session() { fault_vfs::instance().reset(); }
    ~vfs_session() { fault_vfs::instance().reset(); }
    vfs_session(const vfs_session&) = delete;
    vfs_session& operator=(const vfs_session&) = delete;
    fault_vfs& vfs = fault_vfs::instance();
};

// One connection with extended result codes; vfs nullptr = the default VFS. Closed on destruction.
class connection {
public:
    explicit connection(const std::string& path, const char* vfs = nullptr) {
        const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
        INFO("open " << path << ": " << sqlite3_errstr(rc));
        REQUIRE(rc == SQLITE_OK);
        sqlite3_extended_result_codes(db_, 1);
    }
    ~connection() { close(); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void close() {
        if (db_) CHECK(sqlite3_close_v2(db_) == SQLITE_OK);  // no REQUIRE: also runs in the destructor
        db_ = nullptr;
    }
    int exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }
    void exec_ok(const std::string& sql) {
        const int rc = exec(sql);
        INFO(sql << ": " << sqlite3_errmsg(db_));
        REQUIRE(rc == SQLITE_OK);
    }
    // The first column of the first row as text ("" if there is none).
    std::string query(const std::string& sql) {
        sqlite3_stmt* raw = nullptr;
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) == SQLITE_OK);
        std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
        const int rc = sqlite3_step(raw);
        REQUIRE((rc == SQLITE_ROW || rc == SQLITE_DONE));
        const unsigned char* text = rc == SQLITE_ROW ? sqlite3_column_text(raw, 0) : nullptr;
        return text ? reinterpret_cast<const char*>(text) : "";
    }
    long count(const std::string& sql) { return std::stol(query(sql)); }

private:
    sqlite3* db_ = nullptr;
};

bool is_ioerr(int rc) { return (rc & 0xff) == SQLITE_IOERR; }

// Rows of table t, or -1 when t does not exist.
long rows_of_t(connection& c) {
    if (c.count("SELECT count(*) FROM sqlite_schema WHERE name = 't'") == 0) return -1;
    return c.count("SELECT count(*) FROM t");
}

constexpr long k_rows = 40;

// CREATE TABLE plus k_rows rows of ~600 bytes in one transaction (about ten pages in the WAL),
// then a checkpoint, so failures also hit the main db file and the WAL's truncation.
std::string small_transaction() {
    std::string sql = "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);";
    for (long i = 0; i < k_rows; ++i) sql += "INSERT INTO t(v) VALUES (randomblob(600));";
    return sql + "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);";
}

// Fails the n-th operation of kind `which` for n = 0, 1, ... during small_transaction() on a fresh
// database until the transaction completes without hitting a fault; after every attempt the
// database must be intact and hold the whole transaction or none of it.
void fail_each_op_in_turn(op which, bool persistent) {
    vfs_session session;
    bool completed = false;
    std::uint64_t n = 0;
    for (; n < 200 && !completed; ++n) {
        edgesync::test::temp_dir tmp;
        const std::string path = tmp.file("t.db");
        int rc = SQLITE_OK;
        std::uint64_t hit = 0;
        {
            connection c(path, fault_vfs::k_name);
            c.exec_ok("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            session.vfs.fail_at(which, n, persistent);
            rc = c.exec(small_transaction());
            hit = session.vfs.faults_hit();
            session.vfs.reset();
        }
        INFO("n = " << n << ", rc = " << rc << " (" << sqlite3_errstr(rc) << "), faults hit = " << hit);
        if (rc != SQLITE_OK) CHECK(is_ioerr(rc));
        if (rc != SQLITE_OK) CHECK(hit > 0);
        connection plain(path);
        CHECK(plain.query("PRAGMA integrity_check") == "ok");
        const long rows = rows_of_t(plain);
        if (rc == SQLITE_OK) {
            CHECK(rows == k_rows);
        } else {
            CHECK((rows == -1 || rows == k_rows));
        }
        completed = rc == SQLITE_OK && hit == 0;
    }
    INFO("stopped after " << n << " attempts");
    CHECK(completed);
    CHECK(n > 2);  // the transaction did need several operations, so the loop tested something
}

}  // namespace

TEST_CASE("fault_vfs: fail_at and disk full act on single VFS operations", "[store][vfs]") {
    vfs_session session;
    edgesync::test::temp_dir tmp;
    const std::string path = tmp.file("raw");
    sqlite3_vfs* vfs = sqlite3_vfs_find(fault_vfs::k_name);
    REQUIRE(vfs);
    REQUIRE(sqlite3_vfs_find(nullptr) != vfs);  // registered, but not as the default
    std::vector<std::max_align_t> storage(static_cast<std::size_t>(vfs->szOsFile) / sizeof(std::max_align_t) + 1);
    auto* file = reinterpret_cast<sqlite3_file*>(storage.data());
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB;
    REQUIRE(vfs->xOpen(vfs, path.c_str(), file, flags, nullptr) == SQLITE_OK);
    struct closer {
        sqlite3_file* f;
        ~closer() {
            if (f->pMethods) f->pMethods->xClose(f);
        }
    } guard{file};
    const std::string block(4096, 'a');
    const std::string other(4096, 'b');
    auto write = [&](const std::string& bytes, sqlite3_int64 off) {
        return file->pMethods->xWrite(file, bytes.data(), static_cast<int>(bytes.size()), off);
    };
    auto size = [&] {
        sqlite3_int64 n = -1;
        REQUIRE(file->pMethods->xFileSize(file, &n) == SQLITE_OK);
        return n;
    };
    auto byte_at = [&](sqlite3_int64 off) {
        char c = 0;
        REQUIRE(file->pMethods->xRead(file, &c, 1, off) == SQLITE_OK);
        return c;
    };

    REQUIRE(write(block, 0) == SQLITE_OK);
    session.vfs.fail_at(op::write, 1, false);
    CHECK(write(other, 0) == SQLITE_OK);
    CHECK(write(block, 0) == SQLITE_IOERR_WRITE);  // the 2nd write from fail_at on, and only it
    CHECK(byte_at(0) == 'b');                      // the failed write changed nothing
    CHECK(write(block, 0) == SQLITE_OK);
    session.vfs.fail_at(op::sync, 0, true, SQLITE_IOERR);
    CHECK(file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_IOERR);
    CHECK(file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_IOERR);
    CHECK(session.vfs.faults_hit() == 3);
    CHECK(session.vfs.writes() == 4);
    CHECK(session.vfs.syncs() == 2);

    session.vfs.set_disk_full_after(100);
    CHECK(write(other, 0) == SQLITE_OK);            // inside the file: no growth
    CHECK(write(std::string(200, 'c'), 4096) == SQLITE_FULL);
    CHECK(size() == 4096);
    CHECK(write(std::string(60, 'c'), 4090) == SQLITE_OK);  // grows by 54
    CHECK(write(std::string(50, 'c'), 4150) == SQLITE_FULL);  // would grow by 50 > 100 - 54
    CHECK(file->pMethods->xTruncate(file, 4200) == SQLITE_FULL);
    CHECK(size() == 4150);
    CHECK(file->pMethods->xTruncate(file, 100) == SQLITE_OK);  // shrinking is always fine
    session.vfs.clear_disk_full();
    CHECK(write(block, 8192) == SQLITE_OK);
    CHECK(size() == 8192 + 4096);
    CHECK(file->pMethods->xClose(file) == SQLITE_OK);
    file->pMethods = nullptr;
}

TEST_CASE("fault_vfs: a failed write at any point leaves the database intact", "[store][vfs]") {
    const bool persistent = GENERATE(false, true);
    INFO("persistent = " << persistent);
    fail_each_op_in_turn(op::write, persistent);
}

TEST_CASE("fault_vfs: a failed sync at any point leaves the database intact", "[store][vfs]") {
    const bool persistent = GENERATE(false, true);
    INFO("persistent = " << persistent);
    fail_each_op_in_turn(op::sync, persistent);
}

TEST_CASE("fault_vfs: disk full fails growing writes with SQLITE_FULL and keeps committed rows", "[store][vfs]") {
    vfs_session session;
    edgesync::test::temp_dir tmp;
    const std::string path = tmp.file("t.db");
    const std::string insert = "INSERT INTO t(v) VALUES (randomblob(1000))";
    long committed = 0;
    {
        connection c(path, fault_vfs::k_name);
        c.exec_ok("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);");
        session.vfs.set_disk_full_after(64 * 1024);
        int rc = SQLITE_OK;
        while (committed < 10000 && (rc = c.exec(insert)) == SQLITE_OK) ++committed;
        INFO("rc = " << rc << " (" << sqlite3_errstr(rc) << ") after " << committed << " rows");
        REQUIRE(rc == SQLITE_FULL);
        CHECK(committed > 0);
        CHECK(session.vfs.faults_hit() > 0);
        session.vfs.clear_disk_full();
    }
    connection c(path, fault_vfs::k_name);
    CHECK(c.query("PRAGMA integrity_check") == "ok");
    CHECK(c.count("SELECT count(*) FROM t") == committed);
    c.exec_ok(insert);
    c.exec_ok(insert);
    c.close();
    connection plain(path);
    CHECK(plain.query("PRAGMA integrity_check") == "ok");
    CHECK(plain.count("SELECT count(*) FROM t") == committed + 2);
}

TEST_CASE("fault_vfs: after a power cut synced transactions survive and unsynced ones vanish", "[store][vfs]") {
    const bool b_synced = GENERATE(false, true);
    INFO("transaction B committed with synchronous=" << (b_synced ? "FULL" : "OFF"));
    vfs_session session;
    edgesync::test::temp_dir tmp;
    const std::string path = tmp.file("t.db");
    session.vfs.track_unsynced(true);
    {
        connection c(path, fault_vfs::k_name);
        c.exec_ok("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(txn TEXT, v BLOB);");
        c.exec_ok("BEGIN; INSERT INTO t VALUES ('A', randomblob(3000)), ('A', randomblob(3000)); COMMIT;");
        c.exec_ok(b_synced ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
        c.exec_ok("BEGIN; INSERT INTO t VALUES ('B', randomblob(3000)), ('B', randomblob(3000)); COMMIT;");
        session.vfs.power_cut();
        CHECK((c.exec("INSERT INTO t VALUES ('C', 1)") & 0xff) == SQLITE_IOERR);
    }
    const std::size_t dropped = session.vfs.revert_unsynced(1, 0.0);
    if (b_synced) {
        CHECK(dropped == 0);
    } else {
        CHECK(dropped > 0);
    }
    connection plain(path);
    CHECK(plain.query("PRAGMA integrity_check") == "ok");
    CHECK(plain.count("SELECT count(*) FROM t WHERE txn = 'A'") == 2);
    CHECK(plain.count("SELECT count(*) FROM t WHERE txn = 'B'") == (b_synced ? 2 : 0));
    CHECK(plain.count("SELECT count(*) FROM t WHERE txn = 'C'") == 0);
}

TEST_CASE("fault_vfs: random partial power loss keeps every synced transaction", "[store][vfs]") {
    constexpr int k_txns = 12;
    constexpr long k_rows_per_txn = 3;
    std::size_t dropped_total = 0;
    for (std::uint32_t seed = 1; seed <= 20; ++seed) {
        INFO("seed " << seed);
        vfs_session session;
        edgesync::test::temp_dir tmp;
        const std::string path = tmp.file("t.db");
        std::mt19937 rng(seed);
        int must_survive = 0;  // transactions 0 .. must_survive-1 were made durable by a synced commit
        session.vfs.track_unsynced(true);
        {
            connection c(path, fault_vfs::k_name);
            c.exec_ok("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(txn INTEGER, v BLOB);");
            for (int i = 0; i < k_txns; ++i) {
                const bool full = rng() % 3 == 0;
                c.exec_ok(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
                std::string sql = "BEGIN;";
                // Small rows (one WAL frame per transaction), so unsynced transactions survive now and then.
                for (long r = 0; r < k_rows_per_txn; ++r)
                    sql += "INSERT INTO t VALUES (" + std::to_string(i) + ", randomblob(200));";
                c.exec_ok(sql + "COMMIT;");
                if (full) must_survive = i + 1;
                // A synced checkpoint now and then, so the main db file and WAL restarts are exercised too.
                if (full && rng() % 2 == 0) c.exec_ok("PRAGMA wal_checkpoint(TRUNCATE)");
            }
            session.vfs.power_cut();
        }
        dropped_total += session.vfs.revert_unsynced(seed, 0.5);
        connection plain(path);
        CHECK(plain.query("PRAGMA integrity_check") == "ok");
        // What survives is all of some prefix of the transactions, at least the synced ones.
        int survived = 0;
        while (survived < k_txns &&
               plain.count("SELECT count(*) FROM t WHERE txn = " + std::to_string(survived)) == k_rows_per_txn)
            ++survived;
        INFO("synced through " << must_survive << ", survived " << survived);
        CHECK(survived >= must_survive);
        CHECK(plain.count("SELECT count(*) FROM t") == survived * k_rows_per_txn);
    }
    CHECK(dropped_total > 0);
}
