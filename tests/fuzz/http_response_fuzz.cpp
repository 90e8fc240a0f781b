// libFuzzer target: the HTTP client reading responses, exactly as a request does it —
// net::http_client::request_stream() through a connector that hands out in-memory streams
// carrying the input: the client's streaming response parser and limits, interim (1xx)
// responses, Content-Length / chunked / until-close bodies, gzip decoding, redirects (drained and
// followed, on the kept-alive connection or a new one), keep-alive, and the streaming callbacks.
// The first connection's bytes are also read by a reference (a Beast response_parser with the
// client's limits, fed the same pieces the way http_io feeds it, then gzip_decompress).
//
// Contract:
//  - never crash, hang, leak or trip a sanitizer;
//  - every failure is a net::errc, the callback's own error, or the transport's end of stream
//    before any response byte; the parser's own errors are always mapped (never passed on raw);
//  - on_head runs at most once, before any body piece, and never for an interim response; a
//    success has had on_head; the body delivered never exceeds max_body_bytes;
//  - when the first final response is not a redirect, the outcome is the reference's: its
//    decoded body exactly on success; a failure when the message is malformed, cut short (never a
//    short success), over a limit, or in an encoding other than gzip/identity;
//  - a callback's error stops the request and is what it returns;
//  - the Authorization header goes to the request's own origin only, never to another one a
//    redirect leads to.
//
// Input: byte 0 = flags (bit 0: small limits; bit 1: HEAD instead of GET; bit 2: the body
// callback refuses after byte 2's count of bytes; bit 3: the head callback refuses; bit 4: POST
// with a body), byte 1 = read size (0 = 16 KiB), byte 2 = that count, then what the server sends:
// one script per connection, separated by k_next_connection.
#include "contract.hpp"
#include "fuzz_stream.hpp"
#include "parse_all.hpp"

#include "agent/common/log.hpp"
#include "net/error.hpp"
#include "net/gzip.hpp"
#include "net/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
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

constexpr std::string_view k_next_connection = "\r\n--next-connection--\r\n";
constexpr std::string_view k_url = "http://parent.test:8080/ws/fhir2/R4/Patient?_count=2";
constexpr std::string_view k_authorization = "Bearer fuzz-secret-token";

// The callbacks' own errors: a category of this target's, so they are told apart from the
// client's.
class callback_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "fuzz.callback"; }
    std::string message(int ev) const override { return ev == 1 ? "head refused" : "body refused"; }
};
const callback_category& callbacks() {
    static const callback_category c;
    return c;
}
const error_code k_head_refused(1, callbacks());
const error_code k_body_refused(2, callbacks());

net::client_params params_for(bool small) {
    net::client_params p;
    p.use_env_proxy = false;
    p.max_redirects = 2;
    if (small) {
        p.max_header_bytes = 512;
        p.max_body_bytes = 256;
    }
    return p;
}

// ---- the reference reading of the first connection ---------------------------------------------

struct ref_outcome {
    bool redirect = false;           // the first final response is a redirect: not modelled
    bool fails = false;              // the client must fail
    std::vector<net::errc> must;     // ... with one of these (any error when empty)
    unsigned status = 0;
    std::string body;                // decoded, on success
};

ref_outcome reference(std::string_view in, const net::client_params& cp, bool head, std::size_t piece) {
    ref_outcome r;
    fuzz::io_model io{in, piece, static_cast<std::size_t>(cp.max_header_bytes) + 16 * 1024, {}};
    for (;;) {
        http::response_parser<http::string_body> p;
        p.header_limit(static_cast<std::uint32_t>(cp.max_header_bytes));
        p.body_limit(cp.max_body_bytes);
        p.skip(head);
        error_code ec = fuzz::feed(p, io, true);
        if (ec) {
            r.fails = true;
            return r;
        }
        const unsigned status = p.get().result_int();
        if (status < 100) {  // the client refuses what cannot be a status
            r.fails = true;
            return r;
        }
        if (status / 100 == 1) continue;  // interim: the final response follows
        const auto location = p.get()[http::field::location];
        if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) && !location.empty()) {
            r.redirect = true;
            return r;
        }
        r.status = status;
        // The encoding is judged on the header, before any of the body is read.
        const std::string enc(p.get()[http::field::content_encoding]);
        const bool bodiless = head || status == 204 || status == 304;  // nothing to decode, whatever the encoding
        const bool gzip = !bodiless && (enc == "gzip" || enc == "x-gzip");
        if (!bodiless && !gzip && !enc.empty() && enc != "identity") {
            r.fails = true;
            r.must = {net::errc::unsupported_encoding};
            return r;
        }
        ec = fuzz::feed(p, io, false);
        if (ec) {
            // Any failure will do; only over the limit of a plain body is the error certain (with
            // gzip, corrupt data may be noticed first while the body streams in).
            r.fails = true;
            if (ec == http::error::body_limit && !gzip) r.must = {net::errc::body_too_large};
            return r;
        }
        if (gzip) {
            error_code gec;
            if (!net::gzip_decompress(p.get().body(), cp.max_body_bytes, r.body, gec)) {
                // Corrupt data or too much of it: which is noticed first depends on the pieces.
                r.fails = true;
                r.must = {net::errc::bad_gzip, net::errc::decompressed_too_large, net::errc::body_too_large};
            }
        } else if (!bodiless) {
            r.body = p.get().body();
        }
        return r;
    }
}

