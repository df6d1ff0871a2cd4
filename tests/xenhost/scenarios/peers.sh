#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 3, peers (a benchmark, not a pass/fail test): the same fio jobs, in one boot,
# from one stock guest against three backends in the same driver domain on the same RAM disk
# (brd, so the backend is what is measured): Linux xen-blkback, blkbackd, QEMU qdisk (started
# by xl devd). Prints one table with each backend's ratio to Linux xen-blkback; the goal is
# every ratio >= 1.0. Absolute numbers under TCG mean little; same-boot ratios are the result.
# It fails only when a backend cannot serve the disk at all.
#   xenhost run tests/xenhost/scenarios/peers.sh [RUNTIME_SECONDS [LABEL:OPTIONS ...]]
# Each LABEL:OPTIONS runs the jobs once more against blkbackd started with those options
# (commas for spaces: "sb8:--submit-batch=8,--poll-us=0"), as row "blkbackd-LABEL".
. "$XH_SRC/tests/xenhost/lib/xh.sh"

RUNTIME=${XH_ARGS[0]:-20}
VARIANTS=("${XH_ARGS[@]:1}")
JOBS=(
	"randread-4k-qd32 --rw=randread --bs=4k --iodepth=32"
	"randwrite-4k-qd32 --rw=randwrite --bs=4k --iodepth=32"
	"read-64k-qd8 --rw=read --bs=64k --iodepth=8"
	"write-64k-qd8 --rw=write --bs=64k --iodepth=8"
)
RESULTS=$XH_BOOT/peers.txt
: >"$RESULTS"

xh_dd_start dd
xh_in dd 'modprobe brd rd_nr=1 rd_size=262144 && blockdev --getsize64 /dev/ram0'
xh_guest_start g1 2

# connected GUEST BACKEND: wait until GUEST's xvdc is Connected on both ends.
connected() {
	local be
	be=$(xh_backend_path "$1" xvdc)
	xh_wait_xs "$be/state" '^4$' 60 || xh_fail "$2: xvdc never reached Connected"
	xh_wait_xs "$(xenstore-read "$be/frontend")/state" '^4$' 60 ||
		xh_fail "$2: $1's xvdc never reached Connected"
}

# irqs PATTERN (defined in a domain by "$SNAP; ..."): the interrupts whose /proc/interrupts
# line matches PATTERN, summed over the CPUs.
SNAP='irqs() { awk -v p="$1" '"'"'$0 ~ p { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i }
	END { print n + 0 }'"'"' /proc/interrupts; }'

# dd_irqs: the driver domain's interrupts from the backends' event channels (Linux
# xen-blkback's "blkif-backend", a user-space backend's "evtchn:COMM").
dd_irqs() { xh_exec dd "$SNAP; irqs 'blkif-backend|evtchn:'" 60; }

