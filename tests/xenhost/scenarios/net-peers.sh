#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xenhost: nic
#
# xenhost scenario net-peers (a benchmark: tests/bench/xen-net-peers.sh): netbackd against
# Linux xen-netback in the same HVM driver domain, the same boot, the same guests and the same
# passed-through NIC. First netbackd with the NIC under DPDK's net_e1000_em as its uplink (as
# net-pci sets it up); then the vifs detached, netbackd stopped, the NIC given back to the
# kernel's e1000, xen-netback loaded and a bridge over the NIC, and the vifs attached again
# with `bridge=`. For each: TCP Mbit/s g1 -> g2, g1 -> dom0 and dom0 -> g1 (iperf3), 64-byte UDP
# frames per second g1 -> dom0 (iperf3 -u -l 18: 18 + 8 UDP + 20 IP + 14 Ethernet + 4 FCS) as
# dom0 received them, and the driver domain's CPU time per such frame (its /proc/stat over that
# run). Prints a table with netbackd / xen-netback ratios; fails only when a backend cannot
# carry traffic at all.
# With `pv`: a PV driver domain, where the NIC stays with the kernel's e1000 for both halves and
# netbackd's uplink is net_af_packet on it (the operator guide's PV path); then, before the
# kernel's half, netbackd is restarted with a `tap:` uplink bridged to the NIC by the driver
# domain's kernel (the NIC's offloads on: its GRO and TSO reach the guests' GSO through the
# TAP), the guests' vifs reattached without a reconnect, and measured again.
# Arguments: [SECONDS (10)] [hvm|pv (hvm)]. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

SECS=${XH_ARGS[0]:-10}
MODE=${XH_ARGS[1]:-hvm}
MAC1=00:16:3e:00:00:71
MAC2=00:16:3e:00:00:72
IP0=10.35.0.254
IP1=10.35.0.1
IP2=10.35.0.2

[ -n "${XH_NIC_PT:-}" ] || xh_fail "no NIC topology"
nic0=$(ls "/sys/bus/pci/devices/$XH_NIC_DOM0/net")
ip link set dev "$nic0" up && ip addr add "$IP0/24" dev "$nic0" || xh_fail "dom0: $nic0 up"
iperf3 -s -D || xh_fail "iperf3 server in dom0"

XH_DD_TYPE=$MODE XH_DD_PCI=$XH_NIC_PT xh_dd_start dd
bdf=$(xh_exec dd 'lspci -D -n -d 8086:100e | cut -d" " -f1') || xh_nb_fail "lspci in the driver domain"
if [ "$MODE" = pv ]; then
	ifc=$(xh_exec dd "timeout 60 bash -c 'until ls /sys/bus/pci/devices/$bdf/net 2>/dev/null | grep -q .; do
		sleep 0.2; done' && ls /sys/bus/pci/devices/$bdf/net") || xh_nb_fail "no interface for $bdf"
	xh_in dd "ip link set dev $ifc up"
	up=net_af_packet0 drv=net_af_packet uplink=net_af_packet0,iface=$ifc
else
	up=$bdf drv=net_e1000_em uplink=$bdf
fi
xh_in dd "mkdir -p /etc/ddom && printf 'uplink = $uplink\nworkers = 1\n' >/etc/ddom/netbackd.conf &&
	echo 'NETBACKD_OPTS=\"--config /etc/ddom/netbackd.conf\"' >/etc/default/netbackd &&
	systemctl daemon-reload && systemctl enable --now netbackd.service && systemctl is-active netbackd.service" 400
xh_exec dd "timeout 60 bash -c 'until netbackd --status | grep -q \"^uplink $up: link=up .*driver=$drv\"; do sleep 0.5; done'" 120 ||
	xh_nb_fail "the uplink did not come up on $drv"

for g in g1:$MAC1 g2:$MAC2; do
	cat >"$XH_BOOT/${g%%:*}-vif.cfg" <<-EOC
	vif = [ '$(xh_vif_spec dd "${g#*:}" script=vif-ddom)' ]
	EOC
	XH_GUEST_CFG_EXTRA=$XH_BOOT/${g%%:*}-vif.cfg xh_guest_start "${g%%:*}" 2
done

# ddcpu: the driver domain's busy jiffies (all but idle and iowait) since its boot.
ddcpu() { xh_exec dd "awk '/^cpu / { print \$2 + \$3 + \$4 + \$7 + \$8 + \$9 }' /proc/stat"; }
# measure LABEL: every figure of one backend into R_LABEL_*.
measure() {
	local l=$1 out c0 c1 hz
	xh_iperf_server g2
	eval "R_${l}_gg=\$(xh_iperf g1 $IP2 $SECS)"
	eval "R_${l}_g0=\$(xh_iperf g1 $IP0 $SECS)"
	eval "R_${l}_0g=\$(xh_iperf g1 $IP0 $SECS -R)"
	hz=$(xh_exec dd 'getconf CLK_TCK')
	c0=$(ddcpu)
	out=$(xh_exec g1 "iperf3 -c $IP0 -u -b 0 -l 18 -t $SECS -f m" $((SECS + 180))) ||
		{ echo "$out"; xh_nb_fail "$l: 64-byte UDP to dom0 failed"; }
	c1=$(ddcpu)
	echo "$out" | tail -n 4 | head -n 2
	# The receiver's line: "... LOST/TOTAL (P%)  receiver".
	eval "$(echo "$out" | awk -v l="$l" -v secs="$SECS" -v c="$((c1 - c0))" -v hz="$hz" '
		/receiver/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, a, "/"); got = a[2] - a[1] } }
		END { printf "R_%s_pps=%.0f R_%s_cpu=%.2f\n", l, got / secs, l, (got > 0 ? c / hz / got * 1e6 : 0) }')"
	eval "xh_log \"$l: TCP g1->g2 \$R_${l}_gg, g1->dom0 \$R_${l}_g0, dom0->g1 \$R_${l}_0g Mbit/s;" \
		"64 B g1->dom0 \$R_${l}_pps frames/s, \$R_${l}_cpu us of driver-domain CPU per frame\""
}

xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
xh_vif_connected g1
xh_vif_connected g2
xh_in g1 "ping -c 2 -W 10 $IP0 && ping -c 2 -W 10 $IP2"
measure netbackd
xh_in dd 'netbackd --status | grep -E "^(uplink|worker|mbufs)"'

if [ "$MODE" = pv ]; then
	xh_in dd "ip tuntap add dev up0 mode tap multi_queue vnet_hdr && ethtool -K $ifc gro on gso on tso on tx on &&
		ip link add xenbr1 type bridge && ip link set dev $ifc master xenbr1 &&
		ip link set dev up0 master xenbr1 && ip link set dev xenbr1 up &&
		printf 'uplink = tap:up0\nworkers = 1\n' >/etc/ddom/netbackd.conf &&
		systemctl restart netbackd.service && systemctl is-active netbackd.service" 400
	xh_exec dd "timeout 60 bash -c 'until netbackd --status | grep -q \"^uplink tap:up0: link=up .*driver=ddom_tap\"; do sleep 0.5; done'" 120 ||
		xh_nb_fail "the tap: uplink did not come up"
	xh_vif_connected g1
	xh_vif_connected g2
	xh_in g1 "ping -c 2 -W 10 $IP0 && ping -c 2 -W 10 $IP2"
	measure netbackd_tap
	xh_in dd 'netbackd --status | grep -E "^(uplink|worker|mbufs)"'
fi

# ---- the same guests and NIC on the kernel: e1000, a bridge, xen-netback.
for g in g1 g2; do
	timeout 120 xl network-detach $g 0 || xh_fail "xl network-detach $g 0"
done
# HVM: the NIC from uio_pci_generic back to e1000 (PV: it never left e1000).
rebind="echo > /sys/bus/pci/devices/$bdf/driver_override &&
	echo $bdf > /sys/bus/pci/devices/$bdf/driver/unbind && echo $bdf > /sys/bus/pci/drivers_probe &&"
# PV: the NIC leaves the tap: half's bridge, offloads on (after netbackd stops: the vifs
# detached through it).
[ "$MODE" = pv ] && rebind="ip link del xenbr1 && ip link del up0 &&"
xh_in dd "systemctl stop netbackd.service && $rebind
	timeout 60 bash -c 'until ls /sys/bus/pci/devices/$bdf/net 2>/dev/null | grep -q .; do sleep 0.2; done' &&
	ifc=\$(ls /sys/bus/pci/devices/$bdf/net) && modprobe xen-netback &&
	ip link add xenbr0 type bridge && ip link set dev \$ifc master xenbr0 &&
	ip link set dev \$ifc up && ip link set dev xenbr0 up &&
	echo \"xen-netback, xenbr0 over \$ifc (\$(basename \$(readlink /sys/bus/pci/devices/$bdf/driver)))\"" 180
for g in g1:$MAC1 g2:$MAC2; do
	spec=$(xh_vif_spec dd "${g#*:}" bridge=xenbr0)
	# xl network-attach takes the spec's keys as separate words.
	timeout 120 xl network-attach "${g%%:*}" ${spec//,/ } || xh_fail "xl network-attach ${g%%:*} $spec"
done
xh_vif_connected g1
xh_vif_connected g2
xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
xh_in g1 "ping -c 2 -W 10 $IP0 && ping -c 2 -W 10 $IP2"
measure kernel

# table LABEL TITLE: R_LABEL_* against the kernel's, as a markdown table.
table() {
	local c a b
	echo "| case | $2 | xen-netback | ratio |"
	echo "|---|---|---|---|"
	for c in gg:"TCP g1 -> g2, Mbit/s" g0:"TCP g1 -> dom0, Mbit/s" 0g:"TCP dom0 -> g1, Mbit/s" \
		pps:"64 B UDP g1 -> dom0, frames/s" cpu:"driver-domain CPU per 64 B frame, us"; do
		eval "a=\$R_$1_${c%%:*} b=\$R_kernel_${c%%:*}"
		echo "| ${c#*:} | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') |"
	done
}
table netbackd netbackd
[ "$MODE" = pv ] && table netbackd_tap "netbackd, tap: uplink bridged to the NIC"
xh_log "net-peers: done"
