/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The netif protocol's guest-TX wire format, parsed from private copies
 * (xen/include/public/io/netif.h, "Guest transmit"): a packet is a first
 * netif_tx_request (size = the whole packet), optional extra-info slots
 * (NETTXF_extra_info on the first, then XEN_NETIF_EXTRA_FLAG_MORE), then
 * fragments while NETTXF_more_data is set.
 *
 * The caller copies ring slots off the shared ring once each
 * (RING_COPY_REQUEST) into an array and hands that array here; nothing here
 * ever sees shared memory, so one parse sees one consistent copy (XSA-155).
 *
 * Verdicts follow Linux xen-netback (netback.c xenvif_count_requests,
 * xenvif_get_extras, xenvif_tx_build_gops): what only hurts the sender's own
 * packet is NB_TX_DROP (every slot answered NETIF_RSP_ERROR, the vif keeps
 * running); what no correct frontend ever does is NB_TX_FATAL (the vif is
 * closed with its `error` node). Every limit cites its source in netif.c.
 *
 * Pure: no I/O, no allocation, no logging, thread-safe. Fuzzed by
 * tests/fuzz/fuzz-netif-tx.c.
 */
#ifndef NETBACKD_NETIF_H
#define NETBACKD_NETIF_H

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"	/* common/: barriers, then <xen/io/ring.h> */
#include <xen/io/netif.h>

/*
 * Fragments (data slots) a packet may use and still be sent: netif.h's
 * XEN_NETIF_NR_SLOTS_MIN (18, Linux netback's XEN_NETBK_LEGACY_SLOTS_MAX).
 * Up to NB_TX_FATAL_FRAGS is dropped, more is fatal (netback's
 * fatal_skb_slots default, FATAL_SKB_SLOTS_DEFAULT = 20).
 */
#define NB_TX_MAX_FRAGS XEN_NETIF_NR_SLOTS_MIN
#define NB_TX_FATAL_FRAGS 20
/* Extra-info slots one packet may carry: one per type (types 1..4). */
#define NB_TX_MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1)
/* The most slots one packet can occupy without being fatal. */
#define NB_TX_MAX_SLOTS (NB_TX_FATAL_FRAGS + NB_TX_MAX_EXTRAS)

/* One TX ring slot as copied: a request or, after one, an extra-info. */
union nb_tx_slot {
	struct netif_tx_request req;
	struct netif_extra_info extra;
};

enum nb_tx_verdict {
	NB_TX_OK,		/* a packet (or a multicast-control request) to act on */
	NB_TX_DROP,		/* answer each of nslots with NETIF_RSP_ERROR */
	NB_TX_FATAL,		/* close the vif; nothing is answered */
	NB_TX_INCOMPLETE,	/* the chain runs past the slots given */
};

struct nb_tx_pkt {
	unsigned nslots;	/* ring slots the packet occupies (fragments + extras) */
	unsigned nfrags;	/* fragments: frag[0 .. nfrags-1] (<= NB_TX_MAX_FRAGS on OK) */
	/*
	 * The fragments, as copied. frag[0].size is the first fragment's own
	 * length (the total minus the others), not the packet's total. On OK
	 * every fragment has offset + size <= XEN_PAGE_SIZE; a size may be 0
	 * (netback accepts empty fragments; the caller skips them), and the
	 * sizes add up to len. frag[0].size is at least ETH_HLEN (14):
	 * netback checks the first slot's own size, so the Ethernet header is
	 * always in frag[0]. A multicast-control request has nfrags 0.
	 */
	struct netif_tx_request frag[NB_TX_MAX_FRAGS];
	/*
	 * The response layout, in ring order, for the caller's answers: slot
	 * i of the packet is answered with id rsp_id[i] and, when rsp_null[i],
	 * status NETIF_RSP_NULL (an extra-info slot) instead of the verdict.
	 */
	uint16_t rsp_id[NB_TX_MAX_SLOTS];
	bool rsp_null[NB_TX_MAX_SLOTS];
	uint32_t len;		/* total packet length (the first slot's size) */
	uint16_t flags;		/* the first slot's NETTXF_csum_blank / _data_validated */
	/* Extra info, present when the bit (1 << type) is in `extras`. */
	unsigned extras;
	uint16_t gso_size;	/* XEN_NETIF_EXTRA_TYPE_GSO: the MSS, > 0 */
	uint8_t gso_type;	/* XEN_NETIF_GSO_TYPE_TCPV4 or _TCPV6 */
	uint8_t mcast_add[6];	/* XEN_NETIF_EXTRA_TYPE_MCAST_ADD */
	uint8_t mcast_del[6];	/* XEN_NETIF_EXTRA_TYPE_MCAST_DEL */
	uint8_t hash_type;	/* XEN_NETIF_EXTRA_TYPE_HASH: _XEN_NETIF_CTRL_HASH_TYPE_* */
	uint32_t hash_value;
};

/*
 * Parses the packet starting at slots[0], `avail` slots being copied.
 * Fills *pkt; pkt->nslots is valid for every verdict but NB_TX_INCOMPLETE
 * and, for NB_TX_FATAL, may be 0. *why gets a static string naming the
 * problem for DROP and FATAL (for the rate-limited log and the error node).
 *
 * A packet carrying MCAST_ADD or MCAST_DEL is a multicast-control request
 * (netback: the request carries no frame; answered OKAY or ERROR by the
 * caller after it updated the filter) and is returned OK with the bit set.
 */
enum nb_tx_verdict nb_tx_parse(const union nb_tx_slot *slots, unsigned avail,
			       struct nb_tx_pkt *pkt, const char **why);

#endif