bool allowed_failure(const error_code& ec) {
    if (ec.category() == net::net_category()) return true;
    if (ec.category() == callbacks()) return true;
    if (ec == asio::error::eof) return true;                 // closed before any response byte
    if (ec == asio::error::connection_refused) return true;  // no script left for a connection
    return false;
}

std::vector<std::string_view> split_scripts(std::string_view all) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto at = all.find(k_next_connection);
        out.push_back(all.substr(0, at));
        if (at == std::string_view::npos) return out;
        all.remove_prefix(at + k_next_connection.size());
    }
}

// The whole check of one input (not in the extern "C" function itself: GCC 12 emits clashing
// symbols for a coroutine lambda defined there).
void one_input(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = (log::set_level(log::level::error), true);
    (void)quiet;
    if (size < 3) return;
    const std::uint8_t flags = data[0];
    const bool small = (flags & 1) != 0, head = (flags & 2) != 0, body_refuses = (flags & 4) != 0,
               head_refuses = (flags & 8) != 0, post = (flags & 16) != 0 && !head;
    const std::size_t piece = data[1] == 0 ? 16 * 1024 : data[1];
    const std::size_t refuse_after = data[2];
    const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
    const net::client_params cp = params_for(small);
    const std::vector<std::string_view> scripts = split_scripts(input);

    struct connection_log {
        std::string host;
        std::uint16_t port;
        std::shared_ptr<std::string> written;
    };
    std::vector<connection_log> conns;
    int heads = 0;
    unsigned head_status = 0;
    std::uint64_t delivered = 0;
    std::string body;
    error_code result;
    bool finished = false;
    {
        asio::io_context ioc;
        auto connect = [&](std::string host, std::uint16_t port, error_code& ec) -> asio::awaitable<std::unique_ptr<net::byte_stream>> {
            if (conns.size() >= scripts.size()) {
                ec = asio::error::connection_refused;
                co_return nullptr;
            }
            auto written = std::make_shared<std::string>();
            conns.push_back({host, port, written});
            co_return std::make_unique<fuzz::memory_stream>(ioc.get_executor(), std::string(scripts[conns.size() - 1]), piece, written);
        };
        net::http_client client(ioc.get_executor(), cp, {}, connect);
        net::client_request req;
        req.method = head ? http::verb::head : post ? http::verb::post : http::verb::get;
        req.url = std::string(k_url);
        req.authorization = std::string(k_authorization);
        if (post) req.body = "{\"resourceType\":\"Patient\"}";
        auto on_head = [&](const net::response_head& h) -> error_code {
            ++heads;
            head_status = h.status;
            if (delivered != 0) fuzz::broken("on_head after body bytes");
            if (h.status / 100 == 1) fuzz::broken("on_head for an interim response", std::to_string(h.status));
            return head_refuses ? k_head_refused : error_code{};
        };
        auto on_body = [&](std::string_view piece_in) -> error_code {
            if (heads != 1) fuzz::broken("a body piece without exactly one on_head before it");
            delivered += piece_in.size();
            body.append(piece_in);
            if (delivered > cp.max_body_bytes) fuzz::broken("delivered more than max_body_bytes", std::to_string(delivered));
            return body_refuses && delivered > refuse_after ? k_body_refused : error_code{};
        };
        asio::co_spawn(ioc, client.request_stream(std::move(req), on_head, on_body), [&](std::exception_ptr e, error_code ec) {
            if (e) fuzz::broken("request_stream threw");
            result = ec;
            finished = true;
        });
        ioc.run();
    }
    if (!finished) fuzz::broken("request_stream never completed");
    if (heads > 1) fuzz::broken("on_head ran more than once");

    if (result && !allowed_failure(result))
        fuzz::broken("a failure outside the named errors", std::string(result.category().name()) + ": " + result.message());
    if (!result && heads != 1) fuzz::broken("a success without on_head");
    if (result == k_head_refused && !head_refuses) fuzz::broken("a head refusal nobody made");
    if (result == k_body_refused && !body_refuses) fuzz::broken("a body refusal nobody made");

    // Credentials only to the origin they belong to.
    for (const auto& c : conns) {
        if (c.host == "parent.test" && c.port == 8080) continue;
        if (c.written->find(k_authorization) != std::string::npos)
            fuzz::broken("the Authorization header went to another origin", c.host + ":" + std::to_string(c.port));
    }

    const ref_outcome ref = reference(scripts.front(), cp, head, piece);
    if (ref.redirect) return;
    if (head_refuses && heads == 1) {
        if (result != k_head_refused) fuzz::broken("the head callback's error was not returned", result.message());
        return;
    }
    if (result == k_body_refused) {
        if (delivered <= refuse_after) fuzz::broken("a body refusal before the count");
        return;
    }
    if (ref.fails) {
        if (!result) fuzz::broken("a success where the reference fails", "status " + std::to_string(head_status));
        if (!ref.must.empty() && std::none_of(ref.must.begin(), ref.must.end(), [&](net::errc e) { return result == e; }))
            fuzz::broken("the wrong error", result.message() + ", expected " + net::make_error_code(ref.must.front()).message());
        return;
    }
    if (result) fuzz::broken("a failure where the reference succeeds", result.message());
    if (head_status != ref.status) fuzz::broken("another status than the reference", std::to_string(head_status));
    if (body != ref.body) fuzz::broken("another body than the reference", std::to_string(body.size()) + " vs " + std::to_string(ref.body.size()));
    if (body_refuses && delivered > refuse_after) fuzz::broken("the body callback's error was not returned");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    one_input(data, size);
    return 0;
}
