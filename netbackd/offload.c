// SPDX-License-Identifier: GPL-2.0-only
/*
 * Offloads in software (see offload.h for the contract).
 *
 * Egress, per packet: check that the flags agree with the headers; make the
 * headers private and contiguous in the first segment; segment a TSO packet
 * the egress cannot take; then per packet or segment: make a chain one
 * segment when the egress takes no chains, and either write the
 * pseudo-header the egress expects into the L4 checksum field or complete
 * the checksum here.
 *
 * Segmentation: DPDK 22.11's rte_gso does TCP over IPv4 only (lib/gso/
 * rte_gso.c: anything else is "Unsupported packet type"), does not write
 * checksums, and reads the headers from the first segment. So rte_gso is
 * used for IPv4 towards an egress that takes chains (its segments are a
 * header mbuf plus indirect mbufs on the original payload: no copy), and
 * the copy segmenter below for IPv6 and for egresses without chains (each
 * segment then is one mbuf when header + MSS fit its data room).
 *
 * Checksums: DPDK's pseudo-header helpers; the sum over the data is
 * raw_cksum_chain (rte_raw_cksum_mbuf is wrong for odd-sized segments, see
 * there). IPv6 with extension headers: 22.11's rte_ipv6_phdr_cksum takes
 * the length from payload_len and the protocol from the fixed header (its
 * doc: "must not be followed by extension headers"), so for l3_len > 40
 * the pseudo-header is summed here.
 *
 * Worker threads, one struct nb_offload each. Never blocks or logs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_gro.h>
#include <rte_gso.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "offload.h"
#include "pkt.h"

#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_FIN 0x01
#define XEN_GSO_TCPV4 1	/* XEN_NETIF_GSO_TYPE_TCPV4, xen/io/netif.h */
#define XEN_GSO_TCPV6 2	/* XEN_NETIF_GSO_TYPE_TCPV6 */

struct nb_offload {
	struct rte_mempool *direct;
	struct rte_mempool *indirect;
	struct rte_gso_ctx gso;
	struct rte_mbuf *segs[NB_OFFLOAD_MAX_SEGS];
};

/* A packet's headers as its flags describe them, checked. */
struct hdrs {
	bool v6, tcp, tso;
	uint16_t l2, l3, l4;	/* l4: the TCP header's length, or 8 for UDP */
	uint32_t hdr_len;	/* l2 + l3 + l4 */
	uint32_t l4_end;	/* where the IP packet ends (Ethernet padding may follow) */
};

int nb_offload_new(struct rte_mempool *direct, struct rte_mempool *indirect,
		   struct nb_offload **ret)
{
	struct nb_offload *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->direct = direct;
	o->indirect = indirect ? indirect : direct;
	o->gso = (struct rte_gso_ctx){
		.direct_pool = o->direct,
		.indirect_pool = o->indirect,
		.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
	};
	*ret = o;
	return 0;
}

void nb_offload_free(struct nb_offload *o)
{
	free(o);
}

static uint32_t pool_room(struct rte_mempool *mp)
{
	return rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
}

/* The flags alone: coherent, and the headers inside the frame. */
static int hdrs_from_flags(const struct rte_mbuf *m, struct hdrs *h)
{
	uint64_t f = m->ol_flags, l4 = f & RTE_MBUF_F_TX_L4_MASK;

	h->v6 = f & RTE_MBUF_F_TX_IPV6;
	h->tso = f & RTE_MBUF_F_TX_TCP_SEG;
	h->tcp = l4 == RTE_MBUF_F_TX_TCP_CKSUM;
	if (!(f & RTE_MBUF_F_TX_IPV4) == !h->v6)
		return -EINVAL;
	if (h->tso && l4 == 0)
		h->tcp = true;	/* TCP_SEG implies TCP_CKSUM (rte_mbuf_core.h) */
	if (!h->tcp && (h->tso || l4 != RTE_MBUF_F_TX_UDP_CKSUM))
		return -EINVAL;
	h->l2 = m->l2_len;
	h->l3 = m->l3_len;
	h->l4 = h->tcp ? m->l4_len : sizeof(struct rte_udp_hdr);
	if (h->l2 < RTE_ETHER_HDR_LEN || h->l3 < (h->v6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr)) ||
	    h->l4 < (h->tcp ? sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr)))
		return -EINVAL;
	h->hdr_len = (uint32_t)h->l2 + h->l3 + h->l4;
	return h->hdr_len <= m->pkt_len ? 0 : -EINVAL;
}

