#!/usr/bin/env bash
# The whole test run — the README's test command, and what .ci/run calls. On a fresh Debian 12
# machine as root it installs what it needs, then:
#   1. host: static x86-64 build with warnings as errors; unit + integration tests (ctest)
#   2. host-asan: the same tests under AddressSanitizer + UndefinedBehaviorSanitizer, and the
#      libFuzzer targets for 60 s each (tests/fuzz/run.sh)
#   3. aarch64: static size-optimised cross build; the test suite under qemu-aarch64
#   4. armhf, armel: static cross builds; `edgesync --version` under qemu-arm (Cortex-A7, ARM1176)
# and prints a summary (times, stripped sizes). Exits non-zero on the first failure.
# A second run reuses the caches (packages, mbedTLS, debroots, ccache) and the build folders.
source "$(dirname "$0")/lib.sh"
export EDGESYNC_WERROR=1

t_start=$(date +%s)
declare -A took size
step() { local name=$1; shift; local t0; t0=$(date +%s); es_log "== $name"; "$@"; took[$name]=$(( $(date +%s) - t0 )); }

run_ctest() {  # run_ctest BUILD_DIR [ctest args...]
    local dir=$1; shift
    (cd "$dir" && ctest --output-on-failure --timeout 300 -j"$(nproc)" "$@")
}

# ctest learns the Catch test names at build time and keeps them in a CMake list, so a name with
# ';' splits into bogus tests and an unbalanced '[' or ']' swallows every later test into one that
# runs nothing. Refuse such names, and check that every Catch test became a ctest test.
check_test_names() {  # check_test_names BUILD_DIR FLAVOUR
    local dir=$1 names catch_n ctest_n
    # shellcheck disable=SC2046
    # Catch2 v2 exits with the number of tests it listed, so the status says nothing here.
    names=$({ $(es_emulator "$2") "$dir/edgesync_tests" --list-test-names-only || true; } | grep -v '^$')
    [ -n "$names" ] || es_die "edgesync_tests listed no tests"
    if grep -n '[][;]' <<<"$names"; then es_die "test names must not contain ';', '[' or ']' (ctest splits or merges them)"; fi
    catch_n=$(wc -l <<<"$names")
    ctest_n=$(cd "$dir" && ctest -N | grep -c '^  Test *#')
    [ "$ctest_n" -ge "$catch_n" ] || es_die "ctest knows $ctest_n tests but edgesync_tests has $catch_n"
    echo "$catch_n Catch tests, $ctest_n ctest tests"
}

check_static() {  # check_static BINARY EXPECTED_FILE_ARCH
    local desc; desc=$(file -b "$1")
    echo "$(basename "$1"): $desc"
    [[ $desc == *"statically linked"* ]] || es_die "$1 is not statically linked: $desc"
    [[ $desc == *"$2"* ]] || es_die "$1 is not $2: $desc"
}

check_version_under_qemu() {  # check_version_under_qemu FLAVOUR
    local out
    # shellcheck disable=SC2046
    out=$($(es_emulator "$1") "$ES_ROOT/dist/edgesync-$1" --version) || es_die "edgesync --version failed under qemu ($1)"
    echo "$out"
    grep -q '^mbedtls 3\.6\.' <<<"$out" || es_die "$1: not linked with mbedTLS 3.6"
}

step deps "$ES_ROOT/cross/deps.sh" cross

step host-build "$ES_ROOT/cross/build.sh" host
check_test_names "$ES_ROOT/build/host" host
step host-test run_ctest "$ES_ROOT/build/host"
check_static "$ES_ROOT/dist/edgesync-host" x86-64

step asan-build "$ES_ROOT/cross/build.sh" host-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
check_test_names "$ES_ROOT/build/host-asan" host
step asan-test run_ctest "$ES_ROOT/build/host-asan"
# libFuzzer (clang, ASan + UBSan): each target for 60 s from its seed corpus.
step fuzz "$ES_ROOT/tests/fuzz/run.sh" 60

step aarch64-build "$ES_ROOT/cross/build.sh" aarch64
check_static "$ES_ROOT/dist/edgesync-aarch64" "ARM aarch64"
check_test_names "$ES_ROOT/build/aarch64" aarch64
step aarch64-test run_ctest "$ES_ROOT/build/aarch64"

for arch in armhf armel; do
    step $arch-build "$ES_ROOT/cross/build.sh" $arch edgesync
    check_static "$ES_ROOT/dist/edgesync-$arch" "ARM, EABI5"
    check_version_under_qemu $arch
done

# The .debs of all four, checked; the amd64 one installed, run as its service user and purged.
debs=()
for f in host aarch64 armhf armel; do debs+=("$("$ES_ROOT/cross/package.sh" $f)"); done
step packages "$ES_ROOT/cross/package_test.sh" "${debs[@]}"

for f in host aarch64 armhf armel; do size[$f]=$(stat -c %s "$ES_ROOT/dist/edgesync-$f"); done
echo
echo "== summary ($(( $(date +%s) - t_start )) s in all)"
for s in deps host-build host-test asan-build asan-test fuzz aarch64-build aarch64-test armhf-build armel-build packages; do
    printf '  %-14s %5s s\n' "$s" "${took[$s]:-?}"
done
for f in host aarch64 armhf armel; do
    printf '  dist/edgesync-%-8s %9d bytes stripped (%s MiB)\n' "$f" "${size[$f]}" "$(awk "BEGIN{printf \"%.2f\", ${size[$f]}/1048576}")"
done
[ "${size[aarch64]}" -le $((5 * 1024 * 1024)) ] || es_die "aarch64 binary exceeds 5 MiB"
echo "all tests passed"
