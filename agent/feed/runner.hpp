// One run over one feed: the walk (walk.hpp) driven over HTTP (fetch.hpp), markers read from and
// written to the store, and a lost marker handled instead of stalling: logged, flagged in the
// run's status, recorded in the audit log, then the configured policy — `restart` (re-read the
// feed from its oldest page; writes are idempotent and fingerprints make replays no-ops) or
// `pause` (leave everything as it is for an operator).
//
// The processor is handed each new entry with the marker that follows it. It must commit its
// effect and that marker in one transaction (store::apply_pulled does), or return
// `entry_skipped` having written nothing, and the runner moves the marker itself. Any other error
// ends the run: the marker stays on the last committed entry, and the next run resumes there.
#pragma once

#include "agent/feed/atom_reader.hpp"
#include "net/http_client.hpp"
#include "store/records.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

namespace edgesync::store {
class store;
}

namespace edgesync::feed {

enum class on_marker_lost : std::uint8_t { restart, pause };

struct run_params {
    std::string feed_url;       // the configured .../recent URL; the marker's key
    std::string authorization;  // for the feed's origin
    reader_limits limits;
    on_marker_lost policy = on_marker_lost::restart;
    std::string direction = "pull";  // for the audit log
    std::string category;
    std::string peer;
};

struct run_status {
    std::size_t pages = 0;
    std::size_t processed = 0;   // entries handed to the processor and committed
    bool marker_lost = false;    // the marker was lost this run (and the policy applied)
    bool paused = false;         // policy `pause`: the feed waits for an operator
    boost::system::error_code error;
    std::string detail;
};

// Returned by a processor that had nothing to write for an entry (filtered out, echo).
boost::system::error_code entry_skipped();

using entry_processor =
    std::function<boost::asio::awaitable<boost::system::error_code>(const feed_entry&, const store::marker& next)>;
// Told each page's new entries before the first of them goes to the processor, so it can start
// fetching ahead (the processor still gets them one by one, in order).
using entries_hook = std::function<void(const std::vector<feed_entry>&)>;

boost::asio::awaitable<run_status> run_feed(net::http_client& client, store::store& st, run_params p, entry_processor process,
                                            entries_hook ahead = {});

}  // namespace edgesync::feed
