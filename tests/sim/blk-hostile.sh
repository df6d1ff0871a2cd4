#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-hostile: every hostile pattern blkfront knows, each answered as
# xen/include/public/io/blkif.h and Linux blkback would (an error response,
# EOPNOTSUPP for unknown operations, the device closed with its error node
# for a ring that breaks the protocol), each followed by a valid request
# that must still work, while a second guest's verified load on the same
# daemon runs without a single error.
. "$(dirname "$0")/lib.sh"

sim_up
GA=$(sim_guest attacker)
GB=$(sim_guest victim)
blkbackd_start
attach "$GA" xvda "$(disk a1.img 64M)"
attach "$GA" xvdb "$(disk a2.img 64M)"
attach "$GB" xvda "$(disk b1.img 64M)"

# The victim runs until told to stop (SIGTERM: drain, verify, report).
bf_bg "$SIM_TMP/victim.json" "$GB" xvda --rw randrw --bs 4k --iodepth 16 --size 32M \
	--runtime 600 --verify
victim=$BF_PID

expect() {
	local scenario=$1 answer=$2
	shift 2
	bf "$GA" xvda --hostile "$scenario" --expect "$answer" "$@" ||
		fail "hostile $scenario: expected $answer"
	jtrue 'd["after"] == "ok"' || fail "hostile $scenario: the ring stopped working"
}

for abi in native x86_32; do
	expect seg-zero error --abi $abi
	expect seg-too-many error --abi $abi
	expect seg-255 error --abi $abi
	expect sector-past-end error --abi $abi
	expect sector-straddle-end error --abi $abi
	expect sector-wrap error --abi $abi
	expect first-gt-last error --abi $abi
	expect last-beyond-page error --abi $abi
	expect bad-gref error --abi $abi
	expect revoked-gref error --abi $abi
	expect unknown-op eopnotsupp --abi $abi
	expect reserved-op eopnotsupp --abi $abi
	expect discard-past-end error --abi $abi
	expect indirect-too-many error --abi $abi
	expect indirect-zero error --abi $abi
	expect indirect-pages-lie error --abi $abi
	expect indirect-bad-page error --abi $abi
	expect indirect-bad-seg error --abi $abi
	expect indirect-bad-op error --abi $abi
	expect double-fetch consistent --abi $abi
	expect storm okay --abi $abi --no-persistent
done

# A ring that breaks the protocol closes that device, with its error node.
bf "$GA" xvdb --hostile prod-jump --expect closed || fail "prod-jump did not close the device"
err=$(xs_dd read "$(be_path "$GA" xvdb)/error") || fail "no error node after prod-jump"
say "backend error node: $err"
[ "$(xs_dd read "$(be_path "$GA" xvdb)/state")" -ge 5 ] || fail "prod-jump: device not closing"

# The other devices of the same guest and daemon still work.
bf_ok "$GA" xvda --rw randrw --bs 4k --size 8M --io-limit 8M --verify

if ! kill -0 "$victim" 2>/dev/null; then
	wait "$victim"
	echo "victim exit status $?" >&2
	cat "$SIM_TMP/victim.json" >&2
	fail "the victim's load ended before the attack did"
fi
kill -TERM "$victim"
bf_wait "$victim" "$SIM_TMP/victim.json" "victim load"
jtrue 'd["halted"] and d["read_ios"] + d["write_ios"] > 1000' "$SIM_TMP/victim.json" ||
	fail "the victim did not run through the attack"
sim_report
