#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xenhost: debs
#
# xenhost scenario deb-upgrade: the appliance as an operator gets it. The driver domain has no
# ddom until the operator guide's section 2 installs the package (`apt-get install
# ./ddom_VERSION_amd64.deb`, offline: every dependency is in the root image) and its first
# steps start the daemons (`systemctl start blkbackd netbackd`, `ddomctl status`); then one
# stock guest gets a disk (`script=block-ddom`, a file in /srv) and a vif, a second guest a vif.
# Under load — fio's verified randrw (4 KiB, QD16, crc32c, 300 s x XENHOST_SCALE) on the disk, a
# checksummed TCP transfer g1 -> g2 through netbackd sized from iperf3's rate to last ~240 s —
# the newer package is installed over it (`apt-get install
# ./ddom_NEWVERSION_amd64.deb`): its postinst restarts both daemons into the new binaries
# (`--version` says so, new main PIDs, both users still theirs), each reattaches its devices
# (the journal says `reattached` for the vbd and both vifs), every xenbus state stays 4, the
# new daemons carry both loads on (their own counters), and both loads end verified.
# The packages come from tests/xenhost/make-debs (XENHOST_DEBS); run-scenario builds them for
# a scenario marked "# xenhost: debs" and passes their versions first.
# Arguments: OLD-VERSION NEW-VERSION. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

OLD=${XH_ARGS[0]:?old version}
NEW=${XH_ARGS[1]:?new version}
MAC1=00:16:3e:00:00:61
MAC2=00:16:3e:00:00:62
IP1=10.36.0.1
IP2=10.36.0.2

XH_DD_INSTALL=deb xh_dd_start dd
xh_exec dd 'test ! -e /usr/sbin/blkbackd && test ! -e /usr/sbin/netbackd' ||
	xh_fail "the driver domain has ddom before the package is installed"
xh_in dd "ls -l /xh/debs"
# Section 2, "From the package", word for word (in the directory holding the package).
xh_in dd "cd /xh/debs && apt-get install -y ./ddom_${OLD}_amd64.deb" 600
xh_in dd "dpkg -s ddom | grep -E '^(Status|Version):' && id blkbackd && id netbackd &&
	systemctl is-enabled blkbackd.service netbackd.service; ls -l /dev/xen/gntdev"
# "enabled, not started"
xh_exec dd 'systemctl is-active -q blkbackd.service || systemctl is-active -q netbackd.service' &&
	xh_fail "installing the package started a daemon"
# First steps 1-4: the kernel backends are blacklisted (xenhost's driver domain), the
# configuration is the package's own, start the daemons, ddomctl.
xh_in dd 'systemctl start blkbackd netbackd && ddomctl status' 300

xh_in dd "mkfs.ext4 -q /dev/xvdc && mkdir -p /srv && mount /dev/xvdc /srv && truncate -s 256M /srv/g1.img"
xh_guest_vif g1 $MAC1 "format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/srv/g1.img"
xh_guest_vif g2 $MAC2
xh_net_up g1 $MAC1 $IP1
xh_net_up g2 $MAC2 $IP2
xh_vif_connected g1
xh_vif_connected g2
vbd=$(xh_backend_path g1 xvdc) || xh_fail "g1 has no xvdc"
xh_wait_xs "$vbd/state" '^4$' 60 || xh_fail "g1's disk did not connect"
xh_in g1 "ping -c 2 -W 5 $IP2"

pids() { xh_exec dd 'for u in blkbackd netbackd; do systemctl show -p MainPID --value $u.service; done | paste -sd " "'; }
before=$(pids)
xh_log "old daemons: $before ($(xh_exec dd 'blkbackd --version; netbackd --version' | paste -sd ' '))"

# The loads, long enough to outlast the upgrade (apt-get took ~80 s under TCG): fio's verified
# randrw for 300 s x XH_SCALE (any verify or I/O error: exit 1), and a transfer sized from
# iperf3's rate for ~240 s (64 MiB to 2 GiB).
xh_iperf_server g2
rate=$(xh_iperf g1 $IP2 5)
MIB=$(awk -v r="$rate" 'BEGIN { m = int(r / 8 * 240); if (m < 64) m = 64; if (m > 2048) m = 2048; print m }')
xh_log "iperf3 g1 -> g2 $rate Mbit/s: $MIB MiB for the transfer"
runtime=$((300 * XH_SCALE))
xh_exec g1 "set -o pipefail; fio --name=upgrade --filename=/dev/xvdc --direct=1 --ioengine=libaio \
	--rw=randrw --bs=4k --iodepth=16 --size=64M --time_based --runtime=$runtime \
	--verify=crc32c --verify_fatal=1 --output-format=terse --terse-version=3 |
	awk -F';' '{ print \"fio err=\" \$5 }'" $((runtime + 600)) >"$XH_BOOT/fio.out" 2>&1 &
