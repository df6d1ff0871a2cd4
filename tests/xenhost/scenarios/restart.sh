#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 5b, restart (a slot, run by hand until blkbackd re-attaches live devices):
# blkbackd is killed with SIGKILL while a stock guest runs a verified fio load on its disk;
# systemd restarts it (Restart=on-failure) and the guest's load must finish with no error and
# the vbd must stay Connected. Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

xh_dd_start dd
xh_in dd 'mkfs.ext4 -q /dev/xvdc && mkdir -p /srv && mount /dev/xvdc /srv &&
	truncate -s 256M /srv/r.img'
xh_in dd 'systemctl enable --now blkbackd.service && systemctl is-active blkbackd.service'
xh_guest_start g1 2 'format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/srv/r.img'
be=$(xh_backend_path g1 xvdc)
xh_wait_xs "$be/state" '^4$' 60 || xh_fail "xvdc never reached Connected"
xh_exec g1 'fio --name=during-restart --filename=/dev/xvdc --direct=1 --ioengine=libaio \
	--rw=randrw --bs=4k --iodepth=16 --size=64M --time_based --runtime=60 \
	--verify=crc32c --verify_fatal=1' 600 >"$XH_BOOT/fio.out" 2>&1 &
fio=$!
xh_wait_xs "$be/state" '^4$' 10 >/dev/null
xh_kill_unit dd blkbackd.service || xh_fail "blkbackd was not restarted by systemd"
wait "$fio" || { cat "$XH_BOOT/fio.out"; xh_fail "the guest's load failed across the restart"; }
cat "$XH_BOOT/fio.out"
[ "$(xenstore-read "$be/state")" = 4 ] || xh_fail "xvdc is no longer Connected"
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
xh_log "restart: PASS"
