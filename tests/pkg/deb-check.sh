#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package as an operator gets it, on this machine (suite pkg,
# `make check-deb`; not in `make check`: it builds the package, a few
# minutes, and installs and purges it, root):
#   1. `make deb`: dpkg-buildpackage, then lintian on the .changes, which
#      fails on any error, warning or info tag (overrides: debian/*.lintian-overrides);
#   2. the .deb holds exactly tests/pkg/contents.txt, its conffiles are the
#      files in /etc, and there is a -dbgsym package;
#   3. `apt-get install ./ddom_*.deb`: the files, the programs' --version, the
#      manual pages, the units enabled and verified by systemd-analyze, no
#      daemon started; installed again over itself (the upgrade path of the
#      maintainer scripts);
#   4. `apt-get remove`: the programs gone, the edited conffiles and the
#      runtime directories (restart state) kept;
#   5. `apt-get purge`: nothing of ours left in /etc, /lib, /usr, /var or /run
#      (everything named *ddom*, *blkbackd*, *netbackd* is as it was before,
#      every file dpkg -L listed is gone), the enablement links gone.
# systemd need not be PID 1: the maintainer scripts then only manage the
# enablement links, which is what is checked. The package's dependencies are
# installed first (apt-get satisfy) and stay. A ddom package already
# installed is purged first.
# Usage: deb-check.sh SOURCE_ROOT   (exit 77 when not root or without apt)
set -u
. "$(dirname "$0")/../unit/tap.sh"

SRC=$1
OUT=${DEB_OUT:-build-deb}
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
command -v apt-get >/dev/null 2>&1 || { echo "1..0 # SKIP needs apt-get"; exit 77; }
cd "$SRC" || exit 1

tap_init deb-check
LOG=$D
export DEBIAN_FRONTEND=noninteractive
UNITS="blkbackd.service netbackd.service"
PATTERN='*ddom*|*blkbackd*|*netbackd*'

# check STATUS WHAT DIAGNOSTICS: ok, with DIAGNOSTICS' lines shown on failure.
check() {
	ok "$1" "$2"
	[ "$1" = 0 ] || printf '%s\n' "$3" | sed 's/^/# /'
}

# Runs a command with its output in $LOG/last, shown as diagnostics on failure.
run() {
	local what=$1
	shift
	"$@" >"$LOG/last" 2>&1
	local r=$?
	ok $r "$what"
	[ $r = 0 ] || tail -n 40 "$LOG/last" | sed 's/^/# /'
	return $r
}

# Every path of ours on the system, outside the build trees and xenhost's
# caches (other runs' payloads, which come and go meanwhile).
ours() {
	find /etc /lib /usr /var /run -xdev \
		\( -path /var/cache/apt -o -path /var/lib/apt -o -path /var/log/apt \
		-o -path /var/tmp -o -path '/var/cache/ddom-xenhost*' \) -prune -o \
		\( -name '*ddom*' -o -name '*blkbackd*' -o -name '*netbackd*' \) -print 2>/dev/null |
		sort
}

echo "TAP version 13"

# ---- 1. build and lintian
run "make deb (dpkg-buildpackage -us -uc -b, lintian clean)" make deb DEB_OUT="$OUT" || {
	echo "1..$n"
	exit 1
}
version=$(dpkg-parsechangelog -S Version)
DEB=$OUT/ddom_${version}_amd64.deb
[ -f "$DEB" ]
ok $? "$DEB built"
ls "$OUT"/ddom-dbgsym_"${version}"_amd64.*deb >/dev/null 2>&1
ok $? "a -dbgsym package beside it"

# ---- 2. contents
grep -v '^#' tests/pkg/contents.txt | awk 'NF { print $1 }' | sort >"$LOG/want"
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$LOG/have"
d=$(diff "$LOG/want" "$LOG/have")
check $? "the package holds exactly tests/pkg/contents.txt" "$d"
dpkg-deb --info "$DEB" conffiles | sort >"$LOG/conffiles"
grep '^/etc/' "$LOG/want" | diff - "$LOG/conffiles" >/dev/null
ok $? "its conffiles are its files in /etc"
dpkg-deb -c "$DEB" | awk '{ print $2, $6 }' | grep -v '^root/root ' >"$LOG/owners"
[ ! -s "$LOG/owners" ]
ok $? "every file is owned by root"

# ---- 3. install
if dpkg-query -W -f='${Status}' ddom 2>/dev/null | grep -q 'installed\|config-files'; then
	echo "# ddom was installed here: purging it first"
	apt-get purge -y -qq ddom >/dev/null 2>&1
