#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a while.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      (default: 60 s, every target)
# Seeds: tests/fuzz/seeds/<target>/ plus, for the feed reader, the real pages in
# ../shared/fixtures/openmrs/atomfeed (read in place, never copied). New inputs go to a scratch
# corpus under build/fuzz/; a crash leaves its input in build/fuzz/ and fails the script. Add a
# crasher to tests/fuzz/seeds/<target>/ once fixed: every run replays the seeds first.
source "$(dirname "$0")/../../cross/lib.sh"

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(feed_reader)

es_apt_install clang-14 libclang-rt-14-dev
dir=$ES_ROOT/build/fuzz
mbedtls=$("$ES_ROOT/cross/mbedtls.sh" host)
cmake -S "$ES_ROOT" -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGESYNC_FUZZ=ON -DEDGESYNC_TESTS=OFF -DEDGESYNC_MBEDTLS_ROOT="$mbedtls" \
    > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; es_die "fuzz configure failed"; }
for t in "${targets[@]}"; do
    cmake --build "$dir" --target "fuzz_$t" -j"$(nproc)" >&2 || es_die "fuzz build failed ($t)"
    corpus=$dir/corpus/$t
    mkdir -p "$corpus"
    seeds=("$ES_ROOT/tests/fuzz/seeds/$t")
    [ "$t" = feed_reader ] && [ -d "$ES_ROOT/../shared/fixtures/openmrs/atomfeed" ] && seeds+=("$ES_ROOT/../shared/fixtures/openmrs/atomfeed")
    es_log "fuzzing $t for ${seconds}s"
    (cd "$dir" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "./fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 "$corpus" "${seeds[@]}") 2>&1 | tail -25 || es_die "fuzzer $t failed (input saved in $dir)"
done
