#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# systemd/blkbackd.service passes `systemd-analyze verify` (with ExecStart
# pointed at the built daemon, since /usr/sbin/blkbackd is not installed
# here), keeps the properties the daemon relies on, runs it as its own user
# with no capability, and its `systemd-analyze security --offline` exposure
# (printed) stays at or below MAX_EXPOSURE.
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
	"DeviceAllow=/dev/xen/evtchn rw" "DeviceAllow=block-\* rw" "User=blkbackd" "Group=ddom" \
	"CapabilityBoundingSet=$" "AmbientCapabilities=$" "ProtectSystem=strict" \
	"ReadWritePaths=-/srv -/var/lib/xen/images -/var/lib/ddom"; do
	n=$((n + 1))
	if grep -q "^$want" "$UNIT"; then
		echo "ok $n - $want"
	else
		echo "not ok $n - $want"
		fails=$((fails + 1))
	fi
done
n=$((n + 1))
if grep -q "^DeviceAllow=.*privcmd" "$UNIT"; then
	echo "not ok $n - no /dev/xen/privcmd"
	fails=$((fails + 1))
else
	echo "ok $n - no /dev/xen/privcmd"
fi
# --offline needs systemd 250; without systemd as PID 1 it is the only way.
MAX_EXPOSURE=1.0
n=$((n + 1))
sec=$(systemd-analyze security --offline=yes --no-pager "$D/blkbackd.service" 2>&1)
level=$(echo "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	echo "ok $n # SKIP systemd-analyze security --offline unavailable"
else
	echo "# systemd-analyze security --offline: exposure $level (at most $MAX_EXPOSURE)"
	if awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'; then
		echo "ok $n - exposure $level <= $MAX_EXPOSURE"
	else
		echo "not ok $n - exposure $level <= $MAX_EXPOSURE"
		fails=$((fails + 1))
	fi
fi
echo "1..$n"
[ $fails = 0 ]
