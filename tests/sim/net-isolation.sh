#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-isolation: three guests on one netbackd-sim started with
# `--isolated MAC_A` (an isolated vif talks to uplinks only). The two
# others, B and C, exchange verified generator frames both ways with no
# loss. A's unicast frames to a learned B never reach B's port (the switch
# counts all of them in A's port `drop-isolated`), A's broadcasts are
# flooded to no port (B's and C's ports are handed none), and B's unicast
# frames to a learned A are counted `drop-isolated` on B's port and never
# reach A. Each receiver listens throughout; where it can, it ends on frames
# from an allowed sender that come after the blocked ones, having ignored
# none from anybody else. Port counters exist while a vif is connected, so
# every run that is counted stays connected (`--recv` keeps it up) until the
# check is done, then is stopped.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:05:0a
MAC_B=00:16:3e:00:05:0b
MAC_C=00:16:3e:00:05:0c
BCAST=ff:ff:ff:ff:ff:ff

sim_up
A=$(sim_guest ga)
B=$(sim_guest gb)
C=$(sim_guest gc)
netbackd_start --isolated "$MAC_A"
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")
DC=$(vif_attach "$C" "$MAC_C")

# pair FROM-G FROM-D FROM-MAC TO-G TO-D TO-MAC N: verified frames, no loss.
pair() {
	nf_bg "$SIM_TMP/recv.json" "$4" "$5" --recv "$7" --from "$3"
	wait_for 30 nb_connected "$4" "$5" || fail "vif $4/$5 never connected"
	nf "$1" "$2" --send "$7" --to "$6" --size 60-1514 --pps 20000 || fail "sender $3 failed"
	nf_wait "$NF_PID" "$SIM_TMP/recv.json" "receiver of $3 -> $6"
	jtrue 'd["received"] == '"$7"' and d["lost"] == 0 and d["corrupted"] == 0' \
		"$SIM_TMP/recv.json" || fail "$3 -> $6: frames lost or corrupted"
	say "$3 -> $6: $7 frames verified"
}

# stop_nf PID OUT WHAT: SIGTERM to a listening netfront; its JSON to stderr.
stop_nf() {
	kill -TERM "$1"
	wait "$1"
	echo "netfront ($3): stopped" >&2
	cat "$2" >&2
}

# sw G D NAME: that vif's switch-port counter (they count for the vif's
# whole life, across its reconnections: the checks below use differences).
sw() { nb_switch_counter "$1" "$2" "$3"; }
# port_at_least G D NAME N: that counter reached N.
port_at_least() {
	local n
	n=$(sw "$1" "$2" "$3")
	[ -n "$n" ] && [ "$n" -ge "$4" ]
}

# sent_one G D MAC: a run in G that sends one broadcast (so the switch
# learns MAC on its port) and then listens until stopped; NF_PID, and the
# JSON in $SIM_TMP/MAC.json.
sent_one() {
	local tx0
	tx0=$(nb_counter "$1" "$2" tx)
	nf_bg "$SIM_TMP/$3.json" "$1" "$2" --send 1 --to "$BCAST" --recv 1 --timeout 60
	wait_for 30 nb_counter_at_least "$1" "$2" tx $((tx0 + 1)) || fail "$3 never sent"
	wait_for 30 nb_connected "$1" "$2" || fail "vif $1/$2 not connected"
}

# Non-isolated vifs talk both ways.
pair "$B" "$DB" "$MAC_B" "$C" "$DC" "$MAC_C" 2000
pair "$C" "$DC" "$MAC_C" "$B" "$DB" "$MAC_B" 2000

# A -> B unicast, B learned: every frame counted drop-isolated at A's port,
# none handed to B's. B listens for C's frames, which come after A's.
brx0=$(sw "$B" "$DB" rx)
nf_bg "$SIM_TMP/b.json" "$B" "$DB" --send 1 --to "$MAC_C" --recv 100 --from "$MAC_C" --timeout 60
PID_B=$NF_PID
wait_for 30 nb_connected "$B" "$DB" || fail "vif B not connected"
wait_for 30 port_at_least "$B" "$DB" rx $((brx0 + 1)) || fail "B's frame did not enter the switch"
iso0=$(sw "$A" "$DA" drop-isolated)
fl0=$(sw "$A" "$DA" flooded)
btx0=$(sw "$B" "$DB" tx)
nf_bg "$SIM_TMP/a.json" "$A" "$DA" --send 300 --to "$MAC_B" --size 60-1514 --pps 20000 \
	--recv 1 --timeout 60
PID_A=$NF_PID
wait_for 30 nb_connected "$A" "$DA" || fail "vif A not connected"
nb_status | grep -q "^vif $A/$DA: Connected .* isolated=1 " || fail "vif A not listed isolated=1"
nb_status | grep -q "^vif $B/$DB: Connected .* isolated=0 " || fail "vif B listed isolated"
wait_for 30 port_at_least "$A" "$DA" drop-isolated $((iso0 + 300)) ||
	fail "A's 300 frames to B were not counted drop-isolated"
