#include "net/url.hpp"

#include <arpa/inet.h>
#include <cctype>

namespace edgesync::net {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::nullopt_t fail(std::string* why, const char* reason) {
    if (why) *why = reason;
    return std::nullopt;
}

bool valid_host_char(char c) noexcept {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string url::origin() const { return scheme + "://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port); }

std::string url::to_string() const {
    std::string out = scheme + "://";
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (is_tls() ? 443 : 80)) out += ":" + std::to_string(port);
    out += target;
    return out;
}

std::optional<url> parse_url(std::string_view text, std::string* why) {
    url u;
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return fail(why, "expected an absolute URL like https://host/path");
    u.scheme = lower(text.substr(0, sep));
    if (u.scheme != "http" && u.scheme != "https") return fail(why, "scheme must be http or https");
    std::string_view rest = text.substr(sep + 3);
    auto auth_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (authority.find('@') != std::string_view::npos)
        return fail(why, "credentials are not allowed in the URL");
    if (tail.find('#') != std::string_view::npos) return fail(why, "fragments are not allowed");
    for (char c : tail)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return fail(why, "spaces or control characters in the path");

    std::string_view host, port;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return fail(why, "unclosed '[' in IPv6 host");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail(why, "unexpected text after IPv6 host");
            port = after.substr(1);
            if (port.empty()) return fail(why, "bad port");
        }
        in6_addr a6{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return fail(why, "bad IPv6 address");
    } else {
        auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return fail(why, "bad port");
        }
        for (char c : host)
            if (!valid_host_char(c)) return fail(why, "invalid character in host");
    }
    if (host.empty()) return fail(why, "missing host");
    u.host = lower(host);
    if (port.empty()) {
        u.port = u.is_tls() ? 443 : 80;
    } else {
        unsigned long v = 0;
        for (char c : port) {
            if (c < '0' || c > '9' || v > 65535) return fail(why, "bad port");
            v = v * 10 + static_cast<unsigned long>(c - '0');
        }
        if (v == 0 || v > 65535) return fail(why, "bad port");
        u.port = static_cast<std::uint16_t>(v);
    }
    u.target = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
    return u;
}

bool is_loopback_host(std::string_view host) noexcept {
    if (host == "localhost" || host == "::1") return true;
    if (host.size() > 10 && host.substr(host.size() - 10) == ".localhost") return true;
    in_addr a4{};
    std::string h(host);
    if (inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    return false;
}

}  // namespace edgesync::net
