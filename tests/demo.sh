#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: the appliance serving simulated guests, a disk and NICs.
#
# A xensim host comes up (user-space xenstored, grant tables, event
# channels), with a driver domain running blkbackd and netbackd (the shipped
# code, linked with the simulator's seam) and guests running the user-space
# blkfront and netfront. A disk is attached with xl's disk-spec syntax, the
# handshake is shown from xenstore, a verified mixed workload runs; then two
# NICs are attached with xl's vif spec, the guests exchange verified frames
# through netbackd's switch, and (as root, with network namespaces) Linux's
# TCP/IP runs over the rings: a guest reaches an uplink (a kernel TAP) and
# a checksummed TCP transfer crosses netbackd. The daemons' counters are
# printed. Everything is stopped at the end. Nothing here is faked: every
# figure printed comes from the running processes.
set -euo pipefail

BUILD=${1:-build}
[ -d "$BUILD" ] || { echo "demo: no build directory '$BUILD' (run make demo)" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd)
XENSIM=$BUILD/tests/xensim/toolstack/xensim
BLKBACKD=$BUILD/blkbackd/blkbackd-sim
BLKFRONT=$BUILD/tests/frontends/blkfront-sim
NETBACKD=$BUILD/netbackd/netbackd-sim
NETFRONT=$BUILD/tests/frontends/netfront-sim
for b in "$XENSIM" "$BLKBACKD" "$BLKFRONT" "$NETBACKD" "$NETFRONT"; do
	[ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 2; }
done

T=$(mktemp -d /tmp/ddom-demo.XXXXXX)
H=$T/host
BB_PID=
NB_PID=
PIDS=()
NS=ddomdemo$$
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	# Nothing here may end the script early: under `set -e` a `wait` for a daemon that
	# SIGTERM stopped (status 143) used to exit with that status after a passing demo.
	set +e
	[ -n "$BB_PID" ] && kill "$BB_PID" 2>/dev/null
	for p in "${PIDS[@]}" $NB_PID; do kill "$p" 2>/dev/null || true; done
	timeout 30 "$XENSIM" down "$H" >/dev/null 2>&1 || true
	[ -n "$BB_PID" ] && wait "$BB_PID" 2>/dev/null
	for p in "${PIDS[@]}" $NB_PID; do wait "$p" 2>/dev/null || true; done
	for p in g up; do ip netns del "$NS$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		echo "demo failed (exit $rc); the daemons' logs:" >&2
		tail -n 40 "$T/blkbackd.log" "$T/netbackd.log" >&2 2>/dev/null || true
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

step "7. netbackd in the driver domain, two NICs with xl's vif spec"
G2=$("$XENSIM" create "$H" guest2)
NET_NS=
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && ip netns add "${NS}up" 2>/dev/null; then
	NET_NS=yes
	# netbackd runs in a namespace that stands for the outside world: its
	# uplink (tap:, a kernel TAP with GSO and checksum offloads) appears there
	# as the kernel interface "uplink0".
	ip netns exec "${NS}up" "$XENSIM" exec "$H" "$DD" -- "$NETBACKD" --runtime-dir "$T/run" \
		--uplink tap:uplink0 2>"$T/netbackd.log" &
else
	echo "(not root or no network namespaces: netbackd without an uplink)"
	"$XENSIM" exec "$H" "$DD" -- "$NETBACKD" --runtime-dir "$T/run" 2>"$T/netbackd.log" &
fi
NB_PID=$!
for _ in $(seq 1 500); do [ -S "$T/run/netbackd.sock" ] && break; sleep 0.02; done
MAC1=00:16:3e:de:00:01
MAC2=00:16:3e:de:00:02
V1=$(timeout 30 "$XENSIM" network-attach "$H" "$G" backend=driverdom mac=$MAC1 --wait)
V2=$(timeout 30 "$XENSIM" network-attach "$H" "$G2" backend=driverdom mac=$MAC2 --wait)
# The vif hotplug script's answer (vif-ddom, run by `xl devd` on a real host).
xs "$DD" write "/local/domain/$DD/backend/vif/$G/$V1/hotplug-status" connected
xs "$DD" write "/local/domain/$DD/backend/vif/$G2/$V2/hotplug-status" connected
VBE=/local/domain/$DD/backend/vif/$G/$V1
echo "vif $G/$V1 ($MAC1) and vif $G2/$V2 ($MAC2); netbackd offers:"
for k in feature-sg feature-gso-tcpv4 feature-gso-tcpv6 feature-split-event-channels \
	feature-ctrl-ring feature-multicast-control multi-queue-max-queues; do
	printf '  %-32s %s\n' "$k" "$(xs "$DD" read "$VBE/$k" 2>/dev/null || echo -)"
done

