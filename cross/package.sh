#!/usr/bin/env bash
# Builds the .deb of a flavour already built by cross/build.sh, into dist/deb/, and prints its path.
#   cross/package.sh host|aarch64|armhf|armel
source "$(dirname "$0")/lib.sh"

flavour=${1:?usage: cross/package.sh host|aarch64|armhf|armel}
dir=$ES_ROOT/build/$flavour
[ -f "$dir/CPackConfig.cmake" ] || es_die "build $flavour first (cross/build.sh $flavour)"
mkdir -p "$ES_ROOT/dist/deb"
(cd "$dir" && cpack --config CPackConfig.cmake -B "$ES_ROOT/dist/deb" >"$dir.cpack.log" 2>&1) || { cat "$dir.cpack.log" >&2; es_die "cpack failed ($flavour)"; }
rm -rf "$ES_ROOT/dist/deb/_CPack_Packages"
arch=$(grep -o 'CPACK_DEBIAN_PACKAGE_ARCHITECTURE "[a-z0-9]*"' "$dir/CPackConfig.cmake" | cut -d'"' -f2)
deb=$(ls "$ES_ROOT"/dist/deb/edgesync_*_"$arch".deb)
echo "$deb"
