#!/usr/bin/env bash
# The README's run command: installs what the host build needs, builds edgesync, and starts a
# node on the embedded backend with a throw-away data folder, listening on 127.0.0.1:8090
# (EDGESYNC_DEMO_LISTEN overrides). It reports readiness and runs until Ctrl-C.
source "$(dirname "$0")/lib.sh"

"$ES_ROOT/cross/deps.sh" host
dir=$("$ES_ROOT/cross/build.sh" host edgesync)
work=$(mktemp -d /tmp/edgesync-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/edgesync.jsonc" <<CFG
{
  "instance_id": "demo-root",
  "data_dir": "data",
  "server": { "listen": "${EDGESYNC_DEMO_LISTEN:-127.0.0.1:8090}" },
  "local": { "backend": "embedded" },
}
CFG
chmod 600 "$work/edgesync.jsonc"
es_log "config: $work/edgesync.jsonc"
"$dir/edgesync" run -c "$work/edgesync.jsonc"
