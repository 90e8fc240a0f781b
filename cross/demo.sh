#!/usr/bin/env bash
# The README's run command: installs what the host build needs, builds edgesync, and runs
# `edgesync demo`: a district node and two clinics on 127.0.0.1:8090-8092 with embedded stores in a
# throw-away folder, seeded with generated clinical data, syncing with live progress and a summary.
# The nodes stay up until Ctrl-C. Arguments go to the demo (--once, --patients N, --port P).
source "$(dirname "$0")/lib.sh"

"$ES_ROOT/cross/deps.sh" host
dir=$("$ES_ROOT/cross/build.sh" host edgesync)
exec "$dir/edgesync" demo "$@"