/* The IP header (contiguous by now) against the flags; sets l4_end. */
static int hdrs_check_ip(const struct rte_mbuf *m, struct hdrs *h)
{
	const void *l3 = rte_pktmbuf_mtod_offset(m, const void *, h->l2);
	uint8_t proto = h->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	uint32_t iplen;

	if (!h->v6) {
		const struct rte_ipv4_hdr *ip = l3;

		if ((ip->version_ihl >> 4) != 4 || rte_ipv4_hdr_len(ip) != h->l3 ||
		    ip->next_proto_id != proto)
			return -EINVAL;
		iplen = rte_be_to_cpu_16(ip->total_length);
	} else {
		const struct rte_ipv6_hdr *ip = l3;

		if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 ||
		    (h->l3 == sizeof(*ip) && ip->proto != proto))
			return -EINVAL;
		iplen = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	}
	h->l4_end = h->l2 + iplen;
	if (iplen < (uint32_t)h->l3 + h->l4 || h->l4_end > m->pkt_len)
		return -EINVAL;
	return 0;
}

/*
 * Headers about to be written must be ours alone and in the first segment:
 * otherwise work on a copy (a flooded packet shares its data with the
 * copies other egresses send).
 */
static int hdrs_private(struct nb_offload *o, struct rte_mbuf **pm, uint32_t hdr_len,
			struct nb_offload_stats *st)
{
	struct rte_mbuf *m = *pm, *c;

	if (m->data_len >= hdr_len && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1)
		return 0;
	if (hdr_len > pool_room(o->direct))
		return -EINVAL;
	c = rte_pktmbuf_copy(m, o->direct, 0, UINT32_MAX);
	if (!c)
		return -ENOMEM;
	rte_pktmbuf_free(m);
	*pm = c;
	st->unshared++;
	return 0;
}

/* RFC 8200 8.1 pseudo-header after extension headers: l4 protocol, l4 length. */
static uint16_t ipv6_ext_phdr(const struct rte_ipv6_hdr *ip, uint8_t proto, uint32_t len)
{
	struct {
		rte_be32_t len;
		rte_be32_t proto;
	} p = { rte_cpu_to_be_32(len), rte_cpu_to_be_32(proto) };
	uint32_t sum = __rte_raw_cksum(ip->src_addr, sizeof(ip->src_addr) + sizeof(ip->dst_addr), 0);

	return __rte_raw_cksum_reduce(__rte_raw_cksum(&p, sizeof(p), sum));
}

/* The non-complemented pseudo-header sum: with the L4 length, or DPDK's
 * (without it for TSO). */
static uint16_t phdr_sum(const struct rte_mbuf *m, const struct hdrs *h, bool with_len)
{
	const void *l3 = rte_pktmbuf_mtod_offset(m, const void *, h->l2);
	uint64_t flags = with_len ? 0 : m->ol_flags;

	if (!h->v6)
		return rte_ipv4_phdr_cksum(l3, flags);
	if (h->l3 == sizeof(struct rte_ipv6_hdr))
		return rte_ipv6_phdr_cksum(l3, flags);
	return ipv6_ext_phdr(l3, h->tcp ? IPPROTO_TCP : IPPROTO_UDP,
			     (flags & RTE_MBUF_F_TX_TCP_SEG) ? 0 : h->l4_end - h->l2 - h->l3);
}

