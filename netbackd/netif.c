// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest-TX wire-format parser (see netif.h): one packet's slots, copied
 * off the ring by the caller, become a verdict, the fragments and the
 * response layout.
 *
 * The checks, and the order they are made in, are Linux xen-netback's
 * (drivers/net/xen-netback/netback.c): xenvif_get_extras for the extra-info
 * chain, the multicast-control shortcut of xenvif_tx_build_gops, then
 * xenvif_count_requests over the fragments, then the first slot's own size
 * and page, then xenvif_set_skb_gso. The order matters where two rules hit
 * one packet: a drop found in the fragment chain answers the packet before
 * the first slot or the GSO extra is looked at (netback returns from
 * count_requests first), but a page crossing or too many fragments later in
 * the chain still makes it fatal (netback checks those on every slot).
 *
 * Where netback would read past what the frontend produced (a chain that
 * runs out of requests) it declares the frontend broken; here the caller
 * gets NB_TX_INCOMPLETE and decides (the slots may simply not be there yet).
 *
 * Pure: no I/O, no allocation, no logging, any thread. Never reads
 * slots[avail] or beyond.
 */
#include <string.h>

#include "netif.h"

/*
 * A guest page: netif.h's "offset + size <= page" for every slot (Linux
 * netback: "Cross page boundary", fatal). The grant page is always 4 KiB.
 */
#define NB_XEN_PAGE_SIZE 4096u
/* The shortest frame: an Ethernet header (netback: ETH_HLEN, "Bad packet
 * size", dropped). */
#define NB_ETH_HLEN 14u

_Static_assert(NB_TX_MAX_FRAGS <= NB_TX_FATAL_FRAGS, "drop tier below the fatal one");
_Static_assert(NB_TX_FATAL_FRAGS + NB_TX_MAX_EXTRAS <= NB_TX_MAX_SLOTS, "rsp arrays");

struct tx_walk {
	const union nb_tx_slot *slots;
	unsigned avail;
	struct nb_tx_pkt *pkt;
	const char **why;
	unsigned n;		/* slots consumed so far */
	unsigned frags;		/* fragments seen, counting those not kept */
};

static enum nb_tx_verdict fail(struct tx_walk *w, enum nb_tx_verdict v, const char *why)
{
	w->pkt->nslots = w->n;
	*w->why = why;
	return v;
}

/* The response slot for the slot just consumed (w->n - 1). */
static void rsp_slot(struct tx_walk *w, uint16_t id, bool null)
{
	w->pkt->rsp_id[w->n - 1] = id;
	w->pkt->rsp_null[w->n - 1] = null;
}

/*
 * Extra-info slots (netback xenvif_get_extras): each has a type in
 * 1..XEN_NETIF_EXTRA_TYPE_MAX-1 (anything else is fatal, "Invalid extra
 * type"); XEN_NETIF_EXTRA_FLAG_MORE chains the next one.
 *
 * A type given twice: netback copies each extra into extras[type - 1], so
 * the later one silently replaces the earlier and both slots are consumed
 * (and answered NETIF_RSP_NULL). The same here. Netback has no limit on how
 * long the chain is beyond the ring itself; here more than one slot per type
 * (NB_TX_MAX_EXTRAS) is fatal, since only a frontend repeating a type can
 * get there and no known frontend does (Linux netfront sends one GSO extra
 * at most).
 *
 * An extra slot carries no id (netif.h: "there is no id information in the
 * opposite direction"); its NULL response gets the first slot's id, which
 * frontends ignore (Linux xennet_tx_buf_gc skips XEN_NETIF_RSP_NULL).
 */
static enum nb_tx_verdict get_extras(struct tx_walk *w)
{
	struct nb_tx_pkt *pkt = w->pkt;
	unsigned count = 0;
	struct netif_extra_info e;

