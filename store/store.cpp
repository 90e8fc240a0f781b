#include "store/store.hpp"

#include "agent/common/log.hpp"
#include "store/schema.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace edgesync::store {
namespace {

millis system_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_hex(std::mt19937_64& rng, int bytes) {
    std::string out;
    char buf[3];
    for (int i = 0; i < bytes; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(rng() & 0xff));
        out += buf;
    }
    return out;
}

std::string folder_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

error_code run_cached(sql::connection& db, const char* sql) {
    auto st = db.cached(sql);
    return st ? st->run() : st.error();
}

// Connection set-up shared by the writer and the reader. The writer gets 3/4 of the page cache:
// its index pages are what every write touches.
error_code configure(sql::connection& db, const store_options& o, bool writer, std::string& why) {
    sqlite3_busy_timeout(db.handle(), static_cast<int>(o.busy_timeout.count()));
    const auto kib = static_cast<long long>((writer ? o.cache_bytes / 4 * 3 : o.cache_bytes / 4) / 1024);
    std::string pragmas = "PRAGMA cache_size = -" + std::to_string(kib) + "; PRAGMA mmap_size = 0; PRAGMA temp_store = MEMORY;";
    pragmas += o.synchronous_full ? " PRAGMA synchronous = FULL;" : " PRAGMA synchronous = NORMAL;";
    if (writer) {
        // The WAL is truncated back to this after a checkpoint, so it does not keep a burst's size.
        pragmas += " PRAGMA journal_size_limit = 67108864;";
        if (o.max_page_count > 0) pragmas += " PRAGMA max_page_count = " + std::to_string(o.max_page_count) + ";";
    } else {
        pragmas += " PRAGMA query_only = ON;";
    }
    if (auto ec = db.exec(pragmas.c_str())) {
        why = "configure the connection: " + db.last_message();
        return ec;
    }
    return {};
}

}  // namespace

struct store::impl final : write_context {
    // Constant after open().
    store_options opts;
    std::string instance_id, store_epoch;

    // Owned by the writer thread once started (the reader's by the reader thread).
    sql::connection writer_db, reader_db;
    std::mt19937_64 rng{std::random_device{}()};
    millis batch_now = 0;
    std::vector<bool> chain_was_broken;  // per job of the batch being committed (writer thread)

    struct lane {
        std::mutex m;
        std::condition_variable cv;
        std::deque<std::unique_ptr<detail::job>> queue;  // guarded by m
        bool stopping = false;                           // guarded by m
        std::thread thread;
    };
    lane writes, reads;

    // Checkpoints run on their own thread and connection, so the writer never stops to copy the
    // WAL back into the database. The writer's WAL hook asks for one (ck_wanted) once the WAL
    // holds 4 MiB of frames; if the checkpointer falls behind and the WAL reaches 64 MiB, the
    // writer checkpoints itself, which bounds the WAL (and the recovery time after a crash).
    static constexpr std::int64_t k_checkpoint_bytes = 4 << 20;
    static constexpr std::int64_t k_checkpoint_hard_bytes = 64 << 20;
    int page_bytes = 4096;  // the database's page size, read at open
    sql::connection checkpoint_db;  // owned by the checkpointer thread
    std::thread checkpointer;
    std::mutex ck_m;
    std::condition_variable ck_cv;
    bool ck_wanted = false, ck_stop = false;  // guarded by ck_m

    static int on_wal_commit(void* self, sqlite3* db, const char*, int pages) {
        auto* I = static_cast<impl*>(self);
        const std::int64_t bytes = static_cast<std::int64_t>(pages) * I->page_bytes;
        if (bytes >= k_checkpoint_hard_bytes) {
            const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            if (rc != SQLITE_OK && rc != SQLITE_BUSY) I->note_checkpoint_failure(rc, sqlite3_errmsg(db));
        } else if (bytes >= k_checkpoint_bytes) {
            {
                std::lock_guard g(I->ck_m);
                I->ck_wanted = true;
            }
            I->ck_cv.notify_one();
        }
        return SQLITE_OK;
    }

