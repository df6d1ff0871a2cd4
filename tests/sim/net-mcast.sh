#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-mcast: multicast control (netif.h feature-multicast-control) end
# to end. Three guests on one netbackd-sim: A sets request-multicast-control
# and adds group G1 (an MCAST_ADD extra on its TX ring, answered OKAY), B
# sends the same add without having requested multicast control (netif.h:
# the list may be amended then, but is not applied; Linux netback answers it
# OKAY, and so must netbackd), S sends verified frames. Of N frames to G2,
# N to G1 and M broadcasts, A gets exactly the G1 frames and the broadcasts
# (its port counts every G2 frame drop-mcast-filter) and B gets all of them.
# A new connection of A that adds G1 and G2 and deletes G1 gets G2 only.
# Then A's filter {G1} survives a SIGKILL of netbackd-sim: the new daemon
# reattaches A's live rings with the filter from the vif state file, drops
# G2 and delivers G1. Every receiver listens throughout and ends on its last
# wanted frame. Counters are compared with what they were once the
# receivers were connected.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:06:0a
MAC_B=00:16:3e:00:06:0b
MAC_S=00:16:3e:00:06:0c
G1=01:00:5e:00:00:01
G2=01:00:5e:00:00:02
BCAST=ff:ff:ff:ff:ff:ff
N=1000
M=200

sim_up
netbackd_start
A=$(sim_guest ga) && DA=$(vif_attach "$A" "$MAC_A")
B=$(sim_guest gb) && DB=$(vif_attach "$B" "$MAC_B")
S=$(sim_guest gs) && DS=$(vif_attach "$S" "$MAC_S")

# send_to DST STREAM COUNT: S sends COUNT verified frames to DST, every one
# answered OKAY (netbackd switches a batch before it answers it, so the
# switch counters are final when this returns).
send_to() {
	nf "$S" "$DS" --send "$3" --to "$1" --stream "$2" --size 60-1514 --pps 20000 ||
		fail "S -> $1 failed"
	jtrue 'd["sent"] == '"$3"' and d["tx_errors"] == 0' || fail "S -> $1: not all sent"
	say "S sent $3 frames to $1"
}

# listen G D OUT OPS ARGS...: netfront in G in the background (NF_PID) that
# sends its multicast ops, then receives; returns once netbackd has served
# OPS more multicast ops on that vif.
listen() {
	local g=$1 d=$2 out=$3 ops=$4 m0
	shift 4
	m0=$(nb_counter "$g" "$d" mcast-ops)
	nf_bg "$out" "$g" "$d" --from "$MAC_S" --timeout 60 "$@"
	wait_for 30 nb_counter_at_least "$g" "$d" mcast-ops $((m0 + ops)) ||
		fail "vif $g/$d: netbackd did not serve $ops multicast op(s)"
	wait_for 30 nb_connected "$g" "$d" || fail "vif $g/$d not connected"
}

# drops G D: that vif's drop-mcast-filter so far. drops_are G D BASE N:
# exactly N more than BASE.
drops() { nb_switch_counter "$1" "$2" drop-mcast-filter; }
drops_are() {
	local n
	n=$(drops "$1" "$2")
	[ -n "$n" ] && [ $((n - $3)) = "$4" ] ||
		fail "vif $1/$2: drop-mcast-filter=$n, expected $3 + $4"
}

# The options are checked before anything is sent.
NF_OUT=$SIM_TMP/opt.json nf "$A" "$DA" --mcast-add "$G1" --recv 1 2>"$SIM_TMP/opt.err"
rc=$?
[ "$rc" = 2 ] && grep -q "need --mcast-control" "$SIM_TMP/opt.err" ||
	fail "--mcast-add without --mcast-control: exit $rc, not a clear usage error"

# 1. A filters {G1}; B amended its list without requesting control: no filter.
rx_a0=$(nb_counter "$A" "$DA" rx)
rx_b0=$(nb_counter "$B" "$DB" rx)
listen "$A" "$DA" "$SIM_TMP/a.json" 1 --mcast-control --mcast-add "$G1" --recv $((N + M))
PID_A=$NF_PID
listen "$B" "$DB" "$SIM_TMP/b.json" 1 --mcast-unrequested --mcast-add "$G1" \
	--recv $((2 * N + M))
PID_B=$NF_PID
dr_a0=$(drops "$A" "$DA")
dr_b0=$(drops "$B" "$DB")
nb_status | grep "^vif $A/$DA:" | grep -q "mcast-control=1" || fail "A's filter is not on"
nb_status | grep "^vif $B/$DB:" | grep -q "mcast-control=0" || fail "B's filter is on"
send_to "$G2" 100 "$N"
drops_are "$A" "$DA" "$dr_a0" "$N"
drops_are "$B" "$DB" "$dr_b0" 0
send_to "$G1" 200 "$N"
drops_are "$A" "$DA" "$dr_a0" "$N"
send_to "$BCAST" 300 "$M"
nf_wait "$PID_A" "$SIM_TMP/a.json" "A, filtering {G1}"
nf_wait "$PID_B" "$SIM_TMP/b.json" "B, no filter"
jtrue 'd["features"]["mcast_control"] and d["mcast_ops"] == [{"op": "add", "mac": "'"$G1"'", "status": 0}]' \
	"$SIM_TMP/a.json" || fail "A's MCAST_ADD was not answered OKAY"
