#!/usr/bin/env bash
# PouchDB comparison for the sync benchmark: replicate the same documents sync_bench seeds its parent
# with, server -> fresh client, with PouchDB (pouchdb-node 9.0.0 + express-pouchdb 4.2.0, LevelDB),
# two Node processes over 127.0.0.1.
#
#   tests/bench/pouchdb/bench.sh NDJSON_FILE [SETTING]
#     NDJSON_FILE  one JSON document per line, e.g. from `gen_docs N docs.ndjson` (tests/bench/gen_docs.cpp)
#     SETTING      default (batch_size 100, batches_limit 10) | b500 (batch_size 500, batches_limit 10)
#                  | both (the default: one run of each, each on a fresh copy of the server's DB and a
#                  fresh server process)
#   Environment: KEEP_WORK=1 keeps the work directory (DBs, logs); BENCH_TMP is where it is made
#   (default ${TMPDIR:-/tmp}).
#
# Prints, per setting, the client's JSON line on stdout (see client.js; server_peak_rss_mb is the
# server's VmHWM right after the initial pull) and a summary with the server's peak RSS at exit on
# stderr. node_modules is installed next to this script on first use (npm ci, from package-lock.json)
# and reused afterwards. Not part of the test suite: the figures are reported, never asserted.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    sed -n '6,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
ndjson=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
setting=${2:-both}
case "$setting" in
    default | b500) settings=("$setting") ;;
    both) settings=(default b500) ;;
    *) echo "bench.sh: unknown setting '$setting' (default, b500 or both)" >&2; exit 2 ;;
esac
[ -r "$ndjson" ] || { echo "bench.sh: cannot read $ndjson" >&2; exit 2; }
command -v node >/dev/null || { echo "bench.sh: node is not installed" >&2; exit 2; }

# ---- node modules (cached next to the script) --------------------------------------------------------
modules_ok() {
    (cd "$here" && node -e '
        const want = require("./package.json").dependencies;
        for (const [name, version] of Object.entries(want))
            if (require(name + "/package.json").version !== version) process.exit(1);
        require("leveldown");' >/dev/null 2>&1)
}
if ! modules_ok; then
    echo "bench.sh: installing node modules into $here/node_modules" >&2
    if [ -f "$here/package-lock.json" ]; then
        (cd "$here" && npm ci --no-audit --no-fund >&2)
    else
        (cd "$here" && npm install --no-audit --no-fund >&2)
    fi
    modules_ok || { echo "bench.sh: the node modules do not load after installing" >&2; exit 1; }
fi

# ---- processes and clean-up ----------------------------------------------------------------------------
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/pouchbench.XXXXXX")
server_pid=""
client_pid=""
cleanup() {
    local rc=$?
    for pid in $client_pid $server_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "bench.sh: work directory kept: $work" >&2; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server DATA_DIR LOG_PREFIX: sets server_pid and port.
start_server() {
    local ready="$work/ready.$$"
    rm -f "$ready"
    node "$here/server.js" "$1" 0 "$ready" >"$2.out" 2>"$2.log" &
    server_pid=$!
    for _ in $(seq 600); do
        [ -s "$ready" ] && break
        kill -0 "$server_pid" 2>/dev/null || { echo "bench.sh: the server did not start:" >&2; cat "$2.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$ready" ] || { echo "bench.sh: the server did not start in 60 s" >&2; exit 1; }
    read -r _ port <"$ready"
    rm -f "$ready"
}
stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" || { echo "bench.sh: the server exited with an error:" >&2; cat "$1.log" >&2; server_pid=""; exit 1; }
    server_pid=""
}

# ---- the server's pristine database, loaded over HTTP -----------------------------------------------
mkdir -p "$work/pristine"
start_server "$work/pristine" "$work/load-server"
node "$here/load.js" "http://127.0.0.1:$port/bench" "$ndjson" "$work/meta.json" 1000 100 2>"$work/load.log" &
client_pid=$!
wait "$client_pid" || { echo "bench.sh: loading failed:" >&2; cat "$work/load.log" >&2; exit 1; }
client_pid=""
cat "$work/load.log" >&2
stop_server "$work/load-server"

# ---- one run per setting: fresh copy of the server DB, fresh server, fresh client DB -----------------
for s in "${settings[@]}"; do
    run="$work/run-$s"
    mkdir -p "$run"
    cp -a "$work/pristine" "$run/server"
    start_server "$run/server" "$run/srv"
    node "$here/client.js" "http://127.0.0.1:$port/bench" "$run/client" "$s" "$work/meta.json" >"$run/cli.json" 2>"$run/cli.log" &
    client_pid=$!
    if ! wait "$client_pid"; then
        client_pid=""
        echo "bench.sh: the client failed ($s):" >&2; cat "$run/cli.log" >&2; cat "$run/cli.json" >&2
        exit 1
    fi
    client_pid=""
    stop_server "$run/srv"
    cat "$run/cli.json"
    # shellcheck disable=SC2016  # a JavaScript program, not shell
    node -e '
        const fs = require("fs");
        const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const s = JSON.parse(fs.readFileSync(process.argv[2], "utf8").trim().split("\n").pop());
        const mb = (k) => (k / 1024).toFixed(1);
        console.error(`${c.setting}: ${c.n} docs in ${c.wall_s} s = ${c.docs_per_s} docs/s; ` +
            `wire ${(c.wire_bytes_from_server / 1e6).toFixed(2)} MB from / ${(c.wire_bytes_to_server / 1e6).toFixed(2)} MB to the server; ` +
            `client peak RSS ${c.client_peak_rss_mb} MB (idle ${c.idle_rss_mb}); incremental ${c.incremental_changed} in ${c.incremental_ms} ms` +
            (c.incremental_verified ? "" : " (NOT VERIFIED)") + `; ` +
            `server peak RSS ${c.server_peak_rss_mb} MB after the pull, ${mb(s.vm_hwm_kib)} MB at exit (${s.cpu_s.toFixed(1)} s CPU)`);
    ' "$run/cli.json" "$run/srv.out" >&2
    echo "$s: disk: server DB $(du -sh "$run/server" | cut -f1), client DB $(du -sh "$run/client" | cut -f1)" >&2
done
