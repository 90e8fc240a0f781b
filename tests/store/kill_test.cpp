// Kill test: a process syncing units into the store is SIGKILLed at 50 random moments (during
// start-up, migration, group commits, checkpoints) and restarted each time. After every kill the
// database must pass the integrity check, hold every unit the writer acknowledged, have its marker
// on the last saved unit (never past it), and exactly one feed event per unit.
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace edgesync;

namespace {

// The writer (under the emulator in cross builds).
std::vector<std::string> writer_command(const std::string& db, std::uint64_t units) {
    auto argv = test::own_program(EDGESYNC_STORE_WRITER);
    argv.push_back(db);
    argv.push_back(std::to_string(units));
    return argv;
}

std::uint64_t last_ack(const std::string& output) {
    std::uint64_t last = 0;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("ack ", 0) == 0) last = std::max<std::uint64_t>(last, std::stoull(line.substr(4)));
    return last;
}

std::size_t acks_in(const std::string& output) {
    std::size_t n = 0;
    for (std::size_t pos = output.find("ack "); pos != std::string::npos; pos = output.find("ack ", pos + 4))
        if (pos == 0 || output[pos - 1] == '\n') ++n;  // lines "ack N" only
    return n;
}

struct state {
    std::string integrity;
    std::uint64_t units = 0, highest = 0;
    std::int64_t events = 0, distinct_event_resources = 0;
    std::string marker;
};

state inspect(const std::string& path) {
    state s;
    if (::access(path.c_str(), F_OK) != 0) {  // killed before it created the database: nothing to lose
        s.integrity = "ok";
        return s;
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    auto each = [&](const char* sql, auto fn) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return false;
        while (sqlite3_step(st) == SQLITE_ROW) fn(st);
        sqlite3_finalize(st);
        return true;
    };
    each("PRAGMA integrity_check", [&](sqlite3_stmt* st) { s.integrity += reinterpret_cast<const char*>(sqlite3_column_text(st, 0)); });
    if (each("SELECT count(*), coalesce(max(substr(uuid, 25)), '0') FROM resources", [&](sqlite3_stmt* st) {
            s.units = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
            s.highest = std::stoull(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), nullptr, 16);
        })) {
        each("SELECT count(*), count(DISTINCT resource_id) FROM event_records", [&](sqlite3_stmt* st) {
            s.events = sqlite3_column_int64(st, 0);
            s.distinct_event_resources = sqlite3_column_int64(st, 1);
        });
        each("SELECT last_read_entry_id FROM markers", [&](sqlite3_stmt* st) {
            s.marker = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        });
    }
    sqlite3_close(db);
    return s;
}

}  // namespace

TEST_CASE("kill test: SIGKILL at 50 random moments loses no acknowledged unit and never runs a marker ahead", "[store][kill]") {
    const auto seed = static_cast<std::uint32_t>(std::random_device{}());
    std::printf("kill test seed: %u\n", seed);
    std::fflush(stdout);
    CAPTURE(seed);
    std::mt19937 rng(seed);
    test::temp_dir tmp;
    const std::string db = tmp.file("edgesync.db");
    constexpr std::uint64_t k_units = 1'000'000;  // never reached: every run is killed
    std::uint64_t acked = 0;
    int kills_mid_write = 0;
    for (int round = 0; round < 50; ++round) {
        CAPTURE(round);
        const std::string out = tmp.file("writer-" + std::to_string(round) + ".out");
        {
            test::child_process writer(writer_command(db, k_units), out);
            // One round in four kills at a random moment of start-up (open, integrity check,
            // migration, the replay); the others wait for a random number of acknowledgements,
            // then a few random microseconds more, so the kill lands inside group commits. Counted
            // in acknowledgements, not time, so a slow machine (qemu) kills at the same points.
            if (round % 4 == 0) {
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20'000));
            } else {
                const std::size_t want = 1 + rng() % 300;
                const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
                while (acks_in(writer.output()) < want && std::chrono::steady_clock::now() < deadline &&
                       !writer.wait(std::chrono::milliseconds(0)))
                    std::this_thread::sleep_for(std::chrono::microseconds(500));
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
            }
            REQUIRE_FALSE(writer.wait(std::chrono::milliseconds(0)).has_value());  // still running: not crashed on its own
            ::kill(writer.pid(), SIGKILL);
            REQUIRE(writer.wait(std::chrono::seconds(10)) == 128 + SIGKILL);
            const std::uint64_t last = last_ack(writer.output());
            if (last > acked) ++kills_mid_write;
            acked = std::max(acked, last);
        }
        const state s = inspect(db);
        std::ifstream log_file(out);
        INFO("writer output: " << std::string(std::istreambuf_iterator<char>(log_file), {}));
        REQUIRE(s.integrity == "ok");
        CHECK(s.units >= acked);                 // every acknowledged unit is there
        CHECK(s.units == s.highest);             // as a prefix 1..N: nothing missing in between
        CHECK(s.events == static_cast<std::int64_t>(s.units));  // one event per unit: none lost, none doubled
        CHECK(s.distinct_event_resources == s.events);
        CHECK(s.marker == (s.units == 0 ? std::string() : "e" + std::to_string(s.units)));  // on the last saved unit
    }
    CHECK(kills_mid_write >= 37);  // every waiting round killed after new acknowledgements
    // A last clean run proves the writer's replay check (exit 3 on a duplicated event) passes.
    test::child_process writer(writer_command(db, acked + 50), tmp.file("final.out"));
    CHECK(writer.wait(std::chrono::seconds(60)) == 0);
    CHECK(inspect(db).units >= acked + 50);
}
