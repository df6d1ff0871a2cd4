#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xenhost: nic
#
# xenhost scenario 5a, net: netbackd (the shipped build, installed from the build tree, its
# config in /etc/ddom/netbackd.conf, `systemctl enable --now`) in the systemd driver domain
# serves two stock Linux guests' vifs (`backend=dd,script=vif-ddom,mac=...`, xen-netfront,
# 2 vCPUs each), guest to guest through netbackd's own switch; no uplink.
# Checked: both vifs Connected (backend and frontend), `netbackd --status` with what Linux
# netfront negotiated (printed, and the frontend's xenstore nodes beside it); ping both ways; a
# checksummed TCP transfer of MIB MiB both ways (tests/sim/tcpxfer.py); iperf3 both ways (the
# throughput figures); then netbackd killed with SIGKILL three times under one running
# transfer: systemd restarts it each time, it reattaches both vifs (the journal says
# "reattached" for each), every xenbus state stays 4, the last process carries the rest of the
# transfer and its checksum is right.
# Last, a guest's shutdown closes its vif and the daemon keeps running.
# Arguments: [MIB (64)] [IPERF_SECONDS (10)]. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

MIB=${XH_ARGS[0]:-64}
IPERF_S=${XH_ARGS[1]:-10}
MAC1=00:16:3e:00:00:41
MAC2=00:16:3e:00:00:42
IP1=10.31.0.1
IP2=10.31.0.2

xh_dd_start dd
# DPDK loads no driver directory that is writable by others, starting with / (eal_common_options.c).
xh_in dd 'stat -c "%a %U:%G %n" / /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0 &&
	ls -l /usr/sbin/netbackd /usr/lib/systemd/system/netbackd.service /etc/xen/scripts/vif-ddom &&
	ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0 | grep "\.so\.23$" | tr "\n" " "; echo;
	grep -o -w -m1 -e sse4_2 -e popcnt -e ssse3 /proc/cpuinfo | sort -u | tr "\n" " "; echo'
xh_in dd 'mkdir -p /etc/ddom &&
	printf "# xenhost net: vifs only, the defaults otherwise\nworkers = 1\n" >/etc/ddom/netbackd.conf &&
	echo "NETBACKD_OPTS=\"--config /etc/ddom/netbackd.conf\"" >/etc/default/netbackd'
xh_exec dd 'systemctl enable --now netbackd.service && systemctl is-active netbackd.service &&
	systemctl show -p MainPID,NRestarts,Type,StatusText netbackd.service' 300 ||
	xh_nb_fail "netbackd did not start"
xh_in dd 'journalctl -b -u netbackd.service -o cat --no-pager'

xh_guest_vif g1 $MAC1
xh_guest_vif g2 $MAC2
id1=$(xh_domid g1)
id2=$(xh_domid g2)

# Both ends of a guest's vif 0 Connected, or fail with the trees.
vif_connected() { # DOMID
	local fe=/local/domain/$1/device/vif/0 be
	be=$(xenstore-read "$fe/backend") || xh_fail "domain $1 has no vif 0"
	xh_wait_xs "$be/state" '^4$' 60 && xh_wait_xs "$fe/state" '^4$' 60 || {
		xenstore-ls -p "$be"
		xenstore-ls -p "$fe"
		xh_nb_fail "vif $1/0 did not reach Connected"
	}
}
xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
vif_connected "$id1"
vif_connected "$id2"
xh_log "what Linux netfront wrote (g1's frontend):"
xenstore-ls "/local/domain/$id1/device/vif/0" | grep -E 'feature|request|queues|ring-ref|event-channel'
xh_log "what netbackd offered (g1's backend):"
xenstore-ls "$(xenstore-read "/local/domain/$id1/device/vif/0/backend")" |
	grep -E 'feature|queues|hotplug-status|state'

status=$(xh_exec dd 'netbackd --status') || xh_nb_fail "netbackd --status failed"
echo "$status"
[ "$(grep -c '^vif .*: Connected' <<<"$status")" = 2 ] || xh_nb_fail "netbackd does not show 2 Connected vifs"

xh_in g1 "ping -c 3 -W 5 $IP2"
xh_in g2 "ping -c 3 -W 5 $IP1"

