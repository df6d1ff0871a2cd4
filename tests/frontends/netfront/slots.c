// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront slot layer (see netfront.h): a frame into netif TX slots, and
 * netif RX responses back into frames, following the wire formats of
 * xen/include/public/io/netif.h ("Guest transmit", "Guest receive", "Extra
 * Info") and the checks Linux drivers/net/xen-netfront.c makes in
 * xennet_get_responses / xennet_get_extras / xennet_set_skb_gso.
 *
 * Pure: no I/O, no allocation, no shared memory (the caller copies each
 * response off the ring once and passes the copy). Any thread, on its own
 * reassembler. A response is never trusted: every size, offset, id, extra
 * type and chain length is checked before anything is copied.
 */
#include <errno.h>
#include <string.h>

#include "netfront.h"

/* Pages touched by len bytes starting at off. */
static unsigned pages_for(unsigned off, uint32_t len)
{
	return (unsigned)((off + len + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE);
}

int nf_tx_split(uint32_t len, unsigned cur_off, bool sg, struct nf_frag out[NF_MAX_TX_FRAGS])
{
	unsigned page = 0, off = cur_off, n = 0;

	if (!len || len > NF_MAX_FRAME || (!sg && len > XEN_PAGE_SIZE))
		return -EMSGSIZE;
	/* Start on a fresh page when the current one cannot take the frame. */
	if (off >= XEN_PAGE_SIZE || (!sg && off + len > XEN_PAGE_SIZE) ||
	    pages_for(off, len) > NF_MAX_TX_FRAGS) {
		page = 1;
		off = 0;
	}
	while (len) {
		uint32_t take = XEN_PAGE_SIZE - off;

		if (take > len)
			take = len;
		out[n++] = (struct nf_frag){ .page = (uint16_t)page, .off = (uint16_t)off,
					     .len = (uint16_t)take };
		len -= take;
		page++;
		off = 0;
	}
	return (int)n;
}

unsigned nf_tx_layout(uint32_t len, const struct nf_tx_meta *m, const struct nf_frag *frags,
		      unsigned nfrags, const grant_ref_t *grefs, const uint16_t *ids,
		      union nf_tx_slot *out)
{
	bool gso = m->gso_type != XEN_NETIF_GSO_TYPE_NONE;
	unsigned n = 0;

	for (unsigned i = 0; i < nfrags; i++) {
		struct netif_tx_request *r = &out[n++].req;

		*r = (struct netif_tx_request){ .gref = grefs[i], .offset = frags[i].off,
						.id = ids[i], .size = frags[i].len };
		if (i + 1 < nfrags)
			r->flags |= NETTXF_more_data;
		if (i > 0)
			continue;
		/* The first slot's size is the whole frame (netif.h "Guest transmit"). */
		r->size = (uint16_t)len;
		r->flags |= m->flags & (NETTXF_csum_blank | NETTXF_data_validated);
		if (!gso)
			continue;
		r->flags |= NETTXF_extra_info;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
		out[n].extra.u.gso.size = m->gso_size;
		out[n].extra.u.gso.type = m->gso_type;
		n++;
	}
	return n;
}

/*
 * The grant budget (netfront.h "Grant budget"): each queue's share of what a
 * domain may grant, less its two ring pages, half to TX and half to RX, at
 * most one page per ring slot.
 */
void nf_pool_sizes(unsigned nq, unsigned *ret_tx_pages, unsigned *ret_rx_bufs)
{
	unsigned per = (NF_GRANT_LIMIT - NF_GRANT_RESERVE) / (nq ? nq : 1);
	unsigned half = per > 2 ? (per - 2) / 2 : 1;

	if (half > NF_RING_SIZE)
		half = NF_RING_SIZE;
	*ret_tx_pages = half;
	*ret_rx_bufs = half;
}

/* ---- RX ---- */

void nf_rx_asm_init(struct nf_rx_asm *a, uint8_t *buf)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
}

static void pkt_reset(struct nf_rx_asm *a)
{
	a->in_pkt = a->want_extra = a->more = false;
	a->frags = a->extras = 0;
	memset(&a->p, 0, sizeof(a->p));
}

/* The packet is bad: drop what is left of its chain (skip) and say why. */
static enum nf_rx_res bad(struct nf_rx_asm *a, const char *why)
{
	a->why = why;
	a->skip = a->want_extra || a->more;
	pkt_reset(a);
	return NF_RX_BAD;
}

/* The chain ended: a packet, unless it is too short to be Ethernet. */
static enum nf_rx_res done(struct nf_rx_asm *a, struct nf_rx_pkt *ret)
{
	if (a->p.len < NF_ETH_HLEN)
		return bad(a, "runt packet");
	*ret = a->p;
	pkt_reset(a);
	return NF_RX_PKT;
}

/* Dropping the rest of a bad chain: follow its flags, check nothing. */
static enum nf_rx_res skip_slot(struct nf_rx_asm *a, const struct netif_rx_response *rsp)
{
	if (a->want_extra) {
		struct netif_extra_info x;

		memcpy(&x, rsp, sizeof(x));
		a->want_extra = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	} else {
		a->more = rsp->flags & NETRXF_more_data;
	}
	a->skip = a->want_extra || a->more;
	if (!a->skip)
		a->want_extra = a->more = false;
	return NF_RX_MORE;
}

static enum nf_rx_res extra_slot(struct nf_rx_asm *a, const struct netif_rx_response *rsp,
				 struct nf_rx_pkt *ret)
{
	struct netif_extra_info x;

	memcpy(&x, rsp, sizeof(x));
	a->p.slots++;
	a->want_extra = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	if (++a->extras > NF_MAX_EXTRAS)
		return bad(a, "too many extra-info slots");
	/* xennet_get_extras: "Invalid extra type". */
	if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)
		return bad(a, "invalid extra-info type");
	if (x.type == XEN_NETIF_EXTRA_TYPE_GSO) {
		/* xennet_set_skb_gso: the size must not be zero, the type TCPv4/6. */
		if (!x.u.gso.size)
			return bad(a, "GSO size zero");
		if (x.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
		    x.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)
			return bad(a, "bad GSO type");
		a->p.gso_type = x.u.gso.type;
		a->p.gso_size = x.u.gso.size;
	}
	if (x.type == XEN_NETIF_EXTRA_TYPE_HASH) {
		/* netif.h: the value little-endian ("LSB ---- value ---- MSB"). */
		a->p.hash = true;
		a->p.hash_type = x.u.hash.type;
		a->p.hash_alg = x.u.hash.algorithm;
		a->p.hash_value = (uint32_t)x.u.hash.value[0] | (uint32_t)x.u.hash.value[1] << 8 |
				  (uint32_t)x.u.hash.value[2] << 16 |
				  (uint32_t)x.u.hash.value[3] << 24;
	}
	/* MCAST extras carry nothing this frontend uses. */
	if (!a->want_extra && !a->more)
		return done(a, ret);
	return NF_RX_MORE;
}

