#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-basic: two guests on one netbackd-sim (no uplink). The handshake
# with the default features; 20000 generator frames of 60..1514 bytes from
# one guest to the other, every one received, in order, intact; then both
# guests' netfronts bridged to TAP devices in network namespaces: ping, and
# a checksummed 256 MiB TCP transfer each way through the switch; the
# backend's nodes; the vifs close cleanly.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:00:0a
MAC_B=00:16:3e:00:00:0b

sim_up
A=$(sim_guest ga)
B=$(sim_guest gb)
netbackd_start
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")
BE_A=$(vbe_path "$A" "$DA")
for n in feature-rx-copy feature-sg feature-gso-tcpv4 feature-gso-tcpv6 \
	feature-ipv6-csum-offload feature-split-event-channels feature-ctrl-ring \
	feature-multicast-control feature-dynamic-multicast-control; do
	[ "$(xs_dd read "$BE_A/$n")" = 1 ] || fail "$n is not offered"
done
[ "$(xs_dd read "$BE_A/multi-queue-max-queues")" = 4 ] || fail "multi-queue-max-queues"

# Generator frames: B receives, A sends to B's MAC (unknown to the switch
# until B sends: flooded, which with two vifs reaches B only). Paced, every
# frame must arrive in order and intact.
gen() {	# gen COUNT SENDER-ARGS...: A sends COUNT frames to B, B verifies
	local n=$1
	shift
	nf_bg "$SIM_TMP/recv.json" "$B" "$DB" --recv "$n" --from "$MAC_A" ${RECV_ARGS:-}
	wait_for 30 nb_connected "$B" "$DB" || fail "vif $B/$DB never connected"
	nf "$A" "$DA" --send "$n" --to "$MAC_B" "$@" || fail "sender failed"
	nf_wait "$NF_PID" "$SIM_TMP/recv.json" "receiver"
}
gen 20000 --size 60-1514 --pps 50000
jtrue 'd["received"] == 20000 and d["lost"] == 0 and d["corrupted"] == 0 and d["reordered"] == 0' \
	"$SIM_TMP/recv.json" || fail "frames lost, reordered or corrupted"
[ "$(nb_counter "$A" "$DA" tx)" -ge 20000 ] || fail "netbackd did not count A's frames"
[ "$(nb_counter "$B" "$DB" rx)" -ge 20000 ] || fail "netbackd did not count B's frames"
# As fast as the sender can: a receiver that falls behind loses frames at
# its bounded backlog, and every one of them is counted there: what was sent
# is what arrived plus what netbackd says it dropped for B.
drops0=$(nb_counter "$B" "$DB" rx-drop-backlog)
RECV_ARGS="--allow-loss --timeout 3" gen 50000 --size 60-1514 --flood
got=$(jget received "$SIM_TMP/recv.json")
drops=$(( $(nb_counter "$B" "$DB" rx-drop-backlog) - drops0 ))
say "flood: 50000 sent, $got received, $drops dropped at B's backlog"
jtrue 'd["corrupted"] == 0 and d["reordered"] == 0 and d["duplicates"] == 0' \
	"$SIM_TMP/recv.json" || fail "flood: frames reordered, duplicated or corrupted"
[ $((got + drops)) = 50000 ] || fail "flood: $got received + $drops dropped != 50000 sent"

# Broadcast frames up to 9000 bytes (several slots, so chains of mbufs)
# reach two receivers at once: the switch shares each chain between them
# (one reference per port on every segment) and both verify every frame.
C=$(sim_guest gc)
MAC_C=00:16:3e:00:00:0c
DC=$(vif_attach "$C" "$MAC_C")
nf_bg "$SIM_TMP/recv-c.json" "$C" "$DC" --recv 5000 --from "$MAC_A"
PID_C=$NF_PID
nf_bg "$SIM_TMP/recv.json" "$B" "$DB" --recv 5000 --from "$MAC_A"
wait_for 30 nb_connected "$B" "$DB" || fail "vif $B/$DB never connected"
wait_for 30 nb_connected "$C" "$DC" || fail "vif $C/$DC never connected"
nf "$A" "$DA" --send 5000 --to ff:ff:ff:ff:ff:ff --size 60-9000 --oversize --pps 20000 ||
	fail "broadcast sender failed"
nf_wait "$NF_PID" "$SIM_TMP/recv.json" "broadcast receiver B"
nf_wait "$PID_C" "$SIM_TMP/recv-c.json" "broadcast receiver C"
for f in recv.json recv-c.json; do
	jtrue 'd["received"] == 5000 and d["lost"] == 0 and d["corrupted"] == 0' "$SIM_TMP/$f" ||
		fail "broadcast: $f lost or corrupted frames"
done

# Linux TCP/IP over the rings.
need_root_net
ns_guest a "$A" "$DA" 10.11.0.1/24
ns_guest b "$B" "$DB" 10.11.0.2/24
in_ns a ping -c 3 -W 5 10.11.0.2 >&2 || fail "ping a -> b"
in_ns b ping -c 3 -W 5 10.11.0.1 >&2 || fail "ping b -> a"
xfer() {	# xfer FROM TO TO-IP MIB
	local port=$((5000 + RANDOM % 1000)) srv
	in_ns "$2" python3 "$(dirname "$0")/tcpxfer.py" serve "$port" --timeout 60 \
		>"$SIM_TMP/srv.json" 2>"$SIM_TMP/srv.err" &
	srv=$!
	wait_for 10 grep -q listening "$SIM_TMP/srv.err" || fail "server did not listen"
	in_ns "$1" python3 "$(dirname "$0")/tcpxfer.py" send "$3" "$port" "$4" --timeout 60 \
		>"$SIM_TMP/cli.json" || fail "TCP send $1 -> $2"
	wait "$srv" || fail "TCP receive $1 -> $2"
	cat "$SIM_TMP/cli.json" "$SIM_TMP/srv.json" >&2
	python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if a["bytes"] == b["bytes"] == '"$4"' << 20 and a["sha256"] == b["sha256"] else 1)' \
		"$SIM_TMP/cli.json" "$SIM_TMP/srv.json" || fail "TCP $1 -> $2: data differ"
	say "TCP $1 -> $2: $4 MiB verified ($(jget mbit_s "$SIM_TMP/srv.json") Mbit/s)"
	SIM_VERIFIED=$((SIM_VERIFIED + ($4 << 20)))
}
xfer a b 10.11.0.2 256
xfer b a 10.11.0.1 256
nb_status >&2
sim_report
