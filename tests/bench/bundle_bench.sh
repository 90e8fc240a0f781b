#!/usr/bin/env bash
# Bundle reader benchmark: MB/s and peak RSS of the incremental reader against a whole-document
# parse of the same generated batch Bundle.   tests/bench/bundle_bench.sh [entries]
# Not part of the test suite: machines are noisy, so the figures are reported, never asserted.
source "$(dirname "$0")/../../cross/lib.sh"
dir=$("$ES_ROOT/cross/build.sh" host edgesync_bundle_bench)
"$dir/bundle_bench" "$@"
