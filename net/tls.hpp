// TLS 1.2 / 1.3 over any byte_stream, with mbedTLS 3.6 (asio::ssl is OpenSSL-only).
//
// A tls_config is built once from certificate, key and CA files and shared by every connection
// made with it; a tls_stream is one connection. The client verifies the peer's chain against a CA
// file, a CA folder or the system bundle, checks the host name (also used for SNI), and when pins
// are configured also requires a pinned certificate or public key in the chain the peer sent.
// Verification outcomes an operator must act on differently get their own errc: tls_unknown_ca,
// tls_hostname_mismatch, tls_cert_expired, tls_pin_mismatch, tls_peer_not_tls; the server
// answers a plain HTTP request on its TLS port with a readable 400 (errc::plain_http_to_tls_port).
// Both sides speak TLS 1.2 and 1.3 only (mbedTLS 3.6 has nothing older) and, in TLS 1.2, only AEAD
// suites with an ephemeral key exchange: a peer offering only CBC, static-ECDH or RSA key exchange
// suites is refused (tls_handshake_failed).
//
// Threading: mbedTLS is built without MBEDTLS_THREADING_C, so a tls_config and every stream made
// from it must be used from one thread (the agent's network thread). A tls_stream supports one
// operation at a time (read, write or shutdown), which is how the HTTP code uses streams: a TLS
// read may have to write (alerts, TLS 1.3 post-handshake messages) and vice versa.
// Lifetime: a stream keeps its config alive (shared_ptr).
#pragma once

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/stream.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <vector>

namespace edgesync::net {

enum class tls_version : std::uint8_t { v1_2, v1_3 };

struct tls_client_params {
    std::string ca_file;  // PEM bundle; with ca_dir empty too: the system bundle (k_system_ca_bundle)
    std::string ca_dir;   // folder of PEM certificates
    // SHA-256 pins: "sha256/<base64>" (as HPKP) or 64 hex digits, each compared with the hash of
    // both the DER certificate and its DER SubjectPublicKeyInfo, for every certificate the peer
    // sent. With pins set, a pinned chain is accepted even when no configured CA signed it (a
    // parent on a private CA), and a chain without a pinned entry is refused even when a CA did.
    // Host name and validity dates are checked either way.
    std::vector<std::string> pins;
    std::string cert_file;  // client certificate for mTLS (PEM, leaf first) ...
    std::string key_file;   // ... and its key
    std::string server_name;  // SNI and the name the certificate must be for; empty = the URL's host
    bool insecure = false;  // no verification at all (the config warns at every start)
    tls_version min_version = tls_version::v1_2;
    tls_version max_version = tls_version::v1_3;
};

struct tls_server_params {
    std::string cert_file;       // PEM chain, leaf first
    std::string key_file;        // PEM private key (unencrypted)
    std::string client_ca_file;  // set: clients must present a certificate signed by it (mTLS)
    tls_version min_version = tls_version::v1_2;
    tls_version max_version = tls_version::v1_3;
};

inline constexpr const char* k_system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

class tls_config;

// errc::tls_bad_config when a file cannot be read or parsed, a key does not match its
// certificate, or a pin is malformed; `why` (when given) then names the file and the reason.
boost::system::result<std::shared_ptr<tls_config>> make_client_tls(const tls_client_params& p, std::string* why = nullptr);
boost::system::result<std::shared_ptr<tls_config>> make_server_tls(const tls_server_params& p, std::string* why = nullptr);

class tls_stream final : public byte_stream {
public:
    // Takes ownership of `next` (usually a tcp_byte_stream). No I/O until handshake().
    tls_stream(std::shared_ptr<const tls_config> cfg, std::unique_ptr<byte_stream> next);
    ~tls_stream() override;
    tls_stream(const tls_stream&) = delete;
    tls_stream& operator=(const tls_stream&) = delete;

    // Client side: `server_name` is sent as SNI and is the name the certificate must be for.
    // Runs under the deadline set on this stream. Errors: the errc values above, or the
    // underlying stream's (boost::beast::error::timeout when the deadline passed).
    boost::asio::awaitable<boost::system::error_code> handshake(std::string server_name);
    // Server side. A client speaking plain HTTP gets a 400 explaining the port speaks HTTPS.
    boost::asio::awaitable<boost::system::error_code> accept();

    boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer buf) override;
    boost::asio::awaitable<io_result> write(std::span<const boost::asio::const_buffer> buffers) override;
    boost::asio::awaitable<boost::system::error_code> shutdown() override;
    void close() noexcept override;
    bool is_open() const noexcept override;
    void expires_after(std::chrono::steady_clock::duration d) override;
    void expires_never() override;
    boost::asio::any_io_executor get_executor() override;
    std::string peer() const override;

    // After a handshake: "TLSv1.3", the cipher suite, and the peer certificate (when it sent
    // one) as its subject and the SHA-256 of its DER, for status pages and logs.
    std::string version() const;
    std::string cipher() const;
    std::string peer_subject() const;
    std::string peer_cert_sha256() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// Adapters for the HTTP client (handshake with the URL's host as SNI) and server (accept).
tls_wrapper client_tls_wrapper(std::shared_ptr<const tls_config> cfg);
connection_wrapper server_tls_wrapper(std::shared_ptr<const tls_config> cfg);

// Parses one pin ("sha256/<base64>" or 64 hex digits) into 32 raw bytes; false when malformed.
bool parse_pin(std::string_view text, std::string& raw32);

}  // namespace edgesync::net
