# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the blk scenarios of the sim suite, sourced by each script.
#
# A scenario gets a private simulated Xen host under a temporary directory:
# `xensim up`, a driver domain running blkbackd-sim in the foreground (its
# log in $SIM_TMP/blkbackd.log), guests running blkfront-sim. An EXIT trap
# stops everything it started (`xensim down` plus the processes, mounts,
# device-mapper and loop devices it recorded), prints the daemon's log when the scenario
# failed, and removes the directory. Every wait is bounded: the toolstack's
# `--wait`, blkfront's `--timeout`, `read -t` on pipes, `timeout` around
# whole commands. Nothing sleeps to synchronise.
#
# Environment (set by tests/sim/meson.build): XENSIM, BLKBACKD_SIM,
# BLKFRONT_SIM (the built executables).

set -u
: "${XENSIM:?}" "${BLKBACKD_SIM:?}" "${BLKFRONT_SIM:?}"

SIM_TMP=$(mktemp -d /tmp/ddom-sim.XXXXXX)
H=$SIM_TMP/host
DD=
BB_PID=
SIM_PIDS=()
SIM_MOUNTS=()
SIM_LOOPS=()
SIM_DMS=()
SIM_CLEANUP=()	# shell commands run at exit (network namespaces ...)
SIM_VERIFIED=0
BF_TIMEOUT=${BF_TIMEOUT:-20}
# The daemons' log lines carry the UTC time (common/log.c), as `say` and
# `fail` do: a failed scenario's log reads beside its steps.
export DDOM_LOG_TIME=1