static void l4_csum_set(struct rte_mbuf *m, const struct hdrs *h, uint16_t v)
{
	void *l4 = rte_pktmbuf_mtod_offset(m, void *, h->l2 + h->l3);

	if (h->tcp)
		((struct rte_tcp_hdr *)l4)->cksum = v;
	else
		((struct rte_udp_hdr *)l4)->dgram_cksum = v;
}

/*
 * The one's-complement sum of len bytes from off, over a chain. Not
 * rte_raw_cksum_mbuf: for a segment starting at an odd offset it byte-swaps
 * the segment's unreduced 32-bit sum truncated to 16 bits (lib/net/
 * rte_ip.h in 22.11, rte_cksum.h upstream: `rte_bswap16((uint16_t)tmp)`),
 * losing its carries, so chains of odd-sized segments (guest slots) get
 * wrong checksums. Same walk, reduced before the swap.
 */
static uint16_t raw_cksum_chain(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	const struct rte_mbuf *s = m;
	uint32_t sum = 0, done = 0;

	while (s && off >= s->data_len) {
		off -= s->data_len;
		s = s->next;
	}
	for (; s && done < len; s = s->next, off = 0) {
		uint32_t n = RTE_MIN(s->data_len - off, len - done);
		uint16_t t = __rte_raw_cksum_reduce(
			__rte_raw_cksum(rte_pktmbuf_mtod_offset(s, const char *, off), n, 0));

		sum += (done & 1) ? rte_bswap16(t) : t;
		done += n;
	}
	return __rte_raw_cksum_reduce(sum);
}

static void l4_csum_full(struct rte_mbuf *m, const struct hdrs *h)
{
	uint32_t off = (uint32_t)h->l2 + h->l3, sum;
	uint16_t c;

	l4_csum_set(m, h, 0);
	sum = (uint32_t)raw_cksum_chain(m, off, h->l4_end - off) + phdr_sum(m, h, true);
	c = (uint16_t)~__rte_raw_cksum_reduce(sum);
	if (c == 0 && !h->tcp)
		c = 0xffff;	/* RFC 768: a computed 0 is sent as all ones */
	l4_csum_set(m, h, c);
}

int nb_offload_csum_at(struct rte_mbuf *m, uint32_t start, uint32_t offset)
{
	uint32_t field = start + offset;
	uint16_t c;

	if (start >= m->pkt_len || field + 2 > m->data_len || field < start)
		return -EINVAL;
	c = (uint16_t)~raw_cksum_chain(m, start, m->pkt_len - start);
	if (c == 0)
		c = 0xffff;	/* same in one's complement; UDP's "no checksum" is 0 */
	rte_memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, field), &c, sizeof(c));
	return 0;
}

static int linearise(struct nb_offload *o, struct rte_mbuf **pm, struct nb_offload_stats *st)
{
	struct rte_mbuf *c;

	if ((*pm)->pkt_len > pool_room(o->direct))
		return -E2BIG;
	c = rte_pktmbuf_copy(*pm, o->direct, 0, UINT32_MAX);
	if (!c)
		return -ENOMEM;
	rte_pktmbuf_free(*pm);
	*pm = c;
	st->linearised++;
	return 0;
}

static void count_drop(int r, struct nb_offload_stats *st)
{
	if (r == -ENOMEM)
		st->drop_nomem++;
	else if (r == -E2BIG)
		st->drop_too_long++;
	else if (r == -ENOSPC)
		st->drop_no_room++;
	else
		st->drop_bad++;
}

/*
 * The last step for a packet or segment whose headers are private: one
 * segment if the egress wants that, then the L4 checksum as the egress
 * wants it. On error the packet is still the caller's to free.
 */
static int finish(struct nb_offload *o, unsigned caps, struct rte_mbuf **pm, struct hdrs *h,
		  struct nb_offload_stats *st)
{
	unsigned csum_cap = h->v6 ? NB_CAP_IPV6_CSUM : NB_CAP_IPV4_CSUM;
	struct rte_mbuf *m;
	int r;

