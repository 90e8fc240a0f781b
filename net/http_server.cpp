#include "net/http_server.hpp"

#include "agent/common/log.hpp"
#include "net/error.hpp"
#include "net/gzip.hpp"
#include "net/http_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <array>
#include <list>
#include <optional>

namespace edgesync::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto k_use = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t k_chunk_target = 16 * 1024;  // streamed bodies go out in chunks of about this size
}  // namespace

// Shared between the server object and its coroutines. Every member is touched only on `ex`.
struct http_server::state {
    struct session_entry {
        byte_stream* stream;  // owned by the session coroutine's frame; valid while listed
        bool busy;            // from a request's first header byte to the end of its response
    };

    state(asio::any_io_executor e, server_params p, std::shared_ptr<const router> r, std::shared_ptr<authenticator> a,
          connection_wrapper w)
        : ex(std::move(e)), params(p), routes(std::move(r)), auth(std::move(a)), wrap(std::move(w)), acceptor(ex), changed(ex) {
        changed.expires_at(asio::steady_timer::time_point::max());
    }

    // Wakes every waiter on `changed` (a timer used as a condition variable).
    void notify() { changed.cancel(); }

    asio::any_io_executor ex;
    server_params params;
    std::shared_ptr<const router> routes;
    std::shared_ptr<authenticator> auth;
    connection_wrapper wrap;
    tcp::acceptor acceptor;
    asio::steady_timer changed;  // cancelled whenever a session ends
    std::list<session_entry> sessions;
    bool stopping = false;
    std::uint64_t handled = 0;  // requests that reached a route's handler
};

namespace {

using session_state = http_server::state;

// ---- writing replies ------------------------------------------------------------------------

// Chunked body writer for streamed replies, optionally through gzip. Holds at most about
// k_chunk_target bytes before sending a chunk.
class chunk_writer final : public body_writer {
public:
    chunk_writer(byte_stream& s, std::chrono::milliseconds write_timeout, bool gzip, int level, bool chunked)
        : s_(s), write_timeout_(write_timeout), chunked_(chunked) {
        if (gzip) deflater_.emplace(level);
    }

    asio::awaitable<error_code> write(std::string_view data) override {
        if (deflater_) {
            if (auto ec = deflater_->write(data, append_fn())) co_return ec;
        } else {
            pending_.append(data);
        }
        bytes_in_ += data.size();
        if (pending_.size() >= k_chunk_target) co_return co_await send_pending();
        co_return error_code{};
    }

    asio::awaitable<error_code> flush() override {
        if (deflater_) {
            if (auto ec = deflater_->flush(append_fn())) co_return ec;
        }
        co_return co_await send_pending();
    }

    asio::awaitable<error_code> finish() {
        if (deflater_) {
            if (auto ec = deflater_->finish(append_fn())) co_return ec;
        }
        if (auto ec = co_await send_pending()) co_return ec;
        if (!chunked_) co_return error_code{};
        s_.expires_after(write_timeout_);
        std::array<asio::const_buffer, 1> last{asio::buffer(k_last_chunk.data(), k_last_chunk.size())};
        auto r = co_await s_.write(last);
        co_return r.ec;
    }

    std::uint64_t bytes_in() const noexcept { return bytes_in_; }

private:
    gzip_sink append_fn() {
        return [this](std::string_view out) {
            pending_.append(out);
            return error_code{};
        };
    }

    asio::awaitable<error_code> send_pending() {
        if (pending_.empty()) co_return error_code{};
        s_.expires_after(write_timeout_);
        io_result r;
        if (chunked_) {
            const std::string prefix = chunk_prefix(pending_.size());
            std::array<asio::const_buffer, 3> bufs{asio::buffer(prefix), asio::buffer(pending_),
                                                   asio::buffer(k_chunk_suffix.data(), k_chunk_suffix.size())};
            r = co_await s_.write(bufs);
        } else {
            std::array<asio::const_buffer, 1> bufs{asio::buffer(pending_)};
            r = co_await s_.write(bufs);
        }
        pending_.clear();
        co_return r.ec;
    }

