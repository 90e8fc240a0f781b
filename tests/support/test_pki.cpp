#include "support/test_pki.hpp"

#include "net/auth.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <stdexcept>

namespace edgesync::test {

namespace {

void check(int rc, const char* what) {
    if (rc != 0) throw std::runtime_error(std::string("test_pki: ") + what + " failed: " + std::to_string(rc));
}

struct key {
    key() { mbedtls_pk_init(&pk); }
    ~key() { mbedtls_pk_free(&pk); }
    key(const key&) = delete;
    key& operator=(const key&) = delete;
    mbedtls_pk_context pk;
};

}  // namespace

struct test_pki::impl {
    impl() {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        check(psa_crypto_init() == PSA_SUCCESS ? 0 : -1, "psa_crypto_init");
        check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0), "drbg seed");
    }
    ~impl() {
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }

    void generate(key& k) {
        check(mbedtls_pk_setup(&k.pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "pk_setup");
        check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k.pk), mbedtls_ctr_drbg_random, &drbg), "gen_key");
    }

    std::string key_pem(const key& k) {
        std::array<unsigned char, 2048> buf{};
        check(mbedtls_pk_write_key_pem(&k.pk, buf.data(), buf.size()), "write key");
        return reinterpret_cast<const char*>(buf.data());
    }

    // Writes a certificate for `subject_key`, signed by issuer_key under issuer_name.
    std::string write_cert(const cert_spec& spec, key& subject_key, key& issuer_key, const std::string& issuer_name) {
        mbedtls_x509write_cert w;
        mbedtls_x509write_crt_init(&w);
        struct guard {
            mbedtls_x509write_cert* w;
            ~guard() { mbedtls_x509write_crt_free(w); }
        } g{&w};
        mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
        mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
        mbedtls_x509write_crt_set_subject_key(&w, &subject_key.pk);
        mbedtls_x509write_crt_set_issuer_key(&w, &issuer_key.pk);
        const std::string subject = "CN=" + spec.common_name + ",O=edgesync tests";
        check(mbedtls_x509write_crt_set_subject_name(&w, subject.c_str()), "subject");
        check(mbedtls_x509write_crt_set_issuer_name(&w, issuer_name.c_str()), "issuer");
        std::array<unsigned char, 8> serial{};
        ++serial_counter;
        for (std::size_t i = 0; i < serial.size(); ++i) serial[i] = static_cast<unsigned char>(serial_counter >> (8 * (7 - i)));
        serial[0] |= 0x10;  // positive, non-zero leading byte
        check(mbedtls_x509write_crt_set_serial_raw(&w, serial.data(), serial.size()), "serial");
        check(mbedtls_x509write_crt_set_validity(&w, spec.not_before.c_str(), spec.not_after.c_str()), "validity");
        check(mbedtls_x509write_crt_set_basic_constraints(&w, spec.is_ca ? 1 : 0, spec.is_ca ? 0 : -1), "basic constraints");
#if defined(MBEDTLS_MD_CAN_SHA1)
        check(mbedtls_x509write_crt_set_subject_key_identifier(&w), "ski");
        check(mbedtls_x509write_crt_set_authority_key_identifier(&w), "aki");
#endif
        check(mbedtls_x509write_crt_set_key_usage(
                  &w, spec.is_ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN) : MBEDTLS_X509_KU_DIGITAL_SIGNATURE),
              "key usage");
        mbedtls_asn1_sequence eku{};
        if (!spec.is_ca) {
            const char* oid = spec.client ? MBEDTLS_OID_CLIENT_AUTH : MBEDTLS_OID_SERVER_AUTH;
            eku.buf.tag = MBEDTLS_ASN1_OID;
            eku.buf.p = reinterpret_cast<unsigned char*>(const_cast<char*>(oid));
            eku.buf.len = spec.client ? MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH) : MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH);
            check(mbedtls_x509write_crt_set_ext_key_usage(&w, &eku), "ext key usage");
        }
        // Subject alternative names: DNS names, then IPv4 addresses (4 raw bytes each).
        std::vector<mbedtls_x509_san_list> sans(spec.dns_names.size() + spec.ip_addresses.size());
        std::vector<std::array<unsigned char, 4>> ips(spec.ip_addresses.size());
        std::size_t i = 0;
        for (const auto& d : spec.dns_names) {
            sans[i].node.type = MBEDTLS_X509_SAN_DNS_NAME;
            sans[i].node.san.unstructured_name.p = reinterpret_cast<unsigned char*>(const_cast<char*>(d.data()));
            sans[i].node.san.unstructured_name.len = d.size();
            ++i;
        }
        for (std::size_t j = 0; j < spec.ip_addresses.size(); ++j, ++i) {
            check(inet_pton(AF_INET, spec.ip_addresses[j].c_str(), ips[j].data()) == 1 ? 0 : -1, "ip address");
            sans[i].node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
            sans[i].node.san.unstructured_name.p = ips[j].data();
            sans[i].node.san.unstructured_name.len = 4;
        }
        for (std::size_t k = 0; k + 1 < sans.size(); ++k) sans[k].next = &sans[k + 1];
        if (!sans.empty()) check(mbedtls_x509write_crt_set_subject_alternative_name(&w, sans.data()), "san");
        std::array<unsigned char, 4096> buf{};
        check(mbedtls_x509write_crt_pem(&w, buf.data(), buf.size(), mbedtls_ctr_drbg_random, &drbg), "write cert");
        return reinterpret_cast<const char*>(buf.data());
    }

    static void fill_hashes(issued& out) {
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        check(mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(out.cert_pem.c_str()), out.cert_pem.size() + 1),
              "parse back");
        std::array<unsigned char, 32> h{};
        mbedtls_sha256(crt.pk_raw.p, crt.pk_raw.len, h.data(), 0);
        out.spki_sha256_b64 = "sha256/" + net::base64_encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
        mbedtls_sha256(crt.raw.p, crt.raw.len, h.data(), 0);
        out.cert_sha256_hex = net::hex_encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
        mbedtls_x509_crt_free(&crt);
    }

    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    key ca_key;
    std::string ca_name;
    std::uint64_t serial_counter = 0x1000;
};