static enum nf_rx_res data_slot(struct nf_rx_asm *a, const struct netif_rx_response *rsp,
				uint16_t want_id, const uint8_t *page, struct nf_rx_pkt *ret)
{
	bool first = !a->in_pkt;

	a->in_pkt = true;
	a->p.slots++;
	a->more = rsp->flags & NETRXF_more_data;
	if (first) {
		a->p.flags = rsp->flags & (NETRXF_csum_blank | NETRXF_data_validated);
		a->want_extra = rsp->flags & NETRXF_extra_info;
	}
	if (rsp->id != want_id)
		return bad(a, "response id is not its slot's request");
	/* xennet_get_responses: status < 0 or offset + status past the page. */
	if (rsp->status < 0)
		return bad(a, "error status");
	if ((uint32_t)rsp->offset + (uint32_t)rsp->status > XEN_PAGE_SIZE)
		return bad(a, "offset + size crosses the page");
	if (++a->frags > NF_MAX_RX_SLOTS)
		return bad(a, "too many slots");
	memcpy(a->buf + a->p.len, page + rsp->offset, (size_t)rsp->status);
	a->p.len += (uint32_t)rsp->status;
	if (!a->want_extra && !a->more)
		return done(a, ret);
	return NF_RX_MORE;
}

enum nf_rx_res nf_rx_feed(struct nf_rx_asm *a, const struct netif_rx_response *rsp,
			  uint16_t want_id, const uint8_t *page, struct nf_rx_pkt *ret)
{
	if (a->skip)
		return skip_slot(a, rsp);
	/* Extras follow the first response (netif.h "Guest receive"). */
	if (a->want_extra)
		return extra_slot(a, rsp, ret);
	return data_slot(a, rsp, want_id, page, ret);
}
