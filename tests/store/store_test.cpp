// The store's owner threads, group commit, the atomic units and opening/refusing databases.
#include "store/schema.hpp"
#include "store/store.hpp"
#include "support/catch_net.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "tests/store/store_support.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace edgesync;
using store::errc;
namespace asio = boost::asio;

namespace {

store::store_options options_in(const test::temp_dir& tmp) {
    store::store_options o;
    o.path = tmp.file("edgesync.db");
    o.instance_id = "clinic-a";
    return o;
}

std::unique_ptr<store::store> open_ok(const store::store_options& o) {
    std::string why;
    auto s = store::store::open(o, why);
    INFO(why);
    REQUIRE(s.has_value());
    return std::move(*s);
}

std::string pragma(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

}  // namespace

TEST_CASE("a new store is created in WAL mode at the newest schema with a node identity", "[store]") {
    test::temp_dir tmp;
    auto o = options_in(tmp);
    std::string epoch;
    {
        auto s = open_ok(o);
        const auto st = s->status();
        CHECK(st.instance_id == "clinic-a");
        CHECK(st.store_epoch.size() == 32);
        epoch = st.store_epoch;
        CHECK_FALSE(st.sticky);
    }
    CHECK(pragma(o.path, "PRAGMA journal_mode") == "wal");
    CHECK(pragma(o.path, "PRAGMA page_size") == "8192");
    CHECK(pragma(o.path, "PRAGMA user_version") == std::to_string(store::k_schema_version));
    // Reopening keeps the identity: the epoch only changes when the database is recreated.
    auto s = open_ok(o);
    CHECK(s->status().store_epoch == epoch);
}

TEST_CASE("writes create, update and delete with one event each, and a no-op write emits nothing", "[store]") {
    test::temp_dir tmp;
    auto s = open_ok(options_in(tmp));
    auto w = test::sample_write(1);

    auto r = test::put_sync(*s, w);
    REQUIRE(r);
    CHECK(r->outcome == store::write_outcome::created);
    CHECK(r->version == 1);
    CHECK(r->event_id > 0);

    // Same content again: nothing changes, no event.
    auto again = test::put_sync(*s, w);
    REQUIRE(again);
    CHECK(again->outcome == store::write_outcome::unchanged);
    CHECK(again->event_id == 0);
    CHECK(again->version == 1);

    auto w2 = test::sample_write(1, 1);
    auto up = test::put_sync(*s, w2);
    REQUIRE(up);
    CHECK(up->outcome == store::write_outcome::updated);
    CHECK(up->version == 2);
    CHECK(up->event_id > r->event_id);

    auto del = w2;
    del.deleted = true;
    del.fingerprint = "tombstone";
    auto d = test::put_sync(*s, del);
    REQUIRE(d);
    CHECK(d->outcome == store::write_outcome::deleted);
    auto d2 = test::put_sync(*s, del);
    REQUIRE(d2);
    CHECK(d2->outcome == store::write_outcome::unchanged);

    auto got = test::read_sync<std::optional<store::stored_resource>>(
        *s, [k = w.key](store::sql::connection& db) { return store::get_resource(db, k); });
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK((*got)->deleted);
    CHECK((*got)->version == 3);
    CHECK((*got)->body == w2.body);  // a tombstone keeps the last live body

    auto events = test::read_sync<std::vector<store::event_record>>(
        *s, [](store::sql::connection& db) { return store::events_after(db, "patient", 0, 100); });
    REQUIRE(events);
    REQUIRE(events->size() == 3);
    CHECK((*events)[0].tags == "CREATED");
    CHECK((*events)[1].tags == "UPDATED");
    CHECK((*events)[2].tags == "DELETED");
    CHECK((*events)[0].id < (*events)[1].id);
    CHECK((*events)[1].id < (*events)[2].id);
    CHECK((*events)[0].uuid != (*events)[1].uuid);
    CHECK((*events)[0].uuid.size() == 36);
    CHECK((*events)[0].uuid[14] == '7');  // RFC 9562 v7: time-ordered
    CHECK((*events)[0].uuid < (*events)[2].uuid);
}

TEST_CASE("If-Match: a write with a stale expected version fails and changes nothing", "[store]") {
    test::temp_dir tmp;
    auto s = open_ok(options_in(tmp));
    REQUIRE(test::put_sync(*s, test::sample_write(7)));
    auto w = test::sample_write(7, 1);
    w.expected_version = 5;
    auto r = test::put_sync(*s, w);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::version_mismatch);
    w.expected_version = 1;
    auto ok = test::put_sync(*s, w);
    REQUIRE(ok);
    CHECK(ok->version == 2);
}

