#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# hotplug/block-ddom under xensim: `add` on a file writes
# physical-device-path and hotplug-status=connected; a second guest asking
# for the same file read-write is refused with hotplug-status=error and a
# reason; a missing target is refused; read-only sharing is allowed;
# `remove` cleans up. A file outside the image directories
# (BLKBACKD_IMAGE_DIRS) is refused by name; a target is given to blkbackd's
# user by an ACL (rw, or r for read-only; search permission on the
# directories above it) and taken back on remove when no other vbd has it
# (the user here: nobody, DDOM_BLOCK_USER).
# Usage: test-hotplug.sh XENSIM SCRIPT
set -u
XENSIM=$1
SCRIPT=$2
. "$(dirname "$0")/../tap.sh"
tap_init blk-hotplug "$XENSIM"


xs() {
	"$XENSIM" exec "$D" dd -- xenstore-read "$1" 2>/dev/null
}

run() {	# run GUEST add|remove [DEVID]
	"$XENSIM" exec "$D" dd -- env XENBUS_PATH="/local/domain/$dd/backend/vbd/$1/${3:-51712}" \
		DDOM_BLOCK_LOCK="$D/lock" DDOM_BLOCK_DEFAULTS="$D/defaults" DDOM_BLOCK_USER=nobody \
		"$SCRIPT" "$2" 2>>"$D/script.log"
}
# acl FILE: blkbackd's user's entry in FILE's ACL ("rw-", "r--", "--x" or nothing).
acl() {
	getfacl -cp "$1" 2>/dev/null | sed -n 's/^user:nobody:\(...\).*/\1/p'
}

"$XENSIM" up "$D" >/dev/null || { echo "Bail out! xensim up"; exit 1; }
dd=$("$XENSIM" create "$D" dd --driver-domain) || exit 1
g1=$("$XENSIM" create "$D" g1) || exit 1
g2=$("$XENSIM" create "$D" g2) || exit 1
g3=$("$XENSIM" create "$D" g3) || exit 1
g4=$("$XENSIM" create "$D" g4) || exit 1
mkdir -p "$D/images/sub" "$D/elsewhere"
echo "BLKBACKD_IMAGE_DIRS=\"/nonexistent $D/images\"" >"$D/defaults"
truncate -s 1M "$D/images/a.img" "$D/images/sub/b.img" "$D/elsewhere/c.img"
ln -s "$D/elsewhere/c.img" "$D/images/link.img"
attach() {	# attach GUEST ACCESS TARGET
	"$XENSIM" block-attach "$D" "$1" \
		"vdev=xvda,access=$2,backend=dd,script=$SCRIPT,target=$3" >/dev/null
}

attach g1 rw "$D/images/a.img"
run "$g1" add
ok $? "add a file"
[ "$(xs "/local/domain/$dd/backend/vbd/$g1/51712/hotplug-status")" = connected ]
ok $? "hotplug-status connected"
[ "$(xs "/local/domain/$dd/backend/vbd/$g1/51712/physical-device-path")" = "$D/images/a.img" ]
ok $? "physical-device-path names the file"
[ "$(acl "$D/images/a.img")" = rw- ] && [ "$(acl "$D/images")" = --x ]
ok $? "the file given to blkbackd's user (rw-), its image directory searchable (--x)"

attach g2 rw "$D/images/a.img"
run "$g2" add
[ $? != 0 ]
ok $? "a second read-write user of the same file is refused"
[ "$(xs "/local/domain/$dd/backend/vbd/$g2/51712/hotplug-status")" = error ]
ok $? "hotplug-status error"
xs "/local/domain/$dd/backend/vbd/$g2/51712/hotplug-error" | grep -q "in use"
ok $? "hotplug-error says why"

attach g3 ro "$D/images/sub/b.img"
run "$g3" add
ok $? "read-only user of b.img"
attach g4 ro "$D/images/sub/b.img"
run "$g4" add
ok $? "a second read-only user of b.img is allowed"
[ "$(acl "$D/images/sub/b.img")" = r-- ] && [ "$(acl "$D/images/sub")" = --x ]
ok $? "read-only: r-- for blkbackd's user, and --x on the directory between"
run "$g3" remove && [ "$(acl "$D/images/sub/b.img")" = r-- ]
ok $? "removing one of two users of b.img keeps its ACL"
run "$g4" remove && [ -z "$(acl "$D/images/sub/b.img")" ]
ok $? "removing the last takes the ACL back"

"$XENSIM" block-attach "$D" g3 "vdev=xvdb,access=rw,backend=dd,script=$SCRIPT,target=$D/elsewhere/c.img" \
	>/dev/null 2>&1
run "$g3" add 51728
[ $? != 0 ] && xs "/local/domain/$dd/backend/vbd/$g3/51728/hotplug-error" |
	grep -q "c.img is outside the image directories (/nonexistent $D/images).*BLKBACKD_IMAGE_DIRS in $D/defaults"
ok $? "a file outside the image directories is refused, naming them and the knob"
[ -z "$(acl "$D/elsewhere/c.img")" ]
ok $? "and it is given to nobody"
"$XENSIM" block-attach "$D" g4 "vdev=xvdb,access=rw,backend=dd,script=$SCRIPT,target=$D/images/link.img" \
	>/dev/null 2>&1
run "$g4" add 51728
[ $? != 0 ] && [ -z "$(acl "$D/elsewhere/c.img")" ]
ok $? "a symbolic link in an image directory to a file outside it is refused"

"$XENSIM" block-attach "$D" g2 "vdev=xvdb,access=rw,backend=dd,script=$SCRIPT,target=$D/none.img" \
	>/dev/null 2>&1
run "$g2" add 51728
[ $? != 0 ]
ok $? "a missing target is refused"

run "$g1" remove
ok $? "remove"
[ -z "$(xs "/local/domain/$dd/backend/vbd/$g1/51712/physical-device-path")" ]
ok $? "remove clears physical-device-path"
[ -z "$(acl "$D/images/a.img")" ]
ok $? "remove takes the ACL back"

"$XENSIM" exec "$D" dd -- env -u XENBUS_PATH "$SCRIPT" add 2>/dev/null
[ $? = 2 ]
ok $? "no XENBUS_PATH: usage error"

echo "1..$n"
[ $fails = 0 ] || { sed 's/^/# /' "$D/script.log"; exit 1; }
exit 0
