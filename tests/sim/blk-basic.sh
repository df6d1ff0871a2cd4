#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/blk-basic: one guest, one disk served by blkbackd-sim from a driver
# domain. The handshake with default features, a verified random read/write
# load, a flush, a discard that reads back zeros, and the backend's nodes
# after the frontend closed cleanly, then the load again from a frontend that
# polls for responses. A second disk attached with `no-discard`
# (discard-enable=0) offers no discard, and the discard check says so.
. "$(dirname "$0")/lib.sh"

# --submit-batch 32: a pass may take 32 requests and hand them to the store in one io_submit
# (the default, 1, is what every other sim test runs).
sim_single 256M --submit-batch 32

bf_ok "$G" xvda --rw randrw --bs 4k --iodepth 32 --size 64M --io-limit 64M --verify --publish 32 \
	--flush --discard
jtrue 'd["flush"] == "ok" and d["discard"] == "ok"' || fail "flush or discard check"
jtrue 'd["sectors"] == 256 * 2048' || fail "sectors is not the file size"
jtrue 'd["read_ios"] > 0 and d["write_ios"] > 0 and d["lat_p99_us"] > 0' ||
	fail "no reads or writes measured"
[ "$(xs_dd read "$BE/state")" = 6 ] || fail "backend not Closed after the frontend closed"
# With --publish 32 blkfront publishes its first 32 requests with one req_prod update (by
# default it publishes each, as Linux blkfront does): with --submit-batch 32
# blkbackd takes them in one pass and hands them to the store in one io_submit, so there are
# fewer calls than requests.
req=$(bb_requests "$G" xvda)
subm=$(bb_counter "$G" xvda submit-calls)
say "$req requests in $subm io_submit calls"
[ "${subm:-0}" -gt 0 ] && [ "$subm" -lt "$req" ] || fail "no request shared an io_submit call"
[ "$(xs_dd read "$BE/sector-size")" = 512 ] || fail "sector-size"
# A frontend that polls for responses (blk-bench's BENCH_POLL) instead of
# sleeping on its event channel: the same verified load on the same disk.
bf_ok "$G" xvda --rw randrw --bs 4k --iodepth 32 --size 64M --io-limit 32M --verify \
	--poll-us 200
jtrue 'd["read_ios"] > 0 and d["write_ios"] > 0' || fail "polled run: no reads or writes"
attach "$G" xvdb "$(disk d2.img 64M)" no-discard
bf "$G" xvdb --discard && fail "discard check passed on a no-discard disk"
jtrue 'd["discard"] == "fail" and "not supported" in d["why"]' ||
	fail "no-discard: the frontend did not see feature-discard absent"
sim_report
