#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a while.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      (default: 60 s, every target in targets.cmake)
# Up to $(nproc) targets run at once (EDGESYNC_FUZZ_JOBS overrides), each on one core, so CI's
# `run.sh 60` over the seven targets takes about four minutes on two cores, plus the build.
# Seeds: tests/fuzz/seeds/<target>/ and tests/fuzz/regressions/<target>/ (saved crashers), plus,
# for the feed reader, the real pages in ../shared/fixtures/openmrs/atomfeed (read in place, never
# copied). New inputs go to a scratch corpus under build/fuzz/corpus/. Each target's log is
# build/fuzz/logs/<target>.log; its last lines (libFuzzer's final stats: execs, cov, ft, corpus)
# are printed when it ends. A crash, leak, timeout or broken contract leaves its input in
# build/fuzz/artifacts/<target>/ and fails the script; once fixed, add the input to
# tests/fuzz/regressions/<target>/ so ctest (fuzz_replay.<target>) and every run replay it.
source "$(dirname "$0")/../../cross/lib.sh"

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    read -r -a targets < <(sed -n 's/^set(EDGESYNC_FUZZ_TARGETS \(.*\))$/\1/p' "$ES_ROOT/tests/fuzz/targets.cmake") || true
fi
[ ${#targets[@]} -gt 0 ] || es_die "no fuzz targets (tests/fuzz/targets.cmake)"
jobs=${EDGESYNC_FUZZ_JOBS:-$(nproc)}

es_apt_install clang-14 libclang-rt-14-dev
dir=$ES_ROOT/build/fuzz
mbedtls=$("$ES_ROOT/cross/mbedtls.sh" host)
cmake -S "$ES_ROOT" -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGESYNC_FUZZ=ON -DEDGESYNC_TESTS=OFF -DEDGESYNC_MBEDTLS_ROOT="$mbedtls" \
    > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; es_die "fuzz configure failed"; }
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$dir" --target "${build_targets[@]}" -j"$(nproc)" >&2 || es_die "fuzz build failed"

# run_one TARGET: one fuzzer for $seconds; its exit status is the fuzzer's.
run_one() {
    local t=$1 seeds=()
    local corpus=$dir/corpus/$t artifacts=$dir/artifacts/$t/
    mkdir -p "$corpus" "$artifacts"
    for s in "$ES_ROOT/tests/fuzz/seeds/$t" "$ES_ROOT/tests/fuzz/regressions/$t"; do [ -d "$s" ] && seeds+=("$s"); done
    [ "$t" = feed_reader ] && [ -d "$ES_ROOT/../shared/fixtures/openmrs/atomfeed" ] && seeds+=("$ES_ROOT/../shared/fixtures/openmrs/atomfeed")
    # The fuzzer stops itself at max_total_time; the outer timeout only catches one that cannot.
    (cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        timeout -k 10 $((seconds + 120)) "./fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}")
}

# report TARGET STATUS: the log's end and a one-line summary.
failed=()
report() {
    local t=$1 rc=$2 log=$dir/logs/$1.log done_line execs
    echo "---- $t (exit $rc): $log"
    tail -n 25 "$log"
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    printf 'fuzz %-14s %s  execs=%s  %s\n' "$t" "$([ "$rc" = 0 ] && echo ok || echo FAILED)" "${execs:-?}" \
        "$(sed -E 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+//' <<<"${done_line:-no final stats}")"
    [ "$rc" = 0 ] || failed+=("$t")
}

mkdir -p "$dir/logs"
es_log "fuzzing ${targets[*]} for ${seconds}s each, $jobs at a time"
declare -A pid_of=()  # pid -> target
next=0
while [ $next -lt ${#targets[@]} ] || [ ${#pid_of[@]} -gt 0 ]; do
    while [ $next -lt ${#targets[@]} ] && [ ${#pid_of[@]} -lt "$jobs" ]; do
        t=${targets[$next]}
        next=$((next + 1))
        es_log "fuzzing $t"
        run_one "$t" > "$dir/logs/$t.log" 2>&1 &
        pid_of[$!]=$t
    done
    # Wait for any one of them, then report every one that has ended.
    wait -n || true
    for pid in "${!pid_of[@]}"; do
        kill -0 "$pid" 2>/dev/null && continue
        rc=0
        wait "$pid" || rc=$?
        report "${pid_of[$pid]}" "$rc"
        unset "pid_of[$pid]"
    done
done
[ ${#failed[@]} -eq 0 ] || es_die "fuzzer(s) failed: ${failed[*]} (inputs saved in $dir/artifacts/)"
es_log "fuzzing done: ${targets[*]}"
