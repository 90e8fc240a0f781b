// The store's schema: forward-only migrations numbered 1..k_schema_version, recorded in
// `PRAGMA user_version`. Each migration runs in its own transaction together with the version
// bump, so a failure (or a power cut) leaves the database at the previous version, intact.
//
// Rules for adding one: append to the list in schema.cpp, never edit a released step, and add
// seed rows for the previous version in tests/store/schema_test.cpp (the test migrates a
// database from every earlier version and compares the result with a fresh one).
#pragma once

#include "store/sqlite.hpp"

#include <span>
#include <string>

namespace edgesync::store {

struct migration {
    int version;          // the user_version after this step
    const char* summary;  // one line for the log
    const char* sql;
};

std::span<const migration> migrations() noexcept;
inline constexpr int k_schema_version = 5;

// Brings the database to `target` (default: the newest). Refuses a database newer than this
// binary (errc::schema_too_new). `why` names the step that failed.
sql::error_code migrate(sql::connection& db, std::string& why, int target = k_schema_version);

// PRAGMA user_version.
sql::result<int> schema_version(sql::connection& db);

}  // namespace edgesync::store
