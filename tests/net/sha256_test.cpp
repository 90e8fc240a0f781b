// SHA-256: the CPU-instruction paths give the FIPS 180-4 digests and agree with mbedTLS's portable
// code on every length around the block and padding boundaries and on large inputs. Natively on an
// x86-64 with SHA-NI, and under qemu-aarch64 (which offers the SHA2 extension) for the ARMv8 path.
#include "net/auth.hpp"
#include "net/sha256.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <string>

using namespace edgesync::net;

namespace {
std::string hex(const sha256_digest& d) {
    std::string s;
    char b[3];
    for (unsigned char c : d) {
        std::snprintf(b, sizeof b, "%02x", c);
        s += b;
    }
    return s;
}
}  // namespace

TEST_CASE("SHA-256 gives the FIPS 180-4 digests, and the accelerated path agrees with the portable one on every length", "[net][sha256]") {
    INFO("implementation: " << sha256_implementation());
    // FIPS 180-4 / NIST CSRC examples.
    const std::string million_a(1'000'000, 'a');
    for (const auto& [in, want] : {std::pair<std::string, std::string>{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                                   {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                                   {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
                                   {million_a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"}}) {
        CHECK(hex(sha256(in)) == want);
        CHECK(hex(sha256_portable(in)) == want);
        CHECK(sha256_hex(in) == want);
    }
    sha256_digest fast;
    if (!sha256_accelerated("abc", fast)) {
        WARN("this CPU has no SHA instructions: only the portable path was checked");
        CHECK(std::string(sha256_implementation()) == "portable");
        return;
    }
    std::mt19937_64 rng(20261203);
    std::string data(70'000, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    // Every length up to three blocks (each padding case), then longer random slices.
    for (std::size_t n = 0; n <= 200; ++n) {
        REQUIRE(sha256_accelerated(std::string_view(data).substr(0, n), fast));
        INFO("length " << n);
        CHECK(fast == sha256_portable(std::string_view(data).substr(0, n)));
    }
    for (int i = 0; i < 200; ++i) {
        const std::size_t at = rng() % 1000, n = rng() % (data.size() - 1000);
        const std::string_view piece = std::string_view(data).substr(at, n);
        REQUIRE(sha256_accelerated(piece, fast));
        INFO("offset " << at << " length " << n);
        CHECK(fast == sha256_portable(piece));
    }
}
