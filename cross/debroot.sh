#!/usr/bin/env bash
# Makes a "debroot" for a target and prints its path: the target's -dev packages from bookworm,
# downloaded with a private apt state and unpacked with dpkg-deb -x. No dpkg --add-architecture
# (multiarch armhf is broken on our mirror: a corrupt security index blocks every install), no
# change under /etc/apt or /var/lib/apt, no version lock-step with the host. Static builds only:
# the .so links dangle because runtime packages are not unpacked.
#   cross/debroot.sh aarch64|armhf|armel
source "$(dirname "$0")/lib.sh"

target=${1:?usage: cross/debroot.sh aarch64|armhf|armel}
arch=$(es_debian_arch "$target")
pkgs=(libexpat1-dev libsqlite3-dev zlib1g-dev libboost1.81-dev)
key=$(printf '%s ' "$arch" "${pkgs[@]}" | sha256sum | cut -c1-12)
dest=$ES_CACHE/debroot-$arch-$key
if [ -f "$dest/.edgesync-complete" ]; then echo "$dest"; exit 0; fi

es_log "making debroot for $arch in $dest"
mirror=$(es_debian_mirror)
state=$(mktemp -d "$ES_CACHE/aptstate.XXXX")
es_apt_state "$state" "Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Architectures: $arch
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $(es_debian_security_mirror)
Suites: bookworm-security
Components: main
Architectures: $arch
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
ES_APT+=(-o APT::Architectures::="$arch")
# A broken security index (seen for armhf) or a suite without this architecture (armel) must not
# stop us: the main suite is enough. apt picks the newest version it could index.
if ! apt-get "${ES_APT[@]}" update -q >"$state/update.log" 2>&1; then
    es_log "warning: apt-get update for $arch was incomplete:"; grep -E '^(E|W):' "$state/update.log" | head -n 3 >&2 || true
fi
(cd "$state/cache/archives" && apt-get "${ES_APT[@]}" download -q "${pkgs[@]/%/:$arch}" >/dev/null)
rm -rf "$dest"; mkdir -p "$dest"
for deb in "$state"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$dest"; done
ls "$state"/cache/archives/*.deb | xargs -n1 basename > "$dest/PACKAGES"
touch "$dest/.edgesync-complete"
rm -rf "$state"
echo "$dest"
