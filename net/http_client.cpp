#include "net/http_client.hpp"

#include "agent/common/log.hpp"
#include "net/error.hpp"
#include "net/gzip.hpp"
#include "net/http_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

namespace edgesync::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t k_max_redirect_body = 64 * 1024;  // drained from a redirect to keep the connection

// A response parser that hands the body to a callback piece by piece instead of storing it.
class streaming_parser final : public http::basic_parser<false> {
public:
    http::response_header<> head;
    std::function<error_code(std::string_view)> on_body;
    std::optional<std::uint64_t> content_length;

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
    void on_response_impl(int code, beast::string_view reason, int version, error_code& ec) override {
        if (code < 100 || code > 999) {
            ec = http::error::bad_status;
            return;
        }
        head.result(static_cast<unsigned>(code));
        head.reason(reason);
        head.version(static_cast<unsigned>(version));
    }
    void on_field_impl(http::field f, beast::string_view name, beast::string_view value, error_code&) override {
        head.insert(f, name, value);
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& len, error_code&) override {
        if (len) content_length = *len;
    }
    std::size_t on_body_impl(beast::string_view body, error_code& ec) override {
        if (on_body) ec = on_body(std::string_view(body.data(), body.size()));
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
        if (on_body) ec = on_body(std::string_view(body.data(), body.size()));
        return body.size();
    }
    void on_finish_impl(error_code&) override {}
};

struct connection {
    explicit connection(std::unique_ptr<byte_stream> s, std::size_t buffer_limit) : stream(std::move(s)), buf(buffer_limit) {}
    std::unique_ptr<byte_stream> stream;
    beast::flat_buffer buf;  // unparsed bytes; must be empty when the connection goes back to the pool
    clock_type::time_point idle_since{};
    bool reused = false;
};

struct origin_pool {
    std::vector<std::unique_ptr<connection>> idle;  // most recently used last
    std::size_t open = 0;                           // idle + in use
};

// How to reach a target URL: directly, through a plain-HTTP proxy (absolute-form requests), or
// through a CONNECT tunnel (https via proxy).
struct route {
    std::string pool_key;
    std::string host;  // TCP peer
    std::uint16_t port = 0;
    bool absolute_form = false;
    bool tunnel = false;
};

bool is_redirect(unsigned status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

bool idempotent(http::verb m) {
    return m == http::verb::get || m == http::verb::head || m == http::verb::put || m == http::verb::delete_ ||
           m == http::verb::options;
}

std::string env(const char* lower_name, const char* upper_name) {
    if (const char* v = std::getenv(lower_name); v && *v) return v;
    if (const char* v = std::getenv(upper_name); v && *v) return v;
    return {};
}

bool no_proxy_matches(std::string_view host) {
    for (std::string item : list_items(env("no_proxy", "NO_PROXY"))) {
        if (item == "*") return true;
        if (item.front() == '.') item.erase(0, 1);
        if (host == item || (host.size() > item.size() && host.substr(host.size() - item.size()) == item &&
                             host[host.size() - item.size() - 1] == '.'))
            return true;
    }
    return false;
}

// Resolves a Location header against the URL it came from.
std::optional<url> resolve_location(const url& base, std::string_view location) {
    if (location.find("://") != std::string_view::npos) return parse_url(location);
    if (location.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(location));
    url out = base;
    if (!location.empty() && location.front() == '/') {
        out.target = std::string(location);
    } else {
        std::string dir = base.target.substr(0, base.target.find('?'));
        dir = dir.substr(0, dir.rfind('/') + 1);
        out.target = dir + std::string(location);
    }
    return out;
}

std::string host_header(const url& u) {
    std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    if (u.port != (u.is_tls() ? 443 : 80)) h += ":" + std::to_string(u.port);
    return h;
}

}  // namespace

struct http_client::state {
    state(asio::any_io_executor e, client_params p, tls_wrapper t, connector c)
        : ex(std::move(e)), params(std::move(p)), tls(std::move(t)), connect(std::move(c)), changed(ex) {
        changed.expires_at(asio::steady_timer::time_point::max());
    }
    void notify() { changed.cancel(); }

