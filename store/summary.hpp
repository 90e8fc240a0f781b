// What an operator (and `edgesync status`) sees of a store at a glance: how much it holds, how far
// each local feed has got, what waits for an operator, and where each feed read stands. One read
// job, index-only queries (no table scans beyond the small queue and conflict tables).
#pragma once

#include "store/records.hpp"
#include "store/sqlite.hpp"

#include <map>
#include <string>
#include <vector>

namespace edgesync::store {

struct feed_position {
    std::string feed_uri;       // the feed read (the parent's, or the local one on push)
    std::string last_entry_id;  // the last entry processed
    std::string page_uri;       // the page it was on
    millis updated_at = 0;
};

struct store_summary {
    std::int64_t resources = 0;   // live
    std::int64_t tombstones = 0;
    std::int64_t bytes = 0;       // the database file's pages in use
    std::map<std::string, std::int64_t> events;  // per category: events in this node's own feed
    std::int64_t failed_pending = 0, failed_parked = 0, conflicts_open = 0;
    std::vector<feed_position> feeds;
};

sql::result<store_summary> summarize(sql::connection& db);

}  // namespace edgesync::store
