/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offloads in software: what pkt.h leaves for "the egress" (partial TCP/UDP
 * checksums, TCP segmentation), done here for an egress that cannot, and
 * the ingress side that turns a guest's netif TX flags into pkt.h's.
 *
 * Called from data-path worker threads; one struct nb_offload per thread
 * (it holds the thread's segmentation context and scratch array). Never
 * blocks, never logs per packet, allocates only from the pools given to
 * nb_offload_new(), never fails a burst for one packet: a packet it cannot
 * turn into something the egress takes is freed and counted.
 *
 * The egress writes into the packets' headers (checksum fields, and the
 * IPv4/IPv6/TCP headers of segments). A packet whose headers are not in
 * its first segment, or whose first segment is shared (refcnt > 1, an
 * indirect or external buffer: a flooded packet), is first copied, so one
 * egress never changes what another one sends.
 */
#ifndef NETBACKD_OFFLOAD_H
#define NETBACKD_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

/* What an egress takes (pkt.h's "partial" and "segmentation" states). */
#define NB_CAP_IPV4_CSUM (1u << 0)	/* partial TCP/UDP checksums over IPv4 */
#define NB_CAP_IPV6_CSUM (1u << 1)	/* partial TCP/UDP checksums over IPv6 */
#define NB_CAP_TSO4 (1u << 2)		/* TCP_SEG over IPv4 (needs IPV4_CSUM) */
#define NB_CAP_TSO6 (1u << 3)		/* TCP_SEG over IPv6 (needs IPV6_CSUM) */
#define NB_CAP_MULTISEG (1u << 4)	/* mbuf chains */
/*
 * Partial checksums carry the pseudo-header WITH the L4 length in the L4
 * checksum field, TSO included (Linux CHECKSUM_PARTIAL: netfront, virtio).
 * Without it, DPDK's convention: rte_ipv4/6_phdr_cksum(ip, ol_flags), the
 * length left out for TSO, and RTE_MBUF_F_TX_IP_CKSUM set on IPv4 TSO
 * packets as rte_mbuf_core.h requires (the port then rewrites each
 * segment's IPv4 header checksum).
 */
#define NB_CAP_PHDR_LINUX (1u << 5)

/*
 * Smallest MSS accepted (a guest's GSO `size`, tso_segsz): bounds the
 * segments of one packet to NB_OFFLOAD_MAX_SEGS (64 KiB / 64). Linux never
 * sends less than TCP_MIN_MSS (88).
 */
#define NB_OFFLOAD_MIN_MSS 64
#define NB_OFFLOAD_MAX_SEGS 1024

/* Added to (never reset) by nb_offload_egress. */
struct nb_offload_stats {
	uint64_t segmented;	/* TSO packets segmented here */
	uint64_t segments;	/* the segments they became */
	uint64_t csum_sw;	/* L4 checksums completed here */
	uint64_t linearised;	/* chains copied into one segment */
	uint64_t unshared;	/* packets copied before their headers were written */
	uint64_t gro_packets;	/* nb_offload_gro: packets made of several frames */
	uint64_t gro_frames;	/* the frames they were made of */
	/* Dropped (and freed), by reason: */
	uint64_t drop_bad;	/* offload flags the headers contradict */
	uint64_t drop_too_long;	/* a chain too long for one segment, egress without MULTISEG */
	uint64_t drop_nomem;	/* the pools ran dry */
	uint64_t drop_no_room;	/* `out` had no room for the packet's segments */
};

struct nb_offload;

/*
 * `direct`: pool for headers, copies and segments (NB_MBUF_DATA_ROOM);
 * `indirect`: pool for the mbufs rte_gso points into the original payload
 * with (any pktmbuf pool; a zero data-room one saves memory). 0 or -ENOMEM.
 */
int nb_offload_new(struct rte_mempool *direct, struct rte_mempool *indirect,
		   struct nb_offload **ret);
void nb_offload_free(struct nb_offload *o);

/*
 * Turns the n packets of `in` (pkt.h convention; ownership passes here)
 * into what an egress with `caps` takes, in order, into `out` (at most
 * max_out); returns how many. Resolved work is cleared from ol_flags;
 * what is left is the egress's (partial checksums with the pseudo-header it
 * expects, TCP_SEG when it has TSO). IPv4 header checksums of segments are
 * written here. Room: one `out` entry per packet, and up to
 * NB_OFFLOAD_MAX_SEGS for a TSO packet the egress cannot take; a packet
 * that does not fit is dropped as drop_no_room. `st` may be NULL.
 */
uint16_t nb_offload_egress(struct nb_offload *o, unsigned caps, struct rte_mbuf **in, uint16_t n,
			   struct rte_mbuf **out, uint16_t max_out, struct nb_offload_stats *st);

/*
 * Receive coalescing (Linux GRO) for frames from a wire, before the switch:
 * consecutive TCP/IPv4 segments of one flow in the burst become one packet
 * with TCP_SEG (pkt.h), so a guest with feature-gso-tcpv4 gets one 64 KiB
 * packet where the wire had 45, as Linux netback's guests get from the
 * driver domain's GRO. DPDK's rte_gro_reassemble_burst does the merging.
 * Each frame it may merge is checked first: IPv4 header and TCP checksums
 * verified (unless the NIC said RTE_MBUF_F_RX_L4_CKSUM_GOOD), IP length
 * equal to the frame, ACK as its only TCP flag; a merged packet's checksums
 * are recomputed by whoever segments or delivers it, so a corrupted frame
 * is never merged (it passes alone, unverified, for the receiver to drop).
 * A frame that passes is marked RTE_MBUF_F_RX_L4_CKSUM_GOOD. Order within a
 * flow is kept: a frame GRO does not take (PSH, FIN, another protocol) ends
 * the run before it. In place; returns the new count. Frames of more than
 * one segment, VLAN-tagged frames, and bursts of one, pass untouched.
 */
uint16_t nb_offload_gro(struct rte_mbuf **pkts, uint16_t n, struct nb_offload_stats *st);

/*
 * Completes a partial checksum given by position, as Linux's
 * skb_checksum_help does for CHECKSUM_PARTIAL: the one's-complement sum
 * from `start` to the frame's end (the field at start + offset holds what
 * the sender seeded it with, its pseudo-header sum) goes into that field.
 * For a checksum that is not one pkt.h can say (a tunnel's inner one).
 * -EINVAL if the field is not in the first segment. The frame must not be
 * shared.
 */
int nb_offload_csum_at(struct rte_mbuf *m, uint32_t start, uint32_t offset);

/*
 * A frame from a guest's TX ring: netif NETTXF_csum_blank (csum_partial),
 * NETTXF_data_validated, and a GSO extra (gso_type XEN_NETIF_GSO_TYPE_TCPV4
 * = 1 or _TCPV6 = 2, 0 for none; gso_size its MSS). Parses the headers with
 * rte_net_get_ptype (they may span segments), sets packet_type, l2/l3/l4_len
 * and pkt.h's flags (GSO implies a partial TCP checksum, as in Linux);
 * data_validated sets RTE_MBUF_F_RX_L4_CKSUM_GOOD. -EINVAL when the frame
 * cannot be what the flags claim: csum_blank on a frame that is not TCP or
 * UDP over IPv4/IPv6 (or is an IP fragment), GSO on a non-TCP frame, of the
 * other IP version, an MSS below NB_OFFLOAD_MIN_MSS, or headers or IP
 * length running past the frame. The caller drops the frame.
 */
int nb_offload_ingress(struct rte_mbuf *m, bool csum_partial, bool data_validated,
		       uint8_t gso_type, uint16_t gso_size);

#endif
