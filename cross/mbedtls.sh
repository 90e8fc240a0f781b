#!/usr/bin/env bash
# Builds mbedTLS 3.6 LTS from Debian's source package for one target and prints its install prefix.
#   cross/mbedtls.sh host|aarch64|armhf|armel
# bookworm only has mbedTLS 2.28 (end of life upstream), so the source comes from trixie, fetched with
# a private apt state (deb-src only; nothing under /etc/apt changes). The unpacked source (Debian's
# patches applied) and every build are cached under $EDGESYNC_CACHE and reused when present.
source "$(dirname "$0")/lib.sh"

target=${1:?usage: cross/mbedtls.sh host|aarch64|armhf|armel}
triple=$(es_triple "$target")
# The version we test with. If the mirror no longer carries it, the newest 3.6.x trixie has is used
# (with a warning), and the cache key changes with it.
want=${EDGESYNC_MBEDTLS_DEBVERSION:-3.6.6-0.1~deb13u1}

srcroot=$ES_CACHE/src
mkdir -p "$srcroot"
srcdir=$(ls -d "$srcroot"/mbedtls-3.6.* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$srcdir" ] || [ ! -f "$srcdir/.edgesync-complete" ]; then
    es_log "fetching mbedTLS source ($want) from Debian trixie"
    state=$(mktemp -d "$ES_CACHE/aptsrc.XXXX")
    es_apt_state "$state" "Types: deb-src
URIs: $(es_debian_mirror)
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    apt-get "${ES_APT[@]}" update -q >/dev/null
    work=$(mktemp -d "$srcroot/fetch.XXXX")
    if ! (cd "$work" && apt-get "${ES_APT[@]}" source -q --only-source "mbedtls=$want" >/dev/null 2>"$work/err"); then
        es_log "warning: mbedtls $want is not on the mirror ($(tail -n 1 "$work/err")); taking trixie's current 3.6"
        (cd "$work" && apt-get "${ES_APT[@]}" source -q --only-source mbedtls/trixie >/dev/null)
    fi
    unpacked=$(ls -d "$work"/mbedtls-3.6.*/ | head -n 1) || es_die "no mbedtls 3.6 source unpacked"
    name=$(basename "$unpacked")
    rm -rf "${srcroot:?}/$name"
    mv "$unpacked" "$srcroot/$name"
    touch "$srcroot/$name/.edgesync-complete"
    rm -rf "$work" "$state"
    srcdir=$srcroot/$name
fi
version=$(basename "$srcdir" | sed 's/^mbedtls-//')

# Flags that change the produced archives are part of the cache key.
case $target in
    host) flags="-O2 -fPIC" ; tc="" ;;   # PIC: the sanitizer build links it into a PIE
    *)    flags="-Os -ffunction-sections -fdata-sections" ; tc="-DCMAKE_TOOLCHAIN_FILE=$ES_ROOT/toolchains/$triple.cmake" ;;
esac
key=$(printf '%s|%s|%s' "$version" "$flags" "$($triple-gcc -dumpfullversion 2>/dev/null || gcc -dumpfullversion)" | sha256sum | cut -c1-12)
prefix=$ES_CACHE/mbedtls-$version-$triple-$key
if [ ! -f "$prefix/.edgesync-complete" ]; then
    es_log "building mbedTLS $version for $triple into $prefix"
    build=$(mktemp -d "$ES_CACHE/mbedtls-build.XXXX")
    rm -rf "$prefix"
    cc=gcc; [ "$target" != host ] && cc=$triple-gcc
    # mbedTLS's own CMake needs no find_package of ours, so the toolchain file is only used for
    # the compiler; its DEBROOT is irrelevant here.
    cmake -S "$srcdir" -B "$build" -G Ninja $tc -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$flags" \
        -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DGEN_FILES=OFF \
        -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
        -DMBEDTLS_FATAL_WARNINGS=OFF -DCMAKE_INSTALL_PREFIX="$prefix" >"$build/configure.log" 2>&1 \
        || { cat "$build/configure.log" >&2; es_die "mbedTLS configure failed"; }
    cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1 || { tail -n 40 "$build/build.log" >&2; es_die "mbedTLS build failed"; }
    cmake --install "$build" >/dev/null
    touch "$prefix/.edgesync-complete"
    rm -rf "$build"
fi
echo "$prefix"
