// feed::errc — every way reading an atom feed page fails. Each limit has its own name, and so
// does each refused XML construct, so a log line says what the parent sent that we would not take.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace edgesync::feed {

enum class errc {
    malformed_xml = 1,   // not well-formed XML (expat's message and position in the detail)
    truncated,           // the body ended inside the document
    not_an_atom_feed,    // the root element is not Atom's <feed>
    dtd_not_allowed,     // a <!DOCTYPE>: Atom has none, and DTDs carry entity tricks
    entity_expansion,    // expat's billion-laughs protection stopped an amplification attack
    too_deep,            // element nesting beyond limits.max_depth
    text_too_large,      // one element's text, one attribute value or one token beyond max_text_bytes
    too_many_entries,    // more than limits.max_entries <entry> elements on one page
    bad_entry_content,   // entry content is neither a JSON object of string links nor one URL
};

const boost::system::error_category& feed_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), feed_category()}; }

}  // namespace edgesync::feed

template <>
struct boost::system::is_error_code_enum<edgesync::feed::errc> : std::true_type {};