    byte_stream& s_;
    std::chrono::milliseconds write_timeout_;
    bool chunked_;
    std::optional<gzip_deflater> deflater_;
    std::string pending_;
    std::uint64_t bytes_in_ = 0;
};

// Connection header for the response: HTTP/1.1 keeps alive unless told, HTTP/1.0 the reverse.
void set_connection(http::response_header<>& h, bool keep_alive) {
    if (h.version() >= 11) {
        if (!keep_alive) h.set(http::field::connection, "close");
    } else if (keep_alive) {
        h.set(http::field::connection, "keep-alive");
    }
}

struct write_outcome {
    error_code ec;
    std::uint64_t body_bytes = 0;
    bool keep_alive = false;
};

// A field that would end the header early on the wire: a CR, LF or NUL in its name or value.
// Beast's fields store such text as given, so a handler that copied caller text into a header
// (a Location made from a path, an error made from a query) would split the response.
bool breaks_header(std::string_view text) noexcept { return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

// Sends `rep` for `req`. keep_alive is the connection's fate after this response.
asio::awaitable<write_outcome> write_reply(session_state& st, byte_stream& s, const request& req, reply& rep, bool keep_alive) {
    write_outcome out;
    for (const auto& f : rep.headers) {
        if (!breaks_header(f.name_string()) && !breaks_header(f.value())) continue;
        // A handler bug: the reply is refused whole, never sent in part.
        log::error("http_bad_response_header", {{"path", std::string(req.target().substr(0, req.target().find('?')))},
                                                {"field", std::string(f.name_string().substr(0, f.name_string().find_first_of("\r\n")))}});
        rep = reply::text(http::status::internal_server_error, "internal error\n");
        break;
    }
    http::response_header<> h;
    h.version(req.version() == 10 ? 10 : 11);
    h.result(rep.status);
    for (const auto& f : rep.headers) h.insert(f.name_string(), f.value());
    h.set(http::field::server, "edgesync");
    const bool head = req.method() == http::verb::head;
    const bool no_body = rep.status == http::status::no_content || rep.status == http::status::not_modified ||
                         http::to_status_class(rep.status) == http::status_class::informational;
    const bool gzip = !head && !no_body && accepts_gzip(req[http::field::accept_encoding]) &&
                      compressible(h[http::field::content_type]) &&
                      (rep.stream || rep.body.size() >= st.params.gzip_min_bytes);
    if (gzip) {
        h.set(http::field::content_encoding, "gzip");
        h.set(http::field::vary, "Accept-Encoding");
    }

    if (rep.stream && !no_body) {
        // HTTP/1.0 has no chunked coding: the body then ends when the connection closes.
        const bool chunked = req.version() >= 11;
        if (chunked) h.set(http::field::transfer_encoding, "chunked");
        else keep_alive = false;
        set_connection(h, keep_alive);
        const std::string head_text = serialize_header(h);
        s.expires_after(st.params.write_timeout);
        std::array<asio::const_buffer, 1> hb{asio::buffer(head_text)};
        if (auto r = co_await s.write(hb); r.ec) {
            out.ec = r.ec;
            co_return out;
        }
        if (head) {
            out.keep_alive = keep_alive;
            co_return out;
        }
        chunk_writer w(s, st.params.write_timeout, gzip, st.params.gzip_level, chunked);
        error_code ec = co_await rep.stream(w);
        if (!ec) ec = co_await w.finish();
        out.ec = ec;
        out.body_bytes = w.bytes_in();
        out.keep_alive = !ec && keep_alive;
        co_return out;
    }

    std::string body = no_body ? std::string() : std::move(rep.body);
    if (gzip) body = gzip_compress(body, st.params.gzip_level);
    if (!no_body) h.set(http::field::content_length, std::to_string(body.size()));
    set_connection(h, keep_alive);
    const std::string head_text = serialize_header(h);
    s.expires_after(st.params.write_timeout);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head_text), asio::buffer(head ? std::string_view() : std::string_view(body))};
    auto r = co_await s.write(bufs);
    out.ec = r.ec;
    out.body_bytes = body.size();
    out.keep_alive = keep_alive;
    co_return out;
}

