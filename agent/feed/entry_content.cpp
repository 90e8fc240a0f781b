#include "agent/feed/entry_content.hpp"

#include "agent/feed/error.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace edgesync::feed {

std::string_view entry_links::link_for(std::string_view client) const {
    if (!single.empty()) return single;
    auto it = named.find(std::string(client));
    return it == named.end() ? std::string_view() : std::string_view(it->second);
}

boost::system::result<entry_links> parse_entry_content(std::string_view content) {
    entry_links out;
    if (content.empty()) return make_error_code(errc::bad_entry_content);
    if (content.front() == '{') {
        boost::system::error_code ec;
        boost::json::parse_options opts;
        opts.max_depth = 4;
        const boost::json::value v = boost::json::parse(content, ec, {}, opts);
        if (ec || !v.is_object() || v.as_object().empty()) return make_error_code(errc::bad_entry_content);
        for (const auto& [k, link] : v.as_object()) {
            if (!link.is_string() || link.as_string().empty()) return make_error_code(errc::bad_entry_content);
            out.named.emplace(std::string(k), std::string(link.as_string()));
        }
        return out;
    }
    for (char c : content)
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '<' || c == '>')
            return make_error_code(errc::bad_entry_content);
    if (content.front() != '/' && content.rfind("http://", 0) != 0 && content.rfind("https://", 0) != 0)
        return make_error_code(errc::bad_entry_content);
    out.single = std::string(content);
    return out;
}

}  // namespace edgesync::feed
