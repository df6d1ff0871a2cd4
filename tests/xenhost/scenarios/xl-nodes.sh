#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 0, xl-nodes: the xenstore trees real `xl` (Xen 4.17) writes for disks and
# vifs whose backend is a driver domain, dumped with `xenstore-ls -f -p` and printed in
# `xensim dump --symbolic` form (domain ids as {guest}/{dd}), so they can be compared with what
# xensim's toolstack writes. Two captures:
#   attach  one device at a time, no backend in the driver domain: the tree right after xl
#           wrote it, before any backend acted (xl then gives up after its 10 s InitWait wait);
#   detach  with a minimal responder (1 -> 2 InitWait, 5 -> 6 Closed) in the driver domain and
#           xl devd running the hotplug scripts: what is left after xl block-/network-detach.
# The guest is created paused with no disks of its own, so its kernel never touches the nodes.
# Output: the capture on stdout between "---- BEGIN xl-nodes" and "---- END xl-nodes"; with
# XH_ARGS[0]=compare, also diffed against tests/xenhost/golden/xl-nodes.txt (fails on change).
. "$XH_SRC/tests/xenhost/lib/xh.sh"

GOLDEN=$XH_SRC/tests/xenhost/golden/xl-nodes.txt
DISKS=(
	'vdev=xvda,access=rw,backend=dd,target=/srv/guest.img'
	'vdev=xvdb,access=ro,backend=dd,target=/srv/ro.img'
	'vdev=xvdc,devtype=cdrom,backend=dd,target=/srv/cd.iso'
	'vdev=xvdd,access=rw,backend=dd,script=block-ddom,target=/srv/s.img'
	'vdev=xvde,format=raw,access=rw,backend=dd,target=/dev/xvdd'
)
VIFS=(
	'mac=00:16:3e:0a:0b:0c,bridge=xenbr1,backend=dd,rate=10MB/s@20ms,mtu=9000,ip=192.0.2.10'
	'mac=00:16:3e:0a:0b:0d,backend=dd,script=vif-route,rate=1Mb/s'
	'mac=00:16:3e:0a:0b:0e,backend=dd,script=vif-ddom,mtu=9000'
)

xh_dd_start dd
dd=$(xh_domid dd)
xh_in dd 'mkdir -p /srv && for f in guest ro s; do truncate -s 64M /srv/$f.img; done &&
	truncate -s 1M /srv/cd.iso'
cat >"$XH_BOOT/gx.cfg" <<EOF
name = "gx"
type = "pv"
kernel = "$XH_BOOT/vmlinuz"
ramdisk = "$XH_BOOT/initrd.zst"
memory = 128
EOF
timeout 120 xl create -p "$XH_BOOT/gx.cfg" || xh_fail "xl create -p gx"
g=$(xh_domid gx)

# symbolic: xenstore-ls -f -p lines -> `PATH = "VALUE"  (PERMS)` with {guest}/{dd} for ids.
symbolic() {
	python3 -c '
import re, sys
g, dd = sys.argv[1], sys.argv[2]
ids = {g: "{guest}", dd: "{dd}"}
def dom(m):
    return m.group(1) + ids.get(m.group(2), m.group(2))
for line in sys.stdin:
    m = re.match(r"^(\S+) = (\".*\")\s+\((.*)\)\s*$", line.rstrip("\n"))
    if not m:
        continue
    path, value, perms = m.groups()
    path = re.sub(r"(/local/domain/|^/libxl/|/backend/(?:vbd|vif|qdisk|console)/)(\d+)(?=/|$)", dom, path)
    value = re.sub(r"(/local/domain/|/backend/(?:vbd|vif|qdisk|console)/)(\d+)(?=/|\"|$)", dom, value)
    if re.search(r"/(frontend-id|backend-id)$", path):
        value = re.sub(r"^\"(\d+)\"$", lambda v: "\"%s\"" % ids.get(v.group(1), v.group(1)), value)
    perms = re.sub(r"([nrwb])(\d+)", lambda p: p.group(1) + ids.get(p.group(2), p.group(2)), perms)
    print("%s = %s  (%s)" % (path, value, perms))
' "$g" "$dd"
}

# dump: every node under the guest's device/, the driver domain's backend/ and /libxl/<guest>
# (including those roots), sorted.
dump() {
	{
		xenstore-ls -f -p "/local/domain/$g" | grep "^/local/domain/$g/device[/ ]"
		xenstore-ls -f -p "/local/domain/$dd" | grep "^/local/domain/$dd/backend[/ ]"
		xenstore-ls -f -p /libxl | grep "^/libxl/$g/device[/ ]"
	} 2>/dev/null | symbolic | LC_ALL=C sort
}

