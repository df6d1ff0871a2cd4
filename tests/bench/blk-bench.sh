#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# blk-bench: native fio against blkfront -> blkbackd on the same file.
#
# usage: tests/bench/blk-bench.sh BUILD_DIR
#   BENCH_RUNTIME  seconds per case and side (default 10)
#   BENCH_SIZE     file size (default 1G); BENCH_DIR where it lives (default
#                  BUILD_DIR: it must be a real file system, O_DIRECT)
#   BENCH_CASES    subset, e.g. "randread-4k-qd1 randwrite-4k-qd32"
#   BENCH_BLKBACKD_ARGS  extra blkbackd options, e.g. "--poll-us 0"
#   BENCH_BLKFRONT_ARGS  extra blkfront options, e.g. "--publish 32"
#   BENCH_HOST_DIR where the simulated host (its domains' memory) lives;
#                  tmpfs, like RAM (default: a private tmpfs with huge=always,
#                  as root; else /dev/shm)
#   BENCH_ROUNDS   rounds per case (default 3): native and ddom alternate,
#                  each side's median is reported (a shared VM's disk moves
#                  by 2x from one minute to the next)
#   BENCH_POLL     1: both sides poll for completions; 0: both sleep; both
#                  (default): a table for each, poll first
#   BENCH_STORE    file (default: a file in BENCH_DIR) or ram (a loop device
#                  over a tmpfs file, root only: the store costs almost
#                  nothing, so the ratio is the backend's own overhead)
#
# Each case runs twice on one pre-written file: native fio (ioengine=libaio,
# direct=1) pinned to the I/O CPU, and blkfront-sim in a simulated guest on
# the other CPU through blkbackd-sim in a simulated driver domain, pinned to
# the I/O CPU; both with the same block size, queue depth and pattern. It
# prints one table: IOPS both sides and their ratio; per ring request the
# frontend's grant operations, notifications sent and event wakeups (counted
# by blkfront) and the backend's grant maps, grant-copy segments, zero-copy
# segments (I/O on a pinned persistent mapping), notifications sent, wakeups,
# io_submit calls and sleeps (deltas of `blkbackd --status`); ddom's p99 latency; the
# spread of each side's rounds; the store's average queue depth on each side.
# In sleep mode a third side runs too: native fio pinned to the frontend's CPU,
# so that, like the guest's frontend, it is woken across CPUs by the disk's
# completions (the column "x-cpu" and ddom's ratio to it).
# Ratios are reported, never asserted: this is a benchmark, not a test of
# speed.
set -u

B=${1:?usage: blk-bench.sh BUILD_DIR}
B=$(cd "$B" && pwd)
XENSIM=$B/tests/xensim/toolstack/xensim
BLKBACKD_SIM=$B/blkbackd/blkbackd-sim
BLKFRONT_SIM=$B/tests/frontends/blkfront-sim
RUNTIME=${BENCH_RUNTIME:-10}
ROUNDS=${BENCH_ROUNDS:-3}
STORE=${BENCH_STORE:-file}
SIZE=${BENCH_SIZE:-1G}
CASES=${BENCH_CASES:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd32 read-64k-qd16 write-64k-qd16}

for x in "$XENSIM" "$BLKBACKD_SIM" "$BLKFRONT_SIM"; do
	[ -x "$x" ] || { echo "blk-bench: $x is not built" >&2; exit 1; }
done
command -v fio >/dev/null || { echo "blk-bench: fio is not installed" >&2; exit 77; }
command -v taskset >/dev/null || { echo "blk-bench: taskset is missing" >&2; exit 77; }
NCPU=$(nproc)
# The CPU that issues the I/O is the same on both sides: native fio and
# blkbackd run on IO_CPU (default: the last CPU), blkfront on the other.
IO_CPU=${BENCH_IO_CPU:-$((NCPU - 1))}
FE_CPU=$((NCPU > 1 ? (IO_CPU == 0 ? 1 : 0) : 0))

WORK=$(mktemp -d "${BENCH_DIR:-$B}/blk-bench.XXXXXX")
# The simulated host keeps each domain's memory in a file of its directory.
# A real guest's memory is RAM, so that directory is on tmpfs: on a disk file
# system every read blkbackd makes into a guest's pages (O_DIRECT, zero copy)
# would dirty page cache, and its writeback would share the store's disk with
# the benchmark (it did until 2026-12-06; docs/bench.md). And Xen gives a
# guest its RAM in 2 MiB superpages where it can (meminit_pv and meminit_hvm
# in tools/libs/guest/xg_dom_x86.c), so a guest's buffer of 16 pages is
# usually contiguous in machine memory; a tmpfs with huge=always does the same
# for the simulated guest. On /dev/shm its pages lie scattered and a 64 KiB
# request needs 16 segments at the disk (docs/bench.md, 2026-12-06 (4)).
HOST_MNT=
HOST_MEM=${BENCH_HOST_DIR:-}
if [ -z "${BENCH_HOST_DIR:-}" ]; then
	HOST_MEM="/dev/shm (4 KiB pages)"
	HOST_MNT=$(mktemp -d /tmp/blk-bench-mem.XXXXXX) || exit 1
	if [ "$(id -u)" = 0 ] && mount -t tmpfs -o huge=always,size=4G,mode=0700 tmpfs "$HOST_MNT" 2>/dev/null; then
		HOST_MEM="tmpfs huge=always (2 MiB pages)"
	else
		rmdir "$HOST_MNT"
		HOST_MNT=
	fi
