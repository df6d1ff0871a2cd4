#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-restart: netbackd-sim killed with SIGKILL three times under a
# running TCP transfer between two guests (Linux stacks in namespaces over
# netfront's TAPs), and stopped once with SIGTERM. Each time a new
# netbackd-sim reattaches both vifs' live rings before it says ready: the
# vifs and the frontends stay Connected (state 4) throughout, no frontend
# ever reconnects, and the 768 MiB transfer completes with its checksum. Then a
# state file of another format version (an upgrade) is refused by name.
. "$(dirname "$0")/net-lib.sh"

MAC_A=00:16:3e:00:02:0a
MAC_B=00:16:3e:00:02:0b
need_root_net
sim_up
A=$(sim_guest ga)
B=$(sim_guest gb)
netbackd_start
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")
ns_guest a "$A" "$DA" 10.13.0.1/24
ns_guest b "$B" "$DB" 10.13.0.2/24
in_ns a ping -c 2 -W 5 10.13.0.2 >&2 || fail "ping a -> b"

PORT=7001
in_ns b python3 "$(dirname "$0")/tcpxfer.py" serve $PORT --timeout 120 \
	>"$SIM_TMP/srv.json" 2>"$SIM_TMP/srv.err" &
SRV=$!
wait_for 10 grep -q listening "$SIM_TMP/srv.err" || fail "server did not listen"
in_ns a python3 "$(dirname "$0")/tcpxfer.py" send 10.13.0.2 $PORT 768 --timeout 120 \
	>"$SIM_TMP/cli.json" &
CLI=$!

states_connected() {
	local s
	for s in "$(vbe_path "$A" "$DA")/state" "$(vbe_path "$B" "$DB")/state" \
		"/local/domain/$A/device/vif/$DA/state" "/local/domain/$B/device/vif/$DB/state"; do
		[ "$(xs_d0 read "$s")" = 4 ] || { echo "$s is not 4" >&2; return 1; }
	done
}
# progress N: the running daemon has carried N more of A's frames.
progress() {
	local n
	n=$(nb_counter "$A" "$DA" tx)
	[ -n "$n" ] && [ "$n" -ge "$1" ]
}

for round in 1 2 3 4; do
	wait_for 60 progress 2000 || fail "round $round: no traffic through netbackd"
	sig=KILL
	[ "$round" = 4 ] && sig=TERM
	netbackd_kill $sig
	states_connected || fail "round $round: a state changed while netbackd was down"
	netbackd_start
	wait_for 30 nb_connected "$A" "$DA" || fail "round $round: vif $A/$DA not reattached"
	wait_for 30 nb_connected "$B" "$DB" || fail "round $round: vif $B/$DB not reattached"
	states_connected || fail "round $round: a state changed across the restart"
	say "round $round: reattached after SIG$sig"
done
wait "$CLI" || fail "the sender failed"
wait "$SRV" || fail "the receiver failed"
cat "$SIM_TMP/cli.json" "$SIM_TMP/srv.json" >&2
python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if a["bytes"] == b["bytes"] == 768 << 20 and a["sha256"] == b["sha256"] else 1)' \
	"$SIM_TMP/cli.json" "$SIM_TMP/srv.json" || fail "the transfer's data differ"
[ "$(grep -c "reattached" "$SIM_TMP/netbackd.log")" -ge 8 ] || fail "fewer reattaches logged than restarts x vifs"
[ "$(grep -c ' connected,' "$SIM_TMP/netbackd.log")" = 2 ] ||
	fail "a vif connected afresh (the frontend reconnected) instead of being reattached"
say "768 MiB verified across 3 kills and a stop"

# An upgrade to a netbackd whose state file format differs: the file is refused as such, never
# read (its format version is the u32 after the 8-byte magic, netbackd/vif.h), that vif closes
# with an error saying so, and the other is reattached.
netbackd_kill KILL
python3 - "$SIM_TMP/run/vif-$A-$DA.state" <<'EOP'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(8)
    v = struct.unpack('<I', f.read(4))[0]
    f.seek(8)
    f.write(struct.pack('<I', v + 1))
EOP
netbackd_start
wait_for 30 nb_connected "$B" "$DB" || fail "vif $B/$DB not reattached beside the refused file"
err_says_version() { xs_dd read "$(vbe_path "$A" "$DA")/error" 2>/dev/null | grep -q 'another format version'; }
wait_for 30 err_says_version || fail "vif $A/$DA: no error node naming the state file's format version"
say "a state file of another format version: refused with \"$(xs_dd read "$(vbe_path "$A" "$DA")/error")\""
