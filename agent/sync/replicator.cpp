#include "agent/sync/replicator.hpp"

#include "agent/common/log.hpp"
#include "agent/sync/clients.hpp"
#include "agent/feed/entry_content.hpp"
#include "agent/sync/fingerprint.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <random>

namespace edgesync::sync {
namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

const char* to_string(decision d) noexcept {
    switch (d) {
    case decision::apply: return "apply";
    case decision::agree: return "agree";
    case decision::keep_target: return "keep_target";
    case decision::park: return "park";
    }
    return "?";
}

decision decide(const three_way& s, config::conflict_policy policy, bool source_is_parent) noexcept {
    if (!s.target) return s.source == "deleted" ? decision::agree : decision::apply;
    if (*s.target == s.source) return decision::agree;
    if (s.base && *s.base == s.source) return decision::keep_target;  // only the target changed
    if (s.base && *s.base == *s.target) return decision::apply;       // only the source changed
    switch (policy) {
    case config::conflict_policy::parent_wins: return source_is_parent ? decision::apply : decision::keep_target;
    case config::conflict_policy::child_wins: return source_is_parent ? decision::keep_target : decision::apply;
    case config::conflict_policy::newest_wins:
        if (s.source_time != s.target_time && s.source_time && s.target_time)
            return s.source_time > s.target_time ? decision::apply : decision::keep_target;
        return source_is_parent ? decision::apply : decision::keep_target;
    case config::conflict_policy::manual: return decision::park;
    }
    return decision::park;
}

std::optional<store::resource_key> key_from_link(std::string_view link) {
    link = link.substr(0, link.find_first_of("?#"));
    for (auto [marker, rep] : {std::pair<std::string_view, const char*>{"/ws/fhir2/R4/", "fhir"}, {"/ws/rest/v1/", "rest"}}) {
        const auto at = link.find(marker);
        if (at == std::string_view::npos) continue;
        std::string_view rest = link.substr(at + marker.size());
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos || slash == 0) return std::nullopt;
        std::string_view type = rest.substr(0, slash), id = rest.substr(slash + 1);
        if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
        return store::resource_key{rep, std::string(type), std::string(id)};
    }
    return std::nullopt;
}

std::size_t replicate_result::total(std::size_t category_result::*field) const {
    std::size_t n = 0;
    for (const auto& c : categories) n += c.*field;
    return n;
}

namespace {

// Stands for a present body that is not a JSON object (no backend can store it).
constexpr std::string_view k_not_an_object = "not-an-object";

// The body is parsed here, once per side and entry, and nowhere else in the replicator.
std::string fingerprint_of(const backend::local_resource& r) {
    if (r.state != backend::presence::present) return "deleted";
    if (!r.fingerprint.empty()) return r.fingerprint;
    error_code ec;
    json::value v = json::parse(r.body, ec);
    return ec || !v.is_object() ? std::string(k_not_an_object) : fingerprint(v);
}

// One category's run: the state each entry's coroutine needs. Lives in replicate()'s frame for the
// whole feed run.
struct category_run {
    category_run(asio::any_io_executor executor, backend::local_backend& s, backend::local_backend& t, store::store& store_,
                 const replicate_params& params, const route& rt, category_result& result)
        : source(s), target(t), st(store_), p(params), r(rt), out(result), ex(std::move(executor)) {}
    backend::local_backend& source;
    backend::local_backend& target;
    store::store& st;
    const replicate_params& p;
    const route& r;
    category_result& out;
    std::mt19937_64 rng{std::random_device{}()};
    bool pull() const { return p.direction == "pull"; }

    store::audit_entry audit_of(const store::resource_key& key, std::string_view action, const char* status, const std::string& error,
                                const std::string& origin, std::chrono::steady_clock::time_point t0) const {
        store::audit_entry a;
        a.direction = p.direction;
        a.category = r.category;
        a.resource_type = key.type;
        a.resource_uuid = key.uuid;
        a.action = std::string(action);
        a.status = status;
        a.error = error;
        a.origin = origin;
        a.peer = p.peer;
        a.transport = key.representation;
        a.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        return a;
    }

