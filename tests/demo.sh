#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: the appliance serving a simulated guest.
#
# A xensim host comes up (user-space xenstored, grant tables, event
# channels), with a driver domain running blkbackd (the shipped code, linked
# with the simulator's seam) and a guest running the user-space blkfront. A
# disk is attached with xl's disk-spec syntax, the handshake is shown from
# xenstore, a verified mixed workload runs, and the daemon's counters are
# printed. Everything is stopped at the end. Nothing here is faked: every
# figure printed comes from the running processes.
set -euo pipefail

BUILD=${1:-build}
[ -d "$BUILD" ] || { echo "demo: no build directory '$BUILD' (run make demo)" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd)
XENSIM=$BUILD/tests/xensim/toolstack/xensim
BLKBACKD=$BUILD/blkbackd/blkbackd-sim
BLKFRONT=$BUILD/tests/frontends/blkfront-sim
for b in "$XENSIM" "$BLKBACKD" "$BLKFRONT"; do
	[ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 2; }
done

T=$(mktemp -d /tmp/ddom-demo.XXXXXX)
H=$T/host
BB_PID=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$BB_PID" ] && kill "$BB_PID" 2>/dev/null
	timeout 30 "$XENSIM" down "$H" >/dev/null 2>&1 || true
	[ -n "$BB_PID" ] && wait "$BB_PID" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		echo "demo failed (exit $rc); blkbackd's log:" >&2
		tail -n 40 "$T/blkbackd.log" >&2 2>/dev/null || true
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
xs() { local dom=$1 verb=$2; shift 2; "$XENSIM" exec "$H" "$dom" -- "xenstore-$verb" "$@"; }

step "1. a simulated Xen host"
timeout 30 "$XENSIM" up "$H"
DD=$("$XENSIM" create --driver-domain "$H" driverdom)
G=$("$XENSIM" create "$H" guest)
"$XENSIM" list "$H"

step "2. blkbackd in the driver domain (domain $DD)"
mkdir -p "$T/run"
"$XENSIM" exec "$H" "$DD" -- "$BLKBACKD" --runtime-dir "$T/run" 2>"$T/blkbackd.log" &
BB_PID=$!
echo "blkbackd-sim pid $BB_PID, log $T/blkbackd.log"

step "3. xl-style attach: block-attach guest '<file>,raw,xvda,rw,backend=driverdom'"
truncate -s 512M "$T/disk.img"
timeout 30 "$XENSIM" block-attach --wait "$H" "$G" "$T/disk.img,raw,xvda,rw,backend=driverdom"
BE=/local/domain/$DD/backend/vbd/$G/51712
FE=/local/domain/$G/device/vbd/51712
# The block hotplug script's answer (what `xl devd` would run in the driver
# domain; the sim suite runs the real script through `xensim devd`).
xs "$DD" write "$BE/hotplug-status" connected
echo "backend $BE state $(xs "$DD" read "$BE/state") (InitWait), features advertised:"
for k in feature-persistent feature-max-indirect-segments max-ring-page-order \
	multi-queue-max-queues; do
	printf '  %-32s %s\n' "$k" "$(xs "$DD" read "$BE/$k" 2>/dev/null || echo -)"
done

step "4. the guest's blkfront: handshake + verified randrw 4k QD32 (2 queues, ring order 2)"
"$XENSIM" exec "$H" "$G" -- "$BLKFRONT" --vdev xvda --queues 2 --ring-order 2 \
	--rw randrw --bs 4k --iodepth 32 --size 256M --io-limit 128M --verify --flush --discard \
	--timeout 30 >"$T/front.txt" 2>&1 &
FRONT=$!
wait "$FRONT" || { cat "$T/front.txt"; exit 1; }
cat "$T/front.txt"

step "5. what blkbackd counted (blkbackd --status)"
"$BLKBACKD" --status --runtime-dir "$T/run" | tee "$T/status.txt"

step "6. detach, stop"
timeout 30 "$XENSIM" block-detach "$H" "$G" xvda
GONE=$(xs "$DD" exists "$BE" 2>/dev/null && echo present || echo removed)
echo "backend nodes after detach: $GONE"

step "summary"
{
	echo "host:      xensim, dom0 + driver domain $DD (blkbackd) + guest $G (blkfront)"
	echo "handshake: $(grep -m1 'connected dom' "$T/front.txt" | sed 's/^blkfront: //')"
	grep -E '^  (read|write) *:' "$T/front.txt" | sed 's/^  /I\/O:      /'
	grep -E 'errors=' "$T/front.txt" | sed 's/^  /verify:    /'
	grep -E 'discard:|flush:' "$T/front.txt" | sed 's/^blkfront: /checks:    /'
	echo "backend:   $(grep -c '^vbd ' "$T/status.txt") vbd(s) known; detach left the nodes $GONE"
	echo "result:    $(grep -m1 'result:' "$T/front.txt" | awk '{print $2}')"
}
grep -q 'result: ok' "$T/front.txt"
