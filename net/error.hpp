// net::errc — every way a network operation fails that a caller may want to tell apart: each
// deadline and each limit has its own name, as do the TLS verification failures an operator must
// act on differently (install a CA, fix a hostname, renew a certificate).
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace edgesync::net {

enum class errc {
    // deadlines (client)
    resolve_timeout = 1,
    connect_timeout,
    tls_handshake_timeout,
    write_timeout,
    first_byte_timeout,
    body_idle_timeout,
    // deadlines (server)
    header_timeout,
    body_timeout,
    handler_timeout,
    // limits
    header_too_large,
    body_too_large,
    decompressed_too_large,
    too_many_redirects,
    too_many_connections,
    // framing
    truncated_body,        // the peer closed before the announced end of the body
    length_mismatch,       // Content-Length disagrees with what the peer sent
    bad_response,          // not parseable as an HTTP/1.1 response
    unsupported_encoding,  // a Content-Encoding other than gzip/identity
    bad_gzip,              // corrupt compressed data
    // TLS
    tls_unknown_ca,         // the chain does not lead to a trusted CA (and no pin matches)
    tls_hostname_mismatch,  // the certificate is not for the name we asked for
    tls_cert_expired,       // expired or not yet valid
    tls_pin_mismatch,       // pins are configured and no certificate or key in the chain matches
    tls_handshake_failed,   // any other handshake failure (protocol, cipher, bad certificate, ...)
    tls_peer_not_tls,       // we spoke TLS to a plain-HTTP port
    plain_http_to_tls_port, // a client spoke plain HTTP to our TLS port
    tls_bad_config,         // unreadable certificate/key/CA file or mismatched key
    tls_protocol_error,     // a corrupt or unexpected record after the handshake
    // authentication (server side)
    unauthenticated,  // no usable credentials
    bad_credentials,  // wrong user, password or token
    auth_busy,        // too many password checks in flight; try again shortly
    // other
    proxy_refused,          // the HTTP proxy did not establish the CONNECT tunnel
    bad_url,
    connection_closed,      // the peer closed a kept-alive connection before answering
};

const boost::system::error_category& net_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), net_category()};
}

// True for failures of the connection or the peer as a whole (retry later, back off), false for
// failures tied to one request (the next request may well succeed).
bool is_connection_error(const boost::system::error_code& ec) noexcept;

}  // namespace edgesync::net

template <>
struct boost::system::is_error_code_enum<edgesync::net::errc> : std::true_type {};
