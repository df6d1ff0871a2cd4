#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The nodes of a vbd and a vif whose backends are in a driver domain match
# what libxl writes (golden-attach.txt, derived from libxl's code), and what
# is left after both are detached from a backend that answers matches
# golden-detach.txt. The dump is `xensim dump --symbolic`, the format the
# real-Xen oracle compares against.
. "$(dirname "$0")/lib.sh"
: "${TS_GOLDEN_DIR:?}" "${TS_FAKE_BACKEND:?}"

# dump_roots ROOT...: each subtree, or "ROOT: absent"; symbolic ids.
dump_roots() {
	local r sym
	for r in "$@"; do
		sym=$(sed -e "s|/local/domain/$g\b|/local/domain/{guest}|" \
			-e "s|/local/domain/$dd\b|/local/domain/{dd}|" \
			-e "s|^/libxl/$g\b|/libxl/{guest}|" <<<"$r")
		"$XENSIM" dump "$TS_DIR" "$r" --symbolic 2>/dev/null || echo "$sym: absent"
	done | LC_ALL=C sort
}

golden() {
	grep -v -e '^#' -e '^$' "$TS_GOLDEN_DIR/$1" | LC_ALL=C sort
}

run 0 "$XENSIM" up "$TS_DIR"
run 0 "$XENSIM" create "$TS_DIR" guest
g=$OUT
run 0 "$XENSIM" create "$TS_DIR" dd --driver-domain
dd=$OUT

run 0 "$XENSIM" block-attach "$TS_DIR" guest 'vdev=xvda,access=rw,backend=dd,target=/srv/guest.img'
run 0 "$XENSIM" network-attach "$TS_DIR" guest mac=00:16:3e:0a:0b:0c,bridge=xenbr1,backend=dd \
	rate=10MB/s@20ms,mtu=9000,ip=192.0.2.10
[ "$OUT" = 0 ] || fail "network-attach printed devid $OUT, expected 0"
dump_roots /local/domain/$g/device/vbd /local/domain/$g/device/vif /local/domain/$dd/backend \
	/libxl/$g/device/vbd /libxl/$g/device/vif >"$TS_DIR/attach.txt"
diff -u <(golden golden-attach.txt) "$TS_DIR/attach.txt" || fail "attached trees differ from libxl's"
pass "vbd and vif nodes, values and permissions match libxl's"

exec 3< <("$XENSIM" exec "$TS_DIR" dd -- "$TS_FAKE_BACKEND")
read -r -t 10 -u 3 ready || fail "fake backend did not start"
run 0 "$XENSIM" block-detach "$TS_DIR" guest xvda
run 0 "$XENSIM" network-detach "$TS_DIR" guest 0
dump_roots /local/domain/$g/device /local/domain/$dd/backend /libxl/$g/device/vbd \
	/libxl/$g/device/vif >"$TS_DIR/detach.txt"
diff -u <(golden golden-detach.txt) "$TS_DIR/detach.txt" || fail "trees after detach differ"
pass "nodes left after detach match libxl's"
echo "1..2"
