#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xen-peers: the peers benchmark on real Xen (docs/xenhost.md, Peers): Linux xen-blkback,
# QEMU qdisk and blkbackd in one driver domain, one boot, the same fio jobs from a stock
# guest on the same brd RAM disk; one table of IOPS with ratios to xen-blkback. It boots
# xenhost under QEMU (TCG): ~7-15 min, both CPUs, nothing else should run.
#
# usage: tests/bench/xen-peers.sh BUILD_DIR [SECONDS_PER_JOB [LABEL:OPTIONS ...]]
#   SECONDS_PER_JOB defaults to 20; each LABEL:OPTIONS adds a blkbackd run with those options
#   (commas for spaces), e.g. sb8:--submit-batch=8
set -u
B=${1:?usage: xen-peers.sh BUILD_DIR [SECONDS_PER_JOB [LABEL:OPTIONS ...]]}
here=$(cd "$(dirname "$0")" && pwd)
export XENHOST_TIMEOUT=${XENHOST_TIMEOUT:-2400}
exec "$here/../xenhost/run-scenario" "$B" peers "${2:-20}" "${@:3}"
