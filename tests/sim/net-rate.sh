#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-rate: xl's `rate=` on a vif limits what the guest sends. The vif
# is attached with rate=10Mb/s (the toolstack writes backend `rate` =
# "62500,50000": bytes per 50 ms); its guest floods 1514-byte generator
# frames to another guest. Over a measured interval (netbackd's tx-bytes
# counter and the clock, read together, after the initial burst) the rate
# is at most 10 % over 1.25 MB/s (and not far under it), the limit shows in --status, and the
# throttled passes are counted. Then the backend `rate` node is rewritten
# as xl would for rate=5MB/s@20ms ("100000,20000") while the flood runs:
# the new limit takes effect live and is met the same way. The receiver
# gets every frame: throttling holds the guest's requests, it never drops.
. "$(dirname "$0")/net-lib.sh"

MAC_S=00:16:3e:00:08:0a
MAC_R=00:16:3e:00:08:0b
N=16000		# 1514-byte frames: 24 MB, about 9 s at these rates

sim_up
S=$(sim_guest gs)
R=$(sim_guest gr)
netbackd_start
DS=$(vif_attach "$S" "$MAC_S" rate=10Mb/s)
DR=$(vif_attach "$R" "$MAC_R")
BE_S=$(vbe_path "$S" "$DS")
[ "$(xs_dd read "$BE_S/rate")" = "62500,50000" ] || fail "backend rate is not 62500,50000"

nf_bg "$SIM_TMP/recv.json" "$R" "$DR" --recv $N --from "$MAC_S"
PID_R=$NF_PID
wait_for 30 nb_connected "$R" "$DR" || fail "vif R never connected"
NF_OUT=$SIM_TMP/send.json NF_TIMEOUT=60 nf_bg "$SIM_TMP/send.json" "$S" "$DS" --send $N \
	--to "$MAC_R" --size 1514 --flood
PID_S=$NF_PID
wait_for 30 nb_connected "$S" "$DS" || fail "vif S never connected"

# measure BYTES EXPECTED-BYTES/S WHAT: from now until tx-bytes grew by
# BYTES, the rate must be at most 10 % over EXPECTED (and not 20 % under:
# a limiter that refills late on a loaded host runs a little slow, one that
# throttles far below the limit, or keeps an old one, is wrong).
measure() {
	local b0 t0 b1 t1 r
	t0=$EPOCHREALTIME
	b0=$(nb_counter "$S" "$DS" tx-bytes)
	wait_for 60 nb_counter_at_least "$S" "$DS" tx-bytes $((b0 + $1)) ||
		fail "$3: the sender stalled"
	t1=$EPOCHREALTIME
	b1=$(nb_counter "$S" "$DS" tx-bytes)
	r=$(python3 -c 'import sys; b0, b1, t0, t1 = map(float, sys.argv[1:]); print(round((b1 - b0) / (t1 - t0)))' \
		"$b0" "$b1" "$t0" "$t1")
	say "$3: $((b1 - b0)) bytes in $(python3 -c "print(round($t1 - $t0, 3))") s = $r B/s (limit $2)"
	[ "$r" -le $(($2 * 110 / 100)) ] || fail "$3: $r B/s is more than 10 % over $2"
	[ "$r" -ge $(($2 * 80 / 100)) ] || fail "$3: $r B/s is more than 20 % under $2 (throttled too hard)"
}

# Past the initial burst (128 KiB of credit), then 4 MB at 1.25 MB/s.
wait_for 30 nb_counter_at_least "$S" "$DS" tx-bytes $((512 << 10)) || fail "the flood did not start"
nb_status | grep -q "^vif $S/$DS: Connected .* rate=62500/50000us " || fail "--status does not show the rate"
measure 4000000 1250000 "rate=10Mb/s"
[ "$(nb_counter "$S" "$DS" tx-throttled)" -gt 0 ] || fail "no pass counted as throttled"

# xl's rate=5MB/s@20ms, written live.
xs_dd write "$BE_S/rate" "100000,20000"
wait_for 10 sh -c "'$NETBACKD_SIM' --status --runtime-dir '$SIM_TMP/run' | grep -q '^vif $S/$DS: .* rate=100000/20000us '" ||
	fail "the rewritten rate node was not taken"
b=$(nb_counter "$S" "$DS" tx-bytes)
wait_for 30 nb_counter_at_least "$S" "$DS" tx-bytes $((b + (512 << 10))) || fail "the flood stalled"
measure 10000000 5000000 "rate rewritten to 100000,20000"
grep -q "vif $S/$DS: rate now 100000 bytes per 20000 us" "$SIM_TMP/netbackd.log" ||
	fail "netbackd did not log the new rate"

nf_wait "$PID_S" "$SIM_TMP/send.json" "rate-limited sender"
nf_wait "$PID_R" "$SIM_TMP/recv.json" "receiver"
jtrue 'd["sent"] == '$N' and d["tx_errors"] == 0' "$SIM_TMP/send.json" || fail "the sender saw errors"
jtrue 'd["received"] == '$N' and d["lost"] == 0 and d["corrupted"] == 0' "$SIM_TMP/recv.json" ||
	fail "the receiver lost frames"
say "receiver: all $N frames, $(jget elapsed_s "$SIM_TMP/recv.json") s"
SIM_VERIFIED=$((SIM_VERIFIED + N * 1514))
sim_report
