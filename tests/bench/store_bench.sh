#!/usr/bin/env bash
# Store benchmark: resource+event+marker writes/s for 2 KB FHIR resources (group-committed, as the
# pull loop writes them), point reads/s, and the process's RSS as the database grows to N
# resources. Needs about 4.5 GB of free space in /tmp per million resources.
#   tests/bench/store_bench.sh [RESOURCES] [store_bench options...]   (default 1000000)
# Not part of the test suite: machines are noisy, so the figures are reported, never asserted.
source "$(dirname "$0")/../../cross/lib.sh"

resources=${1:-1000000}
shift || true
dir=$("$ES_ROOT/cross/build.sh" host edgesync_store_bench)
"$dir/store_bench" --resources "$resources" "$@"
