// A loopback TCP server that answers with scripted bytes, for client tests that need a peer
// misbehaving in a precise way (a body cut short, a stall after the header, a bogus status
// line), and a minimal CONNECT proxy. Everything runs on the test's io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace edgesync::test {

struct canned_reply {
    enum class then : std::uint8_t { close, stall, keep_open };
    std::string bytes;  // written as they are (in one write unless split_every is set)
    // close: close after writing; stall: keep the connection open and read (and drop) until the
    // client closes; keep_open: read the next request and answer it with the next reply.
    then after = then::close;
    std::chrono::milliseconds delay{0};  // before writing anything
    std::size_t split_every = 0;         // when set: write this many bytes, wait `pause`, repeat
    std::chrono::milliseconds pause{0};
};

class canned_server {
public:
    explicit canned_server(boost::asio::io_context& ioc);
    ~canned_server();

    // Replies are used in order, one per request read (a keep_open connection reads the next
    // request and takes the next reply). With none left, the connection is closed.
    void push(canned_reply r) { state_->replies.push_back(std::move(r)); }
    std::uint16_t port() const noexcept { return state_->port; }
    // Every request received (header and body, raw), in order.
    const std::vector<std::string>& requests() const noexcept { return state_->requests; }
    std::size_t connections() const noexcept { return state_->connections; }

    struct state {
        boost::asio::ip::tcp::acceptor acceptor;
        std::deque<canned_reply> replies;
        std::vector<std::string> requests;
        std::size_t connections = 0;
        std::uint16_t port = 0;
        std::vector<std::weak_ptr<boost::asio::ip::tcp::socket>> sockets;
        explicit state(boost::asio::io_context& ioc) : acceptor(ioc) {}
    };

private:
    std::shared_ptr<state> state_;
};

// An HTTP proxy that understands CONNECT only: it answers "200 Connection established" and then
// relays bytes both ways. With refuse set it answers 403 instead. Records each CONNECT line.
class connect_proxy {
public:
    explicit connect_proxy(boost::asio::io_context& ioc, bool refuse = false);
    ~connect_proxy();
    std::uint16_t port() const noexcept { return state_->port; }
    const std::vector<std::string>& request_lines() const noexcept { return state_->lines; }

    struct state {
        boost::asio::ip::tcp::acceptor acceptor;
        std::vector<std::string> lines;
        std::uint16_t port = 0;
        bool refuse = false;
        std::vector<std::weak_ptr<boost::asio::ip::tcp::socket>> sockets;
        explicit state(boost::asio::io_context& ioc) : acceptor(ioc) {}
    };

private:
    std::shared_ptr<state> state_;
};

// A raw HTTP/1.1 response taken apart: the status, the head (status line and fields, ending in
// CRLF) and the body with chunked framing removed.
struct raw_response {
    int status = 0;
    std::string head, body;
    // A field's value as sent ("" when absent); the name is matched as written.
    std::string header(const std::string& name) const;
};
// Throws std::runtime_error when `raw` is not a complete response.
raw_response parse_raw_response(const std::string& raw);

// Connects, sends `bytes` as they are, and returns everything the peer sends until it closes.
boost::asio::awaitable<std::string> raw_exchange(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep, std::string bytes);

}  // namespace edgesync::test
