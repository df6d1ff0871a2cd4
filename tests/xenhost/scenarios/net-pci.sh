#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xenhost: nic
#
# xenhost scenario net-pci, the card's path: an HVM driver domain receives an e1000 NIC by PCI
# passthrough (xenhost's NIC topology: the NIC's wire leads to dom0's own e1000) and netbackd
# drives it with DPDK's own PMD (net_e1000_em) as its uplink, set up as the operator guide says:
# the NIC named in /etc/ddom/netbackd.conf, `systemctl daemon-reload` (netbackd-generator adds
# the helper that binds it to uio_pci_generic and reserves hugepages), `systemctl enable --now`.
# blkbackd serves a disk from the same driver domain.
# Checked: the NIC is bound and probed by the PMD, the daemon runs sandboxed (the generator's
# drop-in), two stock Linux guests' vifs Connected; ping guest <-> dom0 through the NIC and
# guest <-> guest through the switch; a checksummed TCP transfer of MIB MiB guest -> dom0 and
# dom0 -> guest; the guest's blkbackd disk verified by fio; netbackd killed with SIGKILL three
# times under one transfer to dom0: systemd restarts it each time, the helper has nothing left
# to do, the vifs reattach and the transfer completes with its checksum right. Both daemons
# run as their own users (netbackd with only its unit's and the PCI drop-in's capabilities).
# With the argument `pv`, the other path the operator guide gives: a PV driver domain gets the
# NIC the same way, its kernel's e1000 drives it, and netbackd's uplink is net_af_packet on that
# interface (no generator drop-in, no hugepages); the same checks.
# Arguments: [MIB (32)] [hvm|pv (hvm)]. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

MIB=${XH_ARGS[0]:-32}
MODE=${XH_ARGS[1]:-hvm}
MAC1=00:16:3e:00:00:51
MAC2=00:16:3e:00:00:52
IP0=10.33.0.254
IP1=10.33.0.1
IP2=10.33.0.2

[ -n "${XH_NIC_PT:-}" ] || xh_fail "no NIC topology (XENHOST_NIC=1 or the '# xenhost: nic' line)"
xh_log "dom0: Xen's IOMMU and the NICs"
xl info | grep -E '^(virt_caps|xen_commandline)'
xl pci-assignable-list
nic0=$(ls "/sys/bus/pci/devices/$XH_NIC_DOM0/net")
[ -n "$nic0" ] || xh_fail "dom0's NIC $XH_NIC_DOM0 has no interface"
ip link set dev "$nic0" up && ip addr add "$IP0/24" dev "$nic0" || xh_fail "dom0: $nic0 up"
ip -br addr show dev "$nic0"

case "$MODE" in
hvm) scratch=/dev/xvdg ;;
pv) scratch=/dev/xvdc ;;
*) xh_fail "mode '$MODE' is neither hvm nor pv" ;;
esac
XH_DD_TYPE=$MODE XH_DD_PCI=$XH_NIC_PT xh_dd_start dd
# The NIC as the driver domain sees it: the same device at the address qemu-xen (HVM) or
# pcifront (PV) gave it.
bdf=$(xh_exec dd 'lspci -D -n -d 8086:100e | cut -d" " -f1') || xh_nb_fail "lspci in the driver domain"
[ -n "$bdf" ] || xh_nb_fail "the driver domain has no e1000"
xh_in dd "lspci -D -k -s $bdf; ls /dev/xen; grep -i huge /proc/meminfo | head -3"
if [ "$MODE" = hvm ]; then
	up=$bdf drv=net_e1000_em
	uplink=$bdf