    asio::any_io_executor ex;
    client_params params;
    tls_wrapper tls;
    connector connect;  // empty: connect_tcp
    std::map<std::string, origin_pool> pools;  // never erased: references stay valid across waits
    asio::steady_timer changed;                // cancelled whenever a connection is released
};

namespace {

using client_state = http_client::state;

// A configured proxy carries every request of this client (it is configured for the parent's
// client only). A proxy from the environment is skipped for loopback hosts and no_proxy matches,
// as curl and wget do.
std::optional<url> proxy_for(const client_state& st, const url& target) {
    std::string p = st.params.proxy;
    if (p.empty() && st.params.use_env_proxy) {
        if (is_loopback_host(target.host) || no_proxy_matches(target.host)) return std::nullopt;
        p = target.is_tls() ? env("https_proxy", "HTTPS_PROXY") : env("http_proxy", "HTTP_PROXY");
    }
    if (p.empty()) return std::nullopt;
    auto u = parse_url(p);
    if (!u || u->is_tls()) {
        log::warn("proxy_ignored", {{"proxy", p}, {"reason", "not an http:// proxy URL"}});
        return std::nullopt;
    }
    return u;
}

route route_for(const client_state& st, const url& target) {
    route r;
    if (auto proxy = proxy_for(st, target)) {
        r.host = proxy->host;
        r.port = proxy->port;
        r.tunnel = target.is_tls();
        r.absolute_form = !target.is_tls();
        r.pool_key = (r.tunnel ? target.origin() : std::string("plain")) + " via " + proxy->origin();
        return r;
    }
    r.host = target.host;
    r.port = target.port;
    r.pool_key = target.origin();
    return r;
}

// CONNECT host:port through an HTTP proxy; on success the stream carries raw bytes to the target.
asio::awaitable<error_code> open_tunnel(client_state& st, byte_stream& s, const url& target) {
    const std::string authority =
        (target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
    const std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\nUser-Agent: " +
                            st.params.user_agent + "\r\n\r\n";
    s.expires_after(st.params.write_timeout);
    std::array<asio::const_buffer, 1> b{asio::buffer(req)};
    if (auto r = co_await s.write(b); r.ec) co_return r.ec == beast::error::timeout ? error_code(errc::write_timeout) : r.ec;
    s.expires_after(st.params.first_byte_timeout);
    http::response_parser<http::empty_body> p;
    p.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel starts right after the header
    beast::flat_buffer buf(static_cast<std::size_t>(st.params.max_header_bytes));
    error_code ec = co_await read_header(s, buf, p);
    if (ec) co_return ec == beast::error::timeout ? error_code(errc::first_byte_timeout) : error_code(errc::proxy_refused);
    if (p.get().result_int() / 100 != 2 || buf.size() != 0) {
        log::warn("proxy_refused", {{"status", p.get().result_int()}, {"target", authority}});
        co_return errc::proxy_refused;
    }
    co_return error_code{};
}

asio::awaitable<std::unique_ptr<connection>> open_connection(client_state& st, const route& r, const url& target, error_code& ec) {
    std::unique_ptr<byte_stream> s;
    if (st.connect) s = co_await st.connect(r.host, r.port, ec);
    else s = co_await connect_tcp(st.ex, r.host, r.port, st.params.resolve_timeout, st.params.connect_timeout, ec);
    if (!s) co_return nullptr;
    if (r.tunnel) {
        ec = co_await open_tunnel(st, *s, target);
        if (ec) co_return nullptr;
    }
    if (target.is_tls() && !r.absolute_form) {
        if (!st.tls) {
            ec = errc::tls_bad_config;
            co_return nullptr;
        }
        s->expires_after(st.params.tls_timeout);
        s = co_await st.tls(std::move(s), target, ec);
        if (!s) {
            if (ec == beast::error::timeout) ec = errc::tls_handshake_timeout;
            co_return nullptr;
        }
    }
    s->expires_never();
    ec.clear();
    co_return std::make_unique<connection>(std::move(s), static_cast<std::size_t>(st.params.max_header_bytes) + 16 * 1024);
}

asio::awaitable<std::unique_ptr<connection>> acquire(client_state& st, const route& r, const url& target, error_code& ec) {
    for (;;) {
        origin_pool& pool = st.pools[r.pool_key];
        while (!pool.idle.empty()) {
            auto c = std::move(pool.idle.back());
            pool.idle.pop_back();
            if (clock_type::now() - c->idle_since < st.params.keep_alive_idle && c->stream->is_open()) {
                c->reused = true;
                co_return c;
            }
            c->stream->close();
            --pool.open;
        }
        if (pool.open < st.params.max_connections_per_origin) {
            ++pool.open;
            auto c = co_await open_connection(st, r, target, ec);
            if (!c) {
                --pool.open;
                st.notify();
            }
            co_return c;
        }
        // Every connection to this origin is busy: wait until one is released. The wait is
        // bounded by the deadlines of the requests holding them.
        co_await st.changed.async_wait(k_use);
        st.changed.expires_at(asio::steady_timer::time_point::max());
    }
}

void release(client_state& st, const std::string& key, std::unique_ptr<connection> c, bool reusable) {
    origin_pool& pool = st.pools[key];
    if (reusable && c->stream->is_open() && c->buf.size() == 0) {
        c->idle_since = clock_type::now();
        c->stream->expires_never();
        pool.idle.push_back(std::move(c));
    } else {
        c->stream->close();
        --pool.open;
    }
    st.notify();
}

struct exchange_result {
    error_code ec;
    bool reusable = false;
    bool stale = false;  // a reused connection failed before any response byte: safe to retry
    unsigned status = 0;
    std::optional<url> redirect_to;
};

error_code map_read_error(const error_code& ec, bool got_byte, const streaming_parser& p) {
    if (ec == beast::error::timeout) return got_byte ? errc::body_idle_timeout : errc::first_byte_timeout;
    if (ec == http::error::partial_message) {
        if (!p.is_header_done()) return errc::bad_response;
        return p.content_length ? errc::length_mismatch : errc::truncated_body;
    }
    if (ec == http::error::header_limit) return errc::header_too_large;
    if (ec == http::error::body_limit) return errc::body_too_large;
    if (ec.category() == http::make_error_code(http::error::bad_version).category() && ec != http::error::need_more)
        return errc::bad_response;
    return ec;
}

// One request/response on one connection.
// `home_origin`: the origin the request was made for (credentials and bodies stay with it).
asio::awaitable<exchange_result> exchange(client_state& st, connection& c, const url& target, const route& r,
                                          const client_request& req, bool send_auth, std::string_view home_origin,
                                          const head_handler& on_head, const body_handler& on_body) {
    exchange_result out;
    // -- request
    http::request_header<> h;
    h.method(req.method);
    h.target(r.absolute_form ? target.to_string() : target.target);
    h.version(11);
    h.set(http::field::host, host_header(target));
    h.set(http::field::user_agent, st.params.user_agent);
    for (const auto& f : req.headers) h.insert(f.name_string(), f.value());
    if (h[http::field::accept_encoding].empty()) h.set(http::field::accept_encoding, "gzip");
    if (send_auth && !req.authorization.empty()) h.set(http::field::authorization, req.authorization);
    std::string body_storage;
    std::string_view body = req.body;
    if (st.params.gzip_requests && body.size() >= 1024 && h[http::field::content_encoding].empty()) {
        body_storage = gzip_compress(body);
        body = body_storage;
        h.set(http::field::content_encoding, "gzip");
    }
    if (!body.empty() || req.method == http::verb::post || req.method == http::verb::put || req.method == http::verb::patch)
        h.set(http::field::content_length, std::to_string(body.size()));
    const std::string head_text = serialize_header(h);
    c.stream->expires_after(st.params.write_timeout);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head_text), asio::buffer(body.data(), body.size())};
    if (auto w = co_await c.stream->write(bufs); w.ec) {
        out.stale = c.reused;
        out.ec = w.ec == beast::error::timeout ? error_code(errc::write_timeout) : w.ec;
        co_return out;
    }

