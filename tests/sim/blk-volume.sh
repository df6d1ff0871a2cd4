#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-volume: the bulk of the suite's verified data. 512 MiB written
# sequentially in 128 KiB requests and read back in the same run, then read
# back again by a second connection that only knows the stamps (offset,
# checksum) each sector carries: 1 GiB verified.
. "$(dirname "$0")/lib.sh"

sim_single 512M

bf_ok "$G" xvda --rw write --bs 128k --iodepth 8 --size 512M --verify
jtrue 'd["verified_bytes"] == 512 << 20' || fail "the write pass did not verify 512 MiB"
bf_ok "$G" xvda --rw read --bs 128k --iodepth 8 --size 512M --verify-existing --queues 2
jtrue 'd["verified_bytes"] == 512 << 20' || fail "the read pass did not verify 512 MiB"
sim_report
[ "$SIM_VERIFIED" -ge $((1 << 30)) ] || fail "less than 1 GiB verified"
