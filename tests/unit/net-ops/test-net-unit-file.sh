#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# systemd/netbackd.service passes `systemd-analyze verify` (with ExecStart
# pointed at DAEMON, since /usr/sbin/netbackd is not installed here), keeps
# the properties the daemon relies on and the devices and capabilities DPDK
# needs, and its `systemd-analyze security --offline` exposure (printed as a
# diagnostic) stays at or below MAX_EXPOSURE: loosening the sandbox must be
# a decision, not an accident. /etc/default/netbackd sets NETBACKD_OPTS.
# Usage: test-net-unit-file.sh UNIT DEFAULT DAEMON
# (exit 77 without systemd-analyze)
set -u
UNIT=$1
DEFAULTS=$2
DAEMON=$3
MAX_EXPOSURE=2.0
command -v systemd-analyze >/dev/null 2>&1 || exit 77
. "$(dirname "$0")/../tap.sh"
tap_init net-unit


sed "s#/usr/sbin/netbackd#$DAEMON#" "$UNIT" >"$D/netbackd.service"
out=$(systemd-analyze verify "$D/netbackd.service" 2>&1)
[ -z "$out" ]
ok $? "systemd-analyze verify"
[ -z "$out" ] || echo "$out" | sed 's/^/# /'

for want in "Type=notify" "NotifyAccess=main" "WatchdogSec=" "Restart=on-failure" \
	"RestartPreventExitStatus=2" "RuntimeDirectory=netbackd" "RuntimeDirectoryPreserve=yes" \
	"EnvironmentFile=-/etc/default/netbackd" "ExecStart=/usr/sbin/netbackd \$NETBACKD_OPTS" \
	"DeviceAllow=/dev/xen/gntdev rw" "DeviceAllow=/dev/xen/evtchn rw" \
	"DeviceAllow=/dev/xen/xenbus rw" "DeviceAllow=/dev/net/tun rw" \
	"User=netbackd" "Group=ddom" "IPAddressDeny=any" \
	"PrivateNetwork=no" "MemoryDenyWriteExecute=yes" \
	"RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_PACKET AF_INET"; do
	grep -q "^$want" "$UNIT"
	ok $? "$want"
done

# Exactly the two capabilities every uplink type may need, bounded and
# raised for the unprivileged user; a PCI uplink's drop-in adds its own.
[ "$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")" = "CAP_NET_ADMIN CAP_NET_RAW" ]
ok $? "capabilities bounded to CAP_NET_ADMIN CAP_NET_RAW"
[ "$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")" = "CAP_NET_ADMIN CAP_NET_RAW" ]
ok $? "the same raised for its user (ambient)"
! grep -q "^DeviceAllow=.*\(privcmd\|vfio\|uio\)" "$UNIT"
ok $? "no privcmd, no PCI device class without a PCI uplink"

# netbackd has no SIGHUP handler: a reload would kill it.
! grep -q "^ExecReload=" "$UNIT"
ok $? "no ExecReload"
# DPDK's iopl() (@raw-io) only comes with a PCI uplink's drop-in.
! grep -q "^SystemCallFilter=[^~]*@raw-io" "$UNIT" && grep -q "^SystemCallFilter=~.*@privileged" "$UNIT"
ok $? "SystemCallFilter without @raw-io or @privileged"

grep -q '^NETBACKD_OPTS=' "$DEFAULTS"
ok $? "$(basename "$DEFAULTS") sets NETBACKD_OPTS"

# --offline needs systemd 250; without systemd as PID 1 it is the only way.
sec=$(systemd-analyze security --offline=yes --no-pager "$D/netbackd.service" 2>&1)
level=$(echo "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	n=$((n + 1))
	echo "ok $n # SKIP systemd-analyze security --offline unavailable"
else
	echo "# systemd-analyze security --offline: exposure $level (at most $MAX_EXPOSURE)"
	echo "$sec" | grep '^✗' | sed 's/  */ /g; s/^/#   /'
	awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'
	ok $? "exposure $level <= $MAX_EXPOSURE"
fi

echo "1..$n"
[ $fails = 0 ]
