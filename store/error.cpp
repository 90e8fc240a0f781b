#include "store/error.hpp"

#include <sqlite3.h>

#include <string>

namespace edgesync::store {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "edgesync.store"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::io_error: return "store: disk I/O error (writes paused until the store is reopened)";
            case errc::disk_full: return "store: disk full (writes paused until space is freed)";
            case errc::corrupt: return "store: database file is corrupt";
            case errc::busy: return "store: database is locked by another process";
            case errc::read_only: return "store: database or data directory is read-only";
            case errc::cannot_open: return "store: cannot open the database file";
            case errc::schema_too_new: return "store: database was created by a newer edgesync";
            case errc::migration_failed: return "store: schema migration failed";
            case errc::constraint: return "store: constraint violated";
            case errc::not_found: return "store: not found";
            case errc::version_mismatch: return "store: version does not match (changed meanwhile)";
            case errc::queue_full: return "store: failed-event queue is full";
            case errc::bad_input: return "store: invalid input";
            case errc::stopped: return "store: closed";
            case errc::overloaded: return "store: too many operations queued";
            case errc::wrong_instance: return "store: the database belongs to another node";
            case errc::internal: return "store: internal SQLite error";
            case errc::chain_broken: return "store: not written, an earlier write of its chain failed";
        }
        return "store: unknown error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& store_category() noexcept {
    static const category c;
    return c;
}

errc from_sqlite(int rc) noexcept {
    switch (rc & 0xff) {
        case SQLITE_IOERR: return errc::io_error;
        case SQLITE_FULL: return errc::disk_full;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB: return errc::corrupt;
        case SQLITE_BUSY:
        case SQLITE_LOCKED: return errc::busy;
        case SQLITE_READONLY: return errc::read_only;
        case SQLITE_CANTOPEN:
        case SQLITE_PERM: return errc::cannot_open;
        case SQLITE_CONSTRAINT: return errc::constraint;
        default: return errc::internal;
    }
}

bool is_sticky(const boost::system::error_code& ec) noexcept {
    return ec == errc::io_error || ec == errc::corrupt;
}

bool dooms_transaction(const boost::system::error_code& ec) noexcept {
    // Not errc::internal: a job that threw (or hit an SQLite misuse) is rolled back alone; if
    // SQLite itself abandoned the transaction, the rollback of the savepoint fails and takes the
    // batch with it.
    return is_sticky(ec) || ec == errc::disk_full || ec == errc::busy || ec == errc::read_only || ec == errc::stopped;
}

}  // namespace edgesync::store