// A response for a request that could not be read; the connection closes after it.
asio::awaitable<void> write_error(session_state& st, byte_stream& s, http::status status, std::string_view text) {
    request dummy{http::verb::get, "/", 11};
    reply rep = reply::text(status, std::string(text) + "\n");
    co_await write_reply(st, s, dummy, rep, false);
}

// The status to answer a failed request read with, or nullopt when the peer is gone (EOF,
// reset, deadline, shutdown) and nothing should be sent.
std::optional<http::status> status_for_read_error(const error_code& ec) {
    if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
    if (ec == http::error::body_limit) return http::status::payload_too_large;
    if (ec == http::error::partial_message || ec == http::error::end_of_stream) return std::nullopt;
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) return http::status::bad_request;
    return std::nullopt;  // socket errors, deadlines, cancellation
}

// ---- one request ----------------------------------------------------------------------------

// The last transfer coding of a request's Transfer-Encoding fields taken as one list (empty
// items skipped, spaces trimmed); "" when there is none.
std::string_view last_transfer_coding(const http::request_header<>& h) {
    std::string_view last;
    for (auto [it, end] = h.equal_range(http::field::transfer_encoding); it != end; ++it) {
        std::string_view v(it->value().data(), it->value().size());
        while (!v.empty()) {
            const auto comma = std::min(v.find(','), v.size());
            std::string_view item = v.substr(0, comma);
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
            if (!item.empty()) last = item;
            v.remove_prefix(std::min(comma + 1, v.size()));
        }
    }
    return last;
}

