#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `xensim devd` in a driver domain does what `xl devd` does: the hotplug
# script runs with `add` (vbd) or `online type_if=vif` (vif) once the backend
# is at InitWait, with libxl's environment, as a process of the driver domain;
# a failing script leaves hotplug-status=error; after the toolstack closes a
# device the script runs `remove`/`offline` and devd removes the backend path,
# which the toolstack's detach waits for.
. "$(dirname "$0")/lib.sh"
: "${TS_FAKE_BACKEND:?}"
rd() { XENSTORED_PATH=$TS_DIR/xenstored/dom0.sock xenstore-read "$1"; }

log=$TS_DIR/hotplug.log
cat >"$TS_DIR/hotplug.sh" <<SH
#!/bin/sh
echo "\$* script=\$script type=\$XENBUS_TYPE path=\$XENBUS_PATH" \\
	"base=\$XENBUS_BASE_PATH vif=\${vif-} netdev=\${netdev-} dom=\$XENSIM_DOMID" >>$log
case "\$1" in add|online) xenstore-write "\$XENBUS_PATH/hotplug-status" connected ;; esac
SH
printf '#!/bin/sh\necho "disk on fire" >&2\nexit 3\n' >"$TS_DIR/fail.sh"
chmod +x "$TS_DIR/hotplug.sh" "$TS_DIR/fail.sh"

run 0 "$XENSIM" up "$TS_DIR"
g=$("$XENSIM" create "$TS_DIR" guest)
dd=$("$XENSIM" create "$TS_DIR" dd --driver-domain)
run 0 "$XENSIM" devd "$TS_DIR" dd
devd=$OUT
exec 3< <("$XENSIM" exec "$TS_DIR" dd -- "$TS_FAKE_BACKEND")
fb=$!
read -r -t 10 -u 3 ready || fail "fake backend did not start"

be=/local/domain/$dd/backend/vbd/$g/51712
hp=$TS_DIR/hotplug.sh
run 0 "$XENSIM" block-attach "$TS_DIR" guest "vdev=xvda,backend=dd,script=$hp,target=/srv/g.img"
run 0 "$XENSIM" wait "$TS_DIR" $be/hotplug-status connected
want="add script=$hp type=vbd path=backend/vbd/$g/51712 base=backend vif= netdev= dom=$dd"
grep -qxF "$want" "$log" ||
	fail "vbd add: $(cat "$log")"
pass "vbd: script add at InitWait, libxl's environment, in the driver domain"

run 0 "$XENSIM" network-attach "$TS_DIR" guest "backend=dd,script=$hp,gatewaydev=eth9"
vbe=/local/domain/$dd/backend/vif/$g/0
run 0 "$XENSIM" wait "$TS_DIR" $vbe/hotplug-status connected
want="online type_if=vif script=$hp type=vif path=backend/vif/$g/0 base=backend"
grep -qxF "$want vif=vif$g.0 netdev=eth9 dom=$dd" "$log" ||
	fail "vif online: $(cat "$log")"
pass "vif: script online type_if=vif with vif and netdev"

run 0 "$XENSIM" block-attach "$TS_DIR" guest \
	"vdev=xvdb,backend=dd,script=$TS_DIR/fail.sh,target=/srv/h.img"
run 0 "$XENSIM" wait "$TS_DIR" /local/domain/$dd/backend/vbd/$g/51728/hotplug-status error
grep -q "disk on fire" "$TS_DIR/toolstack/devd-$dd.log" || fail "script stderr not in devd's log"
pass "a failing script leaves hotplug-status=error"

run 0 "$XENSIM" block-detach "$TS_DIR" guest xvda
grep -qx "remove script=.*path=backend/vbd/$g/51712 .*" "$log" || fail "no remove: $(cat "$log")"
run 1 rd $be
run 0 "$XENSIM" network-detach "$TS_DIR" guest 0
grep -qx "offline type_if=vif script=.*path=backend/vif/$g/0 .*" "$log" || fail "no offline"
run 1 rd $vbe
pass "detach: script remove/offline after Closed, devd removes the backend"

# xl devd waits 10 s (LIBXL_INIT_TIMEOUT) for InitWait, then never runs add
kill "$fb" 2>/dev/null
wait "$fb" 2>/dev/null
be3=/local/domain/$dd/backend/vbd/$g/51744
run 0 "$XENSIM" block-attach "$TS_DIR" guest "vdev=xvdc,backend=dd,script=$hp,target=/srv/i.img"
run 1 "$XENSIM" wait "$TS_DIR" $be3/hotplug-status connected -t 12
grep -q "backend/vbd/$g/51744 did not reach InitWait within 10 s" "$TS_DIR/toolstack/devd-$dd.log" ||
	fail "devd did not give up after 10 s"
# the late backend reaches InitWait, later closes; then the toolstack detaches
run 0 xs "$dd" xenstore-write $be3/state 2
run 0 xs "$dd" xenstore-write $be3/state 6
run 0 "$XENSIM" block-detach "$TS_DIR" guest xvdc
grep -q "remove script=.*path=backend/vbd/$g/51744 " "$log" || fail "no remove for xvdc"
grep -q "add script=.*path=backend/vbd/$g/51744 " "$log" && fail "add ran after the 10 s"
pass "a backend late to InitWait: devd gives up on add after 10 s, still runs remove"

run 0 "$XENSIM" destroy "$TS_DIR" dd -t 2
[ -n "$(proc_start "$devd")" ] && fail "devd survived the destruction of its domain"
pass "destroying the driver domain stops its devd"
echo "1..6"
