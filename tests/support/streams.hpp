// Test streams for net/: a scripted in-memory stream (input given up front, delivered in pieces
// split where the test says; output collected) and a fault-injecting wrapper around any stream
// that fails the Nth operation counted over every stream sharing one fault_plan.
//
// Both run on the executor they are given and complete every operation without real waiting
// (the scripted stream reports EOF when its input is used up), so a test that loops over every
// split offset or every failure point stays fast.
#pragma once

#include "net/http_client.hpp"
#include "net/stream.hpp"

#include <boost/asio/error.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace edgesync::test {

class scripted_stream final : public net::byte_stream {
public:
    scripted_stream(boost::asio::any_io_executor ex, std::string input);

    // read_some never returns bytes across one of these offsets (so a message arrives in pieces
    // that end exactly there). Each read returns at most `max_read` bytes as well.
    void split_at(std::vector<std::size_t> offsets) { splits_ = std::move(offsets); }
    void max_read(std::size_t n) { max_read_ = n; }

    // What the code under test wrote, in order.
    const std::string& written() const noexcept { return *written_; }
    // Shared view of the written bytes that outlives the stream (it is usually moved into the
    // code under test and destroyed there).
    std::shared_ptr<const std::string> written_handle() const { return written_; }

    boost::asio::awaitable<net::io_result> read_some(boost::asio::mutable_buffer buf) override;
    boost::asio::awaitable<net::io_result> write(std::span<const boost::asio::const_buffer> buffers) override;
    boost::asio::awaitable<boost::system::error_code> shutdown() override;
    void close() noexcept override { open_ = false; }
    bool is_open() const noexcept override { return open_; }
    void expires_after(std::chrono::steady_clock::duration) override {}
    void expires_never() override {}
    boost::asio::any_io_executor get_executor() override { return ex_; }
    std::string peer() const override { return "scripted"; }

private:
    boost::asio::any_io_executor ex_;
    std::string input_;
    std::size_t pos_ = 0;
    std::vector<std::size_t> splits_;
    std::size_t max_read_ = 64 * 1024;
    std::shared_ptr<std::string> written_ = std::make_shared<std::string>();
    bool open_ = true;
};

// Which operation fails, counted over all streams sharing the plan: operation number
// `fail_at` (0-based, reads and writes alike) fails with `error`, and with persistent set every
// later one too. ops counts what was attempted, so a test can loop until a run completes without
// reaching its failure point.
struct fault_plan {
    std::size_t fail_at = static_cast<std::size_t>(-1);
    bool persistent = false;
    boost::system::error_code error = boost::asio::error::connection_reset;
    std::size_t ops = 0;
    std::size_t injected = 0;

    bool should_fail() {
        const std::size_t n = ops++;
        const bool fail = n == fail_at || (persistent && n > fail_at);
        if (fail) ++injected;
        return fail;
    }
};

class faulty_stream final : public net::byte_stream {
public:
    faulty_stream(std::unique_ptr<net::byte_stream> inner, std::shared_ptr<fault_plan> plan)
        : inner_(std::move(inner)), plan_(std::move(plan)) {}

    boost::asio::awaitable<net::io_result> read_some(boost::asio::mutable_buffer buf) override;
    boost::asio::awaitable<net::io_result> write(std::span<const boost::asio::const_buffer> buffers) override;
    boost::asio::awaitable<boost::system::error_code> shutdown() override { return inner_->shutdown(); }
    void close() noexcept override { inner_->close(); }
    bool is_open() const noexcept override { return inner_->is_open(); }
    void expires_after(std::chrono::steady_clock::duration d) override { inner_->expires_after(d); }
    void expires_never() override { inner_->expires_never(); }
    boost::asio::any_io_executor get_executor() override { return inner_->get_executor(); }
    std::string peer() const override { return inner_->peer(); }

private:
    std::unique_ptr<net::byte_stream> inner_;
    std::shared_ptr<fault_plan> plan_;
};

// A client connector: real TCP (loopback), wrapped in a faulty_stream following `plan`.
net::connector faulty_connector(boost::asio::any_io_executor ex, std::shared_ptr<fault_plan> plan);

// A "TLS" wrapper that leaves the stream as it is, for tests of https-only paths (CONNECT
// tunnels) that are about the HTTP layer, not the encryption.
net::tls_wrapper passthrough_tls();

}  // namespace edgesync::test
