#!/usr/bin/env bash
# The packages, checked: every .deb's architecture field, contents, conffile, maintainer scripts,
# the unit's hardening and the binary inside (static, the right machine); then, as root, the
# amd64 package installed with dpkg -i, its unit's ExecStart run as the service user until
# /readyz answers 200, and the package purged again.
#   cross/package_test.sh DEB...
source "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || es_die "usage: cross/package_test.sh DEB..."

http_status() {  # http_status PORT PATH: the status code, over bash's /dev/tcp (no curl needed)
    local line
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
    read -r line <&3 || true
    exec 3>&-
    echo "$line" | cut -d' ' -f2
}

amd64=""
for deb in "$@"; do
    arch=$(dpkg-deb -f "$deb" Architecture)
    case $arch in
        amd64) machine="x86-64"; amd64=$deb ;;
        arm64) machine="ARM aarch64" ;;
        armhf|armel) machine="ARM, EABI5" ;;
        *) es_die "$deb: unexpected Architecture '$arch'" ;;
    esac
    [[ $(basename "$deb") == *"_$arch.deb" ]] || es_die "$deb: file name does not match Architecture $arch"
    contents=$(dpkg-deb -c "$deb")
    for f in ./usr/bin/edgesync ./lib/systemd/system/edgesync.service ./etc/edgesync/edgesync.jsonc ./usr/share/doc/edgesync/edgesync.example.jsonc \
             ./usr/share/doc/edgesync/help.txt ./usr/share/doc/edgesync/configuration.md ./usr/share/doc/edgesync/operations.md; do
        grep -q " $f\$" <<<"$contents" || es_die "$deb: $f missing"
    done
    work=$(mktemp -d)
    dpkg-deb -x "$deb" "$work"
    dpkg-deb -e "$deb" "$work/DEBIAN"
    grep -qx /etc/edgesync/edgesync.jsonc "$work/DEBIAN/conffiles" || es_die "$deb: the config is not a conffile"
    for s in postinst prerm postrm; do [ -x "$work/DEBIAN/$s" ] || es_die "$deb: no executable $s"; done
    desc=$(file -b "$work/usr/bin/edgesync")
    [[ $desc == *"statically linked"* && $desc == *"$machine"* ]] || es_die "$deb: the binary is not a static $machine one: $desc"
    [[ $desc == *"not stripped"* ]] && es_die "$deb: the binary is not stripped"
    if [ "$arch" = armhf ] || [ "$arch" = armel ]; then
        vfp=$(readelf -A "$work/usr/bin/edgesync" | grep -c 'Tag_ABI_VFP_args: VFP registers' || true)
        if [ "$arch" = armhf ] && [ "$vfp" = 0 ]; then es_die "$deb: armhf binary without the hard-float ABI"; fi
        if [ "$arch" = armel ] && [ "$vfp" != 0 ]; then es_die "$deb: armel binary with the hard-float ABI"; fi
    fi
    unit=$work/lib/systemd/system/edgesync.service
    for k in 'User=edgesync' 'StateDirectory=edgesync' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'Restart=on-failure' 'WatchdogSec=' 'Type=notify'; do
        grep -q "^$k" "$unit" || es_die "$deb: the unit lacks $k"
    done
    echo "$(basename "$deb"): $arch, $(du -k "$deb" | cut -f1) KiB, $desc"
    rm -rf "$work"
done

[ -n "$amd64" ] || { echo "no amd64 package: install test skipped"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "not root: install test skipped"; exit 0; }
# Only on a machine without edgesync: never touch a real installation or its data.
getent passwd edgesync >/dev/null && es_die "a user edgesync exists already: not touching this machine"
[ -e /var/lib/edgesync ] && es_die "/var/lib/edgesync exists already: not touching this machine"
dpkg-query -W edgesync >/dev/null 2>&1 && es_die "edgesync is installed already: not touching this machine"
pid=""
cleanup() {  # (every step may fail here: the trap must reach the end)
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    pkill -u edgesync -f 'edgesync run' 2>/dev/null || true
    dpkg --purge edgesync >/dev/null 2>&1 || true
    rm -rf /var/lib/edgesync  # made by this test (checked absent above)
}
trap cleanup EXIT
dpkg -i "$amd64" >/dev/null || es_die "dpkg -i $amd64 failed"
getent passwd edgesync >/dev/null || es_die "postinst did not create the edgesync user"
[ "$(stat -c '%U:%G %a' /etc/edgesync/edgesync.jsonc)" = "root:edgesync 640" ] || es_die "config ownership: $(stat -c '%U:%G %a' /etc/edgesync/edgesync.jsonc)"
[ "$(stat -c '%U:%G' /var/lib/edgesync)" = "edgesync:edgesync" ] || es_die "/var/lib/edgesync is not the service user's"
pre=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/edgesync.service)
start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/edgesync.service)
# shellcheck disable=SC2086
runuser -u edgesync -- $pre >/dev/null || es_die "ExecStartPre failed: $pre"
# shellcheck disable=SC2086
runuser -u edgesync -- $start >"${TMPDIR:-/tmp}/edgesync-package-test.log" 2>&1 &
pid=$!
code=""
for _ in $(seq 1 100); do
    code=$(http_status 8090 /readyz 2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || { cat "${TMPDIR:-/tmp}/edgesync-package-test.log" >&2; es_die "the installed node did not answer /readyz with 200 (got '$code')"; }
node=$(pgrep -u edgesync -f 'edgesync run' | head -1)
[ -n "$node" ] || es_die "no edgesync process runs as the service user"
echo "installed $(basename "$amd64"): ExecStart ran as user edgesync (pid $node) and answered /readyz 200"
[ "$(http_status 8090 /admin/api/status)" = 401 ] || es_die "the installed node's admin API answers without credentials"
kill "$node" "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
dpkg --purge edgesync >/dev/null || es_die "dpkg --purge failed"
getent passwd edgesync >/dev/null && es_die "purge left the edgesync user"
[ -e /usr/bin/edgesync ] && es_die "purge left /usr/bin/edgesync"
[ -e /var/lib/edgesync/edgesync.db ] || es_die "purge removed the data folder (it must stay for the operator)"
echo "purged: user and files gone, the data folder kept (then removed by this test)"
