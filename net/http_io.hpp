// Reading and writing HTTP/1.1 messages over a byte_stream with Beast's parsers fed by hand
// (no Asio stream concept needed, so TLS and test streams plug in unchanged).
//
// The flat_buffer passed around holds bytes read but not yet parsed (the start of a pipelined
// next message, for instance); it belongs to the connection and lives as long as it.
#pragma once

#include "net/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/message.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::net {

namespace http = boost::beast::http;

// Called before each read from the stream, e.g. to re-arm an idle deadline.
using before_read_fn = std::function<void()>;

// Reads until the parser has the whole header. Errors: the parser's (header_limit, bad_*), the
// stream's, or asio::error::eof when the stream ends before the first byte of a message.
boost::asio::awaitable<boost::system::error_code> read_header(byte_stream& s, boost::beast::flat_buffer& buf,
                                                              http::basic_parser<true>& p, const before_read_fn& before = {});
boost::asio::awaitable<boost::system::error_code> read_header(byte_stream& s, boost::beast::flat_buffer& buf,
                                                              http::basic_parser<false>& p, const before_read_fn& before = {});
// Reads the rest of the message (the body) into the parser.
boost::asio::awaitable<boost::system::error_code> read_body(byte_stream& s, boost::beast::flat_buffer& buf,
                                                            http::basic_parser<true>& p, const before_read_fn& before = {});
boost::asio::awaitable<boost::system::error_code> read_body(byte_stream& s, boost::beast::flat_buffer& buf,
                                                            http::basic_parser<false>& p, const before_read_fn& before = {});

// "HTTP/1.1 200 OK\r\n<fields>\r\n" / "GET /x HTTP/1.1\r\n<fields>\r\n".
std::string serialize_header(const http::response_header<>& h);
std::string serialize_header(const http::request_header<>& h);

// Chunked transfer coding: the framing around one non-empty chunk, and the last chunk.
std::string chunk_prefix(std::size_t size);  // "<hex>\r\n"
inline constexpr std::string_view k_chunk_suffix = "\r\n";
inline constexpr std::string_view k_last_chunk = "0\r\n\r\n";

// The items of a comma-separated list (a header such as Accept-Encoding, or no_proxy), with
// spaces removed and lower-cased; empty items are skipped.
std::vector<std::string> list_items(std::string_view list);

// True when Accept-Encoding admits gzip (present, and not "gzip;q=0").
bool accepts_gzip(std::string_view accept_encoding);
// Media types worth compressing (text, JSON, XML, atom, FHIR).
bool compressible(std::string_view content_type);

}  // namespace edgesync::net
