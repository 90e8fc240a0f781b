// The store under disk failures, power cuts and a full disk, through the "faulty" VFS
// (tests/support/vfs_fault.hpp). Anomaly tests are loops, as in SQLite's own suite: the fault is
// moved to the 1st, 2nd, 3rd ... write or sync until the operation completes without meeting it.
//
// The invariants checked after every run, on a database reopened without faults:
//   - PRAGMA integrity_check is "ok";
//   - every acknowledged unit is present;
//   - units are present as a prefix 1..M of what was submitted and M ends a batch: no partial
//     transaction, and the feed marker names exactly unit M (never a unit that was not saved);
//   - one feed event per present unit, none for a missing one.
#include "store/store.hpp"
#include "support/catch_net.hpp"
#include "support/temp_dir.hpp"
#include "support/vfs_fault.hpp"
#include "tests/store/store_support.hpp"

#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <fstream>
#include <future>
#include <set>

using namespace edgesync;
using store::errc;
namespace asio = boost::asio;
using test::fault_vfs;

namespace {

// Submits units first..first+count-1 at once, as separate jobs (the writer may group them into
// one transaction or split them over two). Returns how many were acknowledged and the first error.
// Jobs commit in submission order, so the acknowledged ones are always the first `ok`.
std::pair<std::uint64_t, store::error_code> write_batch(store::store& s, std::uint64_t first, std::uint64_t count) {
    std::vector<std::future<store::result<store::write_result>>> fs;
    for (std::uint64_t n = first; n < first + count; ++n)
        fs.push_back(s.write<store::write_result>(
            [c = test::sample_pulled(n, 600)](store::write_context& ctx) { return store::apply_pulled(ctx.db(), c, ctx.new_uuid(), ctx.now()); },
            asio::use_future));
    std::uint64_t ok = 0;
    store::error_code first_error;
    for (auto& f : fs) {
        auto r = f.get();
        if (r) {
            CHECK_FALSE(first_error);  // no acknowledgement after a failure
            ++ok;
        } else if (!first_error) {
            first_error = r.error();
        }
    }
    return {ok, first_error};
}

struct found {
    std::string integrity;
    std::set<std::uint64_t> units;
    std::int64_t events = 0;
    std::string marker;
};

// Reads the database with the default VFS, as the next start would.
found inspect(const std::string& path) {
    found f;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    auto each = [&](const char* sql, auto fn) {
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) fn(st);
        sqlite3_finalize(st);
    };
    each("PRAGMA integrity_check", [&](sqlite3_stmt* st) { f.integrity += reinterpret_cast<const char*>(sqlite3_column_text(st, 0)); });
    bool has_schema = false;
    each("SELECT count(*) FROM sqlite_master WHERE name = 'markers'", [&](sqlite3_stmt* st) { has_schema = sqlite3_column_int64(st, 0) == 1; });
    if (!has_schema) {  // the power went before the first migration committed
        sqlite3_close(db);
        return f;
    }
    each("SELECT uuid FROM resources", [&](sqlite3_stmt* st) {
        const std::string u = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        f.units.insert(std::stoull(u.substr(24), nullptr, 16));
    });
    each("SELECT count(*) FROM event_records", [&](sqlite3_stmt* st) { f.events = sqlite3_column_int64(st, 0); });
    each("SELECT last_read_entry_id FROM markers", [&](sqlite3_stmt* st) {
        f.marker = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    });
    sqlite3_close(db);
    return f;
}

// The invariants of the header comment. Units 1..acknowledged were acknowledged.
void check_invariants(const std::string& path, std::uint64_t acknowledged) {
    const found f = inspect(path);
    REQUIRE(f.integrity == "ok");
    const std::uint64_t m = f.units.empty() ? 0 : *f.units.rbegin();
    CHECK(f.units.size() == m);  // a prefix: 1..m, nothing missing in between
    CHECK(m >= acknowledged);
    CHECK(f.events == static_cast<std::int64_t>(m));
    CHECK(f.marker == (m == 0 ? std::string() : "e" + std::to_string(m)));
}

store::store_options faulty_options(const test::temp_dir& tmp) {
    store::store_options o;
    o.path = tmp.file("edgesync.db");
    o.vfs = fault_vfs::k_name;
    return o;
}

}  // namespace

