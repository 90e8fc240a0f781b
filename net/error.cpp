#include "net/error.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

#include <string>

namespace edgesync::net {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "edgesync.net"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::resolve_timeout: return "name resolution timed out";
            case errc::connect_timeout: return "connect timed out";
            case errc::tls_handshake_timeout: return "TLS handshake timed out";
            case errc::write_timeout: return "sending the request timed out";
            case errc::first_byte_timeout: return "no response within the first-byte deadline";
            case errc::body_idle_timeout: return "response body stalled past the idle deadline";
            case errc::header_timeout: return "request header not received in time";
            case errc::body_timeout: return "request body not received in time";
            case errc::handler_timeout: return "request handler did not finish in time";
            case errc::header_too_large: return "header exceeds the size limit";
            case errc::body_too_large: return "body exceeds the size limit";
            case errc::decompressed_too_large: return "decompressed body exceeds the size limit";
            case errc::too_many_redirects: return "too many redirects";
            case errc::too_many_connections: return "connection limit reached";
            case errc::truncated_body: return "connection closed before the end of the body";
            case errc::length_mismatch: return "body length does not match Content-Length";
            case errc::bad_response: return "malformed HTTP response";
            case errc::unsupported_encoding: return "unsupported Content-Encoding";
            case errc::bad_gzip: return "corrupt gzip data";
            case errc::tls_unknown_ca: return "TLS: certificate not signed by a trusted CA";
            case errc::tls_hostname_mismatch: return "TLS: certificate does not match the host name";
            case errc::tls_cert_expired: return "TLS: certificate expired or not yet valid";
            case errc::tls_pin_mismatch: return "TLS: no certificate or key in the chain matches the configured pins";
            case errc::tls_handshake_failed: return "TLS handshake failed";
            case errc::tls_peer_not_tls: return "TLS: the peer answered in plain HTTP (wrong scheme or port?)";
            case errc::plain_http_to_tls_port: return "plain HTTP request sent to a TLS port";
            case errc::tls_bad_config: return "TLS: certificate, key or CA could not be loaded";
            case errc::tls_protocol_error: return "TLS: corrupt or unexpected record";
            case errc::unauthenticated: return "authentication required";
            case errc::bad_credentials: return "wrong user name, password or token";
            case errc::auth_busy: return "too many authentication attempts in flight";
            case errc::proxy_refused: return "proxy refused the CONNECT tunnel";
            case errc::bad_url: return "malformed URL";
            case errc::connection_closed: return "connection closed by the peer";
        }
        return "unknown net error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
    static const category k_category;
    return k_category;
}

bool is_connection_error(const boost::system::error_code& ec) noexcept {
    if (ec.category() == net_category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::header_too_large:
            case errc::body_too_large:
            case errc::decompressed_too_large:
            case errc::too_many_redirects:
            case errc::unsupported_encoding:
            case errc::bad_gzip:
            case errc::bad_url:
            case errc::unauthenticated:
            case errc::bad_credentials:
            case errc::auth_busy:
                return false;
            default:
                return true;
        }
    }
    return true;  // socket and system errors
}

}  // namespace edgesync::net
