#include "net/auth.hpp"

#include "net/error.hpp"
#include "net/sha256.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mbedtls/base64.h>
#include <mbedtls/pkcs5.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <sys/random.h>

namespace edgesync::net {
namespace asio = boost::asio;

namespace {

constexpr std::size_t k_hash_bytes = 32;
constexpr std::size_t k_salt_bytes = 16;

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += k_digits[p[i] >> 4];
        out += k_digits[p[i] & 15];
    }
    return out;
}

bool pbkdf2(std::string_view password, std::string_view salt, std::uint32_t iterations, unsigned char* out) {
    return mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, reinterpret_cast<const unsigned char*>(password.data()),
                                         password.size(), reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                                         iterations, k_hash_bytes, out) == 0;
}

struct parsed_hash {
    std::uint32_t iterations = 0;
    std::string salt;
    std::string hash;
};

std::optional<parsed_hash> parse_hash(std::string_view encoded) {
    // pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>
    constexpr std::string_view k_prefix = "pbkdf2-sha256$";
    if (encoded.substr(0, k_prefix.size()) != k_prefix) return std::nullopt;
    encoded.remove_prefix(k_prefix.size());
    auto d1 = encoded.find('$');
    if (d1 == std::string_view::npos) return std::nullopt;
    auto d2 = encoded.find('$', d1 + 1);
    if (d2 == std::string_view::npos) return std::nullopt;
    std::string_view iter = encoded.substr(0, d1);
    if (iter.empty() || iter.size() > 8 || !std::all_of(iter.begin(), iter.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    parsed_hash h;
    h.iterations = static_cast<std::uint32_t>(std::stoul(std::string(iter)));
    auto salt = base64_decode(encoded.substr(d1 + 1, d2 - d1 - 1));
    auto hash = base64_decode(encoded.substr(d2 + 1));
    if (!salt || !hash || hash->size() != k_hash_bytes || h.iterations < 1000) return std::nullopt;
    h.salt = std::move(*salt);
    h.hash = std::move(*hash);
    return h;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
    return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string sha256_hex(std::string_view data) {
    auto d = sha256(data);
    return hex(d.data(), d.size());
}

std::string sha256_bytes(std::string_view data) {
    auto d = sha256(data);
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    // The length is not secret here (hash and digest sizes are fixed); the content is.
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
    return diff == 0;
}

std::string base64_encode(std::string_view data) {
    std::size_t olen = 0;
    mbedtls_base64_encode(nullptr, 0, &olen, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string out(olen, '\0');
    if (mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &olen,
                              reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 0)
        return {};
    out.resize(olen);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t olen = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(text.data());
    int rc = mbedtls_base64_decode(nullptr, 0, &olen, in, text.size());
    if (rc == MBEDTLS_ERR_BASE64_INVALID_CHARACTER) return std::nullopt;
    std::string out(olen, '\0');
    if (mbedtls_base64_decode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &olen, in, text.size()) != 0)
        return std::nullopt;
    out.resize(olen);
    return out;
}

std::string hash_password(std::string_view password, std::uint32_t iterations) {
    if (iterations < 10'000) throw std::invalid_argument("hash_password: fewer than 10000 iterations");
    std::string salt(k_salt_bytes, '\0');
    for (std::size_t got = 0; got < salt.size();) {
        ssize_t n = ::getrandom(salt.data() + got, salt.size() - got, 0);
        if (n < 0) throw std::runtime_error("getrandom failed");
        got += static_cast<std::size_t>(n);
    }
    unsigned char out[k_hash_bytes];
    if (!pbkdf2(password, salt, iterations, out)) throw std::runtime_error("PBKDF2 failed");
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
           base64_encode(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

password_check verify_password(std::string_view password, std::string_view encoded_hash) {
    auto h = parse_hash(encoded_hash);
    if (!h) return password_check::malformed_hash;
    unsigned char out[k_hash_bytes];
    if (!pbkdf2(password, h->salt, h->iterations, out)) return password_check::malformed_hash;
    return constant_time_equal(std::string_view(reinterpret_cast<const char*>(out), sizeof out), h->hash)
               ? password_check::match
               : password_check::mismatch;
}

std::optional<authorization> parse_authorization(std::string_view header) {
    auto sp = header.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    std::string_view scheme = header.substr(0, sp);
    std::string_view rest = header.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    if (rest.empty()) return std::nullopt;
    authorization a;
    if (iequals(scheme, "Bearer")) {
        a.kind = authorization::scheme::bearer;
        a.secret = std::string(rest);
        return a;
    }
    if (!iequals(scheme, "Basic")) return std::nullopt;
    auto decoded = base64_decode(rest);
    if (!decoded) return std::nullopt;
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    a.kind = authorization::scheme::basic;
    a.user = decoded->substr(0, colon);
    a.secret = decoded->substr(colon + 1);
    return a;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
    std::string raw(user);
    raw += ':';
    raw += password;
    return "Basic " + base64_encode(raw);
}

std::string bearer_authorization(std::string_view token) { return "Bearer " + std::string(token); }

struct authenticator::impl {
    struct user_state {
        user_entry entry;
        std::string token_digest;  // raw 32 bytes of token_sha256, or empty
        // SHA-256 of (password_hash, '\0', password) after a successful PBKDF2 check; guarded by mu.
        std::string verified;
    };

    std::vector<user_state> users;
    std::size_t max_pending;
    std::atomic<std::size_t> pending{0};
    std::mutex mu;
    asio::thread_pool worker{1};
    // Checked when the user is unknown, so that path costs one PBKDF2 like any other. A valid
    // encoding whose hash matches no password (all-zero salt and hash).
    std::string dummy_hash = "pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
};

authenticator::authenticator(std::vector<user_entry> users, std::size_t max_pending) : impl_(std::make_shared<impl>()) {
    impl_->max_pending = max_pending;
    for (auto& u : users) {
        impl::user_state s;
        if (!u.token_sha256.empty()) {
            std::string raw;
            for (std::size_t i = 0; i + 1 < u.token_sha256.size(); i += 2)
                raw += static_cast<char>(std::stoi(u.token_sha256.substr(i, 2), nullptr, 16));
            s.token_digest = raw;
        }
        s.entry = std::move(u);
        impl_->users.push_back(std::move(s));
    }
}

authenticator::~authenticator() { impl_->worker.join(); }

bool authenticator::empty() const noexcept { return impl_->users.empty(); }

asio::awaitable<boost::system::result<principal>> authenticator::authenticate(std::string header) {
    auto st = impl_;
    auto a = parse_authorization(header);
    if (!a) co_return boost::system::error_code(errc::unauthenticated);
    auto to_principal = [](const user_entry& e) { return principal{e.name, e.roles, e.categories}; };

    if (a->kind == authorization::scheme::bearer) {
        auto digest = sha256(a->secret);
        std::string_view d(reinterpret_cast<const char*>(digest.data()), digest.size());
        const impl::user_state* found = nullptr;
        for (const auto& u : st->users)  // compare against every user: no early exit on a match
            if (!u.token_digest.empty() && constant_time_equal(d, u.token_digest) && !found) found = &u;
        if (found) co_return to_principal(found->entry);
        co_return boost::system::error_code(errc::bad_credentials);
    }

    impl::user_state* user = nullptr;
    for (auto& u : st->users)
        if (u.entry.name == a->user && !u.entry.password_hash.empty()) user = &u;
    const std::string hash = user ? user->entry.password_hash : st->dummy_hash;
    const auto fast = sha256(hash + '\0' + a->secret);
    const std::string fast_digest(reinterpret_cast<const char*>(fast.data()), fast.size());
    if (user) {
        std::lock_guard lock(st->mu);
        if (!user->verified.empty() && constant_time_equal(user->verified, fast_digest)) co_return to_principal(user->entry);
    }
    if (st->pending.fetch_add(1) >= st->max_pending) {
        st->pending.fetch_sub(1);
        co_return boost::system::error_code(errc::auth_busy);
    }
    // PBKDF2 on the worker thread; the handler (this coroutine's continuation) is only carried
    // through the worker and invoked back on this coroutine's executor. The initiation captures
    // nothing but a reference to `job`, which lives in this suspended frame: GCC 12 destroys
    // non-trivial temporaries of a co_await full-expression twice (asio issue #1007), so no
    // capture with a destructor may appear there.
    struct pbkdf2_job {
        asio::thread_pool* worker;
        std::string hash;
        std::string password;
    } job{&st->worker, hash, a->secret};
    auto check = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(password_check)>(
        [&job](auto handler) {
            auto home = asio::get_associated_executor(handler);
            asio::post(*job.worker, [handler = std::move(handler), home, &job]() mutable {
                const password_check r = verify_password(job.password, job.hash);
                asio::post(home, [handler = std::move(handler), r]() mutable { std::move(handler)(r); });
            });
        },
        asio::use_awaitable);
    st->pending.fetch_sub(1);
    if (!user || check != password_check::match) co_return boost::system::error_code(errc::bad_credentials);
    {
        std::lock_guard lock(st->mu);
        user->verified = fast_digest;
    }
    co_return to_principal(user->entry);
}

}  // namespace edgesync::net
