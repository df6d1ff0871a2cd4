#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# hotplug/block-ddom under xensim: `add` on a file writes
# physical-device-path and hotplug-status=connected; a second guest asking
# for the same file read-write is refused with hotplug-status=error and a
# reason; a missing target is refused; read-only sharing is allowed;
# `remove` cleans up. Usage: test-hotplug.sh XENSIM SCRIPT
set -u
XENSIM=$1
SCRIPT=$2
. "$(dirname "$0")/../tap.sh"
tap_init blk-hotplug "$XENSIM"


xs() {
	"$XENSIM" exec "$D" dd -- xenstore-read "$1" 2>/dev/null
}

run() {	# run GUEST add|remove
	"$XENSIM" exec "$D" dd -- env XENBUS_PATH="/local/domain/$dd/backend/vbd/$1/51712" \
		DDOM_BLOCK_LOCK="$D/lock" "$SCRIPT" "$2" 2>>"$D/script.log"
}

"$XENSIM" up "$D" >/dev/null || { echo "Bail out! xensim up"; exit 1; }
dd=$("$XENSIM" create "$D" dd --driver-domain) || exit 1
g1=$("$XENSIM" create "$D" g1) || exit 1
g2=$("$XENSIM" create "$D" g2) || exit 1
g3=$("$XENSIM" create "$D" g3) || exit 1
g4=$("$XENSIM" create "$D" g4) || exit 1
truncate -s 1M "$D/a.img" "$D/b.img"
attach() {	# attach GUEST ACCESS TARGET
	"$XENSIM" block-attach "$D" "$1" \
		"vdev=xvda,access=$2,backend=dd,script=$SCRIPT,target=$3" >/dev/null
}

attach g1 rw "$D/a.img"
run "$g1" add
ok $? "add a file"
[ "$(xs "/local/domain/$dd/backend/vbd/$g1/51712/hotplug-status")" = connected ]
ok $? "hotplug-status connected"
[ "$(xs "/local/domain/$dd/backend/vbd/$g1/51712/physical-device-path")" = "$D/a.img" ]
ok $? "physical-device-path names the file"

attach g2 rw "$D/a.img"
run "$g2" add
[ $? != 0 ]
ok $? "a second read-write user of the same file is refused"
[ "$(xs "/local/domain/$dd/backend/vbd/$g2/51712/hotplug-status")" = error ]
ok $? "hotplug-status error"
xs "/local/domain/$dd/backend/vbd/$g2/51712/hotplug-error" | grep -q "in use"
ok $? "hotplug-error says why"

attach g3 ro "$D/b.img"
run "$g3" add
ok $? "read-only user of b.img"
attach g4 ro "$D/b.img"
run "$g4" add
ok $? "a second read-only user of b.img is allowed"

"$XENSIM" block-attach "$D" g2 "vdev=xvdb,access=rw,backend=dd,script=$SCRIPT,target=$D/none.img" \
	>/dev/null 2>&1
"$XENSIM" exec "$D" dd -- env XENBUS_PATH="/local/domain/$dd/backend/vbd/$g2/51728" \
	DDOM_BLOCK_LOCK="$D/lock" "$SCRIPT" add 2>>"$D/script.log"
[ $? != 0 ]
ok $? "a missing target is refused"

run "$g1" remove
ok $? "remove"
[ -z "$(xs "/local/domain/$dd/backend/vbd/$g1/51712/physical-device-path")" ]
ok $? "remove clears physical-device-path"

"$XENSIM" exec "$D" dd -- env -u XENBUS_PATH "$SCRIPT" add 2>/dev/null
[ $? = 2 ]
ok $? "no XENBUS_PATH: usage error"

echo "1..$n"
[ $fails = 0 ] || { sed 's/^/# /' "$D/script.log"; exit 1; }
exit 0