	if ((*pm)->nb_segs > 1 && !(caps & NB_CAP_MULTISEG)) {
		r = linearise(o, pm, st);
		if (r < 0)
			return r;
	}
	m = *pm;
	if (caps & csum_cap) {
		l4_csum_set(m, h, phdr_sum(m, h, caps & NB_CAP_PHDR_LINUX));
		if (h->tso && !h->v6 && !(caps & NB_CAP_PHDR_LINUX))
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
		return 0;
	}
	l4_csum_full(m, h);
	m->ol_flags &= ~NB_TX_OFFLOAD_MASK;
	st->csum_sw++;
	return 0;
}

/* Remove empty segments (rte_gso makes one when the first segment held only headers). */
static void chain_drop_empty(struct rte_mbuf *m)
{
	struct rte_mbuf *prev = m, *s;

	while ((s = prev->next) != NULL) {
		if (s->data_len) {
			prev = s;
			continue;
		}
		prev->next = s->next;
		s->next = NULL;
		m->nb_segs--;
		rte_pktmbuf_free_seg(s);
	}
}

/* IPv4 length/id, IPv6 length, TCP sequence and flags of segment i. */
static void seg_headers(struct rte_mbuf *s, const struct hdrs *h, uint32_t seq_off, uint16_t i,
			bool last)
{
	void *l3 = rte_pktmbuf_mtod_offset(s, void *, h->l2);
	struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(s, struct rte_tcp_hdr *, h->l2 + h->l3);

	if (!h->v6) {
		struct rte_ipv4_hdr *ip = l3;

		ip->total_length = rte_cpu_to_be_16(s->pkt_len - h->l2);
		ip->packet_id = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->packet_id) + i);
	} else {
		struct rte_ipv6_hdr *ip = l3;

		ip->payload_len = rte_cpu_to_be_16(s->pkt_len - h->l2 - sizeof(*ip));
	}
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) + seq_off);
	if (!last)
		th->tcp_flags &= ~(TCP_FLAG_PSH | TCP_FLAG_FIN);
	s->ol_flags &= ~RTE_MBUF_F_TX_TCP_SEG;
}

/* One segment of the copy segmenter: headers, then `len` payload bytes from `off`. */
static struct rte_mbuf *seg_copy_one(struct nb_offload *o, struct rte_mbuf *m,
				     const struct hdrs *h, uint32_t off, uint32_t len)
{
	struct rte_mbuf *s = rte_pktmbuf_copy(m, o->direct, 0, h->hdr_len), *t;

	if (!s)
		return NULL;
	if (rte_pktmbuf_tailroom(s) >= len) {
		char *dst = rte_pktmbuf_append(s, (uint16_t)len);
		const void *src = rte_pktmbuf_read(m, off, len, dst);

		if (src != dst)
			rte_memcpy(dst, src, len);
		return s;
	}
	t = rte_pktmbuf_copy(m, o->direct, off, len);
	if (!t || rte_pktmbuf_chain(s, t) < 0) {
		rte_pktmbuf_free(t);
		rte_pktmbuf_free(s);
		return NULL;
	}
	return s;
}

static int segment_copy(struct nb_offload *o, struct rte_mbuf *m, const struct hdrs *h,
			uint16_t nseg)
{
	uint32_t mss = m->tso_segsz, payload = h->l4_end - h->hdr_len, done = 0;
	uint16_t i;

	for (i = 0; i < nseg; i++, done += mss) {
		uint32_t len = RTE_MIN(mss, payload - done);

		o->segs[i] = seg_copy_one(o, m, h, h->hdr_len + done, len);
		if (!o->segs[i]) {
			rte_pktmbuf_free_bulk(o->segs, i);
			return -ENOMEM;
		}
		seg_headers(o->segs[i], h, done, i, i == nseg - 1);
	}
	return nseg;
}

