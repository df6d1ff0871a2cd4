#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xenhost: nic
#
# xenhost scenario net-features: what xl's vif spec asks of netbackd, with stock Linux netfront
# guests (2 vCPUs) in the PV driver domain:
#   - multi-queue: a 2-vCPU guest negotiates 2 queues;
#   - mtu=9000: the `mtu` node is 9000; with the guests' interfaces at 9000 (Linux netfront does
#     not adopt the node by itself) an 8972-byte ping goes through unfragmented both ways, and a
#     checksummed transfer arrives whole;
#   - rate=1MB/s on g2's vif: what netbackd carries from g2 during a 20 s iperf3 is within 10%
#     of 1,000,000 bytes/s (by netbackd's own tx-bytes), and iperf3's figure is printed;
#   - anti-spoofing: g1 changes its MAC and is cut off (ping fails, tx-drop-spoof grows), then
#     gets it back and reaches g2 again;
#   - xl network-detach / network-attach: g2's vif goes (netbackd serves one vif), a new one
#     with another MAC comes, connects and carries traffic;
#   - xl save / xl restore of g1: the restored domain's vif connects again and traffic resumes.
# Arguments: [MIB (16)]. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

MIB=${XH_ARGS[0]:-16}
MAC1=00:16:3e:00:00:61
MAC2=00:16:3e:00:00:62
MAC3=00:16:3e:00:00:63
SPOOF=00:16:3e:00:00:99
IP1=10.34.0.1
IP2=10.34.0.2
IP3=10.34.0.3
RATE=1000000	# bytes/s: xl's rate=1MB/s (xl_parse.c: M = 10^6, B = bytes)

xh_dd_start dd
xh_in dd 'systemctl enable --now netbackd.service && systemctl is-active netbackd.service'

# g1 small enough for its save image to sit in dom0's tmpfs.
cat >"$XH_BOOT/g1-vif.cfg" <<EOC
vif = [ '$(xh_vif_spec dd $MAC1 script=vif-ddom,mtu=9000)' ]
EOC
cat >"$XH_BOOT/g2-vif.cfg" <<EOC
vif = [ '$(xh_vif_spec dd $MAC2 script=vif-ddom,mtu=9000,rate=1MB/s)' ]
EOC
XH_GUEST_MEM=256 XH_GUEST_CFG_EXTRA=$XH_BOOT/g1-vif.cfg xh_guest_start g1 2
XH_GUEST_CFG_EXTRA=$XH_BOOT/g2-vif.cfg xh_guest_start g2 2

