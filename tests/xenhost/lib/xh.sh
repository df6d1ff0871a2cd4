# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost: the scenario library, sourced by every scenario script. Runs in dom0 (bash, as root)
# under dom0-main, with XH_SRC/XH_BUILD/XH_OUT/XH_RUN set. It starts the driver domain (systemd,
# the project's installed files, xl devd) and stock guests, runs commands in them through their
# xenstore agents, and waits on xenstore with bounded watches. Nothing here sleeps to wait: every
# wait is a xenstore watch or a process under `timeout`, and every wait has a limit.
# A failed check calls xh_fail, which prints what the domains said and exits 1.

XH_LIB=$XH_SRC/tests/xenhost/lib
# The scenario's arguments (`xenhost run SCRIPT ARGS...`): dom0-main passes them on the command
# line; an array does not travel in the environment, so it is rebuilt here from the script's.
XH_ARGS=("$@")
XH_BOOT=/run/xh
XH_FAILED=0
# XENHOST_SCALE multiplies the boot waits on a machine shared with heavy jobs (TCG is slow).
XH_SCALE=${XH_SCALE:-1}
mkdir -p "$XH_BOOT"

xh_log() { echo "[$(date +%T)] $*"; }

# xh_triple_faults: every HVM triple fault Xen logged, with its RIP as a kernel symbol. An HVM
# driver domain boots with nokaslr (XH_DD_HVM_EXTRA) and dom0 is PV (no KASLR either), so
# dom0's /proc/kallsyms names the addresses of the same kernel image.
xh_triple_faults() {
	local rip
	xl dmesg | grep -A5 -E 'd[0-9]+v[0-9]+ Triple fault' | grep -E 'Triple fault|RIP:|RFLAGS:' |
		while read -r line; do
			echo "$line"
			rip=$(sed -n 's/.*RIP: *[0-9a-f]*:\[<\([0-9a-f]*\)>\].*/\1/p' <<<"$line")
			[ -n "$rip" ] || continue
			# Selector e008 is Xen's own code segment: the guest's saved state holds the
			# hypervisor's (seen 2026-12-07, with CR2 = RIP), which only a fault in QEMU's
			# emulation of VMRUN/#VMEXIT can leave there.
			case "$line" in *'RIP:    e008:'*)
				echo "  RIP is in Xen itself: the guest's saved state is the hypervisor's"
				continue ;;
			esac
			python3 - "$rip" <<-'PY'
			import sys
			r, best, name = int(sys.argv[1], 16), 0, None
			for l in open("/proc/kallsyms"):
			    f = l.split()
			    if f[1] in "tT" and best < int(f[0], 16) <= r:
			        best, name = int(f[0], 16), f[2]
			if name:
			    print("  RIP = %s+0x%x (dom0's kallsyms; valid with nokaslr)" % (name, r - best))
			PY
		done
}

# xh_fail MSG: the scenario failed; show the tails of every domain's console, then exit 1.
xh_fail() {
	echo "FAIL: $*"
	XH_FAILED=1
	local f
	xh_triple_faults
	for f in /var/log/xen/console/guest-*.log; do
		[ -f "$f" ] || continue
		echo "---- last lines of $(basename "$f" .log) ----"
		tail -n 60 "$f" | sed -e 's/\r$//'
	done
	exit 1
}

xh_check() { # xh_check WHAT COMMAND...: run COMMAND, fail with WHAT unless it succeeds
	local what=$1
	shift
	"$@" || xh_fail "$what"
}

# xh_wait_xs PATH REGEX SECONDS: wait until the node's value matches REGEX ("<gone>" stands for
# an absent node). A xenstore watch wakes us on every change; the limit bounds the wait.
xh_wait_xs() {
	local path=$1 re=$2 secs=$3 v fd pid
	exec {fd}< <(exec timeout "$secs" xenstore-watch "$path" 2>/dev/null)
	pid=$!
	while read -r -u "$fd" _; do
		v=$(xenstore-read "$path" 2>/dev/null) || v="<gone>"
		if [[ $v =~ $re ]]; then
			kill "$pid" 2>/dev/null
			exec {fd}<&-
			return 0
		fi
	done
	exec {fd}<&-
	v=$(xenstore-read "$path" 2>/dev/null) || v="<gone>"
	[[ $v =~ $re ]] && return 0
	echo "xh: $path is '$v', not /$re/, after $secs s"
	return 1
}

