#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `up` starts a host and is a no-op on a live one; `down` stops every process
# it started (xenstored, exec'd commands, devd) and is a no-op when stopped.
. "$(dirname "$0")/lib.sh"

run 0 "$XENSIM" up "$TS_DIR"
pid=$(cut -d' ' -f1 "$TS_DIR/toolstack/xenstored.pid")
[ -d "/proc/$pid" ] || fail "xenstored (pid $pid) not running after up"
run 0 "$XENSIM" list "$TS_DIR"
grep -q '^Domain-0 *0 ' <<<"$OUT" || fail "list after up lacks Domain-0: $OUT"
[ "$(XENSTORED_PATH=$TS_DIR/xenstored/dom0.sock xenstore-read /local/domain/0/name)" = Domain-0 ] ||
	fail "dom0 name not written"
pid_start=$(proc_start "$pid")
pass "up starts xenstored and dom0"

run 0 "$XENSIM" up "$TS_DIR"
grep -q "already up" <<<"$ERR" || fail "second up did not say the host is up: $ERR"
[ "$(cut -d' ' -f1 "$TS_DIR/toolstack/xenstored.pid")" = "$pid" ] || fail "second up restarted xenstored"
pass "second up is a no-op"

# processes the host knows of: an exec'd command and a devd
dd=$("$XENSIM" create "$TS_DIR" dd --driver-domain)
exec 3< <("$XENSIM" exec "$TS_DIR" dd -- sh -c 'echo $$; exec sleep 600')
read -r -t 10 -u 3 sleeper || fail "exec'd command did not start"
# a grandchild: the exec'd shell's own background child, same process group
exec 5< <("$XENSIM" exec "$TS_DIR" dd -- sh -c 'sleep 600 & echo $!; wait')
read -r -t 10 -u 5 grandchild || fail "exec'd grandchild did not start"
grandchild_start=$(proc_start "$grandchild")
devd=$("$XENSIM" devd "$TS_DIR" "$dd")
[ -d "/proc/$sleeper" ] && [ -d "/proc/$devd" ] || fail "exec'd command or devd not running"
sleeper_start=$(proc_start "$sleeper")
devd_start=$(proc_start "$devd")

run 0 "$XENSIM" down "$TS_DIR"
for pair in "$pid:$pid_start" "$sleeper:$sleeper_start" "$devd:$devd_start" \
	"$grandchild:$grandchild_start"; do
	p=${pair%%:*}
	[ "$(proc_start "$p")" != "${pair#*:}" ] || fail "process $p still running after down"
done
ls "$TS_DIR/toolstack/procs" | grep -q . && fail "process records left after down"
pass "down stops xenstored, exec'd commands and devd"

run 1 "$XENSIM" list "$TS_DIR"
grep -q "no host running" <<<"$ERR" || fail "list on a stopped host: $ERR"
pass "verbs on a stopped host fail clearly"

run 0 "$XENSIM" down "$TS_DIR"
pass "down on a stopped host is a no-op"

run 0 "$XENSIM" up "$TS_DIR"
run 0 "$XENSIM" list "$TS_DIR"
[ "$(grep -c . <<<"$OUT")" = 2 ] || fail "a host brought up again is not fresh: $OUT"
run 0 "$XENSIM" create "$TS_DIR" g
[ "$OUT" = 1 ] || fail "domids do not restart at 1 on a fresh host: $OUT"
pass "up after down gives a fresh host"

# a host whose xenstored died (kill -9) leaves sockets, hv state, processes
exec 4< <("$XENSIM" exec "$TS_DIR" g -- sh -c 'echo $$; exec sleep 600')
read -r -t 10 -u 4 orphan || fail "exec'd command did not start"
orphan_start=$(proc_start "$orphan")
kill -9 "$(cut -d' ' -f1 "$TS_DIR/toolstack/xenstored.pid")"
run 0 "$XENSIM" up "$TS_DIR"
[ "$(proc_start "$orphan")" != "$orphan_start" ] || fail "the dead host's process survived up"
run 0 "$XENSIM" create "$TS_DIR" g
[ "$OUT" = 1 ] || fail "host after a crash is not fresh: domid $OUT"
pass "up after a crashed host clears what it left and boots fresh"
echo "1..7"
