#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-valgrind: blkbackd-sim under valgrind's memcheck serves what a guest can send:
# verified loads with persistent grants (zero copy) and without (grant copy), 64 KiB
# indirect requests, 2 queues on a multi-page ring, the x86_32 layout, a flush, hostile
# requests (each answered), a ring that breaks the protocol (its device closed), a detach,
# and a SIGTERM. Memcheck must report no error (invalid access, uninitialised value used,
# bad free) and no definitely lost block; the daemon must exit cleanly.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || fail "valgrind is not installed (make deps installs it)"
VG_LOG=$SIM_TMP/valgrind.log
# --error-exitcode: any memcheck error makes the daemon exit 99.
BLKBACKD_WRAPPER="valgrind --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no
	--log-file=$VG_LOG"
BF_TIMEOUT=120	# everything in the daemon runs 20-50x slower

sim_up
G=$(sim_guest g1)
GA=$(sim_guest attacker)
# Polling would spin under valgrind's one-thread-at-a-time scheduler; the sleeping path is
# checked here, the spinning one by the ASan build.
blkbackd_start --poll-us 0
attach "$G" xvda "$(disk d1.img 64M)"
attach "$GA" xvda "$(disk a1.img 16M)"
attach "$GA" xvdb "$(disk a2.img 16M)"

load="--rw randrw --size 16M --io-limit 16M --verify"
bf_ok "$G" xvda $load --bs 4k --iodepth 16
bf_ok "$G" xvda $load --bs 4k --iodepth 8 --no-persistent
bf_ok "$G" xvda $load --bs 64k --iodepth 4 --queues 2 --ring-order 2
bf_ok "$G" xvda $load --bs 16k --iodepth 8 --abi x86_32 --no-indirect --flush

for h in seg-too-many sector-past-end first-gt-last bad-gref revoked-gref indirect-pages-lie; do
	bf "$GA" xvda --hostile "$h" --expect error || fail "hostile $h: not answered with an error"
done
bf "$GA" xvda --hostile unknown-op --expect eopnotsupp || fail "hostile unknown-op"
bf "$GA" xvdb --hostile prod-jump --expect closed || fail "prod-jump did not close the device"
detach "$G" xvda

blkbackd_kill TERM
rc=$BB_RC
echo "---- valgrind log ----" >&2
cat "$VG_LOG" >&2
vg=$(pgrep -f "valgrind.*$SIM_TMP" || true)
[ -z "$vg" ] || fail "valgrind still running: $vg"
grep -q "Memcheck, a memory error detector" "$VG_LOG" ||
	fail "the daemon did not run under memcheck"
grep -q "definitely lost: [1-9]" "$VG_LOG" && fail "memcheck found leaks (log above)"
grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG" || fail "memcheck found errors (log above)"
[ "$rc" = 0 ] || fail "blkbackd-sim under valgrind exited $rc (99: a memcheck error)"
sim_report
