#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 5b, restart: blkbackd (systemd, Restart=on-failure) is killed with SIGKILL
# three times while a stock Linux guest runs a verified fio load on its disk (2 vCPUs, so
# blkfront has 2 queues). Each kill lands only after the daemon then running has served
# KILL_STEP requests (its --status), so I/O is in flight at every kill. The guest's load must
# finish with no error and every block verified, the vbd must stay Connected, the journal must
# show one "reattached:" per kill and some requests redone over all of them. Runs in dom0
# under `xenhost run`.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

KILLS=3
KILL_STEP=${KILL_STEP:-1500}

xh_dd_start dd
xh_in dd 'mkfs.ext4 -q /dev/xvdc && mkdir -p /srv && mount /dev/xvdc /srv &&
	truncate -s 256M /srv/r.img'
xh_in dd 'systemctl enable --now blkbackd.service && systemctl is-active blkbackd.service'
xh_guest_start g1 2 'format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/srv/r.img'
be=$(xh_backend_path g1 xvdc)
xh_wait_xs "$be/state" '^4$' 60 || xh_fail "xvdc never reached Connected"
# The load outlives the three kills: each kill waits for 1500 requests and a
# reattach, and under TCG on a busy host the commands to the driver domain
# alone took ~50 s a kill (CI, 2026-12-06: fio's 90 s ran out before the
# third kill). 150 s, times XH_SCALE (XENHOST_SCALE, 2 under meson).
runtime=$((150 * XH_SCALE))
xh_exec g1 'fio --name=during-restart --filename=/dev/xvdc --direct=1 --ioengine=libaio \
	--rw=randrw --bs=4k --iodepth=16 --size=64M --time_based --runtime='$runtime' \
	--verify=crc32c --verify_fatal=1' 900 >"$XH_BOOT/fio.out" 2>&1 &
fio=$!

# Requests (reads + writes) the running daemon has served, from its counters.
served=$XH_BB_SERVED
for ((k = 1; k <= KILLS; k++)); do
	xh_exec dd "timeout 120 bash -c 'until [ \$($served) -ge $KILL_STEP ]; do :; done' &&
		echo served \$($served) requests" ||
		xh_fail "kill $k: blkbackd did not serve $KILL_STEP requests within 120 s"
	xh_kill_unit dd blkbackd.service || xh_fail "kill $k: blkbackd was not restarted by systemd"
	xh_exec dd "timeout 60 bash -c 'until [ \$(journalctl -b -u blkbackd -o cat |
		grep -c reattached:) -ge $k ]; do :; done'" ||
		xh_fail "kill $k: no reattach in the journal"
	[ "$(xenstore-read "$be/state")" = 4 ] || xh_fail "kill $k: xvdc is no longer Connected"
done
wait "$fio" || { cat "$XH_BOOT/fio.out"; xh_fail "the guest's load failed across the restarts"; }
cat "$XH_BOOT/fio.out"
grep -q "err= 0" "$XH_BOOT/fio.out" || xh_fail "fio's summary does not say err= 0"
xh_in dd 'journalctl -b -u blkbackd -o cat | grep "reattached:"'
redone=$(xh_exec dd 'journalctl -b -u blkbackd -o cat |
	sed -n "s/.*reattached: \([0-9]*\) requests redone.*/\1/p" | awk "{ n += \$1 } END { print n + 0 }"')
xh_log "restart: $KILLS kills, $redone requests redone in all"
[ "${redone:-0}" -gt 0 ] || xh_fail "no request was in flight at any of $KILLS kills"
[ "$(xenstore-read "$be/state")" = 4 ] || xh_fail "xvdc is no longer Connected"
xenstore-read "$be/error" >/dev/null 2>&1 && xh_fail "error node: $(xenstore-read "$be/error")"
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
xh_log "restart: PASS"
