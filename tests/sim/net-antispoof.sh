#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-antispoof: netbackd-sim's anti-spoofing (on by default; netback
# itself leaves it to the vif-bridge script's ebtables rules).
#  - A guest that rewrites its own frontend `mac` node sends frames from
#    another source MAC: netbackd answers them OKAY (as a switch port would
#    take them) and drops every one, counted in tx-drop-spoof; the victim
#    they were sent to receives none of them (it listens throughout and
#    ends on frames from an honest sender, having ignored none). Back to its
#    own MAC, its frames arrive again.
#  - A vif listed with --trusted MAC is not filtered: its frames from
#    another source MAC arrive, all of them.
#  - With `ip=` in the vif spec, Linux's stack in a namespace behind the
#    vif: ARP and IPv4 from the vif's own address pass (ping), ARP from
#    another address and IPv4 from another address (static neighbour, no
#    ARP) are dropped and counted; ping fails.
#  - A TCP transfer through the namespaces: changing the guest TAP's MAC
#    cuts it off (its frames are counted as spoofed and no longer reach the
#    switch), restoring the MAC brings it back and the transfer completes
#    with its checksum.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:07:0a		# the spoofer
MAC_V=00:16:3e:00:07:0b		# its victim (the destination)
MAC_C=00:16:3e:00:07:0c		# an honest sender
MAC_T=00:16:3e:00:07:0d		# trusted
MAC_I=00:16:3e:00:07:1a		# ip=10.14.0.5, Linux in a namespace
MAC_J=00:16:3e:00:07:1b		# its peer, 10.14.0.2
FAKE=00:16:3e:00:07:ee		# nobody's

need_root_net
sim_up
netbackd_start --trusted "$MAC_T"
A=$(sim_guest ga) && DA=$(vif_attach "$A" "$MAC_A")
V=$(sim_guest gv) && DV=$(vif_attach "$V" "$MAC_V")
C=$(sim_guest gc) && DC=$(vif_attach "$C" "$MAC_C")
T=$(sim_guest gt) && DT=$(vif_attach "$T" "$MAC_T")
I=$(sim_guest gi) && DI=$(vif_attach "$I" "$MAC_I" ip=10.14.0.5)
J=$(sim_guest gj) && DJ=$(vif_attach "$J" "$MAC_J")

# fe_mac G D MAC: the guest rewrites the MAC its frontend uses.
fe_mac() { xs_guest "$1" write "/local/domain/$1/device/vif/$2/mac" "$3" || fail "write $1's mac"; }

# to_victim SENDER-G SENDER-D N LISTEN-FROM [SENDER-ARGS]: V listens for
# 100 frames from LISTEN-FROM; SENDER sends N frames to V; then, unless
# LISTEN-FROM is the sender's, C sends the 100. V's JSON in v.json, the
# sender's in s.json.
to_victim() {
	local g=$1 d=$2 n=$3 from=$4
	shift 4
	nf_bg "$SIM_TMP/v.json" "$V" "$DV" --recv 100 --from "$from"
	wait_for 30 nb_connected "$V" "$DV" || fail "vif V never connected"
	NF_OUT=$SIM_TMP/s.json nf "$g" "$d" --send "$n" --to "$MAC_V" --size 60-1514 --pps 20000 "$@" ||
		fail "sender in $g: frames not answered OKAY"
	[ "$from" = "$MAC_C" ] && { nf "$C" "$DC" --send 100 --to "$MAC_V" --pps 20000 ||
		fail "honest sender C failed"; }
	nf_wait "$NF_PID" "$SIM_TMP/v.json" "victim V"
}

# A spoofs a MAC that is nobody's: all dropped, counted; V gets none.
fe_mac "$A" "$DA" "$FAKE"
sp0=$(nb_counter "$A" "$DA" tx-drop-spoof)
to_victim "$A" "$DA" 500 "$MAC_C"
jtrue 'd["received"] == 100 and d["ignored"] == 0' "$SIM_TMP/v.json" ||
	fail "the victim received spoofed frames"
jtrue 'd["mac"] == "'$FAKE'" and d["sent"] == 500 and d["tx_errors"] == 0' "$SIM_TMP/s.json" ||
	fail "the spoofer did not send 500 frames from $FAKE"
[ $(( $(nb_counter "$A" "$DA" tx-drop-spoof) - sp0 )) = 500 ] ||
	fail "tx-drop-spoof did not count A's 500 frames"
# ... and impersonating C: V listening for C's frames gets exactly C's.
fe_mac "$A" "$DA" "$MAC_C"
to_victim "$A" "$DA" 500 "$MAC_C" --stream 7000
jtrue 'd["received"] == 100 and d["lost"] == 0' "$SIM_TMP/v.json" ||
	fail "the victim received frames impersonating C"
[ $(( $(nb_counter "$A" "$DA" tx-drop-spoof) - sp0 )) = 1000 ] ||
	fail "tx-drop-spoof did not count A's frames impersonating C"