    void note_checkpoint_failure(int rc, const std::string& message) {
        const auto ec = make_error_code(from_sqlite(rc));
        log::error("store_checkpoint_failed", {{"error", ec.message()}, {"sqlite", message}});
        if (is_sticky(ec)) note(ec, message, 0);
    }

    void checkpoint_loop() {
        for (;;) {
            {
                std::unique_lock g(ck_m);
                ck_cv.wait(g, [&] { return ck_wanted || ck_stop; });
                if (ck_stop) return;
                ck_wanted = false;
            }
            const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            if (rc != SQLITE_OK && rc != SQLITE_BUSY) note_checkpoint_failure(rc, sqlite3_errmsg(checkpoint_db.handle()));
        }
    }

    mutable std::mutex status_m;
    store_status st;  // guarded by status_m

    // write_context
    sql::connection& db() override { return writer_db; }
    millis now() override { return batch_now; }
    // RFC 9562 version 7: 48 bits of Unix milliseconds, then random bits. Later events get larger
    // uuids, so the event_records uuid index grows at its end instead of at random places.
    std::string new_uuid() override {
        const auto ms = static_cast<std::uint64_t>(batch_now);
        const std::uint64_t r1 = rng(), r2 = rng();
        char buf[40];
        std::snprintf(buf, sizeof buf, "%08llx-%04llx-7%03llx-%04llx-%012llx",
                      static_cast<unsigned long long>((ms >> 16) & 0xffffffffull), static_cast<unsigned long long>(ms & 0xffff),
                      static_cast<unsigned long long>(r1 & 0xfff), static_cast<unsigned long long>(0x8000 | ((r1 >> 12) & 0x3fff)),
                      static_cast<unsigned long long>(r2 & 0xffffffffffffull));
        return buf;
    }

    millis clock() const { return opts.clock ? opts.clock() : system_now(); }

    void note(const error_code& ec, const std::string& message, std::size_t jobs) {
        std::lock_guard g(status_m);
        if (!ec) {
            st.commits++;
            st.jobs_written += jobs;
            st.last_error.clear();
            st.last_message.clear();
            return;
        }
        st.last_error = ec;
        st.last_message = message;
        if (is_sticky(ec) && !st.sticky) {
            st.sticky = ec;
            log::error("store_writes_paused", {{"error", ec.message()}, {"sqlite", message}, {"path", opts.path}});
        }
    }
    error_code sticky() const {
        std::lock_guard g(status_m);
        return st.sticky;
    }

    std::vector<std::unique_ptr<detail::job>> take(lane& l, std::size_t max, bool& stop) {
        std::unique_lock g(l.m);
        l.cv.wait(g, [&] { return l.stopping || !l.queue.empty(); });
        std::vector<std::unique_ptr<detail::job>> out;
        while (!l.queue.empty() && out.size() < max) {
            out.push_back(std::move(l.queue.front()));
            l.queue.pop_front();
        }
        stop = l.stopping && l.queue.empty();
        return out;
    }

    // Runs every job of the batch in the open transaction. With savepoints, a job's own failure
    // rolls back only that job; without, it returns false at once (the caller rolls back and
    // runs the batch again with savepoints). Savepoints are not free — each journals the original
    // of every page its job touches — so the common case, a batch where every job succeeds, runs
    // without them. Returns false for a job failure without savepoints; sets batch_ec for a
    // failure that dooms the transaction.
    bool run_jobs(std::vector<std::unique_ptr<detail::job>>& batch, bool savepoints, error_code& batch_ec) {
        auto& db = writer_db;
        for (std::size_t i = 0; i < batch.size() && !batch_ec; ++i) {
            auto& chain = batch[i]->chain;
            batch[i]->skipped = chain && chain->broken;
            if (batch[i]->skipped) continue;
            if (savepoints && (batch_ec = run_cached(db, "SAVEPOINT job"))) break;
            const error_code job_ec = batch[i]->run_write(*this);
            if (job_ec && chain) chain->broken = true;  // later writes of the chain must not pass it
            if (job_ec && dooms_transaction(job_ec)) {
                batch_ec = job_ec;
                break;
            }
            if (job_ec && !savepoints) return false;
            if (job_ec) batch_ec = run_cached(db, "ROLLBACK TO job");
            if (savepoints && !batch_ec) batch_ec = run_cached(db, "RELEASE job");
        }
        return true;
    }

