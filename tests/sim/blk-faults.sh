#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-faults: backing-store failures become error responses, never a
# crash, and the daemon keeps serving other disks:
#   - a file on a full tmpfs (ENOSPC from the file system);
#   - a loop block device over a file on a full tmpfs (EIO from the block
#     layer: the injected fault standing in for a dm `error` target, which
#     needs device-mapper in the kernel; dmsetup is used when it works),
#     which offers discard but not discard-secure;
# Writes that succeeded before the store filled up still read back.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for tmpfs mounts and loop devices"
mkdir -p "$SIM_TMP/full1" "$SIM_TMP/full2"
mount -t tmpfs -o size=8m tmpfs "$SIM_TMP/full1" || skip "cannot mount tmpfs"
SIM_MOUNTS+=("$SIM_TMP/full1")
mount -t tmpfs -o size=8m tmpfs "$SIM_TMP/full2" || skip "cannot mount tmpfs"
SIM_MOUNTS+=("$SIM_TMP/full2")
truncate -s 32M "$SIM_TMP/full1/disk.img" "$SIM_TMP/full2/disk.img"

sim_up
G=$(sim_guest g1)
blkbackd_start
attach "$G" xvda "$SIM_TMP/full1/disk.img"

faulty() {
	local vdev=$1
	bf "$G" "$vdev" --rw write --bs 64k --iodepth 8 --size 32M --verify --expect io-errors ||
		fail "$vdev: the full store did not give error responses"
	jtrue 'd["errors"] > 0 and d["mismatches"] == 0 and d["verified_bytes"] > 0' ||
		fail "$vdev: no errors, or what was written before did not read back"
	say "$vdev: $(jget errors) error responses, $(($(jget verified_bytes) >> 20)) MiB intact"
}

faulty xvda

loop=$(losetup -f --show "$SIM_TMP/full2/disk.img") || skip "no loop device"
SIM_LOOPS+=("$loop")
dm=
if dmsetup create "ddom-sim-$$" --table "0 32768 linear $loop 0
32768 32768 error" 2>/dev/null; then
	dm=/dev/mapper/ddom-sim-$$
	SIM_DMS+=("ddom-sim-$$")
	say "device-mapper works: using $dm (error target in the second half)"
fi
attach "$G" xvdb "${dm:-$loop}"
faulty xvdb
# A loop device discards but cannot erase securely (BLKSECDISCARD answers
# EOPNOTSUPP): feature-discard yes, discard-secure no (written at connect).
BE=$(be_path "$G" xvdb)
[ "$(xs_dd read "$BE/feature-discard")" = 1 ] || fail "xvdb: a loop device should offer discard"
[ "$(xs_dd read "$BE/discard-secure")" = 0 ] ||
	fail "xvdb: discard-secure offered on a device without secure erase"

# The same daemon still serves a healthy disk.
attach "$G" xvdc "$(disk ok.img 64M)"
bf_ok "$G" xvdc --rw randrw --bs 4k --size 16M --io-limit 16M --verify
kill -0 "$BB_PID" || fail "blkbackd died"
sim_report