fi
HOST_TMP=$(mktemp -d "${BENCH_HOST_DIR:-${HOST_MNT:-/dev/shm}}/blk-bench-host.XXXXXX") || exit 1
H=$HOST_TMP/host
BB_PID=
LOOP=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$BB_PID" ] || kill "$BB_PID" 2>/dev/null
	timeout 30 "$XENSIM" down "$H" >/dev/null 2>&1
	[ -z "$BB_PID" ] || wait "$BB_PID" 2>/dev/null
	[ -z "$LOOP" ] || losetup -d "$LOOP"
	mountpoint -q "$WORK/ram" && umount "$WORK/ram"
	rm -rf "$WORK" "$HOST_TMP"
	[ -z "$HOST_MNT" ] || { umount "$HOST_MNT" && rmdir "$HOST_MNT"; }
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# case name -> "rw bs iodepth" for fio and blkfront alike
params() {
	case $1 in
	randread-4k-qd1) echo "randread 4k 1" ;;
	randread-4k-qd32) echo "randread 4k 32" ;;
	randwrite-4k-qd32) echo "randwrite 4k 32" ;;
	read-64k-qd16) echo "read 64k 16" ;;
	write-64k-qd16) echo "write 64k 16" ;;
	*) echo "blk-bench: unknown case $1" >&2; exit 2 ;;
	esac
}

# Poll mode: both sides poll for completions instead of sleeping: native
# fio reaps the kernel's ring from user space without waiting
# (userspace_reap, iodepth_batch_complete_min=0), blkfront spins on rsp_prod
# (--poll-us). Sleep mode: both sleep, fio in io_getevents, blkfront on its
# event channel. set_mode 1|0 sets the options of each side.
case ${BENCH_POLL:-both} in
1) MODES="1" ;;
0) MODES="0" ;;
both) MODES="1 0" ;;
*) echo "blk-bench: BENCH_POLL is 1, 0 or both, not '$BENCH_POLL'" >&2; exit 2 ;;
esac
set_mode() {
	POLL=$1
	FE_POLL_ARGS=
	NATIVE_POLL_ARGS=
	if [ "$POLL" = 1 ]; then
		FE_POLL_ARGS="--poll-us 1000000"
		# complete_max bounds a reap (fio's default with min=0 reaps nothing
		# per call and collapses to a tenth of the IOPS); set per case to qd.
		NATIVE_POLL_ARGS="--iodepth_batch_complete_min=0 --userspace_reap=1"
	fi
}

IMG=$WORK/disk.img
case $STORE in
file) ;;
ram)
	[ "$(id -u)" = 0 ] || { echo "blk-bench: BENCH_STORE=ram needs root" >&2; exit 77; }
	mkdir "$WORK/ram" && mount -t tmpfs -o size="$SIZE" tmpfs "$WORK/ram" || exit 1
	truncate -s "$SIZE" "$WORK/ram/disk.img"
	# Buffered loop over tmpfs: O_DIRECT on the loop device, RAM behind it.
	LOOP=$(losetup --direct-io=off -f --show "$WORK/ram/disk.img") || exit 1
	IMG=$LOOP
	;;
*) echo "blk-bench: BENCH_STORE is file or ram, not '$STORE'" >&2; exit 2 ;;
esac
# The store's block device, for its queue depth: field 11 of its stat file is
# the time-weighted number of requests in flight, in ms (Linux
# Documentation/block/stat.rst, time_in_queue); its delta over a run's time
# is the average depth the store saw. It shows whether a side keeps the
# store as busy as the iodepth asks. Empty: not a block device we can find.
DEV_STAT=
if [ -b "$IMG" ]; then
	DEV_STAT=/sys/class/block/$(basename "$(readlink -f "$IMG")")/stat
else
	dev=$(df --output=source "$(dirname "$IMG")" 2>/dev/null | tail -n 1)
	[ -b "$dev" ] && DEV_STAT=/sys/class/block/$(basename "$(readlink -f "$dev")")/stat