test_pki::test_pki(const temp_dir& dir, std::string name) : dir_(dir), impl_(new impl) {
    impl_->generate(impl_->ca_key);
    cert_spec spec;
    spec.common_name = "edgesync test CA " + name;
    spec.dns_names.clear();
    spec.ip_addresses.clear();
    spec.is_ca = true;
    impl_->ca_name = "CN=" + spec.common_name + ",O=edgesync tests";
    ca_.cert_pem = impl_->write_cert(spec, impl_->ca_key, impl_->ca_key, impl_->ca_name);
    ca_.cert_file = dir_.write("ca-" + name + ".crt", ca_.cert_pem, 0644);
    ca_.key_file = dir_.write("ca-" + name + ".key", impl_->key_pem(impl_->ca_key));
    impl::fill_hashes(ca_);
}

test_pki::~test_pki() { delete impl_; }

issued test_pki::issue(const std::string& file_stem, const cert_spec& spec) {
    key k;
    impl_->generate(k);
    issued out;
    out.cert_pem = impl_->write_cert(spec, k, impl_->ca_key, impl_->ca_name);
    out.cert_file = dir_.write(file_stem + ".crt", out.cert_pem, 0644);
    out.key_file = dir_.write(file_stem + ".key", impl_->key_pem(k));
    impl::fill_hashes(out);
    return out;
}

issued test_pki::self_signed(const std::string& file_stem, const cert_spec& spec) {
    key k;
    impl_->generate(k);
    issued out;
    const std::string name = "CN=" + spec.common_name + ",O=edgesync tests";
    out.cert_pem = impl_->write_cert(spec, k, k, name);
    out.cert_file = dir_.write(file_stem + ".crt", out.cert_pem, 0644);
    out.key_file = dir_.write(file_stem + ".key", impl_->key_pem(k));
    impl::fill_hashes(out);
    return out;
}

}  // namespace edgesync::test
