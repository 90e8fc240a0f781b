#include "support/streams.hpp"

#include <algorithm>
#include <cstring>

namespace edgesync::test {
namespace asio = boost::asio;
using boost::system::error_code;

scripted_stream::scripted_stream(asio::any_io_executor ex, std::string input) : ex_(std::move(ex)), input_(std::move(input)) {}

asio::awaitable<net::io_result> scripted_stream::read_some(asio::mutable_buffer buf) {
    if (!open_) co_return net::io_result{asio::error::bad_descriptor, 0};
    if (pos_ >= input_.size()) co_return net::io_result{asio::error::eof, 0};
    std::size_t end = std::min({input_.size(), pos_ + buf.size(), pos_ + max_read_});
    for (std::size_t s : splits_)
        if (s > pos_ && s < end) end = s;
    const std::size_t n = end - pos_;
    std::memcpy(buf.data(), input_.data() + pos_, n);
    pos_ = end;
    co_return net::io_result{{}, n};
}

asio::awaitable<net::io_result> scripted_stream::write(std::span<const asio::const_buffer> buffers) {
    if (!open_) co_return net::io_result{asio::error::bad_descriptor, 0};
    std::size_t n = 0;
    for (const auto& b : buffers) {
        written_->append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
    }
    co_return net::io_result{{}, n};
}

asio::awaitable<error_code> scripted_stream::shutdown() { co_return error_code{}; }

asio::awaitable<net::io_result> faulty_stream::read_some(asio::mutable_buffer buf) {
    if (plan_->should_fail()) {
        inner_->close();
        co_return net::io_result{plan_->error, 0};
    }
    co_return co_await inner_->read_some(buf);
}

asio::awaitable<net::io_result> faulty_stream::write(std::span<const asio::const_buffer> buffers) {
    if (plan_->should_fail()) {
        inner_->close();
        co_return net::io_result{plan_->error, 0};
    }
    co_return co_await inner_->write(buffers);
}

namespace {
asio::awaitable<std::unique_ptr<net::byte_stream>> faulty_connect(asio::any_io_executor ex, std::string host, std::uint16_t port,
                                                                  std::shared_ptr<fault_plan> plan, error_code& ec) {
    auto tcp = co_await net::connect_tcp(ex, std::move(host), port, std::chrono::seconds(5), std::chrono::seconds(5), ec);
    if (!tcp) co_return nullptr;
    co_return std::make_unique<faulty_stream>(std::move(tcp), std::move(plan));
}
asio::awaitable<std::unique_ptr<net::byte_stream>> unchanged(std::unique_ptr<net::byte_stream> s) { co_return s; }
}  // namespace

net::connector faulty_connector(asio::any_io_executor ex, std::shared_ptr<fault_plan> plan) {
    return [ex, plan](std::string host, std::uint16_t port, error_code& ec) { return faulty_connect(ex, std::move(host), port, plan, ec); };
}

net::tls_wrapper passthrough_tls() {
    return [](std::unique_ptr<net::byte_stream> s, const net::url&, error_code&) { return unchanged(std::move(s)); };
}

}  // namespace edgesync::test
