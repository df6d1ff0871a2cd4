/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet capture to a pcapng file, for `--capture VIF|PORT FILE.pcapng` on
 * any switch port, a vif included (which is not an ethdev). One file, one
 * interface (its name and description in the Interface Description
 * Block), every packet with its direction (EPB epb_flags: inbound /
 * outbound as seen from that port) and a nanosecond wall-clock timestamp.
 *
 * Why not rte_pcapng: 22.11's rte_pcapng_fdopen() writes one IDB per
 * ethdev (rte_pcapng.c pcapng_interfaces: RTE_ETH_FOREACH_DEV ->
 * pcapng_add_interface(self, port), which needs rte_eth_dev_info_get), and
 * rte_pcapng_copy()/rte_pcapng_write_packets() map each packet to an IDB
 * by m->port through that table; rte_pcapng.h has no call to describe any
 * other interface (rte_pcapng_add_interface came in 23.03). A vif capture
 * would carry every uplink's IDB and no vif. So the three blocks needed
 * (SHB, IDB, EPB; pcapng spec, draft-ietf-opsawg-pcapng) are written here.
 *
 * Threads: nb_capture_pkts from any number of worker threads at once. It
 * copies each packet into an mbuf of the capture's own pool and enqueues it
 * on a multi-producer ring; a writer thread of the capture's writes the
 * file. A worker never waits for the disk: a full ring or an empty pool
 * drops the copy (counted, never the packet itself). open/close on the
 * main thread; close drains the ring, flushes the file and logs how many
 * packets were written and how many copies were dropped.
 */
#ifndef NETBACKD_CAPTURE_H
#define NETBACKD_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct nb_capture;

/* Creates (truncates) `path`. 0 or -errno (logged). */
int nb_capture_open(const char *path, const char *ifname, const char *ifdescr,
		    struct nb_capture **ret);
/* Copies what it needs; the packets stay the caller's. */
void nb_capture_pkts(struct nb_capture *c, struct rte_mbuf *const *pkts, uint16_t n, bool outbound);
/* Packets written and copies dropped so far. */
void nb_capture_counts(const struct nb_capture *c, uint64_t *written, uint64_t *dropped);
/* Drains, flushes, closes; NULL is fine. */
void nb_capture_close(struct nb_capture *c);

#endif
