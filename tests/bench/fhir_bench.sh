#!/usr/bin/env bash
# FHIR API benchmark: PUT and GET req/s for generated 1-3 KB clinical resources over keep-alive loopback connections,
# p50/p99 latency, peak RSS.   tests/bench/fhir_bench.sh [--requests N] [--concurrency C]
# Not part of the test suite: machines are noisy, so the figures are reported, never asserted.
source "$(dirname "$0")/../../cross/lib.sh"
dir=$("$ES_ROOT/cross/build.sh" host edgesync_fhir_bench)
"$dir/fhir_bench" "$@"
