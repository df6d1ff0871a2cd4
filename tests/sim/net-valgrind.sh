#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-valgrind: netbackd-sim under valgrind's memcheck serves what guests
# can send: verified frames of 60..9000 bytes (multi-slot chains) between two
# guests with 2 queues each, broadcast flooded to both (shared chains),
# hostile requests (a runt, answered ERROR; a fragment crossing its page,
# which closes that vif), and a SIGTERM. netbackd runs in a namespace with a
# tap: uplink (ktap.c), which the flooded frames go out by and ARP requests
# from the namespace come in by. Memcheck must report no error
# (invalid access, uninitialised value used, bad free) and no definitely
# lost block of netbackd's own (tests/sim/net-valgrind.supp names DPDK's
# plugin constructors); the daemon must exit cleanly.
. "$(dirname "$0")/net-lib.sh"

command -v valgrind >/dev/null || fail "valgrind is not installed (make deps installs it)"
VG_LOG=$SIM_TMP/valgrind.log
need_root_net
uplink_ns
ip -n "$NSU" tuntap add dev nbv mode tap vnet_hdr || fail "ip tuntap add"
ip -n "$NSU" addr add 10.15.0.254/24 dev nbv || fail "address on nbv"
NETBACKD_WRAPPER="ip netns exec $NSU valgrind --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no
	--suppressions=$(dirname "$0")/net-valgrind.supp --log-file=$VG_LOG"
NF_TIMEOUT=120
MAC_A=00:16:3e:00:04:0a
MAC_B=00:16:3e:00:04:0b
MAC_X=00:16:3e:00:04:0e

sim_up
A=$(sim_guest ga)
B=$(sim_guest gb)
X=$(sim_guest attacker)
# Polling would spin under valgrind's one-thread-at-a-time scheduler.
netbackd_start --poll-us 0 --uplink tap:nbv
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")
nf_bg "$SIM_TMP/recv.json" "$B" "$DB" --recv 2000 --from "$MAC_A" --queues 2
wait_for 120 nb_connected "$B" "$DB" || fail "vif $B/$DB never connected"
nf "$A" "$DA" --send 2000 --to "$MAC_B" --size 60-9000 --oversize --pps 2000 --queues 2 ||
	fail "sender"
nf_wait "$NF_PID" "$SIM_TMP/recv.json" "receiver"
jtrue 'd["received"] == 2000 and d["lost"] == 0 and d["corrupted"] == 0' "$SIM_TMP/recv.json" ||
	fail "frames lost or corrupted under valgrind"
nf_bg "$SIM_TMP/recv.json" "$B" "$DB" --recv 500 --from "$MAC_A"
wait_for 120 nb_connected "$B" "$DB" || fail "vif $B/$DB never reconnected"
nf "$A" "$DA" --send 500 --to ff:ff:ff:ff:ff:ff --size 60-9000 --oversize --pps 2000 ||
	fail "broadcast sender"
nf_wait "$NF_PID" "$SIM_TMP/recv.json" "broadcast receiver"
# ARP requests from the uplink's side (nobody answers), flooded to the vifs.
ip netns exec "$NSU" ping -c 3 -i 0.2 -W 1 10.15.0.1 >/dev/null 2>&1
up_rx=$(nb_status | sed -n 's/^uplink tap:nbv: .* rx=\([0-9]*\) .* tx=\([0-9]*\) .*/\1 \2/p')
read -r urx utx <<<"$up_rx"
say "tap: uplink: rx=${urx:-?} tx=${utx:-?}"
[ "${urx:-0}" -ge 1 ] && [ "${utx:-0}" -ge 500 ] || fail "the tap: uplink saw no traffic ('$up_rx')"
DX=$(vif_attach "$X" "$MAC_X")
nf "$X" "$DX" --hostile runt --expect dropped || fail "runt not answered ERROR"
DX2=$(vif_attach "$X" 00:16:3e:00:04:0f)
nf "$X" "$DX2" --hostile cross-page --expect closed || fail "cross-page did not close the vif"
netbackd_kill TERM
cat "$VG_LOG" >&2
[ "$NB_RC" = 0 ] || fail "netbackd-sim under memcheck exited $NB_RC (99: memcheck errors)"
grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG" || fail "memcheck reported errors"
