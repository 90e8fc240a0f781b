// Which pages to read, and which entries to process, for one run over one feed: the atomfeed
// client's algorithm (atomfeed-protocol.md §3.2) as a sans-I/O state machine. The shell fetches
// what it is told and hands back each parsed page; the walk says which entries are new and what
// to fetch next. It never stalls where the ICT4H client does:
//   - the marked entry is not on its page (feed recreated, rows deleted, parent restored from a
//     backup), or the marked page is gone (404): the walk reports marker_lost, and the caller's
//     policy decides (default: restart from the oldest page — writes are idempotent);
//   - the feed id prefix (the part of <id> before '+') differs from the one recorded with the
//     marker: prefix_changed, same handling (a different feed now lives at this URL).
// Absolute hrefs naming another host or port (a parent behind a proxy writes its own idea of its
// address) are rebased onto the configured feed URL's scheme, host and port.
#pragma once

#include "agent/feed/atom_reader.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace edgesync::feed {

struct walk_marker {
    std::string last_read_entry_id;  // "" = start at the first entry of `page_url`
    std::string page_url;            // the `via` of the page that entry was read from
    std::string feed_prefix;         // the feed id prefix seen then ("" = unknown)
};

struct walk_options {
    std::string feed_url;  // the configured .../recent URL (absolute)
    std::optional<walk_marker> marker;
    std::uint32_t max_pages = 1'000'000;  // per run: bounds a walk through a broken feed
};

class feed_walk {
public:
    struct fetch {
        std::string url;
    };
    struct done {};
    struct marker_lost {
        std::string why;
    };
    struct prefix_changed {
        std::string was, now;
    };
    struct broken {  // a loop of archive links or more than max_pages pages
        std::string why;
    };
    using step = std::variant<fetch, done, marker_lost, prefix_changed, broken>;

    explicit feed_walk(walk_options o);

    step start();

    // The page fetched for the last `fetch` step. `entries` are to be processed, in order; after
    // each, the marker may move to (entry id, `via`).
    struct page_outcome {
        std::vector<feed_entry> entries;
        std::string via;     // rebased; the marker's page_url for these entries
        std::string prefix;  // feed id prefix of this page
        step next;
    };
    page_outcome on_page(const page_header& h, std::vector<feed_entry> entries);
    // The page fetched does not exist (404, or OpenMRS's 500 "feed does not exist").
    step on_missing();

    // href with scheme, host and port replaced by the feed URL's (path and query kept).
    std::string rebase(const std::string& href) const;

private:
    // probe_first: a first run on a feed numbered as the atomfeed library numbers it (recent is
    // page N, its prev-archive N-1): page 1 is fetched directly instead of walking N-1 pages back
    // (each a round trip on a slow link). If page 1 is missing or is not the oldest, the walk
    // goes back by prev-archive from recent as usual.
    enum class phase : std::uint8_t { rewind, probe_first, at_marker, forward, finished };
    walk_options opts_;
    phase phase_ = phase::rewind;
    std::string origin_;  // scheme://host[:port] of feed_url
    std::vector<std::string> visited_;  // rewind: pages seen (loop detection)
    std::string fallback_;              // probe_first: where the rewind continues if the probe fails
    std::uint32_t pages_ = 0;
    step next_after(const page_header& h);
};

std::string_view feed_id_prefix(std::string_view id) noexcept;

}  // namespace edgesync::feed