/* rte_gso (TCP/IPv4, zero copy); its segments lack only the IPv4 checksum. */
static int segment_gso(struct nb_offload *o, struct rte_mbuf *m, const struct hdrs *h,
		       uint16_t nseg)
{
	int r, i;

	/* rte_gso segments up to pkt_len: Ethernet padding would become payload. */
	if (m->pkt_len > h->l4_end && rte_pktmbuf_trim(m, m->pkt_len - h->l4_end) < 0)
		return -EINVAL;
	o->gso.gso_size = (uint16_t)(h->hdr_len + m->tso_segsz);
	r = rte_gso_segment(m, &o->gso, o->segs, nseg);
	if (r == -EINVAL)
		return -ENOSPC;
	if (r >= 0 && r != nseg) {	/* 0: a fragment, or no payload */
		rte_pktmbuf_free_bulk(o->segs, r);
		return -EINVAL;
	}
	for (i = 0; i < r; i++)
		chain_drop_empty(o->segs[i]);
	return r;
}

static void ipv4_hdr_csum(struct rte_mbuf *s, const struct hdrs *h)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(s, struct rte_ipv4_hdr *, h->l2);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* Segments m (consumed) into out; returns how many or -errno (m freed either way). */
static int segment(struct nb_offload *o, unsigned caps, struct rte_mbuf *m, struct hdrs *h,
		   struct rte_mbuf **out, uint16_t room, struct nb_offload_stats *st)
{
	uint32_t payload = h->l4_end - h->hdr_len;
	uint16_t nseg = (uint16_t)((payload + m->tso_segsz - 1) / m->tso_segsz), i, n = 0;
	struct hdrs sh = *h;
	int r;

	if (nseg > room) {
		rte_pktmbuf_free(m);
		return -ENOSPC;
	}
	if (!h->v6 && (caps & NB_CAP_MULTISEG))
		r = segment_gso(o, m, h, nseg);
	else
		r = segment_copy(o, m, h, nseg);
	rte_pktmbuf_free(m);
	if (r < 0)
		return r;
	st->segmented++;
	st->segments += (uint64_t)r;
	sh.tso = false;
	for (i = 0; i < r; i++) {
		struct rte_mbuf *s = o->segs[i];
		int fr;

		sh.l4_end = s->pkt_len;
		if (!h->v6)
			ipv4_hdr_csum(s, &sh);
		fr = finish(o, caps, &s, &sh, st);
		if (fr < 0) {
			count_drop(fr, st);
			rte_pktmbuf_free(s);
			continue;
		}
		out[n++] = s;
	}
	return n;
}

/* One input packet into out; returns how many packets it became. */
static uint16_t egress_one(struct nb_offload *o, unsigned caps, struct rte_mbuf *m,
			   struct rte_mbuf **out, uint16_t room, struct nb_offload_stats *st)
{
	unsigned tso_cap, csum_cap;
	struct hdrs h;
	int r;

	if (!(m->ol_flags & NB_TX_OFFLOAD_MASK)) {
		r = (m->nb_segs > 1 && !(caps & NB_CAP_MULTISEG)) ? linearise(o, &m, st) : 0;
		goto emit;
	}
	r = hdrs_from_flags(m, &h);
	if (r == 0)
		r = hdrs_private(o, &m, h.hdr_len, st);
	if (r == 0)
		r = hdrs_check_ip(m, &h);
	if (r == 0 && h.tso) {
		uint32_t payload = h.l4_end - h.hdr_len;

		if (m->tso_segsz < NB_OFFLOAD_MIN_MSS) {
			r = -EINVAL;
		} else if (payload <= m->tso_segsz) {
			h.tso = false;	/* nothing to cut */
			m->ol_flags &= ~RTE_MBUF_F_TX_TCP_SEG;
		}
	}
	if (r == 0 && h.tso) {
		tso_cap = h.v6 ? NB_CAP_TSO6 : NB_CAP_TSO4;
		csum_cap = h.v6 ? NB_CAP_IPV6_CSUM : NB_CAP_IPV4_CSUM;
		if (!(caps & tso_cap) || !(caps & csum_cap) ||
		    (m->nb_segs > 1 && !(caps & NB_CAP_MULTISEG))) {
			r = segment(o, caps, m, &h, out, room, st);
			if (r < 0)
				count_drop(r, st);
			return r < 0 ? 0 : (uint16_t)r;
		}
	}
	if (r == 0)
		r = finish(o, caps, &m, &h, st);
emit:
	if (r == 0 && room == 0)
		r = -ENOSPC;
	if (r < 0) {
		count_drop(r, st);
		rte_pktmbuf_free(m);
		return 0;
	}
	out[0] = m;
	return 1;
}

