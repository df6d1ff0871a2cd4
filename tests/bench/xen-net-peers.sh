#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# xen-net-peers: the network peers benchmark on real Xen (docs/xenhost.md, Peers): netbackd with
# a passed-through NIC under DPDK's PMD against Linux xen-netback with a bridge over the same
# NIC under the kernel's driver, in one HVM driver domain, one boot, the same guests: TCP guest
# <-> guest and guest <-> dom0, 64-byte UDP frames/s guest -> dom0 and the driver domain's CPU
# per frame, with ratios. It boots xenhost under QEMU (TCG) with the NIC topology: ~15 min,
# both CPUs, nothing else should run.
#
# usage: tests/bench/xen-net-peers.sh BUILD_DIR [SECONDS_PER_RUN (10)]
set -u
B=${1:?usage: xen-net-peers.sh BUILD_DIR [SECONDS_PER_RUN]}
here=$(cd "$(dirname "$0")" && pwd)
export XENHOST_TIMEOUT=${XENHOST_TIMEOUT:-2400}
exec "$here/../xenhost/run-scenario" "$B" net-peers "${2:-10}"