step "8. guest2 receives, guest sends: 20000 verified frames of 60..1514 bytes"
"$XENSIM" exec "$H" "$G2" -- "$NETFRONT" --vif "$V2" --recv 20000 --from $MAC1 --timeout 30 \
	--json >"$T/recv.json" 2>"$T/recv.txt" &
RECV=$!
for _ in $(seq 1 500); do
	"$NETBACKD" --status --runtime-dir "$T/run" 2>/dev/null | grep -q "^vif $G2/$V2: Connected" && break
	sleep 0.02
done
"$XENSIM" exec "$H" "$G" -- "$NETFRONT" --vif "$V1" --send 20000 --to $MAC2 --size 60-1514 \
	--pps 50000 --timeout 30 --json >"$T/send.json" 2>"$T/send.txt"
wait "$RECV" || { cat "$T/recv.txt" "$T/recv.json"; exit 1; }
python3 -c 'import json,sys
s, r = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:])
print("sent %d frames (%d bytes), received %d: lost %d, reordered %d, corrupted %d" %
      (s["sent"], s["bytes"], r["received"], r["lost"], r["reordered"], r["corrupted"]))
sys.exit(0 if r["ok"] and r["received"] == s["sent"] else 1)' "$T/send.json" "$T/recv.json" |
	tee "$T/frames.txt"

TCP=
if [ -n "$NET_NS" ]; then
	step "9. Linux TCP/IP over the rings: the guest's netfront as a TAP, reaching the uplink"
	ip netns add "${NS}g"
	ip netns exec "${NS}g" "$XENSIM" exec "$H" "$G" -- "$NETFRONT" --vif "$V1" --tap eth0 \
		2>>"$T/netfront-tap.txt" &
	PIDS+=("$!")
	for _ in $(seq 1 500); do ip netns exec "${NS}g" ip link show eth0 >/dev/null 2>&1 && break; sleep 0.02; done
	ip netns exec "${NS}g" ip addr add 192.0.2.1/24 dev eth0
	ip netns exec "${NS}g" ip link set eth0 up
	ip netns exec "${NS}up" ip addr add 192.0.2.254/24 dev uplink0
	ip netns exec "${NS}up" ip link set uplink0 up
	ip netns exec "${NS}g" ping -c 3 -W 5 192.0.2.254 | tail -2
	ip netns exec "${NS}up" python3 "$(dirname "$0")/sim/tcpxfer.py" serve 5001 --timeout 60 \
		>"$T/srv.json" 2>"$T/srv.err" &
	SRV=$!
	for _ in $(seq 1 500); do grep -q listening "$T/srv.err" 2>/dev/null && break; sleep 0.02; done
	ip netns exec "${NS}g" python3 "$(dirname "$0")/sim/tcpxfer.py" send 192.0.2.254 5001 128 \
		--timeout 60 >"$T/cli.json"
	wait "$SRV"
	TCP=$(python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
ok = a["bytes"] == b["bytes"] and a["sha256"] == b["sha256"]
print("%d MiB guest -> uplink, sha256 %s, %s Mbit/s" %
      (b["bytes"] >> 20, "equal" if ok else "DIFFERENT", b["mbit_s"]))
sys.exit(0 if ok else 1)' "$T/cli.json" "$T/srv.json")
	echo "$TCP"
fi

step "10. what netbackd counted (netbackd --status), its MAC table"
"$NETBACKD" --status --runtime-dir "$T/run" | grep -v '^    q[0-9]' | tee "$T/nstatus.txt"
"$NETBACKD" --mac-table --runtime-dir "$T/run"

step "summary"
{
	echo "host:      xensim, dom0 + driver domain $DD (blkbackd, netbackd) + guests $G, $G2"
	echo "disk:      $(grep -m1 'connected dom' "$T/front.txt" | sed 's/^blkfront: //')"
	grep -E '^  (read|write) *:' "$T/front.txt" | sed 's/^  /I\/O:      /'
	grep -E 'errors=' "$T/front.txt" | sed 's/^  /verify:    /'
	grep -E 'discard:|flush:' "$T/front.txt" | sed 's/^blkfront: /checks:    /'
	echo "backend:   $(grep -c '^vbd ' "$T/status.txt") vbd(s) known; detach left the nodes $GONE"
	echo "nics:      $(grep -c '^vif .*: Connected' "$T/nstatus.txt") vif(s) connected, $(grep -c '^uplink ' "$T/nstatus.txt") uplink(s)"
	echo "frames:    $(cat "$T/frames.txt")"
	[ -n "$TCP" ] && echo "tcp:       $TCP"
	echo "result:    $(grep -m1 'result:' "$T/front.txt" | awk '{print $2}')"
}
grep -q 'result: ok' "$T/front.txt"
