#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-resize: a connected frontend sees the disk grow, once on SIGHUP to
# blkbackd and once when the toolstack rewrites `params`, and then writes
# and reads back the new last 4 KiB.
. "$(dirname "$0")/lib.sh"

sim_single 64M

# grow SIZE TRIGGER: a waiting frontend, the file grown, the trigger.
grow() {
	local size=$1 trigger=$2 out=$SIM_TMP/resize.json line
	mkfifo "$SIM_TMP/fifo"
	bf_bg "$SIM_TMP/fifo" "$G" xvda --wait-resize 30
	exec 3<"$SIM_TMP/fifo"
	while read -r -t 30 -u 3 line; do
		echo "$line" >&2
		case $line in *"waiting for resize"*) break ;; esac
	done
	[[ $line == *"waiting for resize"* ]] || fail "the frontend never got connected"
	truncate -s "$size" "$IMG"
	$trigger
	cat <&3 >"$out"
	exec 3<&-
	rm -f "$SIM_TMP/fifo"
	bf_wait "$BF_PID" "$out" "resize to $size"
	jtrue "d['sectors'] == $(($(stat -c %s "$IMG") / 512)) and d['resize_from'] > 0 and \
d['resize_from'] < d['sectors']" "$out" || fail "the frontend did not see $size"
	[ "$(xs_dd read "$BE/sectors")" = $(($(stat -c %s "$IMG") / 512)) ] ||
		fail "backend sectors"
}

hup() { kill -HUP "$BB_PID"; }
rewrite_params() { xs_d0 write "$BE/params" "$IMG"; }

grow 96M hup
grow 128M rewrite_params
sim_report