TEST_CASE("fail the n-th write or sync: every operation fails with a named error, none is half-applied", "[store][fault]") {
    auto& vfs = fault_vfs::instance();
    const auto which = GENERATE(fault_vfs::op::write, fault_vfs::op::sync);
    const bool persistent = GENERATE(false, true);
    CAPTURE(which == fault_vfs::op::write ? "write" : "sync", persistent);
    constexpr std::uint64_t batch = 4;

    bool completed_clean = false;
    int failures_seen = 0;
    for (std::uint64_t n = 0; n < 400 && !completed_clean; ++n) {
        CAPTURE(n);
        test::temp_dir tmp;
        auto o = faulty_options(tmp);
        vfs.reset();
        // An existing store with committed data, as at any moment of a node's life.
        {
            std::string why;
            auto s = store::store::open(o, why);
            REQUIRE(s);
            REQUIRE(write_batch(**s, 1, batch).first == batch);
        }
        vfs.fail_at(which, n, persistent);
        std::uint64_t acked = batch;
        {
            std::string why;
            auto s = store::store::open(o, why);  // the fault may hit the open as well
            if (!s) {
                CHECK(vfs.faults_hit() > 0);
                CHECK((s.error() == errc::io_error || s.error() == errc::corrupt));
                CHECK_FALSE(why.empty());
                ++failures_seen;
            } else {
                auto [ok, ec] = write_batch(**s, batch + 1, batch);
                acked += ok;
                if (ec) {
                    ++failures_seen;
                    CHECK(ec == errc::io_error);
                    CHECK((*s)->status().sticky == errc::io_error);
                    // Sticky: even with the disk healthy again, writes are refused until reopened.
                    vfs.reset();
                    auto [ok2, ec2] = write_batch(**s, 2 * batch + 1, batch);
                    CHECK(ok2 == 0);
                    CHECK(ec2 == errc::io_error);
                } else {
                    completed_clean = vfs.faults_hit() == 0;
                }
            }
        }
        vfs.reset();
        check_invariants(o.path, acked);
        // And the store opens again, takes writes and the invariants still hold.
        std::string why;
        auto again = store::store::open(o, why);
        INFO(why);
        REQUIRE(again);
        const std::uint64_t next = inspect(o.path).units.size() + 1;
        REQUIRE(write_batch(**again, next, batch).first == batch);
    }
    CHECK(completed_clean);
    CHECK(failures_seen > 0);
    vfs.reset();
}

TEST_CASE("power loss: unsynced writes dropped at random, acknowledged units survive, markers never run ahead", "[store][fault]") {
    auto& vfs = fault_vfs::instance();
    const bool full = GENERATE(true, false);
    CAPTURE(full);
    constexpr std::uint64_t batch = 3;
    int runs = 0, lost_records = 0;
    for (std::uint64_t cut_at = 0; cut_at < 120; cut_at += 3) {
        for (std::uint32_t seed : {1u, 2u, 3u}) {
            CAPTURE(cut_at, seed);
            test::temp_dir tmp;
            auto o = faulty_options(tmp);
            o.synchronous_full = full;
            vfs.reset();
            vfs.track_unsynced(true);
            // The power fails at the cut_at-th write from here: that write and all after it never
            // reach the disk. Then a random half of what was written but not synced is lost too.
            vfs.fail_at(fault_vfs::op::write, cut_at, true);
            std::uint64_t acked = 0;
            {
                std::string why;
                auto s = store::store::open(o, why);
                if (s) {
                    for (std::uint64_t first = 1; first < 100; first += batch) {
                        auto [ok, ec] = write_batch(**s, first, batch);
                        if (ec) break;
                        acked += ok;
                    }
                }
                vfs.power_cut();
            }
            lost_records += static_cast<int>(vfs.revert_unsynced(seed, 0.5));
            vfs.reset();
            if (!std::ifstream(o.path)) continue;  // the cut came before the file was created
            // synchronous=NORMAL promises no corruption and no marker ahead of data, but may lose
            // the last acknowledged commits; FULL loses nothing acknowledged.
            check_invariants(o.path, full ? acked : 0);
            ++runs;
        }
    }
    CHECK(runs > 50);
    CHECK(lost_records > 0);  // the model did drop writes
    vfs.reset();
}

TEST_CASE("disk full: named error, nothing committed lost, writes resume by themselves when space returns", "[store][fault]") {
    auto& vfs = fault_vfs::instance();
    vfs.reset();
    test::temp_dir tmp;
    auto o = faulty_options(tmp);
    std::string why;
    auto s = store::store::open(o, why);
    REQUIRE(s);
    constexpr std::uint64_t batch = 5;
    REQUIRE(write_batch(**s, 1, batch).first == batch);
    vfs.set_disk_full_after(64 * 1024);
    std::uint64_t acked = batch, next = batch + 1;
    store::error_code ec;
    while (next < 10'000) {
        auto [ok, e] = write_batch(**s, next, batch);
        acked = next + ok - 1;
        next += ok;
        if (e) {
            ec = e;
            break;
        }
    }
    REQUIRE(ec == errc::disk_full);
    const auto st = (*s)->status();
    CHECK(st.last_error == errc::disk_full);
    CHECK_FALSE(st.sticky);  // not sticky: no reopen needed
    // Still full: fails again, fast, with the same name.
    CHECK(write_batch(**s, next, batch) == std::make_pair(std::uint64_t{0}, store::error_code(errc::disk_full)));
    // Space returns: the same store takes the same batch.
    vfs.clear_disk_full();
    auto [ok, e2] = write_batch(**s, next, batch);
    CHECK_FALSE(e2);
    CHECK(ok == batch);
    acked = next + ok - 1;
    CHECK_FALSE((*s)->status().last_error);
    s->reset();
    vfs.reset();
    check_invariants(o.path, acked);
    CHECK(inspect(o.path).units.size() == acked);
}

