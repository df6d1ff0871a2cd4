# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the shell unit tests: TAP output and a scratch directory.
#
#   tap_init NAME [XENSIM]   D=a fresh /tmp/NAME-XXXXXX; on exit the xensim host
#                            there is brought down (with XENSIM), the process in
#                            $pid killed, D removed
#   ok STATUS TEXT           one TAP line: "ok N - TEXT" when STATUS is 0
#   tap_done                 the plan line; returns 1 if any check failed
fails=0
n=0
pid=
TAP_XENSIM=

tap_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$TAP_XENSIM" ] && "$TAP_XENSIM" down "$D" >/dev/null 2>&1
	rm -rf "$D"
}

tap_init() {
	D=$(mktemp -d "/tmp/$1-XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
	TAP_XENSIM=${2:-}
	trap tap_cleanup EXIT
}

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}

tap_done() {
	echo "1..$n"
	[ "$fails" = 0 ]
}
