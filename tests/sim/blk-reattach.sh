#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-reattach: data written through one attachment survives detach and
# re-attach; detach removes both ends from xenstore, and blkbackd serves the
# new device.
. "$(dirname "$0")/lib.sh"

sim_single 64M
bf_ok "$G" xvda --rw write --bs 16k --iodepth 16 --size 32M --verify

for round in 1 2; do
	detach "$G" xvda
	xs_d0 exists "$BE" 2>/dev/null && fail "backend directory left after detach"
	xs_d0 exists "/local/domain/$G/device/vbd/$(devid xvda)" 2>/dev/null &&
		fail "frontend directory left after detach"
	attach "$G" xvda "$IMG"
	bf_ok "$G" xvda --rw randread --bs 16k --iodepth 16 --size 32M --io-limit 16M \
		--verify-existing --seed "$round"
done
sim_report
