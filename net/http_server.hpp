// HTTP/1.1 server: one coroutine per connection, keep-alive, routing by method and path pattern,
// authentication and roles per route, limits on header bytes, body bytes (also after gzip
// decoding) and concurrent connections, a deadline on every phase, gzip responses when asked,
// streamed (chunked) response bodies, and graceful stop.
//
// Threading: everything runs on the executor given at construction (the agent's single-threaded
// io_context); the object must be used from that executor only.
// Lifetime: the router and authenticator are shared and must not change after listen(). Call
// stop() and let the io_context drain before destroying the server.
#pragma once

#include "net/auth.hpp"
#include "net/router.hpp"
#include "net/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace edgesync::net {

struct server_params {
    std::uint32_t max_connections = 64;
    std::uint64_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 16 * 1024 * 1024;  // also bounds a gzip request body once decoded
    std::chrono::milliseconds header_timeout{15'000};  // first byte of a request to the end of its header
    std::chrono::milliseconds body_timeout{60'000};
    std::chrono::milliseconds handler_timeout{60'000};
    std::chrono::milliseconds write_timeout{60'000};   // per response write (per chunk when streamed)
    std::chrono::milliseconds idle_timeout{30'000};    // keep-alive wait for a request's first byte
    std::size_t gzip_min_bytes = 1024;                 // smaller complete bodies are sent as they are
    // zlib level 4, not the default 6: on FHIR Bundles (tests/bench) it compresses 1.4% less
    // and takes 30% less of the serving node's CPU (sync_bench: 63 -> 44 us per resource served).
    int gzip_level = 4;
    // Told of every request answered (on the server's executor; must not block): for metrics.
    struct request_done {
        std::string_view path;            // without the query
        unsigned status = 0;
        std::uint64_t bytes_in = 0;       // the request body as received (before gzip decoding)
        std::uint64_t bytes_out = 0;      // the response body as sent
        std::chrono::nanoseconds elapsed{0};
    };
    std::function<void(const request_done&)> on_request;
};

// Turns an accepted TCP connection into the stream HTTP runs over (TLS handshake, for one). Runs
// under the header deadline. Returning null with ec set drops the connection.
using connection_wrapper = std::function<boost::asio::awaitable<std::unique_ptr<byte_stream>>(
    std::unique_ptr<byte_stream>, boost::system::error_code&)>;

class http_server {
public:
    // `auth` may be null when every route is public (tests).
    http_server(boost::asio::any_io_executor ex, server_params params, std::shared_ptr<const router> routes,
                std::shared_ptr<authenticator> auth, connection_wrapper wrap = {});
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    // Binds and listens; the accept loop starts here. Port 0 picks a free port (tests).
    boost::system::error_code listen(const boost::asio::ip::tcp::endpoint& ep);
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    // Stops accepting, closes idle connections, lets requests in flight finish for up to
    // `grace`, then closes the rest. Completes when every session has ended.
    boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

    std::size_t active_connections() const noexcept;
    // Requests that passed routing and authorization and reached their handler (metrics, tests).
    std::uint64_t requests_handled() const noexcept;

    // Runs one connection on a stream the caller made (tests: scripted and fault-injecting
    // streams), exactly as an accepted one, wrapper included. Completes when the session ends.
    boost::asio::awaitable<void> serve(std::unique_ptr<byte_stream> s);

    // Implementation detail, shared with the server's coroutines (defined in the .cpp only).
    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace edgesync::net
