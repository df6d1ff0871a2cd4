#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-matrix GROUP: feature combinations between two guests on one
# netbackd-sim. For each combination both netfronts negotiate it (checked
# in netbackd's status), paced generator frames go each way, all verified,
# then Linux TCP (namespaces over netfront's TAPs) carries a checksummed
# transfer each way. GROUP:
#   queues    1, 2 and 4 queues per vif, single and split event channels
#   features  sg, GSO and checksum offload off on one side, then on both
#   mtu       MTU 9000 on both vifs: jumbo generator frames and TCP
. "$(dirname "$0")/net-lib.sh"

GROUP=${1:?usage: net-matrix.sh queues|features|mtu}
need_root_net
sim_up
netbackd_start
N=0

# combo NAME "FRONT-ARGS-A" "FRONT-ARGS-B" "SPEC-ITEMS" MAXSIZE EXPECT-A-REGEX
combo() {
	local name=$1 fa=$2 fb=$3 spec=$4 max=$5 expect=$6 da db mac_a mac_b
	N=$((N + 1))
	# Fresh guests: each has Linux's gntalloc budget of 1024 shared pages
	# (tests/frontends/netfront), and the last combination's TAPs keep theirs.
	A=$(sim_guest "ga$N")
	B=$(sim_guest "gb$N")
	mac_a=$(printf '00:16:3e:10:%02x:0a' "$N")
	mac_b=$(printf '00:16:3e:10:%02x:0b' "$N")
	# shellcheck disable=SC2086 # spec items are words
	da=$(vif_attach "$A" "$mac_a" $spec)
	# shellcheck disable=SC2086
	db=$(vif_attach "$B" "$mac_b" $spec)
	say "---- $name"
	# shellcheck disable=SC2086
	nf_bg "$SIM_TMP/recv.json" "$B" "$db" --recv 3000 --from "$mac_a" $fb
	wait_for 30 nb_connected "$B" "$db" || fail "$name: vif $B/$db never connected"
	# shellcheck disable=SC2086
	nf "$A" "$da" --send 3000 --to "$mac_b" --size "60-$max" --pps 20000 --oversize $fa ||
		fail "$name: sender"
	nf_wait "$NF_PID" "$SIM_TMP/recv.json" "$name: receiver"
	jtrue 'd["received"] == 3000 and d["lost"] == 0 and d["corrupted"] == 0' \
		"$SIM_TMP/recv.json" || fail "$name: frames lost or corrupted"
	# The TAP run negotiates the same features: what netbackd saw.
	# shellcheck disable=SC2086
	ns_guest "a$N" "$A" "$da" "10.20.$N.1/24" $fa
	# shellcheck disable=SC2086
	ns_guest "b$N" "$B" "$db" "10.20.$N.2/24" $fb
	nb_status | grep "^vif $A/$da:" >&2
	nb_status | grep -E "^vif $A/$da: Connected .*$expect" >/dev/null ||
		fail "$name: vif $A/$da did not negotiate /$expect/"
	in_ns "a$N" ping -c 2 -W 5 "10.20.$N.2" >&2 || fail "$name: ping"
	xfer_pair "a$N" "b$N" "10.20.$N.2" 32
	xfer_pair "b$N" "a$N" "10.20.$N.1" 32
}

# xfer_pair FROM TO TO-IP MIB: checksummed TCP between two namespaces.
xfer_pair() {
	local port=$((5000 + RANDOM % 1000)) srv
	in_ns "$2" python3 "$(dirname "$0")/tcpxfer.py" serve "$port" --timeout 60 \
		>"$SIM_TMP/srv.json" 2>"$SIM_TMP/srv.err" &
	srv=$!
	wait_for 10 grep -q listening "$SIM_TMP/srv.err" || fail "server did not listen"
	in_ns "$1" python3 "$(dirname "$0")/tcpxfer.py" send "$3" "$port" "$4" --timeout 60 \
		>"$SIM_TMP/cli.json" || fail "TCP send $1 -> $2"
	wait "$srv" || fail "TCP receive $1 -> $2"
	python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if a["bytes"] == b["bytes"] == '"$4"' << 20 and a["sha256"] == b["sha256"] else 1)' \
		"$SIM_TMP/cli.json" "$SIM_TMP/srv.json" || fail "TCP $1 -> $2: data differ"
	say "TCP $1 -> $2: $4 MiB verified ($(jget mbit_s "$SIM_TMP/srv.json") Mbit/s)"
	SIM_VERIFIED=$((SIM_VERIFIED + ($4 << 20)))
}

case $GROUP in
queues)
	combo "1 queue" "" "" "" 1514 "queues=1 "
	combo "2 queues" "--queues 2" "--queues 2" "" 1514 "queues=2 "
	combo "4 queues, split" "--queues 4 --split" "--queues 4 --split" "" 1514 "queues=4 "
	combo "1 queue, split" "--split" "--split" "" 1514 "queues=1 "
	;;
features)
	combo "no sg/gso/csum on A" "--no-sg --no-gso --no-csum" "" "" 1514 \
		"sg=0 gso4=0 gso6=0 csum4=0"
	combo "no gso on B" "" "--no-gso" "" 1514 "sg=1 gso4=1"
	combo "ipv6 csum both" "--ipv6-csum" "--ipv6-csum" "" 1514 "csum6=1"
	;;
mtu)
	combo "mtu 9000" "" "" "mtu=9000" 9014 "sg=1"
	;;
*) fail "unknown group $GROUP" ;;
esac
nb_status >&2
sim_report
