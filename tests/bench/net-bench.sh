#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# net-bench: netbackd under xensim beside references measured in the same run.
#
# usage: tests/bench/net-bench.sh BUILD_DIR        (as root: namespaces, TAP)
#   BENCH_FRAMES   64-byte frames per packet-rate round (default 10000000)
#   BENCH_SECONDS  seconds per TCP round (default 10)
#   BENCH_ROUNDS   rounds per case; the median is reported (default 3)
#
# (a) Packet rate: 64-byte frames (60 + the FCS a wire adds) from a guest's
#     netfront-sim (CPU 0) through netbackd-sim (one worker, CPU 1) to a
#     net_null uplink, against dpdk-testpmd's txonly mode on the same core
#     and the same vdev (the most a DPDK program sends there). Ratio
#     netbackd/testpmd, and Mpps against the issue's goal of 5 Mpps per core.
#     Before each round, c2c: how long a cache line takes from CPU 0 to CPU 1
#     and back, which on a VM depends on where the host put its vCPUs.
# (b) TCP, iperf3 for BENCH_SECONDS: guest -> guest, guest -> uplink and
#     uplink -> guest (Linux stacks in namespaces over netfront's TAPs; the
#     uplink is DPDK's TAP PMD, net_tap, then netbackd's own kernel TAP with
#     the virtio-net header, tap:) against a veth pair between two
#     namespaces on this machine.
# (c) From netbackd's counters over (a) and (b): grant-copy segments and
#     calls per packet, notifications per batch; and netbackd's CPU use over
#     5 s with every vif connected and no traffic (idle).
# Ratios are printed, never asserted.
set -u
BUILD=$(cd "${1:?usage: net-bench.sh BUILD_DIR}" && pwd)
export XENSIM=$BUILD/tests/xensim/toolstack/xensim
export NETBACKD_SIM=$BUILD/netbackd/netbackd-sim
export NETFRONT_SIM=$BUILD/tests/frontends/netfront-sim
export BLKBACKD_SIM=$BUILD/blkbackd/blkbackd-sim BLKFRONT_SIM=$BUILD/tests/frontends/blkfront-sim
FRAMES=${BENCH_FRAMES:-10000000}
SECONDS_TCP=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
# shellcheck source=../sim/net-lib.sh
. "$(dirname "$0")/../sim/net-lib.sh"
need_root_net
command -v iperf3 >/dev/null || skip "iperf3 is not installed (make deps)"
command -v dpdk-testpmd >/dev/null || skip "dpdk-testpmd is not installed (dpdk-dev)"

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
r2() { awk -v a="$1" 'BEGIN {printf "%.2f", a}'; }
r2s() { local x out=; for x in "$@"; do out+="$(r2 "$x") "; done; echo "${out% }"; }

# ---- (a) packet rate
testpmd_mpps() {
	timeout -s INT 8 dpdk-testpmd --no-huge -m 1024 -l 0,1 --no-pci --no-telemetry \
		--no-shconf --vdev net_null0,no-rx=1 -- --forward-mode=txonly --txpkts=64 \
		--nb-cores=1 --total-num-mbufs=16384 --auto-start --stats-period 1 2>/dev/null |
		awk '/Tx-pps:/ && $2 > 0 {print $2 / 1e6}' | median
}

sim_up
"$XENSIM" exec "$H" "$DD" -- taskset -c 1 "$NETBACKD_SIM" --runtime-dir "$SIM_TMP/run" \
	--uplink net_null0,no-rx=1 2>>"$SIM_TMP/netbackd.log" &
NB_PID=$!
SIM_PIDS+=("$NB_PID")
wait_for 30 test -S "$SIM_TMP/run/netbackd.sock" || fail "netbackd-sim did not start"
G=$(sim_guest gp)
DG=$(vif_attach "$G" 00:16:3e:bb:00:01)
nb_rates=() c2c=()
for r in $(seq 1 "$ROUNDS"); do
	c2c+=("$("$BUILD/tests/bench/c2c" 0 1 || echo ?)")
	"$XENSIM" exec "$H" "$G" -- taskset -c 0 "$NETFRONT_SIM" --vif "$DG" --send "$FRAMES" \
		--to 00:16:3e:bb:00:99 --size 60 --flood --json --timeout 60 >"$SIM_TMP/pps.json" ||
		fail "packet-rate round $r"
	nb_rates+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tx_pps"] / 1e6)' \
		"$SIM_TMP/pps.json")")
done
tx=$(nb_counter "$G" "$DG" tx)
segs=$(nb_counter "$G" "$DG" copy-segs)
calls=$(nb_counter "$G" "$DG" copy-calls)
ntfy=$(nb_counter "$G" "$DG" notify)
batches=$(nb_counter "$G" "$DG" batches)
tp_rates=()
for r in $(seq 1 "$ROUNDS"); do tp_rates+=("$(testpmd_mpps)"); done
NB_MPPS=$(r2 "$(printf '%s\n' "${nb_rates[@]}" | median)")
TP_MPPS=$(r2 "$(printf '%s\n' "${tp_rates[@]}" | median)")

