#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 4, our-frontend: the project's user-space blkfront (built with the real
# seam: libxengntshr over /dev/xen/gntalloc, libxenevtchn, libxenstore) runs inside a real
# guest against blkbackd in the systemd driver domain: its verified load passes, and three of
# its hostile patterns get the answers tests/sim/blk-hostile.sh expects under xensim. The
# guest's kernel must leave the vbd alone: its xen bus stops autoprobing before the attach.
# Runs in dom0 under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

bf=$XH_BUILD/tests/frontends/blkfront
[ -x "$bf" ] || xh_fail "no real-ops blkfront at $bf (build the tree first)"
xh_dd_start dd
xh_in dd 'mkfs.ext4 -q /dev/xvdc && mkdir -p /srv && mount /dev/xvdc /srv &&
	truncate -s 128M /srv/uf.img'
xh_in dd 'systemctl enable --now blkbackd.service && systemctl is-active blkbackd.service'
mkdir -p "$XH_BOOT/bf"
cp "$bf" "$XH_BOOT/bf/blkfront"
xh_guest_start g1 2
# A guest's payload is fixed at boot: the binary comes on a second payload disk (a tar).
tar -C "$XH_BOOT/bf" -cf "$XH_BOOT/bf.tar" blkfront
timeout 120 xl block-attach g1 "format=raw,vdev=xvdz,access=ro,script=$XH_LIB/xh-block,target=$XH_BOOT/bf.tar" ||
	xh_fail "cannot attach the blkfront payload"
xh_wait_xs "/local/domain/$(xh_domid g1)/device/vbd/$(xh_vbd_devid xvdz)/state" '^4$' 60 ||
	xh_fail "the blkfront payload disk did not connect"
xh_in g1 'mkdir -p /xh/bin && tar -x -f /dev/xvdz -C /xh/bin && /xh/bin/blkfront --help | head -3'
xh_in g1 'modprobe xen-gntalloc && modprobe xen-evtchn && echo 0 > /sys/bus/xen/drivers_autoprobe &&
	ls -l /dev/xen/'
timeout 120 xl block-attach g1 'format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/srv/uf.img' ||
	xh_fail "block-attach xvdc for the user-space blkfront"
be=$(xh_backend_path g1 xvdc)
xh_wait_xs "$be/state" '^2$' 60 || xh_fail "blkbackd did not reach InitWait for xvdc"
xh_exec g1 'test ! -e /sys/block/xvdc' || xh_fail "the guest's kernel took xvdc"

run_bf() { # ARGS...: blkfront in the guest, JSON on stdout
	xh_in g1 "/xh/bin/blkfront --vdev xvdc --timeout 120 --json $*" 300
}
run_bf --rw randrw --bs 4k --iodepth 32 --size 64M --verify
run_bf --rw write --bs 64k --iodepth 8 --size 64M --verify
run_bf --hostile sector-past-end --expect error
run_bf --hostile unknown-op --expect eopnotsupp
run_bf --hostile bad-gref --expect error
xh_in dd 'systemctl is-active blkbackd.service && blkbackd --status'
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
xh_log "our-frontend: PASS"
