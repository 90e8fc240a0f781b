#!/usr/bin/env bash
# The chaos run (issue 9): a child syncing both ways through the fault proxy while it is
# SIGKILLed at random moments and restarted (and its parent once). Runs the hidden test
# "[chaos]" once per seed, in a row, and stops at the first failure; each seed is printed first,
# and running with that seed again reproduces the run (faults, data sizes and kill moments).
#   tests/chaos/run.sh                 three runs, each with a fresh random seed
#   tests/chaos/run.sh SEED [SEED...]  those seeds
# EDGESYNC_CHAOS_DOWN / _UP (resources created at the parent / the child, default 20000 each)
# and EDGESYNC_CHAOS_KILLS (child kills, default 30) size it; EDGESYNC_BUILD=DIR uses the
# edgesync_tests and edgesync already built there instead of building build/host. Loopback only.
source "$(dirname "$0")/../../cross/lib.sh"
dir=${EDGESYNC_BUILD:-$("$ES_ROOT/cross/build.sh" host edgesync_tests edgesync)}
seeds=("$@")
if [ ${#seeds[@]} -eq 0 ]; then
    for _ in 1 2 3; do seeds+=("$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')"); done
fi
run=0
for seed in "${seeds[@]}"; do
    run=$((run + 1))
    es_log "chaos run $run of ${#seeds[@]}: seed $seed"
    t0=$(date +%s)
    EDGESYNC_CHAOS_SEED=$seed "$dir/edgesync_tests" "[chaos]" --durations yes 2>&1 |
        grep -v '^  ts=' || es_die "chaos run $run failed: seed $seed (tests/chaos/run.sh $seed reproduces it)"
    es_log "chaos run $run passed in $(( $(date +%s) - t0 )) s: seed $seed"
done
es_log "chaos: ${#seeds[@]} runs passed, seeds ${seeds[*]}"
