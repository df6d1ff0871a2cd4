/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What an rte_mbuf means inside netbackd: the one convention every port (a
 * vif queue, a DPDK uplink), the switch and the offload helpers share.
 *
 *   - A packet is an Ethernet frame starting at the first segment's data
 *     offset; it may be a chain (nb_segs > 1). pkt_len is the frame length.
 *   - m->port is the switch port the packet entered by (NB_PORT_*), set by
 *     the ingress before the switch sees it.
 *   - Checksum left for someone else to fill ("partial", Linux's
 *     CHECKSUM_PARTIAL, netif's NETTXF_csum_blank): ol_flags has
 *     RTE_MBUF_F_TX_IPV4 or RTE_MBUF_F_TX_IPV6 and RTE_MBUF_F_TX_TCP_CKSUM or
 *     RTE_MBUF_F_TX_UDP_CKSUM, and l2_len / l3_len (and l4_len for TCP) are
 *     set. The IPv4 header checksum is always valid inside netbackd (never
 *     left partial). What the L4 checksum field holds is unspecified: every
 *     egress writes what its consumer expects (rte_ipv4_phdr_cksum /
 *     rte_ipv6_phdr_cksum for a DPDK PMD, the pseudo-header with length for
 *     a Linux netfront, the full checksum in software for a consumer that
 *     takes no partial checksums). Ingress never trusts what a guest wrote
 *     there.
 *   - Segmentation left for someone else (a netif GSO extra, Linux GSO):
 *     additionally RTE_MBUF_F_TX_TCP_SEG with tso_segsz = the MSS (the netif
 *     GSO extra's `size`); always TCP (netif has XEN_NETIF_GSO_TYPE_TCPV4
 *     and _TCPV6 only) and always with TCP_CKSUM partial.
 *   - Checksum verified by someone we trust (a NIC, or a guest saying
 *     NETTXF_data_validated about its own packet): RTE_MBUF_F_RX_L4_CKSUM_GOOD.
 *     A guest receiving such a packet is told NETRXF_data_validated.
 *   - m->hash.rss with RTE_MBUF_F_RX_RSS_HASH: a flow hash (from the NIC,
 *     or computed by netbackd); a multi-queue vif egress uses it to choose
 *     the guest's queue.
 *
 * Header only, no code.
 */
#ifndef NETBACKD_PKT_H
#define NETBACKD_PKT_H

#include <rte_mbuf.h>

/* Data room of every mbuf netbackd allocates: one guest page (a netif slot
 * never exceeds XEN_PAGE_SIZE, netif.h "offset + size <= page") plus the
 * headroom DPDK reserves, so one guest TX slot is one mbuf segment. */
#define NB_MBUF_DATA_ROOM (4096 + RTE_PKTMBUF_HEADROOM)

/* The ol_flags bits that say "work left for the egress". */
#define NB_TX_OFFLOAD_MASK                                                     \
	(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_L4_MASK |     \
	 RTE_MBUF_F_TX_TCP_SEG)

#endif
