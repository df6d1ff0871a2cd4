#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-restart-stale: a restarted blkbackd-sim whose state file for one
# vbd is missing, truncated, has a wrong magic, another format version (an
# upgrade in place), or names other ring refs
# (a consistent header of another connection) closes that vbd the normal
# way (its error node says why; the frontend sees the backend leave
# Connected) and reattaches the other vbd of the same guest, whose verified
# load goes on undisturbed. The closed vbd then connects afresh and serves.
. "$(dirname "$0")/lib.sh"

STEP=${RESTART_STEP:-1000}

sim_single 64M
IMG2=$(disk d2.img 64M)
attach "$G" xvdb "$IMG2"
BEA=$BE
BEB=$(be_path "$G" xvdb)
QA=$SIM_TMP/run/vbd-$G-$(devid xvda)-q0.state

# The header (blkbackd/qstate.h): magic u64, version, hdr_size, ent_size,
# id_sum (FNV-1a of the id), then the id: domid, devid, queue, abi,
# nr_ring_pages, nr_ents, slot_size, remote_port, ring_refs[16].
spoil() {
	case "$1" in
	missing) rm -f "$QA" ;;
	truncated) truncate -s 100 "$QA" ;;
	magic) printf 'NOTSTATE' | dd of="$QA" conv=notrunc status=none ;;
	# A blkbackd of another format version wrote it (an upgrade in place): the u32 after the
	# magic.
	version) printf '\x63\x00\x00\x00' | dd of="$QA" bs=1 seek=8 conv=notrunc status=none ;;
	refs) python3 - "$QA" <<'EOF'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
refs = 24 + 8 * 4
struct.pack_into('<I', b, refs, struct.unpack_from('<I', b, refs)[0] + 1)
h = 2166136261
for c in b[24:24 + 24 * 4]:
    h = ((h ^ c) * 16777619) & 0xffffffff
struct.pack_into('<I', b, 20, h)
open(p, 'wb').write(b)
EOF
	;;
	esac
}

be_closed() { case "$(xs_dd read "$BEA/state")" in 5 | 6) return 0 ;; esac; return 1; }

for how in missing truncated magic version refs; do
	say "state file: $how"
	bf_bg "$SIM_TMP/a.json" "$G" xvda --rw randrw --bs 4k --iodepth 16 --size 16M \
		--runtime 300 --verify
	bfa=$BF_PID
	bf_bg "$SIM_TMP/b.json" "$G" xvdb --rw randrw --bs 4k --iodepth 16 --size 16M \
		--runtime 300 --verify
	bfb=$BF_PID
	base=$(bb_requests "$G" xvdb)
	wait_for 30 bb_served_at_least "$G" xvdb $((${base:-0} + STEP)) || fail "$how: no I/O"
	# Both loads must be under way: xvda's frontend may connect after xvdb
	# has served STEP requests (the sanitizer build is slow to start it).
	basea=$(bb_requests "$G" xvda)
	wait_for 30 bb_served_at_least "$G" xvda $((${basea:-0} + 1)) || fail "$how: no I/O on xvda"
	wait_for 30 test -f "$QA" || fail "$how: no state file $QA"
	blkbackd_kill KILL
	spoil "$how"
	blkbackd_start
	# xvda: closed the normal way, the frontend told by its backend's state.
	wait "$bfa" && fail "$how: the xvda load did not notice its device closing"
	cat "$SIM_TMP/a.json" >&2
	jtrue '"left Connected" in d["why"] and "resume queue 0" in d["backend_error"]' \
		"$SIM_TMP/a.json" || fail "$how: xvda not closed with a reason"
	wait_for 30 be_closed || fail "$how: xvda backend not Closing/Closed"
	if [ "$how" = version ]; then
		jtrue '"another format version" in d["backend_error"]' "$SIM_TMP/a.json" ||
			fail "version: the error does not say the file is of another format version"
	fi
	# xvdb: reattached, still served by the same daemon.
	wait_for 30 bb_served_at_least "$G" xvdb "$STEP" || fail "$how: xvdb not served"
	[ "$(xs_dd read "$BEB/state")" = 4 ] || fail "$how: xvdb left Connected"
	pgrep -P "$BB_PID" >/dev/null || fail "$how: the daemon died"
	kill -TERM "$bfb"
	bf_wait "$bfb" "$SIM_TMP/b.json" "$how: xvdb"
	jtrue 'd["connects"] == 1' "$SIM_TMP/b.json" || fail "$how: xvdb reconnected"
	# The closed vbd hand-shakes again and works.
	bf_ok "$G" xvda --rw randrw --bs 4k --iodepth 16 --size 8M --io-limit 8M --verify
done
[ "$(log_count "reattached:")" = 5 ] || fail "xvdb not reattached once per restart"
sim_report
