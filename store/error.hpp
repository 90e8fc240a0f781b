// store::errc — every way a store operation fails that a caller acts on differently. SQLite's own
// result codes are mapped onto these (from_sqlite) so that no caller ever tests an SQLITE_* value.
//
//   io_error / corrupt  -> sticky: the store refuses writes until reopened (sync pauses, status
//                          reports it); nothing acknowledged is lost.
//   disk_full           -> the batch is rolled back; writes fail fast with it until space returns,
//                          then resume on their own (not sticky).
//   busy                -> another process held a lock past busy_timeout; try again later.
//   version_mismatch,
//   not_found, queue_full, bad_input -> about one operation; the next one may well succeed.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace edgesync::store {

enum class errc {
    io_error = 1,       // the disk failed a read, write or sync (SQLITE_IOERR*)
    disk_full,          // SQLITE_FULL: no space on the device (or the configured page limit)
    corrupt,            // SQLITE_CORRUPT / SQLITE_NOTADB, or the integrity check on open failed
    busy,               // SQLITE_BUSY / SQLITE_LOCKED past the busy timeout
    read_only,          // SQLITE_READONLY, or the data directory / database file is not writable
    cannot_open,        // SQLITE_CANTOPEN: missing directory, permissions, not a regular file
    schema_too_new,     // the database was written by a newer edgesync (user_version > ours)
    migration_failed,   // a schema migration failed; the database stays at its previous version
    constraint,         // a uniqueness or check constraint was violated
    not_found,          // no such resource / marker / failed event / conflict
    version_mismatch,   // If-Match / expected version differs from the stored version
    queue_full,         // the failed-event queue is at its configured cap
    bad_input,          // the caller handed the store something it cannot hold (empty uuid, ...)
    stopped,            // the store is closing or closed
    overloaded,         // too many operations queued for the store thread; try again shortly
    wrong_instance,     // the database belongs to another node (instance_id differs)
    internal,           // any other SQLite error (misuse, no memory, ...)
    chain_broken,       // not run: an earlier write of its chain failed (store::write_chain)
};

const boost::system::error_category& store_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), store_category()};
}

// Maps an SQLite primary or extended result code (not SQLITE_OK/ROW/DONE) to errc.
errc from_sqlite(int rc) noexcept;

// True for the errors after which the store stops taking writes until it is reopened.
bool is_sticky(const boost::system::error_code& ec) noexcept;
// True for errors that doom a whole transaction (every job in the batch fails with it), as
// opposed to errors about one job, which only roll back that job's savepoint.
bool dooms_transaction(const boost::system::error_code& ec) noexcept;

}  // namespace edgesync::store

template <>
struct boost::system::is_error_code_enum<edgesync::store::errc> : std::true_type {};
