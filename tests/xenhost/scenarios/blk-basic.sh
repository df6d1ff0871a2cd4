#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 1, blk-basic: blkbackd (the shipped build, real ops, installed from the build
# tree and enabled with `systemctl enable --now`) in a systemd driver domain serves a
# file-backed disk, a block-device-backed disk and a read-only file to a stock Linux guest.
# Checked: every vbd reaches Connected; sizes and the read-only flag as the guest sees them;
# fio --verify=crc32c (randrw 4 KiB QD32, sequential 64 KiB) with zero errors; mkfs.ext4, files,
# sync, remount, checksums; block-detach and block-attach while the guest runs; a guest's
# shutdown closes its backends while the daemon keeps serving a second guest.
# Least privilege, as the package sets it up (ddom.sysusers, 60-ddom.rules, the unit): blkbackd
# runs as the user blkbackd with no capability, the Xen devices are group ddom's, both units'
# `systemd-analyze security` exposure is at most 2.0; a file outside the image directories is
# refused by block-ddom, and a disk nobody granted (the stock `block` script's loop device)
# cannot be opened by the daemon: the journal says so.
# Runs in dom0 under `xenhost run`; any failure exits 1 with the consoles' tails.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

MiB=$((1 << 20))
FILE_SIZE=$((512 * MiB))
RO_SIZE=$((64 * MiB))
DEV_SIZE=$((4096 * MiB))	# the driver domain's xvdd: the run's 4 GiB scratch1 image

xh_dd_start dd
dd=$(xh_domid dd)
xh_in dd "mkfs.ext4 -q /dev/xvdc && mkdir -p /srv && mount /dev/xvdc /srv &&
	truncate -s $FILE_SIZE /srv/disk0.img && truncate -s $RO_SIZE /srv/ro.img &&
	dd if=/dev/urandom of=/srv/ro.img bs=1M count=64 status=none && sha256sum /srv/ro.img &&
	truncate -s $FILE_SIZE /srv/disk2.img && ls -l /srv"
xh_in dd 'ls -l /usr/sbin/blkbackd /usr/lib/systemd/system/blkbackd.service /etc/xen/scripts/block-ddom'
xh_in dd 'systemctl enable --now blkbackd.service'
xh_in dd 'systemctl is-active blkbackd.service && systemctl show -p MainPID,NRestarts,Type blkbackd.service'
xh_in dd 'pid=$(systemctl show -p MainPID --value blkbackd.service) && ps -o user=,group=,args= -p $pid &&
	grep -E "^Cap(Inh|Prm|Eff|Amb)" /proc/$pid/status && ls -l /dev/xen/'
who=$(xh_exec dd 'ps -o user= -p $(systemctl show -p MainPID --value blkbackd.service)')
[ "$who" = blkbackd ] || xh_fail "blkbackd runs as '$who', not as the user blkbackd"
xh_exec dd 'grep -q "^CapEff:[[:space:]]*0*$" /proc/$(systemctl show -p MainPID --value blkbackd.service)/status' ||
	xh_fail "blkbackd has effective capabilities"
xh_exec dd 'stat -c %G /dev/xen/gntdev /dev/xen/evtchn /dev/xen/xenbus | sort -u | grep -qx ddom' ||
	xh_fail "the Xen devices are not group ddom's (60-ddom.rules)"