[ "$(sw "$A" "$DA" drop-isolated)" = $((iso0 + 300)) ] || fail "drop-isolated counted more than A sent"
[ "$(sw "$A" "$DA" flooded)" -le $((fl0 + 1)) ] || fail "A's unicast to a learned B was flooded"
[ "$(sw "$B" "$DB" tx)" = "$btx0" ] || fail "B's port was handed frames from A"
nf "$C" "$DC" --send 100 --to "$MAC_B" --pps 20000 || fail "control sender C failed"
nf_wait "$PID_B" "$SIM_TMP/b.json" "B listening"
jtrue 'd["received"] == 100 and d["ignored"] == 0 and d["lost"] == 0' "$SIM_TMP/b.json" ||
	fail "B received frames from the isolated vif"
stop_nf "$PID_A" "$SIM_TMP/a.json" "A sending to B"
jtrue 'd["sent"] == 300 and d["tx_errors"] == 0 and d["rx_frames"] == 0' "$SIM_TMP/a.json" ||
	fail "A's frames were not answered OKAY, or A received some"
say "A -> B: 300 frames dropped (drop-isolated), none reached B"

# A's broadcasts: flooded (counted at A's port) to no vif. B and C listen.
nf_bg "$SIM_TMP/b.json" "$B" "$DB" --recv 100 --from "$MAC_C" --timeout 60
PID_B=$NF_PID
nf_bg "$SIM_TMP/c.json" "$C" "$DC" --recv 1 --timeout 60
PID_C=$NF_PID
wait_for 30 nb_connected "$B" "$DB" || fail "vif B not connected"
wait_for 30 nb_connected "$C" "$DC" || fail "vif C not connected"
wait_for 30 sh -c "'$NETBACKD_SIM' --status --runtime-dir '$SIM_TMP/run' | grep -q '^port vif $C/$DC:'" ||
	fail "no port for C"
fl0=$(sw "$A" "$DA" flooded)
btx0=$(sw "$B" "$DB" tx)
ctx0=$(sw "$C" "$DC" tx)
nf_bg "$SIM_TMP/a.json" "$A" "$DA" --send 300 --to "$BCAST" --size 60-1514 --pps 20000 \
	--recv 1 --timeout 60
PID_A=$NF_PID
wait_for 30 port_at_least "$A" "$DA" flooded $((fl0 + 300)) || fail "A's 300 broadcasts were not flooded"
[ "$(sw "$B" "$DB" tx)" = "$btx0" ] || fail "B's port was handed A's broadcasts"
[ "$(sw "$C" "$DC" tx)" = "$ctx0" ] || fail "C's port was handed A's broadcasts"
stop_nf "$PID_C" "$SIM_TMP/c.json" "C listening"
jtrue 'd["rx_frames"] == 0' "$SIM_TMP/c.json" || fail "C received A's broadcasts"
nf "$C" "$DC" --send 100 --to "$MAC_B" --pps 20000 || fail "control sender C failed"
nf_wait "$PID_B" "$SIM_TMP/b.json" "B listening"
jtrue 'd["received"] == 100 and d["ignored"] == 0' "$SIM_TMP/b.json" ||
	fail "B received A's broadcasts"
stop_nf "$PID_A" "$SIM_TMP/a.json" "A broadcasting"
jtrue 'd["sent"] == 300 and d["tx_errors"] == 0' "$SIM_TMP/a.json" || fail "A's broadcasts not answered OKAY"
say "A's 300 broadcasts reached no vif"

# B -> A unicast, A learned: counted drop-isolated at B's port, never
# handed to A's port, and A (listening) receives nothing.
sent_one "$A" "$DA" "$MAC_A"
PID_A=$NF_PID
iso0=$(sw "$B" "$DB" drop-isolated)
atx0=$(sw "$A" "$DA" tx)
nf_bg "$SIM_TMP/b.json" "$B" "$DB" --send 300 --to "$MAC_A" --size 60-1514 --pps 20000 \
	--recv 1 --timeout 60
PID_B=$NF_PID
wait_for 30 port_at_least "$B" "$DB" drop-isolated $((iso0 + 300)) ||
	fail "B's 300 frames to A were not counted drop-isolated"
[ "$(sw "$B" "$DB" drop-isolated)" = $((iso0 + 300)) ] || fail "drop-isolated counted more than B sent"
[ "$(sw "$A" "$DA" tx)" = "$atx0" ] || fail "A's port was handed B's frames"
stop_nf "$PID_B" "$SIM_TMP/b.json" "B sending to A"
stop_nf "$PID_A" "$SIM_TMP/$MAC_A.json" "A listening"
jtrue 'd["rx_frames"] == 0' "$SIM_TMP/$MAC_A.json" || fail "the isolated vif received B's frames"
jtrue 'd["sent"] == 300 and d["tx_errors"] == 0' "$SIM_TMP/b.json" || fail "B's frames not answered OKAY"
say "B -> A: 300 frames dropped (drop-isolated), none reached A"

# And B and C still talk.
pair "$B" "$DB" "$MAC_B" "$C" "$DC" "$MAC_C" 1000
nb_status >&2
