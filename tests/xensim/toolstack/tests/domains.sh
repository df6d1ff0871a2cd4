#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# create / list / destroy: ids, names, the nodes libxl__domain_make writes,
# XS_INTRODUCE (the domain's socket appears) and XS_RELEASE (it goes), and
# destroy removing the devices of a domain both as frontend and as backend.
. "$(dirname "$0")/lib.sh"
dump() { "$XENSIM" dump "$TS_DIR" "$@"; }

run 0 "$XENSIM" up "$TS_DIR"
run 0 "$XENSIM" create "$TS_DIR" guest
g=$OUT
run 0 "$XENSIM" create "$TS_DIR" dd --driver-domain --memory 64
dd=$OUT
[ "$g" = 1 ] && [ "$dd" = 2 ] || fail "domids $g $dd, expected 1 2"
[ -S "$TS_DIR/xenstored/dom$g.sock" ] && [ -S "$TS_DIR/xenstored/dom$dd.sock" ] ||
	fail "XS_INTRODUCE did not give the domains their sockets"
pass "create prints increasing domids and introduces the domains"

run 0 "$XENSIM" list "$TS_DIR"
grep -Eq "^guest +$g +256 +1 " <<<"$OUT" && grep -Eq "^dd +$dd +64 +1 " <<<"$OUT" ||
	fail "list: $OUT"
pass "list shows name, id, memory, vcpus"

# libxl__domain_make(): ownership and the driver-domain extras
run 0 dump /local/domain/$dd
for line in "/local/domain/$dd = \"\"  (n0,r$dd)" \
	"/local/domain/$dd/name = \"dd\"  (n0,r$dd)" \
	"/local/domain/$dd/data = \"\"  (n$dd)" \
	"/local/domain/$dd/control/shutdown = \"\"  (n$dd)" \
	"/local/domain/$dd/device/suspend/event-channel = \"\"  (n$dd)" \
	"/local/domain/$dd/libxl = \"\"  (n$dd)" \
	"/local/domain/$dd/device-model = \"\"  (n$dd)" \
	"/local/domain/$dd/memory/static-max = \"65536\"  (n0,r$dd)" \
	"/local/domain/$dd/domid = \"$dd\"  (n0,r$dd)"; do
	grep -qxF "$line" <<<"$OUT" || fail "missing: $line"
done
run 0 dump /local/domain/$g
grep -q "/local/domain/$g/libxl " <<<"$OUT" && fail "a plain guest got the driver-domain libxl dir"
vm=$(XENSTORED_PATH=$TS_DIR/xenstored/dom0.sock xenstore-read /local/domain/$g/vm)
run 0 dump "$vm"
grep -qxF "$vm/name = \"guest\"  (n0,r$g)" <<<"$OUT" || fail "vm name: $OUT"
# console 0 (libxl_console.c libxl__device_console_add): xenconsoled in dom0
run 0 dump /local/domain/$g/console
for line in "/local/domain/$g/console = \"\"  (n0,r$g)" \
	"/local/domain/$g/console/backend-id = \"0\"  (n$g,r0)" \
	"/local/domain/$g/console/limit = \"1048576\"  (n0,r$g)" \
	"/local/domain/$g/console/type = \"xenconsoled\"  (n0,r$g)"; do
	grep -qxF "$line" <<<"$OUT" || fail "missing: $line"
done
run 0 dump /local/domain/0/backend/console/$g/0/protocol
[ "$OUT" = "/local/domain/0/backend/console/$g/0/protocol = \"vt100\"  (n0,r$g)" ] ||
	fail "console backend: $OUT"
pass "domain nodes and permissions as libxl__domain_make writes them, console 0"

run 1 "$XENSIM" create "$TS_DIR" guest
grep -q "already exists" <<<"$ERR" || fail "duplicate name: $ERR"
run 2 "$XENSIM" create "$TS_DIR" 123
run 2 "$XENSIM" create "$TS_DIR" x --memory lots
pass "create refuses a taken name, a numeric name, a bad memory size"

# devices in both directions: guest's disk backed by dd, dd's disk backed by dom0
run 0 "$XENSIM" block-attach "$TS_DIR" guest "vdev=xvda,backend=dd,target=/srv/g.img"
run 0 "$XENSIM" block-attach "$TS_DIR" dd "vdev=xvdb,script=block,target=/srv/dd.img"
dd_vm=$(XENSTORED_PATH=$TS_DIR/xenstored/dom0.sock xenstore-read /local/domain/$dd/vm)
run 0 "$XENSIM" destroy "$TS_DIR" dd -t 0
for p in /local/domain/$dd /libxl/$dd "$dd_vm" \
	/local/domain/$g/device/vbd/51712 /libxl/$g/device/vbd/51712 \
	/local/domain/0/backend/vbd/$dd/51728 /local/domain/0/backend/console/$dd; do
	run 1 dump "$p"
done
[ -e "$TS_DIR/xenstored/dom$dd.sock" ] && fail "XS_RELEASE did not remove dom$dd.sock"
run 0 "$XENSIM" list "$TS_DIR"
grep -q "^dd " <<<"$OUT" && fail "dd still listed: $OUT"
pass "destroy removes the domain, its devices as frontend and as backend, its socket"

run 1 "$XENSIM" destroy "$TS_DIR" 99
grep -q "no domain 99" <<<"$ERR" || fail "unknown domain: $ERR"
run 1 "$XENSIM" destroy "$TS_DIR" 0
run 1 "$XENSIM" destroy "$TS_DIR" nosuch
pass "destroy refuses unknown domains and dom0"

run 0 "$XENSIM" destroy "$TS_DIR" "$g"
run 0 "$XENSIM" create "$TS_DIR" next
[ "$OUT" = 3 ] || fail "domids are reused at once (got $OUT), Xen hands out increasing ids"
pass "domids keep increasing after destroy"
echo "1..7"