say "spoofed source MACs: 1000 frames dropped and counted, the victim got none"

# Back to its own MAC: through.
fe_mac "$A" "$DA" "$MAC_A"
to_victim "$A" "$DA" 500 "$MAC_A"
jtrue 'd["received"] >= 100 and d["lost"] == 0' "$SIM_TMP/v.json" || fail "A's own frames did not arrive"
[ $(( $(nb_counter "$A" "$DA" tx-drop-spoof) - sp0 )) = 1000 ] || fail "A's own frames counted as spoofed"
say "A with its own MAC: frames arrive"

# The trusted vif is not filtered.
fe_mac "$T" "$DT" "$FAKE"
to_victim "$T" "$DT" 100 "$FAKE"
jtrue 'd["received"] == 100 and d["lost"] == 0' "$SIM_TMP/v.json" ||
	fail "the trusted vif's frames from another MAC did not all arrive"
[ "$(nb_counter "$T" "$DT" tx-drop-spoof)" = 0 ] || fail "the trusted vif was filtered"
nb_status | grep -q "^vif $T/$DT: .* antispoof=0 " || fail "vif T not listed antispoof=0"
nb_status | grep -q "^vif $A/$DA: .* antispoof=1 " || fail "vif A not listed antispoof=1"
say "trusted vif: frames from another MAC arrive"

# ip=: Linux behind I (10.14.0.5) and J.
ns_guest i "$I" "$DI" 10.14.0.5/24
ns_guest j "$J" "$DJ" 10.14.0.2/24
in_ns i ping -c 2 -W 5 10.14.0.2 >&2 || fail "ping from the vif's own address"
# ARP from another address: the request never reaches J.
in_ns i ip addr flush dev eth1
in_ns i ip addr add 10.14.0.9/24 dev eth1
sp0=$(nb_counter "$I" "$DI" tx-drop-spoof)
in_ns i ping -c 2 -W 1 10.14.0.2 >&2 && fail "ping from 10.14.0.9 (ARP) got through"
sp1=$(nb_counter "$I" "$DI" tx-drop-spoof)
[ $((sp1 - sp0)) -ge 1 ] || fail "ARP from another address not counted"
say "ARP from 10.14.0.9: $((sp1 - sp0)) frames dropped"
# IPv4 from another address, no ARP needed: static neighbours both ways.
in_ns i ip neigh replace 10.14.0.2 lladdr "$MAC_J" dev eth1 nud permanent
in_ns j ip neigh replace 10.14.0.9 lladdr "$MAC_I" dev eth1 nud permanent
in_ns i ping -c 3 -i 0.2 -W 1 10.14.0.2 >&2 && fail "IPv4 from 10.14.0.9 got through"
sp2=$(nb_counter "$I" "$DI" tx-drop-spoof)
[ $((sp2 - sp1)) -ge 3 ] || fail "IPv4 from another address: only $((sp2 - sp1)) of 3 counted"
say "IPv4 from 10.14.0.9: $((sp2 - sp1)) frames dropped"
in_ns i ip addr flush dev eth1
in_ns i ip addr add 10.14.0.5/24 dev eth1
in_ns i ip neigh flush dev eth1
in_ns i ping -c 2 -W 5 10.14.0.2 >&2 || fail "ping from 10.14.0.5 again"

# TCP: cut off by a MAC change, back when it is restored.
tcp_bg i j 10.14.0.2 256
tx0=$(nb_counter "$I" "$DI" tx-bytes)
wait_for 30 nb_counter_at_least "$I" "$DI" tx-bytes $((tx0 + (16 << 20))) ||
	fail "the transfer did not start"
in_ns i ip link set dev eth1 address "$FAKE" || fail "change the TAP's MAC"
sp0=$(nb_counter "$I" "$DI" tx-drop-spoof)
wait_for 30 nb_counter_at_least "$I" "$DI" tx-drop-spoof $((sp0 + 3)) ||
	fail "frames from the changed MAC were not dropped as spoofed"
tx1=$(nb_counter "$I" "$DI" tx)
wait_for 30 nb_counter_at_least "$I" "$DI" tx-drop-spoof $((sp0 + 5)) ||
	fail "TCP stopped retrying"
[ "$(nb_counter "$I" "$DI" tx)" = "$tx1" ] || fail "frames from the changed MAC reached the switch"
kill -0 "$TCP_CLI" || fail "the transfer ended while cut off"
say "TAP MAC changed: cut off ($(( $(nb_counter "$I" "$DI" tx-drop-spoof) - sp0 )) frames dropped)"
in_ns i ip link set dev eth1 address "$MAC_I" || fail "restore the TAP's MAC"
tcp_verify 256
[ "$(nb_counter "$I" "$DI" tx)" -gt "$tx1" ] || fail "no traffic after the MAC was restored"
say "TAP MAC restored: the 256 MiB TCP transfer completed, checksum verified"
nb_status >&2
sim_report
