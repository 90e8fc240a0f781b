// Fetches one feed page and parses it while the body arrives (the reader is fed each piece the
// HTTP client decodes), so a page is never held as text. 404, and OpenMRS's 500 with "feed does
// not exist" for a page past the end, are reported as `missing`, not as failures of the link.
#pragma once

#include "agent/feed/atom_reader.hpp"
#include "net/http_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace edgesync::feed {

struct fetched_page {
    boost::system::error_code ec;  // transport, HTTP (errc-less: see status) or parse failure
    unsigned status = 0;           // HTTP status (0 if none arrived)
    bool missing = false;          // the page does not exist
    std::string detail;            // what went wrong, for logs
    page_header header;
    std::vector<feed_entry> entries;
};

boost::asio::awaitable<fetched_page> fetch_page(net::http_client& client, std::string url, std::string authorization,
                                                reader_limits limits);

}  // namespace edgesync::feed
