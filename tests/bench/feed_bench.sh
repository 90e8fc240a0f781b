#!/usr/bin/env bash
# Feed reader benchmark: parse MB/s against expat alone on the same bytes, and peak RSS while one
# 200,000-entry page streams through.   tests/bench/feed_bench.sh [feed_bench options...]
# Not part of the test suite: machines are noisy, so the figures are reported, never asserted.
source "$(dirname "$0")/../../cross/lib.sh"
dir=$("$ES_ROOT/cross/build.sh" host edgesync_feed_bench)
"$dir/feed_bench" "$@"
