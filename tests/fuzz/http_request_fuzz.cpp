// libFuzzer target: the HTTP server reading requests, exactly as a connection does it —
// net::http_server::serve() on an in-memory stream carrying the input: the server's own
// request_parser set-up and limits, read_header/read_body, 100-continue, gzip request bodies,
// keep-alive and pipelining, path checks, routing and refusals. The same bytes are also read by a
// reference loop (a Beast request_parser with the server's limits, fed the same pieces the way
// http_io feeds it: Beast's verdicts depend on how input arrives), and what the server wrote is
// read back as responses.
//
// Contract:
//  - never crash, hang, leak or trip a sanitizer;
//  - the output is a sequence of well-formed HTTP/1.x responses, one per request read (after a
//    "100 Continue" when the request asked for one and its body was still to come), in order, in
//    the request's version, without a body for HEAD; a request that cannot be read gets 400, 413
//    or 431 and the connection closes; nothing is written after a response that closes;
//  - the connection is never kept alive after a request that asked to close it;
//  - every request a handler sees is the one the reference read, byte for byte (method, target,
//    decoded body), in order, each answered exactly once; its body is within max_body_bytes, its
//    path has no dot segment, and a Transfer-Encoding it carries ends in chunked (any other one
//    leaves the body's length undeterminable: the bytes after the header would be read as a
//    second request — request smuggling; RFC 9112 §6.3 wants 400 and a close, as for any request
//    that cannot be read).
//
// Input: byte 0 = flags (bit 0: small limits, so the limit paths are reachable), byte 1 = read
// size (0 = 16 KiB), then the bytes the client sends.
#include "contract.hpp"
#include "fuzz_stream.hpp"
#include "parse_all.hpp"

#include "agent/common/log.hpp"
#include "net/error.hpp"
#include "net/gzip.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace edgesync;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

struct seen_request {
    std::string method, target, body;
};
std::vector<seen_request>& handled() {
    static std::vector<seen_request> seen;
    return seen;
}

