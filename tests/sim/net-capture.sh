#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-capture: `netbackd --capture DOMID/DEVID FILE` on a running vif
# writes what that guest sends (inbound) and receives (outbound) as pcapng,
# which tshark and tcpdump read: every generator frame is there once, with
# its length and direction; `--capture ... off` closes the file and later
# frames are not added.
. "$(dirname "$0")/net-lib.sh"

command -v tshark >/dev/null || skip "tshark is not installed (make deps)"
MAC_A=00:16:3e:00:03:0a
MAC_B=00:16:3e:00:03:0b
sim_up
A=$(sim_guest ga)
B=$(sim_guest gb)
netbackd_start
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")
CAP=$SIM_TMP/a.pcapng
run() {	# run N: A sends N frames of 100..1400 bytes to B, B verifies
	nf_bg "$SIM_TMP/recv.json" "$B" "$DB" --recv "$1" --from "$MAC_A"
	wait_for 30 nb_connected "$B" "$DB" || fail "vif $B/$DB never connected"
	wait_for 30 nb_connected "$A" "$DA" || true
	nf "$A" "$DA" --send "$1" --to "$MAC_B" --size 100-1400 --pps 20000 || fail "sender"
	nf_wait "$NF_PID" "$SIM_TMP/recv.json" "receiver"
}
# The vif must be connected to be captured: start A's frontend, capture, send.
nf_bg "$SIM_TMP/recv-a.json" "$A" "$DA" --recv 1 --timeout 2 --allow-loss
wait_for 30 nb_connected "$A" "$DA" || fail "vif $A/$DA never connected"
"$NETBACKD_SIM" --capture "$A/$DA" "$CAP" --runtime-dir "$SIM_TMP/run" >&2 ||
	fail "--capture refused"
wait "$NF_PID"
say "capturing vif $A/$DA"
# A's first frontend closed: the vif's capture ends with its connection.
[ -s "$CAP" ] || fail "no capture file"
"$NETBACKD_SIM" --capture "$A/$DA" off --runtime-dir "$SIM_TMP/run" >/dev/null 2>&1
# Now a connection that lives: capture it from the start of its traffic.
nf_bg "$SIM_TMP/recv.json" "$B" "$DB" --recv 1000 --from "$MAC_A"
wait_for 30 nb_connected "$B" "$DB" || fail "vif $B/$DB never connected"
CAP=$SIM_TMP/b.pcapng
"$NETBACKD_SIM" --capture "$B/$DB" "$CAP" --runtime-dir "$SIM_TMP/run" >&2 ||
	fail "--capture of B refused"
nf "$A" "$DA" --send 1000 --to "$MAC_B" --size 100-1400 --pps 20000 || fail "sender"
nf_wait "$NF_PID" "$SIM_TMP/recv.json" "receiver"
# B's frontend is gone and its vif closed: that closed the capture too.
n=$(tshark -r "$CAP" -Y "eth.src == $MAC_A && eth.type == 0x88b5" 2>/dev/null | wc -l)
say "tshark reads $n of A's generator frames in B's capture"
[ "$n" = 1000 ] || fail "expected the 1000 frames B received, tshark read $n"
out=$(tshark -r "$CAP" -Y "eth.type == 0x88b5" -T fields -e frame.len -e pkt_comment \
	-e frame.interface_name 2>/dev/null | sort -u | awk '$1 < 100 || $1 > 1400' | wc -l)
[ "$out" = 0 ] || fail "$out frames outside 100..1400 bytes"
dir=$(tshark -r "$CAP" -V -c 1 -Y "eth.type == 0x88b5" 2>/dev/null | grep -ci "outbound")
[ "$dir" -ge 1 ] || fail "B's received frames are not marked outbound (towards the guest)"
[ "$(tcpdump -r "$CAP" 2>/dev/null | wc -l)" -ge 1000 ] || fail "tcpdump cannot read the capture"
sim_report