# xh_wait_child PATH SECONDS: wait until the directory PATH has at least one child.
xh_wait_child() {
	local path=$1 secs=$2 fd pid
	exec {fd}< <(exec timeout "$secs" xenstore-watch "$path" 2>/dev/null)
	pid=$!
	while read -r -u "$fd" _; do
		if [ -n "$(xenstore-list "$path" 2>/dev/null)" ]; then
			kill "$pid" 2>/dev/null
			exec {fd}<&-
			return 0
		fi
	done
	exec {fd}<&-
	[ -n "$(xenstore-list "$path" 2>/dev/null)" ] && return 0
	echo "xh: $path has no child after $secs s"
	return 1
}

xh_domid() { xl domid "$1" 2>/dev/null; }

# xh_payload ROLE DIR: the files laid over a domU's root by its initramfs: the agent (and
# tcpxfer.py), the role's units, and for the driver domain the project's installed tree (`meson
# install`), or with XH_DD_INSTALL=deb none of it but the run's packages (XENHOST_DEBS) in /xh/debs.
xh_payload() {
	local role=$1 dir=$2
	rm -rf "$dir"
	mkdir -p "$dir/xh"
	cp -a "$XH_LIB/domu/xh/." "$dir/xh/"
	# The net scenarios' checksummed TCP transfer (the sim suite's own), /xh/tcpxfer.py.
	cp "$XH_SRC/tests/sim/tcpxfer.py" "$dir/xh/"
	if [ "$role" = dd ]; then
		cp -a "$XH_LIB/domu/dd/." "$dir/"
		if [ "${XH_DD_INSTALL:-meson}" = deb ]; then
			[ -d "$XH_RUN/payload/debs" ] || xh_fail "XH_DD_INSTALL=deb, but the run has no packages (XENHOST_DEBS)"
			mkdir -p "$dir/xh/debs"
			cp "$XH_RUN/payload/debs/"*.deb "$dir/xh/debs/"
		elif [ -d "$XH_RUN/payload/install" ]; then
			cp -a "$XH_RUN/payload/install/." "$dir/"
		fi
	fi
}

xh_tar() { # xh_tar DIR TAR
	tar -C "$1" --owner=0 --group=0 -cf "$2" . || xh_fail "cannot make the payload $2"
}

