#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-bad-backend: blkfront against a backend that lies. No blkbackd
# runs: this script plays the backend by writing its xenstore nodes from the
# driver domain. Absurd feature values must be capped, a malformed `sectors`
# must fail the handshake with a reason, and a backend that never answers
# must time out. blkfront must never crash or hang.
. "$(dirname "$0")/lib.sh"

sim_up
G=$(sim_guest g1)
timeout 30 "$XENSIM" block-attach "$H" "$G" "$(disk d1.img 64M),raw,xvda,rw,backend=dd" ||
	fail "block-attach"
BE=$(be_path "$G" xvda)
FE=/local/domain/$G/device/vbd/$(devid xvda)

# wait_fe STATE: until the frontend's state is STATE (a watch, bounded).
wait_fe() {
	local i
	for i in $(seq 1 50); do
		[ "$(xs_d0 read "$FE/state" 2>/dev/null)" = "$1" ] && return 0
		timeout 10 "$XENSIM" exec "$H" 0 -- xenstore-watch -n 2 "$FE/state" >/dev/null
	done
	fail "frontend never reached state $1"
}

# Round 1: absurd limits, then a `sectors` that is not a number.
xs_dd write "$BE/multi-queue-max-queues" 1000000 "$BE/max-ring-page-order" 99 \
	"$BE/feature-max-indirect-segments" 99999999999 "$BE/feature-persistent" 7 \
	"$BE/state" 2
BF_OUT=$SIM_TMP/r1.json bf_bg "$SIM_TMP/r1.json" "$G" xvda --queues 16 --ring-order 4 --rw read \
	--size 1M --timeout 10
p=$BF_PID
wait_fe 3
queues=$(xs_d0 read "$FE/multi-queue-num-queues")
order=$(xs_d0 read "$FE/ring-page-order")
say "the frontend asked for $queues queues of order $order"
[ "$queues" -le 16 ] && [ "$order" -le 4 ] || fail "absurd backend limits not capped"
xs_dd write "$BE/sectors" banana "$BE/info" 0 "$BE/sector-size" 512 "$BE/state" 4
wait "$p"
rc=$?
cat "$SIM_TMP/r1.json" >&2
[ "$rc" = 1 ] || fail "a malformed sectors node gave exit $rc (want 1)"
jtrue 'not d["ok"] and "handshake" in d["why"]' "$SIM_TMP/r1.json" ||
	fail "no handshake failure reported"

# Round 2: the backend goes silent after InitWait.
xs_dd write "$BE/state" 2
bf "$G" xvda --rw read --size 1M --timeout 3
rc=$?
[ "$rc" = 1 ] || fail "a silent backend gave exit $rc (want 1)"
jtrue 'not d["ok"] and "timed out" in d["why"]' || fail "no timeout reported"
