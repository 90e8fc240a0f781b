// An in-memory net::byte_stream for the fuzz targets: reads hand out a script in pieces of at most
// `piece` bytes (chosen by the input, so message and token boundaries land anywhere), then EOF;
// writes are collected. Every operation completes at once and deadlines are ignored: there is no
// waiting, so one input is one short run of the io_context.
#pragma once

#include "net/stream.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace edgesync::fuzz {

class memory_stream final : public net::byte_stream {
public:
    memory_stream(boost::asio::any_io_executor ex, std::string script, std::size_t piece, std::shared_ptr<std::string> written)
        : ex_(std::move(ex)), script_(std::move(script)), piece_(std::max<std::size_t>(piece, 1)), written_(std::move(written)) {}

    boost::asio::awaitable<net::io_result> read_some(boost::asio::mutable_buffer buf) override {
        if (!open_) co_return net::io_result{boost::asio::error::operation_aborted, 0};
        if (pos_ == script_.size()) co_return net::io_result{boost::asio::error::eof, 0};
        const std::size_t n = std::min({buf.size(), piece_, script_.size() - pos_});
        std::memcpy(buf.data(), script_.data() + pos_, n);
        pos_ += n;
        co_return net::io_result{{}, n};
    }

    boost::asio::awaitable<net::io_result> write(std::span<const boost::asio::const_buffer> buffers) override {
        if (!open_) co_return net::io_result{boost::asio::error::operation_aborted, 0};
        std::size_t n = 0;
        for (const auto& b : buffers) {
            written_->append(static_cast<const char*>(b.data()), b.size());
            n += b.size();
        }
        co_return net::io_result{{}, n};
    }

    boost::asio::awaitable<boost::system::error_code> shutdown() override { co_return boost::system::error_code{}; }
    void close() noexcept override { open_ = false; }
    bool is_open() const noexcept override { return open_; }
    void expires_after(std::chrono::steady_clock::duration) override {}
    void expires_never() override {}
    boost::asio::any_io_executor get_executor() override { return ex_; }
    std::string peer() const override { return "fuzz"; }

    std::size_t unread() const noexcept { return script_.size() - pos_; }

private:
    boost::asio::any_io_executor ex_;
    std::string script_;
    std::size_t pos_ = 0;
    std::size_t piece_;
    std::shared_ptr<std::string> written_;
    bool open_ = true;
};

}  // namespace edgesync::fuzz
