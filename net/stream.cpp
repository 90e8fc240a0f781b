#include "net/stream.hpp"

#include "net/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

namespace edgesync::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto k_use = asio::as_tuple(asio::use_awaitable);
}

tcp_byte_stream::tcp_byte_stream(tcp::socket socket) : stream_(std::move(socket)) {}
tcp_byte_stream::tcp_byte_stream(beast::tcp_stream stream) : stream_(std::move(stream)) {}

asio::awaitable<io_result> tcp_byte_stream::read_some(asio::mutable_buffer buf) {
    auto [ec, n] = co_await stream_.async_read_some(buf, k_use);
    co_return io_result{ec, n};
}

asio::awaitable<io_result> tcp_byte_stream::write(std::span<const asio::const_buffer> buffers) {
    auto [ec, n] = co_await asio::async_write(stream_, buffers, k_use);
    co_return io_result{ec, n};
}

asio::awaitable<error_code> tcp_byte_stream::shutdown() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return ec;
}

void tcp_byte_stream::close() noexcept {
    error_code ignored;
    stream_.socket().close(ignored);
}

bool tcp_byte_stream::is_open() const noexcept { return stream_.socket().is_open(); }
void tcp_byte_stream::expires_after(std::chrono::steady_clock::duration d) { stream_.expires_after(d); }
void tcp_byte_stream::expires_never() { stream_.expires_never(); }
asio::any_io_executor tcp_byte_stream::get_executor() { return stream_.get_executor(); }

std::string tcp_byte_stream::peer() const {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (ec) return {};
    auto a = ep.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

asio::awaitable<std::unique_ptr<tcp_byte_stream>> connect_tcp(asio::any_io_executor ex, std::string host,
                                                              std::uint16_t port, std::chrono::milliseconds resolve_timeout,
                                                              std::chrono::milliseconds connect_timeout, error_code& ec) {
    // Resolution runs on Asio's resolver thread; the deadline cancels it (the lookup itself may
    // finish later in the background, its result ignored).
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, resolve_timeout);
    bool timed_out = false;
    timer.async_wait([&](error_code t) {
        if (!t) {
            timed_out = true;
            resolver.cancel();
        }
    });
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), k_use);
    timer.cancel();
    if (timed_out) {
        ec = errc::resolve_timeout;
        co_return nullptr;
    }
    if (rec) {
        ec = rec;
        co_return nullptr;
    }
    beast::tcp_stream stream(ex);
    stream.expires_after(connect_timeout);
    auto [cec, ep] = co_await stream.async_connect(results, k_use);
    if (cec) {
        ec = cec == beast::error::timeout ? error_code(errc::connect_timeout) : cec;
        co_return nullptr;
    }
    stream.expires_never();
    stream.socket().set_option(tcp::no_delay(true), cec);
    ec.clear();
    co_return std::make_unique<tcp_byte_stream>(std::move(stream));
}

}  // namespace edgesync::net
