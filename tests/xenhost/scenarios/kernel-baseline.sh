#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario: the host itself, proven with Linux's own xen-blkback in the driver domain
# (the issue's measured baseline). A systemd driver domain running `xl devd` serves its raw
# scratch disk to a stock guest; the guest sees the size, writes and reads back a pattern.
# Runs in dom0 under `xenhost run`; fails when the host, the driver domain or the disk fail.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

xh_dd_start dd kernel-backends
xh_in dd 'modprobe xen-blkback && systemctl is-active xl-devd.service && uname -r'
xh_guest_start g1 1 'format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/dev/xvdd'
be=$(xh_backend_path g1 xvdc)
xh_log "backend of g1's xvdc: $be"
xenstore-ls -p "$be"
xh_wait_xs "$be/state" '^4$' 30 || xh_fail "xvdc never reached Connected"
size=$(xh_exec g1 'cat /sys/block/xvdc/size')
[ "$size" = $((4 << 21)) ] || xh_fail "g1 sees xvdc as $size sectors, not $((4 << 21))"
xh_log "g1 sees xvdc: $size sectors"
xh_in g1 'dd if=/dev/urandom of=/tmp/p bs=1M count=16 status=none &&
	dd if=/tmp/p of=/dev/xvdc bs=1M oflag=direct status=none &&
	dd if=/dev/xvdc of=/tmp/q bs=1M count=16 iflag=direct status=none && cmp /tmp/p /tmp/q &&
	echo "16 MiB written and read back through kernel blkback"'
xh_shutdown g1 || xh_fail "g1 did not shut down"
xh_wait_xs "$be/state" '^(6|<gone>)$' 30 || xh_fail "the backend did not close"
xh_log "baseline: PASS"