    // One group transaction. REQUIRES: writer thread.
    void commit_batch(std::vector<std::unique_ptr<detail::job>>& batch) {
        chain_was_broken.assign(batch.size(), false);
        for (std::size_t i = 0; i < batch.size(); ++i) chain_was_broken[i] = batch[i]->chain && batch[i]->chain->broken;
        error_code batch_ec = sticky();
        auto& db = writer_db;
        batch_now = clock();
        if (!batch_ec) batch_ec = db.exec("BEGIN IMMEDIATE");
        if (!batch_ec && !run_jobs(batch, false, batch_ec)) {
            // The first pass broke chains for a job that the savepoint pass may yet run: start
            // the chains of this batch again from how they stood before it.
            for (std::size_t i = 0; i < batch.size(); ++i)
                if (batch[i]->chain) batch[i]->chain->broken = chain_was_broken[i];
            batch_ec = db.exec("ROLLBACK");
            if (!batch_ec) batch_ec = db.exec("BEGIN IMMEDIATE");
            if (!batch_ec) run_jobs(batch, true, batch_ec);
        }
        if (!batch_ec) batch_ec = db.exec("COMMIT");
        const std::string message = batch_ec ? db.last_message() : std::string();
        // After an I/O error or a full disk SQLite may already have rolled back; if not, do it so
        // the next batch starts clean (and nothing of this one is ever visible).
        if (batch_ec && db.in_transaction()) db.exec("ROLLBACK");
        note(batch_ec, message, batch.size());
        for (auto& j : batch) {
            if (batch_ec && j->chain) j->chain->broken = true;  // nothing of this batch committed
            auto* p = j.get();
            p->complete(std::move(j), p->skipped ? make_error_code(errc::chain_broken) : batch_ec);
        }
    }

    void writer_loop() {
        for (bool stop = false; !stop;) {
            auto batch = take(writes, opts.max_batch, stop);
            if (!batch.empty()) commit_batch(batch);
        }
    }

    void reader_loop() {
        for (bool stop = false; !stop;) {
            auto batch = take(reads, 1, stop);
            for (auto& j : batch) {
                j->run_read(reader_db);
                auto* p = j.get();
                p->complete(std::move(j), {});
            }
        }
    }
};

store::store(const store_options& opts) : opts_(opts), impl_(std::make_unique<impl>()) { impl_->opts = opts; }

store::~store() {
    for (auto* l : {&impl_->writes, &impl_->reads}) {
        {
            std::lock_guard g(l->m);
            l->stopping = true;
        }
        l->cv.notify_all();
    }
    for (auto* l : {&impl_->writes, &impl_->reads})
        if (l->thread.joinable()) l->thread.join();
    {
        std::lock_guard g(impl_->ck_m);
        impl_->ck_stop = true;
    }
    impl_->ck_cv.notify_all();
    if (impl_->checkpointer.joinable()) impl_->checkpointer.join();
    impl_->checkpoint_db.close();
    impl_->reader_db.close();
    impl_->writer_db.close();
}

void store::submit(bool write, std::unique_ptr<detail::job> j) {
    auto& l = write ? impl_->writes : impl_->reads;
    errc refused{};
    {
        std::lock_guard g(l.m);
        if (l.stopping || (write && opts_.read_only)) refused = write && opts_.read_only ? errc::read_only : errc::stopped;
        else if (l.queue.size() >= opts_.max_queued) refused = errc::overloaded;
        else l.queue.push_back(std::move(j));
    }
    if (refused != errc{}) {
        auto* p = j.get();
        p->complete(std::move(j), make_error_code(refused));
        return;
    }
    l.cv.notify_one();
}