else
	# The kernel's e1000 has it (udev loads the module): its interface, up, no address.
	ifc=$(xh_exec dd "timeout 60 bash -c 'until ls /sys/bus/pci/devices/$bdf/net 2>/dev/null | grep -q .; do
		sleep 0.2; done' && ls /sys/bus/pci/devices/$bdf/net") || xh_nb_fail "no interface for $bdf"
	xh_in dd "ip link set dev $ifc up && ip -br link show dev $ifc"
	up=net_af_packet0 drv=net_af_packet
	uplink=net_af_packet0,iface=$ifc
fi
# The operator guide's steps, word for word: its section 7 (Install, from source: the example
# files), then "A passed-through NIC" (the uplink line, daemon-reload, enable --now).
xh_in dd "mkdir -p /etc/ddom && cp /usr/share/doc/ddom/netbackd.default /etc/default/netbackd &&
	cp /usr/share/doc/ddom/netbackd.conf.example /etc/ddom/netbackd.conf"
xh_in dd "lspci -D -nn | grep -i ethernet"
xh_in dd "echo 'uplink = $uplink' >> /etc/ddom/netbackd.conf"
xh_in dd "systemctl daemon-reload && { systemctl cat netbackd.service | grep -A8 '^# Written by netbackd-generator' ||
	echo 'no generated drop-in'; }"
xh_exec dd 'systemctl enable --now netbackd.service && systemctl is-active netbackd.service' 400 ||
	xh_nb_fail "netbackd did not start"
xh_in dd "journalctl -b -u netbackd.service -o cat --no-pager | grep -E 'netbackd-pci|EAL|uplink|port|net_af_packet' | head -n 30;
	lspci -D -k -s $bdf | grep 'in use'; grep -i huge /proc/meminfo | head -3"
# The NIC's link comes up a moment after the port starts (the PMD's link interrupt).
xh_exec dd "timeout 60 bash -c 'until netbackd --status | grep -q \"^uplink $up: link=up \"; do sleep 0.5; done'" 120 ||
	xh_nb_fail "the uplink's link did not come up"
status=$(xh_exec dd 'netbackd --status') || xh_nb_fail "netbackd --status failed"
echo "$status"
grep -q "^uplink $up: link=up .* driver=$drv\$" <<<"$status" || xh_nb_fail "the uplink is not up on $drv"
# Unprivileged: the user netbackd, with the unit's capabilities (and the PCI drop-in's).
xh_in dd 'pid=$(systemctl show -p MainPID --value netbackd.service) && ps -o user=,group= -p $pid &&
	grep -E "^Cap(Eff|Amb)" /proc/$pid/status && systemd-analyze security --no-pager netbackd.service | tail -n 1'
who=$(xh_exec dd 'ps -o user= -p $(systemctl show -p MainPID --value netbackd.service)')
[ "$who" = netbackd ] || xh_nb_fail "netbackd runs as '$who', not as the user netbackd"

# blkbackd beside it: a file-backed disk for g1.
xh_in dd "mkfs.ext4 -q $scratch && mkdir -p /srv && mount $scratch /srv &&
	truncate -s 256M /srv/g1.img && systemctl enable --now blkbackd.service &&
	systemctl is-active blkbackd.service"

xh_guest_vif g1 $MAC1 "format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/srv/g1.img"
xh_guest_vif g2 $MAC2
id1=$(xh_domid g1)
id2=$(xh_domid g2)
xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
for id in "$id1" "$id2"; do
	fe=/local/domain/$id/device/vif/0
	xh_wait_xs "$(xenstore-read "$fe/backend")/state" '^4$' 60 && xh_wait_xs "$fe/state" '^4$' 60 ||
		xh_nb_fail "vif $id/0 did not reach Connected"
done

xh_log "ping: guests <-> dom0 through the passed-through NIC, guest <-> guest through the switch"
xh_in g1 "ping -c 3 -W 5 $IP0"
xh_in g2 "ping -c 3 -W 5 $IP0"
ping -c 3 -W 5 "$IP1" || xh_nb_fail "dom0 cannot ping g1 through the NIC"
xh_in g1 "ping -c 3 -W 5 $IP2"
xh_in dd 'netbackd --status; netbackd --mac-table'