# xh_dd_start NAME [kernel-backends]: boot the driver domain (systemd) and wait for its agent.
# Unless told otherwise, xen-blkback and xen-netback are blacklisted there, so backend/vbd and
# backend/vif belong to the project's daemons. Scratch disks: xvdc (/dev/vdc) and xvdd (/dev/vdd).
# XH_DD_TYPE=hvm makes it an HVM domain (the one type a PCI device can be passed to for DPDK:
# a PV domain's pseudo-physical addresses are not bus addresses, and libxl 4.17 refuses
# passthrough to PVH), booted directly from the same kernel and initramfs with the Xen platform
# PCI device (so gntdev, evtchn and the PV disks work); its xvda-xvdd would also be emulated
# IDE disks (qemu-xen refuses read-only ones), so there root, payload and scratch disks are
# xvde-xvdh. XH_DD_PCI=BDF passes that PCI device through (`pci = [ 'BDF' ]`). XH_DD_VCPUS:
# default 2 (PV), 1 (HVM: QEMU's TCG emulation of SVM triple-faulted a 2-vCPU HVM domain in 3
# of 6 runs on 2026-12-06, at boot and under traffic). XH_DD_HVM_EXTRA: more of an HVM driver
# domain's kernel command line, default "idle=poll nokaslr" (nokaslr: so a triple fault's RIP
# can be named, xh_triple_faults; idle=poll was first chosen when the faults were blamed on the
# idle loop's HLT, before xh_triple_faults named the intercepted RDTSC below; kept, it costs
# only a host CPU under TCG).
# XH_DD_TSC_MODE (default native; empty: Xen's default): xl's tsc_mode. Under Xen's default
# an HVM guest's RDTSC is intercepted when the TSC is not invariant (never, under TCG), and
# QEMU's SVM emulation triple-faulted the domain on the instruction after an intercepted RDTSC
# (pvclock_clocksource_read+0x15, named by xh_triple_faults on 2026-12-07: the same kernel
# offset as the faults of 2026-12-06 first blamed on HLT); with native the RDTSC is not
# intercepted and that fault was not seen again.
# XH_DD_HAP=0: shadow page tables instead of nested paging, to take QEMU's emulated NPT out of
# the picture (Debian's Xen 4.17 is built without shadow paging: xl create fails EOPNOTSUPP).
# These knobs pass through `xenhost run`.
xh_dd_start() {
	local name=$1 mode=${2:-} dir=$XH_BOOT/payload-$1 id
	# Scenarios run back to back in one boot share a driver domain that is already up.
	if id=$(xh_domid "$name") && [ "$(xenstore-read "/local/domain/$id/data/xh/ready" \
		2>/dev/null)" = 1 ]; then
		xh_log "driver domain $name (domain $id) is already up"
		return 0
	fi
	xh_payload dd "$dir"
	if [ "$mode" != kernel-backends ]; then
		mkdir -p "$dir/etc/modprobe.d"
		printf 'blacklist xen-blkback\nblacklist xen-netback\n' \
			>"$dir/etc/modprobe.d/xh-blacklist.conf"
	fi
	xh_tar "$dir" "$XH_BOOT/$name.tar"
	local d=(xvda xvdb xvdc xvdd)
	if [ "${XH_DD_TYPE:-pv}" = hvm ]; then
		d=(xvde xvdf xvdg xvdh)
		cat >"$XH_BOOT/$name.cfg" <<-EOF
		type = "hvm"
		cmdline = "console=hvc0 xh.role=dd xh.root=/dev/${d[0]} xh.payload=/dev/${d[1]} systemd.show_status=1 ${XH_DD_HVM_EXTRA-idle=poll nokaslr}"
		xen_platform_pci = 1
		vnc = 0
		memory = 1024
		vcpus = ${XH_DD_VCPUS:-1}
		EOF
		[ -n "${XH_DD_HAP:-}" ] && echo "hap = $XH_DD_HAP" >>"$XH_BOOT/$name.cfg"
		[ -n "${XH_DD_TSC_MODE-native}" ] && echo "tsc_mode = \"${XH_DD_TSC_MODE-native}\"" >>"$XH_BOOT/$name.cfg"
	else
		cat >"$XH_BOOT/$name.cfg" <<-EOF
		type = "pv"
		extra = "console=hvc0 xh.role=dd systemd.show_status=1"
		memory = 768
		vcpus = ${XH_DD_VCPUS:-2}
		EOF
	fi
	[ -n "${XH_DD_PCI:-}" ] && echo "pci = [ '$XH_DD_PCI' ]" >>"$XH_BOOT/$name.cfg"
	cat >>"$XH_BOOT/$name.cfg" <<-EOF
	name = "$name"
	kernel = "$XH_BOOT/vmlinuz"
	ramdisk = "$XH_BOOT/initrd.zst"
	driver_domain = 1
	on_crash = "destroy"
	disk = [ 'format=raw,vdev=${d[0]},access=ro,script=$XH_LIB/xh-block,target=/dev/vdb',
	         'format=raw,vdev=${d[1]},access=ro,script=$XH_LIB/xh-block,target=$XH_BOOT/$name.tar',
	         'format=raw,vdev=${d[2]},access=rw,script=$XH_LIB/xh-block,target=/dev/vdc',
	         'format=raw,vdev=${d[3]},access=rw,script=$XH_LIB/xh-block,target=/dev/vdd' ]
	EOF
	xh_log "starting driver domain $name: $(grep -E '^(type|cmdline|vcpus|hap|tsc_mode|pci) ' "$XH_BOOT/$name.cfg" |
		tr '\n' ';')"
	timeout 240 xl create "$XH_BOOT/$name.cfg" || xh_fail "xl create $name"
	id=$(xh_domid "$name")
	local first=$id t=0 limit=$((300 * XH_SCALE))
	# An HVM domain under TCG has been seen to triple-fault early in a boot (a vCPU other than
	# the first, 2026-12-06); Xen's default action for that is a reboot, which xl carries out as
	# a new domain. So the wait goes in 20 s steps, each a xenstore watch, and follows the
	# name to its new domain (once).
	until xh_wait_xs "/local/domain/$id/data/xh/ready" '^1$' 20 >/dev/null; do
		t=$((t + 20))
		if [ "$id" = "$first" ] && ! xl list "$first" >/dev/null 2>&1 &&
			id=$(xh_domid "$name") && [ "$id" != "$first" ]; then
			xh_log "driver domain $name rebooted (domain $first is now $id); Xen's triple faults:"
			xh_triple_faults
			continue
		fi
		[ $t -lt $limit ] && continue
		# Seen once in ~30 boots (2026-12-06): a silent driver domain. Its kernel and
		# systemd print their progress (no "quiet"); Xen says what its vCPUs are doing.
		xl list
		xl debug-keys q && xl dmesg | tail -n 40
		xh_fail "driver domain $name: its agent did not come up in $limit s"
	done
	xh_log "driver domain $name (domain $id) is up"
}

