#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-ktap: a guest and a `tap:` uplink (netbackd's kernel TAP with the
# virtio-net header, ktap.c). The operator made the interface persistent
# (`ip tuntap add ... multi_queue vnet_hdr`) in a namespace ("up", the
# outside world) and gave it 10.14.0.254; netbackd-sim runs there with two
# workers (two queues) and `--uplink tap:nbk`. Ping both ways; a checksummed
# 128 MiB TCP transfer each way, which crosses the uplink as 64 KiB GSO
# packets (no segmentation or checksum in netbackd: asserted from the
# counters); a capture of it; then netbackd killed with SIGKILL twice during
# a 256 MiB transfer from the uplink's namespace: the interface keeps its
# address, the new netbackd attaches to it, and the transfer completes.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:01:1a
need_root_net
sim_up
A=$(sim_guest ga)
uplink_ns
ip -n "$NSU" tuntap add dev nbk mode tap multi_queue vnet_hdr || fail "ip tuntap add"
ip -n "$NSU" addr add 10.14.0.254/24 dev nbk || fail "address on nbk"
ip -n "$NSU" link set lo up
NETBACKD_WRAPPER="ip netns exec $NSU"
netbackd_start --uplink tap:nbk --workers 2
DA=$(vif_attach "$A" "$MAC_A")
ns_guest a "$A" "$DA" 10.14.0.1/24
in_ns a ping -c 3 -W 5 10.14.0.254 >&2 || fail "ping guest -> uplink"
in_ns up ping -c 3 -W 5 10.14.0.1 >&2 || fail "ping uplink -> guest"
nb_status | grep -q "^uplink tap:nbk: link=up mtu=1500 queues=2 .* driver=ddom_tap$" ||
	fail "the uplink is not listed as an up ddom_tap with 2 queues"

# uplink_counter NAME: that counter of the uplink's status line.
uplink_counter() {
	nb_status | sed -n "s/^uplink tap:nbk: .* $1=\([0-9]*\) .*/\1/p"
}

"$NETBACKD_SIM" --capture tap:nbk "$SIM_TMP/up.pcapng" --runtime-dir "$SIM_TMP/run" >&2 ||
	fail "--capture of the uplink refused"
tcp_bg a up 10.14.0.254 128
tcp_verify 128
"$NETBACKD_SIM" --capture tap:nbk off --runtime-dir "$SIM_TMP/run" >&2 || fail "capture off"
if command -v tshark >/dev/null; then
	out=$(tshark -r "$SIM_TMP/up.pcapng" -Y "tcp && ip.src == 10.14.0.1" 2>/dev/null | wc -l)
	say "uplink capture: $out TCP packets to the kernel"
	[ "$out" -gt 100 ] || fail "the uplink capture misses the transfer"
fi
# The guest's 64 KiB GSO packets reached the kernel whole, with their partial
# checksums: on average well over one MTU per write, nothing done in software.
tx=$(uplink_counter tx) txb=$(uplink_counter tx-bytes)
say "to the uplink: $tx packets, $txb bytes"
[ "${tx:-0}" -gt 0 ] && [ "$((txb / tx))" -gt 8000 ] || fail "the guest's GSO packets were cut up"
[ "$(uplink_counter sw-segmented)" = 0 ] && [ "$(uplink_counter sw-csum)" = 0 ] ||
	fail "netbackd segmented or checksummed for a tap: uplink"

tcp_bg up a 10.14.0.1 128
tcp_verify 128
rx=$(uplink_counter rx) rxb=$(uplink_counter rx-bytes)
say "from the uplink: $rx packets, $rxb bytes"
[ "${rx:-0}" -gt 0 ] && [ "$((rxb / rx))" -gt 8000 ] || fail "the kernel's GSO packets came cut up"
[ "$(uplink_counter rx-bad)" = 0 ] || fail "frames dropped as bad"
nb_status >&2

# progress N: the running daemon has delivered N more frames to the guest.
progress() {
	local n
	n=$(nb_counter "$A" "$DA" rx)
	[ -n "$n" ] && [ "$n" -ge "$1" ]
}
tcp_bg up a 10.14.0.1 256
for round in 1 2; do
	wait_for 60 progress 500 || fail "round $round: no traffic through netbackd"
	netbackd_kill KILL
	ip -n "$NSU" addr show dev nbk | grep -q "inet 10.14.0.254/24" ||
		fail "round $round: the interface lost its address with netbackd"
	netbackd_start --uplink tap:nbk --workers 2
	wait_for 30 nb_connected "$A" "$DA" || fail "round $round: vif $A/$DA not reattached"
	say "round $round: reattached after SIGKILL"
done
tcp_verify 256
grep -q "tap:nbk: kernel TAP with virtio-net header, 2 queue(s)" "$SIM_TMP/netbackd.log" ||
	fail "no log line for the tap: uplink"
sim_report