    // -- response header
    std::optional<streaming_parser> holder;  // re-made for each interim (1xx) response
    auto fresh_parser = [&]() -> streaming_parser& {
        holder.emplace();
        holder->header_limit(static_cast<std::uint32_t>(st.params.max_header_bytes));
        holder->body_limit(st.params.max_body_bytes);
        if (req.method == http::verb::head) holder->skip(true);
        return *holder;
    };
    streaming_parser* pp = &fresh_parser();
    bool got_byte = false;
    c.stream->expires_after(st.params.first_byte_timeout);
    // After the first byte, every read gets the idle deadline afresh.
    auto before_read = [&] {
        if (!got_byte && (c.buf.size() > 0 || pp->got_some())) got_byte = true;
        if (got_byte) c.stream->expires_after(st.params.body_idle_timeout);
    };
    for (;;) {
        error_code ec = co_await read_header(*c.stream, c.buf, *pp, before_read);
        if (ec) {
            got_byte = got_byte || pp->got_some();
            out.stale = c.reused && !got_byte && (ec == asio::error::eof || ec == asio::error::connection_reset);
            out.ec = out.stale ? error_code(errc::connection_closed) : map_read_error(ec, got_byte, *pp);
            co_return out;
        }
        got_byte = true;
        if (pp->head.result_int() / 100 != 1) break;
        pp = &fresh_parser();
    }
    streaming_parser& p = *pp;
    out.status = p.head.result_int();

