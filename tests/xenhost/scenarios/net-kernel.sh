#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xenhost: nic
#
# xenhost scenario net-kernel: netbackd against Linux xen-netback in the same driver domain and
# the same boot, guest to guest, iperf3 both ways. Two stock guests (2 vCPUs, xen-netfront)
# first get vifs served by netbackd (systemd, `script=vif-ddom`); their vifs are detached,
# netbackd stopped, xen-netback loaded with a bridge, and the same guests get vifs served by it
# (`bridge=xenbr0`, Debian's vif-bridge). Prints each direction's throughput, the ratio
# netbackd / xen-netback, and each guest's interrupts per netfront queue. Fails only when a backend cannot carry the traffic.
# Arguments: [IPERF_SECONDS (10)]. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

SECS=${XH_ARGS[0]:-10}
MAC1=00:16:3e:00:00:51
MAC2=00:16:3e:00:00:52
IP1=10.32.0.1
IP2=10.32.0.2

xh_dd_start dd
xh_in dd 'systemctl enable --now netbackd.service && systemctl is-active netbackd.service'
for g in g1:$MAC1 g2:$MAC2; do
	cat >"$XH_BOOT/${g%%:*}-vif.cfg" <<-EOC
	vif = [ '$(xh_vif_spec dd "${g#*:}" script=vif-ddom)' ]
	EOC
	XH_GUEST_CFG_EXTRA=$XH_BOOT/${g%%:*}-vif.cfg xh_guest_start "${g%%:*}" 2
done

# measure LABEL: iperf3 both ways; sets R_LABEL_12 and R_LABEL_21 (Mbit/s).
measure() {
	xh_iperf_server g2
	xh_vif_irqs g1
	eval "R_$1_12=\$(xh_iperf g1 $IP2 $SECS)"
	eval "R_$1_21=\$(xh_iperf g1 $IP2 $SECS -R)"
	xh_vif_irqs g1
	xh_vif_irqs g2
	eval "xh_log \"$1: g1 -> g2 \$R_$1_12 Mbit/s, g2 -> g1 \$R_$1_21 Mbit/s\""
}

xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
xh_vif_connected g1
xh_vif_connected g2
xh_in g1 "ping -c 2 -W 10 $IP2"
measure netbackd
xh_in dd 'netbackd --status | grep -E "^(vif|worker|mbufs)"'

# ---- the same guests on Linux xen-netback and a bridge.
for g in g1 g2; do
	timeout 120 xl network-detach $g 0 || xh_fail "xl network-detach $g 0"
done
xh_in dd 'systemctl stop netbackd.service && modprobe xen-netback &&
	ip link add xenbr0 type bridge && ip link set xenbr0 up && echo xen-netback, xenbr0 up'
# xl network-attach takes the spec's keys as separate words.
spec1=$(xh_vif_spec dd $MAC1 bridge=xenbr0)
spec2=$(xh_vif_spec dd $MAC2 bridge=xenbr0)
timeout 120 xl network-attach g1 ${spec1//,/ } || xh_fail "xl network-attach g1 $spec1"
timeout 120 xl network-attach g2 ${spec2//,/ } || xh_fail "xl network-attach g2 $spec2"
xh_vif_connected g1
xh_vif_connected g2
xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
xh_in g1 "ping -c 2 -W 10 $IP2"
measure kernel

echo "| direction | netbackd Mbit/s | xen-netback Mbit/s | netbackd / xen-netback |"
echo "|---|---|---|---|"
for d in 12:"g1 -> g2" 21:"g2 -> g1"; do
	eval "a=\$R_netbackd_${d%%:*} b=\$R_kernel_${d%%:*}"
	echo "| ${d#*:} | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') |"
done
xh_log "net-kernel: PASS"
