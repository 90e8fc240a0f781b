// HTTP/1.1 server: one coroutine per connection, keep-alive, limits on header and body size and
// on concurrent connections, a deadline on every phase, graceful stop.
//
// Threading: everything runs on the executor given at construction (a single-threaded
// io_context in the agent); the object must be used from that executor only.
// Lifetime: the server must outlive the coroutines it spawned; call stop() and let the
// io_context drain before destroying it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace edgesync::net {

namespace http = boost::beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

struct server_params {
    std::uint32_t max_connections = 64;
    std::uint64_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 16 * 1024 * 1024;
    std::chrono::milliseconds header_timeout{15'000};  // from connection or previous response to full header
    std::chrono::milliseconds body_timeout{60'000};
    std::chrono::milliseconds write_timeout{60'000};
    std::chrono::milliseconds idle_timeout{30'000};  // keep-alive wait for the next request's first byte
};

class http_server {
public:
    // Handlers run on the server's executor and must not block. The response is completed
    // (Content-Length, keep-alive) by the server.
    using handler = std::function<response(const request&)>;

    http_server(boost::asio::any_io_executor ex, server_params params, handler h);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    // Binds and listens; the accept loop starts here. Port 0 picks a free port (tests).
    boost::system::error_code listen(const boost::asio::ip::tcp::endpoint& ep);
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    // Stops accepting, lets requests in flight finish for up to `grace`, then closes every
    // remaining connection. Completes when all sessions have ended.
    boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

    std::size_t active_connections() const noexcept;

    // Implementation detail, shared with the server's coroutines (defined in the .cpp only).
    struct state;

private:
    std::shared_ptr<state> state_;  // shared with the coroutines, which may outlive a stop() call
};

}  // namespace edgesync::net
