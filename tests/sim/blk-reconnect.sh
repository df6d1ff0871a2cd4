#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-reconnect: the frontend closes (Closing -> Closed) and hands
# shake again four times in the middle of a verified load, with two queues
# and a two-page ring; blocks written before a reconnect read back after it.
. "$(dirname "$0")/lib.sh"

sim_single 64M

# Every block stamped first, so the last read can check all of them.
bf_ok "$G" xvda --rw write --bs 64k --iodepth 8 --size 32M --verify
bf_ok "$G" xvda --rw randrw --bs 8k --iodepth 16 --queues 2 --ring-order 1 --size 32M \
	--io-limit 64M --verify-existing --reconnect 4
jtrue 'd["reconnects"] == 4 and d["connects"] == 5' || fail "not 4 reconnects"
bf_ok "$G" xvda --rw read --bs 8k --iodepth 16 --size 32M --verify-existing --no-persistent
sim_report
