#include "support/vfs_fault.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace edgesync::test {
namespace {

// One xWrite or xTruncate of a tracked file since its last xSync. Undo: put old_bytes back at
// offset, then cut or extend the file to old_size. Redo: write new_bytes at offset (xWrite) or
// set the size to new_size (xTruncate).
struct undo_record {
    bool truncate;
    sqlite3_int64 offset;
    std::string old_bytes;  // the part of [offset, old_size) that the operation overwrote or removed
    std::string new_bytes;  // xWrite only
    sqlite3_int64 old_size;
    sqlite3_int64 new_size;
};

struct tracked_file {
    bool main_db = false;
    sqlite3_int64 synced_size = 0;
    std::vector<undo_record> pending;  // oldest first
};

struct fault_plan {
    bool armed = false;
    bool persistent = false;
    std::uint64_t at = 0;  // value of the op counter at the first failing op
    int rc = SQLITE_OK;
};

// Our handle. SQLite allocates szOsFile bytes for it; the real VFS's handle lives in the same
// allocation at k_real_offset (SQLite allocations are 8-byte aligned, which suffices for unix's).
struct faulty_file {
    sqlite3_file base;   // first, so SQLite's sqlite3_file* is a faulty_file*
    sqlite3_file* real;  // = this + k_real_offset
    const char* name;    // owned by SQLite, valid until xClose; nullptr for temp files
    bool trackable;      // named and not the -shm file
    bool main_db;
};
constexpr std::size_t k_real_offset = (sizeof(faulty_file) + 7) / 8 * 8;

struct state {
    sqlite3_vfs* real = nullptr;
    sqlite3_vfs vfs{};
    std::mutex mu;  // guards everything below; taken by every VFS method that looks at it
    fault_plan plans[2];
    std::uint64_t counts[2] = {};  // indexed by fault_vfs::op
    std::uint64_t faults = 0;
    bool disk_full = false;
    std::uint64_t disk_budget = 0, disk_growth = 0;
    bool tracking = false, power_out = false;
    std::map<std::string, tracked_file> files;  // by path; only while tracking
    std::size_t open_files = 0;
};

state& st() {
    static state s;
    return s;
}

faulty_file* self(sqlite3_file* f) { return reinterpret_cast<faulty_file*>(f); }
sqlite3_file* real_of(sqlite3_file* f) { return self(f)->real; }

// Counts one op of kind `k`; returns the failure fail_at() planned for it, or SQLITE_OK (also
// while the power is out: the caller refuses the op itself then).
int count_op(state& s, fault_vfs::op k) {
    const auto i = static_cast<std::size_t>(k);
    const std::uint64_t idx = s.counts[i]++;
    const fault_plan& p = s.plans[i];
    if (s.power_out || !p.armed || idx < p.at || (idx > p.at && !p.persistent)) return SQLITE_OK;
    ++s.faults;
    return p.rc;
}

// The tracking entry of f (created on first use with the file's current size, taken as durable),
// or nullptr if f is not tracked.
tracked_file* entry(state& s, faulty_file* f) {
    if (!s.tracking || !f->trackable) return nullptr;
    auto [it, fresh] = s.files.try_emplace(f->name);
    if (fresh) {
        it->second.main_db = f->main_db;
        f->real->pMethods->xFileSize(f->real, &it->second.synced_size);
    }
    return &it->second;
}

// Bytes [off, min(off + n, size)) of the file as they are now.
int read_existing(sqlite3_file* real, sqlite3_int64 off, sqlite3_int64 n, sqlite3_int64 size, std::string& out) {
    out.clear();
    if (off >= size || n <= 0) return SQLITE_OK;
    out.resize(static_cast<std::size_t>(std::min(n, size - off)));
    const int rc = real->pMethods->xRead(real, out.data(), static_cast<int>(out.size()), off);
    return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_OK : rc;
}

// What xWrite/xTruncate need to know before changing f up to offset `end`: its tracking entry
// and, when tracking or disk full is on, its current size and how much the operation grows it.
struct mutation {
    tracked_file* t = nullptr;
    sqlite3_int64 size = 0;
    std::uint64_t growth = 0;
};

// Fills m; SQLITE_FULL when the growth does not fit in what is left of the disk-full budget.
int prepare(state& s, faulty_file* f, sqlite3_int64 end, mutation& m) {
    m.t = entry(s, f);
    if (m.t || s.disk_full) {
        if (const int rc = f->real->pMethods->xFileSize(f->real, &m.size); rc != SQLITE_OK) return rc;
    }
    if (!s.disk_full || end <= m.size) return SQLITE_OK;
    m.growth = static_cast<std::uint64_t>(end - m.size);
    if (s.disk_growth + m.growth <= s.disk_budget) return SQLITE_OK;
    ++s.faults;
    return SQLITE_FULL;
}

// ---- io methods ----------------------------------------------------------------------------------

int x_close(sqlite3_file* f) {
    const int rc = real_of(f)->pMethods->xClose(real_of(f));
    state& s = st();
    std::lock_guard lock(s.mu);
    --s.open_files;
    return rc;
}

int x_write(sqlite3_file* pf, const void* buf, int amt, sqlite3_int64 off) {
    faulty_file* f = self(pf);
    state& s = st();
    std::lock_guard lock(s.mu);
    const int planned = count_op(s, fault_vfs::op::write);
    if (s.power_out) return SQLITE_IOERR_WRITE;
    if (planned != SQLITE_OK) return planned;
    mutation m;
    if (const int rc = prepare(s, f, off + amt, m); rc != SQLITE_OK) return rc;
    undo_record r{false, off, {}, {}, m.size, std::max(m.size, off + amt)};
    if (m.t) {
        if (const int rc = read_existing(f->real, off, amt, m.size, r.old_bytes); rc != SQLITE_OK) return rc;
        r.new_bytes.assign(static_cast<const char*>(buf), static_cast<std::size_t>(amt));
    }
    const int rc = f->real->pMethods->xWrite(f->real, buf, amt, off);
    if (rc != SQLITE_OK) return rc;
    s.disk_growth += m.growth;
    if (m.t) m.t->pending.push_back(std::move(r));
    return SQLITE_OK;
}

int x_truncate(sqlite3_file* pf, sqlite3_int64 n) {
    faulty_file* f = self(pf);
    state& s = st();
    std::lock_guard lock(s.mu);
    if (s.power_out) return SQLITE_IOERR_TRUNCATE;
    mutation m;
    if (const int rc = prepare(s, f, n, m); rc != SQLITE_OK) return rc;
    undo_record r{true, n, {}, {}, m.size, n};
    if (m.t) {
        if (const int rc = read_existing(f->real, n, m.size - n, m.size, r.old_bytes); rc != SQLITE_OK) return rc;
    }
    int rc = f->real->pMethods->xTruncate(f->real, n);
    if (rc != SQLITE_OK) return rc;
    s.disk_growth += m.growth;
    if (m.t) {
        // The real VFS may round the size up to its chunk size: record what it actually did.
        rc = f->real->pMethods->xFileSize(f->real, &r.new_size);
        m.t->pending.push_back(std::move(r));
    }
    return rc;
}

int x_sync(sqlite3_file* pf, int flags) {
    faulty_file* f = self(pf);
    state& s = st();
    std::lock_guard lock(s.mu);
    const int planned = count_op(s, fault_vfs::op::sync);
    if (s.power_out) return SQLITE_IOERR_FSYNC;
    if (planned != SQLITE_OK) return planned;
    const int rc = f->real->pMethods->xSync(f->real, flags);
    if (rc != SQLITE_OK) return rc;
    if (tracked_file* t = entry(s, f)) {
        t->pending.clear();
        return f->real->pMethods->xFileSize(f->real, &t->synced_size);
    }
    return SQLITE_OK;
}

int x_file_control(sqlite3_file* f, int opcode, void* arg) {
    // A size hint lets the real VFS grow the file itself (with a chunk size set), which would
    // bypass disk-full and tracking; it is only a hint, so drop it.
    if (opcode == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
    return real_of(f)->pMethods->xFileControl(real_of(f), opcode, arg);
}

int x_fetch(sqlite3_file*, sqlite3_int64, int, void** pp) {
    *pp = nullptr;  // no mapping: SQLite falls back to xRead
    return SQLITE_OK;
}

// Forwarders to the real file / real VFS: io_fwd<&sqlite3_io_methods::xLock>::call has xLock's signature.
template <auto M> struct io_fwd;
template <typename R, typename... A, R (*sqlite3_io_methods::*M)(sqlite3_file*, A...)>
struct io_fwd<M> {
    static R call(sqlite3_file* f, A... a) { return (real_of(f)->pMethods->*M)(real_of(f), a...); }
};
template <auto M> struct vfs_fwd;
template <typename R, typename... A, R (*sqlite3_vfs::*M)(sqlite3_vfs*, A...)>
struct vfs_fwd<M> {
    static R call(sqlite3_vfs*, A... a) { return (st().real->*M)(st().real, a...); }
};

using io = sqlite3_io_methods;
const io k_methods = {
    3, x_close, io_fwd<&io::xRead>::call, x_write, x_truncate, x_sync, io_fwd<&io::xFileSize>::call,
    io_fwd<&io::xLock>::call, io_fwd<&io::xUnlock>::call, io_fwd<&io::xCheckReservedLock>::call, x_file_control,
    io_fwd<&io::xSectorSize>::call, io_fwd<&io::xDeviceCharacteristics>::call,
    io_fwd<&io::xShmMap>::call, io_fwd<&io::xShmLock>::call, io_fwd<&io::xShmBarrier>::call,
    io_fwd<&io::xShmUnmap>::call, x_fetch,
    [](sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; },  // xUnfetch: x_fetch never hands out pages
};

// ---- vfs methods ---------------------------------------------------------------------------------

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* pf, int flags, int* out_flags) {
    state& s = st();
    faulty_file* f = self(pf);
    f->real = static_cast<sqlite3_file*>(static_cast<void*>(reinterpret_cast<unsigned char*>(pf) + k_real_offset));
    f->real->pMethods = nullptr;
    f->name = name;
    f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
    f->trackable = name && !std::string_view(name).ends_with("-shm");
    const int rc = s.real->xOpen(s.real, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods) f->real->pMethods->xClose(f->real);
        pf->pMethods = nullptr;
        return rc;
    }
    pf->pMethods = &k_methods;
    std::lock_guard lock(s.mu);
    ++s.open_files;
    entry(s, f);
    return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    state& s = st();
    std::lock_guard lock(s.mu);
    if (s.power_out) return SQLITE_IOERR_DELETE;
    s.files.erase(name);
    return s.real->xDelete(s.real, name, sync_dir);
}

