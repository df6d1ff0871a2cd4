#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# xenhost's driver-domain image carries the DPDK packages its DPDK_PKGS list names
# (tests/xenhost/xenhost): every DPDK library the built netbackd links must come from one
# of them or from what they depend on, or netbackd cannot start there (2026-12-07: a new
# librte_gro link stopped netbackd in the driver domain while the suite stayed green).
# usage: test-xenhost-dpdk-pkgs.sh XENHOST_SCRIPT NETBACKD
. "$(dirname "$0")/../tap.sh"
xh=$1 nb=$2
if ! command -v dpkg >/dev/null || ! command -v apt-cache >/dev/null || ! command -v ldd >/dev/null; then
	echo "1..0 # SKIP needs dpkg, apt-cache and ldd"
	exit 0
fi
pkgs=$(sed -n '/^DPDK_PKGS="/,/"$/p' "$xh" | tr -d '"' | sed 's/^DPDK_PKGS=//' | tr -s ' \t\n' ' ')
[ -n "$pkgs" ]
ok $? "DPDK_PKGS read from $(basename "$xh")"
# shellcheck disable=SC2086
have=" $pkgs $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances $pkgs 2>/dev/null | sed -n 's/^ *Depends: //p' |
	tr -d '<>' | tr '\n' ' ') "
libs=$(ldd "$nb" | awk '$1 ~ /^librte_/ {print $3}')
[ -n "$libs" ]
ok $? "netbackd links DPDK libraries"
for lib in $libs; do
	pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
	[ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
	case "$have" in *" $pkg "*) r=0 ;; *) r=1 ;; esac
	ok $r "$(basename "$lib") (package ${pkg:-unknown}) is in xenhost's image"
done
tap_done
