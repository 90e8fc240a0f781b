// One HTTP/1.1 request to 127.0.0.1, for the benchmarks that drive node processes from outside
// (seeding them, asking /readyz): its status line, "" when nothing listens or the answer is cut off.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <string>

namespace edgesync::bench {

// `headers`: extra header lines, each ending in \r\n. A body gets its Content-Length.
inline std::string loopback_status(std::uint16_t port, const std::string& method, const std::string& path, const std::string& headers = "",
                                   const std::string& body = "") {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return "";
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers;
    if (!body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    boost::asio::write(s, boost::asio::buffer(req), ec);
    if (ec) return "";
    std::string out;
    char buf[8192];
    for (std::size_t n; (n = s.read_some(boost::asio::buffer(buf), ec)) > 0 || !ec;) out.append(buf, n);
    const auto eol = out.find("\r\n");
    return eol == std::string::npos ? "" : out.substr(0, eol);
}

}  // namespace edgesync::bench
