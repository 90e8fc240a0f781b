// HTTP/1.1 client for talking to the parent (and to a local OpenMRS): a bounded pool of
// kept-alive connections per origin, a deadline on every phase, bounded redirects that never
// carry credentials to another origin, gzip both ways, an HTTP proxy (CONNECT for https), and
// response bodies delivered in pieces as they arrive so a feed or Bundle is parsed while it
// streams in. A body that ends early is an error, never a short success.
//
// Threading: one executor; an http_client is used from that executor only. Many requests may run
// concurrently (up to max_connections per origin; more wait for a free connection).
// Lifetime: the client must outlive the requests it runs.
#pragma once

#include "net/stream.hpp"
#include "net/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace edgesync::net {

namespace http = boost::beast::http;

struct client_params {
    std::chrono::milliseconds resolve_timeout{10'000};
    std::chrono::milliseconds connect_timeout{15'000};
    std::chrono::milliseconds tls_timeout{15'000};
    std::chrono::milliseconds write_timeout{30'000};       // sending the request
    std::chrono::milliseconds first_byte_timeout{60'000};  // request sent -> first response byte
    std::chrono::milliseconds body_idle_timeout{30'000};   // longest silence after that
    std::chrono::milliseconds keep_alive_idle{30'000};     // pooled connections unused longer are closed
    std::uint32_t max_connections_per_origin = 4;
    std::uint32_t max_redirects = 3;
    std::uint64_t max_header_bytes = 64 * 1024;
    std::uint64_t max_body_bytes = 64 * 1024 * 1024;  // after gzip decoding
    bool gzip_requests = false;                       // compress request bodies of 1 KiB or more
    std::string proxy;          // http://host:port; empty: https_proxy/http_proxy/no_proxy from the environment
    bool use_env_proxy = true;  // false: never read the environment (tests)
    std::string user_agent = "edgesync";
};

struct client_request {
    http::verb method = http::verb::get;
    std::string url;  // absolute http(s) URL
    http::fields headers;
    std::string body;
    // The Authorization header value for the request's own origin. It is sent to that origin
    // only: a redirect to any other origin drops it.
    std::string authorization;
};

struct client_response {
    unsigned status = 0;
    http::fields headers;
    std::string body;       // decoded (gzip removed)
    std::string final_url;  // after redirects
};

struct response_head {
    unsigned status;
    const http::fields& headers;
    std::string_view final_url;
};
// Streaming callbacks. Returning an error aborts the request (the connection is then closed,
// never reused) and the error is what request_stream() returns.
using head_handler = std::function<boost::system::error_code(const response_head&)>;
using body_handler = std::function<boost::system::error_code(std::string_view)>;

// Turns a connected TCP stream into a TLS one for `target` (handshake included); see net/tls.hpp.
using tls_wrapper = std::function<boost::asio::awaitable<std::unique_ptr<byte_stream>>(
    std::unique_ptr<byte_stream>, const url& target, boost::system::error_code&)>;

// Opens the transport to host:port (the peer or the proxy). The default is connect_tcp() with the
// resolve and connect deadlines; tests substitute scripted or fault-injecting streams.
using connector = std::function<boost::asio::awaitable<std::unique_ptr<byte_stream>>(
    std::string host, std::uint16_t port, boost::system::error_code&)>;

class http_client {
public:
    // `tls` may be empty: https URLs then fail with errc::tls_bad_config. `connect` empty: TCP.
    http_client(boost::asio::any_io_executor ex, client_params params, tls_wrapper tls = {}, connector connect = {});
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // The whole response, body bounded by max_body_bytes.
    boost::asio::awaitable<boost::system::result<client_response>> request(client_request req);

    // Response head to on_head (after redirects), then the decoded body piece by piece to on_body.
    boost::asio::awaitable<boost::system::error_code> request_stream(client_request req, head_handler on_head,
                                                                     body_handler on_body);

    // Closes every pooled idle connection (e.g. before a long sleep between sync runs).
    void close_idle();

    // Connections currently open (idle and busy), over all origins. For tests and status.
    std::size_t open_connections() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace edgesync::net
