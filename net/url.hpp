// Absolute http(s) URLs as the config and the feeds use them: scheme, host, port, path and query.
// No userinfo (credentials belong in their own config fields, never in a URL that gets logged),
// no fragments. IPv6 hosts are written in brackets and stored without them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgesync::net {

struct url {
    std::string scheme;  // "http" or "https", lower case
    std::string host;    // lower case; IPv6 without brackets
    std::uint16_t port = 0;
    std::string target;  // path and query, at least "/"

    bool is_tls() const noexcept { return scheme == "https"; }
    // "https://host:port" with the port always written; origins compare equal iff identical.
    std::string origin() const;
    // The URL as text; the port is written only when it is not the scheme's default.
    std::string to_string() const;
};

// nullopt with `why` set (when given) to a short reason: "scheme must be http or https",
// "missing host", "bad port", "credentials are not allowed in the URL", ...
std::optional<url> parse_url(std::string_view text, std::string* why = nullptr);

// True for 127.0.0.0/8, ::1 and "localhost"/"*.localhost" host names.
bool is_loopback_host(std::string_view host) noexcept;

}  // namespace edgesync::net
