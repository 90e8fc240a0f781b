#!/usr/bin/env bash
# Network benchmark: requests/s for small keep-alive GETs and MB/s for a streamed 50 MiB body,
# plain and TLS, our client against our server and wrk against our server, with the peak RSS of
# each process (GNU time's maximum resident set size). Loopback only. Prints a Markdown table.
#   tests/bench/net_bench.sh [REQUESTS]        (default 20000 GETs per run)
# Not part of the test suite: machines are noisy, so the figures are reported, never asserted.
source "$(dirname "$0")/../../cross/lib.sh"

requests=${1:-20000}
"$ES_ROOT/cross/deps.sh" bench
dir=$("$ES_ROOT/cross/build.sh" host net_bench)
bench=$dir/net_bench
work=$(mktemp -d /tmp/edgesync-bench.XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A throw-away certificate for 127.0.0.1 (ECDSA P-256, like the tests').
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

rss() { awk '/^max_rss_kib/ {print $2}' "$1"; }   # from GNU time's output file
start_server() {  # start_server [--tls CERT KEY]; sets server_pid, port
    : > "$work/server.out"
    "$bench" serve "$@" > "$work/server.out" &   # prints its own peak RSS when it stops
    server_pid=$!
    for _ in $(seq 100); do grep -q '^port ' "$work/server.out" && break; sleep 0.05; done
    port=$(awk '/^port / {print $2}' "$work/server.out")
    [ -n "$port" ] || es_die "server did not start"
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""; }
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
timed() {  # timed OUTFILE cmd...: runs cmd under GNU time, prints its stdout
    local out=$1; shift
    /usr/bin/time -f 'max_rss_kib %M' -o "$out" "$@"
}

rows=()
for mode in plain tls; do
    if [ $mode = tls ]; then start_server --tls "$work/cert.pem" "$work/key.pem"; scheme=https; ca=(--ca "$work/cert.pem")
    else start_server; scheme=http; ca=(); fi
    base="$scheme://127.0.0.1:$port"
    for c in 1 16; do
        line=$(timed "$work/c.time" "$bench" get "$base/small" --requests "$requests" --concurrency $c "${ca[@]}")
        rows+=("| $mode | our client → our server | small GET, keep-alive, $c conn | $(field "$line" rps) req/s | $(rss "$work/c.time") KiB |")
        w=$(timed "$work/w.time" wrk -t1 -c$c -d5s "$base/small")
        rows+=("| $mode | wrk → our server | small GET, keep-alive, $c conn | $(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$w") req/s | $(rss "$work/w.time") KiB |")
    done
    line=$(timed "$work/c.time" "$bench" stream "$base/stream/50" "${ca[@]}")
    rows+=("| $mode | our client → our server | streamed 50 MiB body | $(field "$line" mib_per_s) MiB/s | $(rss "$work/c.time") KiB |")
    w=$(timed "$work/w.time" wrk -t1 -c1 -d5s "$base/stream/50")
    rows+=("| $mode | wrk → our server | streamed 50 MiB body | $(awk '/^Transfer\/sec/ {print $2}' <<<"$w")/s | $(rss "$work/w.time") KiB |")
    stop_server
    rows+=("| $mode | our server (whole run above) | peak RSS | | $(awk '/^peak_rss_kib/ {print $2}' "$work/server.out") KiB |")
done

echo "net benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "command: tests/bench/net_bench.sh $requests"
echo
echo "| transport | pair | workload | throughput | peak RSS |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
