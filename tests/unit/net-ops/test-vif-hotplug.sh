#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# hotplug/vif-ddom under xensim. Run as the driver domain with xl devd's
# environment: `online` writes hotplug-status=connected (warning when
# netbackd's socket is absent, quiet when present); a malformed, multicast
# or missing mac is refused with hotplug-status=error and a reason; an
# unknown command is refused the same way; `offline` removes the nodes;
# type_if=tap does nothing; no XENBUS_PATH exits 1. Then under `xensim
# devd` itself: online at InitWait, offline after Closed.
# Usage: test-vif-hotplug.sh XENSIM SCRIPT
set -u
XENSIM=$1
SCRIPT=$2
. "$(dirname "$0")/../tap.sh"
tap_init vif-hotplug "$XENSIM"


xs() {	# xs read|write|rm ARGS...: xenstore-* as the driver domain
	op=$1
	shift
	"$XENSIM" exec "$D" dd -- "xenstore-$op" "$@" 2>/dev/null
}

be() {	# be GUEST [DEVID]: the vif's backend directory
	echo "/local/domain/$dd/backend/vif/$1/${2:-0}"
}

run() {	# run GUEST COMMAND [ARGS...]: the script as xl devd runs it
	g=$1
	shift
	"$XENSIM" exec "$D" dd -- env XENBUS_PATH="$(be "$g")" vif="vif$g.0" netdev= \
		NETBACKD_RUNTIME_DIR="$D/run" "$SCRIPT" "$@" 2>"$D/last.log"
	rc=$?
	cat "$D/last.log" >>"$D/script.log"
	return $rc
}

# refused GUEST WHY LABEL COMMAND...: the script fails (exit 1), with
# hotplug-status=error and a hotplug-error matching WHY; both are cleared
# for the next case.
refused() {
	rg=$1 why=$2 label=$3
	shift 3
	run "$rg" "$@"
	[ $? = 1 ] && [ "$(xs read "$(be "$rg")/hotplug-status")" = error ]
	ok $? "$label: exit 1, hotplug-status error"
	xs read "$(be "$rg")/hotplug-error" | grep -q "$why"
	ok $? "$label: hotplug-error says why"
	xs rm "$(be "$rg")/hotplug-status" "$(be "$rg")/hotplug-error"
}

"$XENSIM" up "$D" >/dev/null || { echo "Bail out! xensim up"; exit 1; }
dd=$("$XENSIM" create "$D" dd --driver-domain) || exit 1
g1=$("$XENSIM" create "$D" g1) || exit 1
g2=$("$XENSIM" create "$D" g2) || exit 1
g3=$("$XENSIM" create "$D" g3) || exit 1
mkdir -p "$D/run"
attach() {	# attach GUEST MAC
	"$XENSIM" network-attach "$D" "$1" "backend=dd,script=$SCRIPT,mac=$2" >/dev/null
}

attach g1 00:16:3e:00:00:01
run "$g1" online type_if=vif
ok $? "online"
[ "$(xs read "$(be "$g1")/hotplug-status")" = connected ]
ok $? "hotplug-status connected"
grep -q "netbackd is not running" "$D/last.log"
ok $? "warns that netbackd is not running"

# netbackd's control socket present: no warning.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	"$D/run/netbackd.sock" 2>/dev/null
if [ -S "$D/run/netbackd.sock" ]; then
	run "$g1" online type_if=vif && ! grep -q "netbackd is not running" "$D/last.log"
	ok $? "no warning while netbackd's socket exists"
else
	n=$((n + 1))
	echo "ok $n # SKIP cannot create a unix socket (no python3)"
fi

run "$g1" offline type_if=vif
ok $? "offline"
[ -z "$(xs read "$(be "$g1")/hotplug-status")" ]
ok $? "offline removes hotplug-status"

attach g2 00:16:3e:00:00:02
for bad in "00:16:3e:00:00" "00:16:3e:00:00:0g" "01:00:5e:00:00:01" "00:00:00:00:00:00" ""; do
	xs write "$(be "$g2")/mac" "$bad"
	refused "$g2" "mac" "mac '$bad' refused" online type_if=vif
done
xs rm "$(be "$g2")/mac"
refused "$g2" "no mac" "no mac node" online type_if=vif

# An error left behind, then offline.
xs write "$(be "$g2")/hotplug-status" error "$(be "$g2")/hotplug-error" "no mac node"
run "$g2" offline type_if=vif &&
	[ -z "$(xs read "$(be "$g2")/hotplug-status")" ] &&
	[ -z "$(xs read "$(be "$g2")/hotplug-error")" ]
ok $? "offline after an error clears hotplug-status and hotplug-error"

attach g3 00:16:3e:00:00:03
refused "$g3" "unknown command" "unknown command" frobnicate type_if=vif
refused "$g3" "unknown type_if" "unknown type_if" online type_if=bridge

run "$g3" online type_if=tap &&
	[ -z "$(xs read "$(be "$g3")/hotplug-status")" ]
ok $? "type_if=tap: nothing done, exit 0"

run "$g3" add &&
	[ "$(xs read "$(be "$g3")/hotplug-status")" = connected ]
ok $? "add (no type_if): as online"
run "$g3" remove &&
	[ -z "$(xs read "$(be "$g3")/hotplug-status")" ]
ok $? "remove: as offline"

"$XENSIM" exec "$D" dd -- env -u XENBUS_PATH "$SCRIPT" online type_if=vif 2>/dev/null
[ $? = 1 ]
ok $? "no XENBUS_PATH: exit 1"

# Under xensim devd: the script runs with libxl's arguments and environment
# (a relative XENBUS_PATH) when the backend reaches InitWait, and again
# (offline) once it is Closed, before devd removes the backend.
"$XENSIM" devd "$D" dd >/dev/null || { echo "Bail out! xensim devd"; exit 1; }
g4=$("$XENSIM" create "$D" g4) || exit 1
attach g4 00:16:3e:00:00:04
xs write "$(be "$g4")/state" 2
"$XENSIM" wait "$D" "$(be "$g4")/hotplug-status" connected -t 20 >/dev/null
ok $? "devd: online at InitWait writes hotplug-status connected"
"$XENSIM" network-detach "$D" g4 0 -t 20 >/dev/null 2>&1 &
det=$!
"$XENSIM" wait "$D" "$(be "$g4")/state" 5 -t 20 >/dev/null && xs write "$(be "$g4")/state" 6
wait $det
ok $? "devd: network-detach completes once the backend is Closed"
grep -q "vif-ddom: backend/vif/$g4/0: vif$g4.0 offline" "$D/toolstack/devd-$dd.log"
ok $? "devd: offline ran with vif=vif$g4.0 and a relative XENBUS_PATH"

echo "1..$n"
if [ $fails != 0 ]; then
	sed 's/^/# /' "$D/script.log"
	[ -f "$D/toolstack/devd-$dd.log" ] && sed 's/^/# devd: /' "$D/toolstack/devd-$dd.log"
	exit 1
fi
exit 0