void register_vfs() {
    state& s = st();
    s.real = sqlite3_vfs_find(nullptr);
    if (!s.real || s.real->iVersion < 3) throw std::runtime_error("fault_vfs: no default VFS of version 3");
    sqlite3_vfs& v = s.vfs;
    v.iVersion = 3;
    v.szOsFile = static_cast<int>(k_real_offset) + s.real->szOsFile;
    v.mxPathname = s.real->mxPathname;
    v.zName = fault_vfs::k_name;
    v.xOpen = x_open;
    v.xDelete = x_delete;
    v.xAccess = vfs_fwd<&sqlite3_vfs::xAccess>::call;
    v.xFullPathname = vfs_fwd<&sqlite3_vfs::xFullPathname>::call;
    v.xDlOpen = vfs_fwd<&sqlite3_vfs::xDlOpen>::call;
    v.xDlError = vfs_fwd<&sqlite3_vfs::xDlError>::call;
    v.xDlSym = vfs_fwd<&sqlite3_vfs::xDlSym>::call;
    v.xDlClose = vfs_fwd<&sqlite3_vfs::xDlClose>::call;
    v.xRandomness = vfs_fwd<&sqlite3_vfs::xRandomness>::call;
    v.xSleep = vfs_fwd<&sqlite3_vfs::xSleep>::call;
    v.xCurrentTime = vfs_fwd<&sqlite3_vfs::xCurrentTime>::call;
    v.xGetLastError = vfs_fwd<&sqlite3_vfs::xGetLastError>::call;
    v.xCurrentTimeInt64 = vfs_fwd<&sqlite3_vfs::xCurrentTimeInt64>::call;
    v.xSetSystemCall = vfs_fwd<&sqlite3_vfs::xSetSystemCall>::call;
    v.xGetSystemCall = vfs_fwd<&sqlite3_vfs::xGetSystemCall>::call;
    v.xNextSystemCall = vfs_fwd<&sqlite3_vfs::xNextSystemCall>::call;
    if (const int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK)
        throw std::runtime_error(std::string("fault_vfs: sqlite3_vfs_register: ") + sqlite3_errstr(rc));
}

