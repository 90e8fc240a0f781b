#include "support/canned_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>

namespace edgesync::test {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

void open_loopback(tcp::acceptor& a, std::uint16_t& port) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    a.open(ep.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen();
    port = a.local_endpoint().port();
}

void close_all(tcp::acceptor& a, std::vector<std::weak_ptr<tcp::socket>>& sockets) {
    error_code ignored;
    a.close(ignored);
    for (auto& w : sockets)
        if (auto s = w.lock()) s->close(ignored);
}

std::size_t content_length(const std::string& header) {
    std::string lower = header;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto p = lower.find("\r\ncontent-length:");
    if (p == std::string::npos) return 0;
    return static_cast<std::size_t>(std::stoull(lower.substr(p + 17)));
}

// Reads one request (header, and a Content-Length body). Empty on EOF or error.
asio::awaitable<std::string> read_request(tcp::socket& s, std::string& pending) {
    for (;;) {
        auto end = pending.find("\r\n\r\n");
        if (end != std::string::npos) {
            const std::size_t total = end + 4 + content_length(pending.substr(0, end + 2));
            while (pending.size() < total) {
                char buf[16384];
                auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), k_use);
                if (ec) co_return std::string();
                pending.append(buf, n);
            }
            std::string req = pending.substr(0, total);
            pending.erase(0, total);
            co_return req;
        }
        char buf[16384];
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), k_use);
        if (ec) co_return std::string();
        pending.append(buf, n);
    }
}

asio::awaitable<void> canned_session(std::shared_ptr<canned_server::state> st, std::shared_ptr<tcp::socket> s) {
    std::string pending;
    asio::steady_timer t(s->get_executor());
    for (;;) {
        std::string req = co_await read_request(*s, pending);
        if (req.empty()) co_return;
        st->requests.push_back(req);
        if (st->replies.empty()) co_return;
        canned_reply r = std::move(st->replies.front());
        st->replies.pop_front();
        if (r.delay.count() > 0) {
            t.expires_after(r.delay);
            co_await t.async_wait(k_use);
        }
        const std::size_t step = r.split_every ? r.split_every : std::max<std::size_t>(r.bytes.size(), 1);
        for (std::size_t off = 0; off < r.bytes.size(); off += step) {
            auto [ec, n] = co_await asio::async_write(*s, asio::buffer(r.bytes.data() + off, std::min(step, r.bytes.size() - off)), k_use);
            if (ec) co_return;
            if (r.split_every && r.pause.count() > 0) {
                t.expires_after(r.pause);
                co_await t.async_wait(k_use);
            }
        }
        if (r.after == canned_reply::then::close) {
            error_code ignored;
            s->shutdown(tcp::socket::shutdown_both, ignored);
            s->close(ignored);
            co_return;
        }
        if (r.after == canned_reply::then::stall) {
            char buf[4096];
            for (;;) {
                auto [ec, n] = co_await s->async_read_some(asio::buffer(buf), k_use);
                if (ec) co_return;
            }
        }
    }
}

asio::awaitable<void> canned_accept(std::shared_ptr<canned_server::state> st) {
    for (;;) {
        auto s = std::make_shared<tcp::socket>(st->acceptor.get_executor());
        auto [ec] = co_await st->acceptor.async_accept(*s, k_use);
        if (ec) co_return;
        ++st->connections;
        st->sockets.push_back(s);
        asio::co_spawn(st->acceptor.get_executor(), canned_session(st, s), asio::detached);
    }
}

