// Routes requests by method and path pattern to handlers, with the roles each route requires.
//
// Patterns are literal segments and "{name}" segments that match exactly one non-empty segment:
//   /ws/atomfeed/{category}/recent, /ws/fhir2/R4/{type}/{id}
// A final "{name...}" segment matches the rest of the path (one or more segments).
// Literal segments win over parameters when both match. Built before the server starts, then
// only read: safe to share across connections.
#pragma once

#include "net/auth.hpp"
#include "net/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgesync::net {

namespace http = boost::beast::http;
using request = http::request<http::string_body>;

// Writes a streamed response body; given to a reply's producer. Data is buffered and sent in
// chunks (gzip-compressed when the client asked for it); the write deadline applies per chunk.
class body_writer {
public:
    virtual ~body_writer() = default;
    virtual boost::asio::awaitable<boost::system::error_code> write(std::string_view data) = 0;
    // Sends what is buffered now (for a producer about to wait on something slow).
    virtual boost::asio::awaitable<boost::system::error_code> flush() = 0;
};

struct reply {
    http::status status = http::status::ok;
    http::fields headers;  // Content-Type and any others; framing headers are set by the server
    std::string body;      // the complete body, unless `stream` is set
    // When set, the body is produced incrementally (chunked transfer coding). The producer runs
    // after the header is sent; an error it returns aborts the connection (the client sees a
    // truncated body, never a short success).
    std::function<boost::asio::awaitable<boost::system::error_code>(body_writer&)> stream;

    static reply text(http::status s, std::string body, std::string_view content_type = "text/plain; charset=utf-8");
    static reply json(http::status s, std::string body, std::string_view content_type = "application/json");
};

struct request_context {
    const request& req;
    std::string_view path;   // without the query
    std::string_view query;  // without the '?'
    std::vector<std::pair<std::string, std::string>> params;  // from the pattern, percent-decoded
    principal who;           // the authenticated caller (empty name on public routes)
    std::string peer;        // remote address, for logs

    // A path parameter by name; empty when absent.
    std::string_view param(std::string_view name) const;
    // The first query parameter of that name, percent-decoded.
    std::optional<std::string> query_param(std::string_view name) const;
};

using handler = std::function<boost::asio::awaitable<reply>(request_context&)>;

// Roles a route admits; k_public routes need no credentials at all.
inline constexpr std::uint8_t k_public = 0;

// Formats the server's own refusals (bad path, 401, 403, 404, 405, 500, 503) of requests under a
// path prefix — e.g. FHIR OperationOutcomes under /ws/fhir2/R4 — instead of plain text.
using refusal_formatter = std::function<reply(http::status, std::string_view message)>;

class router {
public:
    void add(http::verb method, std::string_view pattern, std::uint8_t roles, handler h);
    // Refusals under `prefix` (a path prefix ending at a segment boundary) use `f`; the longest
    // matching prefix wins.
    void set_refusal_format(std::string prefix, refusal_formatter f);
    // The server's refusal for `path`: formatted by the longest matching prefix, else plain text.
    reply refusal(std::string_view path, http::status s, std::string_view message) const;

    struct route {
        http::verb method;
        std::vector<std::string> segments;  // literal, "{x}" or "{x...}"
        std::uint8_t roles;
        handler h;
    };
    struct match_result {
        const route* found = nullptr;
        std::vector<std::pair<std::string, std::string>> params;
        std::string allow;  // when no route for this method but the path exists: "GET, PUT"
    };
    // `path` is the raw request path (no query). Segments are percent-decoded before matching.
    match_result match(http::verb method, std::string_view path) const;
    // Every route, in the order added (tests walk them: each must need the credentials it says).
    const std::vector<route>& routes() const noexcept { return routes_; }

private:
    std::vector<route> routes_;
    std::vector<std::pair<std::string, refusal_formatter>> refusal_formats_;
};

// Percent-decoding of one path segment or query value ('+' is a space in queries only).
// nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);

}  // namespace edgesync::net