    // Commits the marker, plus what goes with it: a failure into the retry queue, a conflict, an
    // agreed fingerprint, an audit row. One transaction.
    struct commit {
        std::optional<store::failed_event> failure;
        std::optional<store::conflict_record> conflict;
        std::optional<std::pair<store::resource_key, std::string>> agreed;  // key, fingerprint
        std::optional<store::audit_entry> audit;
        bool move_marker = true;
        std::int64_t clear_failure = 0;  // a retried event that went through
    };
    // The store job that makes one commit (run on the writer, in one transaction with whatever
    // else its batch holds).
    using commit_job = std::function<store::result<bool>(store::write_context&)>;
    commit_job job_for(commit c, const store::marker* next) {
        const double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng);
        if (!next) c.move_marker = false;
        const store::marker m = next ? *next : store::marker{};
        return [c = std::move(c), next = m, peer = p.peer, retry = p.retry, jitter](store::write_context& ctx) -> store::result<bool> {
            using R = store::result<bool>;
            if (c.clear_failure)
                if (auto e = store::clear_failure(ctx.db(), c.clear_failure); e && e != store::errc::not_found) return R(boost::system::in_place_error, e);
            if (c.failure)
                if (auto f = store::record_failure(ctx.db(), *c.failure, retry, jitter, ctx.now()); !f) return R(boost::system::in_place_error, f.error());
            if (c.conflict) {
                auto record = *c.conflict;
                record.detected_at = ctx.now();  // when it was parked, as the audit row's time
                if (auto k = store::open_conflict(ctx.db(), record); !k) return R(boost::system::in_place_error, k.error());
            }
            if (c.agreed)
                if (auto e = store::set_synced_fingerprint(ctx.db(), peer, c.agreed->first, c.agreed->second, ctx.now()))
                    return R(boost::system::in_place_error, e);
            if (c.audit) {
                store::audit_entry a = *c.audit;
                a.at = ctx.now();
                if (auto e = store::append_audit(ctx.db(), a); !e) return R(boost::system::in_place_error, e.error());
            }
            if (c.move_marker)
                if (auto e = store::set_marker(ctx.db(), next, ctx.now())) return R(boost::system::in_place_error, e);
            return true;
        };
    }
    // `next` is null for a retried event (its marker moved long ago).
    asio::awaitable<error_code> commit_with_marker(commit c, const store::marker* next) {
        if (next && (!remote.empty() || !sending.empty())) {
            // Changes sent ahead of this entry are not acknowledged yet: its commit waits behind
            // them, so no marker passes an unsent change.
            remote_item later;
            later.c = std::move(c);
            later.next = *next;
            remote.push_back(std::move(later));
            co_return error_code{};
        }
        commit_job job = job_for(std::move(c), next);  // (named: GCC 12 and temporaries in co_await)
        auto done = co_await st.write_chained<bool>(chain, std::move(job));
        co_return done ? error_code() : done.error();
    }

    // What a per-record failure commits: the failed event queued, its audit row, and the marker
    // moved on unless continue_on_failure is off. Counted and logged here.
    commit failure_commit(const feed::feed_entry& e, const store::marker* next, const store::resource_key& key, const std::string& why,
                          std::chrono::steady_clock::time_point t0) {
        commit c;
        store::failed_event f;
        f.direction = p.direction;
        f.feed_uri = next ? next->feed_uri : retry_feed_uri;
        f.event_id = e.id;
        f.event_content = e.content;
        f.title = e.title;
        f.tags = std::string(feed::entry_action(e));
        f.category = r.category;
        f.error_message = why;
        c.failure = std::move(f);
        if (p.audit_failure) c.audit = audit_of(key, feed::entry_action(e), "failure", why, "", t0);
        c.move_marker = p.continue_on_failure;
        ++out.failed;
        log::warn("sync_record_failed", {{"direction", p.direction}, {"category", r.category}, {"entry", e.id}, {"error", why}});
        return c;
    }
    // A per-record failure: queued (and the marker moves on, unless continue_on_failure is off,
    // in which case the run stops here after recording it).
    asio::awaitable<error_code> fail(const feed::feed_entry& e, const store::marker* next, const store::resource_key& key,
                                     const std::string& why, std::chrono::steady_clock::time_point t0) {
        commit c = failure_commit(e, next, key, why, t0);  // (named: GCC 12 and temporaries in co_await)
        auto ec = co_await commit_with_marker(std::move(c), next);
        if (!ec && next && !p.continue_on_failure) co_return make_error_code(boost::system::errc::operation_canceled);
        co_return ec;
    }

    // A retry of a queued event: processed as from the feed, but what it commits clears (or
    // re-records) the queue entry instead of moving a marker.
    std::int64_t retry_id = 0;
    std::string retry_feed_uri;

