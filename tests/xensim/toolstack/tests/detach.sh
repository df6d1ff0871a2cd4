#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Detach as libxl does. With a backend that answers (a tiny test backend in
# the driver domain that moves state 5 -> 6): online=0 and state=5 are
# written, the backend closes, the nodes go, exit 0. With a backend that never
# answers: after the timeout the nodes are removed anyway, with a warning,
# and the exit status is 1 as xl's.
. "$(dirname "$0")/lib.sh"
: "${TS_FAKE_BACKEND:?}"
dump() { "$XENSIM" dump "$TS_DIR" "$@"; }

run 0 "$XENSIM" up "$TS_DIR"
g=$("$XENSIM" create "$TS_DIR" guest)
dd=$("$XENSIM" create "$TS_DIR" dd --driver-domain)
be=/local/domain/$dd/backend/vbd/$g/51712

case ${1:-answer} in
answer)
	exec 3< <("$XENSIM" exec "$TS_DIR" dd -- "$TS_FAKE_BACKEND")
	read -r -t 10 -u 3 ready || fail "fake backend did not start"
	# --wait: as xl, block-attach returns once the backend is at InitWait
	run 0 "$XENSIM" block-attach "$TS_DIR" guest 'vdev=xvda,backend=dd,target=/srv/g.img' --wait
	[ "$(XENSTORED_PATH=$TS_DIR/xenstored/dom0.sock xenstore-read $be/state)" = 2 ] ||
		fail "backend not at InitWait after block-attach --wait"
	pass "block-attach --wait returns at InitWait"
	read -r -t 10 -u 3 line || fail "no initwait report"
	[ "$line" = "initwait $be online=1" ] || fail "fake backend saw: $line"
	run 0 "$XENSIM" block-detach "$TS_DIR" guest xvda
	grep -q warning <<<"$ERR" && fail "a detach the backend answered warned: $ERR"
	# the backend saw state 5 with online already 0 (one transaction)
	read -r -t 10 -u 3 line || fail "no closed report"
	[ "$line" = "closed $be online=0" ] || fail "fake backend saw: $line"
	run 1 dump $be
	run 1 dump /local/domain/$g/device/vbd/51712
	run 1 dump /libxl/$g/device/vbd/51712
	pass "detach with a backend that answers removes the nodes, exit 0"
	;;
timeout)
	run 0 "$XENSIM" block-attach "$TS_DIR" guest 'vdev=xvda,backend=dd,target=/srv/g.img'
	run 1 "$XENSIM" block-attach "$TS_DIR" guest 'vdev=xvdb,backend=dd,target=/srv/h.img' --wait
	grep -q "did not reach InitWait" <<<"$ERR" || fail "attach --wait timeout: $ERR"
	pass "block-attach --wait fails after libxl's 10 s when no backend answers"
	start=$SECONDS
	run 1 "$XENSIM" block-detach "$TS_DIR" guest xvda -t 2
	grep -q "did not reach Closed within 2 s; removing the device anyway" <<<"$ERR" ||
		fail "no timeout warning: $ERR"
	[ $((SECONDS - start)) -ge 1 ] || fail "detach did not wait for the backend"
	run 1 dump $be
	run 1 dump /local/domain/$g/device/vbd/51712
	run 1 dump /libxl/$g/device/vbd/51712
	pass "detach with a silent backend removes the nodes after the timeout, exit 1"
	;;
esac
