// libFuzzer target: the atom feed reader and entry-content parser on arbitrary bytes, fed in two
// pieces split where the first input byte says (so token boundaries move), with small limits so
// the limit paths are reached. Must never crash, hang, leak or trip a sanitizer; every failure
// must be one of feed::errc's names.
#include "agent/feed/atom_reader.hpp"
#include "agent/feed/entry_content.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace edgesync;
    if (size == 0) return 0;
    const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = all.empty() ? 0 : data[0] % (all.size() + 1);
    feed::reader_limits limits;
    limits.max_depth = 16;
    limits.max_text_bytes = 4096;
    limits.max_entries = 64;
    std::size_t entries = 0;
    feed::atom_reader r(limits, [&](feed::feed_entry&& e) {
        ++entries;
        (void)feed::entry_action(e);
        (void)feed::entry_category(e);
        (void)feed::entry_event_uuid(e);
        auto links = feed::parse_entry_content(e.content);
        if (links) (void)links->link_for("fhir");
    });
    auto ec = r.feed(all.substr(0, cut));
    if (!ec) ec = r.feed(all.substr(cut));
    if (!ec) ec = r.finish();
    if (ec && ec.category() != feed::feed_category()) std::abort();  // an unnamed failure
    if (entries > limits.max_entries) std::abort();
    return 0;
}
