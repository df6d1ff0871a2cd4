#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The command line itself: usage, --help on every verb, clear errors and
# non-zero exits on bad input (bad DIR, no host, unknown verb or domain).
. "$(dirname "$0")/lib.sh"

run 0 "$XENSIM"
grep -q "^usage: xensim VERB" <<<"$OUT" || fail "bare xensim: $OUT"
for verb in up down create destroy list exec block-attach block-detach network-attach \
	network-detach block-list network-list devd dump wait; do
	run 0 "$XENSIM" "$verb" --help
	grep -q "^usage: xensim $verb" <<<"$OUT" || fail "$verb --help: $OUT"
	grep -q "  $verb" <<<"$("$XENSIM")" || fail "$verb missing from the top usage"
done
pass "usage and --help on every verb"

run 2 "$XENSIM" frobnicate
grep -q "unknown verb" <<<"$ERR" || fail "unknown verb: $ERR"
run 2 "$XENSIM" create
run 2 "$XENSIM" list
pass "unknown verb and missing arguments exit 2"

run 1 "$XENSIM" list /nonexistent/dir
grep -q "not a directory" <<<"$ERR" || fail "bad DIR: $ERR"
run 1 "$XENSIM" up /nonexistent/dir/sub
run 1 "$XENSIM" create "$TS_DIR" guest
grep -q "no host running" <<<"$ERR" || fail "no host: $ERR"
pass "bad DIR and no host fail with a message"

run 2 "$XENSIM" up "$TS_DIR" --bogus 1
run 2 "$XENSIM" up "$TS_DIR" --quota-watches
run 0 "$XENSIM" up "$TS_DIR" --quota-watches 7
xsd=$(cut -d' ' -f1 "$TS_DIR/toolstack/xenstored.pid")
tr '\0' ' ' <"/proc/$xsd/cmdline" | grep -q -- "--quota-watches 7 *$" ||
	fail "quota option not passed to xenstored: $(tr '\0' ' ' <"/proc/$xsd/cmdline")"
pass "up passes --quota-* options to xensim-xenstored, refuses others"
run 1 "$XENSIM" block-attach "$TS_DIR" 42 "vdev=xvda,target=/x"
grep -q "no domain 42" <<<"$ERR" || fail "unknown domain: $ERR"
run 1 "$XENSIM" block-detach "$TS_DIR" 0 xvda
grep -q "no vbd device" <<<"$ERR" || fail "unknown device: $ERR"
pass "unknown domain or device fails with a message"

# dump - : whatever xenstored libxenstore finds (the oracle's mode on real Xen)
run 0 env XENSTORED_PATH="$TS_DIR/xenstored/dom0.sock" "$XENSIM" dump - /local/domain/0/name
[ "$OUT" = '/local/domain/0/name = "Domain-0"  (n0)' ] || fail "dump -: $OUT"
run 1 env XENSTORED_PATH=/nonexistent.sock "$XENSIM" dump - /
pass "dump - reads the xenstored of the environment"
echo "1..6"
