#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# blkbackd-sim as a program: --help, --version, bad options and config files
# (exit 2 with the culprit named), and under xensim: the daemon takes a vbd
# to InitWait with its feature nodes, `--status` over the control socket
# reports it, SIGHUP is survived, SIGTERM stops it cleanly with its socket
# removed. Usage: test-daemon.sh XENSIM BLKBACKD_SIM
set -u
XENSIM=$1
BB=$2
. "$(dirname "$0")/../tap.sh"
tap_init blk-daemon "$XENSIM"


"$BB" --help | grep -q -- "--max-ring-order"
ok $? "--help lists the options"
"$BB" --version | grep -q "^blkbackd [0-9]"
ok $? "--version"
"$BB" --max-queues 0 2>"$D/err"
[ $? = 2 ] && grep -q "max-queues" "$D/err"
ok $? "bad option value: exit 2 naming it"
"$BB" --frobnicate 2>"$D/err"
[ $? = 2 ] && grep -q "frobnicate" "$D/err"
ok $? "unknown option: exit 2 naming it"
printf 'max-queues = 2\nmax-ring-ordre = 1\n' >"$D/bad.conf"
"$BB" --config "$D/bad.conf" 2>"$D/err"
[ $? = 2 ] && grep -q "bad.conf:2:.*max-ring-ordre" "$D/err"
ok $? "bad config key: exit 2 naming file, line and key"
"$BB" --status --runtime-dir "$D/nowhere" >/dev/null 2>&1
[ $? = 1 ]
ok $? "--status without a daemon fails"

"$XENSIM" up "$D" >/dev/null || { echo "Bail out! xensim up"; exit 1; }
dd=$("$XENSIM" create "$D" dd --driver-domain) || exit 1
g=$("$XENSIM" create "$D" g) || exit 1
truncate -s 8M "$D/disk.img"
mkdir -p "$D/run"
printf 'max-queues = 2\nmax-ring-order = 1\n' >"$D/good.conf"
# Foreground, logs on stderr, read through a fifo: readiness is the log
# line, the end of the daemon is end of file.
mkfifo "$D/log.fifo"
"$XENSIM" exec "$D" dd -- "$BB" --runtime-dir "$D/run" --config "$D/good.conf" \
	--max-indirect-segments 64 2>"$D/log.fifo" &
xpid=$!
exec 3<"$D/log.fifo"
ready=1
while read -r -t 10 line <&3; do
	echo "$line" >>"$D/bb.log"
	case "$line" in *"control socket in"*) ready=0; break ;; esac
done
bbpid=$(pgrep -P "$xpid")
pid=$bbpid
ok $ready "daemon ready"
"$XENSIM" block-attach "$D" g "vdev=xvda,access=rw,backend=dd,target=$D/disk.img" --wait \
	>/dev/null
ok $? "vbd reaches InitWait"
be=/local/domain/$dd/backend/vbd/$g/51712
rd() { "$XENSIM" exec "$D" dd -- xenstore-read "$be/$1" 2>/dev/null; }
[ "$(rd multi-queue-max-queues)" = 2 ] && [ "$(rd max-ring-page-order)" = 1 ] &&
	[ "$(rd feature-max-indirect-segments)" = 64 ] && [ "$(rd feature-persistent)" = 1 ]
ok $? "feature nodes from config file and options"
"$BB" --status --runtime-dir "$D/run" >"$D/status"
ok $? "--status reaches the daemon"
grep -q "vbd $g/51712: InitWait" "$D/status" && grep -q "bad-requests=0" "$D/status"
ok $? "--status lists the vbd and its counters"
kill -HUP "$bbpid"
"$BB" --status --runtime-dir "$D/run" >/dev/null
ok $? "alive after SIGHUP"
kill -TERM "$bbpid"
stopped=1
while read -r -t 10 line <&3; do echo "$line" >>"$D/bb.log"; done
wait "$xpid" && ! kill -0 "$bbpid" 2>/dev/null && stopped=0
ok $stopped "SIGTERM stops it"
[ ! -e "$D/run/blkbackd.sock" ]
ok $? "control socket removed"
pid=

echo "1..$n"
[ $fails = 0 ] || { sed 's/^/# /' "$D/bb.log"; exit 1; }
exit 0
