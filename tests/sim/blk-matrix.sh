#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-matrix GROUP: handshake and verified data for a row group of the
# feature matrix, one blkfront connection per row on the same disk (so every
# row is also a reconnect from Closed):
#   queues    queues 1/2/4 with ring orders 0..4
#   native | x86_32 | x86_64
#             that ABI with persistent grants on/off x indirect on/off, at
#             64 KiB I/Os (16 segments: indirect requests, or split ones)
# Each row checks that what was negotiated is what was asked for.
. "$(dirname "$0")/lib.sh"

group=${1:?group}
sim_single 128M

row() {
	local want_q=$1 want_o=$2 want_p=$3 want_i=$4
	shift 4
	local ind0 rw0 ind rw
	ind0=$(bb_counter "$G" xvda indirect)
	rw0=$(bb_requests "$G" xvda)
	bf_ok "$G" xvda --rw randrw --size 64M --io-limit 24M --verify "$@"
	jtrue "d['queues'] == $want_q and d['ring_order'] == $want_o and \
d['persistent'] == $want_p and (d['indirect'] > 0) == bool($want_i)" ||
		fail "row $*: negotiated something else"
	# The daemon's counters: a request sent indirect counts as indirect and
	# as the read or write it carries.
	ind=$(($(bb_counter "$G" xvda indirect) - ind0))
	rw=$(($(bb_requests "$G" xvda) - rw0))
	[ "$rw" -ge "$ind" ] && [ "$rw" -gt 0 ] ||
		fail "row $*: $rw reads and writes counted for $ind indirect requests"
	[ "$BIG" = 0 ] || [ $((ind > 0)) = "$want_i" ] ||
		fail "row $*: $ind indirect requests counted, indirect negotiated: $want_i"
}

BIG=0	# 1: every I/O is larger than a direct request carries
case $group in
queues)
	row 1 0 1 1 --queues 1 --ring-order 0 --bs 4k --iodepth 32
	row 2 1 1 1 --queues 2 --ring-order 1 --bs 4k --iodepth 32
	row 4 2 1 1 --queues 4 --ring-order 2 --bs 8k --iodepth 16
	row 2 3 1 1 --queues 2 --ring-order 3 --bs 16k --iodepth 16
	row 4 4 1 1 --queues 4 --ring-order 4 --bs 4k --iodepth 64
	row 1 4 1 1 --queues 1 --ring-order 4 --bs 32k --iodepth 16
	;;
native | x86_32 | x86_64)
	BIG=1
	for p in 1 0; do
		for i in 1 0; do
			args=(--abi "$group" --queues 2 --ring-order 1 --bs 64k --iodepth 8)
			[ $p = 1 ] || args+=(--no-persistent)
			[ $i = 1 ] || args+=(--no-indirect)
			row 2 1 $p $i "${args[@]}"
			jtrue "d['abi'] == '$group'" || fail "abi"
		done
	done
	;;
*)
	fail "unknown group $group"
	;;
esac
sim_report