    // ---- fetching ahead ------------------------------------------------------------------------
    // Up to `p.concurrency` entries are fetched (source and target state) while earlier ones are
    // decided and committed; results are taken strictly in feed order. At most 2 x concurrency
    // fetched results are held. A result is fetched again when an entry processed after its fetch
    // began touched the same resource (the state it read may be stale).
    struct fetched {
        std::string link_problem;  // the entry names no resource we can fetch
        store::resource_key key;
        backend::get_result src, tgt;
        bool echo = false;  // push: the resource came from the peer (tgt not fetched)
        // The agreed fingerprint, read with the fetch (a store read per entry, made while the
        // entry waited its turn, costs the run nothing; made when its turn comes, it stalls it).
        bool has_base = false;
        std::optional<std::string> base;
    };
    // Reads the agreed fingerprints of `keys` in one store read, into `into[i]->base`. A failed
    // read leaves has_base unset: process() reads again and reports the error.
    asio::awaitable<void> read_bases(std::vector<fetched*> into) {
        if (into.empty()) co_return;
        std::vector<store::resource_key> keys;
        for (const auto* f : into) keys.push_back(f->key);
        auto job = [peer = p.peer, keys = std::move(keys)](store::sql::connection& db) -> store::result<std::vector<std::optional<std::string>>> {
            std::vector<std::optional<std::string>> fps;
            for (const auto& k : keys) {
                auto fp = store::get_synced_fingerprint(db, peer, k);
                if (!fp) return fp.error();
                fps.push_back(std::move(*fp));
            }
            return fps;
        };
        auto got = co_await st.read<std::vector<std::optional<std::string>>>(std::move(job));
        if (!got) co_return;
        for (std::size_t i = 0; i < into.size(); ++i) {
            into[i]->base = std::move((*got)[i]);
            into[i]->has_base = true;
        }
    }
    struct slot {
        explicit slot(asio::any_io_executor ex, feed::feed_entry en) : entry(std::move(en)), ready(ex, asio::steady_timer::time_point::max()) {}
        feed::feed_entry entry;
        fetched f;
        bool done = false;
        std::uint64_t started_at = 0;  // `processed` when the fetch began
        asio::steady_timer ready;      // cancelled when done
    };
    asio::any_io_executor ex;
    std::weak_ptr<category_run> self;
    std::deque<feed::feed_entry> waiting;  // told about, not yet started
    std::map<std::string, std::shared_ptr<slot>> slots;  // started, by entry id
    std::size_t in_flight = 0;
    bool stopping = false;
    std::uint64_t processed = 0;
    std::deque<std::pair<std::uint64_t, std::string>> recent;  // (processed at, key) of the last entries
    asio::steady_timer idle{ex};

    static std::string key_text(const store::resource_key& k) { return k.representation + "/" + k.type + "/" + k.uuid; }