sim_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${SIM_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	timeout 30 "$XENSIM" down "$H" >/dev/null 2>&1
	for p in "${SIM_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for p in "${SIM_DMS[@]}"; do
		dmsetup remove "$p" 2>/dev/null
	done
	for p in "${SIM_LOOPS[@]}"; do
		losetup -d "$p" 2>/dev/null
	done
	for p in "${SIM_MOUNTS[@]}"; do
		umount "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		# SIM_KEEP=DIR: a failed scenario's whole directory is kept there.
		if [ -n "${SIM_KEEP:-}" ] && mkdir -p "$SIM_KEEP"; then
			cp -a "$SIM_TMP" "$SIM_KEEP/" && echo "---- kept in $SIM_KEEP/${SIM_TMP##*/} ----" >&2
		fi
		for p in "$SIM_TMP"/*.log; do
			[ -s "$p" ] || continue
			echo "---- ${p##*/} (last 60 lines) ----" >&2
			tail -n 60 "$p" >&2
		done
	fi
	for p in "${SIM_CLEANUP[@]}"; do
		eval "$p" 2>/dev/null
	done
	rm -rf "$SIM_TMP"
	exit "$rc"
}
trap sim_cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$(date -u +%T.%3N) == $*" >&2; }
fail() { echo "$(date -u +%T.%3N) FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# docs/misc/vbd-interface.txt: xvdX is 202 << 8 | disk << 4.
devid() {
	local l=${1#xvd}
	printf '%d\n' $(( (202 << 8) | (($(printf '%d' "'$l") - 97) << 4) ))
}

sim_up() {
	timeout 30 "$XENSIM" up "$H" || fail "xensim up"
	DD=$("$XENSIM" create --driver-domain "$H" dd) || fail "create driver domain"
	mkdir -p "$SIM_TMP/run"
	say "host up, driver domain $DD"
}

sim_guest() {
	local id
	id=$("$XENSIM" create "$H" "$1") || fail "create guest $1"
	say "guest $1 is domain $id"
	echo "$id"
}

# Starts blkbackd-sim in the driver domain (foreground, logs on stderr), under
# $BLKBACKD_WRAPPER (a command and its options, e.g. valgrind) when that is set.
blkbackd_start() {
	# shellcheck disable=SC2086 # the wrapper is a command line, split on purpose
	"$XENSIM" exec "$H" "$DD" -- ${BLKBACKD_WRAPPER:-} "$BLKBACKD_SIM" \
		--runtime-dir "$SIM_TMP/run" "$@" 2>>"$SIM_TMP/blkbackd.log" &
	BB_PID=$!
	SIM_PIDS+=("$BB_PID")
}

# blkbackd_kill SIG: sends SIG to blkbackd-sim itself (not the `xensim exec`
# around it) and waits until it is gone: the wrapper exits when it does, with
# the daemon's status, left in BB_RC.
blkbackd_kill() {
	local pid
	pid=$(pgrep -P "$BB_PID") || fail "no blkbackd-sim under pid $BB_PID"
	kill -"$1" "$pid"
	wait "$BB_PID"
	BB_RC=$?
	say "blkbackd-sim $pid stopped by SIG$1 (exit $BB_RC)"
}

# wait_for SECS CMD...: runs CMD until it succeeds; fails (1) after SECS.
# A poll of a condition, every 20 ms; never a guess at how long things take.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# bb_requests GUEST VDEV: read+write requests the running daemon served on
# that vbd (from --status; counters start at 0 in a new daemon); empty if
# the daemon does not answer yet.
bb_requests() { bb_counter "$1" "$2" read write; }

# bb_served_at_least GUEST VDEV N: the running daemon served N requests there.
# bb_counter GUEST VDEV NAME...: the sum of the named counters of the vbd in blkbackd's
# --status.
bb_counter() {
	local g=$1 v=$2
	shift 2
	"$BLKBACKD_SIM" --status --runtime-dir "$SIM_TMP/run" 2>/dev/null |
		awk -v dev="vbd $g/$(devid "$v"):" -v names=" $* " '
			index($0, dev) == 1 { f = 1; next }
			f { for (i = 1; i <= NF; i++) { split($i, a, "=")
				if (index(names, " " a[1] " ")) n += a[2] }
			    print n + 0; exit }'
}

bb_served_at_least() {
	local n
	n=$(bb_requests "$1" "$2")
	[ -n "$n" ] && [ "$n" -ge "$3" ]
}

# log_count PATTERN: lines of the daemon's log (all runs) matching PATTERN.
log_count() { grep -c -- "$1" "$SIM_TMP/blkbackd.log"; }
log_count_above() { [ "$(log_count "$1")" -gt "$2" ]; }

be_path() { echo "/local/domain/$DD/backend/vbd/$1/$(devid "$2")"; }

# attach GUEST VDEV TARGET [extra spec keys]: xl's disk spec, backend = the
# driver domain; then what the block hotplug script reports on success.
attach() {
	local g=$1 vdev=$2 target=$3 extra=${4:-}
	timeout 30 "$XENSIM" block-attach --wait "$H" "$g" \
		"$target,raw,$vdev,${ACCESS:-rw},backend=dd${extra:+,$extra}" ||
		fail "block-attach $vdev to $g (backend never reached InitWait)"
	xs_dd write "$(be_path "$g" "$vdev")/hotplug-status" connected
	say "attached $target as $vdev of domain $g"
}

detach() {
	timeout 30 "$XENSIM" block-detach "$H" "$1" "$2" || fail "block-detach $2 of $1"
	say "detached $2 of domain $1"
}

# xenstore-read/-write/-exists as a process of the driver domain or dom0.
xs_dd() { local v=$1; shift; "$XENSIM" exec "$H" "$DD" -- "xenstore-$v" "$@"; }
xs_d0() { local v=$1; shift; "$XENSIM" exec "$H" 0 -- "xenstore-$v" "$@"; }

# bf GUEST VDEV ARGS...: runs blkfront-sim in the guest with --json; the JSON
# line goes to ${BF_OUT:-$SIM_TMP/last.json} and to stderr; returns
# blkfront's status.
bf() {
	local g=$1 vdev=$2 out=${BF_OUT:-$SIM_TMP/last.json} rc
	shift 2
	timeout $((BF_TIMEOUT * 6 + 60)) "$XENSIM" exec "$H" "$g" -- "$BLKFRONT_SIM" \
		--vdev "$vdev" --timeout "$BF_TIMEOUT" --json "$@" >"$out"
	rc=$?
	echo "blkfront dom$g $vdev $*: exit $rc" >&2
	cat "$out" >&2
	return $rc
}

# bf_bg OUT GUEST VDEV ARGS...: the same in the background; sets BF_PID (the
# `xensim exec` process, which forwards SIGTERM to blkfront).
bf_bg() {
	local out=$1 g=$2 vdev=$3
	shift 3
	"$XENSIM" exec "$H" "$g" -- "$BLKFRONT_SIM" --vdev "$vdev" --timeout "$BF_TIMEOUT" \
		--json "$@" >"$out" &
	BF_PID=$!
	SIM_PIDS+=("$BF_PID")
}

# bf_wait PID OUT WHAT: waits for a background blkfront, which must succeed.
bf_wait() {
	local rc
	wait "$1"
	rc=$?
	echo "blkfront ($3): exit $rc" >&2
	cat "$2" >&2
	[ "$rc" = 0 ] || fail "$3 failed"
	jtrue 'd["ok"] and d["errors"] == 0 and d["mismatches"] == 0' "$2" ||
		fail "$3: errors or mismatches"
	SIM_VERIFIED=$((SIM_VERIFIED + $(jget verified_bytes "$2")))
}

# jq-less JSON assertions: jtrue 'python expression over d' [file]
jtrue() {
	python3 -c 'import json,sys
d = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" "${2:-$SIM_TMP/last.json}"
}

jget() {
	python3 -c 'import json,sys
d = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
print(d[sys.argv[1]])' "$1" "${2:-$SIM_TMP/last.json}"
}

# bf_ok GUEST VDEV ARGS...: a verified run that must succeed with no error,
# no mismatch, and verify at least what it wrote.
bf_ok() {
	local out=${BF_OUT:-$SIM_TMP/last.json}
	bf "$@" || fail "blkfront $* failed"
	jtrue 'd["ok"] and d["errors"] == 0 and d["mismatches"] == 0' "$out" ||
		fail "blkfront $*: errors or mismatches"
	SIM_VERIFIED=$((SIM_VERIFIED + $(jget verified_bytes "$out")))
}

# idle_pct PID SECONDS: the CPU the process used over that time, in % of one CPU (the
# benchmarks' idle measurements).
idle_pct() {
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	t0=$(awk '{print $14 + $15}' "/proc/$1/stat")
	python3 -c 'import select; select.select([], [], [], '"$2"')'
	t1=$(awk '{print $14 + $15}' "/proc/$1/stat")
	awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$2" 'BEGIN {printf "%.2f", (b - a) / hz / s * 100}'
}

# scale_idle_phase PID WHAT N CONNECTED-FN: the scale benchmarks' idle phase. Waits (bounded
# by BENCH_IDLE - 6 s) until `CONNECTED-FN N` holds, then measures the daemon PID with every
# device connected and idle: TCONN (seconds since T0), RSS1 (KiB), THREADS, and its CPU over
# two 5 s windows, SETTLE (the connections' xenstore traffic may still drain) then IDLECPU.
# Warns when the phase outlasted BENCH_IDLE (the loads, started at T0 + IDLE, overlapped it).
scale_idle_phase() {
	local pid=$1 what=$2 n=$3 fn=$4
	wait_for $((IDLE - 6)) "$fn" "$n" || fail "not every $what connected within $((IDLE - 6)) s"
	TCONN=$((SECONDS - T0))
	RSS1=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	THREADS=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
	SETTLE=$(idle_pct "$pid" 5)
	IDLECPU=$(idle_pct "$pid" 5)
	say "all $n connected after ${TCONN} s; CPU ${SETTLE}% then ${IDLECPU}%"
	[ $((SECONDS - T0)) -lt "$IDLE" ] ||
		say "WARNING: the loads started before the idle windows ended (raise BENCH_IDLE)"
}

sim_report() {
	say "verified $((SIM_VERIFIED >> 20)) MiB in this scenario"
}

# sim_single SIZE [BLKBACKD-ARGS...]: a host, one guest ($G), blkbackd, and one sparse disk
# file ($IMG) of SIZE attached as its xvda (backend directory $BE).
sim_single() {
	sim_up
	G=$(sim_guest g1)
	blkbackd_start "${@:2}"
	IMG=$(disk d1.img "$1")
	attach "$G" xvda "$IMG"
	BE=$(be_path "$G" xvda)
}

# A file to serve: sparse, SIZE as for truncate.
disk() {
	truncate -s "$2" "$SIM_TMP/$1" || fail "truncate $1"
	echo "$SIM_TMP/$1"
}
