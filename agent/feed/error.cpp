#include "agent/feed/error.hpp"

#include <string>

namespace edgesync::feed {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "edgesync.feed"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::malformed_xml: return "feed: malformed XML";
            case errc::truncated: return "feed: page ends before the document does";
            case errc::not_an_atom_feed: return "feed: not an Atom feed";
            case errc::dtd_not_allowed: return "feed: document type declarations are not accepted";
            case errc::entity_expansion: return "feed: entity expansion attack refused";
            case errc::too_deep: return "feed: elements nested too deeply";
            case errc::text_too_large: return "feed: text or attribute exceeds the size limit";
            case errc::too_many_entries: return "feed: too many entries on one page";
            case errc::bad_entry_content: return "feed: entry content is not a link map or a URL";
        }
        return "feed: unknown error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& feed_category() noexcept {
    static const category c;
    return c;
}

}  // namespace edgesync::feed