bool has_dot_segment(std::string_view path) {
    // Rejected outright: "..", "." and encoded forms of them as a segment (path traversal).
    std::size_t pos = 0;
    while (pos <= path.size()) {
        auto slash = path.find('/', pos);
        auto seg = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        auto d = percent_decode(seg);
        if (!d || *d == "." || *d == "..") return true;
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return false;
}

// The handler, with exceptions turned into a 500 (a handler bug ends that request only; the
// details stay in the log, never in the response).
asio::awaitable<reply> guarded_handler(const handler& h, request_context& ctx) {
    try {
        co_return co_await h(ctx);
    } catch (const std::exception& e) {
        log::error("http_handler_exception", {{"path", ctx.path}, {"what", e.what()}});
    }
    co_return reply::text(http::status::internal_server_error, "internal error\n");
}

asio::awaitable<reply> run_handler(session_state& st, const handler& h, request_context& ctx) {
    using namespace asio::experimental::awaitable_operators;
    // Note: operator|| completes on the first branch that *succeeds*; guarded_handler never
    // throws, so an exception cannot leave the request waiting for the deadline.
    asio::steady_timer deadline(st.ex, st.params.handler_timeout);
    auto r = co_await (guarded_handler(h, ctx) || deadline.async_wait(asio::use_awaitable));
    if (r.index() == 0) co_return std::move(std::get<0>(r));
    log::warn("http_handler_timeout", {{"path", ctx.path}, {"error", error_code(errc::handler_timeout).message()}});
    reply rep = reply::text(http::status::service_unavailable, "request took too long\n");
    rep.headers.set(http::field::retry_after, "5");
    co_return rep;
}

// A browser sending a write on behalf of a page from another origin (cross-site request forgery:
// a form or fetch aimed here that would ride on credentials the browser holds, such as cached
// Basic ones). Browsers mark such requests with Sec-Fetch-Site, and with an Origin that names the
// other site; programs (children, apps, curl) send neither. Empty when the request may go on.
// A browser's own Sec-Fetch-Site is believed (so a reverse proxy that rewrites Host does not lock
// the admin page out); only without it is Origin compared with Host.
std::string cross_site_write(const request& req) {
    const auto m = req.method();
    if (m == http::verb::get || m == http::verb::head || m == http::verb::options) return {};
    const auto site = req["Sec-Fetch-Site"];
    if (!site.empty()) {
        if (site == "same-origin" || site == "none") return {};
        return "a " + std::string(site.substr(0, 40)) + " browser request may not change anything here";
    }
    const auto origin = req[http::field::origin];
    if (origin.empty()) return {};
    const auto sep = origin.find("://");
    const auto host = req[http::field::host];
    if (sep == std::string_view::npos || host.empty() || !boost::beast::iequals(origin.substr(sep + 3), host))
        return "a request from the page of another origin (" + std::string(origin.substr(0, 200)) + ") may not change anything here";
    return {};
}

// Routing, authentication and the handler for one fully read request.
asio::awaitable<reply> dispatch(session_state& st, const request& req, const std::string& peer, principal& who) {
    std::string_view target = req.target();
    auto qpos = target.find('?');
    std::string_view path = target.substr(0, qpos);
    std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
    if (path.empty() || path.front() != '/' || has_dot_segment(path)) co_return st.routes->refusal(path, http::status::bad_request, "bad path");
    // One Host and at most one Authorization (RFC 9112 §3.2, RFC 9110 §5.3): with two, this server
    // and a proxy in front of it could each go by a different one — who the caller is, which
    // origin links and the cross-site check name. Neither is ever read.
    for (const auto field : {http::field::host, http::field::authorization}) {
        if (req.count(field) > 1) {
            log::info("http_duplicate_header", {{"peer", peer}, {"path", path}, {"field", std::string(http::to_string(field))}});
            co_return st.routes->refusal(path, http::status::bad_request, "more than one " + std::string(http::to_string(field)) + " header");
        }
    }

    auto m = st.routes->match(req.method(), path);
    if (!m.found) {
        if (!m.allow.empty()) {
            reply rep = st.routes->refusal(path, http::status::method_not_allowed, "method not allowed");
            rep.headers.set(http::field::allow, m.allow);
            co_return rep;
        }
        co_return st.routes->refusal(path, http::status::not_found, "not found");
    }
    if (auto why = cross_site_write(req); !why.empty()) {
        log::info("http_cross_site_refused", {{"peer", peer}, {"path", path}, {"origin", std::string(req[http::field::origin])}});
        co_return st.routes->refusal(path, http::status::forbidden, why);
    }
    if (m.found->roles != k_public) {
        auto authz = req[http::field::authorization];
        error_code ec = errc::unauthenticated;
        if (st.auth && !authz.empty()) {
            auto r = co_await st.auth->authenticate(std::string(authz));
            if (r) {
                who = *r;
                ec.clear();
            } else {
                ec = r.error();
            }
        }
        if (ec == errc::auth_busy) {
            reply rep = st.routes->refusal(path, http::status::service_unavailable, "busy, retry");
            rep.headers.set(http::field::retry_after, "1");
            co_return rep;
        }
        if (ec) {
            log::info("http_auth_failed", {{"peer", peer}, {"path", path}, {"reason", ec.message()}});
            reply rep = st.routes->refusal(path, http::status::unauthorized, "authentication required: " + ec.message());
            // A script's request (the admin page's) gets no Basic challenge: the browser would answer
            // one with its own password dialog instead of handing the refusal to the page.
            rep.headers.set(http::field::www_authenticate, req["X-Requested-With"].empty() ? "Basic realm=\"edgesync\", Bearer realm=\"edgesync\""
                                                                                            : "Bearer realm=\"edgesync\"");
            co_return rep;
        }
        if (!who.has_any(m.found->roles)) {
            log::info("http_forbidden", {{"peer", peer}, {"path", path}, {"user", who.name}});
            co_return st.routes->refusal(path, http::status::forbidden, "forbidden: '" + who.name + "' lacks the role this needs");
        }
    }
    request_context ctx{req, path, query, std::move(m.params), who, peer};
    ++st.handled;
    co_return co_await run_handler(st, m.found->h, ctx);
}

// Decodes a gzip request body in place (bounded). Returns the status to refuse it with, if any.
std::optional<http::status> decode_request_body(session_state& st, request& req) {
    auto enc = req[http::field::content_encoding];
    if (enc.empty() || enc == "identity") return std::nullopt;
    if (enc != "gzip") return http::status::unsupported_media_type;
    std::string plain;
    error_code ec;
    if (!gzip_decompress(req.body(), st.params.max_body_bytes, plain, ec))
        return ec == errc::decompressed_too_large ? http::status::payload_too_large : http::status::bad_request;
    req.body() = std::move(plain);
    req.erase(http::field::content_encoding);
    req.set(http::field::content_length, std::to_string(req.body().size()));
    return std::nullopt;
}

asio::awaitable<void> run_session(std::shared_ptr<session_state> st, std::unique_ptr<byte_stream> s) {
    st->sessions.push_back({s.get(), true});
    auto self = std::prev(st->sessions.end());
    const std::string peer = s->peer();

    if (st->wrap) {
        s->expires_after(st->params.header_timeout);
        error_code ec;
        auto wrapped = co_await st->wrap(std::move(s), ec);
        if (!wrapped) {
            log::debug("http_connection_setup_failed", {{"peer", peer}, {"error", ec.message()}});
            st->sessions.erase(self);
            st->notify();
            co_return;
        }
        s = std::move(wrapped);
        self->stream = s.get();
    }

    // Holds unparsed bytes: at most one header plus one read chunk.
    beast::flat_buffer buffer(static_cast<std::size_t>(st->params.max_header_bytes) + 16 * 1024);
    bool first = true;
    while (!st->stopping) {
        self->busy = false;
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(st->params.max_header_bytes));
        parser.body_limit(st->params.max_body_bytes);

        // A kept-alive connection may sit idle for idle_timeout; from its first byte the whole
        // header must arrive within header_timeout (a client dribbling bytes is cut there).
        bool header_deadline_armed = first || buffer.size() > 0;
        s->expires_after(header_deadline_armed ? st->params.header_timeout : st->params.idle_timeout);
        auto before_read = [&] {
            if (!header_deadline_armed && (buffer.size() > 0 || parser.got_some())) {
                s->expires_after(st->params.header_timeout);
                header_deadline_armed = true;
                self->busy = true;
            }
        };
        error_code ec = co_await read_header(*s, buffer, parser, before_read);
        self->busy = true;
        first = false;
        // A Transfer-Encoding that does not end in chunked leaves the body's length unknown: Beast
        // reads it as empty and its bytes as the next request (smuggling behind a proxy that reads
        // it otherwise). RFC 9112 §6.3: answer 400 and close. Beast also takes "chunked\xff..." for
        // chunked, where a proxy may not: the last coding must be exactly "chunked". (Found by
        // tests/fuzz/http_request.)
        if (!ec && parser.get().count(http::field::transfer_encoding) &&
            !(parser.chunked() && beast::iequals(last_transfer_coding(parser.get()), "chunked")))
            ec = http::error::bad_transfer_encoding;
        if (!ec) {
            if (parser.get()[http::field::expect] == "100-continue" && !parser.is_done()) {
                static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
                s->expires_after(st->params.write_timeout);
                std::array<asio::const_buffer, 1> b{asio::buffer(k_continue.data(), k_continue.size())};
                ec = (co_await s->write(b)).ec;
            }
            if (!ec) {
                s->expires_after(st->params.body_timeout);
                ec = co_await read_body(*s, buffer, parser);
            }
        }
        if (ec) {
            if (auto status = status_for_read_error(ec)) {
                co_await write_error(*st, *s, *status,
                                     *status == http::status::request_header_fields_too_large ? "request header too large"
                                     : *status == http::status::payload_too_large             ? "request body too large"
                                                                                              : "malformed request");
            }
            break;
        }

        const auto started = std::chrono::steady_clock::now();
        request req = parser.release();
        const std::uint64_t bytes_in = req.body().size();
        principal who;
        reply rep;
        if (auto refuse = decode_request_body(*st, req)) {
            rep = reply::text(*refuse, *refuse == http::status::payload_too_large ? "request body too large\n"
                                                                                  : "unreadable request body encoding\n");
        } else {
            rep = co_await dispatch(*st, req, peer, who);
        }
        const bool keep_alive = req.keep_alive() && !st->stopping && rep.status != http::status::payload_too_large;
        auto outcome = co_await write_reply(*st, *s, req, rep, keep_alive);
        log::debug("http_request", {{"peer", peer},
                                    {"method", std::string(req.method_string())},
                                    {"path", std::string(req.target().substr(0, req.target().find('?')))},
                                    {"status", static_cast<int>(rep.status)},
                                    {"bytes", outcome.body_bytes},
                                    {"user", who.name},
                                    {"elapsed", std::chrono::steady_clock::now() - started},
                                    {"error", outcome.ec ? outcome.ec.message() : std::string()}});
        if (st->params.on_request) {
            const auto target = req.target();
            server_params::request_done done;
            done.path = std::string_view(target.data(), target.size()).substr(0, target.find('?'));
            done.status = static_cast<unsigned>(rep.status);
            done.bytes_in = bytes_in;
            done.bytes_out = outcome.body_bytes;
            done.elapsed = std::chrono::steady_clock::now() - started;
            st->params.on_request(done);
        }
        if (outcome.ec || !outcome.keep_alive) break;
    }
    if (s->is_open()) {
        s->expires_after(std::chrono::seconds(2));
        co_await s->shutdown();
        s->close();
    }
    st->sessions.erase(self);
    st->notify();
}

