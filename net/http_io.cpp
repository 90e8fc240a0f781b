#include "net/http_io.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace edgesync::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

constexpr std::size_t k_read_chunk = 16 * 1024;

template <bool IsRequest>
asio::awaitable<error_code> feed(byte_stream& s, beast::flat_buffer& buf, http::basic_parser<IsRequest>& p, bool header_only,
                                 const before_read_fn& before) {
    auto complete = [&] { return header_only ? p.is_header_done() : p.is_done(); };
    p.eager(!header_only);
    bool any_input = p.got_some() || buf.size() > 0;
    for (;;) {
        // Checked first: a message without a body is complete once its header is, and the
        // buffer may already hold the next pipelined message, which this parser must not see.
        if (complete()) co_return error_code{};
        if (buf.size() > 0) {
            error_code ec;
            std::size_t n = p.put(buf.data(), ec);
            buf.consume(n);
            if (ec && ec != http::error::need_more) co_return ec;
            if (complete()) co_return error_code{};
            // need_more with a full buffer cannot happen: the header limit is checked by put()
            // before the buffer's capacity is reached (see the buffer sizes the callers choose).
        }
        const std::size_t room = std::min(k_read_chunk, buf.max_size() - buf.size());
        if (room == 0) co_return error_code(http::error::header_limit);
        if (before) before();
        auto r = co_await s.read_some(buf.prepare(room));
        if (r.ec == asio::error::eof || r.ec == beast::http::error::end_of_stream) {
            if (!any_input) co_return error_code(asio::error::eof);  // clean end between messages
            error_code ec;
            p.put_eof(ec);
            if (ec) co_return ec;  // partial_message
            if (complete()) co_return error_code{};
            co_return error_code(http::error::partial_message);
        }
        if (r.ec) co_return r.ec;
        buf.commit(r.bytes);
        any_input = true;
    }
}

template <class Header>
std::string serialize_fields(std::string start_line, const Header& h) {
    std::string out = std::move(start_line);
    for (const auto& f : h) {
        out.append(f.name_string().data(), f.name_string().size());
        out += ": ";
        out.append(f.value().data(), f.value().size());
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

std::string version_text(unsigned v) { return "HTTP/" + std::to_string(v / 10) + "." + std::to_string(v % 10); }

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

asio::awaitable<error_code> read_header(byte_stream& s, beast::flat_buffer& buf, http::basic_parser<true>& p,
                                        const before_read_fn& before) {
    return feed(s, buf, p, true, before);
}
asio::awaitable<error_code> read_header(byte_stream& s, beast::flat_buffer& buf, http::basic_parser<false>& p,
                                        const before_read_fn& before) {
    return feed(s, buf, p, true, before);
}
asio::awaitable<error_code> read_body(byte_stream& s, beast::flat_buffer& buf, http::basic_parser<true>& p,
                                      const before_read_fn& before) {
    return feed(s, buf, p, false, before);
}
asio::awaitable<error_code> read_body(byte_stream& s, beast::flat_buffer& buf, http::basic_parser<false>& p,
                                      const before_read_fn& before) {
    return feed(s, buf, p, false, before);
}

std::string serialize_header(const http::response_header<>& h) {
    std::string reason(h.reason());
    if (reason.empty()) reason = std::string(http::obsolete_reason(h.result()));
    return serialize_fields(version_text(h.version()) + " " + std::to_string(h.result_int()) + " " + reason + "\r\n", h);
}

std::string serialize_header(const http::request_header<>& h) {
    return serialize_fields(std::string(h.method_string()) + " " + std::string(h.target()) + " " + version_text(h.version()) + "\r\n", h);
}

std::string chunk_prefix(std::size_t size) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zx\r\n", size);
    return buf;
}

std::vector<std::string> list_items(std::string_view list) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= list.size()) {
        const auto comma = list.find(',', pos);
        std::string item = lower(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        pos = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
        item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
        if (!item.empty()) out.push_back(std::move(item));
    }
    return out;
}

bool accepts_gzip(std::string_view accept_encoding) {
    // Codings with optional ";q=" weights; "*" covers gzip too.
    for (const auto& item : list_items(accept_encoding)) {
        auto semi = item.find(';');
        std::string coding = item.substr(0, semi);
        if (coding != "gzip" && coding != "*") continue;
        if (semi != std::string::npos) {
            auto q = item.find("q=", semi);
            if (q != std::string::npos) {
                std::string qv = item.substr(q + 2);
                if (!qv.empty() && std::all_of(qv.begin(), qv.end(), [](char c) { return c == '0' || c == '.'; })) return false;
            }
        }
        return true;
    }
    return false;
}

bool compressible(std::string_view content_type) {
    std::string t = lower(content_type.substr(0, content_type.find(';')));
    return t.rfind("text/", 0) == 0 || t.find("json") != std::string::npos || t.find("xml") != std::string::npos ||
           t == "application/javascript";
}

}  // namespace edgesync::net