TEST_CASE("a pulled change writes resource, fingerprint, event and marker in one unit", "[store]") {
    test::temp_dir tmp;
    auto s = open_ok(options_in(tmp));
    asio::io_context ioc;

    store::pulled_change c;
    c.write = test::sample_write(3);
    c.write.arrived_from = "district";
    c.write.origin_node = "district";
    c.event = test::sample_event(c.write.key);
    c.peer = "district";
    c.feed_marker = {"https://district/ws/atomfeed/patient/recent", "tag:atomfeed.ict4h.org:e1",
                     "https://district/ws/atomfeed/patient/3"};
    auto r = test::run_until_done(ioc, s->apply(c));
    REQUIRE(r);
    CHECK(r->outcome == store::write_outcome::created);

    auto check = test::read_sync<bool>(*s, [&](store::sql::connection& db) -> store::result<bool> {
        auto m = store::get_marker(db, c.feed_marker.feed_uri);
        auto fp = store::get_synced_fingerprint(db, "district", c.write.key);
        auto res = store::get_resource(db, c.write.key);
        if (!m || !fp || !res) return store::result<bool>(boost::system::in_place_error, errc::internal);
        CHECK((*m)->last_read_entry_id == "tag:atomfeed.ict4h.org:e1");
        CHECK((*m)->feed_uri_for_last_read_entry == "https://district/ws/atomfeed/patient/3");
        CHECK(**fp == c.write.fingerprint);
        CHECK((*res)->arrived_from == "district");
        return true;
    });
    REQUIRE(check);

    // The same change pulled again (a replayed event): no new event, but the marker moves on.
    c.feed_marker.last_read_entry_id = "tag:atomfeed.ict4h.org:e2";
    auto again = test::run_until_done(ioc, s->apply(c));
    REQUIRE(again);
    CHECK(again->outcome == store::write_outcome::unchanged);
    auto n = test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_events(db, ""); });
    CHECK(*n == 1);
    auto m = test::read_sync<std::optional<store::marker>>(
        *s, [&](store::sql::connection& db) { return store::get_marker(db, c.feed_marker.feed_uri); });
    CHECK((*m)->last_read_entry_id == "tag:atomfeed.ict4h.org:e2");

    // A change whose marker is unusable fails as a whole: the resource is not written either.
    store::pulled_change bad = c;
    bad.write = test::sample_write(4);
    bad.feed_marker.feed_uri.clear();
    auto b = test::run_until_done(ioc, s->apply(bad));
    REQUIRE_FALSE(b);
    CHECK(b.error() == errc::bad_input);
    auto gone = test::run_until_done(ioc, s->get(bad.write.key));
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());
}

TEST_CASE("group commit: concurrent writes share transactions, and a failing job rolls back only itself", "[store]") {
    test::temp_dir tmp;
    auto o = options_in(tmp);
    o.max_batch = 64;
    auto s = open_ok(o);

    // Hold the writer busy so the next jobs queue up and commit together.
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto blocker = s->write<int>([gate](store::write_context&) -> store::result<int> {
        gate.wait();
        return 0;
    }, asio::use_future);

    std::vector<std::future<store::result<store::write_result>>> futures;
    for (int i = 0; i < 50; ++i) {
        auto w = test::sample_write(static_cast<std::uint64_t>(100 + i));
        if (i == 25) w.key.uuid.clear();  // refused: bad input
        futures.push_back(s->write<store::write_result>([w](store::write_context& c) {
            return store::write_resource(c.db(), w, test::sample_event(w.key), c.new_uuid(), c.now());
        }, asio::use_future));
    }
    const auto commits_before = s->status().commits;
    release.set_value();
    REQUIRE(blocker.get());
    int ok = 0;
    for (int i = 0; i < 50; ++i) {
        auto r = futures[static_cast<std::size_t>(i)].get();
        if (i == 25) {
            REQUIRE_FALSE(r);
            CHECK(r.error() == errc::bad_input);
        } else {
            REQUIRE(r);
            ++ok;
        }
    }
    CHECK(ok == 49);
    // 1 (blocker) + the 50 queued jobs in at most 2 transactions, not 50.
    CHECK(s->status().commits - commits_before <= 3);
    CHECK(s->status().jobs_written == 51);
    auto n = test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_resources(db); });
    CHECK(*n == 49);
    auto e = test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_events(db, ""); });
    CHECK(*e == 49);
}