net::server_params params_for(bool small) {
    net::server_params p;
    if (small) {
        p.max_header_bytes = 512;
        p.max_body_bytes = 256;
        p.gzip_min_bytes = 64;
    }
    return p;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The last coding of all Transfer-Encoding fields taken as one list (empty items skipped, as
// HTTP's list syntax allows).
std::string_view last_coding(const net::request& req) {
    std::string_view last;
    for (auto [it, end] = req.equal_range(http::field::transfer_encoding); it != end; ++it) {
        std::string_view v(it->value().data(), it->value().size());
        while (!v.empty()) {
            const auto comma = std::min(v.find(','), v.size());
            if (auto item = trim(v.substr(0, comma)); !item.empty()) last = item;
            v.remove_prefix(std::min(comma + 1, v.size()));
        }
    }
    return last;
}

// What every handler checks, records and answers (with its number, so the response can be
// matched to the request).
std::uint64_t g_max_body = 0;
net::reply record(net::request_context& ctx, http::status s) {
    const auto& req = ctx.req;
    if (req.body().size() > g_max_body) fuzz::broken("a handler got a body over max_body_bytes", std::to_string(req.body().size()));
    if (req.count(http::field::transfer_encoding) && !boost::beast::iequals(last_coding(req), "chunked"))
        fuzz::broken("a request whose Transfer-Encoding does not end in chunked reached a handler",
                     std::string(req[http::field::transfer_encoding]));
    if (ctx.path.empty() || ctx.path.front() != '/') fuzz::broken("a handler got a path without a leading slash");
    for (std::size_t pos = 1; pos <= ctx.path.size();) {
        const auto slash = std::min(ctx.path.find('/', pos), ctx.path.size());
        const auto seg = net::percent_decode(ctx.path.substr(pos, slash - pos));
        if (!seg || *seg == "." || *seg == "..") fuzz::broken("a handler got a dot segment", std::string(ctx.path));
        pos = slash + 1;
    }
    const std::size_t n = handled().size();
    handled().push_back({std::string(req.method_string()), std::string(req.target()), req.body()});
    net::reply rep = net::reply::text(s, "handled " + std::to_string(n) + "\n");
    rep.headers.set("X-Handled", std::to_string(n));
    return rep;
}

std::shared_ptr<const net::router> routes() {
    static const auto r = [] {
        auto out = std::make_shared<net::router>();
        auto plain = [](http::status s) {
            return [s](net::request_context& ctx) -> asio::awaitable<net::reply> { co_return record(ctx, s); };
        };
        out->add(http::verb::get, "/r/{id}", net::k_public, plain(http::status::ok));
        out->add(http::verb::post, "/r", net::k_public, plain(http::status::created));
        out->add(http::verb::put, "/r/{id}", net::k_public, plain(http::status::ok));
        out->add(http::verb::delete_, "/r/{id}", net::k_public, plain(http::status::no_content));
        out->add(http::verb::post, "/tail/{rest...}", net::k_public, plain(http::status::ok));
        out->add(http::verb::get, "/private", net::role_admin, plain(http::status::ok));  // 401: no authenticator
        // A body big enough to be gzip-compressed when the client accepts it.
        out->add(http::verb::get, "/big", net::k_public, [](net::request_context& ctx) -> asio::awaitable<net::reply> {
            net::reply rep = record(ctx, http::status::ok);
            for (int i = 0; i < 64; ++i) rep.body += "edgesync fuzz body line " + std::to_string(i) + "\n";
            co_return rep;
        });
        // A streamed (chunked; until-close in HTTP/1.0) body.
        out->add(http::verb::get, "/stream", net::k_public, [](net::request_context& ctx) -> asio::awaitable<net::reply> {
            net::reply rep = record(ctx, http::status::ok);
            rep.body.clear();
            rep.stream = [](net::body_writer& w) -> asio::awaitable<error_code> {
                if (auto ec = co_await w.write("first piece\n")) co_return ec;
                if (auto ec = co_await w.flush()) co_return ec;
                co_return co_await w.write("second piece\n");
            };
            co_return rep;
        });
        out->set_refusal_format("/tail", [](http::status s, std::string_view message) {
            return net::reply::json(s, "{\"refused\":\"" + std::to_string(static_cast<unsigned>(s)) + "\",\"n\":" +
                                           std::to_string(message.size()) + "}");
        });
        return out;
    }();
    return r;
}

// ---- the reference reading -------------------------------------------------------------------

struct ref_request {
    http::verb method{};
    std::string method_text, target, body;  // body after gzip decoding
    unsigned version = 11;
    bool continue_first = false;     // "100 Continue" is written before the response
    std::optional<unsigned> refused;  // the status decode_request_body answers with
    bool closes = false;             // the connection ends after the response
};
struct ref_model {
    std::vector<ref_request> requests;
    std::optional<unsigned> error_status;  // a request that could not be read, answered so
    bool continue_before_error = false;    // ... after a 100 Continue for it
};

std::optional<unsigned> status_for(const error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    if (ec == http::error::partial_message || ec == http::error::end_of_stream) return std::nullopt;
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
    return std::nullopt;
}

ref_model reference(std::string_view in, const net::server_params& sp, std::size_t piece) {
    ref_model m;
    fuzz::io_model io{in, piece, static_cast<std::size_t>(sp.max_header_bytes) + 16 * 1024, {}};
    for (;;) {
        http::request_parser<http::string_body> p;
        p.header_limit(static_cast<std::uint32_t>(sp.max_header_bytes));
        p.body_limit(sp.max_body_bytes);
        error_code ec = fuzz::feed(p, io, true);
        ref_request r;
        // A Transfer-Encoding not ending in exactly "chunked": the body's length is unknown (or
        // known to Beast only), 400 and close.
        if (!ec && p.get().count(http::field::transfer_encoding) &&
            !(p.chunked() && boost::beast::iequals(last_coding(p.get()), "chunked")))
            ec = http::error::bad_transfer_encoding;
        if (!ec) {
            r.continue_first = p.get()[http::field::expect] == "100-continue" && !p.is_done();
            ec = fuzz::feed(p, io, false);
        }
        if (ec) {  // the end of the input between requests included (no status)
            m.error_status = status_for(ec);
            m.continue_before_error = r.continue_first;
            break;
        }
        net::request req = p.release();
        r.method = req.method();
        r.method_text = std::string(req.method_string());
        r.target = std::string(req.target());
        r.version = req.version();
        r.body = req.body();
        const auto enc = req[http::field::content_encoding];
        if (!enc.empty() && enc != "identity") {
            if (enc != "gzip") {
                r.refused = 415;
            } else {
                std::string plain;
                error_code gec;
                if (!net::gzip_decompress(r.body, sp.max_body_bytes, plain, gec))
                    r.refused = gec == net::errc::decompressed_too_large ? 413u : 400u;
                else
                    r.body = std::move(plain);
            }
        }
        r.closes = !req.keep_alive() || r.refused == 413u;
        m.requests.push_back(std::move(r));
        if (m.requests.back().closes) break;
    }
    return m;
}

// ---- reading the server's output back ---------------------------------------------------------

struct response {
    unsigned status = 0, version = 0;
    bool keep_alive = false, until_close = false;
    std::optional<std::size_t> handled;
    std::string content_encoding, body;
};

std::optional<response> read_response(std::string_view& out, bool head) {
    http::response_parser<http::string_body> p;
    p.skip(head);
    p.header_limit(64 * 1024);
    p.body_limit(boost::none);
    error_code ec;
    const std::size_t used = fuzz::put_all(p, out, [&] { return p.is_done(); }, ec);
    if (ec) return std::nullopt;
    out.remove_prefix(used);
    response r;
    const auto& m = p.get();
    r.status = m.result_int();
    r.version = m.version();
    r.keep_alive = m.keep_alive();
    r.until_close = !m.has_content_length() && !m.chunked();  // HTTP/1.0 streamed: ends at the close
    if (auto h = m["X-Handled"]; !h.empty()) r.handled = std::stoul(std::string(h));
    r.content_encoding = std::string(m[http::field::content_encoding]);
    r.body = m.body();
    return r;
}

void check_output(std::string_view out, const ref_model& ref) {
    const auto& seen = handled();
    std::size_t next_handled = 0;
    bool closed = false;
    for (std::size_t k = 0; k < ref.requests.size() && !closed; ++k) {
        const ref_request& rq = ref.requests[k];
        const std::string who = "request " + std::to_string(k) + " (" + rq.method_text + " " + rq.target + ")";
        if (rq.continue_first) {
            constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
            if (out.substr(0, k_continue.size()) != k_continue) fuzz::broken("no 100 Continue before the response", who);
            out.remove_prefix(k_continue.size());
        }
        auto r = read_response(out, rq.method == http::verb::head);
        if (!r) fuzz::broken("the server wrote no well-formed response", who);
        if (r->version != (rq.version == 10 ? 10u : 11u)) fuzz::broken("response in the wrong HTTP version", who);
        if (rq.refused && r->status != *rq.refused) fuzz::broken("wrong status for an undecodable body", who + ": " + std::to_string(r->status));
        if (r->handled) {
            if (rq.refused) fuzz::broken("a request with an undecodable body reached a handler", who);
            if (*r->handled != next_handled || next_handled >= seen.size()) fuzz::broken("responses out of order with the handlers", who);
            const seen_request& h = seen[next_handled++];
            if (h.method != rq.method_text || h.target != rq.target || h.body != rq.body)
                fuzz::broken("the handler saw another request than the one sent", who + " vs " + h.method + " " + h.target);
        } else if (r->status < 400) {
            fuzz::broken("a success that no handler produced", who + ": " + std::to_string(r->status));
        }
        if (r->content_encoding == "gzip") {
            std::string plain;
            error_code ec;
            if (!net::gzip_decompress(r->body, 1 << 20, plain, ec)) fuzz::broken("a gzip response body does not decode", who);
        }
        if (rq.closes && r->keep_alive) fuzz::broken("kept alive a connection the request closed", who);
        if (!r->keep_alive) {
            if (!rq.closes && !r->until_close) fuzz::broken("closed a connection the request kept alive", who);
            closed = true;
        }
    }
    if (!closed && ref.continue_before_error) {
        constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
        if (out.substr(0, k_continue.size()) != k_continue) fuzz::broken("no 100 Continue before reading the body");
        out.remove_prefix(k_continue.size());
    }
    if (!closed && ref.error_status) {
        auto r = read_response(out, false);
        if (!r) fuzz::broken("no response to an unreadable request", "expected " + std::to_string(*ref.error_status));
        if (r->status != *ref.error_status)
            fuzz::broken("wrong status for an unreadable request", std::to_string(r->status) + ", expected " + std::to_string(*ref.error_status));
        if (r->keep_alive) fuzz::broken("kept the connection after an unreadable request");
    }
    if (!out.empty()) fuzz::broken("the server wrote more than the responses", std::string(out.substr(0, 80)));
    if (next_handled != seen.size()) fuzz::broken("a handler ran whose response was never written");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = (log::set_level(log::level::error), true);
    (void)quiet;
    if (size < 2) return 0;
    const bool small = (data[0] & 1) != 0;
    const std::size_t piece = data[1] == 0 ? 16 * 1024 : data[1];
    const std::string input(reinterpret_cast<const char*>(data) + 2, size - 2);
    const net::server_params sp = params_for(small);
    g_max_body = sp.max_body_bytes;
    handled().clear();

    const ref_model ref = reference(input, sp, piece);

    auto written = std::make_shared<std::string>();
    {
        asio::io_context ioc;
        net::http_server server(ioc.get_executor(), sp, routes(), nullptr);
        auto s = std::make_unique<fuzz::memory_stream>(ioc.get_executor(), input, piece, written);
        asio::co_spawn(ioc, server.serve(std::move(s)), [](std::exception_ptr e) {
            if (e) fuzz::broken("the session ended with an exception");
        });
        ioc.run();
        if (server.active_connections() != 0) fuzz::broken("the session did not end");
    }
    if (std::getenv("EDGESYNC_FUZZ_TRACE")) std::fprintf(stderr, "---- in:\n%s\n---- out:\n%s\n----\n", input.c_str(), written->c_str());
    check_output(*written, ref);
    return 0;
}
