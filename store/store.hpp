// The store: one SQLite database in WAL mode, owned by two threads — the writer (the only
// connection that writes) and the reader (a read-only connection, so feed pages and resource
// reads never wait behind a commit). Coroutines hand them jobs and `co_await` the result; the
// completion runs on the caller's executor (the associated executor of the completion handler).
//
// Group commit: the writer takes up to max_batch queued write jobs, runs each in its own
// SAVEPOINT inside one transaction and COMMITs once. A job's own failure (version mismatch,
// constraint, bad input) rolls back only its savepoint; a failure of the disk (I/O error, disk
// full, corruption) rolls back the whole batch and every job in it fails with that error. A job
// completes only after its COMMIT returned, so with synchronous=FULL (the default) everything
// acknowledged is on stable storage.
//
// Sticky errors: after an I/O error or corruption the store refuses every later write with that
// error (status() reports it) until it is closed and opened again; sync pauses, nothing that was
// acknowledged is lost. Disk full is not sticky: the batch is rolled back and later writes try
// again, so sync resumes by itself once space is freed.
//
// GCC 12 caveat (seen here as double frees under valgrind): a non-trivial temporary inside a
// co_await operand — `co_await st.get({"fhir", "Patient", id})`, or a lambda that owns strings —
// is copied bitwise into the coroutine frame. Name such arguments first and std::move them in.
// Nor may both arms of a ?: be co_awaits (`x = c ? co_await a() : co_await b()` freed an invalid
// pointer in the OpenMRS backend): use if/else.
//
// Thread-safety: every public member may be called from any thread. Job functions run on a
// store thread and must not touch caller state without their own synchronisation; they get the
// connection for the duration of the call only.
#pragma once

#include "store/records.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace edgesync::store {

struct store_options {
    std::string path;  // the database file; its folder must exist (claim_data_dir makes it)
    std::string vfs;   // SQLite VFS name; empty = the default (tests use "faulty")
    std::uint64_t cache_bytes = 8 * 1024 * 1024;  // page cache for both connections together
    bool synchronous_full = true;  // false: synchronous=NORMAL (a power cut may lose the last commits)
    enum class check : std::uint8_t { quick, full, off } integrity = check::quick;
    // Bytes; applies when the database is created. 8 KiB holds three 2 KB resources per page
    // where 4 KiB holds one: a 30% smaller file and faster writes (see the issue 4 note).
    std::uint32_t page_size = 8192;
    std::uint32_t max_batch = 256;    // write jobs per transaction
    std::uint32_t max_queued = 4096;  // jobs waiting per thread; beyond it errc::overloaded
    std::chrono::milliseconds busy_timeout{5000};  // wait for locks held by other processes (CLI)
    std::int64_t max_page_count = 0;  // 0 = unlimited; tests use it to simulate a full disk
    std::string instance_id;          // recorded on creation; a store of another node is refused
    bool read_only = false;           // only the reader connection (CLI inspecting a stopped node)
    std::function<millis()> clock;    // empty = system clock (UTC ms)
};

// What a write job sees: the connection (inside the batch's transaction), the batch's time and a
// fresh time-ordered (RFC 9562 v7) uuid per call of new_uuid().
class write_context {
public:
    virtual ~write_context() = default;
    virtual sql::connection& db() = 0;
    virtual millis now() = 0;
    virtual std::string new_uuid() = 0;
};

struct store_status {
    error_code sticky;         // set: writes refused until reopened
    error_code last_error;     // last failed batch (disk_full stays here until a commit succeeds)
    std::string last_message;  // SQLite's text for last_error
    std::uint64_t commits = 0;     // transactions committed
    std::uint64_t jobs_written = 0;
    std::string instance_id;
    std::string store_epoch;  // random id made when the database was created
};

// Writes that must commit in queue order or not at all from the first failure on. A caller that
// queues its next write before the previous one is acknowledged (the sync pipeline) gives them
// one chain: once a write of the chain fails — its own error, or its batch's (a failed COMMIT
// too) — every later write of the chain fails with errc::chain_broken without running, so
// nothing queued behind a failed commit (a feed marker, say) can commit past it. A chain stays
// broken; start a new one for the next run. Created by the caller, then read and written by the
// writer thread only.
struct write_chain {
    bool broken = false;
};

namespace detail {

// A queued operation. Ownership: the queue, then the store thread running it, then (through
// complete) the caller's executor, where it is destroyed — so the caller's data it holds is freed
// on the thread that allocated it, not on the busy writer.
//
// REQUIRES of job functions: no effects besides the connection and their result. The writer may
// run a write job twice (first without a savepoint; again inside one if a job of the same batch
// failed), and only the last run counts.
struct job {
    std::shared_ptr<write_chain> chain;  // null: independent
    bool skipped = false;                // not run because its chain broke (writer thread)
    virtual ~job() = default;
    virtual error_code run_write(write_context& ctx) = 0;
    virtual void run_read(sql::connection& db) = 0;
    // Delivers the result to the caller's executor; `self` is this job. `batch_error` (the
    // transaction failed) replaces the job's own result.
    virtual void complete(std::unique_ptr<job> self, error_code batch_error) = 0;
};

template <class T, class F, class Handler>
class job_impl final : public job {
public:
    job_impl(F f, Handler h)
        : f_(std::move(f)),
          h_(std::move(h)),
          work_(boost::asio::make_work_guard(boost::asio::get_associated_executor(h_))) {}

