#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# netbackd-sim as a program: --help, --version, bad options and config files
# (exit 2 with the culprit named), an uplink that cannot be opened (exit 1
# naming it), and under xensim: the daemon takes a vif to InitWait with its
# feature nodes, `--status` and `--mac-table` over the control socket answer,
# `--capture` of an unknown vif is refused, SIGTERM stops it cleanly with its
# socket removed. Usage: test-net-daemon.sh XENSIM NETBACKD_SIM
set -u
XENSIM=$1
NB=$2
. "$(dirname "$0")/../tap.sh"
tap_init net-daemon "$XENSIM"


"$NB" --help | grep -q -- "--uplink DEVARGS"
ok $? "--help lists the options"
"$NB" --version | grep -q "^netbackd [0-9]"
ok $? "--version"
"$NB" --max-queues 0 2>"$D/err"
[ $? = 2 ] && grep -q "max-queues" "$D/err"
ok $? "bad option value: exit 2 naming it"
"$NB" --rx-backlog 1000 2>"$D/err"
[ $? = 2 ] && grep -q "rx-backlog" "$D/err"
ok $? "a backlog that is not a power of two: exit 2"
"$NB" --uplink-mtu 40 2>"$D/err"
[ $? = 2 ] && grep -q "uplink-mtu" "$D/err"
ok $? "an uplink MTU below 68: exit 2 naming it"
"$NB" --trusted 00:16:3e:zz:00:01 2>"$D/err"
[ $? = 2 ] && grep -q "trusted" "$D/err"
ok $? "a bad MAC in --trusted: exit 2"
"$NB" --frobnicate 2>"$D/err"
[ $? = 2 ] && grep -q "frobnicate" "$D/err"
ok $? "unknown option: exit 2 naming it"
"$NB" --capture 2/0 2>"$D/err"
[ $? = 2 ] && grep -q "capture" "$D/err"
ok $? "--capture without a file: exit 2"
printf 'workers = 1\nmac-tabel-size = 64\n' >"$D/bad.conf"
"$NB" --config "$D/bad.conf" 2>"$D/err"
[ $? = 2 ] && grep -q "bad.conf:2:.*mac-tabel-size" "$D/err"
ok $? "bad config key: exit 2 naming file, line and key"
"$NB" --status --runtime-dir "$D/nowhere" >/dev/null 2>&1
[ $? = 1 ]
ok $? "--status without a daemon fails"

"$XENSIM" up "$D" >/dev/null || { echo "Bail out! xensim up"; exit 1; }
dd=$("$XENSIM" create "$D" dd --driver-domain) || exit 1
g=$("$XENSIM" create "$D" g) || exit 1
mkdir -p "$D/run"
"$XENSIM" exec "$D" "$dd" -- "$NB" --runtime-dir "$D/run" --uplink net_nosuch0 2>"$D/err"
[ $? = 1 ] && grep -q "net_nosuch0" "$D/err"
ok $? "an uplink that cannot be opened: exit 1 naming it"

printf 'max-queues = 2\nmac-table-size = 128\n' >"$D/good.conf"
mkfifo "$D/log.fifo"
"$XENSIM" exec "$D" "$dd" -- "$NB" --config "$D/good.conf" --runtime-dir "$D/run" \
	2>"$D/log.fifo" &
pid=$!
exec 3<"$D/log.fifo"
ready=1
while read -r -t 30 line <&3; do
	echo "# $line"
	case $line in *"control socket in"*) ready=0; break ;; esac
done
ok $ready "the daemon starts (log says where its control socket is)"
devid=$(timeout 30 "$XENSIM" network-attach "$D" "$g" backend=dd mac=00:16:3e:00:00:51 --wait)
ok $? "a vif reaches InitWait"
be=/local/domain/$dd/backend/vif/$g/$devid
[ "$("$XENSIM" exec "$D" 0 -- xenstore-read "$be/multi-queue-max-queues")" = 2 ]
ok $? "multi-queue-max-queues comes from the config file"
[ "$("$XENSIM" exec "$D" 0 -- xenstore-read "$be/feature-ctrl-ring")" = 1 ]
ok $? "feature-ctrl-ring offered"
"$NB" --status --runtime-dir "$D/run" | grep -q "^switch: macs=0"
ok $? "--status answers"
"$NB" --mac-table --runtime-dir "$D/run" >/dev/null
ok $? "--mac-table answers"
"$NB" --capture "$g/99" "$D/x.pcapng" --runtime-dir "$D/run" >"$D/out" 2>&1
[ $? = 1 ] && grep -q "no connected vif DOMID/DEVID or uplink" "$D/out"
ok $? "--capture of an unknown vif is refused"
kill -TERM "$(pgrep -P "$pid")"
wait "$pid"
ok $? "SIGTERM: exit 0"
[ ! -e "$D/run/netbackd.sock" ]
ok $? "SIGTERM: the control socket is removed"
pid=
echo "1..$n"
exit $((fails > 0))
