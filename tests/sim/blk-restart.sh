#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-restart: blkbackd-sim is killed (SIGKILL, and once SIGTERM) in the
# middle of verified loads and started again with the same runtime
# directory; every time it reattaches the live rings from its state files.
# The frontend must not notice: its load ends with exit 0, no I/O error, no
# verify mismatch, one connect and no reconnect; the vbd stays Connected.
# A kill lands only after the daemon then running has served RESTART_STEP
# requests (read from --status), so each one hits I/O in flight. Across all
# kills some requests must have been redone (with 32 in flight a kill that
# finds none is rare, so this is asserted over the whole run). When a
# frontend closes the device, its state files go.
. "$(dirname "$0")/lib.sh"

STEP=${RESTART_STEP:-1500}
KILLS=0

sim_single 64M
DEVID=$(devid xvda)

state_files() { ls "$SIM_TMP/run/vbd-$G-$DEVID-q"*.state 2>/dev/null | wc -l; }
no_state_files() { [ "$(state_files)" = 0 ]; }

# restart_load NAME QUEUES "SIG..." BLKFRONT-ARGS...: a verified 4k randrw
# load at depth 32 on QUEUES queues while the daemon is stopped with each SIG
# in turn and restarted.
restart_load() {
	local name=$1 queues=$2 sigs=$3 out=$SIM_TMP/$1.json bf s n base
	shift 3
	# The daemon's counters include the device's earlier connections.
	base=$(bb_requests "$G" xvda)
	bf_bg "$out" "$G" xvda --rw randrw --bs 4k --iodepth 32 --size 32M --runtime 300 \
		--verify --queues "$queues" "$@"
	bf=$BF_PID
	wait_for 30 bb_served_at_least "$G" xvda $((${base:-0} + STEP)) ||
		fail "$name: no I/O served"
	[ "$(state_files)" = "$queues" ] || fail "$name: $(state_files) state files, not $queues"
	for s in $sigs; do
		n=$(log_count "reattached:")
		blkbackd_kill "$s"
		KILLS=$((KILLS + 1))
		blkbackd_start
		wait_for 30 log_count_above "reattached:" "$n" ||
			fail "$name: no reattach after SIG$s"
		wait_for 30 bb_served_at_least "$G" xvda "$STEP" ||
			fail "$name: no I/O served after the reattach"
		[ "$(xs_dd read "$BE/state")" = 4 ] || fail "$name: backend left Connected"
	done
	xs_dd exists "$BE/error" 2>/dev/null && fail "$name: error node $(xs_dd read "$BE/error")"
	# The load would go on for minutes: stop it (blkfront drains, verifies
	# everything it wrote, and reports).
	kill -TERM "$bf"
	bf_wait "$bf" "$out" "$name"
	jtrue 'd["connects"] == 1 and d["reconnects"] == 0' "$out" ||
		fail "$name: the frontend reconnected"
	jtrue 'd["read_ios"] > 0 and d["write_ios"] > 0' "$out" || fail "$name: no I/O"
	# The frontend closed the device: nothing is left to resume.
	wait_for 30 no_state_files || fail "$name: state files left after the close"
}

restart_load q1 1 "KILL KILL TERM KILL"
restart_load q4-order2 4 "KILL KILL KILL" --ring-order 2
restart_load no-persistent 1 "KILL KILL KILL" --no-persistent

grep "reattached:" "$SIM_TMP/blkbackd.log" >&2
[ "$(log_count "reattached:")" = "$KILLS" ] || fail "not one reattach per restart"
redone=$(sed -n 's/.*reattached: \([0-9]*\) requests redone.*/\1/p' "$SIM_TMP/blkbackd.log" |
	awk '{ n += $1 } END { print n + 0 }')
say "$KILLS restarts, $redone requests redone in all"
[ "$redone" -gt 0 ] || fail "no request was in flight at any of $KILLS kills"
grep -q "cannot resume\|reattach failed" "$SIM_TMP/blkbackd.log" && fail "a reattach failed"
sim_report
