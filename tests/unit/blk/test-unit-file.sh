#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# systemd/blkbackd.service passes `systemd-analyze verify` (with ExecStart
# pointed at the built daemon, since /usr/sbin/blkbackd is not installed
# here) and keeps the properties the daemon relies on.
# Usage: test-unit-file.sh UNIT BLKBACKD   (exit 77 without systemd-analyze)
set -u
UNIT=$1
BB=$2
command -v systemd-analyze >/dev/null 2>&1 || exit 77
D=$(mktemp -d /tmp/blk-unit-XXXXXX)
trap 'rm -rf "$D"' EXIT
sed "s#/usr/sbin/blkbackd#$BB#" "$UNIT" >"$D/blkbackd.service"
out=$(systemd-analyze verify "$D/blkbackd.service" 2>&1)
if [ -n "$out" ]; then
	echo "not ok 1 - systemd-analyze verify"
	echo "$out" | sed 's/^/# /'
	echo "1..1"
	exit 1
fi
echo "ok 1 - systemd-analyze verify"
n=1
fails=0
for want in "Type=notify" "WatchdogSec=" "Restart=on-failure" "RuntimeDirectory=blkbackd" \
	"RuntimeDirectoryPreserve=yes" "DeviceAllow=/dev/xen/gntdev rw" \
	"DeviceAllow=/dev/xen/evtchn rw" "DeviceAllow=block-\* rw"; do
	n=$((n + 1))
	if grep -q "^$want" "$UNIT"; then
		echo "ok $n - $want"
	else
		echo "not ok $n - $want"
		fails=$((fails + 1))
	fi
done
echo "1..$n"
[ $fails = 0 ]
