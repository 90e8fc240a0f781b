#!/usr/bin/env bash
# Configures and builds one flavour and prints its build folder.
#   cross/build.sh host|host-asan|aarch64|armhf|armel [cmake --build target...]   (default: all;
#   the edgesync binary is always built)
#     host       static x86-64 binary, Release, tests                 -> build/host
#     host-asan  dynamic x86-64, ASan+UBSan, tests                    -> build/host-asan
#     aarch64    static, size-optimised (MinSizeRel, section GC)      -> build/aarch64
#     armhf      static ARMv7, size-optimised                         -> build/armhf
#     armel      static ARMv5TE (ARMv6 Pi Zero/1), size-optimised     -> build/armel
# The stripped binary is also copied to dist/edgesync-<flavour>.
# Environment: EDGESYNC_WERROR=1 turns warnings into errors (CI does).
# Dependencies must be installed first (cross/deps.sh); mbedTLS and debroots are built on demand.
source "$(dirname "$0")/lib.sh"

flavour=${1:?usage: cross/build.sh host|host-asan|aarch64|armhf|armel [target]}
shift
build_targets=("${@:-all}")
[ "${build_targets[*]}" = all ] || build_targets+=(edgesync)
target=${flavour%-asan}
triple=$(es_triple "$target")
mbedtls=$("$ES_ROOT/cross/mbedtls.sh" "$target")

args=(-G Ninja -DEDGESYNC_MBEDTLS_ROOT="$mbedtls" -DEDGESYNC_WERROR="$([ "${EDGESYNC_WERROR:-0}" = 1 ] && echo ON || echo OFF)")
case $flavour in
    host) args+=(-DCMAKE_BUILD_TYPE=Release -DEDGESYNC_STATIC=ON) ;;
    # -O0: with ASan+UBSan, GCC 12 takes ~4x longer to compile this code at -O1 (83 s against 22 s
    # for agent/sync/replicator.cpp), which alone would push CI past its 40 minutes.
    host-asan) args+=(-DCMAKE_BUILD_TYPE=Debug -DEDGESYNC_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS_DEBUG="-g -O0") ;;
    aarch64|armhf|armel)
        debroot=$("$ES_ROOT/cross/debroot.sh" "$target")
        args+=(-DCMAKE_TOOLCHAIN_FILE="$ES_ROOT/toolchains/$triple.cmake" -DDEBROOT="$debroot"
               -DCMAKE_BUILD_TYPE=MinSizeRel -DEDGESYNC_STATIC=ON -DEDGESYNC_SMALL=ON) ;;
    *) es_die "unknown flavour '$flavour'" ;;
esac

dir=$ES_ROOT/build/$flavour
mkdir -p "$ES_ROOT/build"
cmake -S "$ES_ROOT" -B "$dir" "${args[@]}" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; es_die "configure failed ($flavour)"; }
rm -f "$dir.configure.log"
cmake --build "$dir" --target "${build_targets[@]}" -j"$(nproc)" >&2 || es_die "build failed ($flavour)"

strip_tool=strip; [ "$target" != host ] && strip_tool=$triple-strip
mkdir -p "$ES_ROOT/dist"
$strip_tool -o "$ES_ROOT/dist/edgesync-$flavour" "$dir/edgesync"
echo "$dir"
