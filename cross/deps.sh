#!/usr/bin/env bash
# Installs the Debian packages a build needs. Idempotent and quiet when everything is present.
#   cross/deps.sh host     compilers, CMake, the bookworm -dev packages of DESIGN.md §6
#   cross/deps.sh cross    + the three ARM cross compilers and qemu-user
#   cross/deps.sh bench    + what the benchmarks drive (wrk)
# Never installs libboost-dev (1.74, no Boost.JSON, conflicts with 1.81) nor libmbedtls-dev (2.28):
# mbedTLS 3.6 comes from cross/mbedtls.sh so the two can never mix.
source "$(dirname "$0")/lib.sh"

host_pkgs=(g++ cmake ninja-build ccache git file pkg-config ca-certificates dpkg-dev bzip2 xz-utils
           libboost1.81-dev libexpat1-dev libsqlite3-dev zlib1g-dev catch2
           # real peers for the net tests (tests/net/tls_peers_test.cpp): never started as services
           curl nginx-light openssl
           # the package test (cross/package_test.sh): pgrep
           procps
           # an independent Atom parser for the published feeds (tests/agent/feed_publisher_test.cpp)
           python3-feedparser
           # the admin page driven in a real browser (tests/agent/admin_page_test.cpp)
           chromium chromium-driver)
cross_pkgs=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-arm-linux-gnueabi qemu-user-static)
bench_pkgs=(wrk time)

case ${1:-host} in
    host) es_apt_install "${host_pkgs[@]}" ;;
    cross) es_apt_install "${host_pkgs[@]}" "${cross_pkgs[@]}" ;;
    bench) es_apt_install "${host_pkgs[@]}" "${bench_pkgs[@]}" ;;
    *) es_die "usage: cross/deps.sh host|cross|bench" ;;
esac
# A FHIR client nobody here wrote, for tests/agent/fhir_client_test.cpp: fhir-kit-client from npm,
# run with the machine's Node.js (Debian's, unless one is already installed).
if [ "${1:-host}" != bench ]; then
    command -v node >/dev/null || es_apt_install nodejs
    command -v npm >/dev/null || es_apt_install npm
    fkc=$ES_CACHE/npm-fhir-kit-client-2.0.3
    if [ ! -f "$fkc/node_modules/fhir-kit-client/package.json" ]; then
        es_log "npm install fhir-kit-client@2.0.3"
        npm install --prefix "$fkc" --no-audit --no-fund --loglevel=error fhir-kit-client@2.0.3 >/dev/null ||
            es_die "npm install fhir-kit-client@2.0.3 failed"
    fi
fi
if dpkg-query -W -f='${Status}' libmbedtls-dev 2>/dev/null | grep -q 'install ok installed'; then
    es_log "warning: libmbedtls-dev (2.28) is installed; the build ignores it and uses mbedTLS 3.6 from the cache"
fi