TEST_CASE("reads do not wait for a write in progress, and see only committed state", "[store]") {
    test::temp_dir tmp;
    auto s = open_ok(options_in(tmp));
    REQUIRE(test::put_sync(*s, test::sample_write(1)));

    std::promise<void> release, inside;
    auto gate = release.get_future().share();
    auto w = test::sample_write(2);
    auto pending = s->write<store::write_result>([&, gate, w](store::write_context& c) {
        auto r = store::write_resource(c.db(), w, test::sample_event(w.key), c.new_uuid(), c.now());
        inside.set_value();
        gate.wait();  // the transaction is open and has written resource 2
        return r;
    }, asio::use_future);
    inside.get_future().wait();
    // The reader answers while the writer holds its transaction open, and does not see it.
    auto n = s->read<std::int64_t>([](store::sql::connection& db) { return store::count_resources(db); }, asio::use_future);
    REQUIRE(n.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(*n.get() == 1);
    release.set_value();
    REQUIRE(pending.get());
    auto after = test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_resources(db); });
    CHECK(*after == 2);
}

TEST_CASE("completions resume on the caller's executor", "[store]") {
    test::temp_dir tmp;
    auto s = open_ok(options_in(tmp));
    asio::io_context ioc;
    const auto caller = std::this_thread::get_id();
    auto op = [&]() -> asio::awaitable<bool> {
        std::thread::id job_thread;
        auto r = co_await s->write<int>([&](store::write_context&) -> store::result<int> {
            job_thread = std::this_thread::get_id();
            return 1;
        });
        co_return r && job_thread != caller && std::this_thread::get_id() == caller;
    };
    CHECK(test::run_until_done(ioc, op()));
}

TEST_CASE("a store refuses to open what it must not: missing folder, other node, newer schema, damage", "[store]") {
    test::temp_dir tmp;
    std::string why;

    SECTION("missing data directory") {
        store::store_options o;
        o.path = tmp.file("nope/edgesync.db");
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::cannot_open);
        CHECK_THAT(why, Catch::Matchers::Contains("does not exist"));
    }
    SECTION("the data directory is a file") {
        tmp.write("file", "x");
        store::store_options o;
        o.path = tmp.file("file/edgesync.db");
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::cannot_open);
    }
    SECTION("another node's store") {
        auto o = options_in(tmp);
        open_ok(o);
        o.instance_id = "clinic-b";
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::wrong_instance);
        CHECK_THAT(why, Catch::Matchers::Contains("clinic-a") && Catch::Matchers::Contains("clinic-b"));
    }
    SECTION("a database from a newer edgesync") {
        auto o = options_in(tmp);
        open_ok(o);
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::schema_too_new);
        CHECK_THAT(why, Catch::Matchers::Contains("99"));
    }
    SECTION("not a database at all") {
        auto o = options_in(tmp);
        tmp.write("edgesync.db", std::string(8192, 'x'));
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::corrupt);
        CHECK_THAT(why, Catch::Matchers::Contains("move") && Catch::Matchers::Contains(".recover"));
    }
    SECTION("damaged pages fail the integrity check, and the file is left as it was") {
        auto o = options_in(tmp);
        {
            auto s = open_ok(o);
            for (std::uint64_t i = 0; i < 300; ++i) REQUIRE(test::put_sync(*s, test::sample_write(i)));
        }
        // Overwrite the middle of the file (b-tree pages of the resources table) with garbage.
        struct stat st {};
        REQUIRE(::stat(o.path.c_str(), &st) == 0);
        {
            std::fstream f(o.path, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(st.st_size / 2 / 4096 * 4096);
            const std::string junk(4096 * 3, '\x5a');
            f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
        }
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::corrupt);
        CHECK_THAT(why, Catch::Matchers::Contains("integrity check") || Catch::Matchers::Contains("malformed"));
        struct stat after {};
        REQUIRE(::stat(o.path.c_str(), &after) == 0);
        CHECK(after.st_size == st.st_size);
    }
}

TEST_CASE("a read-only store (the CLI beside a stopped node) reads and refuses writes", "[store]") {
    test::temp_dir tmp;
    auto o = options_in(tmp);
    {
        auto s = open_ok(o);
        REQUIRE(test::put_sync(*s, test::sample_write(1)));
    }
    o.read_only = true;
    auto s = open_ok(o);
    auto n = test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_resources(db); });
    CHECK(*n == 1);
    auto w = test::put_sync(*s, test::sample_write(2));
    REQUIRE_FALSE(w);
    CHECK(w.error() == errc::read_only);
}

