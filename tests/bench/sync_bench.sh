#!/usr/bin/env bash
# Sync benchmark: a child's initial pull of N generated 1-3 KB clinical resources from a parent node process (and a push),
# over loopback and through a delay proxy (300 ms RTT), against the protocol's lower bound.
#   tests/bench/sync_bench.sh [sync_bench options...]   (default: the standard set below)
# Not part of the test suite: machines are noisy, so the figures are reported, never asserted.
source "$(dirname "$0")/../../cross/lib.sh"
dir=$("$ES_ROOT/cross/build.sh" host edgesync_sync_bench edgesync)
if [ $# -gt 0 ]; then exec "$dir/sync_bench" "$dir/edgesync" "$@"; fi
for n in 10000 100000; do echo "== loopback, $n"; "$dir/sync_bench" "$dir/edgesync" --resources $n; done
echo "== 300 ms RTT, 2000"; "$dir/sync_bench" "$dir/edgesync" --resources 2000 --rtt-ms 300
echo "== 300 ms RTT, 2000, feed pages of 500"; "$dir/sync_bench" "$dir/edgesync" --resources 2000 --rtt-ms 300 --page-size 500 --concurrency 8
echo "== push, 300 ms RTT, 2000, batches of 50"; "$dir/sync_bench" "$dir/edgesync" --resources 2000 --rtt-ms 300 --push 1
echo "== push, 300 ms RTT, 200, one request per change"; "$dir/sync_bench" "$dir/edgesync" --resources 200 --rtt-ms 300 --push 1 --batch 1
