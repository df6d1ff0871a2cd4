#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/net-hostile: every netfront --hostile attack against netbackd-sim,
# each from a fresh vif of a hostile guest X, each with the answer Linux
# netback gives (netback.c): closed for what no correct frontend does (the
# vif goes Closing/Closed and its backend `error` node says why), dropped
# for a bad request that only hurts its own frame (every slot answered with
# an error, counted, and a valid frame goes through afterwards), ok for
# storms and a guest that stops consuming. All the while a second pair of
# guests runs verified generator transfers round after round (P sends to Q;
# Q only receives, so the switch never learns it and floods P's frames to
# every vif, the hostile ones included: the RX attacks get traffic and a
# stalled hostile vif sits on the path); every round must end with every
# frame received, in order, intact, and every TX answered OKAY. At the end
# netbackd is alive and answers --status, and the storm of thousands of bad
# grants logged a bounded number of lines (the log is rate-limited).
. "$(dirname "$0")/net-lib.sh"

MAC_P=00:16:3e:00:06:a0
MAC_Q=00:16:3e:00:06:b0
ROUND=20000

# name: the answers it must get (Linux xen-netback's verdict, netback.c)
declare -A EXPECT=(
	[too-many-slots]=closed		# > fatal_skb_slots (20): "Malicious frontend"
	[cross-page]=closed		# offset + size > XEN_PAGE_SIZE: xenvif_fatal_tx_err
	[first-smaller]=dropped		# slot larger than the rest: drop_err, "buggy frontends"
	[runt]=dropped			# size < ETH_HLEN: xenvif_tx_err
	[extra-bad-type]=closed		# "Invalid extra type"
	[extra-more-runs-off]=closed	# "Missing extra info"
	[gso-zero-size]=closed		# "GSO size must not be zero"
	[bad-gref]=dropped		# the grant copy fails: XEN_NETIF_RSP_ERROR
	[prod-jump]=closed		# "Impossible number of requests"
	[rx-bad-gref]=dropped		# the RX copy fails: status XEN_NETIF_RSP_ERROR
	[event-storm]=ok
	[bad-gref-storm]=dropped
	[stop-rx]=ok			# backlog bounded, others unaffected
	[tx-after-post]=ok,closed	# copied once: the valid or the bad version, never both
)

sim_up
P=$(sim_guest gp)
Q=$(sim_guest gq)
X=$(sim_guest gx)
# The bystander receiver Q is a process on a busy 2-CPU machine (the
# worker polls one CPU, the hostile guests and the sender share the rest):
# a backlog of 2048 frames and 5000 frames/s let Q be off the CPU for
# (256 + 2048) / 5000 = 0.46 s without losing a frame. The hostile vifs
# that stop consuming hold at most a backlog each, far below --mbufs.
netbackd_start --rx-backlog 2048
DP=$(vif_attach "$P" "$MAC_P")
DQ=$(vif_attach "$Q" "$MAC_Q")

# Every attack netfront knows has an expectation here.
for a in $("$NETFRONT_SIM" --hostile list | awk '{ print $1 }'); do
	[ -n "${EXPECT[$a]:-}" ] || fail "no expectation for hostile attack $a"
done

# The bystanders: rounds of ROUND verified frames P -> Q until told to stop.
# Runs in a subshell: it reports in files, the main script judges. P takes
# generator frames only from Q (none): the hostile vifs' frames (stream 0,
# flooded) are not P's business.
traffic() {
	local i=0
	while [ ! -e "$SIM_TMP/traffic.stop" ]; do
		i=$((i + 1))
		nf_bg "$SIM_TMP/recv-$i.json" "$Q" "$DQ" --recv $ROUND --from "$MAC_P"
		if ! wait_for 30 nb_connected "$Q" "$DQ"; then
			echo "round $i: Q never connected" >"$SIM_TMP/traffic.err"
			return
		fi
		if ! NF_OUT=$SIM_TMP/send-$i.json nf "$P" "$DP" --send $ROUND --to "$MAC_Q" \
			--from "$MAC_Q" --size 60-1514 --pps 5000 2>>"$SIM_TMP/traffic.log"; then
			{ echo "round $i: the sender failed"; cat "$SIM_TMP/send-$i.json"; } \
				>"$SIM_TMP/traffic.err"
			return
		fi
		if ! wait "$NF_PID"; then
			{ echo "round $i: the receiver failed"; cat "$SIM_TMP/recv-$i.json"; } \
				>"$SIM_TMP/traffic.err"
			return
		fi
		if ! jtrue '(d["received"] == '$ROUND' and d["lost"] == 0 and d["corrupted"] == 0 and
			d["reordered"] == 0 and d["duplicates"] == 0 and d["rx_errors"] == 0)' \
			"$SIM_TMP/recv-$i.json" ||
		   ! jtrue 'd["sent"] == '$ROUND' and d["tx_errors"] == 0 and d["tx_bad_rsp"] == 0' \
			"$SIM_TMP/send-$i.json"; then
			{ echo "round $i: frames lost, damaged or not answered OKAY"
			  cat "$SIM_TMP/recv-$i.json" "$SIM_TMP/send-$i.json"; } >"$SIM_TMP/traffic.err"
			return
		fi
		echo "$i" >"$SIM_TMP/traffic.rounds"
	done
}
traffic &
TRAFFIC=$!
SIM_PIDS+=("$TRAFFIC")
wait_for 30 nb_counter_at_least "$P" "$DP" tx 1000 || fail "the bystanders' traffic did not start"
say "bystander traffic P -> Q running"

