#include "agent/feed/runner.hpp"

#include "agent/common/log.hpp"
#include "agent/feed/fetch.hpp"
#include "agent/feed/walk.hpp"
#include "store/store.hpp"

namespace edgesync::feed {
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

boost::asio::awaitable<run_status> run_feed(net::http_client& client, store::store& st, run_params p, entry_processor process,
                                            entries_hook ahead) {
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
            auto page = co_await fetch_page(client, url, p.authorization, p.limits);
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
            if (ahead && !out.entries.empty()) ahead(out.entries);
            for (const auto& e : out.entries) {
                const store::marker next{p.feed_url, e.id, out.via};
                auto ec = co_await process(e, next);
                if (ec == entry_skipped()) {
                    auto job = [next](store::write_context& c) -> store::result<bool> {
                        if (auto err = store::set_marker(c.db(), next, c.now())) return store::result<bool>(boost::system::in_place_error, err);
                        return true;
                    };
                    auto w = co_await st.write<bool>(std::move(job));
                    ec = w ? boost::system::error_code{} : w.error();
                }
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

}  // namespace edgesync::feed