TEST_CASE("disk full through the page limit (max_page_count) is the same named error", "[store][fault]") {
    test::temp_dir tmp;
    store::store_options o;
    o.path = tmp.file("edgesync.db");
    o.max_page_count = 120;
    std::string why;
    auto s = store::store::open(o, why);
    REQUIRE(s);
    std::uint64_t acked = 0;
    store::error_code ec;
    for (std::uint64_t first = 1; first < 5000 && !ec;) {
        auto [ok, e] = write_batch(**s, first, 2);
        acked += ok;
        first += ok;
        ec = e;
    }
    CHECK(ec == errc::disk_full);
    CHECK(acked > 0);
    s->reset();
    check_invariants(o.path, acked);
}

namespace {

// Queues units first..first+count-1 as one write chain (plus, when `bad` is set, that unit's job
// fails on its own), without waiting between them; returns each result in order.
std::vector<store::error_code> write_chain(store::store& s, std::shared_ptr<store::write_chain> chain, std::uint64_t first,
                                           std::uint64_t count, std::uint64_t bad = 0) {
    std::vector<std::future<store::result<store::write_result>>> fs;
    for (std::uint64_t n = first; n < first + count; ++n)
        fs.push_back(s.write_chained<store::write_result>(
            chain,
            [c = test::sample_pulled(n, 600), fail = n == bad](store::write_context& ctx) -> store::result<store::write_result> {
                if (fail) return store::result<store::write_result>(boost::system::in_place_error, errc::bad_input);
                return store::apply_pulled(ctx.db(), c, ctx.new_uuid(), ctx.now());
            },
            asio::use_future));
    std::vector<store::error_code> out;
    for (auto& f : fs) {
        auto r = f.get();
        out.push_back(r ? store::error_code() : r.error());
    }
    return out;
}

}  // namespace

TEST_CASE("write chains: after one write of a chain fails, later writes of that chain fail without running, others commit", "[store][fault]") {
    SECTION("a job failing on its own, in the same group transaction") {
        fault_vfs::instance().reset();
        test::temp_dir tmp;
        std::string why;
        auto s = store::store::open(faulty_options(tmp), why);
        REQUIRE(s);
        auto chain = std::make_shared<store::write_chain>();
        // Queued back to back: the writer may group them into one transaction or not; either way
        // the chain holds.
        auto results = write_chain(**s, chain, 1, 6, 3);
        CHECK_FALSE(results[0]);
        CHECK_FALSE(results[1]);
        CHECK(results[2] == errc::bad_input);
        for (std::size_t i = 3; i < 6; ++i) CHECK(results[i] == errc::chain_broken);
        // Another chain (and unchained writes) are unaffected; the broken one stays broken.
        CHECK(write_batch(**s, 10, 2).first == 2);
        auto again = write_chain(**s, chain, 20, 1);
        CHECK(again[0] == errc::chain_broken);
        s->reset();
        auto f = inspect(tmp.file("edgesync.db"));
        CHECK(f.units == std::set<std::uint64_t>{1, 2, 10, 11});
        CHECK(f.marker == "e11");
    }
    SECTION("a COMMIT that fails (a full disk, not sticky): nothing later in the chain commits, though the disk recovers") {
        auto& vfs = fault_vfs::instance();
        vfs.reset();
        test::temp_dir tmp;
        auto o = faulty_options(tmp);
        o.max_batch = 1;  // one job per transaction: the failure is one batch, the rest are later ones
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE(s);
        REQUIRE(write_batch(**s, 1, 2).first == 2);
        vfs.fail_at(fault_vfs::op::write, 0, false, SQLITE_FULL);  // the next write only
        auto chain = std::make_shared<store::write_chain>();
        auto results = write_chain(**s, chain, 3, 5);
        CHECK(results[0] == errc::disk_full);
        for (std::size_t i = 1; i < 5; ++i) CHECK(results[i] == errc::chain_broken);
        CHECK(vfs.faults_hit() == 1);
        CHECK(write_batch(**s, 10, 1).first == 1);  // the disk is fine again for everyone else
        s->reset();
        vfs.reset();
        auto f = inspect(o.path);
        CHECK(f.units == std::set<std::uint64_t>{1, 2, 10});
        CHECK(f.marker == "e10");  // never e7: no marker passed the failed unit 3
    }
}
