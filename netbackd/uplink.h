/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Uplinks: a DPDK ethdev as a switch port. A PCI NIC (named to the EAL
 * with nb_eal_add_device, so `-a BDF`) or a vdev hot-plugged here with
 * rte_dev_probe: net_tap0,iface=up0 / net_af_packet0,iface=eth1 /
 * net_memif0,... / net_virtio_user0,... / net_ring0 / net_null0 (tests:
 * "net_null0,no-rx=1" is an RX-silent TX sink; without no-rx=1 22.11's
 * net_null receives 64-byte packets endlessly, and copy=1 overrides no-rx).
 *
 * Open/close on the main thread. Worker threads call rx/tx/intr_* with
 * their own worker index q: RX queue q belongs to worker q alone (q >=
 * the device's queue count receives nothing); worker q transmits on queue
 * q % nqueues, under a spinlock only when workers outnumber the device's
 * queues. Stats are per worker, summed without locks (each counter is
 * written by one thread; reads may lag). Never logs per packet, never
 * blocks: a full TX queue is retried a few times, then its packets are
 * freed and counted.
 */
#ifndef NETBACKD_UPLINK_H
#define NETBACKD_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "offload.h"

struct nb_uplink_cfg {
	const char *devargs;	/* PCI address or vdev string */
	unsigned nqueues;	/* workers that will use the port (queues wanted), >= 1 */
	unsigned mtu;		/* 0: the device's default */
	bool gro;		/* nb_offload_gro on what arrives (offload.h) */
	struct rte_mempool *pool;	/* RX mbufs (NB_MBUF_DATA_ROOM) */
	unsigned rx_desc, tx_desc;	/* 0: 1024; adjusted to the device's limits */
};

struct nb_uplink_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;	/* handed to the PMD */
	/* Dropped (freed), by reason: */
	uint64_t drop_tx_full;		/* the TX queue stayed full through the retries */
	uint64_t drop_tx_prepare;	/* rte_eth_tx_prepare refused the packet */
	uint64_t drop_bad_queue;	/* tx from a worker index >= cfg.nqueues */
	uint64_t drop_rx_truncated;	/* af_packet: a frame longer than its ring slot, cut */
	uint64_t drop_rx_bad;		/* tap: a frame its virtio-net header contradicts */
	struct nb_offload_stats offload;	/* what nb_offload_egress did for this port */
	struct rte_eth_stats eth;	/* the PMD's own */
};

struct nb_uplink;

/* 0, or -errno with a sentence in `why`. The port is started, promiscuous. */
int nb_uplink_open(const struct nb_uplink_cfg *cfg, struct nb_uplink **ret, char *why, size_t n);
/* Stops and unplugs the device (a vdev's kernel interface goes away). NULL is fine. */
void nb_uplink_close(struct nb_uplink *u);

uint16_t nb_uplink_rx(struct nb_uplink *u, unsigned q, struct rte_mbuf **pkts, uint16_t n);
/*
 * Takes ownership of all n packets (pkt.h convention), runs
 * nb_offload_egress for the port's caps with the worker's `o`, sends;
 * returns how many the PMD took.
 */
uint16_t nb_uplink_tx(struct nb_uplink *u, unsigned q, struct nb_offload *o,
		      struct rte_mbuf **pkts, uint16_t n);

unsigned nb_uplink_nqueues(const struct nb_uplink *u);	/* the device's queue pairs */
unsigned nb_uplink_caps(const struct nb_uplink *u);	/* NB_CAP_* */

/*
 * RX interrupts. An fd that becomes readable when RX queue q has packets,
 * or -1 when the PMD has none (net_null, net_ring, net_af_packet in 22.11:
 * the worker polls with a short sleep). The worker's loop: arm (on), poll
 * once more (a packet may have come in between), sleep on the fd, then
 * disarm (off; this also clears an eventfd's counter) and poll. 0 or -errno.
 */
int nb_uplink_intr_fd(const struct nb_uplink *u, unsigned q);
int nb_uplink_intr_arm(struct nb_uplink *u, unsigned q, bool on);

bool nb_uplink_link_up(const struct nb_uplink *u);
unsigned nb_uplink_mtu(const struct nb_uplink *u);	/* 0 if the device cannot tell */
void nb_uplink_mac(const struct nb_uplink *u, uint8_t mac[6]);
const char *nb_uplink_name(const struct nb_uplink *u);	/* the ethdev name */
const char *nb_uplink_driver(const struct nb_uplink *u);	/* its PMD's name */
uint16_t nb_uplink_port_id(const struct nb_uplink *u);
void nb_uplink_stats(const struct nb_uplink *u, struct nb_uplink_stats *st);

#endif
