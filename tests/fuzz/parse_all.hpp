// Beast parsers fed by hand, for the fuzz targets' reference readings:
//  - put_all(): a whole buffer (reading back what the server wrote);
//  - io_model + feed(): a script fed exactly as net/http_io.cpp feeds a parser from a
//    memory_stream (reads of at most `piece` bytes into a buffer bounded like the connection's).
//    Beast's verdicts depend on how the bytes arrive (an unterminated header, or the header limit,
//    which Beast enforces only roughly on input that arrives in pieces), so a reference that reads
//    differently would disagree with the code for reasons that are not its fault.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace edgesync::fuzz {

// Returns the bytes used; ec is the parser's error (need_more never: at the end it is put_eof's,
// or end_of_stream when nothing was put at all).
template <bool IsRequest, class Done>
std::size_t put_all(boost::beast::http::basic_parser<IsRequest>& p, std::string_view in, Done done, boost::system::error_code& ec) {
    namespace http = boost::beast::http;
    std::size_t used = 0;
    ec = {};
    while (!done()) {
        std::size_t n = 0;
        if (used < in.size()) {
            n = p.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
            used += n;
            if (ec == http::error::need_more) ec = {};
            else if (ec) break;
        }
        if (n == 0 && !done()) {  // end of the stream
            if (!p.got_some()) {  // before any byte: http_io reports the stream's own end, no put_eof
                ec = http::error::end_of_stream;
                break;
            }
            p.put_eof(ec);
            if (!ec && !done()) ec = http::error::partial_message;
            break;
        }
    }
    return used;
}

// A connection as http_io.cpp sees it: the script still to be read, the read size, and the
// connection's buffer of unparsed bytes (bounded: max_buffer).
struct io_model {
    std::string_view script;
    std::size_t piece = 1;
    std::size_t max_buffer = 0;
    std::string buffer;

    bool at_end() const noexcept { return script.empty() && buffer.empty(); }
};

// http_io.cpp's feed(), step for step, with memory_stream's reads (min of room, piece, rest).
template <bool IsRequest>
boost::system::error_code feed(boost::beast::http::basic_parser<IsRequest>& p, io_model& io, bool header_only) {
    namespace http = boost::beast::http;
    constexpr std::size_t k_read_chunk = 16 * 1024;
    auto complete = [&] { return header_only ? p.is_header_done() : p.is_done(); };
    p.eager(!header_only);
    bool any_input = p.got_some() || !io.buffer.empty();
    for (;;) {
        if (complete()) return {};
        if (!io.buffer.empty()) {
            boost::system::error_code ec;
            const std::size_t n = p.put(boost::asio::buffer(io.buffer), ec);
            io.buffer.erase(0, n);
            if (ec && ec != http::error::need_more) return ec;
            if (complete()) return {};
        }
        const std::size_t room = std::min(k_read_chunk, io.max_buffer - io.buffer.size());
        if (room == 0) return http::error::header_limit;
        if (io.script.empty()) {
            if (!any_input) return boost::asio::error::eof;
            boost::system::error_code ec;
            p.put_eof(ec);
            if (ec) return ec;
            if (complete()) return {};
            return http::error::partial_message;
        }
        const std::size_t n = std::min({room, io.piece, io.script.size()});
        io.buffer.append(io.script.substr(0, n));
        io.script.remove_prefix(n);
        any_input = true;
    }
}

}  // namespace edgesync::fuzz
