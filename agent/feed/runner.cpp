#include "agent/feed/runner.hpp"

#include "agent/common/log.hpp"
#include "agent/feed/fetch.hpp"
#include "agent/feed/walk.hpp"
#include "store/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace edgesync::feed {
namespace asio = boost::asio;
namespace {

class skip_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "edgesync.feed.skip"; }
    std::string message(int) const override { return "entry skipped"; }
};

std::string prefix_key(const std::string& feed_url) { return "feed_prefix " + feed_url; }

}  // namespace

boost::system::error_code entry_skipped() {
    static const skip_category c;
    return {1, c};
}

namespace {

// The next page, fetched while the current one's entries are processed (forward walk only: its
// URL is the current page's next-archive). At most one page ahead. The fetch holds the client,
// so run_feed() waits for it before it returns.
// As soon as it arrives its entries go to the `ahead` hook (`handed`), so the caller fetches
// their resources while it still processes the current page: with pages no larger than one
// batch, that is what keeps more than one batch in flight. (The hook is a copy: this outlives
// run_feed_impl's frame.)
struct page_ahead {
    explicit page_ahead(asio::any_io_executor ex) : ready(ex, asio::steady_timer::time_point::max()) {}
    std::string url;
    bool running = false, done = false, handed = false;
    fetched_page page;
    entries_hook hook;
    asio::steady_timer ready;
};

asio::awaitable<void> fetch_ahead(std::shared_ptr<page_ahead> a, net::http_client& client, std::string authorization, reader_limits limits) {
    const std::string url = a->url;
    a->page = co_await fetch_page(client, url, std::move(authorization), limits);
    if (a->hook && !a->page.missing && !a->page.ec && !a->page.entries.empty()) {
        a->hook(a->page.entries);
        a->handed = true;
    }
    a->done = true;
    a->ready.cancel();
}

asio::awaitable<void> settle(page_ahead& a) {
    if (a.running && !a.done) {
        boost::system::error_code ec;
        co_await a.ready.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<run_status> run_feed_impl(net::http_client& client, store::store& st, run_params p, entry_processor process,
                                          entries_hook ahead, std::shared_ptr<page_ahead> next_page);

}  // namespace

boost::asio::awaitable<run_status> run_feed(net::http_client& client, store::store& st, run_params p, entry_processor process,
                                            entries_hook ahead) {
    auto next_page = std::make_shared<page_ahead>(co_await asio::this_coro::executor);
    next_page->hook = ahead;
    auto status = co_await run_feed_impl(client, st, std::move(p), std::move(process), std::move(ahead), next_page);
    co_await settle(*next_page);  // no fetch may outlive the run (it uses the caller's client)
    co_return status;
}

namespace {

asio::awaitable<run_status> run_feed_impl(net::http_client& client, store::store& st, run_params p, entry_processor process,
                                          entries_hook ahead, std::shared_ptr<page_ahead> next_page) {
    run_status status;
    // Where we are: the marker, and the feed id prefix seen when it was written.
    auto read_job = [url = p.feed_url](store::sql::connection& db) -> store::result<walk_marker> {
        auto m = store::get_marker(db, url);
        if (!m) return m.error();
        auto prefix = store::get_meta(db, prefix_key(url));
        if (!prefix) return prefix.error();
        walk_marker out;
        if (*m) out = {(*m)->last_read_entry_id, (*m)->feed_uri_for_last_read_entry, prefix->value_or("")};
        return out;
    };
    auto position = co_await st.read<walk_marker>(std::move(read_job));
    if (!position) {
        status.error = position.error();
        status.detail = "read the marker";
        co_return status;
    }
    std::optional<walk_marker> marker;
    if (!position->page_url.empty()) marker = *position;

    for (int attempt = 0; attempt < 2; ++attempt) {
        walk_options wo{p.feed_url, marker};
        feed_walk walk(wo);
        feed_walk::step s = walk.start();
        std::string recorded_prefix = marker ? marker->feed_prefix : std::string();
        while (auto* f = std::get_if<feed_walk::fetch>(&s)) {
            const std::string url = f->url;
            fetched_page page;
            bool handed = false;  // its entries went to `ahead` when it arrived
            if (next_page->running && next_page->url == url) {
                co_await settle(*next_page);
                page = std::move(next_page->page);
                handed = next_page->handed;
            } else {
                co_await settle(*next_page);  // a different page was guessed: let it finish, unused
                page = co_await fetch_page(client, url, p.authorization, p.limits);
            }
            next_page->running = false;
            if (page.missing) {
                s = walk.on_missing();
                continue;
            }
            if (page.ec) {
                status.error = page.ec;
                status.detail = url + ": " + page.detail;
                co_return status;
            }
            ++status.pages;
            auto out = walk.on_page(page.header, std::move(page.entries));
            // Remember which feed the markers belong to (once per change), so a different feed
            // appearing at this URL later is noticed.
            if (!out.prefix.empty() && out.prefix != recorded_prefix && !std::holds_alternative<feed_walk::prefix_changed>(out.next)) {
                auto job = [key = prefix_key(p.feed_url), prefix = out.prefix](store::write_context& c) -> store::result<bool> {
                    if (auto ec = store::set_meta(c.db(), key, prefix)) return store::result<bool>(boost::system::in_place_error, ec);
                    return true;
                };
                auto w = co_await st.write<bool>(std::move(job));
                if (!w) {
                    status.error = w.error();
                    status.detail = "record the feed id";
                    co_return status;
                }
                recorded_prefix = out.prefix;
            }
            // While these entries are processed, the next page is already on its way.
            if (auto* nf = std::get_if<feed_walk::fetch>(&out.next); nf && !out.entries.empty()) {
                next_page->url = nf->url;
                next_page->running = true;
                next_page->done = next_page->handed = false;
                next_page->ready.expires_at(asio::steady_timer::time_point::max());
                asio::co_spawn(co_await asio::this_coro::executor, fetch_ahead(next_page, client, p.authorization, p.limits),
                               log::on_task_exit{"feed_page_ahead"});
            }
            if (ahead && !out.entries.empty() && !handed) ahead(out.entries);
            for (const auto& e : out.entries) {
                const store::marker next{p.feed_url, e.id, out.via};
                auto ec = co_await process(e, next);
                if (ec == entry_skipped()) ec = co_await st.set_marker(next);
                if (ec) {
                    status.error = ec;
                    status.detail = "entry " + e.id;
                    co_return status;
                }
                ++status.processed;
            }
            s = out.next;
        }
        std::string why;
        if (auto* lost = std::get_if<feed_walk::marker_lost>(&s)) why = lost->why;
        else if (auto* changed = std::get_if<feed_walk::prefix_changed>(&s))
            why = "the feed id changed from " + changed->was + " to " + changed->now + " (a new feed at this URL)";
        else if (auto* broken = std::get_if<feed_walk::broken>(&s)) {
            status.error = make_error_code(errc::malformed_xml);
            status.detail = broken->why;
            co_return status;
        }
        if (why.empty()) co_return status;  // done

        // The marker is lost. Never stall silently: say so everywhere an operator looks.
        status.marker_lost = true;
        const bool restart = p.policy == on_marker_lost::restart && attempt == 0;
        log::warn("feed_marker_lost", {{"feed", p.feed_url}, {"reason", why}, {"policy", restart ? "restart" : "pause"}});
        store::audit_entry a;
        a.direction = p.direction;
        a.category = p.category;
        a.action = "MARKER_LOST";
        a.status = "failure";
        a.error = why + (restart ? "; re-reading the feed from its oldest page" : "; feed paused for an operator");
        a.peer = p.peer;
        a.transport = "atomfeed";
        auto audit_job = [a](store::write_context& c) mutable -> store::result<std::int64_t> {
            a.at = c.now();
            return store::append_audit(c.db(), a);
        };
        auto audited = co_await st.write<std::int64_t>(std::move(audit_job));
        if (!audited) {
            status.error = audited.error();
            status.detail = "audit the lost marker";
            co_return status;
        }
        if (!restart) {
            status.paused = true;
            co_return status;
        }
        marker.reset();  // from the oldest page; the marker moves again with the first commit
    }
    co_return status;
}

}  // namespace

}  // namespace edgesync::feed