capture=$XH_BOOT/xl-nodes.txt
FAILED_SPECS=
{
	echo "# The xenstore nodes real xl (Xen 4.17, Debian 12) writes, captured on xenhost by"
	echo "# tests/xenhost/scenarios/xl-nodes.sh. Format: xensim dump --symbolic."
} >"$capture"

# attach: the tree before any backend acted.
for spec in "${DISKS[@]}" "${VIFS[@]}"; do
	case "$spec" in
	mac=*) verb=network-attach kind=vif ;;
	*) verb=block-attach kind=vbd ;;
	esac
	xh_log "xl $verb gx '$spec' (no backend: expected to fail after 10 s)"
	# xl block-attach takes a disk spec; xl network-attach takes its keys as separate words.
	if [ $kind = vif ]; then
		timeout 60 xl "$verb" gx ${spec//,/ } >"$XH_BOOT/attach.log" 2>&1 &
	else
		timeout 60 xl "$verb" gx "$spec" >"$XH_BOOT/attach.log" 2>&1 &
	fi
	pid=$!
	if ! xh_wait_child "/local/domain/$dd/backend/$kind/$g" 30; then
		wait "$pid"
		echo "xl $verb gx '$spec' wrote no backend; xl said:"
		cat "$XH_BOOT/attach.log"
		{
			echo
			echo "## attach failed: $verb $spec"
			sed 's/^/# xl: /' "$XH_BOOT/attach.log"
		} >>"$capture"
		FAILED_SPECS="$FAILED_SPECS|$spec"
		continue
	fi
	# The backend directory's state node is the last one xl writes in its transaction.
	devid=$(xenstore-list "/local/domain/$dd/backend/$kind/$g" | head -1)
	xh_wait_xs "/local/domain/$dd/backend/$kind/$g/$devid/state" '^1$' 30 ||
		xh_fail "no backend state for '$spec'"
	{
		echo
		echo "## attach $verb $spec"
		dump
	} >>"$capture"
	wait "$pid" && xh_fail "xl $verb succeeded with no backend"
	# dom0's libxl does not remove a backend in another domain (that is xl devd's job there),
	# so what a failed attach leaves is part of the record; then it is cleared by hand so the
	# next device starts from the same tree.
	{
		echo
		echo "## left after xl gave up: $verb $spec"
		dump
	} >>"$capture"
	xenstore-rm "/local/domain/$dd/backend/$kind/$g/$devid" 2>/dev/null
	xenstore-rm "/local/domain/$g/device/$kind/$devid" 2>/dev/null
	xenstore-rm "/libxl/$g/device/$kind/$devid" 2>/dev/null
done

# detach: a responder stands in for a backend; xl devd runs the hotplug scripts.
xh_in dd "nohup bash -c 'xenstore-watch /local/domain/$dd/backend | while read -r p _; do
	case \$p in */state) ;; *) continue ;; esac
	case \$(xenstore-read \$p 2>/dev/null) in
	1) xenstore-write \$p 2 ;;
	5) xenstore-write \$p 6 ;;
	esac
done' >/dev/null 2>&1 & echo \$! > /run/xh-responder.pid; echo responder started"
for spec in "${DISKS[@]}"; do
	timeout 60 xl block-attach gx "$spec" || {
		echo "xl block-attach gx '$spec' failed"
		FAILED_SPECS="$FAILED_SPECS|$spec"
	}
done
for spec in "${VIFS[@]}"; do
	timeout 60 xl network-attach gx ${spec//,/ } || echo "xl network-attach gx '$spec' failed"
done
{
	echo
	echo "## attached, the responder at InitWait, hotplug scripts run by xl devd"
	dump
} >>"$capture"
for spec in "${DISKS[@]}"; do
	v=${spec#vdev=}
	timeout 60 xl block-detach gx "${v%%,*}" || {
		echo "xl block-detach gx ${v%%,*} failed"
		FAILED_SPECS="$FAILED_SPECS|detach ${v%%,*}"
	}
done
for spec in "${VIFS[@]}"; do
	m=${spec#mac=}
	timeout 60 xl network-detach gx "${m%%,*}" || echo "xl network-detach gx ${m%%,*} failed"
done
{
	echo
	echo "## after every detach"
	dump
} >>"$capture"
xl destroy gx
xh_in dd 'pkill -P $(cat /run/xh-responder.pid); kill $(cat /run/xh-responder.pid); echo responder stopped'

echo "---- BEGIN xl-nodes"
cat "$capture"
echo "---- END xl-nodes"
cp "$capture" "$XH_OUT/xl-nodes.txt"
if [ "${XH_ARGS[0]:-}" = compare ]; then
	diff -u "$GOLDEN" "$capture" || xh_fail "real xl's trees differ from $GOLDEN"
	echo "real xl's trees match $GOLDEN"
fi
[ -z "$FAILED_SPECS" ] || xh_fail "xl could not attach or detach: ${FAILED_SPECS#|}"
xh_log "xl-nodes: PASS"