asio::awaitable<void> relay(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    char buf[16384];
    for (;;) {
        auto [ec, n] = co_await from->async_read_some(asio::buffer(buf), k_use);
        if (ec) break;
        auto [wec, w] = co_await asio::async_write(*to, asio::buffer(buf, n), k_use);
        if (wec) break;
    }
    error_code ignored;
    to->shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> proxy_session(std::shared_ptr<connect_proxy::state> st, std::shared_ptr<tcp::socket> client) {
    std::string pending;
    std::string req = co_await read_request(*client, pending);
    if (req.empty()) co_return;
    const std::string line = req.substr(0, req.find("\r\n"));
    st->lines.push_back(line);
    auto fail = [&](std::string_view status) -> asio::awaitable<void> {
        std::string resp = "HTTP/1.1 " + std::string(status) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        co_await asio::async_write(*client, asio::buffer(resp), k_use);
        error_code ignored;
        client->close(ignored);
    };
    if (st->refuse || line.rfind("CONNECT ", 0) != 0) {
        co_await fail("403 Forbidden");
        co_return;
    }
    // "CONNECT host:port HTTP/1.1"; only loopback targets are ever relayed.
    const std::string authority = line.substr(8, line.find(' ', 8) - 8);
    const auto colon = authority.rfind(':');
    const std::string host = authority.substr(0, colon);
    if (host != "127.0.0.1" && host != "localhost") {
        co_await fail("403 Forbidden");
        co_return;
    }
    auto upstream = std::make_shared<tcp::socket>(client->get_executor());
    st->sockets.push_back(upstream);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1))));
    auto [cec] = co_await upstream->async_connect(ep, k_use);
    if (cec) {
        co_await fail("502 Bad Gateway");
        co_return;
    }
    static constexpr std::string_view k_ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await asio::async_write(*client, asio::buffer(k_ok.data(), k_ok.size()), k_use);
    if (!pending.empty()) co_await asio::async_write(*upstream, asio::buffer(pending), k_use);
    asio::co_spawn(client->get_executor(), relay(upstream, client), asio::detached);
    co_await relay(client, upstream);
}

asio::awaitable<void> proxy_accept(std::shared_ptr<connect_proxy::state> st) {
    for (;;) {
        auto s = std::make_shared<tcp::socket>(st->acceptor.get_executor());
        auto [ec] = co_await st->acceptor.async_accept(*s, k_use);
        if (ec) co_return;
        st->sockets.push_back(s);
        asio::co_spawn(st->acceptor.get_executor(), proxy_session(st, s), asio::detached);
    }
}

}  // namespace

asio::awaitable<std::string> raw_exchange(asio::io_context& ioc, tcp::endpoint ep, std::string bytes) {
    tcp::socket s(ioc);
    co_await s.async_connect(ep, asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(bytes), asio::use_awaitable);
    std::string out;
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), k_use);
        out.append(buf, n);
        if (ec) break;
    }
    co_return out;
}

canned_server::canned_server(asio::io_context& ioc) : state_(std::make_shared<state>(ioc)) {
    open_loopback(state_->acceptor, state_->port);
    asio::co_spawn(ioc, canned_accept(state_), asio::detached);
}

canned_server::~canned_server() { close_all(state_->acceptor, state_->sockets); }

connect_proxy::connect_proxy(asio::io_context& ioc, bool refuse) : state_(std::make_shared<state>(ioc)) {
    state_->refuse = refuse;
    open_loopback(state_->acceptor, state_->port);
    asio::co_spawn(ioc, proxy_accept(state_), asio::detached);
}

connect_proxy::~connect_proxy() { close_all(state_->acceptor, state_->sockets); }

std::string raw_response::header(const std::string& name) const {
    const auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    const auto start = at + 4 + name.size();
    return head.substr(start, head.find("\r\n", start) - start);
}

raw_response parse_raw_response(const std::string& raw) {
    raw_response r;
    const auto end = raw.find("\r\n\r\n");
    if (raw.size() < 12 || end == std::string::npos) throw std::runtime_error("incomplete HTTP response: " + raw.substr(0, 200));
    r.head = raw.substr(0, end + 2);
    r.status = std::stoi(raw.substr(9, 3));
    const std::string rest = raw.substr(end + 4);
    if (r.header("Transfer-Encoding") != "chunked") {
        r.body = rest;
        return r;
    }
    for (std::size_t pos = 0;;) {
        const auto eol = rest.find("\r\n", pos);
        if (eol == std::string::npos) throw std::runtime_error("truncated chunked body");
        const std::size_t n = std::stoul(rest.substr(pos, eol - pos), nullptr, 16);
        if (n == 0) return r;
        r.body += rest.substr(eol + 2, n);
        pos = eol + 2 + n + 2;
    }
}

}  // namespace edgesync::test