	do {
		if (w->n >= w->avail)
			return NB_TX_INCOMPLETE;
		e = w->slots[w->n++].extra;
		rsp_slot(w, pkt->rsp_id[0], true);
		if (e.type == XEN_NETIF_EXTRA_TYPE_NONE || e.type >= XEN_NETIF_EXTRA_TYPE_MAX)
			return fail(w, NB_TX_FATAL, "invalid extra-info type");
		if (++count > NB_TX_MAX_EXTRAS)
			return fail(w, NB_TX_FATAL, "more extra-info slots than types");
		pkt->extras |= 1u << e.type;
		switch (e.type) {
		case XEN_NETIF_EXTRA_TYPE_GSO:
			pkt->gso_size = e.u.gso.size;
			pkt->gso_type = e.u.gso.type;
			break;
		case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
			memcpy(pkt->mcast_add, e.u.mcast.addr, sizeof(pkt->mcast_add));
			break;
		case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
			memcpy(pkt->mcast_del, e.u.mcast.addr, sizeof(pkt->mcast_del));
			break;
		case XEN_NETIF_EXTRA_TYPE_HASH:
			/* netif.h: value is little-endian ("LSB ---- value ---- MSB"). */
			pkt->hash_type = e.u.hash.type;
			pkt->hash_value = (uint32_t)e.u.hash.value[0] |
					  (uint32_t)e.u.hash.value[1] << 8 |
					  (uint32_t)e.u.hash.value[2] << 16 |
					  (uint32_t)e.u.hash.value[3] << 24;
			break;
		}
	} while (e.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	return NB_TX_OK;
}

/*
 * The fragments after the first (netback xenvif_count_requests). Counting
 * the first slot as fragment 1:
 *   - fragment NB_TX_FATAL_FRAGS + 1 is fatal ("Malicious frontend using
 *     %d slots", fatal_skb_slots, FATAL_SKB_SLOTS_DEFAULT 20);
 *   - fragment NB_TX_MAX_FRAGS + 1 drops the packet (netif.h
 *     XEN_NETIF_NR_SLOTS_MIN, netback's XEN_NETBK_LEGACY_SLOTS_MAX 18);
 *   - a fragment larger than what is left of the first slot's size drops it
 *     (netback: a frame >= 64 KiB overflowed the u16 total; "buggy
 *     frontends do this", not fatal);
 *   - a fragment crossing its page is fatal, also in a packet already being
 *     dropped.
 * Netback counts the slots after the first only, so its limits fall one
 * fragment later (drop at 20 fragments, fatal at 22); netif.h's 18 is the
 * protocol's promise to frontends and Linux netfront never sends more.
 * *remaining ends as the first fragment's own size.
 */
static enum nb_tx_verdict count_frags(struct tx_walk *w, uint32_t *remaining,
				      const char **drop)
{
	struct nb_tx_pkt *pkt = w->pkt;
	struct netif_tx_request t;

	do {
		/* Before the avail check (netback has them the other way
		 * round): fragment 21 is fatal whatever it holds, so the
		 * caller need not wait for it. */
		if (w->frags >= NB_TX_FATAL_FRAGS)
			return fail(w, NB_TX_FATAL, "more fragments than the fatal limit");
		if (w->n >= w->avail)
			return NB_TX_INCOMPLETE;
		t = w->slots[w->n++].req;
		rsp_slot(w, t.id, false);
		w->frags++;
		if (!*drop && w->frags > NB_TX_MAX_FRAGS)
			*drop = "more fragments than XEN_NETIF_NR_SLOTS_MIN";
		if (!*drop && t.size > *remaining)
			*drop = "fragment larger than the rest of the packet";
		if (!*drop) {
			*remaining -= t.size;
			pkt->frag[pkt->nfrags++] = t;
		}
		if ((uint32_t)t.offset + t.size > NB_XEN_PAGE_SIZE)
			return fail(w, NB_TX_FATAL, "fragment crosses its page");
	} while (t.flags & NETTXF_more_data);
	return NB_TX_OK;
}

/* netback xenvif_set_skb_gso: a zero MSS or a type other than TCPv4/TCPv6
 * is fatal ("GSO size must not be zero", "Bad GSO type"). */
static const char *check_gso(const struct nb_tx_pkt *pkt)
{
	if (!(pkt->extras & (1u << XEN_NETIF_EXTRA_TYPE_GSO)))
		return NULL;
	if (!pkt->gso_size)
		return "GSO size 0";
	if (pkt->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 && pkt->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
		return "unknown GSO type";
	return NULL;
}

enum nb_tx_verdict nb_tx_parse(const union nb_tx_slot *slots, unsigned avail,
			       struct nb_tx_pkt *pkt, const char **why)
{
	struct tx_walk w = { .slots = slots, .avail = avail, .pkt = pkt, .why = why };
	const char *drop = NULL;
	struct netif_tx_request first;
	enum nb_tx_verdict v;
	uint32_t remaining;

	memset(pkt, 0, sizeof(*pkt));
	*why = NULL;
	if (!avail)
		return NB_TX_INCOMPLETE;
	first = slots[w.n++].req;
	rsp_slot(&w, first.id, false);
	pkt->len = first.size;
	pkt->flags = first.flags & (NETTXF_csum_blank | NETTXF_data_validated);
	w.frags = 1;

	if (first.flags & NETTXF_extra_info) {
		v = get_extras(&w);
		if (v != NB_TX_OK)
			return v;
	}
	/* netback: a multicast-control request is answered right after its
	 * extras; its size and any NETTXF_more_data are not looked at (the
	 * next slot starts the next packet). */
	if (pkt->extras & (1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD |
			   1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL)) {
		pkt->nslots = w.n;
		return NB_TX_OK;
	}

	pkt->frag[pkt->nfrags++] = first;
	remaining = first.size;
	if (first.flags & NETTXF_more_data) {
		v = count_frags(&w, &remaining, &drop);
		if (v != NB_TX_OK)
			return v;
	}
	if (drop)
		return fail(&w, NB_TX_DROP, drop);
	pkt->frag[0].size = (uint16_t)remaining;
	/* netback checks the first slot's own size after the others were
	 * taken off it: the Ethernet header must be in the first slot. */
	if (remaining < NB_ETH_HLEN)
		return fail(&w, NB_TX_DROP, "first fragment shorter than an Ethernet header");
	if ((uint32_t)first.offset + remaining > NB_XEN_PAGE_SIZE)
		return fail(&w, NB_TX_FATAL, "first fragment crosses its page");
	drop = check_gso(pkt);
	if (drop)
		return fail(&w, NB_TX_FATAL, drop);
	pkt->nslots = w.n;
	return NB_TX_OK;
}
