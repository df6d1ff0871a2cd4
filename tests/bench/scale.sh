#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# scale: one blkbackd-sim serving many guests' disks at once under xensim, as an operator
# would run it (64 guests x 4 disks by default): every vbd connected, then every one under a
# verified load at the same time.
#
# usage: tests/bench/scale.sh BUILD_DIR        (as root)
#   BENCH_GUESTS   guests (default 64)
#   BENCH_DISKS    disks per guest, 1..8 (default 4)
#   BENCH_SECONDS  seconds of load per disk (default 20)
#   BENCH_IDLE     seconds from the first frontend's start to every load's start, all
#                  connected and idle until then (default 30)
#
# Prints: vbds connected; blkbackd's RSS before any device and with all of them connected
# (per vbd); its threads; its CPU over 5 s with every vbd connected and idle; every load's
# verification; per-guest IOPS (a guest's disks summed) min, median, max and max/min (the
# fairness the issue asks for, goal <= 1.2). xenstored runs with the node quota raised as the
# operator guide says (a vbd's backend directory is 31 nodes; Xen's default of 1000 would stop
# at ~30 vbds); the watch quota stays at its default (blkbackd holds one watch). Numbers are
# printed, never asserted; a load that fails verification or a vbd that never connects is a
# failure of the benchmark.
set -u
BUILD=$(cd "${1:?usage: scale.sh BUILD_DIR}" && pwd)
export XENSIM=$BUILD/tests/xensim/toolstack/xensim
export BLKBACKD_SIM=$BUILD/blkbackd/blkbackd-sim BLKFRONT_SIM=$BUILD/tests/frontends/blkfront-sim
GUESTS=${BENCH_GUESTS:-64}
DISKS=${BENCH_DISKS:-4}
SECS=${BENCH_SECONDS:-20}
IDLE=${BENCH_IDLE:-30}
# shellcheck source=../sim/lib.sh
. "$(dirname "$0")/../sim/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
[ "$DISKS" -ge 1 ] && [ "$DISKS" -le 8 ] || fail "BENCH_DISKS must be 1..8"
N=$((GUESTS * DISKS))

timeout 30 "$XENSIM" up "$H" --quota-nodes 100000 || fail "xensim up"
DD=$("$XENSIM" create --driver-domain "$H" dd) || fail "create driver domain"
mkdir -p "$SIM_TMP/run"
blkbackd_start --max-devices $((N + 16)) --max-devices-per-domain 8
wait_for 30 test -S "$SIM_TMP/run/blkbackd.sock" || fail "blkbackd-sim did not start"
BBP=$(pgrep -P "$BB_PID") || fail "no blkbackd-sim process"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$BBP/status"; }
RSS0=$(rss_kib)

letters=(a b c d e f g h)
say "attaching $N vbds ($GUESTS guests x $DISKS disks)"
for i in $(seq 1 "$GUESTS"); do
	g=$(sim_guest "g$i" 2>/dev/null)
	echo "$g" >>"$SIM_TMP/guests"
	for k in $(seq 0 $((DISKS - 1))); do
		attach "$g" "xvd${letters[$k]}" "$(disk "g$i-$k.img" 64M)" 2>/dev/null
	done
done
connected() {
	"$BLKBACKD_SIM" --status --runtime-dir "$SIM_TMP/run" 2>/dev/null |
		awk -v n="$1" '/^blkbackd: [0-9]+ vbd\(s\) connected/ {exit !($2 >= n)} END {}'
}
# Every frontend connects and stays idle until IDLE seconds from now, then all run their
# verified loads together.
T0=$SECONDS
START=$(($(date +%s) + IDLE))
for g in $(cat "$SIM_TMP/guests"); do
	for k in $(seq 0 $((DISKS - 1))); do
		BF_TIMEOUT=$((IDLE + SECS + 120)) bf_bg "$SIM_TMP/bf-$g-$k.json" "$g" \
			"xvd${letters[$k]}" --idle-until "$START" --rw randrw --bs 4k --iodepth 4 --size 32M \
			--runtime "$SECS" --verify
		echo "$BF_PID" >>"$SIM_TMP/bfpids"
	done
done
scale_idle_phase "$BBP" vbd "$N" connected
bad=0
for p in $(cat "$SIM_TMP/bfpids"); do
	wait "$p" || bad=$((bad + 1))
done
python3 - "$SIM_TMP" "$GUESTS" "$DISKS" "$N" "$RSS0" "$RSS1" "$THREADS" "$IDLECPU" "$TCONN" \
	"$bad" "$SETTLE" <<'EOF'
import glob, json, os, statistics, sys
tmp, guests, disks, n, rss0, rss1, threads, idle, tconn, bad, settle = sys.argv[1:]
n = int(n)
per_guest, ok, verified, mism = {}, 0, 0, 0
for f in glob.glob(os.path.join(tmp, "bf-*.json")):
    g = os.path.basename(f).split("-")[1]
    try:
        d = json.loads(open(f).read().strip().splitlines()[-1])
    except Exception:
        continue
    ok += bool(d.get("ok"))
    verified += d.get("verified_bytes", 0)
    mism += d.get("mismatches", 0)
    per_guest[g] = per_guest.get(g, 0) + d.get("read_iops", 0) + d.get("write_iops", 0)
iops = sorted(per_guest.values())
print()
print(f"scale: {guests} guests x {disks} disks = {n} vbds, one blkbackd-sim, 2 CPUs")
print(f"  connected: {n} in {tconn} s; blkbackd threads: {threads}")
print(f"  RSS: {int(rss0)} KiB with no device, {int(rss1)} KiB with {n} connected: "
      f"{(int(rss1) - int(rss0)) / n:.0f} KiB per vbd (goal <= 1024)")
print(f"  idle CPU with every vbd connected: {idle}% of a CPU over 5 s (goal 0), after "
      f"{settle}% in the 5 s before")
print(f"  loads: {ok} of {n} ok, {bad} failed, {verified >> 20} MiB verified, {mism} mismatches")
if iops:
    print(f"  per-guest IOPS: min {iops[0]:.0f}, median {statistics.median(iops):.0f}, "
          f"max {iops[-1]:.0f}, max/min {iops[-1] / iops[0] if iops[0] else 0:.2f} (goal <= 1.2)")
sys.exit(0 if ok == n and mism == 0 else 1)
EOF