    // -- redirect: drain a small body, report where to go
    if (is_redirect(out.status) && !p.head[http::field::location].empty()) {
        out.redirect_to = resolve_location(target, p.head[http::field::location]);
        if (!out.redirect_to) {
            out.ec = errc::bad_url;
            co_return out;
        }
        // A redirect that would carry the request's body (a PUT of a patient, a Bundle) to
        // another origin is not followed: the data goes only where it was configured to go. The
        // redirect itself is the answer, which the caller refuses as it refuses any 3xx.
        const bool keeps_body = out.status == 307 || out.status == 308 || ((out.status == 301 || out.status == 302) && req.method != http::verb::post);
        if (keeps_body && !req.body.empty() && out.redirect_to->origin() != home_origin) {
            log::warn("http_redirect_not_followed", {{"from", target.origin()}, {"to", out.redirect_to->origin()}, {"status", out.status},
                                                     {"why", "it would send the request body to another origin"}});
            out.redirect_to.reset();
        }
    }
    if (is_redirect(out.status) && out.redirect_to) {
        std::uint64_t drained = 0;
        p.on_body = [&](std::string_view s) {
            drained += s.size();
            return drained > k_max_redirect_body ? error_code(errc::body_too_large) : error_code{};
        };
        error_code ec = co_await read_body(*c.stream, c.buf, p, before_read);
        out.reusable = !ec && p.keep_alive() && !p.need_eof();
        co_return out;
    }