TEST_CASE("jobs queued when the store closes still run, and later ones are refused", "[store]") {
    test::temp_dir tmp;
    auto o = options_in(tmp);
    std::vector<std::future<store::result<store::write_result>>> futures;
    {
        auto s = open_ok(o);
        for (std::uint64_t i = 0; i < 20; ++i) {
            auto w = test::sample_write(i);
            futures.push_back(s->write<store::write_result>([w](store::write_context& c) {
                return store::write_resource(c.db(), w, test::sample_event(w.key), c.new_uuid(), c.now());
            }, asio::use_future));
        }
    }  // destroyed: drains the queue first
    for (auto& f : futures) CHECK(f.get());
    auto s = open_ok(o);
    auto n = test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_resources(db); });
    CHECK(*n == 20);
}

TEST_CASE("a read-only store beside a running one sees its commits and never blocks it", "[store]") {
    test::temp_dir tmp;
    auto o = options_in(tmp);
    auto live = open_ok(o);
    REQUIRE(test::put_sync(*live, test::sample_write(1)));
    auto ro_opts = o;
    ro_opts.read_only = true;
    auto ro = open_ok(ro_opts);
    auto count = [&] {
        return *test::read_sync<std::int64_t>(*ro, [](store::sql::connection& db) { return store::count_resources(db); });
    };
    CHECK(count() == 1);
    for (std::uint64_t i = 2; i <= 20; ++i) REQUIRE(test::put_sync(*live, test::sample_write(i)));
    CHECK(count() == 20);
}

TEST_CASE("a data directory this user cannot write is refused by name at open", "[store]") {
    test::temp_dir tmp;
    const std::string dir = tmp.file("locked");
    REQUIRE(::chmod(tmp.path().c_str(), 0755) == 0);  // reachable for the unprivileged child below
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    store::store_options o;
    o.path = dir + "/edgesync.db";
    if (::geteuid() != 0) {
        REQUIRE(::chmod(dir.c_str(), 0500) == 0);
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::read_only);
        CHECK_THAT(why, Catch::Matchers::Contains("not writable"));
        return;
    }
    // As root (CI) permissions do not apply, so a child process drops to nobody and tries.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        int code = 100;
        if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
            std::string why;
            auto s = store::store::open(o, why);
            code = s ? 0 : s.error().value();
            if (!s && why.find("not writable") == std::string::npos) code = 101;
        }
        if (::write(fds[1], &code, sizeof code) != sizeof code) std::_Exit(1);
        std::_Exit(0);
    }
    ::close(fds[1]);
    int code = -1;
    CHECK(::read(fds[0], &code, sizeof code) == sizeof code);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(code == static_cast<int>(errc::read_only));
}

TEST_CASE("a job that throws fails alone, and the store keeps working", "[store]") {
    test::temp_dir tmp;
    auto s = open_ok(options_in(tmp));
    // Hold the writer so the throwing job and a good one land in the same group transaction.
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto blocker = s->write<int>([gate](store::write_context&) -> store::result<int> {
        gate.wait();
        return 0;
    }, asio::use_future);
    auto w = test::sample_write(1);
    auto thrown = s->write<int>([w](store::write_context& c) -> store::result<int> {
        // Half-done work before the throw must be rolled back with the job.
        if (!store::write_resource(c.db(), w, test::sample_event(w.key), c.new_uuid(), c.now())) return 0;
        throw std::runtime_error("bug in a job");
    }, asio::use_future);
    auto good = test::sample_write(2);
    auto fine = s->write<store::write_result>([good](store::write_context& c) {
        return store::write_resource(c.db(), good, test::sample_event(good.key), c.new_uuid(), c.now());
    }, asio::use_future);
    release.set_value();
    REQUIRE(blocker.get());
    auto t = thrown.get();
    REQUIRE_FALSE(t);
    CHECK(t.error() == errc::internal);
    CHECK(fine.get());
    auto read_thrown = test::read_sync<int>(*s, [](store::sql::connection&) -> store::result<int> { throw std::bad_alloc(); });
    CHECK(read_thrown.error() == errc::internal);
    auto first = test::read_sync<std::optional<store::stored_resource>>(
        *s, [k = w.key](store::sql::connection& db) { return store::get_resource(db, k); });
    CHECK_FALSE(first->has_value());
    CHECK(*test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_resources(db); }) == 1);
    CHECK(*test::read_sync<std::int64_t>(*s, [](store::sql::connection& db) { return store::count_events(db, ""); }) == 1);
}
