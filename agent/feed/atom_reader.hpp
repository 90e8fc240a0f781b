// A streaming reader of one atom feed page (atomfeed-protocol.md §1.3), sans-I/O: the HTTP body
// is handed in as it arrives (feed()), each <entry> is delivered to the handler the moment its
// end tag is parsed, and memory is bounded by one entry plus the limits — never by the page.
//
// Accepts what OpenMRS (openmrs-module-atomfeed) and Bahmni publishers write, and any Atom 1.0
// page: elements in any order, unknown elements and other namespaces ignored, CDATA or escaped
// content. Refuses DTDs outright (Atom has none; they are where entity tricks live), so the only
// entities are XML's five; expat's billion-laughs protection stays on regardless.
//
// Errors are sticky: after the first, feed() and finish() return it again, and no further entry is
// delivered. error_detail() says where (line, column) and what.
//
// Thread-safety: none; one reader per page, used by one coroutine.
#pragma once

#include "agent/feed/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::feed {

struct reader_limits {
    std::uint32_t max_depth = 32;
    std::uint64_t max_text_bytes = 1024 * 1024;  // one element's text, one attribute, one token
    std::uint32_t max_entries = 1000;
};

// Feed-level facts of a page. Complete after finish(); the links are usually known before the
// first entry (publishers write them first) but a reader must not rely on it.
struct page_header {
    std::string title;
    std::string id;       // e.g. "bec795b1-3d17-451d-b43e-a094019f6984+36"
    std::string updated;  // as written
    std::string self, via, prev_archive, next_archive;  // absolute hrefs as written
};

struct feed_entry {
    std::string id;  // "tag:atomfeed.ict4h.org:<event uuid>"
    std::string title;
    std::vector<std::string> categories;  // every <category term>, in document order
    std::string updated;
    std::string published;
    std::string content_type;
    std::string content;  // the text (CDATA unwrapped, entities resolved), trimmed
};

// The action of an entry: the first category that names one (CREATED, UPDATED, VOIDED, UNVOIDED,
// RETIRED, UNRETIRED, DELETED), else "" (Bahmni entries carry none: a change of unknown kind).
std::string_view entry_action(const feed_entry& e) noexcept;
// The feed category: the first category that is not an action ("" if none).
std::string_view entry_category(const feed_entry& e) noexcept;
// The event uuid: the id after the last ':' ("tag:atomfeed.ict4h.org:<uuid>"), or the whole id.
std::string_view entry_event_uuid(const feed_entry& e) noexcept;

class atom_reader {
public:
    using entry_handler = std::function<void(feed_entry&&)>;

    atom_reader(reader_limits limits, entry_handler on_entry);
    ~atom_reader();
    atom_reader(const atom_reader&) = delete;
    atom_reader& operator=(const atom_reader&) = delete;

    // Parses the next bytes of the body (any split is fine, down to one byte).
    boost::system::error_code feed(std::string_view bytes);
    // The body ended: truncated unless the document is complete.
    boost::system::error_code finish();

    const page_header& header() const noexcept;
    std::size_t entries() const noexcept;  // delivered so far
    const std::string& error_detail() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// Parses a whole page at once (tests, small pages): the header and every entry, or the error.
struct parsed_page {
    boost::system::error_code error;
    std::string detail;
    page_header header;
    std::vector<feed_entry> entries;
};
parsed_page parse_page(std::string_view body, reader_limits limits = {});

}  // namespace edgesync::feed