# xfer FROM TO TO-ADDRESS MIB PORT TAG: a checksummed transfer, in the background; xh_xfer_check
# TAG compares what was sent with what arrived. The sender retries its connect until the
# receiver listens (tcpxfer.py), so nothing waits for the listener here. --cheap: under TCG
# os.urandom and SHA-256 in Python are slower than the network (measured just below), so the
# data are windows into a 4 MiB random block and the checksum CRC-32.
xh_in g1 "python3 -c 'import hashlib, os, time, zlib
t = time.monotonic(); b = os.urandom(8 << 20); u = time.monotonic() - t
t = time.monotonic(); hashlib.sha256(b).digest(); h = time.monotonic() - t
t = time.monotonic(); zlib.crc32(b); c = time.monotonic() - t
print(\"in g1, MiB/s: os.urandom %.1f, sha256 %.1f, crc32 %.1f\" % (8 / u, 8 / h, 8 / c))'"
xfer() {
	xh_exec "$2" "python3 /xh/tcpxfer.py serve $5 --timeout 120 --cheap" 900 >"$XH_BOOT/$6.srv" 2>&1 &
	eval "XFER_SRV_$6=\$!"
	xh_exec "$1" "python3 /xh/tcpxfer.py send $3 $5 $4 --timeout 120 --cheap" 900 >"$XH_BOOT/$6.cli" 2>&1 &
	eval "XFER_CLI_$6=\$!"
}
xfer g1 g2 $IP2 "$MIB" 7001 g1_g2
xfer g2 g1 $IP1 "$MIB" 7002 g2_g1
xh_xfer_check g1_g2 "$MIB"
xh_xfer_check g2_g1 "$MIB"
xh_log "net: $MIB MiB each way at once, checksums equal"
xh_vif_irqs g1
xh_vif_irqs g2

# iperf3 both ways, one server in g2.
xh_iperf_server g2
r12=$(xh_iperf g1 $IP2 "$IPERF_S")
r21=$(xh_iperf g1 $IP2 "$IPERF_S" -R)
xh_log "iperf3: g1 -> g2 $r12 Mbit/s, g2 -> g1 $r21 Mbit/s"

# ---- restart: SIGKILL three times under one running transfer, sized from iperf3's rate to
# last about 180 s (16 MiB to 4 GiB); each kill comes once another sixth of it went through the
# daemon then running (its counter starts at 0), and waits for both vifs' reattach.
RMIB=$(awk -v r="$r12" 'BEGIN { m = int(r / 8 * 180); if (m < 16) m = 16; if (m > 4096) m = 4096; print m }')
xh_log "restart: $RMIB MiB from g1 to g2, netbackd killed three times under it"
xh_nb_txbytes_install
sent="nb-txbytes $id1"
xfer g1 g2 $IP2 "$RMIB" 7003 restart
for k in 1 2 3; do
	base=$(xh_exec dd "$sent")
	xh_exec dd "timeout 240 bash -c 'until [ \"\$($sent)\" -ge $((${base:-0} + RMIB * (1 << 20) / 6)) ] 2>/dev/null; do sleep 0.2; done' &&
		echo g1 has sent \$($sent) bytes through this netbackd" 300 ||
		xh_nb_fail "restart $k: a sixth of the transfer did not go through netbackd in 240 s"
	xh_kill_unit dd netbackd.service || xh_nb_fail "restart $k: netbackd was not restarted by systemd"
	xh_exec dd "timeout 120 bash -c 'until [ \$(journalctl -b -u netbackd.service -o cat |
		grep -c \": reattached,\") -ge $((2 * k)) ]; do sleep 0.2; done'" 180 ||
		xh_nb_fail "restart $k: the journal does not show both vifs reattached"
	for id in "$id1" "$id2"; do
		fe=/local/domain/$id/device/vif/0
		for p in "$fe/state" "$(xenstore-read "$fe/backend")/state"; do
			[ "$(xenstore-read "$p")" = 4 ] || xh_nb_fail "restart $k: $p is $(xenstore-read "$p"), not 4"
		done
	done
	xh_log "restart: kill -9 number $k, both vifs reattached, every state 4"
done
xh_xfer_check restart "$RMIB"
after=$(xh_exec dd "$sent")
xh_log "restart: the third new netbackd carried $after bytes of g1's transfer"
[ "${after:-0}" -ge $((1 << 20)) ] ||
	xh_nb_fail "restart: the transfer ended before the last kill (the new daemon carried ${after:-0} bytes)"
xh_in dd 'journalctl -b -u netbackd.service -o cat | grep -E ": (connected|reattached),|EAL:|signal|exit"'
status=$(xh_exec dd 'netbackd --status') || xh_nb_fail "netbackd --status failed after the restart"
echo "$status"
[ "$(grep -c '^vif .*: Connected.* reattaches=1' <<<"$status")" = 2 ] ||
	xh_nb_fail "restart: netbackd does not show both vifs Connected with reattaches=1"
for id in "$id1" "$id2"; do
	be=$(xenstore-read "/local/domain/$id/device/vif/0/backend")
	xenstore-read "$be/error" >/dev/null 2>&1 && xh_nb_fail "$be/error: $(xenstore-read "$be/error")"
done
xh_vif_irqs g1
xh_vif_irqs g2
xh_log "restart: PASS"

# A guest's shutdown closes its vif; the daemon serves on.
be2=$(xenstore-read "/local/domain/$id2/device/vif/0/backend")
xh_shutdown g2 120 || xh_nb_fail "g2 did not shut down"
xh_wait_xs "$be2/state" '^(6|<gone>)$' 60 || xh_nb_fail "g2's vif backend did not close"
xh_in dd 'systemctl is-active netbackd.service && netbackd --status | grep "^vif"'
xh_shutdown g1 120 || xh_nb_fail "g1 did not shut down"
xh_log "net: PASS"
