#include "agent/feed/publisher.hpp"

#include "store/store.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace edgesync::feed {
namespace {

namespace http = boost::beast::http;
namespace asio = boost::asio;

void escape_into(std::string& out, std::string_view s, bool attribute) {
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"':
                if (attribute) {
                    out += "&quot;";
                    break;
                }
                [[fallthrough]];
            default: out += c;
        }
    }
}

void link(std::string& out, const char* rel, const std::string& href) {
    out += "  <link rel=\"";
    out += rel;
    out += "\" type=\"application/atom+xml\" href=\"";
    escape_into(out, href, true);
    out += "\" />\r\n";
}

void element(std::string& out, const char* indent, const char* name, std::string_view text) {
    out += indent;
    out += '<';
    out += name;
    out += '>';
    escape_into(out, text, false);
    out += "</";
    out += name;
    out += ">\r\n";
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<std::int64_t> parse_page_number(std::string_view s) {
    if (s.empty() || s.size() > 12) return std::nullopt;
    std::int64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n;
}

}  // namespace

page_plan plan_page(std::int64_t total, std::uint32_t page_size, std::optional<std::int64_t> requested) {
    page_plan p;
    const std::int64_t size = std::max<std::uint32_t>(page_size, 1);
    p.newest = (total + size - 1) / size;
    p.number = requested.value_or(p.newest);
    // Page 0 exists only as the empty feed (what /recent names when there are no events).
    p.exists = p.number == 0 ? p.newest == 0 : p.number >= 1 && p.number <= p.newest;
    if (p.exists && p.number > 0) {
        p.first_seq = (p.number - 1) * size + 1;
        p.last_seq = std::min(total, p.number * size);
    }
    return p;
}

std::string format_atom_time(store::millis ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string render_head(const feed_identity& id, const page_plan& plan, const std::string& base, bool recent,
                        const std::string& updated) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\r\n";
    element(out, "  ", "title", id.title);
    const std::string numbered = base + "/" + std::to_string(plan.number);
    link(out, "self", recent ? base + "/recent" : numbered);
    link(out, "via", numbered);
    if (plan.number < plan.newest) link(out, "next-archive", base + "/" + std::to_string(plan.number + 1));
    if (plan.number > 1) link(out, "prev-archive", base + "/" + std::to_string(plan.number - 1));
    out += "  <author>\r\n";
    element(out, "    ", "name", id.author);
    out += "  </author>\r\n";
    element(out, "  ", "id", id.id_prefix + "+" + std::to_string(plan.number));
    out += "  <generator uri=\"";
    escape_into(out, id.generator_uri, true);
    out += "\">";
    escape_into(out, id.generator, false);
    out += "</generator>\r\n";
    element(out, "  ", "updated", updated);
    return out;
}

std::string render_entry(const store::event_record& e) {
    std::string out = "  <entry>\r\n";
    element(out, "    ", "title", e.title);
    // The category, then each tag (the action), duplicates removed.
    std::vector<std::string> terms{e.category};
    for (std::size_t pos = 0; pos <= e.tags.size();) {
        const auto comma = std::min(e.tags.find(',', pos), e.tags.size());
        std::string term(e.tags.substr(pos, comma - pos));
        term.erase(0, term.find_first_not_of(' '));
        term.erase(term.find_last_not_of(' ') + 1);
        if (!term.empty() && std::find(terms.begin(), terms.end(), term) == terms.end()) terms.push_back(term);
        pos = comma + 1;
    }
    for (const auto& t : terms) {
        out += "    <category term=\"";
        escape_into(out, t, true);
        out += "\" />\r\n";
    }
    element(out, "    ", "id", "tag:atomfeed.ict4h.org:" + e.uuid);
    const std::string when = format_atom_time(e.timestamp);
    element(out, "    ", "updated", when);
    element(out, "    ", "published", when);
    out += "    <content type=\"application/vnd.atomfeed+xml\"><![CDATA[";
    // "]]>" cannot appear inside CDATA: split it across two sections (ROME answers 500 instead).
    std::string_view obj = e.object;
    for (std::size_t pos; (pos = obj.find("]]>")) != std::string_view::npos;) {
        out.append(obj.substr(0, pos + 2));
        out += "]]><![CDATA[";
        obj.remove_prefix(pos + 2);
    }
    out.append(obj);
    out += "]]></content>\r\n  </entry>\r\n";
    return out;
}

