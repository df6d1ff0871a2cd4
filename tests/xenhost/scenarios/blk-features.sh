#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 2, blk-features: what Linux blkfront negotiates with blkbackd, read from
# xenstore and from the guest (2 vCPUs, blkfront's max_ring_page_order=4): indirect segments,
# persistent grants, multi-queue, multi-page ring, flush (fsync reaches the store: blkbackd's
# flush counter), discard (blkdiscard punches a hole in the backing file), online resize (the
# file grows, `systemctl reload blkbackd`, the guest sees the new size without a detach) and
# access=ro (writes refused). Runs in dom0 under `xenhost run`; fails on any mismatch.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

MiB=$((1 << 20))
xh_dd_start dd
xh_in dd "mkfs.ext4 -q /dev/xvdc && mkdir -p /srv && mount /dev/xvdc /srv &&
	truncate -s $((256 * MiB)) /srv/f.img && truncate -s $((64 * MiB)) /srv/ro.img"
xh_in dd 'systemctl enable --now blkbackd.service && systemctl is-active blkbackd.service'
# Linux blkfront with persistent grants preallocates a bounce page for every grant a queue
# can hold: (32 segments + 1 indirect page) x 512 requests of a 16-page ring, 66 MiB per
# queue, 132 MiB per disk with 2 queues, for each of the 4 disks (root and payload too).
# With 512 MiB the guest's xen-blkfront never finished probing (xvdd never connected).
XH_GUEST_MEM=1024 XH_GUEST_EXTRA="xen_blkfront.max_ring_page_order=4" xh_guest_start g1 2 \
	'format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/srv/f.img' \
	'format=raw,vdev=xvdd,access=ro,backend=dd,script=block-ddom,target=/srv/ro.img'
be=$(xh_backend_path g1 xvdc)
fe=$(xenstore-read "$be/frontend")
xh_wait_xs "$be/state" '^4$' 60 || xh_fail "xvdc never reached Connected"
xh_wait_xs "$fe/state" '^4$' 60 || xh_fail "g1's xvdc frontend never reached Connected"
echo "== backend $be"
xenstore-ls -p "$be"
echo "== frontend $fe"
xenstore-ls -p "$fe"

node() { xenstore-read "$1" 2>/dev/null || echo "<absent>"; }
expect() { # WHAT GOT REGEX
	if [[ $2 =~ $3 ]]; then
		echo "ok: $1 = $2"
	else
		xh_fail "$1 = $2, expected /$3/"
	fi
}
expect "backend feature-max-indirect-segments" "$(node "$be/feature-max-indirect-segments")" '^[1-9][0-9]+$'
expect "backend feature-persistent" "$(node "$be/feature-persistent")" '^1$'
expect "frontend feature-persistent" "$(node "$fe/feature-persistent")" '^1$'
expect "backend multi-queue-max-queues" "$(node "$be/multi-queue-max-queues")" '^([2-9]|[1-9][0-9])$'
expect "frontend multi-queue-num-queues" "$(node "$fe/multi-queue-num-queues")" '^2$'
expect "backend max-ring-page-order" "$(node "$be/max-ring-page-order")" '^[1-9]$'
expect "frontend ring-page-order" "$(node "$fe/ring-page-order")" '^[1-9]$'
expect "backend feature-flush-cache" "$(node "$be/feature-flush-cache")" '^1$'
expect "backend feature-discard" "$(node "$be/feature-discard")" '^1$'
expect "guest hardware queues" "$(xh_exec g1 'ls /sys/block/xvdc/mq | wc -l')" '^2$'
expect "guest max_segments (indirect)" "$(xh_exec g1 'cat /sys/block/xvdc/queue/max_segments')" \
	'^([2-9][0-9]|[1-9][0-9][0-9]+)$'
expect "guest discard_max_bytes" "$(xh_exec g1 'cat /sys/block/xvdc/queue/discard_max_bytes')" '^[1-9]'

# Flush: an fsync from the guest reaches the store (the daemon's flush counter moves), is
# answered OK (no bad request), and the guest keeps its write cache on: Linux blkfront turns
# flushes off for good when an empty flush fails ("empty flush op failed").
counter() { # NAME: blkbackd's counter NAME for /srv/f.img
	xh_exec dd 'blkbackd --status' | grep -A1 "/srv/f.img" | grep -o " $1=[0-9]*" | cut -d= -f2
}
f0=$(counter flush)
b0=$(counter bad-requests)
xh_in g1 'dd if=/dev/urandom of=/dev/xvdc bs=1M count=8 conv=fsync status=none && echo written with fsync'
f1=$(counter flush)
b1=$(counter bad-requests)
echo "blkbackd flush counter: $f0 -> $f1, bad requests: $b0 -> $b1"
[ -n "$f1" ] && [ "${f1:-0}" -gt "${f0:-0}" ] || xh_fail "the guest's fsync did not reach blkbackd as a flush"
[ "$b1" = "$b0" ] || xh_fail "blkbackd refused the guest's flush as a bad request"
expect "guest xvdc write_cache after fsync" "$(xh_exec g1 'cat /sys/block/xvdc/queue/write_cache')" \
	'^write back$'

# Discard: fill, then blkdiscard the whole disk, and the backing file's blocks are freed.
xh_in g1 'dd if=/dev/urandom of=/dev/xvdc bs=1M count=64 oflag=direct status=none && echo filled'
k0=$(xh_exec dd 'du -k /srv/f.img | cut -f1')
xh_in g1 'blkdiscard /dev/xvdc && echo discarded'
k1=$(xh_exec dd 'du -k /srv/f.img | cut -f1')
echo "backing file: $k0 KiB allocated before blkdiscard, $k1 KiB after"
[ "$k1" -lt "$((k0 / 2))" ] || xh_fail "blkdiscard did not punch the backing file ($k0 -> $k1 KiB)"

# Online resize: grow the file, reload the daemon, the guest sees it without a detach.
xh_in dd "truncate -s $((384 * MiB)) /srv/f.img && systemctl reload blkbackd.service"
xh_wait_xs "$be/sectors" "^$((384 * MiB / 512))\$" 60 || xh_fail "sectors did not follow the resize"
got=0
for _ in 1 2 3; do
	# blkfront re-reads `sectors` when the backend rewrites `state`, on its own xenbus thread;
	# each try is a full round trip to the guest, three at most.
	got=$(xh_exec g1 'cat /sys/block/xvdc/size')
	[ "$got" = $((384 * MiB / 512)) ] && break
done
[ "$got" = $((384 * MiB / 512)) ] || xh_fail "g1 sees xvdc as $got sectors after the resize"
echo "ok: g1 sees the resized xvdc: $got sectors"

# access=ro: the guest's kernel marks the disk read-only and a write fails.
expect "guest xvdd ro" "$(xh_exec g1 'cat /sys/block/xvdd/ro')" '^1$'
if xh_exec g1 'dd if=/dev/zero of=/dev/xvdd bs=4k count=1 oflag=direct status=none'; then
	xh_fail "a write to the read-only xvdd succeeded"
fi
echo "ok: a write to the read-only xvdd was refused"
xh_in dd 'blkbackd --status'
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
xh_log "blk-features: PASS"