asio::awaitable<void> run_listener(std::shared_ptr<session_state> st) {
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
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        asio::co_spawn(st->ex, run_session(st, std::make_unique<tcp_byte_stream>(std::move(socket))),
                       log::on_task_exit{"http_session"});
    }
}

}  // namespace

http_server::http_server(asio::any_io_executor ex, server_params params, std::shared_ptr<const router> routes,
                         std::shared_ptr<authenticator> auth, connection_wrapper wrap)
    : state_(std::make_shared<state>(std::move(ex), params, std::move(routes), std::move(auth), std::move(wrap))) {}

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

std::uint64_t http_server::requests_handled() const noexcept { return state_->handled; }

std::size_t http_server::active_connections() const noexcept { return state_->sessions.size(); }

asio::awaitable<void> http_server::serve(std::unique_ptr<byte_stream> s) { return run_session(state_, std::move(s)); }

asio::awaitable<void> http_server::stop(std::chrono::milliseconds grace) {
    auto st = state_;
    st->stopping = true;
    error_code ignored;
    st->acceptor.close(ignored);
    // Idle keep-alive connections have nothing in flight: close them now.
    for (auto& s : st->sessions)
        if (!s.busy) s.stream->close();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!st->sessions.empty() && std::chrono::steady_clock::now() < deadline) {
        st->changed.expires_at(deadline);
        co_await st->changed.async_wait(k_use);
    }
    for (auto& s : st->sessions) s.stream->close();
    while (!st->sessions.empty()) {
        st->changed.expires_at(asio::steady_timer::time_point::max());
        co_await st->changed.async_wait(k_use);
    }
}

}  // namespace edgesync::net