i=0
for a in $("$NETFRONT_SIM" --hostile list | awk '{ print $1 }'); do
	i=$((i + 1))
	exp=${EXPECT[$a]}
	mac=00:16:3e:00:06:$(printf %02x "$i")
	d=$(vif_attach "$X" "$mac")
	out=$SIM_TMP/h-$a.json
	tmo=20
	[ "$a" = stop-rx ] && tmo=3	# how long it stops consuming
	NF_OUT=$out nf "$X" "$d" --hostile "$a" --expect "$exp" --timeout $tmo ||
		fail "hostile $a: not answered $exp"
	ans=$(jget answer "$out")
	case $ans in
	closed)
		jtrue 'd["backend_error"] != ""' "$out" || fail "$a: closed without an error node"
		err=$(xs_dd read "$(vbe_path "$X" "$d")/error") ||
			fail "$a: no error node in the backend directory"
		nb_status | grep -Eq "^vif $X/$d: (Closing|Closed) " ||
			fail "$a: netbackd does not list vif $X/$d as Closing/Closed"
		say "$a: closed, error \"$err\""
		;;
	dropped)
		[ "$(jget after "$out")" = ok ] || fail "$a: no valid frame after the dropped one"
		[ "$(nb_counter "$X" "$d" tx-err-proto tx-err-grant rx-err-grant)" -ge 1 ] ||
			fail "$a: netbackd did not count the bad request"
		say "$a: dropped ($(jget detail "$out")), a valid frame went through after it"
		;;
	ok)
		[ "$(jget after "$out")" = ok ] || fail "$a: no valid frame after it"
		say "$a: ok ($(jget detail "$out"))"
		;;
	esac
	[ -e "$SIM_TMP/traffic.err" ] && fail "bystanders during $a: $(cat "$SIM_TMP/traffic.err")"
	case $a in
	bad-gref-storm) STORM_VIF=$d ;;
	stop-rx) STALL_VIF=$d ;;
	esac
done

# The bystanders finish their round, which must have been clean.
rounds0=$(cat "$SIM_TMP/traffic.rounds" 2>/dev/null || echo 0)
touch "$SIM_TMP/traffic.stop"
wait "$TRAFFIC"
[ -e "$SIM_TMP/traffic.err" ] && fail "bystanders: $(cat "$SIM_TMP/traffic.err")"
rounds=$(cat "$SIM_TMP/traffic.rounds" 2>/dev/null || echo 0)
[ "$rounds" -gt "$rounds0" ] || fail "the bystanders' last round did not complete"
[ "$rounds" -ge 2 ] || fail "only $rounds bystander round(s) ran during the attacks"
SIM_VERIFIED=$((SIM_VERIFIED + $(cat "$SIM_TMP"/recv-*.json | python3 -c 'import json,sys
print(sum(json.loads(l)["bytes"] for l in sys.stdin if l.strip()))')))
say "bystanders: $rounds rounds of $ROUND frames, no loss, no error"

# netbackd is alive and answers; P's vif never saw an error.
kill -0 "$NB_PID" || fail "netbackd-sim died"
nb_status >"$SIM_TMP/status.txt" || fail "netbackd does not answer --status"
cat "$SIM_TMP/status.txt" >&2
[ "$(nb_counter "$P" "$DP" tx-err-proto tx-err-grant rx-err-grant)" = 0 ] ||
	fail "errors counted on the bystander's vif"
[ "$(nb_counter "$X" "$STALL_VIF" rx-drop-backlog)" -gt 0 ] ||
	fail "the stalled hostile vif dropped nothing at its backlog"

# The storm: thousands of failed grant copies, a bounded log.
storm=$(nb_counter "$X" "$STORM_VIF" tx-err-grant)
lines=$(grep -c "vif $X/$STORM_VIF: TX grant copy failed" "$SIM_TMP/netbackd.log")
say "bad-gref-storm: $storm failed grant copies, $lines log lines"
[ "$storm" -ge 1000 ] || fail "the storm made only $storm bad requests"
[ "$lines" -ge 1 ] && [ "$lines" -le 10 ] || fail "the storm logged $lines lines (not rate-limited)"
[ "$(wc -l <"$SIM_TMP/netbackd.log")" -le 400 ] || fail "netbackd's log grew to $(wc -l <"$SIM_TMP/netbackd.log") lines"
sim_report
