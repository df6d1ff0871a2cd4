/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A kernel TAP interface as an uplink, with the virtio-net header
 * (IFF_VNET_HDR): `--uplink tap:IFNAME`. The kernel hands netbackd 64 KiB
 * GSO packets with partial checksums, and takes them, both ways in one
 * read or write, where DPDK 22.11's TAP and af_packet PMDs move one
 * wire-sized frame per system call with every checksum done in software
 * (see uplink.c). DPDK's own way to a kernel with offloads,
 * net_virtio_user on /dev/vhost-net, needs the vhost_net module; this needs
 * only /dev/net/tun. Not an ethdev: Debian's DPDK ships no driver SDK
 * headers (ethdev_driver.h) to register one, so uplink.c calls this beside
 * the ethdev calls, behind the same struct nb_uplink.
 *
 * An existing TAP interface of that name (`ip tuntap add IFNAME mode tap
 * multi_queue vnet_hdr`, persistent) is attached to, and keeps its
 * addresses and routes across netbackd's restarts; otherwise one is created
 * and goes away when netbackd closes it, as net_tap's does. Deleted under
 * netbackd (`ip link del`), its queues are detached for good: RX returns
 * nothing, TX counts tx_down, link_up says no.
 *
 * Threads: open/close and the queries on the main thread; rx and tx on the
 * worker owning queue q (one fd per queue, IFF_MULTI_QUEUE). Never blocks
 * (the fds are non-blocking), never logs per packet, allocates only mbufs
 * from the pool given at open.
 */
#ifndef NETBACKD_KTAP_H
#define NETBACKD_KTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#define NB_KTAP_PREFIX "tap:"

struct nb_ktap;

struct nb_ktap_stats {
	uint64_t rx_bad;	/* frames whose virtio-net header they contradict, dropped */
	uint64_t rx_nomem;	/* frames dropped for want of mbufs */
	uint64_t tx_down;	/* frames the kernel did not take: interface down, out of memory */
	uint64_t tx_refused;	/* frames the kernel refused (EINVAL: their header) */
};

/*
 * `ifname` without the prefix. nq queues wanted (>= 1; fewer if an existing
 * interface has no multi_queue); mtu 0 keeps the interface's. The
 * interface is set up. 0, or -errno with a sentence in `why`.
 */
int nb_ktap_open(const char *ifname, unsigned nq, unsigned mtu, struct rte_mempool *pool,
		 struct nb_ktap **ret, char *why, size_t n);
void nb_ktap_close(struct nb_ktap *t);

unsigned nb_ktap_nqueues(const struct nb_ktap *t);
/* The queue's fd: readable while a frame waits (level-triggered). */
int nb_ktap_fd(const struct nb_ktap *t, unsigned q);

/* Up to n frames in pkt.h's convention (offload flags from the header). */
uint16_t nb_ktap_rx(struct nb_ktap *t, unsigned q, struct rte_mbuf **pkts, uint16_t n,
		    struct nb_ktap_stats *st);
/*
 * Writes each packet with its header (pkt.h flags as an egress with
 * NB_CAP_PHDR_LINUX leaves them), frees all n; returns how many the
 * kernel took, and adds their bytes to *bytes.
 */
uint16_t nb_ktap_tx(struct nb_ktap *t, unsigned q, struct rte_mbuf **pkts, uint16_t n,
		    uint64_t *bytes, struct nb_ktap_stats *st);

bool nb_ktap_link_up(const struct nb_ktap *t);	/* IFF_UP and IFF_RUNNING */
unsigned nb_ktap_mtu(const struct nb_ktap *t);	/* 0 if it cannot be read */
void nb_ktap_mac(const struct nb_ktap *t, uint8_t mac[6]);

#endif
