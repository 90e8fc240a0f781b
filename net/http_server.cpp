#include "net/http_server.hpp"

#include "agent/common/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <list>
#include <optional>

namespace edgesync::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto k_use = asio::as_tuple(asio::use_awaitable);
}

// Shared between the server object and its coroutines. Every member is touched only on `ex`.
struct http_server::state {
    struct session_entry {
        beast::tcp_stream* stream;  // owned by the session coroutine's frame; valid while listed
        bool busy;                  // between a request's first header byte and its response
    };

    state(asio::any_io_executor e, server_params p, handler hd)
        : ex(std::move(e)), params(p), h(std::move(hd)), acceptor(ex), changed(ex) {
        changed.expires_at(asio::steady_timer::time_point::max());
    }

    // Wakes every waiter on `changed` (a timer used as a condition variable).
    void notify() { changed.cancel(); }

    asio::any_io_executor ex;
    server_params params;
    handler h;
    tcp::acceptor acceptor;
    asio::steady_timer changed;  // cancelled whenever a session ends
    std::list<session_entry> sessions;
    bool stopping = false;
};

namespace {

response error_response(http::status s, unsigned version, std::string_view text) {
    response res{s, version};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::connection, "close");
    res.keep_alive(false);
    res.body() = std::string(text) + "\n";
    res.prepare_payload();
    return res;
}

// The status to answer a failed request read with, or nullopt when the peer is gone (EOF,
// reset, deadline, shutdown) and nothing should be sent.
std::optional<http::status> status_for_read_error(const error_code& ec) {
    if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
    if (ec == http::error::body_limit) return http::status::payload_too_large;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset || ec == asio::error::eof)
        return std::nullopt;
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) return http::status::bad_request;
    return std::nullopt;  // socket errors
}

std::string_view reason_text(http::status s) {
    switch (s) {
        case http::status::request_header_fields_too_large: return "request header too large";
        case http::status::payload_too_large: return "request body too large";
        default: return "malformed request";
    }
}

asio::awaitable<void> run_session(std::shared_ptr<http_server::state> st, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    st->sessions.push_back({&stream, false});
    auto self = std::prev(st->sessions.end());
    beast::flat_buffer buffer(static_cast<std::size_t>(st->params.max_header_bytes) + 64 * 1024);
    bool first = true;

    while (!st->stopping) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(st->params.max_header_bytes));
        parser.body_limit(st->params.max_body_bytes);

        // Header: a keep-alive connection may first sit idle, then must deliver the header.
        stream.expires_after(first ? st->params.header_timeout : st->params.idle_timeout + st->params.header_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, k_use);
        self->busy = true;
        if (!ec) {
            first = false;
            stream.expires_after(st->params.body_timeout);
            std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, k_use);
        }
        if (ec) {
            // Tell the client what was wrong when it is a protocol or limit error; a dropped or
            // timed-out connection gets nothing. Either way the connection ends here.
            if (auto status = status_for_read_error(ec)) {
                auto res = error_response(*status, 11, reason_text(*status));
                stream.expires_after(st->params.write_timeout);
                co_await http::async_write(stream, res, k_use);
            }
            break;
        }
        request req = parser.release();
        response res;
        try {
            res = st->h(req);
        } catch (const std::exception& e) {
            // A handler bug ends this request, never the process; details stay in the log.
            log::error("http_handler_exception", {{"target", std::string(req.target())}, {"what", e.what()}});
            res = error_response(http::status::internal_server_error, req.version(), "internal error");
        }
        res.version(req.version());
        res.keep_alive(res.keep_alive() && req.keep_alive() && !st->stopping);
        res.prepare_payload();
        stream.expires_after(st->params.write_timeout);
        std::tie(ec, n) = co_await http::async_write(stream, res, k_use);
        self->busy = false;
        if (ec || !res.keep_alive()) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    st->sessions.erase(self);
    st->notify();
}

asio::awaitable<void> run_listener(std::shared_ptr<http_server::state> st) {
    while (!st->stopping) {
        // Bounded: at max_connections we stop accepting and let the kernel backlog hold the rest.
        while (st->sessions.size() >= st->params.max_connections && !st->stopping) {
            co_await st->changed.async_wait(k_use);
            st->changed.expires_at(asio::steady_timer::time_point::max());
        }
        if (st->stopping) break;
        auto [ec, socket] = co_await st->acceptor.async_accept(k_use);
        if (ec) {
            if (st->stopping || ec == asio::error::operation_aborted) break;
            // EMFILE and friends: back off briefly instead of spinning.
            log::warn("http_accept_failed", {{"error", ec.message()}});
            asio::steady_timer pause(st->ex, std::chrono::milliseconds(100));
            co_await pause.async_wait(k_use);
            continue;
        }
        asio::co_spawn(st->ex, run_session(st, std::move(socket)), log::on_task_exit{"http_session"});
    }
}

}  // namespace

http_server::http_server(asio::any_io_executor ex, server_params params, handler h)
    : state_(std::make_shared<state>(std::move(ex), params, std::move(h))) {}

http_server::~http_server() {
    error_code ignored;
    state_->stopping = true;
    state_->acceptor.close(ignored);
}

error_code http_server::listen(const tcp::endpoint& ep) {
    error_code ec;
    auto& a = state_->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error_code ignored;
        a.close(ignored);
        return ec;
    }
    asio::co_spawn(state_->ex, run_listener(state_), log::on_task_exit{"http_listener"});
    return {};
}

tcp::endpoint http_server::local_endpoint() const {
    error_code ec;
    return state_->acceptor.local_endpoint(ec);
}

std::size_t http_server::active_connections() const noexcept { return state_->sessions.size(); }

asio::awaitable<void> http_server::stop(std::chrono::milliseconds grace) {
    auto st = state_;
    st->stopping = true;
    error_code ignored;
    st->acceptor.close(ignored);
    // Idle keep-alive connections have nothing in flight: close them now.
    for (auto& s : st->sessions)
        if (!s.busy) s.stream->cancel();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!st->sessions.empty() && std::chrono::steady_clock::now() < deadline) {
        st->changed.expires_at(deadline);
        co_await st->changed.async_wait(k_use);
    }
    for (auto& s : st->sessions) s.stream->cancel();
    while (!st->sessions.empty()) {
        st->changed.expires_at(asio::steady_timer::time_point::max());
        co_await st->changed.async_wait(k_use);
    }
}

}  // namespace edgesync::net