# xh_guest_start NAME VCPUS DISKSPEC...: boot a stock guest with the given extra disks (xvdc
# onward; xvda is its root, xvdb its payload) and wait for its agent. XH_GUEST_EXTRA adds to
# its kernel command line (e.g. xen_blkfront.max_ring_page_order=4), XH_GUEST_MEM sets its
# memory in MiB (default 512).
xh_guest_start() {
	local name=$1 vcpus=$2 dir=$XH_BOOT/payload-$1 spec disks
	shift 2
	xh_payload guest "$dir"
	xh_tar "$dir" "$XH_BOOT/$name.tar"
	disks="'format=raw,vdev=xvda,access=ro,script=$XH_LIB/xh-block,target=/dev/vdb',
	         'format=raw,vdev=xvdb,access=ro,script=$XH_LIB/xh-block,target=$XH_BOOT/$name.tar'"
	for spec in "$@"; do
		disks="$disks, '$spec'"
	done
	cat >"$XH_BOOT/$name.cfg" <<-EOF
	name = "$name"
	type = "pv"
	kernel = "$XH_BOOT/vmlinuz"
	ramdisk = "$XH_BOOT/initrd.zst"
	extra = "console=hvc0 xh.role=guest quiet ${XH_GUEST_EXTRA:-}"
	memory = ${XH_GUEST_MEM:-512}
	vcpus = $vcpus
	on_crash = "destroy"
	disk = [ $disks ]
	EOF
	[ -n "${XH_GUEST_CFG_EXTRA:-}" ] && cat "$XH_GUEST_CFG_EXTRA" >>"$XH_BOOT/$name.cfg"
	xh_log "starting guest $name: $*"
	timeout 240 xl create "$XH_BOOT/$name.cfg" || xh_fail "xl create $name"
	local id
	id=$(xh_domid "$name")
	# A disk that never connects holds the guest's kernel ~270 s before init: fail sooner.
	xh_wait_xs "/local/domain/$id/data/xh/ready" '^1$' $((180 * XH_SCALE)) ||
		xh_fail "guest $name: its agent did not come up (a disk that never connected?)"
	xh_log "guest $name (domain $id) is up"
}