# Checksummed transfers between g1 and dom0 (tcpxfer.py: the sim suite's), both ways at once.
TX=$XH_SRC/tests/sim/tcpxfer.py
xfer_dom0() { # TAG MIB PORT DIRECTION(out|in)
	if [ "$4" = out ]; then
		timeout 900 python3 "$TX" serve "$3" --timeout 120 --cheap >"$XH_BOOT/$1.srv" 2>&1 &
		eval "XFER_SRV_$1=\$!"
		xh_exec g1 "python3 /xh/tcpxfer.py send $IP0 $3 $2 --timeout 120 --cheap" 900 >"$XH_BOOT/$1.cli" 2>&1 &
		eval "XFER_CLI_$1=\$!"
	else
		xh_exec g1 "python3 /xh/tcpxfer.py serve $3 --timeout 120 --cheap" 900 >"$XH_BOOT/$1.srv" 2>&1 &
		eval "XFER_SRV_$1=\$!"
		timeout 900 python3 "$TX" send "$IP1" "$3" "$2" --timeout 120 --cheap >"$XH_BOOT/$1.cli" 2>&1 &
		eval "XFER_CLI_$1=\$!"
	fi
}
xfer_dom0 to_dom0 "$MIB" 7101 out
xfer_dom0 from_dom0 "$MIB" 7102 in
xh_xfer_check to_dom0 "$MIB"
xh_xfer_check from_dom0 "$MIB"
xh_log "g1 <-> dom0: $MIB MiB each way through the passed-through NIC, checksums equal"

xh_in g1 "set -o pipefail; fio --name=v --filename=/dev/xvdc --direct=1 --ioengine=libaio \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --rw=randrw --bs=4k --iodepth=16 --size=64M \
	--output-format=terse --terse-version=3 | awk -F';' '{ print \"fio err=\" \$5 }'" 600

# kill -9 three times under a transfer to dom0: each time the unit's ExecStartPre helper finds
# the NIC bound and the hugepages free, the new daemon reattaches both vifs and carries on; the
# transfer completes with its checksum.
# nb-uptx BDF in the driver domain: the bytes netbackd has sent out of that NIC, as counted by
# the daemon now running.
cat >"$XH_BOOT/nb-uptx" <<'EOS'
#!/bin/sh
netbackd --status | awk -v u="uplink $1:" '$1 " " $2 == u {
	for (i = 3; i <= NF; i++) if ($i ~ /^tx-bytes=/) { sub(/^tx-bytes=/, "", $i); print $i; exit } }'
EOS
xh_in dd "echo $(base64 -w0 "$XH_BOOT/nb-uptx") | base64 -d >/usr/local/bin/nb-uptx &&
	chmod 755 /usr/local/bin/nb-uptx && nb-uptx $up"
# Three kills, each once another 8 MiB went out of the NIC (counted by the daemon then
# running), each followed by both vifs' reattach in the journal. The transfer must outlast
# them: the stream goes on while dom0 waits for the journal (35 MB went out during one such
# wait on 2026-12-07, and a 128 MiB transfer with 24 MiB steps ended before the third kill).
RMIB=384
xfer_dom0 restart $RMIB 7103 out
for k in 1 2 3; do
	kill -0 "$XFER_CLI_restart" 2>/dev/null ||
		xh_nb_fail "restart $k: the $RMIB MiB transfer ended before the kill (make it larger)"
	base=$(xh_exec dd "nb-uptx $up")
	xh_exec dd "timeout 240 bash -c 'until [ \"\$(nb-uptx $up)\" -ge $((${base:-0} + (8 << 20))) ] 2>/dev/null; do sleep 0.2; done'" 300 ||
		xh_nb_fail "restart $k: 8 MiB more did not go out of the NIC in 240 s"
	xh_kill_unit dd netbackd.service || xh_nb_fail "restart $k: netbackd was not restarted by systemd"
	xh_exec dd "timeout 120 bash -c 'until [ \$(journalctl -b -u netbackd.service -o cat |
		grep -c \": reattached,\") -ge $((2 * k)) ]; do sleep 0.2; done'" 180 ||
		xh_nb_fail "restart $k: the journal does not show both vifs reattached"
	xh_log "kill -9 number $k: both vifs reattached"
done
xh_xfer_check restart $RMIB
xh_in dd 'journalctl -b -u netbackd.service -o cat | grep -E "netbackd-pci|reattached|signal" | tail -n 12;
	netbackd --status | grep -o -E "^vif [0-9/]+|replayed=[0-9]+|restored=[0-9]+" | paste -sd " "'
xh_in g1 "ping -c 2 -W 5 $IP0"
xh_shutdown g2 120 || xh_nb_fail "g2 did not shut down"
xh_shutdown g1 120 || xh_nb_fail "g1 did not shut down"
xh_in dd 'systemctl is-active netbackd.service blkbackd.service'
xh_log "net-pci: PASS"
