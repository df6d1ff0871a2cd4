#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `exec` runs a command as a process of a domain: its environment, its
# xenstore identity (relative paths resolve to the domain's home, its
# permissions apply), its exit status.
. "$(dirname "$0")/lib.sh"

run 0 "$XENSIM" up "$TS_DIR"
run 0 "$XENSIM" create "$TS_DIR" guest
g=$OUT
run 0 "$XENSIM" exec "$TS_DIR" guest -- env
grep -qx "XENSTORED_PATH=$TS_DIR/xenstored/dom$g.sock" <<<"$OUT" &&
	grep -qx "XENSIM_DIR=$TS_DIR" <<<"$OUT" && grep -qx "XENSIM_DOMID=$g" <<<"$OUT" ||
	fail "environment: $OUT"
pass "exec sets XENSTORED_PATH, XENSIM_DIR, XENSIM_DOMID"

run 0 "$XENSIM" exec "$TS_DIR" "$g" -- xenstore-read name
[ "$OUT" = guest ] || fail "relative read as the guest: $OUT"
run 0 "$XENSIM" exec "$TS_DIR" "$g" -- xenstore-write data/x 1
run 1 "$XENSIM" exec "$TS_DIR" "$g" -- xenstore-write /local/domain/0/x 1
pass "the command talks to xenstore as that domain"

run 7 "$XENSIM" exec "$TS_DIR" guest -- sh -c 'exit 7'
run 143 "$XENSIM" exec "$TS_DIR" guest -- sh -c 'kill -TERM $$'
run 127 "$XENSIM" exec "$TS_DIR" guest -- /nonexistent/cmd
pass "exec exits with the command's status (128+N on signal N)"

run 2 "$XENSIM" exec "$TS_DIR" guest
run 0 "$XENSIM" exec "$TS_DIR" guest sh -c 'echo "$1"' sh --help
[ "$OUT" = --help ] || fail "exec without -- took CMD's --help: $OUT"
run 1 "$XENSIM" exec "$TS_DIR" nosuch -- true
ls "$TS_DIR/toolstack/procs" | grep -q . && fail "finished commands left records"
pass "exec refuses a missing command or domain; records are cleaned up"
echo "1..4"