fio_pid=$!
xh_exec g2 "python3 /xh/tcpxfer.py serve 7301 --timeout 120 --cheap" 1800 >"$XH_BOOT/up.srv" 2>&1 &
XFER_SRV_up=$!
xh_exec g1 "python3 /xh/tcpxfer.py send $IP2 7301 $MIB --timeout 120 --cheap" 1800 >"$XH_BOOT/up.cli" 2>&1 &
XFER_CLI_up=$!
# Both under way: g1's vif has carried 8 MiB into the switch.
xh_nb_txbytes_install
id1=$(xh_domid g1)
xh_exec dd "timeout 240 bash -c 'until [ \"\$(nb-txbytes $id1)\" -ge 8388608 ] 2>/dev/null; do sleep 0.5; done'" 300 ||
	xh_nb_fail "the transfer did not start"

xh_log "installing ddom $NEW over $OLD while the loads run"
xh_in dd "cd /xh/debs && apt-get install -y ./ddom_${NEW}_amd64.deb" 900
after=$(pids)
xh_log "new daemons: $after"
xh_in dd "dpkg -s ddom | grep '^Version:'; blkbackd --version; netbackd --version"
xh_exec dd "dpkg -s ddom | grep -qx 'Version: $NEW' && blkbackd --version | grep -qF '$NEW' &&
	netbackd --version | grep -qF '$NEW'" || xh_fail "the new version is not the one installed and running"
for i in 1 2; do
	b=$(echo "$before" | cut -d' ' -f$i) a=$(echo "$after" | cut -d' ' -f$i)
	[ -n "$a" ] && [ "$a" != 0 ] && [ "$a" != "$b" ] ||
		xh_nb_fail "daemon $i was not restarted into the new binary (main PID $b, now $a)"
done
xh_in dd 'ps -o user=,args= -p $(systemctl show -p MainPID --value blkbackd.service) -p $(systemctl show -p MainPID --value netbackd.service)'
xh_exec dd "timeout 120 bash -c 'until journalctl -b -u blkbackd.service -o cat | grep -q \"reattached\" &&
	[ \$(journalctl -b -u netbackd.service -o cat | grep -c \": reattached,\") -ge 2 ]; do sleep 0.5; done'" 180 ||
	xh_nb_fail "the journal does not show the vbd and both vifs reattached"
xh_in dd 'journalctl -b -u blkbackd.service -u netbackd.service -o cat | grep -E "reattached|signal|version|refused" | tail -n 12'
# The new daemons carry the loads on: g1's vif sends 1 MiB more through the new netbackd, and the
# new blkbackd serves requests (their counters start at 0).
xh_exec dd "timeout 120 bash -c 'until [ \"\$(nb-txbytes $id1)\" -ge 1048576 ] 2>/dev/null; do sleep 0.5; done'" 180 ||
	xh_nb_fail "the transfer did not go on through the new netbackd (it ended before the upgrade?)"
served=$XH_BB_SERVED
xh_exec dd "timeout 120 bash -c 'until [ \$($served) -ge 100 ]; do sleep 0.5; done' && echo the new blkbackd served \$($served) requests" 180 ||
	xh_fail "fio's load did not go on through the new blkbackd (it ended before the upgrade?)"
for p in "$vbd/state" "$(xenstore-read "/local/domain/$(xh_domid g1)/device/vif/0/backend")/state" \
	"$(xenstore-read "/local/domain/$(xh_domid g2)/device/vif/0/backend")/state"; do
	[ "$(xenstore-read "$p")" = 4 ] || xh_nb_fail "after the upgrade $p is $(xenstore-read "$p"), not 4"
done

xh_xfer_check up "$MIB"
wait "$fio_pid" || { cat "$XH_BOOT/fio.out"; xh_fail "fio failed across the upgrade"; }
cat "$XH_BOOT/fio.out"
grep -qx "fio err=0" "$XH_BOOT/fio.out" || xh_fail "fio reported errors across the upgrade"
xh_log "deb-upgrade: $MIB MiB and $runtime s of fio verified across the upgrade"
xh_in dd 'ddomctl status'
xh_shutdown g2 120 || xh_nb_fail "g2 did not shut down"
xh_shutdown g1 120 || xh_nb_fail "g1 did not shut down"
xh_log "deb-upgrade: PASS"