    // -- final response: head to the caller, body decoded piece by piece
    if (on_head) {
        if (auto ec = on_head(response_head{out.status, p.head, target.to_string()})) {
            out.ec = ec;
            co_return out;
        }
    }
    std::optional<gzip_inflater> inflater;
    const auto enc = p.head[http::field::content_encoding];
    // A HEAD, 204 or 304 answer has no body whatever its Content-Encoding says: nothing to decode
    // (an inflater would report the empty body as corrupt gzip). Found by tests/fuzz/http_response.
    const bool bodiless = req.method == http::verb::head || out.status == 204 || out.status == 304;
    if (!bodiless && (enc == "gzip" || enc == "x-gzip")) inflater.emplace(st.params.max_body_bytes);
    else if (!bodiless && !enc.empty() && enc != "identity") {
        out.ec = errc::unsupported_encoding;
        co_return out;
    }
    std::uint64_t delivered = 0;
    error_code consumer_ec;  // set when the caller (or a limit) stopped the body
    auto deliver = [&](std::string_view piece) -> error_code {
        delivered += piece.size();
        if (delivered > st.params.max_body_bytes) return consumer_ec = errc::body_too_large;
        if (on_body) {
            if (auto ec = on_body(piece)) return consumer_ec = ec;
        }
        return {};
    };
    p.on_body = [&](std::string_view raw) -> error_code {
        if (!inflater) return deliver(raw);
        auto ec = inflater->write(raw, deliver);
        if (ec && !consumer_ec) consumer_ec = ec;
        return ec;
    };
    error_code ec = co_await read_body(*c.stream, c.buf, p, before_read);
    if (ec) {
        out.ec = consumer_ec ? consumer_ec : map_read_error(ec, true, p);
        co_return out;
    }
    if (inflater) {
        if (auto fec = inflater->finish()) {
            out.ec = fec;
            co_return out;
        }
    }
    out.reusable = p.keep_alive() && !p.need_eof();
    co_return out;
}

}  // namespace

http_client::http_client(asio::any_io_executor ex, client_params params, tls_wrapper tls, connector connect)
    : state_(std::make_shared<state>(std::move(ex), std::move(params), std::move(tls), std::move(connect))) {}

http_client::~http_client() { close_idle(); }

void http_client::close_idle() {
    for (auto& [key, pool] : state_->pools) {
        for (auto& c : pool.idle) c->stream->close();
        pool.open -= pool.idle.size();
        pool.idle.clear();
    }
}

std::size_t http_client::open_connections() const noexcept {
    std::size_t n = 0;
    for (const auto& [key, pool] : state_->pools) n += pool.open;
    return n;
}

asio::awaitable<boost::system::result<client_response>> http_client::request(client_request req) {
    client_response res;
    const std::string requested = req.url;
    error_code ec = co_await request_stream(
        std::move(req),
        [&](const response_head& h) {
            res.status = h.status;
            res.headers = h.headers;
            res.final_url = std::string(h.final_url);
            return error_code{};
        },
        [&](std::string_view piece) {
            res.body.append(piece);
            return error_code{};
        });
    if (ec) co_return ec;
    co_return res;
}

asio::awaitable<error_code> http_client::request_stream(client_request req, head_handler on_head, body_handler on_body) {
    auto st = state_;
    std::string why;
    auto current = parse_url(req.url, &why);
    if (!current) co_return errc::bad_url;
    const std::string first_origin = current->origin();
    for (std::uint32_t redirects = 0;;) {
        const route r = route_for(*st, *current);
        const bool send_auth = current->origin() == first_origin;
        exchange_result x;
        for (int attempt = 0; attempt < 2; ++attempt) {
            error_code ec;
            auto c = co_await acquire(*st, r, *current, ec);
            if (!c) co_return ec;
            x = co_await exchange(*st, *c, *current, r, req, send_auth, first_origin, on_head, on_body);
            release(*st, r.pool_key, std::move(c), x.reusable && !x.ec);
            // A pooled connection the server had already closed: one fresh try, when repeating
            // the request cannot do harm.
            if (x.ec && x.stale && attempt == 0 && idempotent(req.method)) continue;
            break;
        }
        if (x.ec) co_return x.ec;
        if (!x.redirect_to) co_return error_code{};
        if (++redirects > st->params.max_redirects) co_return errc::too_many_redirects;
        if (x.redirect_to->origin() != first_origin) {
            // Credentials belong to the origin they were configured for; never forward them.
            log::info("http_redirect_other_origin", {{"from", current->origin()}, {"to", x.redirect_to->origin()}});
        }
        if (x.status == 303 || ((x.status == 301 || x.status == 302) && req.method == http::verb::post)) {
            req.method = http::verb::get;
            req.body.clear();
            req.headers.erase(http::field::content_type);
        }
        current = std::move(x.redirect_to);
    }
}

}  // namespace edgesync::net
