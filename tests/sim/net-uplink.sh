#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-uplink: a guest reaches an uplink. netbackd-sim runs inside a
# network namespace ("up", the outside world) with `--uplink
# net_tap0,iface=nbup`: DPDK's TAP PMD creates the kernel interface nbup
# there, which gets 10.12.0.254. The guest's netfront is bridged to a TAP in
# its own namespace with 10.12.0.1. Ping both ways, a checksummed 128 MiB
# TCP transfer each way between Linux's stacks on both sides of netbackd
# (the one towards the guest coalesced by uplink GRO), and the uplink's
# counters.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:01:0a
need_root_net
sim_up
A=$(sim_guest ga)
uplink_ns
ip netns exec "$NSU" "$XENSIM" exec "$H" "$DD" -- "$NETBACKD_SIM" --runtime-dir "$SIM_TMP/run" \
	--uplink net_tap0,iface=nbup --uplink-mtu 1400 2>>"$SIM_TMP/netbackd.log" &
NB_PID=$!
SIM_PIDS+=("$NB_PID")
wait_for 30 test -S "$SIM_TMP/run/netbackd.sock" || fail "netbackd-sim did not start"
ip netns exec "$NSU" ip addr add 10.12.0.254/24 dev nbup || fail "address on nbup"
ip netns exec "$NSU" ip link set nbup up
ip netns exec "$NSU" ip link set lo up
DA=$(vif_attach "$A" "$MAC_A")
ns_guest a "$A" "$DA" 10.12.0.1/24
in_ns a ping -c 3 -W 5 10.12.0.254 >&2 || fail "ping guest -> uplink"
ip netns exec "$NSU" ping -c 3 -W 5 10.12.0.1 >&2 || fail "ping uplink -> guest"

xfer_ns() {	# xfer_ns FROM-NS TO-NS TO-IP MIB (full namespace names)
	local port=$((6000 + RANDOM % 1000)) srv
	ip netns exec "$2" python3 "$(dirname "$0")/tcpxfer.py" serve "$port" --timeout 60 \
		>"$SIM_TMP/srv.json" 2>"$SIM_TMP/srv.err" &
	srv=$!
	wait_for 10 grep -q listening "$SIM_TMP/srv.err" || fail "server did not listen"
	ip netns exec "$1" python3 "$(dirname "$0")/tcpxfer.py" send "$3" "$port" "$4" \
		--timeout 60 >"$SIM_TMP/cli.json" || fail "TCP send $1 -> $2"
	wait "$srv" || fail "TCP receive $1 -> $2"
	python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if a["bytes"] == b["bytes"] == '"$4"' << 20 and a["sha256"] == b["sha256"] else 1)' \
		"$SIM_TMP/cli.json" "$SIM_TMP/srv.json" || fail "TCP $1 -> $2: data differ"
	say "TCP $1 -> $2: $4 MiB verified ($(jget mbit_s "$SIM_TMP/srv.json") Mbit/s)"
	SIM_VERIFIED=$((SIM_VERIFIED + ($4 << 20)))
}
# The uplink's traffic as pcapng while the first transfer runs.
"$NETBACKD_SIM" --capture net_tap0 "$SIM_TMP/up.pcapng" --runtime-dir "$SIM_TMP/run" >&2 ||
	fail "--capture of the uplink refused"
xfer_ns "${NS_PREFIX}a" "$NSU" 10.12.0.254 128
"$NETBACKD_SIM" --capture net_tap0 off --runtime-dir "$SIM_TMP/run" >&2 || fail "capture off"
if command -v tshark >/dev/null; then
	# To the wire (outbound): the guest's data; from it (inbound): the ACKs.
	out=$(tshark -r "$SIM_TMP/up.pcapng" -Y "tcp && ip.src == 10.12.0.1" 2>/dev/null | wc -l)
	in=$(tshark -r "$SIM_TMP/up.pcapng" -Y "tcp && ip.src == 10.12.0.254" 2>/dev/null | wc -l)
	say "uplink capture: $out TCP frames to the wire, $in from it"
	[ "$out" -gt 1000 ] && [ "$in" -gt 100 ] || fail "the uplink capture misses the transfer"
fi
xfer_ns "$NSU" "${NS_PREFIX}a" 10.12.0.1 128
nb_status >&2
# That transfer came in as 1400-byte frames (the kernel segments for a TAP
# without offloads) and reached the guest coalesced (uplink-gro, on by
# default): packets made of several frames, and more frames than packets.
gro=$(nb_status | sed -n 's/^uplink net_tap0: .* gro-packets=\([0-9]*\) gro-frames=\([0-9]*\) .*/\1 \2/p')
read -r gro_p gro_f <<<"$gro"
say "uplink GRO: ${gro_p:-?} packets from ${gro_f:-?} frames"
[ "${gro_p:-0}" -gt 100 ] && [ "${gro_f:-0}" -gt $((2 * gro_p)) ] ||
	fail "the uplink's frames were not coalesced for the guest (gro: '$gro')"
# The TAP PMD found no free real-time signal (netbackd holds them, eal.c):
# no signal per received frame.
grep -q "No Rx trigger signal available" "$SIM_TMP/netbackd.log" || fail "the TAP PMD's RX signal trigger is on"
nb_status | grep -q "^uplink net_tap0: link=up mtu=1400 " || fail "the uplink is not listed as up, MTU 1400"
# --uplink-mtu reached the device: the TAP PMD's kernel interface (lower
# than the guest's 1500: TCP's MSS follows the smaller; DPDK 22.11's TAP
# PMD allows no more than 1500).
ip netns exec "$NSU" ip link show nbup | grep -q " mtu 1400 " || fail "nbup's MTU is not 1400"
# The uplink's link goes down (its kernel side, as a cable pulled): said once in the log, with
# what the guests lose, and shown in the status; and again when it comes back.
logged() { grep -q "$1" "$SIM_TMP/netbackd.log"; }
ip netns exec "$NSU" ip link set nbup down
wait_for 10 logged "uplink net_tap0: link down: the guests reach nothing beyond" ||
	fail "no log line for the uplink's link going down"
nb_status | grep -q "^uplink net_tap0: link=down " || fail "the status does not show the link down"
ip netns exec "$NSU" ip link set nbup up
wait_for 10 logged "uplink net_tap0: link up" || fail "no log line for the link coming back"
[ "$(grep -c "uplink net_tap0: link down" "$SIM_TMP/netbackd.log")" = 1 ] ||
	fail "the link going down was logged more than once"
sim_report