fi
[ -r "$DEV_STAT" ] || DEV_STAT=
weighted_ms() {
	if [ -n "$DEV_STAT" ]; then awk '{print $11}' "$DEV_STAT"; else echo 0; fi
}

echo "blk-bench: writing $SIZE of $IMG" >&2
fio --name=prefill --filename="$IMG" --size="$SIZE" --rw=write --bs=1M --ioengine=libaio \
	--direct=1 --iodepth=4 --output=/dev/null || exit 1

# native_iops RW BS QD [CPU]: fio's IOPS, pinned to CPU (default IO_CPU).
native_iops() {
	local rw=$1 bs=$2 qd=$3 cpu=${4:-$IO_CPU} w0
	w0=$(weighted_ms)
	taskset -c "$cpu" fio --name=native --filename="$IMG" --size="$SIZE" --rw="$rw" \
		--bs="$bs" --iodepth="$qd" --ioengine=libaio --direct=1 --time_based \
		${NATIVE_POLL_ARGS:+$NATIVE_POLL_ARGS --iodepth_batch_complete_max=$qd} \
		--runtime="$RUNTIME" --output-format=json --output="$WORK/fio.json" || exit 1
	echo $(($(weighted_ms) - w0)) >"$WORK/wq-native"
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))["jobs"][0]
print("%.0f" % (j["read"]["iops"] + j["write"]["iops"]))' "$WORK/fio.json"
}

# The simulated host: a driver domain with blkbackd on IO_CPU, a guest, the file.
"$XENSIM" up "$H" >/dev/null || exit 1
DD=$("$XENSIM" create --driver-domain "$H" dd) || exit 1
G=$("$XENSIM" create "$H" guest) || exit 1
mkdir -p "$WORK/run"
taskset -c "$IO_CPU" "$XENSIM" exec "$H" "$DD" -- "$BLKBACKD_SIM" --runtime-dir "$WORK/run" ${BENCH_BLKBACKD_ARGS:-} \
	2>"$WORK/blkbackd.log" &
BB_PID=$!
"$XENSIM" block-attach --wait "$H" "$G" "$IMG,raw,xvda,rw,backend=dd" >/dev/null || exit 1
# What the block hotplug script reports on success.
"$XENSIM" exec "$H" "$DD" -- xenstore-write \
	"/local/domain/$DD/backend/vbd/$G/51712/hotplug-status" connected || exit 1

status() {
	"$XENSIM" exec "$H" "$DD" -- "$BLKBACKD_SIM" --status --runtime-dir "$WORK/run" \
		>"$1" 2>&1
}

# blkfront run + backend counter deltas -> one python dict per case.
sim_case() {
	local name=$1 rw=$2 bs=$3 qd=$4 w0
	status "$WORK/before"
	w0=$(weighted_ms)
	taskset -c "$FE_CPU" "$XENSIM" exec "$H" "$G" -- "$BLKFRONT_SIM" --vdev xvda \
		--rw "$rw" --bs "$bs" --iodepth "$qd" --size "$SIZE" --runtime "$RUNTIME" \
		${FE_POLL_ARGS} ${BENCH_BLKFRONT_ARGS:-} --json >"$WORK/bf.json" 2>"$WORK/bf.err" ||
		{ cat "$WORK/bf.err" "$WORK/bf.json" >&2; exit 1; }
	echo $(($(weighted_ms) - w0)) >"$WORK/wq-ddom"
	status "$WORK/after"
}

# Medians over the rounds -> one table row. python_row CASE "NATIVE..." ["X-CPU..."]
python_row() {
	python3 - "$1" "$2" "$WORK" "$ROUNDS" "$RUNTIME" "${3:-}" <<'EOF'
import json, re, statistics, sys
name, natives, work, rounds = sys.argv[1], sys.argv[2].split(), sys.argv[3], int(sys.argv[4])
runtime = float(sys.argv[5])
xcpu = [float(n) for n in sys.argv[6].split()]
def counters(path):
    c = {}
    for line in open(path):
        for k, v in re.findall(r'([a-z-]+)=(\d+)', line):
            c[k] = c.get(k, 0) + int(v)
    return c
runs = []
for r in range(1, rounds + 1):
    d = json.loads(open(f"{work}/bf.{r}.json").read().strip().splitlines()[-1])
    b, a = counters(f"{work}/before.{r}"), counters(f"{work}/after.{r}")
    delta = {k: a.get(k, 0) - b.get(k, 0) for k in a}
    req = max(d["requests"], 1)
    wq = float(open(f"{work}/wq-ddom.{r}").read())
    wqn = float(open(f"{work}/wq-native.{r}").read())
    runs.append({
        "aqu": wq / (d["seconds"] * 1000) if d["seconds"] else 0,
        "aqu_nat": wqn / (runtime * 1000),
        "iops": d["read_iops"] + d["write_iops"],
        "fe": [(d["gnt_share"] + d["gnt_unshare"]) / req, d["notify"] / req, d["events"] / req],
        "be": [delta.get(k, 0) / req for k in
               ("grant-maps", "grant-copy-segments", "zero-copy-segments",
                "notifications", "wakeups", "submit-calls", "sleeps")],
        "p99": d["lat_p99_us"]})
med = statistics.median
nat = [float(n) for n in natives]
native = med(nat)
iops = med([r["iops"] for r in runs])
fe = [med([r["fe"][i] for r in runs]) for i in range(3)]
be = [med([r["be"][i] for r in runs]) for i in range(7)]
spread = lambda xs: 100 * (max(xs) - min(xs)) / med(xs) if med(xs) else 0
row = "%-18s %9.0f %9.0f %6.2f | %5.3f %5.3f %5.3f | %5.3f %5.3f %5.3f %5.3f %5.3f %5.3f %5.3f | %7.1f | %3.0f%% %3.0f%% | %5.1f %5.1f" % (
    name, native, iops, iops / native if native else 0, *fe, *be, med([r["p99"] for r in runs]),
    spread(nat), spread([r["iops"] for r in runs]),
    med([r["aqu_nat"] for r in runs]), med([r["aqu"] for r in runs]))
if xcpu:
    x = med(xcpu)
    row += " | %9.0f %6.2f" % (x, iops / x if x else 0)
print(row)
EOF
}

