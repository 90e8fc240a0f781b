// Credentials: PBKDF2-SHA256 password hashes, Basic and Bearer headers, and the server-side
// authenticator that turns an Authorization header into a principal with roles.
//
// Passwords are never stored or logged; the config holds only salted PBKDF2 hashes and SHA-256
// digests of bearer tokens. Every comparison of secret material is constant-time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::net {

// Roles as a bit set (a principal may hold several).
enum role_bit : std::uint8_t { role_admin = 1, role_sync_peer = 2, role_local_app = 4 };

struct principal {
    std::string name;            // empty for anonymous
    std::uint8_t roles = 0;      // role_bit flags
    std::vector<std::string> categories;  // local-app restriction; empty = all
    bool has_any(std::uint8_t wanted) const noexcept { return (roles & wanted) != 0; }
};

struct user_entry {
    std::string name;
    std::string password_hash;  // "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" or empty
    std::string token_sha256;   // lower-case hex, or empty
    std::uint8_t roles = 0;
    std::vector<std::string> categories;
};

// A new salted hash in the config's format. iterations >= 10,000; the default follows OWASP's
// 2023 guidance for PBKDF2-HMAC-SHA256.
std::string hash_password(std::string_view password, std::uint32_t iterations = 210'000);

enum class password_check : std::uint8_t { match, mismatch, malformed_hash };
password_check verify_password(std::string_view password, std::string_view encoded_hash);

std::string sha256_hex(std::string_view data);
// The raw 32-byte digest.
std::string sha256_bytes(std::string_view data);
// Lower-case hex of raw bytes.
std::string hex_encode(std::string_view bytes);
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

struct authorization {
    enum class scheme : std::uint8_t { basic, bearer } kind = scheme::basic;
    std::string user;    // basic only
    std::string secret;  // password or token
};
// Parses "Basic <b64 user:pass>" or "Bearer <token>" (scheme names case-insensitive).
std::optional<authorization> parse_authorization(std::string_view header);
std::string basic_authorization(std::string_view user, std::string_view password);
std::string bearer_authorization(std::string_view token);

// Server-side checks of Authorization headers against the configured users.
//
// PBKDF2 is deliberately slow (about 0.1 s here, 1 s on a Pi), so it never runs on the network
// thread: it runs on one worker thread, at most `max_pending` checks at a time (more fail fast
// with errc::auth_busy, so a password-guessing flood cannot stall sync). A successful password
// check is remembered as a SHA-256 digest per user, so a child polling every few seconds pays
// PBKDF2 once. Unknown users cost the same as known ones (no user enumeration by timing).
// Thread-safety: authenticate() may be called from any single executor at a time per object.
class authenticator {
public:
    explicit authenticator(std::vector<user_entry> users, std::size_t max_pending = 4);
    ~authenticator();
    authenticator(const authenticator&) = delete;
    authenticator& operator=(const authenticator&) = delete;

    // errc::unauthenticated (no or unparseable header), errc::bad_credentials, errc::auth_busy.
    boost::asio::awaitable<boost::system::result<principal>> authenticate(std::string header);

    bool empty() const noexcept;

private:
    struct impl;
    std::shared_ptr<impl> impl_;  // shared with worker-thread jobs that may outlive a call
};

}  // namespace edgesync::net