uint16_t nb_offload_egress(struct nb_offload *o, unsigned caps, struct rte_mbuf **in, uint16_t n,
			   struct rte_mbuf **out, uint16_t max_out, struct nb_offload_stats *st)
{
	struct nb_offload_stats ignored = { 0 };
	uint16_t i, nout = 0;

	if (!st)
		st = &ignored;
	for (i = 0; i < n; i++)
		nout += egress_one(o, caps, in[i], out + nout, max_out - nout, st);
	return nout;
}

/* ---- ingress ---- */

/* The IP packet's length against the frame and the headers. */
static int ingress_check_len(const struct rte_mbuf *m, bool v6, uint32_t hdr_len, uint16_t l2)
{
	union {
		struct rte_ipv4_hdr v4;
		struct rte_ipv6_hdr v6;
	} buf;
	const void *ip = rte_pktmbuf_read(m, l2, v6 ? sizeof(buf.v6) : sizeof(buf.v4), &buf);
	uint32_t iplen;

	if (!ip)
		return -EINVAL;
	if (v6)
		iplen = sizeof(buf.v6) + rte_be_to_cpu_16(((const struct rte_ipv6_hdr *)ip)->payload_len);
	else
		iplen = rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)ip)->total_length);
	if (l2 + iplen > m->pkt_len || l2 + iplen < hdr_len)
		return -EINVAL;
	return 0;
}

