#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-poll: a queue worker with I/O in flight busy-polls for its
# completions (poll-io-us) instead of sleeping on the completion eventfd.
# The same verified 4k random-read load at depth 32, from a frontend that
# polls for its responses, runs against blkbackd twice: with --poll-io-us 0
# (sleep as soon as the store has everything: a sleep and a wakeup per
# batch of completions) and with --poll-io-us 10000. Both runs have
# --poll-us 10000, so that a queue waiting for its frontend (slow under the
# sanitizers, or on a busy machine) does not sleep either: what is left to
# count is the sleeps with I/O in flight. The `sleeps` counter must fall to
# a quarter or less; both runs must verify. The store must be
# asynchronous for this to mean anything (O_DIRECT on the disk's file
# system): a store that completes inside io_submit never has I/O in flight
# when the worker goes idle, and the scenario skips.
. "$(dirname "$0")/lib.sh"

LOAD=(--rw randread --bs 4k --iodepth 32 --size 64M --io-limit 32M --verify --poll-us 1000000)

# load NAME: the load against the daemon now running; sets SLEEPS and REQS.
load() {
	BF_OUT=$SIM_TMP/$1.json bf_ok "$G" xvda "${LOAD[@]}"
	REQS=$(bb_requests "$G" xvda)
	SLEEPS=$(bb_counter "$G" xvda sleeps)
	[ -n "$REQS" ] && [ "$REQS" -ge 8192 ] || fail "$1: ${REQS:-no} requests counted"
	say "$1: $SLEEPS sleeps in $REQS requests"
}

sim_single 64M --poll-io-us 0
# Every block carries a stamp before the reads verify them.
bf_ok "$G" xvda --rw write --bs 64k --iodepth 8 --size 64M --verify
grep -q "O_DIRECT refused" "$SIM_TMP/blkbackd.log" &&
	skip "the store fell back to buffered I/O: $(grep -m1 "O_DIRECT refused" "$SIM_TMP/blkbackd.log")"

blkbackd_kill TERM
blkbackd_start --poll-us 10000 --poll-io-us 0
load no-io-poll
s0=$SLEEPS
# With nothing polled the worker sleeps at least once per batch of answers
# (at most 32 requests): fewer means the store never left I/O in flight.
[ "$s0" -ge $((REQS / 64)) ] ||
	skip "only $s0 sleeps in $REQS requests without polling: the store completes synchronously"

blkbackd_kill TERM
blkbackd_start --poll-us 10000 --poll-io-us 10000
load io-poll
[ $((SLEEPS * 4)) -le "$s0" ] ||
	fail "--poll-io-us 10000 slept $SLEEPS times against $s0 without it"
sim_report