// ---- plain POSIX I/O for revert_unsynced ----------------------------------------------------------

[[noreturn]] void fail_posix(const char* what, const std::string& path) {
    throw std::system_error(errno, std::generic_category(), std::string("fault_vfs: ") + what + " " + path);
}

void pwrite_all(int fd, const std::string& bytes, sqlite3_int64 off, const std::string& path) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                                   static_cast<off_t>(off + static_cast<sqlite3_int64>(done)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_posix("pwrite", path);
        done += static_cast<std::size_t>(n);
    }
}

void set_size(int fd, sqlite3_int64 size, const std::string& path) {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) fail_posix("ftruncate", path);
}

}  // namespace

fault_vfs::fault_vfs() { register_vfs(); }

fault_vfs& fault_vfs::instance() {
    static fault_vfs v;
    return v;
}

void fault_vfs::reset() {
    state& s = st();
    std::lock_guard lock(s.mu);
    for (fault_plan& p : s.plans) p = {};
    for (std::uint64_t& c : s.counts) c = 0;
    s.faults = 0;
    s.disk_full = false;
    s.tracking = false;
    s.power_out = false;
    s.files.clear();
}

void fault_vfs::fail_at(op which, std::uint64_t n, bool persistent, int rc) {
    state& s = st();
    std::lock_guard lock(s.mu);
    const auto i = static_cast<std::size_t>(which);
    if (rc == SQLITE_OK) rc = which == op::write ? SQLITE_IOERR_WRITE : SQLITE_IOERR_FSYNC;
    s.plans[i] = {true, persistent, s.counts[i] + n, rc};
}

