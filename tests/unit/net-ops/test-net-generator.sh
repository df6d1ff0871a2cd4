#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# systemd/netbackd-generator writes netbackd.service's PCI drop-in exactly when the
# configuration (NETBACKD_OPTS in the defaults file, and the config file it names) has a PCI
# uplink: the helper with every PCI address (long and short forms, devargs cut), the hugepages
# from mem-mb (the command line's over the file's, none when the EAL options set memory), the
# driver's modprobe@ unit (uio_pci_generic without IOMMU groups, vfio-pci with), CAP_SYS_ADMIN
# and writable sysfs only without an IOMMU; '#' lines are comments as netbackd reads them.
# The unit with the drop-in passes `systemd-analyze verify`. netbackd-pci refuses a bad
# argument and names a PCI address that does not exist.
# Usage: test-net-generator.sh GENERATOR HELPER UNIT DAEMON
set -u
GEN=$1
HELPER=$2
UNIT=$3
DAEMON=$4
. "$(dirname "$0")/../tap.sh"
tap_init net-generator

mkdir -p "$D/noiommu" "$D/iommu/0"
gen() { # NAME NETBACKD_OPTS [CONFIG-LINES]: runs the generator into $D/NAME
	printf 'NETBACKD_OPTS="%s"\n' "$2" >"$D/$1.default"
	printf '%b' "${3:-}" >"$D/$1.conf"
	NETBACKD_GENERATOR_DEFAULTS=$D/$1.default NETBACKD_GENERATOR_IOMMU_GROUPS=${IOMMU:-$D/noiommu} \
		sh "$GEN" "$D/$1"
}
dropin() { cat "$D/$1/netbackd.service.d/50-pci-uplinks.conf" 2>/dev/null; }

gen vdev "--uplink net_tap0,iface=up0 --config $D/vdev.conf" 'uplink = net_null0\n'
[ ! -e "$D/vdev/netbackd.service.d" ]
ok $? "vdev uplinks only: no drop-in"

gen pci "--config $D/pci.conf" '#uplink = 0000:00:09.0\nuplink = net_tap0,iface=x\nuplink = 0000:00:04.0\n  uplink=00:05.1,rxq=2\n'
dropin pci | grep -qx "ExecStartPre=+/usr/libexec/ddom/netbackd-pci --owner netbackd:ddom --hugepages-mb 256 0000:00:04.0 0000:00:05.1"
ok $? "two PCI uplinks from the config file, the short form completed, the comment skipped"
dropin pci | grep -qx "Wants=modprobe@uio_pci_generic.service" &&
	dropin pci | grep -qx "After=modprobe@uio_pci_generic.service"
ok $? "no IOMMU: uio_pci_generic loaded before the unit starts"
dropin pci | grep -qx "CapabilityBoundingSet=CAP_SYS_ADMIN" &&
	dropin pci | grep -qx "AmbientCapabilities=CAP_SYS_ADMIN" &&
	dropin pci | grep -qx "ProtectKernelTunables=no" && dropin pci | grep -qx "DeviceAllow=char-uio rw" &&
	! dropin pci | grep -q "vfio"
ok $? "no IOMMU: CAP_SYS_ADMIN for the unprivileged user, writable sysfs, /dev/uioN"
dropin pci | grep -qx "AmbientCapabilities=CAP_SYS_RAWIO" && dropin pci | grep -qx "SystemCallFilter=@raw-io"
ok $? "a PCI uplink: CAP_SYS_RAWIO and @raw-io (the EAL's iopl)"

gen cmd "--uplink 0000:03:00.0 --mem-mb 512 --config $D/cmd.conf" 'mem-mb = 128\n'
dropin cmd | grep -qx "ExecStartPre=+/usr/libexec/ddom/netbackd-pci --owner netbackd:ddom --hugepages-mb 512 0000:03:00.0"
ok $? "--uplink and --mem-mb on the command line, over the file's mem-mb"

gen file "--config $D/file.conf" 'uplink = 0000:03:00.0\nmem-mb = 128\n'
dropin file | grep -q -- "--hugepages-mb 128 0000:03:00.0$"
ok $? "mem-mb from the file"

gen eal "--config $D/eal.conf" 'uplink = 0000:03:00.0\neal = --no-huge -m 64\n'
dropin eal | grep -q -- "--hugepages-mb 0 0000:03:00.0$"
ok $? "an eal that sets the memory: no hugepages reserved"

IOMMU=$D/iommu gen iommu "--uplink 0000:03:00.0"
dropin iommu | grep -qx "Wants=modprobe@vfio-pci.service" && ! dropin iommu | grep -q "CAP_SYS_ADMIN\|ProtectKernelTunables\|uio" &&
	dropin iommu | grep -qx "DeviceAllow=char-vfio rw" && dropin iommu | grep -qx "LimitMEMLOCK=infinity"
ok $? "an IOMMU: vfio-pci and its devices, pinned memory unlimited, no CAP_SYS_ADMIN, sysfs stays read-only"

if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$D/units"
	sed "s#/usr/sbin/netbackd#$DAEMON#" "$UNIT" >"$D/units/netbackd.service"
	cp -r "$D/pci/netbackd.service.d" "$D/units/"
	sed -i "s#ExecStartPre=+/usr/libexec/ddom/netbackd-pci#ExecStartPre=+$HELPER#" \
		"$D/units/netbackd.service.d/50-pci-uplinks.conf"
	out=$(SYSTEMD_UNIT_PATH="$D/units:" systemd-analyze verify "$D/units/netbackd.service" 2>&1)
	[ -z "$out" ]
	ok $? "the unit with the drop-in: systemd-analyze verify"
	[ -z "$out" ] || echo "$out" | sed 's/^/# /'
else
	echo "ok $((n = n + 1)) - # SKIP systemd-analyze verify: no systemd-analyze"
fi

sh "$HELPER" --hugepages-mb x 0000:00:04.0 2>"$D/err"
[ $? = 2 ] && grep -q "is not a number of MiB" "$D/err" &&
	{ sh "$HELPER" --owner netbackd 0000:00:04.0 2>"$D/err"; [ $? = 2 ]; } && grep -q "is not USER:GROUP" "$D/err"
ok $? "netbackd-pci: a bad --hugepages-mb or --owner is refused (exit 2)"
sh "$HELPER" 0000:7f:1f.7 >/dev/null 2>"$D/err"
[ $? = 1 ] && grep -q "uplink 0000:7f:1f.7: no such PCI device in this domain" "$D/err"
ok $? "netbackd-pci: a PCI address that does not exist is named (exit 1)"
tap_done