# ---- (c) idle CPU: every vif connected, nothing sent
NBP=$(pgrep -P "$NB_PID" | head -n 1)
IDLE=$(idle_pct "$NBP" 5)

# ---- (b) TCP
ns_guest a "$G" "$DG" 10.30.0.1/24
G2=$(sim_guest gq)
DG2=$(vif_attach "$G2" 00:16:3e:bb:00:02)
ns_guest b "$G2" "$DG2" 10.30.0.2/24
in_ns a ping -c 1 -W 5 10.30.0.2 >/dev/null || fail "ping a -> b"
iperf() {	# iperf SERVER-NS CLIENT-NS SERVER-IP: Gbit/s received
	local port=$((5201 + RANDOM % 500)) s
	ip netns exec "$1" iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
	s=$!
	wait_for 10 ip netns exec "$1" sh -c "ss -ltn | grep -q :$port" || fail "iperf3 server"
	ip netns exec "$2" iperf3 -c "$3" -p "$port" -t "$SECONDS_TCP" -J 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9)'
	wait "$s"
}
# veth reference between two fresh namespaces
ip netns add "${NS_PREFIX}v1" && SIM_CLEANUP+=("ip netns del ${NS_PREFIX}v1")
ip netns add "${NS_PREFIX}v2" && SIM_CLEANUP+=("ip netns del ${NS_PREFIX}v2")
ip link add vb0 netns "${NS_PREFIX}v1" type veth peer name vb1 netns "${NS_PREFIX}v2"
ip -n "${NS_PREFIX}v1" addr add 10.31.0.1/24 dev vb0 && ip -n "${NS_PREFIX}v1" link set vb0 up
ip -n "${NS_PREFIX}v2" addr add 10.31.0.2/24 dev vb1 && ip -n "${NS_PREFIX}v2" link set vb1 up
# (a) pinned netbackd to CPU 1 to measure one core. Here the two simulated guests, iperf3's
# two ends and netbackd share the machine's CPUs, as a user's netbackd does with no core of its
# own: unpinned (BENCH_TCP_PIN=1 keeps the pin). The rounds alternate with veth's, so that a
# machine whose speed drifts (a shared VM) moves both alike.
[ "${BENCH_TCP_PIN:-0}" = 1 ] || taskset -a -p -c "0-$(($(nproc) - 1))" "$NBP" >/dev/null ||
	fail "cannot unpin netbackd"
gg=() ve=()
for r in $(seq 1 "$ROUNDS"); do
	gg+=("$(iperf "${NS_PREFIX}b" "${NS_PREFIX}a" 10.30.0.2)")
	ve+=("$(iperf "${NS_PREFIX}v2" "${NS_PREFIX}v1" 10.31.0.2)")
done
GG=$(r2 "$(printf '%s\n' "${gg[@]}" | median)")
VE=$(r2 "$(printf '%s\n' "${ve[@]}" | median)")

# uplink_netbackd NS DEVARGS IFACE IP: netbackd-sim again, inside a new namespace NS with that
# uplink; the vif reattached, the uplink's kernel interface IFACE given IP/24, pinged.
uplink_netbackd() {
	netbackd_kill TERM
	ip netns add "$1" && SIM_CLEANUP+=("ip netns del $1")
	ip netns exec "$1" "$XENSIM" exec "$H" "$DD" -- "$NETBACKD_SIM" --runtime-dir "$SIM_TMP/run" \
		--uplink "$2" 2>>"$SIM_TMP/netbackd.log" &
	NB_PID=$!
	SIM_PIDS+=("$NB_PID")
	wait_for 30 nb_connected "$G" "$DG" || fail "vif not reattached by the $2 netbackd"
	ip -n "$1" addr add "$4/24" dev "$3" && ip -n "$1" link set "$3" up
	in_ns a ping -c 1 -W 5 "$4" >/dev/null || fail "ping guest -> $2"
}

# guest -> uplink: a second netbackd in a namespace, with a net_tap uplink
NSU=${NS_PREFIX}up
uplink_netbackd "$NSU" net_tap0,iface=nbup nbup 10.30.0.254
gu=() ug=()
for r in $(seq 1 "$ROUNDS"); do gu+=("$(iperf "$NSU" "${NS_PREFIX}a" 10.30.0.254)"); done
# The vif's copy-segs so far are its TX's (the ACKs coming back are few).
tcp_tx=$(nb_counter "$G" "$DG" tx)
tcp_segs=$(nb_counter "$G" "$DG" copy-segs)
for r in $(seq 1 "$ROUNDS"); do ug+=("$(iperf "${NS_PREFIX}a" "$NSU" 10.30.0.1)"); done
GU=$(r2 "$(printf '%s\n' "${gu[@]}" | median)")
UG=$(r2 "$(printf '%s\n' "${ug[@]}" | median)")
NBP=$(pgrep -P "$NB_PID" | head -n 1)
IDLE_TAP=$(idle_pct "$NBP" 5)
read -r gro_f gro_p <<<"$(nb_status |
	sed -n 's/^uplink net_tap0: .* gro-packets=\([0-9]*\) gro-frames=\([0-9]*\) .*/\2 \1/p')"

