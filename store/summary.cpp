#include "store/summary.hpp"

namespace edgesync::store {

sql::result<store_summary> summarize(sql::connection& db) {
    store_summary out;
    auto one = [&db](const char* q, std::int64_t& into) -> error_code {
        auto s = db.cached(q);
        if (!s) return s.error();
        auto row = s->step();
        if (!row) return row.error();
        into = *row ? s->int64(0) : 0;
        return {};
    };
    // (count(*) walks the smallest index, and the tombstones' partial index: no body pages read)
    std::int64_t all = 0;
    if (auto e = one("SELECT count(*) FROM resources", all)) return e;
    if (auto e = one("SELECT count(*) FROM resources WHERE deleted = 1", out.tombstones)) return e;
    out.resources = all - out.tombstones;
    std::int64_t pages = 0, page_size = 0, free_pages = 0;
    if (auto e = one("PRAGMA page_count", pages)) return e;
    if (auto e = one("PRAGMA page_size", page_size)) return e;
    if (auto e = one("PRAGMA freelist_count", free_pages)) return e;
    out.bytes = (pages - free_pages) * page_size;
    if (auto e = one("SELECT count(*) FROM failed_events WHERE state = 'pending'", out.failed_pending)) return e;
    if (auto e = one("SELECT count(*) FROM failed_events WHERE state = 'parked'", out.failed_parked)) return e;
    if (auto e = one("SELECT count(*) FROM conflicts WHERE status = 'open'", out.conflicts_open)) return e;
    {
        // Events are numbered per category (schema 4): the highest number is the count.
        auto s = db.cached("SELECT category, max(seq) FROM event_records GROUP BY category");
        if (!s) return s.error();
        for (;;) {
            auto row = s->step();
            if (!row) return row.error();
            if (!*row) break;
            out.events[std::string(s->text(0))] = s->int64(1);
        }
    }
    {
        auto s = db.cached("SELECT feed_uri, coalesce(last_read_entry_id, ''), coalesce(feed_uri_for_last_read_entry, ''), updated_at FROM markers ORDER BY feed_uri");
        if (!s) return s.error();
        for (;;) {
            auto row = s->step();
            if (!row) return row.error();
            if (!*row) break;
            out.feeds.push_back({std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2)), s->int64(3)});
        }
    }
    return out;
}

}  // namespace edgesync::store