# run_mode 1|0: every case in that mode, then its table.
run_mode() {
	local c rw bs qd r natives xcpu rows=$WORK/rows.$1 mode
	set_mode "$1"
	: >"$rows"
	for c in $CASES; do
		read -r rw bs qd <<<"$(params "$c")"
		natives=()
		xcpu=()
		for ((r = 1; r <= ROUNDS; r++)); do
			echo "blk-bench: $c round $r/$ROUNDS: native fio" >&2
			natives+=("$(native_iops "$rw" "$bs" "$qd")")
			cp "$WORK/wq-native" "$WORK/wq-native.$r"
			if [ "$POLL" = 0 ] && [ "$FE_CPU" != "$IO_CPU" ]; then
				echo "blk-bench: $c round $r/$ROUNDS: native fio on CPU $FE_CPU" >&2
				xcpu+=("$(native_iops "$rw" "$bs" "$qd" "$FE_CPU")")
			fi
			echo "blk-bench: $c round $r/$ROUNDS: blkfront -> blkbackd" >&2
			sim_case "$c" "$rw" "$bs" "$qd"
			cp "$WORK/wq-ddom" "$WORK/wq-ddom.$r"
			cp "$WORK/bf.json" "$WORK/bf.$r.json"
			cp "$WORK/before" "$WORK/before.$r"
			cp "$WORK/after" "$WORK/after.$r"
		done
		python_row "$c" "${natives[*]}" "${xcpu[*]}" >>"$rows"
	done

	if [ "$POLL" = 1 ]; then
		mode="poll mode (both sides poll for completions: no wakeup on either side)"
	else
		mode="sleep mode (both sides sleep: fio in io_getevents, blkfront on its event channel)"
	fi
	echo
	echo "blk-bench: $mode"
	echo "blk-bench: $STORE store ($IMG), $SIZE, median of $ROUNDS rounds of ${RUNTIME}s per case" \
		"and side, native fio and blkbackd on CPU $IO_CPU, blkfront on CPU $FE_CPU ($(nproc) CPUs), xensim" \
		"seam, guest memory on $HOST_MEM, blkbackd ${BENCH_BLKBACKD_ARGS:-with its defaults}${BENCH_BLKFRONT_ARGS:+, blkfront $BENCH_BLKFRONT_ARGS}"
	printf '%-18s %9s %9s %6s | %5s %5s %5s | %5s %5s %5s %5s %5s %5s %5s | %7s | %9s | %11s' \
		"" "native" "ddom" "ddom/" "fe" "fe" "fe" "be" "be" "be" "be" "be" "be" "be" "ddom" "spread" \
		"store depth"
	[ -z "${xcpu[*]}" ] || printf ' | %9s %6s' "x-cpu" "ddom/"
	echo
	printf '%-18s %9s %9s %6s | %5s %5s %5s | %5s %5s %5s %5s %5s %5s %5s | %7s | %4s %4s | %5s %5s' \
		"case" "IOPS" "IOPS" "native" "gnt" "ntfy" "wake" "maps" "copy" "zc" "ntfy" "wake" "subm" "sleep" \
		"p99 us" "nat" "ddom" "nat" "ddom"
	[ -z "${xcpu[*]}" ] || printf ' | %9s %6s' "IOPS" "x-cpu"
	echo
	cat "$rows"
}

for m in $MODES; do
	run_mode "$m"
done
