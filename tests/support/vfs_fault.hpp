// Test-only SQLite VFS "faulty": wraps the default VFS (unix) and injects I/O failures (fail the
// n-th write or sync, disk full) and simulates power loss (drop writes that were never synced).
// A connection uses it by naming it: sqlite3_open_v2(path, &db, flags, fault_vfs::k_name); other
// connections, including ones opened on the same files with the default VFS, are unaffected.
//
// Thread-safety: every member function may be called from any thread, also while SQLite is inside
// the VFS on another thread (settings, counters and crash state sit behind one mutex that every
// VFS method takes). Settings are process-wide: they apply to every file opened through "faulty",
// so tests that use it must not run concurrently with each other (Catch2 runs tests one by one).
//
// Only the unix VFS is supported as the wrapped VFS (it is the default on every platform we
// build for). Memory-mapped I/O is disabled for files opened through "faulty" (xFetch hands out no
// pages), so every read and write goes through xRead/xWrite where faults are injected.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgesync::test {

class fault_vfs {
public:
    // The VFS, registered with SQLite (not as the default) on the first call. It stays registered
    // for the life of the process; the object is never destroyed while SQLite can still use it.
    static fault_vfs& instance();
    static constexpr const char* k_name = "faulty";
    enum class op { write, sync };

    fault_vfs(const fault_vfs&) = delete;
    fault_vfs& operator=(const fault_vfs&) = delete;

    // Disables every fault, stops tracking, clears counters and crash state (leaves the files on
    // disk as they are). Call it at the start and end of every test that uses the VFS.
    void reset();

    // Fails the n-th (0-based, counted from this call) operation of kind `which` with `rc`
    // (0 = SQLITE_IOERR_WRITE for writes, SQLITE_IOERR_FSYNC for syncs). persistent=false: only
    // that one operation fails; true: it and every later one of that kind fail. A failed write or
    // sync changes nothing on disk. Replaces an earlier plan for the same kind.
    void fail_at(op which, std::uint64_t n, bool persistent, int rc = 0);

    // Disk full: the files opened through the VFS may grow by `bytes` in total from this call on
    // (growth = the part of an xWrite or xTruncate past the current end of its file). An xWrite or
    // xTruncate that would take the total past `bytes` fails with SQLITE_FULL and changes nothing.
    // Writes inside existing file extents (and shrinking) always succeed. clear_disk_full() lifts it.
    void set_disk_full_after(std::uint64_t bytes);
    void clear_disk_full();

    // Counted since reset(): xWrite and xSync calls (including failed ones) on every file opened
    // through the VFS, and failures injected by fail_at() or disk full (not refusals after power_cut()).
    std::uint64_t writes() const;
    std::uint64_t syncs() const;
    std::uint64_t faults_hit() const;

    // Power-loss model (after SQLite's test6.c and LevelDB's fault_injection_test). While on, every
    // named file opened through the VFS except the -shm file (main db, -wal, -journal; never
    // nameless temp files) is tracked by path: its size at open (or when tracking started, if it
    // was already open) or last xSync, and an undo record (offset, old bytes, new bytes) for every
    // xWrite and xTruncate since then. xSync of any handle of a file makes that file's pending
    // records durable. xDelete of a tracked file forgets it (directory entries are not modelled:
    // a deletion is durable at once). Turning it off forgets every tracked file.
    void track_unsynced(bool on);

    // The power goes out: from now on every xWrite, xTruncate, xSync and xDelete returns
    // SQLITE_IOERR_WRITE/_TRUNCATE/_FSYNC/_DELETE and changes nothing; reads, locks and shared
    // memory keep working. The caller then closes its connections (sqlite3_close_v2 tries to
    // checkpoint and delete the WAL; those attempts fail, so the -wal file stays as after a crash).
    void power_cut();

    // Precondition: no file is open through the VFS any more (every connection that used it is
    // closed); throws std::logic_error otherwise. For each tracked file: undoes its pending records
    // (newest first), truncates it to its last synced size, then re-applies each pending record
    // independently with probability keep_probability (in [0, 1]), oldest first, drawing from
    // std::mt19937(seed) (files in path order, so a failing seed reproduces). Deletes the -shm file
    // of each tracked main db (after a real power cut it is rebuilt). Uses plain POSIX I/O and
    // throws std::system_error if that fails. Then forgets the tracked files and ends power-cut
    // mode; tracking stays on if it was on. Returns how many records were dropped.
    std::size_t revert_unsynced(std::uint32_t seed, double keep_probability = 0.0);

private:
    fault_vfs();
};

}  // namespace edgesync::test
