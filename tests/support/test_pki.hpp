// A throw-away PKI for TLS tests, made with mbedTLS's certificate writer (no openssl needed, so it
// works the same under qemu): a CA, certificates it signs for chosen names and validity windows,
// and a self-signed one. Keys are ECDSA P-256. Files are written as PEM into a temp_dir, in the
// formats nginx, curl and openssl read too.
#pragma once

#include "support/temp_dir.hpp"

#include <string>
#include <vector>

namespace edgesync::test {

struct issued {
    std::string cert_file;  // PEM certificate (leaf only)
    std::string key_file;   // PEM key (SEC1 "EC PRIVATE KEY")
    std::string cert_pem;
    std::string spki_sha256_b64;  // "sha256/..." pin of the public key
    std::string cert_sha256_hex;  // pin of the certificate
};

struct cert_spec {
    std::string common_name = "localhost";
    std::vector<std::string> dns_names = {"localhost"};
    std::vector<std::string> ip_addresses = {"127.0.0.1"};
    // Validity as YYYYMMDDhhmmss (UTC). Defaults: valid from 2020 to 2049.
    std::string not_before = "20200101000000";
    std::string not_after = "20491231235959";
    bool is_ca = false;
    bool client = false;  // extended key usage clientAuth instead of serverAuth
};

class test_pki {
public:
    // Makes the CA ("edgesync test CA <name>") under dir.
    test_pki(const temp_dir& dir, std::string name = "root");
    ~test_pki();
    test_pki(const test_pki&) = delete;
    test_pki& operator=(const test_pki&) = delete;

    const std::string& ca_file() const noexcept { return ca_.cert_file; }
    const issued& ca() const noexcept { return ca_; }

    // A certificate signed by this CA, written as <file_stem>.crt / .key.
    issued issue(const std::string& file_stem, const cert_spec& spec = {});
    // A self-signed certificate (no CA vouches for it).
    issued self_signed(const std::string& file_stem, const cert_spec& spec = {});

    struct impl;

private:
    const temp_dir& dir_;
    impl* impl_;
    issued ca_;
};

}  // namespace edgesync::test