fi
run "its dependencies installed (apt-get satisfy)" \
	apt-get satisfy -y --no-install-recommends "$(dpkg-deb -f "$DEB" Depends)"
ours >"$LOG/before"

run "apt-get install ./$(basename "$DEB")" apt-get install -y --no-install-recommends "./$DEB"
dpkg-query -L ddom | sort >"$LOG/listed"
missing=$(comm -23 "$LOG/want" "$LOG/listed")
[ -z "$missing" ]
check $? "dpkg -L lists every file" "$missing"
for f in $(cat "$LOG/want"); do
	[ -e "$f" ] || echo "$f"
done >"$LOG/absent"
[ ! -s "$LOG/absent" ]
check $? "every file is on disk" "$(cat "$LOG/absent")"
for prog in blkbackd netbackd ddomctl; do
	out=$("/usr/sbin/$prog" --version 2>&1)
	[ "$out" = "$prog $version" ]
	check $? "$prog --version says $version" "$out"
done
for page in blkbackd.8 netbackd.8 ddomctl.8 ddom.conf.5; do
	man -w "${page%.*}" "${page##*.}" 2>/dev/null | grep -q "/usr/share/man/"
	ok $? "man ${page##*.} ${page%.*} finds the page"
done
for u in $UNITS; do
	[ "$(readlink "/etc/systemd/system/multi-user.target.wants/$u")" = "/lib/systemd/system/$u" ]
	ok $? "$u enabled (multi-user.target.wants)"
	pgrep -f "^/usr/sbin/${u%.service}( |$)" >/dev/null
	[ $? = 1 ]
	ok $? "${u%.service} not started"
	if command -v systemd-analyze >/dev/null 2>&1; then
		out=$(systemd-analyze verify "/lib/systemd/system/$u" 2>&1)
		[ -z "$out" ]
		check $? "systemd-analyze verify $u (as installed)" "$out"
	fi
done
[ -x /etc/xen/scripts/block-ddom ] && [ -x /etc/xen/scripts/vif-ddom ]
ok $? "the hotplug scripts are executable where xl devd looks"
getent passwd blkbackd >/dev/null && getent passwd netbackd >/dev/null && getent group ddom >/dev/null &&
	[ "$(id -gn blkbackd)" = ddom ] && [ "$(id -gn netbackd)" = ddom ]
ok $? "the postinst created the users blkbackd and netbackd, group ddom (sysusers)"
command -v setfacl >/dev/null
ok $? "setfacl is there for block-ddom (Depends: acl)"
run "installed again over itself (the upgrade path of the maintainer scripts)" \
	dpkg -i "$DEB"

# What the units and block-ddom make at run time (systemd is not PID 1 here).
mkdir -p /run/blkbackd /run/netbackd /var/log/netbackd /run/lock
: >/run/blkbackd/vbd-1-51712-q0.state
: >/run/netbackd/vif-1-0.state
: >/var/log/netbackd/vif1.pcapng
: >/run/lock/ddom-block.lock
echo "# edited by deb-check" >>/etc/ddom/blkbackd.conf

# ---- 4. remove
run "apt-get remove ddom" apt-get remove -y ddom
[ ! -e /usr/sbin/blkbackd ] && [ ! -e /usr/sbin/netbackd ] && [ ! -e /usr/sbin/ddomctl ]
ok $? "the programs are gone"
grep -q "edited by deb-check" /etc/ddom/blkbackd.conf 2>/dev/null
ok $? "the edited conffile is kept"
[ -e /run/blkbackd/vbd-1-51712-q0.state ] && [ -e /run/netbackd/vif-1-0.state ]
ok $? "the restart state is kept (a reinstalled daemon reattaches)"

# ---- 5. purge
run "apt-get purge ddom" apt-get purge -y ddom
dpkg-query -W -f='${Status}' ddom 2>/dev/null | grep -q 'installed\|config-files'
[ $? = 1 ]
ok $? "dpkg knows nothing of ddom"
left=$(while read -r f; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	[ -d "$f" ] && continue # shared directories (/etc/xen, /lib: a link on merged-/usr)
	echo "$f"
done <"$LOG/listed")
[ -z "$left" ]
check $? "every file dpkg -L listed is gone" "$left"
ours >"$LOG/after"
d=$(diff "$LOG/before" "$LOG/after")
check $? "nothing named $PATTERN left that was not there before (/etc /lib /usr /var /run)" "$d"
for u in $UNITS; do
	[ ! -e "/etc/systemd/system/multi-user.target.wants/$u" ] && [ ! -L "/etc/systemd/system/multi-user.target.wants/$u" ]
	ok $? "$u's enablement link is gone"
done

echo "1..$n"
[ $fails = 0 ]