    // Which resource the entry names (through the link its client prefers, else any it offers).
    bool resolve_link(const feed::feed_entry& e, fetched& f) const {
        auto links = feed::parse_entry_content(e.content);
        if (!links) {
            f.link_problem = "entry content not understood: " + links.error().message();
            return false;
        }
        const client_registry& clients = p.clients ? *p.clients : client_registry::standard();
        auto k = clients.resolve(*links, r.client, f.link_problem);
        if (!k) return false;
        f.key = *k;
        return true;
    }
    // Whether the target's state is needed after the source's: not when the source failed, nor
    // for an echo (push: the resource came from the peer; marks it).
    bool needs_target(fetched& f) const {
        if (f.src.ec) return false;
        f.echo = !pull() && !f.src.resource.arrived_from.empty() && f.src.resource.arrived_from == p.peer;
        return !f.echo;
    }
    asio::awaitable<void> fetch_target(fetched& f) {
        if (!needs_target(f)) co_return;
        const backend::resource_ref ref{r.category, f.key};
        f.tgt = co_await target.get(ref);
    }
    asio::awaitable<fetched> fetch(const feed::feed_entry& e) {
        fetched f;
        if (!resolve_link(e, f)) co_return f;
        std::vector<fetched*> one{&f};  // (named: GCC 12 and braced temporaries in co_await)
        co_await read_bases(std::move(one));
        const backend::resource_ref ref{r.category, f.key};
        f.src = co_await source.get(ref);
        co_await fetch_target(f);
        co_return f;
    }
    static void finish(slot& s) {
        s.done = true;
        s.ready.cancel();
    }
    // The target reads a group started one by one, counted so the group can wait for them.
    struct target_reads {
        explicit target_reads(asio::any_io_executor executor) : all_done(executor, asio::steady_timer::time_point::max()) {}
        std::size_t running = 0;
        asio::steady_timer all_done;
    };
    static asio::awaitable<void> target_into(std::shared_ptr<category_run> run, std::shared_ptr<slot> s, std::shared_ptr<target_reads> reads) {
        const backend::resource_ref ref{run->r.category, s->f.key};
        s->f.tgt = co_await run->target.get(ref);
        finish(*s);
        if (--reads->running == 0) reads->all_done.cancel();
    }
    // A group fetched together: the sources in one call (a Bundle batch when the source offers
    // one). Each entry is ready as soon as both its states are, so the first can be decided and
    // committed while the rest of the batch is still on the wire:
    //   - a target read singly (the embedded store) is read as soon as its source state arrives;
    //   - a target that batches (a parent, on push) is read in one call after the sources.
    asio::awaitable<void> fetch_many(std::vector<std::shared_ptr<slot>>& group) {
        std::vector<backend::resource_ref> refs;
        std::vector<std::shared_ptr<slot>> who;
        std::vector<fetched*> bases;
        for (auto& s : group)
            if (resolve_link(s->entry, s->f)) {
                refs.push_back({r.category, s->f.key});
                who.push_back(s);
                bases.push_back(&s->f);
            } else {
                finish(*s);
            }
        co_await read_bases(std::move(bases));  // one store read for the group, before its requests
        const bool batch_targets = target.batch_limit() > 1;
        // The embedded store as the target (a pull): its states are read for the whole group in
        // one store read too, before the sources (what a later entry changes makes the fetch
        // stale, as for any fetch ahead).
        const bool targets_first = !batch_targets && target.kind() == "embedded";
        if (targets_first) {
            std::vector<backend::resource_ref> trefs;
            for (const auto& s : who) trefs.push_back({r.category, s->f.key});
            auto on_target = [&](std::size_t i, backend::get_result g) { who.at(i)->f.tgt = std::move(g); };
            co_await target.get_each(std::move(trefs), on_target);
        }
        auto reads = std::make_shared<target_reads>(ex);
        std::vector<std::shared_ptr<slot>> for_target;
        auto on_source = [&](std::size_t i, backend::get_result g) {
            const auto& s = who.at(i);
            s->f.src = std::move(g);
            if (!needs_target(s->f) || targets_first) {
                finish(*s);
            } else if (batch_targets) {
                for_target.push_back(s);
            } else {
                ++reads->running;
                asio::co_spawn(ex, target_into(self.lock(), s, reads), log::on_task_exit{"sync_fetch_target"});
            }
        };
        co_await source.get_each(std::move(refs), on_source);
        if (!for_target.empty()) {
            std::vector<backend::resource_ref> trefs;
            for (const auto& s : for_target) trefs.push_back({r.category, s->f.key});
            auto on_target = [&](std::size_t i, backend::get_result g) {
                const auto& s = for_target.at(i);
                s->f.tgt = std::move(g);
                finish(*s);
            };
            co_await target.get_each(std::move(trefs), on_target);
        }
        while (reads->running > 0) {
            reads->all_done.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await reads->all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
    std::size_t group_size() const { return std::max<std::size_t>({1, source.batch_limit(), target.batch_limit()}); }

    void ahead(const std::vector<feed::feed_entry>& entries) {
        if (p.concurrency <= 1 && group_size() <= 1) return;
        for (const auto& e : entries) waiting.push_back(e);
        pump();
    }
    // Starts fetches (groups of up to the source's batch limit) while fewer than `concurrency`
    // run and fewer than 2 x concurrency x group results are held.
    void pump() {
        const std::size_t per_group = group_size();
        while (!stopping && in_flight < p.concurrency && slots.size() < 2 * p.concurrency * per_group && !waiting.empty()) {
            std::vector<std::shared_ptr<slot>> group;
            while (group.size() < per_group && !waiting.empty()) {
                auto s = std::make_shared<slot>(ex, std::move(waiting.front()));
                waiting.pop_front();
                if (slots.count(s->entry.id)) continue;  // the same event twice: fetched when processed
                s->started_at = processed;
                slots[s->entry.id] = s;
                group.push_back(std::move(s));
            }
            if (group.empty()) continue;
            ++in_flight;
            asio::co_spawn(ex, fetch_into(self.lock(), std::move(group)), log::on_task_exit{"sync_fetch"});
        }
    }
    static asio::awaitable<void> fetch_into(std::shared_ptr<category_run> run, std::vector<std::shared_ptr<slot>> group) {
        if (group.size() == 1) group[0]->f = co_await run->fetch(group[0]->entry);
        else co_await run->fetch_many(group);
        for (auto& s : group) finish(*s);
        --run->in_flight;
        if (run->in_flight == 0) run->idle.cancel();
        run->pump();
    }
    // The fetched state for `e`: taken from its slot when it was fetched ahead, else fetched now.
    asio::awaitable<void> take(const feed::feed_entry& e, fetched& out_f) {
        auto it = slots.find(e.id);
        if (it == slots.end()) {
            out_f = co_await fetch(e);
        } else {
            auto s = it->second;
            if (!s->done) {
                boost::system::error_code ec;
                co_await s->ready.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            slots.erase(it);
            bool stale = false;
            const std::string mine = key_text(s->f.key);
            for (const auto& [at, k] : recent) stale |= at >= s->started_at && k == mine;
            if (stale) out_f = co_await fetch(e);  // (not a ?: around co_await: GCC 12)
            else out_f = std::move(s->f);
            pump();
        }
        if (!out_f.link_problem.empty() || !pending_keys.count(key_text(out_f.key))) {
            // nothing queued for this resource
        } else {
            co_await flush_commits();  // a queued write of this resource: read it once it has landed
            out_f = co_await fetch(e);
        }
        recent.emplace_back(processed++, key_text(out_f.key));
        while (recent.size() > 4 * p.concurrency * group_size() + 4) recent.pop_front();
    }
    // Before the run's state goes away: no fetch may still be running.
    asio::awaitable<void> drain() {
        co_await flush_commits();
        stopping = true;
        waiting.clear();
        while (in_flight > 0) {
            idle.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        slots.clear();
    }

    asio::awaitable<error_code> process(const feed::feed_entry& e, const store::marker* next) {
        const auto t0 = std::chrono::steady_clock::now();
        while (!commits.empty() && commits.front()->done) co_await reap_one();
        while (!sending.empty() && sending.front()->done) co_await settle_batch();
        if (pipeline_error) co_return pipeline_error;
        ++out.entries;
        if (p.on_progress) p.on_progress(out);
        fetched f;
        co_await take(e, f);
        // take() may have flushed queued changes (this entry touches one of their resources); if
        // that failed, nothing after them may commit, least of all this entry's marker.
        if (pipeline_error) co_return pipeline_error;
        const store::resource_key key = f.key;
        if (!f.link_problem.empty()) co_return co_await fail(e, next, key, f.link_problem, t0);
        const backend::resource_ref ref{r.category, key};
        const backend::get_result& src = f.src;
        if (src.ec) {
            if (backend::is_record_failure(src.ec)) co_return co_await fail(e, next, key, src.detail, t0);
            co_return src.ec;
        }
        // Echo suppression: what came from the peer does not go back to it.
        if (f.echo) {
            ++out.kept;
            commit echo;
            echo.clear_failure = retry_id;
            co_return co_await commit_with_marker(std::move(echo), next);
        }
        const backend::get_result& tgt = f.tgt;
        if (tgt.ec) {
            if (backend::is_record_failure(tgt.ec)) co_return co_await fail(e, next, key, tgt.detail, t0);
            co_return tgt.ec;
        }
        // The agreed fingerprint lives with this node's copy (the target on pull, the source on push).
        if (!f.has_base) {
            auto base_job = [peer = p.peer, key](store::sql::connection& db) { return store::get_synced_fingerprint(db, peer, key); };
            auto base = co_await st.read<std::optional<std::string>>(std::move(base_job));
            if (!base) co_return base.error();
            f.base = std::move(*base);
        }

        three_way s;
        s.source = fingerprint_of(src.resource);
        if (tgt.resource.state != backend::presence::missing) s.target = fingerprint_of(tgt.resource);
        s.base = f.base;
        s.source_time = src.resource.last_updated;
        s.target_time = tgt.resource.last_updated;
        const decision d = decide(s, p.policy, pull());
        const std::string origin = src.resource.origin_node.empty() ? (pull() ? p.peer : p.node_id) : src.resource.origin_node;

        commit c;
        c.agreed = std::make_pair(key, s.source);
        switch (d) {
        case decision::apply: {
            backend::change ch;
            ch.ref = ref;
            ch.remove = src.resource.state != backend::presence::present;
            ch.body = src.resource.body;
            const std::string action(feed::entry_action(e));
            ch.action = action;
            ch.origin_node = origin;
            ch.arrived_from = pull() ? p.peer : "";
            // Not for a body that is no JSON object: the target must see it and refuse it.
            if (s.source != k_not_an_object) ch.fingerprint = s.source;
            const bool atomic = target.kind() == "embedded" && next;
            if (atomic) {
                // Pipelined: queued on this run's write chain, not awaited. The store commits in
                // queue order and, if this write fails, fails every later write of the chain, so
                // no marker passes it; the failure ends the run at the next entry (or the drain).
                if (!ch.remove && s.source == k_not_an_object) {
                    const std::string why = key.type + "/" + key.uuid + ": the body is not a JSON object";
                    co_return co_await fail(e, next, key, why, t0);
                }
                ch.then_marker = *next;
                ch.chain = chain;
                if (p.audit_success) ch.audit = audit_of(key, action, "success", "", origin, t0);
                if (ch.audit && p.audit_payloads && !ch.remove) ch.audit->payload = ch.body;
                co_return co_await enqueue_apply(std::move(ch), key);
            }
            if (next && target.kind() != "embedded" && target.batch_limit() > 1) {
                // Sent with the next changes as one batch; this entry's commit waits for it.
                remote_item it;
                it.payload = p.audit_payloads && !ch.remove ? ch.body : std::string();
                it.change = std::move(ch);
                c.clear_failure = retry_id;
                it.c = std::move(c);
                it.next = *next;
                it.entry = e;
                it.key = key;
                it.action = action;
                it.origin = origin;
                it.t0 = t0;
                pending_keys.insert(key_text(key));
                remote.push_back(std::move(it));
                if (++remote_changes >= target.batch_limit()) co_return co_await flush_remote();
                co_return error_code{};
            }
            auto res = co_await target.apply(std::move(ch));
            if (res.ec) {
                if (backend::is_record_failure(res.ec)) co_return co_await fail(e, next, key, res.detail, t0);
                co_return res.ec;
            }
            ++out.written;
            if (atomic) {
                // The change, its fingerprint and the marker are committed; the audit row follows.
                c.agreed.reset();
                c.move_marker = false;
            }
            if (p.audit_success) c.audit = audit_of(key, action.empty() ? store::to_string(res.outcome) : action, "success", "", origin, t0);
            if (c.audit && p.audit_payloads && src.resource.state == backend::presence::present) c.audit->payload = src.resource.body;
            break;
        }
        case decision::agree:
            // Already the same on both sides: after a kill, what was written before the crash
            // but not yet recorded. Audited, so the log accounts for every event.
            ++out.agreed;
            if (p.audit_success) c.audit = audit_of(key, feed::entry_action(e), "skipped", "already the same on both sides", origin, t0);
            break;
        case decision::keep_target:
            ++out.kept;
            c.agreed.reset();
            if (p.audit_success) c.audit = audit_of(key, feed::entry_action(e), "skipped", "the target's version is newer", origin, t0);
            break;
        case decision::park: {
            ++out.conflicts;
            c.agreed.reset();
            store::conflict_record cr;
            cr.category = r.category;
            cr.key = key;
            cr.peer = p.peer;
            // "local" is this node's copy: the target on pull, the source on push.
            const auto& mine = pull() ? tgt.resource : src.resource;
            const auto& theirs = pull() ? src.resource : tgt.resource;
            cr.local_body = mine.body;
            cr.local_fingerprint = pull() ? *s.target : s.source;
            cr.remote_body = theirs.body;
            cr.remote_fingerprint = pull() ? s.source : *s.target;
            cr.policy = std::string(config::to_string(p.policy));
            cr.status = "open";
            c.conflict = std::move(cr);
            c.audit = audit_of(key, feed::entry_action(e), "conflict", "changed on both sides", origin, t0);
            log::warn("sync_conflict", {{"direction", p.direction}, {"category", r.category}, {"resource", key.type + "/" + key.uuid}});
            break;
        }
        }
        c.clear_failure = retry_id;
        co_return co_await commit_with_marker(std::move(c), next);
    }

    // ---- pipelined commits ----------------------------------------------------------------------
    std::shared_ptr<store::write_chain> chain = std::make_shared<store::write_chain>();
    struct pending_commit {
        explicit pending_commit(asio::any_io_executor executor) : ready(executor, asio::steady_timer::time_point::max()) {}
        std::string key;
        bool done = false;
        backend::apply_result result;
        asio::steady_timer ready;
    };
    std::deque<std::shared_ptr<pending_commit>> commits;  // queued applies, oldest first
    std::multiset<std::string> pending_keys;
    error_code pipeline_error;
    static constexpr std::size_t k_commit_window = 256;

    static asio::awaitable<void> run_apply(std::shared_ptr<category_run> run, std::shared_ptr<pending_commit> pc, backend::change ch) {
        pc->result = co_await run->target.apply(std::move(ch));
        pc->done = true;
        pc->ready.cancel();
    }
    // Takes the oldest queued apply once it is done: counts it, or keeps its error for the run.
    asio::awaitable<void> reap_one() {
        auto pc = commits.front();
        if (!pc->done) {
            boost::system::error_code ec;
            co_await pc->ready.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        commits.pop_front();
        pending_keys.erase(pending_keys.find(pc->key));
        if (pc->result.ec) {
            if (!pipeline_error) pipeline_error = pc->result.ec;
            log::warn("sync_commit_failed", {{"direction", p.direction}, {"category", r.category}, {"error", pc->result.detail}});
        } else {
            ++out.written;
        }
    }
    asio::awaitable<void> flush_commits() {
        co_await flush_remote_all();
        while (!commits.empty()) co_await reap_one();
    }

    // ---- batched changes to a remote target -----------------------------------------------------
    // A target over HTTP that takes batches (a parent, on push) gets its changes in groups of its
    // batch limit. Every entry's commit from the first queued change on waits in `remote`, in feed
    // order, and is made once the batch is answered — so a marker never passes an unsent change.
    // Up to k_batches_in_flight batches are on the wire at once (a slow link's round trip is not
    // paid per batch); their answers are settled strictly in the order they were sent, and after
    // a run-ending error nothing later commits (what was sent is sent again next run, and found
    // already there).
    struct remote_item {
        std::optional<backend::change> change;  // nullopt: a commit only (an entry that wrote nothing)
        commit c;
        store::marker next;
        feed::feed_entry entry;
        store::resource_key key;
        std::string action, origin, payload;
        std::chrono::steady_clock::time_point t0;
    };
    std::vector<remote_item> remote;  // being gathered into the next batch
    std::size_t remote_changes = 0;
    struct sent_batch {
        explicit sent_batch(asio::any_io_executor executor) : ready(executor, asio::steady_timer::time_point::max()) {}
        std::vector<remote_item> items;
        std::vector<backend::apply_result> results;  // one per item with a change, once done
        bool done = false;
        asio::steady_timer ready;  // cancelled when done
    };
    std::deque<std::shared_ptr<sent_batch>> sending;  // sent, not yet settled; oldest first
    static constexpr std::size_t k_batches_in_flight = 3;

    static asio::awaitable<void> send_batch(std::shared_ptr<category_run> run, std::shared_ptr<sent_batch> b, std::vector<backend::change> changes) {
        if (!changes.empty()) b->results = co_await run->target.apply_many(std::move(changes));
        b->done = true;
        b->ready.cancel();
    }

    // Sends the gathered changes as a batch without waiting for its answer, and settles the
    // batches already answered (or the oldest, while too many are out). Returns the run's error.
    asio::awaitable<error_code> flush_remote() {
        if (!remote.empty()) {
            while (sending.size() >= k_batches_in_flight) co_await settle_batch();  // room first
            auto b = std::make_shared<sent_batch>(ex);
            b->items = std::move(remote);
            remote.clear();
            remote_changes = 0;
            std::vector<backend::change> changes;
            for (auto& it : b->items)
                if (it.change) changes.push_back(std::move(*it.change));
            sending.push_back(b);
            asio::co_spawn(ex, send_batch(self.lock(), b, std::move(changes)), log::on_task_exit{"sync_push_batch"});
        }
        while (!sending.empty() && sending.front()->done) co_await settle_batch();
        co_return pipeline_error;
    }
    // Everything gathered is sent, answered and settled.
    asio::awaitable<error_code> flush_remote_all() {
        co_await flush_remote();
        while (!sending.empty()) co_await settle_batch();
        co_return pipeline_error;
    }
    // The oldest batch sent: waits for its answer, then makes its entries' commits in feed order,
    // all in one transaction (one job: one fsync for the batch, not one per entry). The first
    // run-ending error stops it (and is kept for the run): what follows is not committed and is
    // read again next run.
    asio::awaitable<void> settle_batch() {
        auto b = sending.front();
        if (!b->done) {
            boost::system::error_code wait_ec;
            co_await b->ready.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
        }
        sending.pop_front();
        auto& items = b->items;
        error_code ec = pipeline_error;  // a batch before this one failed: nothing here commits
        std::vector<commit_job> jobs;
        std::size_t at = 0;
        for (auto& it : items) {
            if (ec) break;
            if (it.change) {
                if (at >= b->results.size()) {
                    ec = make_error_code(boost::system::errc::protocol_error);  // (apply_many answers every change)
                    break;
                }
                backend::apply_result& res = b->results[at++];
                if (res.ec) {
                    if (backend::is_record_failure(res.ec)) {
                        jobs.push_back(job_for(failure_commit(it.entry, &it.next, it.key, res.detail, it.t0), &it.next));
                        if (!p.continue_on_failure) ec = make_error_code(boost::system::errc::operation_canceled);
                    } else {
                        ec = res.ec;
                    }
                    continue;
                }
                ++out.written;
                if (p.audit_success)
                    it.c.audit = audit_of(it.key, it.action.empty() ? store::to_string(res.outcome) : it.action, "success", "", it.origin, it.t0);
                if (it.c.audit && !it.payload.empty()) it.c.audit->payload = std::move(it.payload);
            }
            jobs.push_back(job_for(std::move(it.c), &it.next));
        }
        if (!jobs.empty()) {
            auto all = [jobs = std::move(jobs)](store::write_context& ctx) -> store::result<bool> {
                for (const auto& j : jobs)
                    if (auto one = j(ctx); !one) return one;
                return true;
            };
            auto done = co_await st.write_chained<bool>(chain, std::move(all));
            if (!done && !ec) ec = done.error();
        }
        for (const auto& it : items)
            if (it.change) pending_keys.erase(pending_keys.find(key_text(it.key)));
        if (ec && !pipeline_error) pipeline_error = ec;
    }
    asio::awaitable<error_code> enqueue_apply(backend::change ch, const store::resource_key& key) {
        auto pc = std::make_shared<pending_commit>(ex);
        pc->key = key_text(key);
        pending_keys.insert(pc->key);
        commits.push_back(pc);
        asio::co_spawn(ex, run_apply(self.lock(), pc, std::move(ch)), log::on_task_exit{"sync_commit"});
        while (!commits.empty() && (commits.front()->done || commits.size() > k_commit_window)) co_await reap_one();
        co_return pipeline_error;
    }
};

// The queued failures of this direction worth another try now: those due, or — after a run that
// wrote something, which may have brought a missing dependency (an Encounter's Patient) — every
// pending one, at once and without an operator.
asio::awaitable<error_code> retry_pass(backend::local_backend& source, backend::local_backend& target, store::store& st,
                                       const replicate_params& p, bool wrote_something, replicate_result& result) {
    auto job = [wrote_something](store::write_context& ctx) -> store::result<std::vector<store::failed_event>> {
        if (wrote_something) return store::list_failures(ctx.db(), store::failure_state::pending, 0, 1000);
        return store::due_failures(ctx.db(), ctx.now(), 1000);
    };
    auto due = co_await st.write<std::vector<store::failed_event>>(std::move(job));
    if (!due) co_return due.error();
    for (const auto& f : *due) {
        if (f.direction != p.direction) continue;
        auto r = std::find_if(p.categories.begin(), p.categories.end(), [&](const route& x) { return x.category == f.category; });
        if (r == p.categories.end()) continue;  // a category no longer synced: left for the operator
        feed::feed_entry e;
        e.id = f.event_id;
        e.title = f.title;
        e.categories = {f.category};
        if (!f.tags.empty()) e.categories.push_back(f.tags);
        e.content = f.event_content;
        category_result& out = result.retried;
        auto executor = co_await asio::this_coro::executor;
        auto run = std::make_shared<category_run>(executor, source, target, st, p, *r, out);
        run->retry_id = f.id;
        run->retry_feed_uri = f.feed_uri;
        const std::size_t failed_before = out.failed;
        auto ec = co_await run->process(e, nullptr);
        if (ec) co_return ec;
        if (out.failed == failed_before) ++result.recovered;
    }
    co_return error_code{};
}

}  // namespace

asio::awaitable<replicate_result> replicate(backend::local_backend& source, backend::local_backend& target, store::store& st,
                                            replicate_params p) {
    replicate_result result;
    for (const auto& r : p.categories) {
        result.categories.push_back({});
        category_result& out = result.categories.back();
        out.category = r.category;
        auto executor = co_await asio::this_coro::executor;
        auto run = std::make_shared<category_run>(executor, source, target, st, p, r, out);
        run->self = run;
        feed::entry_processor process = [run](const feed::feed_entry& e, const store::marker& next) { return run->process(e, &next); };
        feed::entries_hook ahead = [run](const std::vector<feed::feed_entry>& entries) { run->ahead(entries); };
        out.feed = co_await source.read_feed(r.category, std::move(process), std::move(ahead));
        co_await run->drain();
        if (!out.feed.error && run->pipeline_error) {
            out.feed.error = run->pipeline_error;
            out.feed.detail = "a queued write failed";
        }
        out.finished = true;
        if (p.on_progress) p.on_progress(out);
        if (out.feed.error) {
            result.error = out.feed.error;
            result.detail = r.category + ": " + out.feed.detail;
            log::warn("sync_run_stopped", {{"direction", p.direction}, {"category", r.category}, {"error", out.feed.error.message()},
                                           {"detail", out.feed.detail}});
            co_return result;  // the link or a side is down: later categories wait for the next run
        }
    }
    if (auto ec = co_await retry_pass(source, target, st, p, result.total(&category_result::written) > 0, result)) {
        result.error = ec;
        result.detail = "retrying queued events: " + ec.message();
    }
    co_return result;
}

}  // namespace edgesync::sync
