#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-readonly: a disk attached read-only (access=ro, backend mode=r)
# says VDISK_READONLY in `info`, serves reads of what an earlier writable
# attachment wrote, and answers every write with an error response; a
# cdrom says read-only, removable and cdrom.
. "$(dirname "$0")/lib.sh"

sim_single 64M
bf_ok "$G" xvda --rw write --bs 64k --iodepth 8 --size 16M --verify
detach "$G" xvda

ACCESS=ro attach "$G" xvda "$IMG"
[ "$(xs_dd read "$(be_path "$G" xvda)/mode")" = r ] || fail "backend mode is not r"
bf_ok "$G" xvda --rw read --bs 64k --iodepth 8 --size 16M --verify-existing
jtrue 'd["info"] & 4' || fail "info lacks VDISK_READONLY"
bf "$G" xvda --hostile ro-write --expect error || fail "a write to a read-only disk was not refused"
bf "$G" xvda --rw write --bs 4k --size 1M --io-limit 1M --expect io-errors ||
	fail "writes to a read-only disk did not all fail"
jtrue 'd["errors"] == d["write_ios"] == 256' || fail "not every write failed"
# A cdrom is removable and read-only as well (VDISK_CDROM | VDISK_REMOVABLE | VDISK_READONLY).
ACCESS=ro attach "$G" xvdb "$(disk cd.img 16M)" devtype=cdrom
bf_ok "$G" xvdb --rw read --size 1M --bs 4k
jtrue 'd["info"] == 7' || fail "a cdrom's info is not 7"
sim_report
