# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the net scenarios of the sim suite, on top of lib.sh (the
# simulated host, cleanup, waits, JSON assertions).
#
# A scenario runs netbackd-sim in the driver domain (its log in
# $SIM_TMP/netbackd.log), attaches vifs to guests with xl's vif spec, and
# drives them with netfront-sim: as a packet generator/verifier, or bridged
# to a TAP device inside a network namespace of its own so that Linux's
# TCP/IP stack runs over the rings. Namespaces are named after the
# scenario's temporary directory and removed at exit.
#
# Environment (tests/sim/meson.build): NETBACKD_SIM, NETFRONT_SIM besides
# lib.sh's.

: "${NETBACKD_SIM:?}" "${NETFRONT_SIM:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NB_PID=
NS_PREFIX=nbt$$
NF_TIMEOUT=${NF_TIMEOUT:-30}

need_root_net() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TAP)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	ip netns add "${NS_PREFIX}probe" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "${NS_PREFIX}probe"
}

# netbackd_start ARGS...: netbackd-sim in the driver domain, foreground.
# The receivers of verified transfers are processes on a loaded 2-CPU
# machine (meson runs tests side by side): a backlog of 4096 frames lets
# one be off the CPU for ~0.1 s at 50000 frames/s without a loss that
# would be the scheduler's, not netbackd's. A test of the backlog itself
# gives its own --rx-backlog (the last one given wins).
netbackd_start() {
	# shellcheck disable=SC2086 # the wrapper is a command line
	"$XENSIM" exec "$H" "$DD" -- ${NETBACKD_WRAPPER:-} "$NETBACKD_SIM" \
		--runtime-dir "$SIM_TMP/run" --rx-backlog 4096 ${NETBACKD_ARGS:-} "$@" \
		2>>"$SIM_TMP/netbackd.log" &
	NB_PID=$!
	SIM_PIDS+=("$NB_PID")
	wait_for 30 test -S "$SIM_TMP/run/netbackd.sock" || fail "netbackd-sim did not start"
	say "netbackd-sim up"
}

# netbackd_kill SIG: signals netbackd-sim itself and waits for it (NB_RC).
netbackd_kill() {
	local pid
	pid=$(pgrep -P "$NB_PID" | head -n 1) || fail "no netbackd-sim under pid $NB_PID"
	kill -"$1" "$pid"
	wait "$NB_PID"
	NB_RC=$?
	say "netbackd-sim $pid stopped by SIG$1 (exit $NB_RC)"
}

# uplink_ns: NSU, a namespace standing for the world beyond an uplink, removed at exit.
uplink_ns() {
	NSU=${NS_PREFIX}up
	ip netns add "$NSU" || fail "ip netns add $NSU"
	SIM_CLEANUP+=("ip netns del $NSU")
}

nb_status() { "$NETBACKD_SIM" --status --runtime-dir "$SIM_TMP/run" 2>/dev/null; }

# nb_counter GUEST DEVID NAME...: the sum of the named counters of that vif.
nb_counter() {
	local g=$1 d=$2
	shift 2
	nb_status | awk -v dev="vif $g/$d:" -v names=" $* " '
		index($0, dev) == 1 { f = 1; next }
		f { for (i = 1; i <= NF; i++) { split($i, a, "=")
			if (index(names, " " a[1] " ")) n += a[2] }
		    print n + 0; exit }'
}

nb_connected() { nb_status | grep -q "^vif $1/$2: Connected"; }

vbe_path() { echo "/local/domain/$DD/backend/vif/$1/$2"; }

# vif_attach GUEST MAC [SPEC-ITEMS...]: xl's vif spec with backend = the
# driver domain; then what the vif hotplug script reports on success.
# Prints the devid.
vif_attach() {
	local g=$1 mac=$2 devid
	shift 2
	devid=$(timeout 30 "$XENSIM" network-attach "$H" "$g" "backend=dd" "mac=$mac" "$@" --wait) ||
		fail "network-attach $mac to $g (backend never reached InitWait)"
	xs_dd write "$(vbe_path "$g" "$devid")/hotplug-status" connected
	say "attached vif $g/$devid mac $mac $*"
	echo "$devid"
}

# nf GUEST DEVID ARGS...: netfront-sim with --json; the JSON line goes to
# ${NF_OUT:-$SIM_TMP/last.json} and stderr; returns its status.
nf() {
	local g=$1 d=$2 out=${NF_OUT:-$SIM_TMP/last.json} rc
	shift 2
	timeout $((NF_TIMEOUT * 4 + 60)) "$XENSIM" exec "$H" "$g" -- "$NETFRONT_SIM" \
		--vif "$d" --timeout "$NF_TIMEOUT" --json "$@" >"$out"
	rc=$?
	echo "netfront dom$g vif $d $*: exit $rc" >&2
	cat "$out" >&2
	return $rc
}

# nf_bg OUT GUEST DEVID ARGS...: the same in the background (NF_PID).
nf_bg() {
	local out=$1 g=$2 d=$3
	shift 3
	"$XENSIM" exec "$H" "$g" -- "$NETFRONT_SIM" --vif "$d" --timeout "$NF_TIMEOUT" --json \
		"$@" >"$out" 2>>"$SIM_TMP/netfront.log" &
	NF_PID=$!
	SIM_PIDS+=("$NF_PID")
}

