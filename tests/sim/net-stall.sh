#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-stall: a guest that stops consuming RX (netfront --hostile stop-rx:
# it announces its MAC with one frame, then posts no buffers) while another
# guest floods it as fast as its ring allows. netbackd-sim runs with a small
# mbuf pool (--mbufs 4096) and --rx-backlog 512 (netbackd's default). What piles up
# for the stalled vif is bounded: its rx-drop-backlog grows by the flood, it
# is given nothing, and the pool's free mbufs (sampled from --status all
# along) never fall below 2048. Meanwhile a second pair of guests runs a
# verified generator transfer through the same switch: every frame arrives,
# in order, intact, and every TX is answered OKAY. When the stall ends the
# vif is still Connected (answer ok) and carries a frame, and once the flood
# stops every mbuf is back in the pool.
. "$(dirname "$0")/net-lib.sh"

MAC_X=00:16:3e:00:09:0a		# stalled
MAC_F=00:16:3e:00:09:0b		# flooder
MAC_P=00:16:3e:00:09:0c		# the pair: P sends to Q
MAC_Q=00:16:3e:00:09:0d
MBUFS=4096
FLOOR=2048
# The pair's receiver Q is a process on a busy 2-CPU machine (the flood,
# the worker, ASan in the sanitizer run): at 2500 frames/s its 256 RX
# buffers and the 512-frame backlog let it be off the CPU for 0.3 s
# without a drop. Faster, a loaded machine makes Q drop at its own backlog,
# which is netbackd doing its job, not the stall leaking onto Q.
N=10000
PPS=2500

sim_up
netbackd_start --mbufs $MBUFS --rx-backlog 512
X=$(sim_guest gx) && DX=$(vif_attach "$X" "$MAC_X")
F=$(sim_guest gf) && DF=$(vif_attach "$F" "$MAC_F")
P=$(sim_guest gp) && DP=$(vif_attach "$P" "$MAC_P")
Q=$(sim_guest gq) && DQ=$(vif_attach "$Q" "$MAC_Q")

mbufs_free() { nb_status | awk '/^mbufs: free=/ { split($2, a, "="); print a[2] }'; }

# The sampler: free mbufs every 50 ms until told to stop (the lowest seen
# in mbufs.min).
sampler() {
	local min=$MBUFS n
	while [ ! -e "$SIM_TMP/sampler.stop" ]; do
		n=$(mbufs_free)
		[ -n "$n" ] && [ "$n" -lt "$min" ] && min=$n && echo "$min" >"$SIM_TMP/mbufs.min"
		sleep 0.05
	done
}
echo $MBUFS >"$SIM_TMP/mbufs.min"
sampler &
SAMPLER=$!
SIM_PIDS+=("$SAMPLER")

# X stalls (its frame makes the switch learn MAC_X), F floods it.
nf_bg "$SIM_TMP/x.json" "$X" "$DX" --hostile stop-rx --expect ok --timeout 20
PID_X=$NF_PID
wait_for 30 nb_counter_at_least "$X" "$DX" tx 1 || fail "the stalling guest never announced itself"
nf_bg "$SIM_TMP/f.json" "$F" "$DF" --send 100000000 --to "$MAC_X" --size 60-1514 --flood \
	--from "$MAC_Q"
PID_F=$NF_PID
wait_for 30 nb_counter_at_least "$X" "$DX" rx-drop-backlog 10000 ||
	fail "the flood did not pile up at the stalled vif's backlog"
say "X stalled, F flooding it: $(nb_counter "$X" "$DX" rx-drop-backlog) dropped at its backlog so far"

# The pair, through the same switch, at the same time.
drop0=$(nb_counter "$X" "$DX" rx-drop-backlog)
nf_bg "$SIM_TMP/q.json" "$Q" "$DQ" --recv $N --from "$MAC_P"
PID_Q=$NF_PID
wait_for 30 nb_connected "$Q" "$DQ" || fail "vif Q never connected"
NF_OUT=$SIM_TMP/p.json nf "$P" "$DP" --send $N --to "$MAC_Q" --from "$MAC_Q" \
	--size 60-1514 --pps $PPS || fail "the pair's sender failed"
nf_wait "$PID_Q" "$SIM_TMP/q.json" "the pair's receiver"
jtrue '(d["received"] == '$N' and d["lost"] == 0 and d["corrupted"] == 0 and
	d["reordered"] == 0 and d["duplicates"] == 0)' "$SIM_TMP/q.json" ||
	fail "the pair lost or damaged frames next to the stalled vif"
jtrue 'd["sent"] == '$N' and d["tx_errors"] == 0' "$SIM_TMP/p.json" || fail "the pair's TX saw errors"
drops=$(( $(nb_counter "$X" "$DX" rx-drop-backlog) - drop0 ))
[ "$drops" -ge 10000 ] || fail "only $drops frames dropped at X's backlog while the pair ran"
[ "$(nb_counter "$X" "$DX" rx)" = 0 ] || fail "the stalled guest was given frames"
kill -0 "$PID_F" || fail "the flood ended before the pair did"
[ "$(nb_counter "$Q" "$DQ" rx-drop-backlog)" = 0 ] || fail "the pair's receiver dropped at its backlog"
SIM_VERIFIED=$((SIM_VERIFIED + $(jget bytes "$SIM_TMP/q.json")))
say "the pair: $N frames verified while $drops more were dropped at X's backlog"

# The stall ends: X still Connected, carries a frame; the flood stops.
nf_wait "$PID_X" "$SIM_TMP/x.json" "the stalled guest"
jtrue 'd["answer"] == "ok" and d["after"] == "ok"' "$SIM_TMP/x.json" ||
	fail "the stalled vif was closed or no longer carries a frame"
kill -TERM "$PID_F"
wait "$PID_F"
cat "$SIM_TMP/f.json" >&2
touch "$SIM_TMP/sampler.stop"
wait "$SAMPLER"
min=$(cat "$SIM_TMP/mbufs.min")
say "lowest free mbufs seen: $min of $MBUFS"
[ "$min" -ge $FLOOR ] || fail "free mbufs fell to $min (floor $FLOOR): the stalled vif drained the pool"
wait_for 10 sh -c "[ \"\$('$NETBACKD_SIM' --status --runtime-dir '$SIM_TMP/run' |
	awk '/^mbufs: free=/ { split(\$2, a, \"=\"); print a[2] }')\" = $MBUFS ]" ||
	fail "mbufs not all back in the pool: $(mbufs_free) of $MBUFS"
kill -0 "$NB_PID" || fail "netbackd-sim died"
nb_status >&2
sim_report