# dev MAC: a shell fragment setting $dev to the guest's interface with that MAC.
dev() { echo "dev=\$(ip -o link | awk -F': ' 'index(tolower(\$0), \"$1\") { print \$2; exit }')"; }
# vifstat NAME DEVID FIELD: that counter of the vif in netbackd's --status.
vifstat() {
	xh_exec dd "netbackd --status | awk -v v='vif $(xh_domid "$1")/$2:' '\$1 \" \" \$2 == v { f = 1; next }
		f { for (i = 1; i <= NF; i++) if (\$i ~ /^$3=/) { sub(/^$3=/, \"\", \$i); print \$i; exit } }'"
}

xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
xh_vif_connected g1 0
xh_vif_connected g2 0

# ---- multi-queue
status=$(xh_exec dd 'netbackd --status') || xh_nb_fail "netbackd --status"
echo "$status" | grep '^vif'
for g in g1 g2; do
	grep -q "^vif $(xh_domid $g)/0: Connected .* queues=2 " <<<"$status" ||
		xh_nb_fail "$g (2 vCPUs) did not negotiate 2 queues"
done
xh_log "multi-queue: both guests on 2 queues"

# ---- MTU 9000
be1=$(xenstore-read "/local/domain/$(xh_domid g1)/device/vif/0/backend")
[ "$(xenstore-read "$be1/mtu")" = 9000 ] || xh_nb_fail "$be1/mtu is not 9000"
xh_in g1 "$(dev $MAC1) && ip link set dev \$dev mtu 9000 && ip -br link show dev \$dev"
xh_in g2 "$(dev $MAC2) && ip link set dev \$dev mtu 9000 && ip -br link show dev \$dev"
xh_in g1 "ping -M do -s 8972 -c 3 -W 5 $IP2"
xh_in g2 "ping -M do -s 8972 -c 3 -W 5 $IP1"
xfer() { # FROM TO TO-ADDRESS MIB PORT TAG
	xh_exec "$2" "python3 /xh/tcpxfer.py serve $5 --timeout 120 --cheap" 900 >"$XH_BOOT/$6.srv" 2>&1 &
	eval "XFER_SRV_$6=\$!"
	xh_exec "$1" "python3 /xh/tcpxfer.py send $3 $5 $4 --timeout 120 --cheap" 900 >"$XH_BOOT/$6.cli" 2>&1 &
	eval "XFER_CLI_$6=\$!"
}
xfer g1 g2 $IP2 "$MIB" 7201 jumbo
xh_xfer_check jumbo "$MIB"
xh_log "mtu 9000: 8972-byte pings both ways unfragmented, $MIB MiB verified"

# ---- rate: g2 sends for 20 s; netbackd's count of what it took from g2 over that time.
xh_iperf_server g1
b0=$(vifstat g2 0 tx-bytes)
r=$(xh_iperf g2 $IP1 20)
b1=$(vifstat g2 0 tx-bytes)
thr=$(vifstat g2 0 tx-throttled)
awk -v b0="$b0" -v b1="$b1" -v rate=$RATE -v ip="$r" -v thr="$thr" 'BEGIN {
	got = (b1 - b0) / 20
	printf "rate: g2 sent %.0f bytes/s through netbackd (rate %d, ratio %.3f, tx-throttled %s); iperf3 %s Mbit/s\n",
		got, rate, got / rate, thr, ip
	exit !(got >= 0.9 * rate && got <= 1.1 * rate) }' || xh_nb_fail "rate=1MB/s not honoured within 10%"

# ---- anti-spoofing
d0=$(vifstat g1 0 tx-drop-spoof)
xh_in g1 "$(dev $MAC1) && ip link set dev \$dev down && ip link set dev \$dev address $SPOOF &&
	ip link set dev \$dev up && ip -br link show dev \$dev"
if xh_exec g1 "ping -c 3 -W 2 $IP2" 60; then
	xh_nb_fail "anti-spoofing: g1 reached g2 from $SPOOF"
fi
d1=$(vifstat g1 0 tx-drop-spoof)
echo "anti-spoofing: tx-drop-spoof $d0 -> $d1"
[ "${d1:-0}" -gt "${d0:-0}" ] || xh_nb_fail "anti-spoofing: no frame counted as spoofed"
xh_in g1 "$(dev $SPOOF) && ip link set dev \$dev down && ip link set dev \$dev address $MAC1 &&
	ip link set dev \$dev up && ip addr replace $IP1/24 dev \$dev && ping -c 3 -W 5 $IP2"
xh_log "anti-spoofing: cut off under $SPOOF, back under $MAC1"

# ---- network-detach / network-attach
be2=$(xenstore-read "/local/domain/$(xh_domid g2)/device/vif/0/backend")
timeout 120 xl network-detach g2 0 || xh_nb_fail "xl network-detach g2 0"
xh_wait_xs "$be2/state" '^<gone>$' 60 || xh_nb_fail "g2's detached vif backend stayed"
n=$(xh_exec dd 'netbackd --status | grep -c "^vif .*: Connected"')
[ "$n" = 1 ] || xh_nb_fail "after the detach netbackd serves $n vifs, not 1"
# xl takes the keys as separate words here, not the vif spec's one comma-separated word.
timeout 120 xl network-attach g2 backend=dd script=vif-ddom mac=$MAC3 ||
	xh_nb_fail "xl network-attach g2"
devid=$(xenstore-list "/local/domain/$(xh_domid g2)/device/vif" | tail -n 1)
xh_vif_connected g2 "$devid"
xh_net_up g2 $MAC3 $IP3
xh_in g1 "ping -c 3 -W 5 $IP3"
xh_log "network-detach/attach: g2's new vif $devid carries traffic"

# ---- save / restore g1
old=$(xh_domid g1)
beold=$(xenstore-read "/local/domain/$old/device/vif/0/backend")
xh_log "xl save g1"
timeout 300 xl save g1 /tmp/g1.save || xh_nb_fail "xl save g1"
xh_wait_xs "$beold/state" '^(6|<gone>)$' 60 || xh_nb_fail "the saved g1's vif backend did not close"
xh_log "xl restore"
timeout 300 xl restore /tmp/g1.save || xh_nb_fail "xl restore"
rm -f /tmp/g1.save
[ "$(xh_domid g1)" != "$old" ] || xh_nb_fail "the restored g1 has its old domain id"
xh_vif_connected g1 0
xh_in g1 "ping -c 3 -W 10 $IP3" 120
xfer g1 g2 $IP3 "$MIB" 7202 restored
xh_xfer_check restored "$MIB"
xh_log "save/restore: the restored g1 (domain $(xh_domid g1)) is served again, $MIB MiB verified"
xh_in dd 'netbackd --status | grep -E "^vif|^devices"'
xh_shutdown g1 120 || xh_nb_fail "g1 did not shut down"
xh_shutdown g2 120 || xh_nb_fail "g2 did not shut down"
xh_log "net-features: PASS"
