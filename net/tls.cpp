#include "net/tls.hpp"

#include "agent/common/log.hpp"
#include "net/auth.hpp"
#include "net/error.hpp"

#include <boost/asio/error.hpp>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <sys/stat.h>

namespace edgesync::net {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::string mbed_error_text(int rc) {
    char buf[160];
    mbedtls_strerror(rc, buf, sizeof buf);
    return buf;
}

mbedtls_ssl_protocol_version to_mbed(tls_version v) {
    return v == tls_version::v1_3 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
}

// The suites both sides offer and accept, strongest first: TLS 1.3's, and for TLS 1.2 only AEAD
// ciphers (GCM, ChaCha20-Poly1305) with an ephemeral key exchange (forward secrecy), as Mozilla's
// "intermediate" profile. mbedTLS's default list would also take AES-CBC (Lucky13-style padding
// oracles), static ECDH and RSA key exchange (no forward secrecy). Suites this mbedTLS build lacks
// are skipped by the handshake. mbedTLS keeps the pointer: the array is static.
constexpr int k_ciphersuites[] = {
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    0,
};

// PSA must be initialised once per process before any TLS 1.3 handshake (mbedTLS 3.x).
bool ensure_psa() {
    static std::once_flag once;
    static psa_status_t status = PSA_ERROR_GENERIC_ERROR;
    std::call_once(once, [] { status = psa_crypto_init(); });
    return status == PSA_SUCCESS;
}

std::string sha256_raw(const unsigned char* p, std::size_t n) {
    std::string out(32, '\0');
    mbedtls_sha256(p, n, reinterpret_cast<unsigned char*>(out.data()), 0);
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

bool parse_pin(std::string_view text, std::string& raw32) {
    constexpr std::string_view k_prefix = "sha256/";
    if (text.substr(0, k_prefix.size()) == k_prefix) {
        auto d = base64_decode(text.substr(k_prefix.size()));
        if (!d || d->size() != 32) return false;
        raw32 = std::move(*d);
        return true;
    }
    std::string hex;
    for (char c : text)
        if (c != ':') hex += c;  // "AB:CD:..." as openssl prints fingerprints
    if (hex.size() != 64) return false;
    raw32.assign(32, '\0');
    for (std::size_t i = 0; i < 32; ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        raw32[i] = static_cast<char>(hi * 16 + lo);
    }
    return true;
}

// Everything a connection needs that does not change per connection. mbedtls_ssl_config keeps
// raw pointers to the other members, so the object never moves (always behind a shared_ptr).
class tls_config {
public:
    tls_config() {
        mbedtls_ssl_config_init(&conf);
        mbedtls_x509_crt_init(&ca);
        mbedtls_x509_crt_init(&own_cert);
        mbedtls_pk_init(&own_key);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_entropy_init(&entropy);
    }
    ~tls_config() {
        mbedtls_ssl_config_free(&conf);
        mbedtls_x509_crt_free(&ca);
        mbedtls_x509_crt_free(&own_cert);
        mbedtls_pk_free(&own_key);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }
    tls_config(const tls_config&) = delete;
    tls_config& operator=(const tls_config&) = delete;

    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_context entropy;

    bool is_server = false;
    bool insecure = false;
    std::vector<std::string> pins;  // raw 32-byte SHA-256 values
    std::string server_name;        // client: overrides the URL's host for SNI and verification
};

namespace {

using config_result = boost::system::result<std::shared_ptr<tls_config>>;

// Shared set-up of both sides; returns false with `why` set on failure.
bool init_common(tls_config& c, bool server, tls_version min_v, tls_version max_v, std::string& why) {
    if (!ensure_psa()) {
        why = "PSA crypto could not be initialised";
        return false;
    }
    static constexpr char k_pers[] = "edgesync-tls";
    int rc = mbedtls_ctr_drbg_seed(&c.drbg, mbedtls_entropy_func, &c.entropy, reinterpret_cast<const unsigned char*>(k_pers),
                                   sizeof k_pers - 1);
    if (rc == 0)
        rc = mbedtls_ssl_config_defaults(&c.conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        why = "TLS set-up: " + mbed_error_text(rc);
        return false;
    }
    if (min_v > max_v) {
        why = "minimum TLS version is above the maximum";
        return false;
    }
    mbedtls_ssl_conf_rng(&c.conf, mbedtls_ctr_drbg_random, &c.drbg);
    mbedtls_ssl_conf_min_tls_version(&c.conf, to_mbed(min_v));
    mbedtls_ssl_conf_max_tls_version(&c.conf, to_mbed(max_v));
    mbedtls_ssl_conf_ciphersuites(&c.conf, k_ciphersuites);
    c.is_server = server;
    return true;
}

bool load_certs(mbedtls_x509_crt& chain, const std::string& file, std::string_view what, std::string& why) {
    int rc = mbedtls_x509_crt_parse_file(&chain, file.c_str());
    if (rc != 0) {
        // A positive value counts certificates that failed to parse in a bundle that otherwise
        // loaded: the system bundle sometimes holds one mbedTLS cannot read, which is harmless.
        if (rc > 0 && chain.raw.p != nullptr) return true;
        why = std::string(what) + " " + file + ": " + (rc > 0 ? "no certificate could be parsed" : mbed_error_text(rc));
        return false;
    }
    return true;
}

bool load_own(tls_config& c, const std::string& cert_file, const std::string& key_file, std::string& why) {
    if (!load_certs(c.own_cert, cert_file, "certificate", why)) return false;
    int rc = mbedtls_pk_parse_keyfile(&c.own_key, key_file.c_str(), nullptr, mbedtls_ctr_drbg_random, &c.drbg);
    if (rc != 0) {
        why = "key " + key_file + ": " + mbed_error_text(rc);
        return false;
    }
    if (mbedtls_pk_check_pair(&c.own_cert.pk, &c.own_key, mbedtls_ctr_drbg_random, &c.drbg) != 0) {
        why = "key " + key_file + " does not belong to certificate " + cert_file;
        return false;
    }
    rc = mbedtls_ssl_conf_own_cert(&c.conf, &c.own_cert, &c.own_key);
    if (rc != 0) {
        why = "certificate " + cert_file + ": " + mbed_error_text(rc);
        return false;
    }
    return true;
}

config_result fail(std::string* why_out, std::string why) {
    log::debug("tls_config_failed", {{"reason", why}});
    if (why_out) *why_out = std::move(why);
    return error_code(errc::tls_bad_config);
}

}  // namespace

config_result make_client_tls(const tls_client_params& p, std::string* why_out) {
    auto c = std::make_shared<tls_config>();
    std::string why;
    if (!init_common(*c, false, p.min_version, p.max_version, why)) return fail(why_out, why);
    c->insecure = p.insecure;
    c->server_name = p.server_name;
    for (const auto& pin : p.pins) {
        std::string raw;
        if (!parse_pin(pin, raw)) return fail(why_out, "pin '" + pin + "' is neither sha256/<base64> nor 64 hex digits");
        c->pins.push_back(std::move(raw));
    }
    if (!p.insecure) {
        if (!p.ca_file.empty() && !load_certs(c->ca, p.ca_file, "CA file", why)) return fail(why_out, why);
        if (!p.ca_dir.empty()) {
            int rc = mbedtls_x509_crt_parse_path(&c->ca, p.ca_dir.c_str());
            if (rc < 0 || c->ca.raw.p == nullptr)
                return fail(why_out, "CA folder " + p.ca_dir + ": " + (rc < 0 ? mbed_error_text(rc) : "no certificate found"));
        }
        if (p.ca_file.empty() && p.ca_dir.empty()) {
            struct stat sb {};
            // A pinned parent needs no CA at all; without pins the system bundle must be there.
            if (::stat(k_system_ca_bundle, &sb) == 0) {
                if (!load_certs(c->ca, k_system_ca_bundle, "system CA bundle", why)) return fail(why_out, why);
            } else if (c->pins.empty()) {
                return fail(why_out, std::string("no CA configured and the system bundle ") + k_system_ca_bundle +
                                         " is missing (install ca-certificates, or set ca_file)");
            }
        }
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, nullptr);
        // Verification runs in full, but the verdict is ours (after the handshake), so that pins
        // can stand in for a CA and each failure gets its own error code.
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    } else {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    if (p.cert_file.empty() != p.key_file.empty())
        return fail(why_out, "a client certificate needs both cert_file and key_file");
    if (!p.cert_file.empty() && !load_own(*c, p.cert_file, p.key_file, why)) return fail(why_out, why);
    return c;
}

config_result make_server_tls(const tls_server_params& p, std::string* why_out) {
    auto c = std::make_shared<tls_config>();
    std::string why;
    if (!init_common(*c, true, p.min_version, p.max_version, why)) return fail(why_out, why);
    if (p.cert_file.empty() || p.key_file.empty()) return fail(why_out, "a TLS server needs cert_file and key_file");
    if (!load_own(*c, p.cert_file, p.key_file, why)) return fail(why_out, why);
    if (!p.client_ca_file.empty()) {
        if (!load_certs(c->ca, p.client_ca_file, "client CA file", why)) return fail(why_out, why);
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, nullptr);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    return c;
}

// ---- the stream -------------------------------------------------------------------------------

namespace {
// Ciphertext read from the transport and not yet taken by mbedTLS: one full record (16 KiB of
// content plus header and expansion) always fits.
constexpr std::size_t k_in_capacity = 18 * 1024;
// Ciphertext produced and not yet sent. Writes gather records up to this much before one
// transport write; a single record is at most about 16.5 KiB, so a handshake flight fits too.
constexpr std::size_t k_out_flush = 64 * 1024;
constexpr std::size_t k_out_cap = 256 * 1024;
// Plaintext buffers smaller than this are gathered into one record (header + small body).
constexpr std::size_t k_coalesce = 4 * 1024;
constexpr std::size_t k_max_record_plain = 16 * 1024;

const char k_plain_http_reply[] =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\n"
    "Content-Length: 58\r\n"
    "\r\n"
    "This port speaks HTTPS: use an https:// URL for this node\n";
static_assert(sizeof("This port speaks HTTPS: use an https:// URL for this node\n") - 1 == 58);
}  // namespace

struct tls_stream::impl {
    impl(std::shared_ptr<const tls_config> c, std::unique_ptr<byte_stream> n) : cfg(std::move(c)), next(std::move(n)) {
        mbedtls_ssl_init(&ssl);
        in.resize(k_in_capacity);
    }
    ~impl() { mbedtls_ssl_free(&ssl); }

    std::shared_ptr<const tls_config> cfg;
    std::unique_ptr<byte_stream> next;
    mbedtls_ssl_context ssl;
    std::vector<unsigned char> in;
    std::size_t in_pos = 0, in_end = 0;  // in[in_pos, in_end) is received and not yet consumed
    std::string out;                     // ciphertext to send
    std::string first_bytes;             // the first bytes the peer sent (plain-HTTP detection)
    bool set_up = false;
    bool established = false;
    bool broken = false;  // a fatal error happened; every later operation fails
    bool busy = false;    // one operation at a time (see the header)

    static int send_cb(void* self, const unsigned char* buf, std::size_t len) {
        auto& me = *static_cast<impl*>(self);
        if (me.out.size() >= k_out_cap) return MBEDTLS_ERR_SSL_WANT_WRITE;
        me.out.append(reinterpret_cast<const char*>(buf), len);
        return static_cast<int>(len);
    }
    static int recv_cb(void* self, unsigned char* buf, std::size_t len) {
        auto& me = *static_cast<impl*>(self);
        if (me.in_pos == me.in_end) return MBEDTLS_ERR_SSL_WANT_READ;
        const std::size_t n = std::min(len, me.in_end - me.in_pos);
        std::memcpy(buf, me.in.data() + me.in_pos, n);
        me.in_pos += n;
        return static_cast<int>(n);
    }

    bool setup() {
        if (set_up) return true;
        if (mbedtls_ssl_setup(&ssl, &cfg->conf) != 0) return false;
        mbedtls_ssl_set_bio(&ssl, this, &send_cb, &recv_cb, nullptr);
        set_up = true;
        return true;
    }

    asio::awaitable<error_code> flush() {
        if (out.empty()) co_return error_code{};
        std::array<asio::const_buffer, 1> b{asio::buffer(out)};
        auto r = co_await next->write(b);
        out.clear();
        co_return r.ec;
    }

    // One read from the transport into `in`.
    asio::awaitable<error_code> fill() {
        if (in_pos == in_end) in_pos = in_end = 0;
        if (in_end == in.size()) {
            std::memmove(in.data(), in.data() + in_pos, in_end - in_pos);
            in_end -= in_pos;
            in_pos = 0;
        }
        auto r = co_await next->read_some(asio::buffer(in.data() + in_end, in.size() - in_end));
        if (r.ec) co_return r.ec;
        if (first_bytes.size() < 8)
            first_bytes.append(reinterpret_cast<const char*>(in.data() + in_end), std::min<std::size_t>(8 - first_bytes.size(), r.bytes));
        in_end += r.bytes;
        co_return error_code{};
    }

    struct step_result {
        error_code ec;  // transport error
        int rc = 0;     // mbedTLS result when ec is clear
    };
    // Runs an mbedTLS call until it no longer wants I/O, sending what it produced and reading
    // what it waits for.
    template <class Op>
    asio::awaitable<step_result> drive(Op op) {
        for (;;) {
            int rc = op();
            if (!out.empty() && (rc < 0 || out.size() >= k_out_flush)) {
                if (auto ec = co_await flush()) co_return step_result{ec, rc};
            }
            if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;
            if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
                if (auto ec = co_await fill()) co_return step_result{ec, rc};
                continue;
            }
            co_return step_result{{}, rc};
        }
    }

    bool peer_spoke_http() const {
        return first_bytes.rfind("HTTP/", 0) == 0 ||
               (!first_bytes.empty() && first_bytes[0] != 0x16 && first_bytes[0] != 0x15 &&
                std::isupper(static_cast<unsigned char>(first_bytes[0])));
    }

    // Fatal: tell the peer (best effort) and refuse every later operation.
    asio::awaitable<void> abort_with_alert(unsigned char alert) {
        broken = true;
        if (mbedtls_ssl_send_alert_message(&ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, alert) == 0) co_await flush();
        out.clear();
    }

    // The client's verdict on the chain the server sent (verification ran with OPTIONAL).
    error_code verify_server() const {
        if (cfg->insecure) return {};
        std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
        if (!cfg->pins.empty()) {
            bool pinned = false;
            for (const mbedtls_x509_crt* c = mbedtls_ssl_get_peer_cert(&ssl); c && c->raw.p && !pinned; c = c->next) {
                const std::string cert_hash = sha256_raw(c->raw.p, c->raw.len);
                const std::string key_hash = sha256_raw(c->pk_raw.p, c->pk_raw.len);
                pinned = std::any_of(cfg->pins.begin(), cfg->pins.end(),
                                     [&](const std::string& pin) { return pin == cert_hash || pin == key_hash; });
            }
            if (!pinned) return errc::tls_pin_mismatch;
            flags &= ~static_cast<std::uint32_t>(MBEDTLS_X509_BADCERT_NOT_TRUSTED);
        }
        if (flags == 0) return {};
        if (flags & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING)) return errc::tls_unknown_ca;
        if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) return errc::tls_cert_expired;
        if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) return errc::tls_hostname_mismatch;
        return errc::tls_handshake_failed;  // key usage, weak hash or key, revoked, ...
    }

    error_code map_handshake_failure(int rc) const {
        if (peer_spoke_http()) return errc::tls_peer_not_tls;
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && cfg->is_server) {
            // The client's certificate (mTLS) did not verify.
            std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
            if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) return errc::tls_unknown_ca;
            if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) return errc::tls_cert_expired;
        }
        return errc::tls_handshake_failed;
    }

    void log_failure(std::string_view side, int rc, const error_code& ec) const {
        log::info("tls_handshake_failed", {{"side", side},
                                           {"peer", next->peer()},
                                           {"error", ec.message()},
                                           {"detail", rc ? mbed_error_text(rc) : std::string()}});
    }

    asio::awaitable<error_code> run_handshake(std::string_view side) {
        auto r = co_await drive([this] { return mbedtls_ssl_handshake(&ssl); });
        if (r.ec) {
            broken = true;
            // The peer hung up mid-handshake: a version or cipher it does not accept, a client
            // certificate it wanted, or a plain-HTTP server that closed on our hello.
            if (r.ec == asio::error::eof || r.ec == asio::error::connection_reset) {
                error_code ec = peer_spoke_http() ? error_code(errc::tls_peer_not_tls) : error_code(errc::tls_handshake_failed);
                log_failure(side, 0, ec);
                co_return ec;
            }
            co_return r.ec;  // deadline or socket error, for the caller to name
        }
        if (r.rc != 0) {
            broken = true;
            error_code ec = map_handshake_failure(r.rc);
            log_failure(side, r.rc, ec);
            co_await flush();  // the alert mbedTLS queued, if any
            co_return ec;
        }
        // The last flight (our Finished) may still be queued: the peer waits for it before
        // it sends anything, so it must not wait for our first write.
        co_return co_await flush();
    }
};