# fio_all GUEST BACKEND: every job on GUEST's xvdc, one result line each: backend, job,
# IOPS, MiB/s, requests the guest completed, interrupts it took from its disks (Linux
# blkfront's "blkif"; only xvdc is busy), interrupts the
# driver domain took from the backend (both counted over the ramp and the run).
fio_all() {
	local g=$1 backend=$2 job name args out dd0 dd1
	for job in "${JOBS[@]}"; do
		name=${job%% *}
		args=${job#* }
		dd0=$(dd_irqs) || xh_fail "$backend: the driver domain's interrupts: $dd0"
		out=$(xh_exec "$g" "$SNAP; req() { awk '{ print \$1 + \$5 }' /sys/block/xvdc/stat; }
			echo snap0 \$(req) \$(irqs blkif)
			fio --name=$name --filename=/dev/xvdc --direct=1 --ioengine=libaio \
			$args --size=200M --time_based --runtime=$RUNTIME --ramp_time=3 \
			--output-format=terse --terse-version=3 && echo snap1 \$(req) \$(irqs blkif)" \
			$((RUNTIME * 10 + 120))) ||
			xh_fail "$backend: fio $name failed: $out"
		dd1=$(dd_irqs) || xh_fail "$backend: the driver domain's interrupts: $dd1"
		# terse v3: 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS
		echo "$out" | awk -F';' -v b="$backend" -v j="$name" -v d=$((dd1 - dd0)) '
			/^snap0 / { split($0, s0, " ") }
			/^snap1 / { split($0, s1, " ") }
			NF > 49 { iops = $8 + $49; mib = ($7 + $48) / 1024 }
			END { printf "%s %s %d %d %d %d %d\n", b, j, iops, mib,
				s1[2] - s0[2], s1[3] - s0[3], d }' >>"$RESULTS"
	done
}

# The RAM disk as a disk spec served from the driver domain (xen-blkback and blkbackd).
RAM_SPEC='format=raw,vdev=xvdc,access=rw,backend=dd,script=block-ddom,target=/dev/ram0'

# bench BACKEND SPEC: hot-attach the RAM disk to g1 with SPEC, run every job, detach.
bench() {
	local backend=$1 spec=$2 be
	xh_log "$backend: xl block-attach g1 '$spec'"
	timeout 120 xl block-attach g1 "$spec" || xh_fail "$backend: block-attach failed"
	be=$(xh_backend_path g1 xvdc)
	connected g1 "$backend"
	fio_all g1 "$backend"
	[[ $backend != blkbackd* ]] || xh_in dd 'blkbackd --status'
	timeout 120 xl block-detach g1 xvdc || xh_fail "$backend: block-detach failed"
	xh_wait_xs "$be/state" '^<gone>$' 60 || xh_fail "$backend: the backend stayed after detach"
}

xh_in dd 'modprobe xen-blkback && echo kernel xen-blkback loaded'
bench xen-blkback "$RAM_SPEC"
xh_in dd 'rmmod xen-blkback && echo kernel xen-blkback unloaded'
xh_in dd 'systemctl enable --now blkbackd.service && systemctl is-active blkbackd.service'
bench blkbackd "$RAM_SPEC"
for v in "${VARIANTS[@]}"; do
	label=${v%%:*}
	opts=${v#*:}
	[[ $label =~ ^[A-Za-z0-9_-]+$ && $v == *:* ]] || xh_fail "variant '$v': want LABEL:OPTIONS"
	xh_in dd "echo 'BLKBACKD_OPTS=\"${opts//,/ }\"' >/etc/default/blkbackd &&
		systemctl restart blkbackd.service && systemctl is-active blkbackd.service &&
		cat /etc/default/blkbackd"
	bench "blkbackd-$label" "$RAM_SPEC"
done
xh_in dd 'systemctl stop blkbackd.service && echo blkbackd stopped'
# A qdisk disk cannot be hot-attached to a PV guest that has no device model ("device model
# required but not running", libxl__dm_check_start): it is in the guest's config from boot,
# which makes xl devd start QEMU in the driver domain. Same guest shape (2 vCPUs, 512 MiB).
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
xh_guest_start g2 2 'format=raw,vdev=xvdc,access=rw,backend=dd,backendtype=qdisk,target=/dev/ram0'
connected g2 qdisk
xh_in dd 'pgrep -a qemu'
fio_all g2 qdisk

echo
echo "peers: guest g1, g2 for qdisk (2 vCPUs) -> driver domain dd, brd RAM disk, fio ${RUNTIME}s per job, direct libaio"
python3 - "$RESULTS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
res = {(r[0], r[1]): tuple(int(x) for x in r[2:]) for r in rows}
backends = ["xen-blkback", "blkbackd", "qdisk"]
backends[2:2] = list(dict.fromkeys(r[0] for r in rows if r[0].startswith("blkbackd-")))
jobs = []
for j in (r[1] for r in rows):
    if j not in jobs:
        jobs.append(j)
others = backends[1:]
print("| job | " + " | ".join(f"{b} IOPS (MiB/s)" for b in backends) + " | " +
      " | ".join(f"{b} / xen-blkback" for b in others) + " |")
print("|---" * (2 * len(backends)) + "|")
for j in jobs:
    base = res.get(("xen-blkback", j), (0, 0))[0]
    cells = [f"{res[(b, j)][0]} ({res[(b, j)][1]})" if (b, j) in res else "-" for b in backends]
    ratios = [f"{res[(b, j)][0] / base:.2f}" if base and (b, j) in res else "-"
              for b in others]
    print(f"| {j} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
print()
print("Interrupts per request (ramp and run): the guest's from its disks, the driver domain's from the backend")
print("| job | " + " | ".join(f"{b} guest / dd" for b in backends) + " |")
print("|---" * (len(backends) + 1) + "|")
for j in jobs:
    cells = []
    for b in backends:
        v = res.get((b, j))
        cells.append(f"{v[3] / v[2]:.2f} / {v[4] / v[2]:.2f}" if v and len(v) > 4 and v[2] else "-")
    print(f"| {j} | " + " | ".join(cells) + " |")
PY
xh_shutdown g2 120
xh_log "peers: done"
