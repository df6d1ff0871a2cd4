#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-multi: two guests with two disks each on one blkbackd, all four
# under verified load at the same time, with different features per disk.
. "$(dirname "$0")/lib.sh"

sim_up
G1=$(sim_guest g1)
G2=$(sim_guest g2)
blkbackd_start
attach "$G1" xvda "$(disk a1.img 64M)"
attach "$G1" xvdb "$(disk a2.img 64M)"
attach "$G2" xvda "$(disk b1.img 64M)"
attach "$G2" xvdb "$(disk b2.img 64M)"

common=(--rw randrw --size 48M --io-limit 48M --verify)
bf_bg "$SIM_TMP/1a.json" "$G1" xvda "${common[@]}" --bs 4k --iodepth 32
p1=$BF_PID
bf_bg "$SIM_TMP/1b.json" "$G1" xvdb "${common[@]}" --bs 64k --iodepth 8 --queues 2 --abi x86_32
p2=$BF_PID
bf_bg "$SIM_TMP/2a.json" "$G2" xvda "${common[@]}" --bs 16k --iodepth 16 --no-persistent
p3=$BF_PID
bf_bg "$SIM_TMP/2b.json" "$G2" xvdb "${common[@]}" --bs 128k --iodepth 4 --no-indirect \
	--ring-order 2
p4=$BF_PID
bf_wait $p1 "$SIM_TMP/1a.json" "g1 xvda"
bf_wait $p2 "$SIM_TMP/1b.json" "g1 xvdb"
bf_wait $p3 "$SIM_TMP/2a.json" "g2 xvda"
bf_wait $p4 "$SIM_TMP/2b.json" "g2 xvdb"
sim_report
