#!/usr/bin/env bash
# The whole benchmark suite (issue 10), one command: builds what it needs, runs every scenario on
# this machine, and writes docs/benchmarks.md (the table, the machine, the date and the command
# behind each figure). Nothing here asserts: the figures are reported, and the report says which
# targets they meet.
#
#   tests/bench/run_all.sh            the full suite (about 15 minutes on 2 cores, more on first use:
#                                     Debian packages, the three ARM builds, the npm modules)
#   BENCH_QUICK=1 tests/bench/run_all.sh   one run per figure and smaller sizes: checks the suite
#                                     itself; its report says so and is not the one to quote
#   BENCH_OUT=FILE                    write the report elsewhere (default docs/benchmarks.md; the raw
#                                     results go beside it, FILE with .jsonl for .md)
#
# Scenarios (see docs/benchmarks.md for what each measures):
#   (a) initial pull over loopback, 10,000 and 100,000 resources (the median of 3 runs each)
#   (b) PouchDB replicating the same documents, same machine, same run (tests/bench/pouchdb/)
#   (c) incremental pull of 100 changes on the 10,000 and the 100,000-resource stores
#   (d) the pull through the link proxy at 300 ms RTT and 1 Mbit/s, against the lower bound
#   (e) idle RSS, cold start to ready (node_bench), stripped static binary per architecture
# Run it on a quiet machine: another build or test run alongside halves every figure.
set -euo pipefail
source "$(dirname "$0")/../../cross/lib.sh"

quick=${BENCH_QUICK:-0}
out=${BENCH_OUT:-$ES_ROOT/docs/benchmarks.md}
if [ "$quick" = 1 ]; then runs=1; small=2000; large=10000; link_n=1000; else runs=3; small=10000; large=100000; link_n=5000; fi

"$ES_ROOT/cross/deps.sh" bench >&2
"$ES_ROOT/cross/deps.sh" cross >&2
es_log "building the host binaries and benchmarks"
dir=$("$ES_ROOT/cross/build.sh" host edgesync_sync_bench edgesync_gen_docs edgesync_node_bench)
sizes=()
for arch in aarch64 armhf armel; do
    es_log "building the $arch binary (its size)"
    "$ES_ROOT/cross/build.sh" "$arch" edgesync >/dev/null
    sizes+=("$arch $(stat -c %s "$ES_ROOT/dist/edgesync-$arch")")
done
sizes+=("x86-64 $(stat -c %s "$ES_ROOT/dist/edgesync-host")")

work=$(mktemp -d "${TMPDIR:-/tmp}/edgesync-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
: >"$results"

# add_result LABEL COMMAND_TEXT JSON_LINE [BENCH]: appends the JSON object with its label, the command
# that produced it and, if given, which benchmark it is.
add_result() {
    node -e '
        const [label, cmd, line, bench] = process.argv.slice(1);
        const o = JSON.parse(line);
        if (bench) o.bench = bench;
        o.label = label; o.command = cmd;
        process.stdout.write(JSON.stringify(o) + "\n");' "$@" >>"$results"
}

# record LABEL COMMAND...: runs it, keeps its output in the work folder, and appends its last line
# (one JSON object) to the results with the label and the command.
record() {
    local label=$1
    shift
    local log
    log=$work/$(echo "$label" | tr -c 'A-Za-z0-9_.-' '_').$(date +%s%N).log
    es_log "$label: $*"
    if ! "$@" >"$log" 2>&1; then
        echo "run_all.sh: '$label' failed:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    local cmd=${*//$dir\//build\/host\/}
    cmd=${cmd//$work\//}
    add_result "$label" "$cmd" "$(grep '^{' "$log" | tail -1)"
    grep -v '^{' "$log" | sed "s/^/  /" >&2
}

sb=("$dir/sync_bench" "$dir/edgesync")
for n in "$small" "$large"; do
    for r in $(seq "$runs"); do record "pull-$n" "${sb[@]}" --resources "$n" --incremental 100; done
done
record "push-$small" "${sb[@]}" --resources "$small" --push 1
record "link-$link_n" "${sb[@]}" --resources "$link_n" --rtt-ms 300 --kbit 1000
record "link-push-$link_n" "${sb[@]}" --resources "$link_n" --rtt-ms 300 --kbit 1000 --push 1

for n in "$small" "$large"; do
    "$dir/gen_docs" "$n" "$work/docs-$n.ndjson" 2>/dev/null
    for r in $(seq "$runs"); do
        for s in default b500; do
            log=$work/pouch-$n-$s-$r.log
            es_log "pouchdb-$n ($s): tests/bench/pouchdb/bench.sh docs-$n.ndjson $s"
            BENCH_TMP=$work "$ES_ROOT/tests/bench/pouchdb/bench.sh" "$work/docs-$n.ndjson" "$s" >"$log" 2>"$log.err" ||
                { echo "run_all.sh: the PouchDB run failed:" >&2; tail -20 "$log.err" >&2; exit 1; }
            add_result "pouchdb-$n-$s" "build/host/gen_docs $n docs-$n.ndjson && tests/bench/pouchdb/bench.sh docs-$n.ndjson $s" \
                "$(tail -1 "$log")" pouchdb
            sed "s/^/  /" "$log.err" | grep -v '^  bench.sh: installing' >&2 || true
        done
    done
    rm -f "$work/docs-$n.ndjson"
done

record node "$dir/node_bench" "$dir/edgesync" --runs 5 --idle-s 10

es_log "writing $out"
machine=$(node -e '
    const os = require("os");
    const cpus = os.cpus();
    process.stdout.write(JSON.stringify({cpu: cpus[0].model, cores: cpus.length, mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
        kernel: os.release(), node: process.version}));')
disk=$(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')
cp "$results" "${out%.md}.jsonl"
node "$ES_ROOT/tests/bench/report.js" "$results" "$out" \
    "$machine" "$disk" "$(git -C "$ES_ROOT" rev-parse --short HEAD)$(git -C "$ES_ROOT" diff --quiet HEAD -- . ':!docs/benchmarks.md' || echo '+changes')" \
    "$quick" "${sizes[@]}"
es_log "done: $out"