void add_feed_routes(net::router& r, store::store& st, publisher_params p) {
    auto serve = [&st, p](net::request_context& ctx, bool recent) -> asio::awaitable<net::reply> {
        const std::string category = lower(ctx.param("category"));
        // Category names are config names: letters, digits, '_' and '-'. Anything else (a CR LF
        // aimed at the ETag header, quotes, markup) is no category of ours.
        if (category.empty() || category.size() > 64 ||
            !std::all_of(category.begin(), category.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }))
            co_return net::reply::text(http::status::not_found, "no such feed category\n");
        std::optional<std::int64_t> requested;
        if (!recent) {
            requested = parse_page_number(ctx.param("n"));
            if (!requested)
                co_return net::reply::text(http::status::bad_request, "page number must be a non-negative integer\n");
        }
        auto count_job = [category](store::sql::connection& db) { return store::category_event_count(db, category); };
        auto total = co_await st.read<std::int64_t>(std::move(count_job));
        if (!total) co_return net::reply::text(http::status::service_unavailable, "feed unavailable: " + total.error().message() + "\n");
        const page_plan plan = plan_page(*total, p.page_size, requested);
        if (!plan.exists)
            co_return net::reply::text(http::status::not_found,
                                       "feed page " + std::to_string(plan.number) + " of category '" + category +
                                           "' does not exist; the newest is " + std::to_string(plan.newest) + "\n");

        // Archived pages never change; the newest one changes with every event (and with the
        // page size, which re-pages the feed).
        const std::string etag = "\"" + p.identity.id_prefix + "-" + category + "-" + std::to_string(p.page_size) + "-" +
                                 std::to_string(plan.number) +
                                 (plan.archived() ? std::string() : "-" + std::to_string(*total)) + "\"";
        const std::string cache = plan.archived() ? "public, max-age=31536000, immutable" : "no-cache";
        if (auto inm = ctx.req[http::field::if_none_match]; !inm.empty() && inm.find(etag) != std::string_view::npos) {
            net::reply not_modified;
            not_modified.status = http::status::not_modified;
            not_modified.headers.set(http::field::etag, etag);
            not_modified.headers.set(http::field::cache_control, cache);
            co_return not_modified;
        }

        std::string base = p.public_url;
        if (base.empty()) base = std::string(p.tls ? "https://" : "http://") + std::string(ctx.req[http::field::host]);
        while (!base.empty() && base.back() == '/') base.pop_back();
        base += "/ws/atomfeed/" + category;

        net::reply rep;
        rep.headers.set(http::field::content_type, "application/atom+xml;charset=UTF-8");
        rep.headers.set(http::field::etag, etag);
        rep.headers.set(http::field::cache_control, cache);
        rep.stream = [&st, plan, base, category, recent, identity = p.identity](net::body_writer& w) -> asio::awaitable<boost::system::error_code> {
            // The newest entry's time is only known after reading the last slice, but <updated>
            // comes first: read the page's last event first (one indexed lookup).
            std::string updated = format_atom_time(0);
            if (plan.last_seq >= plan.first_seq) {
                auto last_job = [category, seq = plan.last_seq](store::sql::connection& db) {
                    return store::events_by_seq(db, category, seq, 1);
                };
                auto last = co_await st.read<std::vector<store::event_record>>(std::move(last_job));
                if (!last) co_return last.error();
                if (!last->empty()) updated = format_atom_time(last->front().timestamp);
            }
            const std::string head = render_head(identity, plan, base, recent, updated);
            if (auto ec = co_await w.write(head)) co_return ec;
            constexpr std::int64_t k_slice = 100;
            for (std::int64_t seq = plan.first_seq; seq <= plan.last_seq && plan.last_seq > 0;) {
                const auto n = static_cast<std::size_t>(std::min(k_slice, plan.last_seq - seq + 1));
                auto slice_job = [category, seq, n](store::sql::connection& db) { return store::events_by_seq(db, category, seq, n); };
                auto events = co_await st.read<std::vector<store::event_record>>(std::move(slice_job));
                if (!events) co_return events.error();
                if (events->empty()) break;
                std::string chunk;
                for (const auto& e : *events) chunk += render_entry(e);
                if (auto ec = co_await w.write(chunk)) co_return ec;
                seq += static_cast<std::int64_t>(events->size());
            }
            co_return co_await w.write(k_feed_tail);
        };
        co_return rep;
    };
    r.add(http::verb::get, "/ws/atomfeed/{category}/recent", p.roles,
          [serve](net::request_context& ctx) { return serve(ctx, true); });
    r.add(http::verb::get, "/ws/atomfeed/{category}/{n}", p.roles,
          [serve](net::request_context& ctx) { return serve(ctx, false); });
}

}  // namespace edgesync::feed