nf_wait() {
	local rc
	wait "$1"
	rc=$?
	echo "netfront ($3): exit $rc" >&2
	cat "$2" >&2
	[ "$rc" = 0 ] || fail "$3 failed"
}

# ns_guest NAME GUEST DEVID IP/PREFIX [NETFRONT-ARGS...]: a network
# namespace NAME whose eth1 is netfront-sim's TAP on that vif, up with IP.
# NSG_PID is netfront's; SIGTERM ends it, its JSON then in
# $SIM_TMP/netfront-NAME.json.
ns_guest() {
	local name=$1 ns=$NS_PREFIX$1 g=$2 d=$3 ip=$4
	shift 4
	ip netns add "$ns" || fail "ip netns add $ns"
	SIM_CLEANUP+=("ip netns del $ns")
	ip netns exec "$ns" "$XENSIM" exec "$H" "$g" -- "$NETFRONT_SIM" --vif "$d" \
		--tap eth1 --json "$@" >"$SIM_TMP/netfront-$name.json" \
		2>>"$SIM_TMP/netfront-$name.log" &
	NSG_PID=$!
	SIM_PIDS+=("$NSG_PID")
	wait_for 30 ip netns exec "$ns" ip link show eth1 >/dev/null 2>&1 ||
		fail "netfront's TAP did not appear in $ns"
	ip netns exec "$ns" ip addr add "$ip" dev eth1 || fail "address on $ns"
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip link set eth1 up || fail "eth1 up in $ns"
	say "namespace $ns: eth1 = vif $g/$d, $ip"
}

# in_ns NAME CMD...: runs CMD in namespace NAME.
in_ns() { local ns=$NS_PREFIX$1; shift; ip netns exec "$ns" "$@"; }

# A failing net scenario shows what the daemon counted at that moment.
fail() {
	if [ -S "$SIM_TMP/run/netbackd.sock" ]; then
		echo "---- netbackd --status at the failure ----" >&2
		"$NETBACKD_SIM" --status --runtime-dir "$SIM_TMP/run" >&2
		echo "---- (--status exit $?) ----" >&2
	fi
	echo "FAIL: $*" >&2
	exit 1
}

# nb_port_counter GUEST DEVID NAME...: the sum of the named switch counters
# of that vif's port (`port vif G/D:` in --status: rx, tx, flooded,
# drop-isolated, drop-mcast-filter ...).
nb_port_counter() {
	local g=$1 d=$2
	shift 2
	nb_status | awk -v port="port vif $g/$d:" -v names=" $* " '
		index($0, port) == 1 { for (i = 4; i <= NF; i++) { split($i, a, "=")
			if (index(names, " " a[1] " ")) n += a[2] }
		    print n + 0; exit }'
}

# nb_switch_counter GUEST DEVID NAME...: the sum of the named switch
# counters of that vif, from the `    switch:` line under it in --status
# (there while the vif exists, connected or not).
nb_switch_counter() {
	local g=$1 d=$2
	shift 2
	nb_status | awk -v dev="vif $g/$d:" -v names=" $* " '
		index($0, dev) == 1 { f = 1; next }
		f && $1 == "switch:" { for (i = 2; i <= NF; i++) { split($i, a, "=")
			if (index(names, " " a[1] " ")) n += a[2] }
		    print n + 0; exit }'
}

# nb_counter_at_least GUEST DEVID NAME N: that vif counter reached N.
nb_counter_at_least() {
	local n
	n=$(nb_counter "$1" "$2" "$3")
	[ -n "$n" ] && [ "$n" -ge "$4" ]
}

# xs_guest GUEST VERB ARGS...: xenstore-VERB as a process of that guest.
xs_guest() { local g=$1 v=$2; shift 2; "$XENSIM" exec "$H" "$g" -- "xenstore-$v" "$@"; }

# tcp_bg FROM TO TO-IP MIB: a checksummed TCP transfer of MIB MiB from
# namespace FROM to namespace TO (ns_guest names) in the background
# (TCP_CLI, TCP_SRV); tcp_verify MIB waits for both ends and compares.
tcp_bg() {
	local port=$((7000 + RANDOM % 1000))
	in_ns "$2" python3 "$(dirname "$0")/tcpxfer.py" serve "$port" --timeout 60 \
		>"$SIM_TMP/srv.json" 2>"$SIM_TMP/srv.err" &
	TCP_SRV=$!
	SIM_PIDS+=("$TCP_SRV")
	wait_for 10 grep -q listening "$SIM_TMP/srv.err" || fail "server did not listen"
	in_ns "$1" python3 "$(dirname "$0")/tcpxfer.py" send "$3" "$port" "$4" --timeout 60 \
		>"$SIM_TMP/cli.json" &
	TCP_CLI=$!
	SIM_PIDS+=("$TCP_CLI")
}

tcp_verify() {
	wait "$TCP_CLI" || fail "the TCP sender failed"
	wait "$TCP_SRV" || fail "the TCP receiver failed"
	cat "$SIM_TMP/cli.json" "$SIM_TMP/srv.json" >&2
	python3 -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if a["bytes"] == b["bytes"] == '"$1"' << 20 and a["sha256"] == b["sha256"] else 1)' \
		"$SIM_TMP/cli.json" "$SIM_TMP/srv.json" || fail "TCP: the data differ"
	SIM_VERIFIED=$((SIM_VERIFIED + ($1 << 20)))
}
