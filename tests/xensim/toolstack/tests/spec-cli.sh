#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Disk and vif specs through the command line: good specs land in the store
# with the values libxl derives from them; bad ones (unknown key, bad value)
# are refused with a message and exit 2, and write nothing.
. "$(dirname "$0")/lib.sh"
rd() { XENSTORED_PATH=$TS_DIR/xenstored/dom0.sock xenstore-read "$1"; }

run 0 "$XENSIM" up "$TS_DIR"
g=$("$XENSIM" create "$TS_DIR" guest)
dd=$("$XENSIM" create "$TS_DIR" dd --driver-domain)
h=$("$XENSIM" create "$TS_DIR" hvmish --type pvh)

# positional form, read-only, hdb: devid (3 << 8) | 64 = 832
run 0 "$XENSIM" block-attach "$TS_DIR" guest /srv/a.img,raw,hdb,r,backend=dd
be=/local/domain/$dd/backend/vbd/$g/832
[ "$(rd $be/mode)" = r ] && [ "$(rd $be/discard-enable)" = 0 ] && [ "$(rd $be/dev)" = hdb ] ||
	fail "positional ro disk: mode $(rd $be/mode) discard $(rd $be/discard-enable)"
# several spec arguments, as xl accepts them; cdrom implies ro and removable
run 0 "$XENSIM" block-attach "$TS_DIR" guest vdev=xvdc devtype=cdrom backend=dd target=/srv/c.iso
be=/local/domain/$dd/backend/vbd/$g/51744
[ "$(rd $be/device-type)" = cdrom ] && [ "$(rd $be/removable)" = 1 ] && [ "$(rd $be/mode)" = r ] ||
	fail "cdrom"
# qcow2 in a driver domain cannot be phy: qdisk backend, "qcow2:" params
run 0 "$XENSIM" block-attach "$TS_DIR" guest vdev=xvdd,format=qcow2,backend=dd,target=/srv/d.qcow2
be=/local/domain/$dd/backend/qdisk/$g/51760
[ "$(rd $be/params)" = qcow2:/srv/d.qcow2 ] && [ "$(rd $be/type)" = qdisk ] ||
	fail "qcow2 -> qdisk: $(rd $be/params)"
[ "$(rd /local/domain/$g/device/vbd/51760/backend)" = $be ] || fail "qdisk frontend kind"
# a PVH guest gets no protocol node; no-discard, untrusted, script= honoured
run 0 "$XENSIM" block-attach "$TS_DIR" hvmish \
	vdev=xvda,no-discard,untrusted,script=my-block,backend=dd,target=/srv/e
be=/local/domain/$dd/backend/vbd/$h/51712
[ "$(rd $be/script)" = /etc/xen/scripts/my-block ] && [ "$(rd $be/discard-enable)" = 0 ] &&
	[ "$(rd /local/domain/$h/device/vbd/51712/trusted)" = 0 ] || fail "flags"
run 1 rd /local/domain/$h/device/vbd/51712/protocol
run 0 "$XENSIM" block-list "$TS_DIR" guest
grep -Eq "^832 +$dd +$g +1 +-1 +-1 +/local/domain/$dd/backend/vbd/$g/832 *$" <<<"$OUT" &&
	grep -q "/local/domain/$dd/backend/qdisk/$g/51760" <<<"$OUT" || fail "block-list: $OUT"
pass "good disk specs give libxl's values; block-list lists them"

for spec in "vdev=xvde,colour=blue,target=/x" "vdev=xvde,access=rwx,target=/x" \
	"vdev=xvde,format=vmdk,target=/x" "vdev=vde,target=/x" "target=/x,vdev=xvde" \
	"vdev=xvde,backendtype=tap,backend=dd,target=/x" "vdev=xvde,backend=nosuch,target=/x"; do
	rc=2
	[ "$spec" = "vdev=xvde,backend=nosuch,target=/x" ] && rc=1
	run $rc "$XENSIM" block-attach "$TS_DIR" guest "$spec"
	[ -n "$ERR" ] || fail "no message for $spec"
done
run 2 "$XENSIM" block-attach "$TS_DIR" guest "vdev=xvde,colour=blue,target=/x"
grep -q "unknown parameter \`colour=blue'" <<<"$ERR" || fail "unknown key message: $ERR"
run 1 rd /local/domain/$g/device/vbd/51776
run 1 "$XENSIM" block-attach "$TS_DIR" guest /srv/a.img,raw,hdb,r,backend=dd
grep -q "already exists" <<<"$ERR" || fail "duplicate vdev: $ERR"
pass "bad disk specs are refused with a message"

# vifs: defaults, the rate conversion, a random Xen-OUI MAC, next free devid
run 0 "$XENSIM" network-attach "$TS_DIR" guest backend=dd
[ "$OUT" = 0 ] || fail "first vif devid $OUT"
be=/local/domain/$dd/backend/vif/$g/0
mac=$(rd $be/mac)
grep -Eq '^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$' <<<"$mac" || fail "mac $mac"
[ "$(rd $be/bridge)" = xenbr0 ] && [ "$(rd $be/script)" = /etc/xen/scripts/vif-bridge ] ||
	fail "vif defaults"
run 1 rd $be/mtu
run 1 rd $be/rate
[ "$(rd /local/domain/$g/device/vif/0/mtu)" = 1500 ] || fail "frontend mtu default"
run 0 "$XENSIM" network-attach "$TS_DIR" guest backend=dd rate=100Mb/s vifname=v1 gatewaydev=eth1
[ "$OUT" = 1 ] || fail "second vif devid $OUT"
be=/local/domain/$dd/backend/vif/$g/1
[ "$(rd $be/rate)" = 625000,50000 ] && [ "$(rd $be/vifname)" = v1 ] &&
	[ "$(rd $be/gatewaydev)" = eth1 ] || fail "rate $(rd $be/rate)"
run 0 "$XENSIM" network-attach "$TS_DIR" guest mac=00:16:3e:00:00:07,devid=5,backend=dd
run 0 "$XENSIM" network-attach "$TS_DIR" guest backend=dd
[ "$OUT" = 6 ] || fail "devid after 5: $OUT"
run 0 "$XENSIM" network-list "$TS_DIR" guest
grep -Eq "^5 +$dd +00:16:3e:00:00:07 +5 +1 +-1 +-1/-1 +/local/domain/$dd/backend/vif/$g/5" \
	<<<"$OUT" || fail "network-list: $OUT"
pass "vif specs: defaults, rate in bytes,usec, MAC, devids; network-list"

for spec in colour=blue mac=00:16:3e:00:00 rate=10MB mtu=big type=ioemu; do
	run 2 "$XENSIM" network-attach "$TS_DIR" guest "$spec"
	[ -n "$ERR" ] || fail "no message for $spec"
done
run 1 "$XENSIM" network-detach "$TS_DIR" guest 00:16:3e:99:99:99
run 2 "$XENSIM" network-detach "$TS_DIR" guest nonsense
run 1 "$XENSIM" network-detach "$TS_DIR" guest 00:16:3e:00:00:07 -t 0
run 1 rd /local/domain/$g/device/vif/5
pass "bad vif specs refused; network-detach by MAC"
echo "1..4"