jtrue 'not d["features"]["mcast_control"] and d["mcast_ops"] == [{"op": "add", "mac": "'"$G1"'", "status": 0}]' \
	"$SIM_TMP/b.json" ||
	fail "B's MCAST_ADD without request-multicast-control was not answered OKAY (netif.h, Linux)"
jtrue 'd["received"] == '$((N + M))' and d["lost"] == 0 and d["corrupted"] == 0 and d["duplicates"] == 0' \
	"$SIM_TMP/a.json" || fail "A: G1 frames or broadcasts lost or corrupted"
jtrue 'd["received"] == '$((2 * N + M))' and d["lost"] == 0 and d["corrupted"] == 0' \
	"$SIM_TMP/b.json" || fail "B: frames lost or corrupted"
rx_a=$(($(nb_counter "$A" "$DA" rx) - rx_a0))
rx_b=$(($(nb_counter "$B" "$DB" rx) - rx_b0))
[ "$rx_a" = $((N + M)) ] || fail "netbackd gave A $rx_a frames, expected G1 + broadcast = $((N + M))"
[ "$rx_b" = $((2 * N + M)) ] || fail "netbackd gave B $rx_b frames, expected $((2 * N + M))"
say "A got G1 and broadcast only ($rx_a frames, $N to G2 dropped); B got all $rx_b"

# 2. A new connection: add G1, add G2, delete G1: G2 passes, G1 does not.
rx_a0=$(nb_counter "$A" "$DA" rx)
listen "$A" "$DA" "$SIM_TMP/a2.json" 3 --mcast-control --mcast-add "$G1" --mcast-add "$G2" \
	--mcast-del "$G1" --recv "$N"
PID_A=$NF_PID
dr_a0=$(drops "$A" "$DA")
send_to "$G1" 400 "$N"
drops_are "$A" "$DA" "$dr_a0" "$N"
send_to "$G2" 500 "$N"
drops_are "$A" "$DA" "$dr_a0" "$N"
nf_wait "$PID_A" "$SIM_TMP/a2.json" "A, filtering {G2}"
jtrue '[(o["op"], o["mac"], o["status"]) for o in d["mcast_ops"]] == [("add", "'"$G1"'", 0), ("add", "'"$G2"'", 0), ("del", "'"$G1"'", 0)]' \
	"$SIM_TMP/a2.json" || fail "A's add, add, del were not answered OKAY in order"
jtrue 'd["received"] == '"$N"' and d["lost"] == 0 and d["corrupted"] == 0' "$SIM_TMP/a2.json" ||
	fail "A: G2 frames lost or corrupted"
rx_a=$(($(nb_counter "$A" "$DA" rx) - rx_a0))
[ "$rx_a" = "$N" ] || fail "after deleting G1, netbackd gave A $rx_a frames, expected $N (G2)"
say "after MCAST_DEL G1: A got the $N G2 frames, none of G1"

# 3. The filter survives a SIGKILL: A stays connected across the restart.
listen "$A" "$DA" "$SIM_TMP/a3.json" 1 --mcast-control --mcast-add "$G1" --recv "$N"
PID_A=$NF_PID
reattached0=$(grep -c "vif $A/$DA: reattached" "$SIM_TMP/netbackd.log")
netbackd_kill KILL
netbackd_start
wait_for 30 nb_connected "$A" "$DA" || fail "vif $A/$DA not reattached"
[ "$(grep -c "vif $A/$DA: reattached" "$SIM_TMP/netbackd.log")" = $((reattached0 + 1)) ] ||
	fail "A's vif was not reattached"
nb_status | grep "^vif $A/$DA:" | grep -q "mcast-control=1" ||
	fail "A's filter is not on after the restart"
dr_a0=$(drops "$A" "$DA")
send_to "$G2" 600 "$N"
drops_are "$A" "$DA" "$dr_a0" "$N"
send_to "$G1" 700 "$N"
drops_are "$A" "$DA" "$dr_a0" "$N"
nf_wait "$PID_A" "$SIM_TMP/a3.json" "A across the restart"
jtrue 'd["received"] == '"$N"' and d["lost"] == 0 and d["corrupted"] == 0' "$SIM_TMP/a3.json" ||
	fail "A: G1 frames lost or corrupted after the restart"
rx_a=$(nb_counter "$A" "$DA" rx)
[ "$rx_a" = "$N" ] || fail "the new netbackd gave A $rx_a frames, expected the $N to G1"
say "after SIGKILL and reattach: A's filter {G1} still drops G2 and passes G1"