for u in blkbackd netbackd; do
	lvl=$(xh_exec dd "systemd-analyze security --no-pager $u.service 2>&1 | tail -n 1") ||
		xh_fail "systemd-analyze security $u.service"
	echo "$lvl"
	lvl=$(echo "$lvl" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	awk -v l="${lvl:-99}" 'BEGIN { exit !(l <= 2.0) }' || xh_fail "$u.service: exposure ${lvl:-?} above 2.0"
done

# Connected within the bound, or fail with the backend's and the guest's view.
wait_connected() { # GUEST VDEV...
	local g=$1 v be
	shift
	for v in "$@"; do
		be=$(xh_backend_path "$g" "$v") || xh_fail "$g has no frontend for $v"
		xh_wait_xs "$be/state" '^4$' 60 || {
			xenstore-ls -p "$be"
			xh_fail "$g's $v never reached Connected ($be)"
		}
		# blkfront reports Connected once the disk is added, so the guest has /dev/$v.
		xh_wait_xs "$(xenstore-read "$be/frontend")/state" '^4$' 60 ||
			xh_fail "$g's frontend of $v never reached Connected"
	done
}

spec() { # VDEV ACCESS TARGET
	echo "format=raw,vdev=$1,access=$2,backend=dd,script=block-ddom,target=$3"
}

xh_guest_start g1 2 "$(spec xvdc rw /srv/disk0.img)" "$(spec xvdd rw /dev/xvdd)" \
	"$(spec xvde ro /srv/ro.img)"
wait_connected g1 xvdc xvdd xvde
for v in xvdc xvdd xvde; do
	echo "== xenstore of g1's $v backend"
	xenstore-ls -p "$(xh_backend_path g1 $v)"
done

check_size() { # GUEST VDEV BYTES RO
	local got ro
	got=$(xh_exec "$1" "cat /sys/block/$2/size") || xh_fail "$1 cannot read $2's size"
	ro=$(xh_exec "$1" "cat /sys/block/$2/ro")
	echo "$1 sees $2: $got sectors, ro=$ro"
	[ "$got" = $(($3 / 512)) ] || xh_fail "$1 sees $2 as $got sectors, not $(($3 / 512))"
	[ "$ro" = "$4" ] || xh_fail "$1 sees $2 with ro=$ro, not $4"
}
check_size g1 xvdc $FILE_SIZE 0
check_size g1 xvdd $DEV_SIZE 0
check_size g1 xvde $RO_SIZE 1
xh_in g1 'dmesg | grep -i -E "blkfront|xvd" | tail -20'

# The read-only disk: its contents as the driver domain wrote them, and writes refused.
sum=$(xh_exec dd 'sha256sum < /srv/ro.img') || xh_fail "dd: sha256 of ro.img"
gsum=$(xh_exec g1 'sha256sum < /dev/xvde') || xh_fail "g1: cannot read xvde"
echo "ro.img: $sum in the driver domain, $gsum in the guest"
[ "$sum" = "$gsum" ] || xh_fail "g1 reads different data from the read-only disk"
if xh_exec g1 'dd if=/dev/zero of=/dev/xvde bs=4k count=1 oflag=direct status=none'; then
	xh_fail "a write to the read-only xvde succeeded"
fi
echo "a write to the read-only xvde was refused"

# fio with crc32c verification: any I/O or verify error makes fio exit non-zero.
fio_job() { # GUEST DEV NAME ARGS...
	local g=$1 dev=$2 name=$3
	shift 3
	xh_in "$g" "set -o pipefail; fio --name=$name --filename=$dev --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 $* --output-format=terse \
		--terse-version=3 | awk -F';' '{ printf \"%s: err=%s read %s KiB/s %s IOPS, \
write %s KiB/s %s IOPS\n\", \$3, \$5, \$7, \$8, \$48, \$49 }'" 900
}
for v in xvdc xvdd; do
	fio_job g1 /dev/$v randrw-4k-qd32-$v --rw=randrw --bs=4k --iodepth=32 --size=64M
	fio_job g1 /dev/$v seq-64k-$v --rw=write --bs=64k --iodepth=8 --size=128M
done

# A file system: files, sync, unmount, mount again, same checksums.
xh_in g1 'mkfs.ext4 -q -F /dev/xvdc && mkdir -p /mnt/c && mount /dev/xvdc /mnt/c &&
	for i in 1 2 3 4; do dd if=/dev/urandom of=/mnt/c/f$i bs=1M count=8 status=none; done &&
	(cd /mnt/c && sha256sum f1 f2 f3 f4 > /tmp/sums) && sync && umount /mnt/c &&
	echo 3 > /proc/sys/vm/drop_caches && mount /dev/xvdc /mnt/c &&
	(cd /mnt/c && sha256sum -c /tmp/sums) && umount /mnt/c'

# Detach and re-attach the block-device disk while the guest runs.
be=$(xh_backend_path g1 xvdd)
xh_in g1 'dd if=/dev/urandom of=/tmp/pat bs=1M count=4 status=none &&
	dd if=/tmp/pat of=/dev/xvdd bs=1M oflag=direct status=none && sha256sum /tmp/pat'
xh_log "xl block-detach g1 xvdd"
timeout 120 xl block-detach g1 xvdd || xh_fail "xl block-detach g1 xvdd"
xh_wait_xs "$be/state" '^<gone>$' 60 || xh_fail "the detached backend $be stayed"
xh_exec g1 'test ! -e /sys/block/xvdd' || xh_fail "g1 still has xvdd after detach"
xh_in dd 'systemctl is-active blkbackd.service'
xh_log "xl block-attach g1 xvdd"
timeout 120 xl block-attach g1 "$(spec xvdd rw /dev/xvdd)" || xh_fail "xl block-attach g1 xvdd"
wait_connected g1 xvdd
check_size g1 xvdd $DEV_SIZE 0
xh_in g1 'dd if=/dev/xvdd of=/tmp/back bs=1M count=4 iflag=direct status=none && cmp /tmp/pat /tmp/back &&
	echo "xvdd after re-attach: the data written before the detach reads back"'

# A second guest, then the first one's shutdown: its backends close, the second keeps going.
xh_guest_start g2 1 "$(spec xvdc rw /srv/disk2.img)"
wait_connected g2 xvdc
bes="$(xh_backend_path g1 xvdc) $(xh_backend_path g1 xvdd) $(xh_backend_path g1 xvde)"
xh_log "shutting g1 down"
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
for be in $bes; do
	# xl devd removes a backend directory only once the backend has reached Closed (6).
	xh_wait_xs "$be/state" '^(6|<gone>)$' 60 || xh_fail "$be did not close after g1's shutdown"
done
echo "g1's backends are closed and removed"
xh_in dd 'systemctl is-active blkbackd.service && systemctl show -p NRestarts blkbackd.service'
fio_job g2 /dev/xvdc after-g1-randrw --rw=randrw --bs=4k --iodepth=32 --size=32M
xh_in dd 'blkbackd --status 2>&1 | head -40'

# Outside the image directories: block-ddom refuses the file, naming them.
xh_in dd 'truncate -s 64M /root/outside.img && chmod 600 /root/outside.img'
# (xl block-attach returns once the backend's nodes are written: the driver domain's xl devd
# runs the script after; blkbackd closes a vbd whose script reported an error.)
timeout 120 xl block-attach g2 "$(spec xvdd rw /root/outside.img)"
xh_exec dd "timeout 60 bash -c 'until journalctl -b -t block-ddom |
	grep \"outside.img is outside the image directories\"; do sleep 1; done'" 90 ||
	xh_fail "block-ddom did not refuse /root/outside.img, or not by name"
be=$(xh_backend_path g2 xvdd) && xh_wait_xs "$be/state" '^(5|6|<gone>)$' 60 ||
	xh_fail "the refused vbd did not close"
xh_exec g2 'test ! -e /dev/xvdd' || xh_fail "g2 got a disk outside the image directories"
timeout 120 xl block-detach g2 xvdd
# A disk nobody granted: the stock `block` script puts the file on a loop device (root:disk);
# blkbackd, unprivileged, cannot open it and says so.
timeout 120 xl block-attach g2 "format=raw,vdev=xvde,access=rw,backend=dd,target=/root/outside.img"
xh_exec dd "timeout 60 bash -c 'until journalctl -b -u blkbackd.service |
	grep -E \"cannot open /dev/(loop[0-9]+|block/[0-9:]+): Permission denied\"; do sleep 1; done'" 90 ||
	xh_fail "blkbackd did not report a disk it may not open"
timeout 120 xl block-detach g2 xvde
xh_in dd 'systemctl is-active blkbackd.service'
fio_job g2 /dev/xvdc after-refusals --rw=randrw --bs=4k --iodepth=32 --size=16M
xh_shutdown g2 120 || xh_fail "g2 did not shut down"
xh_log "blk-basic: PASS"
