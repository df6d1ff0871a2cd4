# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the toolstack's CLI tests: a fresh host directory under /tmp
# (short: the xenstored sockets must fit in sun_path), a teardown that leaves
# nothing running, and small assertion helpers. Needs XENSIM (the binary);
# TS_KEEP=1 keeps the directory (logs) for a post-mortem.
set -euo pipefail

: "${XENSIM:?XENSIM must name the xensim binary}"
TS_DIR=$(mktemp -d /tmp/xsts.XXXXXX)
TS_PIDS=()

ts_cleanup() {
	local p
	for p in "${TS_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	"$XENSIM" down "$TS_DIR" >/dev/null 2>&1 || true
	if [ -n "${TS_KEEP:-}" ]; then
		echo "kept $TS_DIR" >&2
	else
		rm -rf "$TS_DIR"
	fi
}
trap ts_cleanup EXIT

fail() {
	echo "not ok - $*" >&2
	exit 1
}

pass() {
	echo "ok - $*"
}

# run WANT_RC CMD...: runs CMD, keeps its stdout/stderr in $OUT/$ERR.
run() {
	local want=$1 rc=0
	shift
	"$@" >"$TS_DIR/.out" 2>"$TS_DIR/.err" || rc=$?
	OUT=$(cat "$TS_DIR/.out")
	ERR=$(cat "$TS_DIR/.err")
	[ "$rc" = "$want" ] || fail "\`$*' exited $rc, expected $want; stderr: $ERR"
}

# xs DOMID CMD...: a xenstore-utils command as a process of DOMID.
xs() {
	local dom=$1
	shift
	"$XENSIM" exec "$TS_DIR" "$dom" -- "$@"
}

# proc_start PID: the start time of a live (not zombie) process, else "".
proc_start() {
	awk '{ sub(/.*\) /, ""); if ($1 != "Z") print $20 }' "/proc/$1/stat" 2>/dev/null || true
}
