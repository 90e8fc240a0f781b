#include "net/sha256.hpp"

#include <mbedtls/sha256.h>

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define EDGESYNC_SHA256_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif
#define EDGESYNC_SHA256_ARM 1
#endif

namespace edgesync::net {
namespace {

[[maybe_unused]] constexpr std::uint32_t k_round[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// The compression function over `blocks` 64-byte blocks; `state` is H0..H7.
using compress_fn = void (*)(std::uint32_t state[8], const unsigned char* data, std::size_t blocks);

#if EDGESYNC_SHA256_X86
// SHA-NI keeps the state as two vectors, ABEF and CDGH; SHA256RNDS2 does two rounds and the
// message schedule is four words per vector: W[4j..4j+3] =
//   msg2(msg1(W[j-4], W[j-3]) + (W[j-2] words 1..3, W[j-1] word 0), W[j-1]).
__attribute__((target("sha,sse4.1,ssse3"))) void compress_shani(std::uint32_t state[8], const unsigned char* data, std::size_t blocks) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
    __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
    const __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    for (; blocks > 0; --blocks, data += 64) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i w[4];
        for (int i = 0; i < 4; ++i) w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * i)), byte_swap);
        for (int j = 0; j < 16; ++j) {
            __m128i& cur = w[j & 3];
            if (j >= 4) {
                const __m128i& m1 = w[(j - 1) & 3];
                const __m128i& m2 = w[(j - 2) & 3];
                const __m128i& m3 = w[(j - 3) & 3];
                cur = _mm_sha256msg1_epu32(cur, m3);  // cur holds W[j-4]
                cur = _mm_add_epi32(cur, _mm_alignr_epi8(m1, m2, 4));
                cur = _mm_sha256msg2_epu32(cur, m1);
            }
            __m128i k = _mm_add_epi32(cur, _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_round + 4 * j)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, k);
            k = _mm_shuffle_epi32(k, 0x0E);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, k);
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state), dcba);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), hgfe);
}

bool cpu_has_sha() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool sse41 = (c & bit_SSE4_1) != 0, ssse3 = (c & bit_SSSE3) != 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return sse41 && ssse3 && (b & bit_SHA) != 0;
}
#endif

#if EDGESYNC_SHA256_ARM
// SHA256H / SHA256H2 do four rounds on ABCD and EFGH; SHA256SU0 / SU1 extend the schedule:
//   W[4j..4j+3] = su1(su0(W[j-4], W[j-3]), W[j-2], W[j-1]).
__attribute__((target("+crypto"))) void compress_armv8(std::uint32_t state[8], const unsigned char* data, std::size_t blocks) {
    uint32x4_t abcd = vld1q_u32(state), efgh = vld1q_u32(state + 4);
    for (; blocks > 0; --blocks, data += 64) {
        const uint32x4_t abcd_in = abcd, efgh_in = efgh;
        uint32x4_t w[4];
        for (int i = 0; i < 4; ++i) w[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 16 * i)));
        for (int j = 0; j < 16; ++j) {
            uint32x4_t& cur = w[j & 3];
            if (j >= 4) cur = vsha256su1q_u32(vsha256su0q_u32(cur, w[(j - 3) & 3]), w[(j - 2) & 3], w[(j - 1) & 3]);
            const uint32x4_t k = vaddq_u32(cur, vld1q_u32(k_round + 4 * j));
            const uint32x4_t abcd_before = abcd;
            abcd = vsha256hq_u32(abcd, efgh, k);
            efgh = vsha256h2q_u32(efgh, abcd_before, k);
        }
        abcd = vaddq_u32(abcd, abcd_in);
        efgh = vaddq_u32(efgh, efgh_in);
    }
    vst1q_u32(state, abcd);
    vst1q_u32(state + 4, efgh);
}

bool cpu_has_sha() { return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0; }
#endif

compress_fn accelerated() {
#if EDGESYNC_SHA256_X86
    static const compress_fn f = cpu_has_sha() ? compress_shani : nullptr;
    return f;
#elif EDGESYNC_SHA256_ARM
    static const compress_fn f = cpu_has_sha() ? compress_armv8 : nullptr;
    return f;
#else
    return nullptr;
#endif
}

// The padding (FIPS 180-4 §5.1.1) around a compression function.
sha256_digest run(compress_fn compress, std::string_view in) {
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t whole = in.size() / 64;
    if (whole) compress(h, p, whole);
    unsigned char tail[128] = {};
    const std::size_t rest = in.size() % 64;
    if (rest) std::memcpy(tail, p + whole * 64, rest);
    tail[rest] = 0x80;
    const std::size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    const std::uint64_t bits = static_cast<std::uint64_t>(in.size()) * 8;
    for (int i = 0; i < 8; ++i) tail[tail_len - 1 - static_cast<std::size_t>(i)] = static_cast<unsigned char>(bits >> (8 * i));
    compress(h, tail, tail_len / 64);
    sha256_digest out;
    for (std::size_t i = 0; i < 8; ++i)
        for (std::size_t b = 0; b < 4; ++b) out[4 * i + b] = static_cast<unsigned char>(h[i] >> (24 - 8 * b));
    return out;
}

}  // namespace

sha256_digest sha256_portable(std::string_view data) {
    sha256_digest out;
    mbedtls_sha256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), 0);
    return out;
}

bool sha256_accelerated(std::string_view data, sha256_digest& out) {
    const compress_fn f = accelerated();
    if (!f) return false;
    out = run(f, data);
    return true;
}

sha256_digest sha256(std::string_view data) {
    if (const compress_fn f = accelerated()) return run(f, data);
    return sha256_portable(data);
}

const char* sha256_implementation() {
#if EDGESYNC_SHA256_X86
    if (accelerated()) return "x86-64 SHA-NI";
#elif EDGESYNC_SHA256_ARM
    if (accelerated()) return "ARMv8 SHA2";
#endif
    return "portable";
}

}  // namespace edgesync::net