tls_stream::tls_stream(std::shared_ptr<const tls_config> cfg, std::unique_ptr<byte_stream> next)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(next))) {}

tls_stream::~tls_stream() = default;

namespace {
// Marks the stream busy for one operation; a second concurrent one is refused (a bug in the caller).
struct op_guard {
    explicit op_guard(bool& b) : busy(b), ok(!b) { busy = true; }
    ~op_guard() {
        if (ok) busy = false;
    }
    bool& busy;
    bool ok;
};
}  // namespace

asio::awaitable<error_code> tls_stream::handshake(std::string server_name) {
    auto& m = *impl_;
    op_guard g(m.busy);
    if (!g.ok) co_return asio::error::in_progress;
    if (m.cfg->is_server || !m.setup()) co_return errc::tls_bad_config;
    const std::string& name = m.cfg->server_name.empty() ? server_name : m.cfg->server_name;
    if (mbedtls_ssl_set_hostname(&m.ssl, name.c_str()) != 0) co_return errc::tls_bad_config;
    if (auto ec = co_await m.run_handshake("client")) co_return ec;
    if (auto ec = m.verify_server()) {
        m.log_failure("client", 0, ec);
        co_await m.abort_with_alert(MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
        co_return ec;
    }
    m.established = true;
    co_return error_code{};
}

asio::awaitable<error_code> tls_stream::accept() {
    auto& m = *impl_;
    op_guard g(m.busy);
    if (!g.ok) co_return asio::error::in_progress;
    if (!m.cfg->is_server || !m.setup()) co_return errc::tls_bad_config;
    // Look at the first byte before mbedTLS does: a TLS client starts with a handshake record
    // (0x16); a browser or curl pointed at http:// starts with a method name.
    if (auto ec = co_await m.fill()) co_return ec;
    if (m.peer_spoke_http()) {
        m.broken = true;
        std::array<asio::const_buffer, 1> b{asio::buffer(k_plain_http_reply, sizeof k_plain_http_reply - 1)};
        co_await m.next->write(b);
        co_await m.next->shutdown();
        log::info("tls_plain_http", {{"peer", m.next->peer()}});
        co_return errc::plain_http_to_tls_port;
    }
    if (auto ec = co_await m.run_handshake("server")) co_return ec;
    m.established = true;
    co_return error_code{};
}

asio::awaitable<io_result> tls_stream::read_some(asio::mutable_buffer buf) {
    auto& m = *impl_;
    op_guard g(m.busy);
    if (!g.ok) co_return io_result{asio::error::in_progress, 0};
    if (!m.established || m.broken) co_return io_result{asio::error::not_connected, 0};
    if (buf.size() == 0) co_return io_result{};
    auto r = co_await m.drive([&] { return mbedtls_ssl_read(&m.ssl, static_cast<unsigned char*>(buf.data()), buf.size()); });
    if (r.ec) {
        // A transport EOF without close_notify. HTTP framing (Content-Length, chunked) still
        // detects a cut body; bodies delimited by the close itself are the only ones at risk.
        if (r.ec != asio::error::eof) m.broken = true;
        co_return io_result{r.ec, 0};
    }
    if (r.rc > 0) co_return io_result{{}, static_cast<std::size_t>(r.rc)};
    if (r.rc == 0 || r.rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) co_return io_result{asio::error::eof, 0};
    m.broken = true;
    log::info("tls_read_failed", {{"peer", m.next->peer()}, {"detail", mbed_error_text(r.rc)}});
    co_return io_result{errc::tls_protocol_error, 0};
}

asio::awaitable<io_result> tls_stream::write(std::span<const asio::const_buffer> buffers) {
    auto& m = *impl_;
    op_guard g(m.busy);
    if (!g.ok) co_return io_result{asio::error::in_progress, 0};
    if (!m.established || m.broken) co_return io_result{asio::error::not_connected, 0};
    std::size_t total = 0;
    std::string staged;  // small buffers gathered into one record
    auto send = [&](const unsigned char* p, std::size_t n) -> asio::awaitable<error_code> {
        while (n > 0) {
            auto r = co_await m.drive([&] { return mbedtls_ssl_write(&m.ssl, p, n); });
            if (r.ec) co_return r.ec;
            if (r.rc < 0) {
                log::info("tls_write_failed", {{"peer", m.next->peer()}, {"detail", mbed_error_text(r.rc)}});
                co_return error_code(errc::tls_protocol_error);
            }
            p += r.rc;
            n -= static_cast<std::size_t>(r.rc);
        }
        co_return error_code{};
    };
    error_code ec;
    for (const auto& b : buffers) {
        const auto* p = static_cast<const unsigned char*>(b.data());
        if (b.size() < k_coalesce && staged.size() + b.size() <= k_max_record_plain) {
            staged.append(reinterpret_cast<const char*>(p), b.size());
        } else {
            if (!staged.empty()) {
                ec = co_await send(reinterpret_cast<const unsigned char*>(staged.data()), staged.size());
                staged.clear();
            }
            if (!ec) ec = co_await send(p, b.size());
        }
        if (ec) break;
        total += b.size();
    }
    if (!ec && !staged.empty()) ec = co_await send(reinterpret_cast<const unsigned char*>(staged.data()), staged.size());
    if (!ec) ec = co_await m.flush();
    if (ec) {
        m.broken = true;
        co_return io_result{ec, 0};
    }
    co_return io_result{{}, total};
}

asio::awaitable<error_code> tls_stream::shutdown() {
    auto& m = *impl_;
    op_guard g(m.busy);
    if (!g.ok) co_return asio::error::in_progress;
    if (m.established && !m.broken) {
        m.broken = true;  // nothing may be sent after close_notify
        if (mbedtls_ssl_close_notify(&m.ssl) == 0) {
            if (auto ec = co_await m.flush()) co_return ec;
        }
    }
    co_return co_await m.next->shutdown();
}

void tls_stream::close() noexcept {
    impl_->broken = true;
    impl_->next->close();
}
bool tls_stream::is_open() const noexcept { return impl_->next->is_open() && !impl_->broken; }
void tls_stream::expires_after(std::chrono::steady_clock::duration d) { impl_->next->expires_after(d); }
void tls_stream::expires_never() { impl_->next->expires_never(); }
asio::any_io_executor tls_stream::get_executor() { return impl_->next->get_executor(); }
std::string tls_stream::peer() const { return impl_->next->peer(); }

std::string tls_stream::version() const { return impl_->established ? mbedtls_ssl_get_version(&impl_->ssl) : ""; }
std::string tls_stream::cipher() const {
    const char* c = impl_->established ? mbedtls_ssl_get_ciphersuite(&impl_->ssl) : nullptr;
    return c ? c : "";
}
std::string tls_stream::peer_subject() const {
    const mbedtls_x509_crt* c = impl_->established ? mbedtls_ssl_get_peer_cert(&impl_->ssl) : nullptr;
    if (!c) return {};
    char buf[512];
    int n = mbedtls_x509_dn_gets(buf, sizeof buf, &c->subject);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
std::string tls_stream::peer_cert_sha256() const {
    const mbedtls_x509_crt* c = impl_->established ? mbedtls_ssl_get_peer_cert(&impl_->ssl) : nullptr;
    if (!c) return {};
    return hex_encode(sha256_raw(c->raw.p, c->raw.len));
}

// ---- adapters ---------------------------------------------------------------------------------

namespace {

asio::awaitable<std::unique_ptr<byte_stream>> client_wrap(std::shared_ptr<const tls_config> cfg, std::unique_ptr<byte_stream> s,
                                                          std::string host, error_code& ec) {
    auto t = std::make_unique<tls_stream>(std::move(cfg), std::move(s));
    ec = co_await t->handshake(std::move(host));
    if (ec) {
        t->close();
        co_return nullptr;
    }
    log::debug("tls_connected", {{"peer", t->peer()}, {"version", t->version()}, {"cipher", t->cipher()}});
    co_return t;
}

asio::awaitable<std::unique_ptr<byte_stream>> server_wrap(std::shared_ptr<const tls_config> cfg, std::unique_ptr<byte_stream> s,
                                                          error_code& ec) {
    auto t = std::make_unique<tls_stream>(std::move(cfg), std::move(s));
    ec = co_await t->accept();
    if (ec) {
        t->close();
        co_return nullptr;
    }
    co_return t;
}

}  // namespace

tls_wrapper client_tls_wrapper(std::shared_ptr<const tls_config> cfg) {
    // A plain lambda that hands everything by value to a named coroutine: the coroutine must not
    // refer to the lambda's captures, which live in the std::function.
    return [cfg](std::unique_ptr<byte_stream> s, const url& target, error_code& ec) {
        return client_wrap(cfg, std::move(s), target.host, ec);
    };
}

connection_wrapper server_tls_wrapper(std::shared_ptr<const tls_config> cfg) {
    return [cfg](std::unique_ptr<byte_stream> s, error_code& ec) { return server_wrap(cfg, std::move(s), ec); };
}

}  // namespace edgesync::net
