#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-hash: the control ring (netif.h feature-ctrl-ring) end to end.
# A 2-queue guest programs Toeplitz hashing over IPv4/TCP through its
# control ring with every mapping entry = queue 1 (each request answered
# SUCCESS): eight TCP flows to it then arrive on queue 1 (netbackd's
# per-queue counters), hardly anything on queue 0 (ARP, IPv6 neighbour
# discovery: not hashed, spread by netbackd's own flow hash). A guest whose
# mapping names queue 7 of 2 gets INVALID_PARAMETER for it (the XSA-270
# class) and its vif keeps working.
. "$(dirname "$0")/net-lib.sh"

need_root_net
command -v iperf3 >/dev/null || skip "iperf3 is not installed (make deps)"
MAC_A=00:16:3e:00:05:0a
MAC_B=00:16:3e:00:05:0b
sim_up
A=$(sim_guest ga)
B=$(sim_guest gb)
netbackd_start
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")

# queue_rx GUEST DEVID Q: packets netbackd gave that queue of the vif.
queue_rx() {
	nb_status | awk -v dev="vif $1/$2:" -v q="q$3:" '
		index($0, dev) == 1 { f = 1; next }
		/^vif / { f = 0 }
		f && $1 == q { for (i = 1; i <= NF; i++) if ($i ~ /^rx=/) { sub("rx=", "", $i); print $i } }'
}
xfer() {	# xfer MIB: a -> b, checksummed
	local port=$((7000 + RANDOM % 500)) srv
	in_ns b python3 "$(dirname "$0")/tcpxfer.py" serve "$port" --timeout 60 \
		>"$SIM_TMP/srv.json" 2>"$SIM_TMP/srv.err" &
	srv=$!
	wait_for 10 grep -q listening "$SIM_TMP/srv.err" || fail "server did not listen"
	in_ns a python3 "$(dirname "$0")/tcpxfer.py" send 10.14.0.2 "$port" "$1" --timeout 60 \
		>"$SIM_TMP/cli.json" || fail "TCP send"
	wait "$srv" || fail "TCP receive"
	python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if a["bytes"] == b["bytes"] and a["sha256"] == b["sha256"] else 1)' \
		"$SIM_TMP/cli.json" "$SIM_TMP/srv.json" || fail "TCP data differ"
}
# check_moved WANT OTHER RX-WANT-BEFORE RX-OTHER-BEFORE: the last transfer's
# packets (GSO frames of up to 64 KiB) went to queue WANT of B.
check_moved() {
	local want=$1 other=$2 w0=$3 o0=$4 w o
	w=$(( $(queue_rx "$B" "$DB" "$want") - w0 ))
	o=$(( $(queue_rx "$B" "$DB" "$other") - o0 ))
	say "B's queue $want got $w packets, queue $other $o"
	[ "$w" -gt 100 ] && [ "$o" -lt $((w / 50 + 3)) ] ||
		fail "the transfer did not follow B's mapping to queue $want ($w vs $o)"
}

ns_guest a "$A" "$DA" 10.14.0.1/24
PID_A=$NSG_PID
ns_guest b "$B" "$DB" 10.14.0.2/24 --queues 2 --ctrl-ring --hash-queue 1
PID_B=$NSG_PID
nb_status | grep "^vif $B/$DB:" | grep -q "ctrl-ring=1" || fail "B has no control ring"
in_ns a ping -c 2 -W 5 10.14.0.2 >&2 || fail "ping"
r1=$(queue_rx "$B" "$DB" 1)
r0=$(queue_rx "$B" "$DB" 0)
# Eight TCP flows: netbackd's own flow hash would spread them over both
# queues (all eight on queue 1 by chance: 1 in 256); the guest's mapping
# puts every one on queue 1.
in_ns b iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
srv=$!
wait_for 10 in_ns b sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server"
in_ns a iperf3 -c 10.14.0.2 -p 5201 -P 8 -n 64M >/dev/null 2>&1 || fail "iperf3 -P 8"
wait "$srv"
check_moved 1 0 "$r1" "$r0"
xfer 32


# A second guest's frontend with an out-of-range mapping: refused, vif alive.
C=$(sim_guest gc)
DC=$(vif_attach "$C" 00:16:3e:00:05:0c)
NF_OUT=$SIM_TMP/bad.json nf "$C" "$DC" --queues 2 --ctrl-ring --hash-queue 7 --recv 0 ||
	fail "netfront with a bad mapping failed"
jtrue 'd["ctrl"]["set-algorithm"] == 0 and d["ctrl"]["set-key"] == 0 and d["ctrl"]["set-mapping-size"] == 0 and d["ctrl"]["set-mapping"] == 2' \
	"$SIM_TMP/bad.json" || fail "an out-of-range mapping was not answered INVALID_PARAMETER"
jtrue 'd["hash_mapping_max"] >= 128 and d["hash_flags_offered"] & 3 == 3' "$SIM_TMP/bad.json" ||
	fail "GET_HASH_MAPPING_SIZE / GET_HASH_FLAGS answers"
nb_status | grep -q "^vif $B/$DB: Connected" || fail "B's vif was disturbed"

# The hash extras (netif.h XEN_NETIF_EXTRA_TYPE_HASH): B, which configured
# Toeplitz, got one with its TCP frames, each equal to netfront's own
# Toeplitz of the frame; A, which configured nothing, got none (Linux:
# "make sure that hashes are not sent to unaware frontends").
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A" "$PID_B"
cat "$SIM_TMP/netfront-a.json" "$SIM_TMP/netfront-b.json" >&2
jtrue 'd["rx_hash_ok"] > 100 and d["rx_hash_bad"] == 0' "$SIM_TMP/netfront-b.json" ||
	fail "B's hash extras missing or wrong"
jtrue 'd["rx_hash_ok"] == 0 and d["rx_hash_bad"] == 0' "$SIM_TMP/netfront-a.json" ||
	fail "A, which set no hash, was given hash extras"
say "B: $(jget rx_hash_ok "$SIM_TMP/netfront-b.json") hash extras, each equal to its own Toeplitz; A: none"
sim_report
