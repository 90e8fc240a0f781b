// The node's own atom feeds, as OpenMRS publishes them (atomfeed-protocol.md §1), read by
// children and by OpenMRS's own atomfeed clients:
//   GET /ws/atomfeed/{category}/recent   the newest page
//   GET /ws/atomfeed/{category}/{n}      page n (1-based)
// Number-based pages of `page_size` entries; category matched case-insensitively (stored names
// are lower case). Archived pages (n < newest) never change: strong ETag and a year of
// Cache-Control. The newest page has an ETag that changes with each event, and answers 304 to a
// matching If-None-Match. A page that does not exist is a 404 naming the newest one (OpenMRS
// answers 500). Pages are streamed from the store in slices, never built whole.
#pragma once

#include "net/router.hpp"
#include "store/records.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace edgesync::store {
class store;
}

namespace edgesync::feed {

// Which page a request names, given how many events the category has. Pure: the paging rules.
struct page_plan {
    std::int64_t number = 0;  // the page served (the newest for /recent; 0 for an empty feed)
    std::int64_t newest = 0;  // L = ceil(total / page_size)
    bool exists = false;
    std::int64_t first_seq = 0;  // seq range of its entries
    std::int64_t last_seq = -1;
    bool archived() const noexcept { return number < newest; }  // immutable from now on
};
page_plan plan_page(std::int64_t total, std::uint32_t page_size, std::optional<std::int64_t> requested);

struct feed_identity {
    std::string title = "edgesync feed";
    std::string author = "edgesync";
    std::string id_prefix;  // the store epoch: a new store gives new feed ids (readers notice)
    std::string generator_uri = "https://github.com/ICT4H/atomfeed";
    std::string generator = "edgesync";
};

// The document parts, so tests can check bytes. `base` = "<scheme>://<host>/ws/atomfeed/<category>".
std::string render_head(const feed_identity& id, const page_plan& plan, const std::string& base, bool recent,
                        const std::string& updated);
std::string render_entry(const store::event_record& e);
inline constexpr std::string_view k_feed_tail = "</feed>\r\n\r\n";
// "yyyy-MM-ddTHH:mm:ssZ" (UTC, whole seconds), as atomfeed writes dates.
std::string format_atom_time(store::millis ms);

struct publisher_params {
    std::uint32_t page_size = 200;  // as config::feeds_config
    std::string public_url;  // base URL for links; empty = from the Host header
    bool tls = false;        // scheme for links built from the Host header
    std::uint8_t roles = 0;  // who may read the feeds (net::role_bit flags)
    feed_identity identity;
};

// Adds the two routes. `st` must outlive the router.
void add_feed_routes(net::router& r, store::store& st, publisher_params p);

}  // namespace edgesync::feed
