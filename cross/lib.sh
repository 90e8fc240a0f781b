# Shared helpers for the cross/ scripts. Source it; do not run it.
#
# Everything the scripts download or build outside the repository lives under one cache folder,
# $EDGESYNC_CACHE (default ~/.cache/edgesync). Each entry's name carries what it was made from
# (versions, architecture, a hash of the flags), so a second run reuses it and a change rebuilds it.

set -euo pipefail

ES_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ES_CACHE=${EDGESYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgesync}
mkdir -p "$ES_CACHE"

es_log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
es_die() { es_log "error: $*"; exit 1; }

# The Debian archive this machine is configured for (first URIs: line of the deb822 sources, or the
# first deb line of sources.list). Private apt states below use the same mirror so that they work
# behind whatever proxy the machine has.
es_debian_mirror() {
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}
es_debian_security_mirror() {
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 ~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian-security}"
}

# es_apt_state DIR SOURCES_TEXT: prepares a private apt state in DIR (lists, cache, sources) and
# sets the array ES_APT to the apt-get options that use it. /etc/apt and /var/lib/apt are untouched.
es_apt_state() {
    local dir=$1 sources=$2
    mkdir -p "$dir/sources.list.d" "$dir/lists/partial" "$dir/cache/archives/partial"
    printf '%s\n' "$sources" > "$dir/sources.list.d/private.sources"
    ES_APT=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$dir/sources.list.d"
            -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
            -o APT::Sandbox::User=root -o Debug::NoLocking=1)
}

# es_apt_install PKG...: installs the packages that are not installed yet (no apt-get update when
# everything is already there, so a second run costs nothing and works offline).
es_apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    es_log "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then es_die "need root to install: ${missing[*]}"; fi
    export DEBIAN_FRONTEND=noninteractive
    # Packages that ship a service (nginx) must not start it: tests start their own instances on
    # loopback ports. policy-rc.d tells invoke-rc.d to leave services alone during this install.
    local policy=/usr/sbin/policy-rc.d placed=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; placed=1; fi
    local rc=0
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    [ "$placed" = 1 ] && rm -f "$policy"
    [ "$rc" = 0 ] || es_die "apt-get install ${missing[*]} failed ($rc)"
}

# Target names used by every script: host | aarch64 | armhf | armel.
es_triple() {
    case $1 in
        host) gcc -dumpmachine ;;
        aarch64) echo aarch64-linux-gnu ;;
        armhf) echo arm-linux-gnueabihf ;;
        armel) echo arm-linux-gnueabi ;;
        *) es_die "unknown target '$1' (expected host, aarch64, armhf or armel)" ;;
    esac
}
es_debian_arch() {
    case $1 in aarch64) echo arm64 ;; armhf) echo armhf ;; armel) echo armel ;; *) es_die "no Debian arch for '$1'" ;; esac
}
# qemu command line that runs a binary of the target (empty for host). The CPU models are the
# oldest boards each target is meant for: armhf = Pi 2 (Cortex-A7), armel = Pi 1/Zero (ARM1176).
es_emulator() {
    case $1 in
        host) echo "" ;;
        aarch64) echo "/usr/bin/qemu-aarch64-static -cpu cortex-a53" ;;
        armhf) echo "/usr/bin/qemu-arm-static -cpu cortex-a7" ;;
        armel) echo "/usr/bin/qemu-arm-static -cpu arm1176" ;;
    esac
}
