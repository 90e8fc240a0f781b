// byte_stream: the one interface the HTTP client and server read and write through. Plain TCP,
// TLS over any byte_stream, and the tests' scripted and fault-injecting streams all implement it,
// so every HTTP code path can be driven through a failing stream without sockets.
//
// Threading: a stream is used from one executor only, with at most one read and one write
// outstanding at a time (the HTTP code never overlaps two reads or two writes).
// Deadlines: expires_after() arms one deadline covering every operation until it is re-armed or
// cleared; when it passes, the pending operation fails with boost::beast::error::timeout and the
// stream is unusable. The HTTP layer turns that into the errc of the phase it was in.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace edgesync::net {

struct io_result {
    boost::system::error_code ec;
    std::size_t bytes = 0;
};

class byte_stream {
public:
    virtual ~byte_stream() = default;

    // At least one byte, or an error (boost::asio::error::eof at a clean end of stream).
    virtual boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer buf) = 0;
    // All of `buffers`, or an error. `buffers` must stay valid until the write completes.
    virtual boost::asio::awaitable<io_result> write(std::span<const boost::asio::const_buffer> buffers) = 0;
    // Orderly close of the sending side (TLS close_notify, then TCP FIN). Best effort.
    virtual boost::asio::awaitable<boost::system::error_code> shutdown() = 0;
    // Abrupt close; outstanding operations complete with operation_aborted.
    virtual void close() noexcept = 0;
    virtual bool is_open() const noexcept = 0;

    virtual void expires_after(std::chrono::steady_clock::duration d) = 0;
    virtual void expires_never() = 0;

    virtual boost::asio::any_io_executor get_executor() = 0;
    // "127.0.0.1:54321", for logs. Empty when unknown.
    virtual std::string peer() const = 0;
};

// Plain TCP, with Beast's tcp_stream providing the deadline.
class tcp_byte_stream final : public byte_stream {
public:
    explicit tcp_byte_stream(boost::asio::ip::tcp::socket socket);
    explicit tcp_byte_stream(boost::beast::tcp_stream stream);

    boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer buf) override;
    boost::asio::awaitable<io_result> write(std::span<const boost::asio::const_buffer> buffers) override;
    boost::asio::awaitable<boost::system::error_code> shutdown() override;
    void close() noexcept override;
    bool is_open() const noexcept override;
    void expires_after(std::chrono::steady_clock::duration d) override;
    void expires_never() override;
    boost::asio::any_io_executor get_executor() override;
    std::string peer() const override;

    boost::beast::tcp_stream& lowest_layer() noexcept { return stream_; }

private:
    boost::beast::tcp_stream stream_;
};

// Resolves `host` and connects to the first address that answers. Errors are named:
// errc::resolve_timeout / errc::connect_timeout for the deadlines, the system error otherwise.
// Names are resolved through /etc/hosts and DNS only (static glibc; see README).
boost::asio::awaitable<std::unique_ptr<tcp_byte_stream>> connect_tcp(
    boost::asio::any_io_executor ex, std::string host, std::uint16_t port, std::chrono::milliseconds resolve_timeout,
    std::chrono::milliseconds connect_timeout, boost::system::error_code& ec);

}  // namespace edgesync::net