# guest <-> a tap: uplink (ktap.c): a third netbackd in another namespace
NSK=${NS_PREFIX}kt
uplink_netbackd "$NSK" tap:nbk nbk 10.30.0.253
ku=() uk=()
for r in $(seq 1 "$ROUNDS"); do
	ku+=("$(iperf "$NSK" "${NS_PREFIX}a" 10.30.0.253)")
	uk+=("$(iperf "${NS_PREFIX}a" "$NSK" 10.30.0.1)")
done
KU=$(r2 "$(printf '%s\n' "${ku[@]}" | median)")
UK=$(r2 "$(printf '%s\n' "${uk[@]}" | median)")
read -r kt_tx kt_txb kt_rx kt_rxb <<<"$(nb_status | sed -n \
	's/^uplink tap:nbk: .* rx=\([0-9]*\) rx-bytes=\([0-9]*\) tx=\([0-9]*\) tx-bytes=\([0-9]*\) .*/\3 \4 \1 \2/p')"
NBP=$(pgrep -P "$NB_PID" | head -n 1)
IDLE_KT=$(idle_pct "$NBP" 5)

echo
echo "net-bench $(date -u +%FT%TZ), $(nproc) CPUs, rounds $ROUNDS (medians), frames $FRAMES, TCP ${SECONDS_TCP}s"
printf '%-40s %10s %10s %8s   %s\n' case ddom reference ratio "rounds (ddom | reference)"
printf '%-40s %10s %10s %8s   %s | %s\n' "(a) 64 B guest->null, Mpps" "$NB_MPPS" "$TP_MPPS" \
	"$(ratio "$NB_MPPS" "$TP_MPPS")" "$(r2s "${nb_rates[@]}")" "$(r2s "${tp_rates[@]}")"
printf '%-40s %10s %10s %8s   %s | %s\n' "(b) TCP guest->guest, Gbit/s" "$GG" "$VE" \
	"$(ratio "$GG" "$VE")" "$(r2s "${gg[@]}")" "$(r2s "${ve[@]}")"
printf '%-40s %10s %10s %8s   %s | %s\n' "(b) TCP guest->uplink net_tap, Gbit/s" "$GU" "$VE" \
	"$(ratio "$GU" "$VE")" "$(r2s "${gu[@]}")" "$(r2s "${ve[@]}")"
printf '%-40s %10s %10s %8s   %s | %s\n' "(b) TCP uplink net_tap->guest, Gbit/s" "$UG" "$VE" \
	"$(ratio "$UG" "$VE")" "$(r2s "${ug[@]}")" "$(r2s "${ve[@]}")"
printf '%-40s %10s %10s %8s   %s | %s\n' "(b) TCP guest->uplink tap:, Gbit/s" "$KU" "$VE" \
	"$(ratio "$KU" "$VE")" "$(r2s "${ku[@]}")" "$(r2s "${ve[@]}")"
printf '%-40s %10s %10s %8s   %s | %s\n' "(b) TCP uplink tap:->guest, Gbit/s" "$UK" "$VE" \
	"$(ratio "$UK" "$VE")" "$(r2s "${uk[@]}")" "$(r2s "${ve[@]}")"
echo "(a) goal 5 Mpps per core: $(awk -v a="$NB_MPPS" 'BEGIN {print (a >= 5 ? "met" : "not met")}')"
echo "(a) CPU 0 <-> CPU 1 cache-line round trip before each round, ns: ${c2c[*]}"
echo "(c) 64 B run: $(ratio "$segs" "$tx") grant-copy segments and $(ratio "$calls" "$tx") copy calls per packet, $(ratio "$ntfy" "$batches") notifications per batch ($tx frames, $batches batches)"
echo "(c) TCP runs (guest->uplink netbackd): $(ratio "$tcp_segs" "$tcp_tx") grant-copy segments per guest TX packet"
echo "(c) TCP uplink->guest: $(ratio "${gro_f:-0}" "${gro_p:-0}") uplink frames per coalesced packet to the guest (GRO: ${gro_p:-0} packets of ${gro_f:-0} frames)"
echo "(c) TCP over the tap: uplink: $(ratio "${kt_txb:-0}" "${kt_tx:-0}") bytes per packet to the kernel, $(ratio "${kt_rxb:-0}" "${kt_rx:-0}") from it (GSO both ways)"
echo "(c) netbackd idle with vifs connected: ${IDLE}% of a CPU over 5 s with the net_null uplink (no RX interrupts: polled), ${IDLE_TAP}% with the net_tap uplink (RX interrupts), ${IDLE_KT}% with the tap: uplink"