# xh_exec NAME COMMAND [SECONDS]: run COMMAND (a bash string) in domain NAME, print its output,
# return its status (124 when it did not answer in time; default 300 s).
xh_exec() {
	local name=$1 cmd=$2 secs=${3:-300} id base n lock
	id=$(xh_domid "$name") || { echo "xh: no domain $name"; return 125; }
	base=/local/domain/$id/data/xh
	lock=$XH_BOOT/$name.seq
	exec {lfd}>>"$lock"
	flock "$lfd"
	n=$(($(cat "$lock.n" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$lock.n"
	# base64: xenstore-read escapes control characters such as a script's newlines.
	xenstore-write "$base/cmd/$n" "$(printf '%s' "$cmd" | base64 -w0)" &&
		xenstore-write "$base/req" "$n"
	flock -u "$lfd"
	exec {lfd}>&-
	if ! xh_wait_xs "$base/rc/$n" '^[0-9]+$' "$secs" >/dev/null; then
		echo "xh: '$cmd' in $name did not finish within $secs s"
		return 124
	fi
	local count k rc
	count=$(xenstore-read "$base/out/$n/count")
	for ((k = 0; k < count; k++)); do
		xenstore-read "$base/out/$n/$k" | base64 -d
	done
	rc=$(xenstore-read "$base/rc/$n")
	xenstore-rm "$base/out/$n" "$base/cmd/$n" "$base/rc/$n" 2>/dev/null
	return "$rc"
}

# xh_in NAME COMMAND [SECONDS]: xh_exec, echoing the command and failing the scenario on error.
xh_in() {
	echo "$1# $2"
	xh_exec "$@" || xh_fail "in $1: '$2' failed"
}

# xh_backend_path GUEST VDEV: the backend directory of GUEST's disk VDEV, from its frontend.
xh_backend_path() {
	local id devid
	id=$(xh_domid "$1") || return 1
	devid=$(xh_vbd_devid "$2")
	xenstore-read "/local/domain/$id/device/vbd/$devid/backend"
}

# xh_vbd_devid VDEV: the xenstore device id of xvdX as libxl numbers it
# (libxl_device_disk_dev_number): 202 << 8 | N << 4 for the first 16 disks (xvda..xvdp),
# 1 << 28 | N << 8 past them (xvdq..xvdz).
xh_vbd_devid() {
	local v=${1#xvd} n
	n=$(($(printf '%d' "'$v") - 97))
	if [ "$n" -lt 16 ]; then
		echo $(((202 << 8) | (n << 4)))
	else
		echo $(((1 << 28) | (n << 8)))
	fi
}

xh_shutdown() { # xh_shutdown NAME [SECONDS]: orderly shutdown, bounded, destroy on timeout
	local name=$1 secs=${2:-60}
	timeout "$secs" xl shutdown -w "$name" || {
		echo "xh: $name did not shut down within $secs s: destroying it"
		xl destroy "$name"
		return 1
	}
}

# xh_kill_unit DOMAIN UNIT: kill -9 a unit's main process in a domain and wait (bounded) until
# systemd has restarted it; prints the restart count. For the restart scenarios.
xh_kill_unit() {
	local d=$1 unit=$2
	xh_exec "$d" "n=\$(systemctl show -p NRestarts --value $unit) &&
		systemctl kill -s KILL --kill-whom=main $unit &&
		timeout 60 bash -c 'until [ \$(systemctl show -p NRestarts --value $unit) -gt '\$n' ] &&
			systemctl is-active -q $unit; do systemctl show -p ActiveState --value $unit >/dev/null; done' &&
		systemctl show -p NRestarts,MainPID $unit"
}

# xh_vif_spec BACKEND MAC [MORE]: a vif spec served by BACKEND (for the net scenarios).
xh_vif_spec() { echo "mac=$2,backend=$1${3:+,$3}"; }

# ---- net helpers (net.sh, net-kernel.sh)

# xh_net_up GUEST MAC ADDRESS: load xen-netfront, wait (bounded) for the interface with MAC,
# bring it up with ADDRESS/24; prints it, its queues and the offloads Linux turned on.
xh_net_up() {
	xh_in "$1" "modprobe xen-netfront && timeout 120 bash -c 'until ip -o link | grep -qi \"$2\"; do
		sleep 0.2; done' && dev=\$(ip -o link | awk -F': ' 'index(tolower(\$0), \"$2\") { print \$2; exit }') &&
		ip link set dev \$dev up && ip addr flush dev \$dev && ip addr add $3/24 dev \$dev &&
		ip -br addr show dev \$dev && echo queues: \$(ls /sys/class/net/\$dev/queues) &&
		ethtool -k \$dev | grep -E '^(rx-checksumming|tx-checksumming|scatter-gather|tcp-segmentation-offload|generic-receive-offload):' | tr '\n' ' '; echo"
}

# xh_vif_irqs GUEST: the guest's interrupts per netfront queue and event channel, summed over
# its vCPUs, from /proc/interrupts. netfront names them before the netdev has its name
# ("eth%d-q0-tx"). (The xenbus sysfs event counters count only for backends.)
xh_vif_irqs() {
	xh_exec "$1" "awk '/-q[0-9]+-(tx|rx)\$/ { s = 0; for (i = 2; i <= NF; i++) if (\$i ~ /^[0-9]+\$/) s += \$i
		printf \"%s %d  \", \$NF, s } END { print \"\" }' /proc/interrupts"
}

# xh_iperf FROM TO-ADDRESS SECONDS [-R]: iperf3 from FROM to a server at TO-ADDRESS (started
# with `iperf3 -s -D`); prints the receiver's Mbit/s (the figure to compare) on the last line.
xh_iperf() {
	local out
	out=$(xh_exec "$1" "iperf3 -c $2 -t $3 -f m ${4:-}" $(($3 + 180))) || {
		echo "$out"
		xh_fail "iperf3 $1 -> $2 ${4:-} failed"
	}
	echo "$out" | tail -n 4 | head -n 2 >&2
	echo "$out" | awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) } END { print v + 0 }'
}

# xh_iperf_server GUEST: iperf3 -s -D in GUEST, bounded until it listens.
xh_iperf_server() {
	xh_in "$1" 'pgrep -x iperf3 >/dev/null || iperf3 -s -D &&
		timeout 30 bash -c "until ss -Hltn \"sport = :5201\" | grep -q .; do sleep 0.2; done"'
}

# xh_nb_fail MSG: netbackd's own account (the unit, --status, the journal, the driver domain's
# kernel log), then xh_fail MSG.
xh_nb_fail() {
	xh_exec dd 'systemctl status --no-pager -l netbackd.service; netbackd --status;
		journalctl -b -u netbackd.service -o cat --no-pager | tail -n 60; dmesg | tail -n 30' 120
	xh_fail "$*"
}

# xh_xfer_check TAG MIB: a checksummed transfer (tests/sim/tcpxfer.py) started in the
# background with its receiver's and sender's PIDs in XFER_SRV_TAG and XFER_CLI_TAG and their
# output in $XH_BOOT/TAG.srv and TAG.cli: both ended well, MIB MiB went across, the CRC-32s
# are equal; xh_nb_fail otherwise.
xh_xfer_check() {
	local s c
	eval "s=\$XFER_SRV_$1 c=\$XFER_CLI_$1"
	wait "$c" || { cat "$XH_BOOT/$1.cli"; xh_nb_fail "$1: the sender failed"; }
	wait "$s" || { cat "$XH_BOOT/$1.srv"; xh_nb_fail "$1: the receiver failed"; }
	echo "$1 sent:     $(tail -n 1 "$XH_BOOT/$1.cli")"
	echo "$1 received: $(tail -n 1 "$XH_BOOT/$1.srv")"
	python3 -c 'import json, sys
a, b = (json.loads(open(f).read().splitlines()[-1]) for f in sys.argv[1:3])
n = int(sys.argv[3]) << 20
sys.exit(0 if a["bytes"] == b["bytes"] == n and a["crc32"] == b["crc32"] else 1)' \
		"$XH_BOOT/$1.cli" "$XH_BOOT/$1.srv" "$2" || xh_nb_fail "$1: the data differ"
}

# xh_guest_vif NAME MAC [DISKSPEC...]: a 2-vCPU stock guest with one vif on the driver domain
# dd (`script=vif-ddom`, xl's vif spec) and the given disks.
xh_guest_vif() {
	local n=$1 m=$2
	shift 2
	cat >"$XH_BOOT/$n-vif.cfg" <<-EOC
	vif = [ '$(xh_vif_spec dd "$m" script=vif-ddom)' ]
	EOC
	XH_GUEST_CFG_EXTRA=$XH_BOOT/$n-vif.cfg xh_guest_start "$n" 2 "$@"
}

# XH_BB_SERVED: a driver-domain command printing the requests (reads + writes) the blkbackd
# now running has served, from its counters (a new process counts from 0). A scenario puts
# \$($XH_BB_SERVED) into the command it gives xh_exec.
XH_BB_SERVED='blkbackd --status 2>/dev/null | tr " " "\n" |
	sed -n "s/^\(read\|write\)=\([0-9]*\)$/\2/p" | awk "{ n += \$1 } END { print n + 0 }"'

# xh_nb_txbytes_install: /usr/local/bin/nb-txbytes in the driver domain; `nb-txbytes DOMID`
# there prints the bytes that guest's vif 0 has sent into netbackd's switch, as the daemon now
# running counts them (a new process counts from 0): the line after "vif DOMID/0:" in --status.
xh_nb_txbytes_install() {
	cat >"$XH_BOOT/nb-txbytes" <<-'EOS'
	#!/bin/sh
	netbackd --status | awk -v v="vif $1/0:" '$1 " " $2 == v { f = 1; next }
		f { for (i = 1; i <= NF; i++) if ($i ~ /^tx-bytes=/) { sub(/^tx-bytes=/, "", $i); print $i; exit } }'
	EOS
	xh_in dd "echo $(base64 -w0 "$XH_BOOT/nb-txbytes") | base64 -d >/usr/local/bin/nb-txbytes &&
		chmod 755 /usr/local/bin/nb-txbytes"
}

# xh_vif_connected NAME [DEVID]: that vif of guest NAME (default: its newest) has its frontend
# and backend at Connected (4), bounded; xh_nb_fail otherwise.
xh_vif_connected() {
	local id dev=${2:-} fe
	id=$(xh_domid "$1") || xh_fail "no domain $1"
	[ -n "$dev" ] || dev=$(xenstore-list "/local/domain/$id/device/vif" | sort -n | tail -n 1)
	fe=/local/domain/$id/device/vif/$dev
	xh_wait_xs "$fe/state" '^4$' 120 && xh_wait_xs "$(xenstore-read "$fe/backend")/state" '^4$' 60 ||
		xh_nb_fail "$1's vif $dev did not connect"
}