    // An exception from the job function ends only that job (errc::internal, its work rolled
    // back); it never reaches the store thread.
    error_code run_write(write_context& ctx) override {
        if constexpr (std::is_invocable_v<F&, write_context&>) {
            try {
                out_.emplace(f_(ctx));
            } catch (...) {
                out_.emplace(boost::system::in_place_error, make_error_code(errc::internal));
            }
            return out_->has_value() ? error_code{} : out_->error();
        } else {
            return make_error_code(errc::internal);
        }
    }
    void run_read(sql::connection& db) override {
        if constexpr (std::is_invocable_v<F&, sql::connection&>) {
            try {
                out_.emplace(f_(db));
            } catch (...) {
                out_.emplace(boost::system::in_place_error, make_error_code(errc::internal));
            }
        }
    }
    void complete(std::unique_ptr<job> self, error_code batch_error) override {
        result<T> r = batch_error || !out_ ? result<T>(boost::system::in_place_error, batch_error ? batch_error : make_error_code(errc::internal))
                                           : std::move(*out_);
        auto ex = work_.get_executor();
        std::unique_ptr<job_impl> me(static_cast<job_impl*>(self.release()));  // == this
        boost::asio::post(ex, [me = std::move(me), r = std::move(r)]() mutable {
            Handler h = std::move(me->h_);
            auto keep_alive = std::move(me->work_);
            me.reset();
            std::move(h)(std::move(r));
        });
    }

private:
    F f_;
    Handler h_;
    boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work_;
    std::optional<result<T>> out_;
};

}  // namespace detail

class store {
public:
    // Opens (creating when missing), runs the integrity check, migrates, starts the threads.
    // Blocking: call at start-up, not from a network coroutine. On failure `why` says what and
    // what to do about it.
    static result<std::unique_ptr<store>> open(const store_options& opts, std::string& why);
    ~store();  // runs the jobs already queued, then closes
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // Runs f(write_context&) -> result<T> on the writer thread in the next group transaction.
    template <class T, class F, class Token = const boost::asio::use_awaitable_t<>&>
    auto write(F f, Token&& token = boost::asio::use_awaitable) {
        return boost::asio::async_initiate<Token, void(result<T>)>(initiation<T, F>{this, true, std::move(f)}, token);
    }

    // write() as part of `chain` (see write_chain).
    template <class T, class F, class Token = const boost::asio::use_awaitable_t<>&>
    auto write_chained(std::shared_ptr<write_chain> chain, F f, Token&& token = boost::asio::use_awaitable) {
        return boost::asio::async_initiate<Token, void(result<T>)>(initiation<T, F>{this, true, std::move(f), std::move(chain)}, token);
    }

    // Runs f(sql::connection&) -> result<T> on the reader thread, outside any write transaction
    // (it sees the last committed state).
    template <class T, class F, class Token = const boost::asio::use_awaitable_t<>&>
    auto read(F f, Token&& token = boost::asio::use_awaitable) {
        return boost::asio::async_initiate<Token, void(result<T>)>(initiation<T, F>{this, false, std::move(f)}, token);
    }

    // The common writes, as one atomic unit each.
    boost::asio::awaitable<result<write_result>> put(resource_write w, event_spec ev);
    boost::asio::awaitable<result<write_result>> apply(pulled_change c);
    boost::asio::awaitable<result<std::optional<stored_resource>>> get(resource_key key);
    // A feed marker alone (an entry that needed no write, or one applied elsewhere).
    boost::asio::awaitable<error_code> set_marker(marker m);

    store_status status() const;
    const store_options& options() const noexcept { return opts_; }

    // Test seam: the database path's connection options as opened (e.g. to compare PRAGMAs).
    struct impl;

private:
    // The job function travels inside the initiation object rather than as an extra argument
    // of async_initiate, so use_awaitable's initiate() coroutine has no parameter pack to copy.
    template <class T, class F>
    struct initiation {
        store* self;
        bool is_write;
        F fn;
        std::shared_ptr<write_chain> chain = {};
        template <class Handler>
        void operator()(Handler&& h) {
            auto j = std::make_unique<detail::job_impl<T, F, std::decay_t<Handler>>>(std::move(fn), std::forward<Handler>(h));
            j->chain = std::move(chain);
            self->submit(is_write, std::move(j));
        }
    };

    explicit store(const store_options& opts);
    void submit(bool write, std::unique_ptr<detail::job> j);

    store_options opts_;
    std::unique_ptr<impl> impl_;
};

}  // namespace edgesync::store