result<std::unique_ptr<store>> store::open(const store_options& o, std::string& why) {
    // No global lock around every SQLite allocation for statistics nobody reads. Only possible
    // before SQLite initialises; later calls are refused, harmlessly.
    static std::once_flag memstatus_off;
    std::call_once(memstatus_off, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
    std::unique_ptr<store> s(new store(o));
    impl& I = *s->impl_;
    const char* vfs = o.vfs.empty() ? nullptr : o.vfs.c_str();

    const std::string dir = folder_of(o.path);
    struct stat dir_stat {};
    if (const int rc = ::stat(dir.c_str(), &dir_stat); rc != 0 || !S_ISDIR(dir_stat.st_mode)) {
        const int e = rc != 0 ? errno : ENOTDIR;
        why = "data directory " + dir + (e == ENOENT ? " does not exist"
                                         : e == EACCES ? " cannot be reached by this user (permission denied)"
                                                       : " is not a directory");
        return make_error_code(errc::cannot_open);
    }
    if (!o.read_only && ::access(dir.c_str(), W_OK) != 0) {
        why = "data directory " + dir + " is not writable by this user (the store needs to create its -wal and -shm files there)";
        return make_error_code(errc::read_only);
    }
    if (!o.read_only && ::access(o.path.c_str(), F_OK) == 0 && ::access(o.path.c_str(), W_OK) != 0) {
        why = "database " + o.path + " is read-only";
        return make_error_code(errc::read_only);
    }

    // `what` names the step and SQLite's complaint; damage gets recovery advice.
    auto fail = [&](error_code ec, std::string what) {
        why = std::move(what);
        if (ec == errc::corrupt) {
            why += ". The database file is damaged. Stop edgesync, move " + o.path +
                   "* aside (keep them: `sqlite3 FILE .recover` can salvage rows), and start again: the node "
                   "re-syncs from its parent. Changes made here and not yet pushed are only in the old file.";
        }
        return ec;
    };

    if (!o.read_only) {
        std::string open_why;
        auto w = sql::connection::open(o.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs, open_why);
        if (!w) {
            why = "open " + o.path + ": " + open_why;
            return w.error();
        }
        I.writer_db = std::move(*w);
        auto& db = I.writer_db;
        if (auto ec = configure(db, o, true, why)) return fail(ec, why);
        // The page size can only be chosen before the first table exists (and before WAL).
        if (auto pages = db.query_text("PRAGMA page_count"); pages && *pages == "0") {
            const std::string ps = "PRAGMA page_size = " + std::to_string(o.page_size);
            if (auto ec = db.exec(ps.c_str())) return fail(ec, "set the page size of " + o.path + ": " + db.last_message());
        }
        if (auto ps = db.query_text("PRAGMA page_size"); ps && !ps->empty()) I.page_bytes = std::stoi(*ps);
        auto mode = db.query_text("PRAGMA journal_mode = WAL");
        if (!mode) return fail(mode.error(), "switch " + o.path + " to WAL: " + db.last_message());
        if (*mode != "wal") {
            why = "switch " + o.path + " to WAL: SQLite kept journal mode '" + *mode + "'";
            return make_error_code(errc::cannot_open);
        }
        if (o.integrity != store_options::check::off) {
            const bool quick = o.integrity == store_options::check::quick;
            auto st = db.prepare(quick ? "PRAGMA quick_check(10)" : "PRAGMA integrity_check(10)");
            if (!st) return fail(st.error(), "integrity check of " + o.path + ": " + db.last_message());
            std::string problems;
            for (;;) {
                auto row = st->step();
                if (!row) return fail(row.error(), "integrity check of " + o.path + ": " + db.last_message());
                if (!*row) break;
                if (st->text(0) != "ok") problems += (problems.empty() ? "" : "; ") + std::string(st->text(0));
            }
            if (!problems.empty()) {
                return fail(make_error_code(errc::corrupt), "integrity check of " + o.path + " failed: " + problems);
            }
        }
        std::string mwhy;
        if (auto ec = migrate(db, mwhy)) {
            return fail(ec, mwhy);
        }
        // Node identity: made once, when the database is created.
        auto inst = get_meta(db, "instance_id");
        auto epoch = get_meta(db, "store_epoch");
        if (!inst || !epoch) return fail(!inst ? inst.error() : epoch.error(), "read node metadata: " + db.last_message());
        if (*inst && !o.instance_id.empty() && **inst != o.instance_id) {
            why = "the database " + o.path + " belongs to node '" + **inst + "', but this node's instance_id is '" +
                  o.instance_id + "'; point data_dir at this node's own folder, or set instance_id back";
            return make_error_code(errc::wrong_instance);
        }
        error_code ec;
        if (!*epoch) {
            ec = db.exec("BEGIN IMMEDIATE");
            if (!ec) ec = set_meta(db, "store_epoch", random_hex(I.rng, 16));
            if (!ec) ec = set_meta(db, "created_at", std::to_string(I.clock()));
            if (!ec) ec = db.exec("COMMIT");
        }
        if (!ec && !*inst && !o.instance_id.empty()) ec = set_meta(db, "instance_id", o.instance_id);
        if (ec) {
            if (db.in_transaction()) db.exec("ROLLBACK");
            return fail(ec, "write node metadata: " + db.last_message());
        }
    }

    std::string open_why;
    auto r = sql::connection::open(o.path, SQLITE_OPEN_READONLY, vfs, open_why);
    if (!r) {
        why = "open " + o.path + " for reading: " + open_why;
        return r.error();
    }
    I.reader_db = std::move(*r);
    if (auto ec = configure(I.reader_db, o, false, why)) return fail(ec, why);
    {
        auto inst = get_meta(I.reader_db, "instance_id");
        auto epoch = get_meta(I.reader_db, "store_epoch");
        if (!inst || !epoch) return fail(!inst ? inst.error() : epoch.error(), "read node metadata: " + I.reader_db.last_message());
        I.st.instance_id = inst->value_or("");
        I.st.store_epoch = epoch->value_or("");
    }

    if (!o.read_only) {
        auto c = sql::connection::open(o.path, SQLITE_OPEN_READWRITE, vfs, open_why);
        if (!c) {
            why = "open " + o.path + " for checkpoints: " + open_why;
            return c.error();
        }
        I.checkpoint_db = std::move(*c);
        sqlite3_busy_timeout(I.checkpoint_db.handle(), static_cast<int>(o.busy_timeout.count()));
        // A checkpoint copies WAL frames straight to the database file; it needs next to no cache.
        I.checkpoint_db.exec("PRAGMA cache_size = -128; PRAGMA mmap_size = 0");
        // Replaces SQLite's automatic checkpoints (which would run inside the writer's COMMIT).
        sqlite3_wal_hook(I.writer_db.handle(), &impl::on_wal_commit, &I);
        I.checkpointer = std::thread([&I] { I.checkpoint_loop(); });
        I.writes.thread = std::thread([&I] { I.writer_loop(); });
    }
    I.reads.thread = std::thread([&I] { I.reader_loop(); });
    return s;
}

store_status store::status() const {
    std::lock_guard g(impl_->status_m);
    return impl_->st;
}

// Each returns write()'s or read()'s awaitable directly (no coroutine frame of their own).
boost::asio::awaitable<result<write_result>> store::put(resource_write w, event_spec ev) {
    return write<write_result>([w = std::move(w), ev = std::move(ev)](write_context& c) {
        return write_resource(c.db(), w, ev, c.new_uuid(), c.now());
    });
}

boost::asio::awaitable<result<write_result>> store::apply(pulled_change ch) {
    return write<write_result>(
        [ch = std::move(ch)](write_context& c) { return apply_pulled(c.db(), ch, c.new_uuid(), c.now()); });
}

boost::asio::awaitable<error_code> store::set_marker(marker m) {
    auto job = [m = std::move(m)](write_context& c) -> result<bool> {
        if (auto e = ::edgesync::store::set_marker(c.db(), m, c.now())) return result<bool>(boost::system::in_place_error, e);
        return true;
    };
    auto done = co_await write<bool>(std::move(job));
    co_return done ? error_code() : done.error();
}

boost::asio::awaitable<result<std::optional<stored_resource>>> store::get(resource_key key) {
    return read<std::optional<stored_resource>>(
        [key = std::move(key)](sql::connection& db) { return get_resource(db, key); });
}

}  // namespace edgesync::store