int nb_offload_ingress(struct rte_mbuf *m, bool csum_partial, bool data_validated,
		       uint8_t gso_type, uint16_t gso_size)
{
	struct rte_net_hdr_lens hl = { 0 };
	uint32_t ptype, l4t, hdr_len;
	bool v4, v6, tcp;

	m->ol_flags &= ~(NB_TX_OFFLOAD_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	/* Nothing left to do for an egress: no header parse on the fast path
	 * (a 64-byte frame's budget is ~200 ns). */
	if (!csum_partial && gso_type == 0) {
		if (data_validated)
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		return 0;
	}
	ptype = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	m->packet_type = ptype;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	if (data_validated)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	if (!csum_partial && gso_type == 0)
		return 0;

	v4 = RTE_ETH_IS_IPV4_HDR(ptype);
	v6 = RTE_ETH_IS_IPV6_HDR(ptype);
	l4t = ptype & RTE_PTYPE_L4_MASK;
	tcp = l4t == RTE_PTYPE_L4_TCP;
	if ((!v4 && !v6) || (!tcp && l4t != RTE_PTYPE_L4_UDP))
		return -EINVAL;
	if (tcp && hl.l4_len < sizeof(struct rte_tcp_hdr))
		return -EINVAL;
	if (gso_type != 0 && (!tcp || gso_size < NB_OFFLOAD_MIN_MSS ||
			      gso_type != (v4 ? XEN_GSO_TCPV4 : XEN_GSO_TCPV6)))
		return -EINVAL;
	hdr_len = (uint32_t)hl.l2_len + hl.l3_len + hl.l4_len;
	if (hdr_len > m->pkt_len || ingress_check_len(m, v6, hdr_len, hl.l2_len) < 0)
		return -EINVAL;

	m->ol_flags |= (v4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) |
		       (tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
	if (gso_type != 0) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = gso_size;
	}
	return 0;
}

/* ---- receive coalescing ---- */

/* At most this many frames go to one rte_gro_reassemble_burst call. */
#define GRO_RUN 64

/*
 * A frame rte_gro may merge (see nb_offload_gro); sets packet_type, the
 * header lengths and RX_L4_CKSUM_GOOD. Untagged frames only: 22.11's
 * rte_gro keys a TCP/IPv4 flow by MACs, addresses, ports and ACK number
 * (gro_tcp4.h struct tcp4_flow_key), never by VLAN, so frames of two VLANs
 * alike in the rest would merge into one.
 */
static bool gro_candidate(struct rte_mbuf *m)
{
	struct rte_net_hdr_lens hl = { 0 };
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint32_t ptype, hdr_len;

	if (m->nb_segs != 1 || (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return false;
	ptype = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	/* A fragment is RTE_PTYPE_L4_FRAG, not TCP. */
	if ((ptype & RTE_PTYPE_L2_MASK) != RTE_PTYPE_L2_ETHER || !RTE_ETH_IS_IPV4_HDR(ptype) ||
	    (ptype & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_TCP ||
	    hl.l4_len < sizeof(struct rte_tcp_hdr))
		return false;
	hdr_len = (uint32_t)hl.l2_len + hl.l3_len + hl.l4_len;
	if (hdr_len >= m->data_len)
		return false;	/* no payload: nothing to merge */
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, hl.l2_len);
	tcp = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, hl.l2_len + hl.l3_len);
	/* rte_gro takes the payload length from pkt_len: no Ethernet padding. */
	if ((uint32_t)hl.l2_len + rte_be_to_cpu_16(ip->total_length) != m->pkt_len)
		return false;
	if (tcp->tcp_flags != RTE_TCP_ACK_FLAG)
		return false;
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    rte_raw_cksum(ip, hl.l3_len) != 0xffff)
		return false;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		if (rte_ipv4_udptcp_cksum_verify(ip, tcp) != 0)
			return false;
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
	m->packet_type = ptype;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	return true;
}

/*
 * rte_gro over `run` candidates into `out` (which may overlap them from the
 * front); merged packets get pkt.h's TSO flags with the largest payload of
 * their frames as the MSS (each chain segment after the first is one
 * frame's payload: the candidates were one segment each) and a new IPv4
 * header checksum.
 */
static uint16_t gro_flush(struct rte_mbuf **run, uint16_t n, struct rte_mbuf **out,
			  struct nb_offload_stats *st)
{
	const struct rte_gro_param p = {
		.gro_types = RTE_GRO_TCP_IPV4, .max_flow_num = GRO_RUN, .max_item_per_flow = GRO_RUN,
	};
	uint16_t i;

	if (n > 1)
		n = rte_gro_reassemble_burst(run, n, &p);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = run[i], *s;
		uint32_t hdr_len = (uint32_t)m->l2_len + m->l3_len + m->l4_len;
		uint16_t mss = (uint16_t)(m->data_len - hdr_len);
		struct rte_ipv4_hdr *ip;

		out[i] = m;
		if (m->nb_segs == 1)
			continue;
		for (s = m->next; s; s = s->next)
			if (s->data_len > mss)
				mss = s->data_len;
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = mss;
		st->gro_packets++;
		st->gro_frames += m->nb_segs;
	}
	return n;
}

uint16_t nb_offload_gro(struct rte_mbuf **pkts, uint16_t n, struct nb_offload_stats *st)
{
	struct rte_mbuf *run[GRO_RUN];
	uint16_t i, out = 0, nrun = 0;

	if (n < 2)
		return n;
	for (i = 0; i < n; i++) {
		bool c = gro_candidate(pkts[i]);

		if (c && nrun < GRO_RUN) {
			run[nrun++] = pkts[i];
			continue;
		}
		/* out + nrun == i: the flush writes only slots already read. */
		out += gro_flush(run, nrun, pkts + out, st);
		nrun = 0;
		if (c)
			run[nrun++] = pkts[i];
		else
			pkts[out++] = pkts[i];
	}
	return out + gro_flush(run, nrun, pkts + out, st);
}