void fault_vfs::set_disk_full_after(std::uint64_t bytes) {
    state& s = st();
    std::lock_guard lock(s.mu);
    s.disk_full = true;
    s.disk_budget = bytes;
    s.disk_growth = 0;
}

void fault_vfs::clear_disk_full() {
    state& s = st();
    std::lock_guard lock(s.mu);
    s.disk_full = false;
}

std::uint64_t fault_vfs::writes() const {
    std::lock_guard lock(st().mu);
    return st().counts[static_cast<std::size_t>(op::write)];
}

std::uint64_t fault_vfs::syncs() const {
    std::lock_guard lock(st().mu);
    return st().counts[static_cast<std::size_t>(op::sync)];
}

std::uint64_t fault_vfs::faults_hit() const {
    std::lock_guard lock(st().mu);
    return st().faults;
}

void fault_vfs::track_unsynced(bool on) {
    state& s = st();
    std::lock_guard lock(s.mu);
    s.tracking = on;
    if (!on) s.files.clear();
}

void fault_vfs::power_cut() {
    state& s = st();
    std::lock_guard lock(s.mu);
    s.power_out = true;
}

std::size_t fault_vfs::revert_unsynced(std::uint32_t seed, double keep_probability) {
    state& s = st();
    std::lock_guard lock(s.mu);
    if (s.open_files != 0) throw std::logic_error("fault_vfs::revert_unsynced: files are still open through the VFS");
    if (!(keep_probability >= 0.0 && keep_probability <= 1.0))
        throw std::invalid_argument("fault_vfs::revert_unsynced: keep_probability outside [0, 1]");
    std::mt19937 rng(seed);
    std::bernoulli_distribution keep(keep_probability);
    std::size_t dropped = 0;
    for (const auto& [path, t] : s.files) {
        if (t.main_db && ::unlink((path + "-shm").c_str()) != 0 && errno != ENOENT) fail_posix("unlink", path + "-shm");
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) continue;
        if (fd < 0) fail_posix("open", path);
        try {
            for (auto r = t.pending.rbegin(); r != t.pending.rend(); ++r) {
                pwrite_all(fd, r->old_bytes, r->offset, path);
                set_size(fd, r->old_size, path);
            }
            set_size(fd, t.synced_size, path);
            for (const undo_record& r : t.pending) {
                if (!keep(rng)) {
                    ++dropped;
                } else if (r.truncate) {
                    set_size(fd, r.new_size, path);
                } else {
                    pwrite_all(fd, r.new_bytes, r.offset, path);
                }
            }
        } catch (...) {
            ::close(fd);
            throw;
        }
        if (::close(fd) != 0) fail_posix("close", path);
    }
    s.files.clear();
    s.power_out = false;
    return dropped;
}

}  // namespace edgesync::test
