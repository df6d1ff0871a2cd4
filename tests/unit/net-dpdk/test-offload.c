// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for netbackd/offload.c: nb_offload_ingress on good and lying
 * guest frames, and nb_offload_egress for each kind of egress: checksums
 * completed in software (checked independently and with DPDK's verify
 * helpers), the pseudo-header DPDK PMDs and Linux netfront expect, TSO of a
 * 64 KiB send cut into valid segments (IPv4 through rte_gso, IPv6 and
 * chain-less egresses through the copy segmenter), chains linearised or
 * dropped, shared packets copied before their headers change, receive
 * coalescing (nb_offload_gro) of a wire's frames back into one TSO packet
 * that never takes a corrupted frame nor reorders, and every mbuf back in
 * its pool afterwards.
 */
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "nbtest.h"
#include "offload.h"

static struct rte_mempool *pool, *ind;
static struct nb_offload *ol;

#define OUT_MAX 2048
static struct rte_mbuf *out[OUT_MAX];

static bool pools_full(void)
{
	return rte_mempool_full(pool) && rte_mempool_full(ind);
}

static uint64_t tx_flags(const struct nbt_frame *f)
{
	return (f->v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
	       (f->tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
}

/* A frame from a guest: built, then through nb_offload_ingress. */
static struct rte_mbuf *guest_frame(const struct nbt_frame *f, bool partial, uint8_t gso_type,
				    uint16_t mss)
{
	struct rte_mbuf *m = nbt_frame_mbuf(pool, f);

	if (m && nb_offload_ingress(m, partial, false, gso_type, mss) < 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

static void free_out(uint16_t n)
{
	rte_pktmbuf_free_bulk(out, n);
}

/* DPDK's own verification of a single output packet. */
static bool dpdk_verify(const struct rte_mbuf *m, const struct nbt_frame *f)
{
	uint8_t hdr[64];
	const void *ip = rte_pktmbuf_read(m, 14, f->v6 ? 40 : 20, hdr);
	uint16_t off = (uint16_t)(14 + nbt_l3(f));

	/* DPDK's helpers take no extension headers, and rte_raw_cksum_mbuf
	 * is wrong for odd-sized segments (see offload.c). */
	if ((f->v6 && f->ext) || m->nb_segs > 1)
		return true;
	return f->v6 ? rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, off) == 0
		     : rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, off) == 0;
}

static void check_sw_csum_caps(const struct nbt_frame *f, unsigned caps)
{
	struct nb_offload_stats st = { 0 };
	struct rte_mbuf *m = guest_frame(f, true, 0, 0);
	uint16_t n;
	uint8_t *b;

	REQUIRE(m);
	CHECK((m->ol_flags & NB_TX_OFFLOAD_MASK) == tx_flags(f));
	n = nb_offload_egress(ol, caps, &m, 1, out, OUT_MAX, &st);
	REQUIRE(n == 1);
	CHECK(out[0]->nb_segs == 1 || (caps & NB_CAP_MULTISEG));
	CHECK((out[0]->ol_flags & NB_TX_OFFLOAD_MASK) == 0);
	b = nbt_flat(out[0]);
	CHECK(nbt_l4_ok(b, out[0]->pkt_len, f));
	CHECK(dpdk_verify(out[0], f));
	CHECK(st.csum_sw == 1);
	free(b);
	free_out(n);
}

/* Completed in software, into one segment or kept as a chain. */
static void check_sw_csum(const struct nbt_frame *f)
{
	check_sw_csum_caps(f, 0);
	check_sw_csum_caps(f, NB_CAP_MULTISEG);
}

static void test_csum_sw(void)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (int tcp = 0; tcp < 2; tcp++) {
			struct nbt_frame f = { .v6 = v6, .tcp = tcp, .payload = 1001 };

			check_sw_csum(&f);
			f.seg = 333;	/* a chain of odd-sized segments */
			f.first = 21;	/* the IP header split across segments */
			check_sw_csum(&f);
		}
	CHECK(pools_full());
}

static void test_csum_v6_ext(void)
{
	struct nbt_frame f = { .v6 = true, .tcp = true, .payload = 777, .ext = 8 };
	struct rte_mbuf *m = guest_frame(&f, true, 0, 0);

	REQUIRE(m);
	CHECK(m->l3_len == 48);
	rte_pktmbuf_free(m);
	check_sw_csum(&f);
	f.tcp = false;
	f.seg = 101;
	check_sw_csum(&f);
	CHECK(pools_full());
}

/* An egress taking partial checksums gets the pseudo-header it expects. */
static void check_phdr(const struct nbt_frame *f, unsigned caps, bool tso, uint16_t expect_len)
{
	struct rte_mbuf *m = guest_frame(f, true, tso ? (f->v6 ? 2 : 1) : 0, 1400);
	uint8_t *b;
	uint16_t n;

	REQUIRE(m);
	n = nb_offload_egress(ol, caps, &m, 1, out, OUT_MAX, NULL);
	REQUIRE(n == 1);
	b = nbt_flat(out[0]);
	CHECK(nbt_csum_field(b, f) == nbt_phdr(b, f, expect_len));
	CHECK((out[0]->ol_flags & tx_flags(f)) == tx_flags(f));
	CHECK(!!(out[0]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) == tso);
	CHECK(!!(out[0]->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) ==
	      (tso && !f->v6 && !(caps & NB_CAP_PHDR_LINUX)));
	free(b);
	free_out(n);
}

static void test_phdr(void)
{
	const unsigned csum = NB_CAP_IPV4_CSUM | NB_CAP_IPV6_CSUM | NB_CAP_MULTISEG;
	const unsigned tso = csum | NB_CAP_TSO4 | NB_CAP_TSO6;

	for (int v6 = 0; v6 < 2; v6++)
		for (int tcp = 0; tcp < 2; tcp++) {
			struct nbt_frame f = { .v6 = v6, .tcp = tcp, .payload = 500, .seg = 99 };
			uint16_t l4len = (uint16_t)(nbt_l4(&f) + f.payload);

			check_phdr(&f, csum, false, l4len);
			check_phdr(&f, csum | NB_CAP_PHDR_LINUX, false, l4len);
		}
	for (int v6 = 0; v6 < 2; v6++) {
		struct nbt_frame f = { .v6 = v6, .tcp = true, .payload = 30000, .seg = 4096 };

		/* TSO kept: DPDK's pseudo-header leaves the length out, Linux's has it. */
		check_phdr(&f, tso, true, 0);
		check_phdr(&f, tso | NB_CAP_PHDR_LINUX, true, (uint16_t)(20 + f.payload));
	}
	CHECK(pools_full());
}

/* Cuts a TSO send with `caps` and checks every segment. */
static void check_tso(const struct nbt_frame *f, unsigned caps, uint16_t mss)
{
	struct nb_offload_stats st = { 0 };
	struct rte_mbuf *m = guest_frame(f, true, f->v6 ? 2 : 1, mss);
	uint32_t n0, off = 0, hdr = 14 + nbt_l3(f) + 20;
	uint8_t *orig = nbt_bytes(f, &n0);
	uint16_t n, i, want = (uint16_t)((f->payload + mss - 1) / mss);
	bool partial = caps & (f->v6 ? NB_CAP_IPV6_CSUM : NB_CAP_IPV4_CSUM);

	REQUIRE(m);
	n = nb_offload_egress(ol, caps, &m, 1, out, OUT_MAX, &st);
	CHECK(n == want);
	CHECK(st.segmented == 1 && st.segments == want);
	for (i = 0; i < n; i++) {
		uint8_t *b = nbt_flat(out[i]);
		uint32_t plen = out[i]->pkt_len - hdr, seq = ((uint32_t)b[hdr - 16] << 24 |
			b[hdr - 15] << 16 | b[hdr - 14] << 8 | b[hdr - 13]);
		uint8_t flags = b[hdr - 7];

		CHECK(plen <= mss && plen > 0);
		CHECK(seq == 0xfffff000u + off);
		CHECK(memcmp(b + hdr, orig + hdr + off, plen) == 0);
		CHECK(!!(flags & 0x09) == (i == n - 1));	/* PSH, FIN only on the last */
		if (!f->v6) {
			CHECK(nbt_fold(nbt_sum(b + 14, 20, 0)) == 0xffff);
			CHECK((uint32_t)(b[16] << 8 | b[17]) == out[i]->pkt_len - 14);
			CHECK((b[18] << 8 | b[19]) == 100 + i);
		} else {
			CHECK((uint32_t)(b[18] << 8 | b[19]) == out[i]->pkt_len - 54);
		}
		if (partial)
			CHECK(nbt_csum_field(b, f) == nbt_phdr(b, f, (uint16_t)(20 + plen)));
		else
			CHECK(nbt_l4_ok(b, out[i]->pkt_len, f) && dpdk_verify(out[i], f));
		if (!(caps & NB_CAP_MULTISEG))
			CHECK(out[i]->nb_segs == 1);
		CHECK(!(out[i]->ol_flags & RTE_MBUF_F_TX_TCP_SEG));
		off += plen;
		free(b);
	}
	CHECK(off == f->payload);
	free(orig);
	free_out(n);
}

static void test_tso(void)
{
	for (int v6 = 0; v6 < 2; v6++) {
		/* 64 KiB of IP packet; headers alone in the first segment. */
		struct nbt_frame f = { .v6 = v6, .tcp = true, .payload = 65535 - 40 - 20 * !v6,
				       .seg = 4096, .first = v6 ? 74 : 54 };

		check_tso(&f, 0, 1448);
		check_tso(&f, NB_CAP_MULTISEG, 1448);
		check_tso(&f, NB_CAP_MULTISEG | NB_CAP_IPV4_CSUM | NB_CAP_IPV6_CSUM, 1448);
		check_tso(&f, NB_CAP_MULTISEG | NB_CAP_IPV4_CSUM | NB_CAP_IPV6_CSUM |
			      NB_CAP_PHDR_LINUX, 8000);
		check_tso(&f, 0, 64);	/* the smallest MSS: 1023 segments */
	}
	CHECK(pools_full());
}

static void test_linearise(void)
{
	struct nb_offload_stats st = { 0 };
	struct nbt_frame f = { .tcp = false, .payload = 2000, .seg = 700 };
	struct rte_mbuf *m[2];
	uint8_t *a, *b;
	uint16_t n;

	m[0] = nbt_frame_mbuf(pool, &f);	/* no offload flags: only the chain */
	a = nbt_flat(m[0]);
	f.payload = 5000;
	m[1] = nbt_frame_mbuf(pool, &f);	/* longer than one mbuf's data room */
	REQUIRE(m[0] && m[1]);
	n = nb_offload_egress(ol, 0, m, 2, out, OUT_MAX, &st);
	REQUIRE(n == 1);
	CHECK(out[0]->nb_segs == 1 && st.linearised == 1 && st.drop_too_long == 1);
	b = nbt_flat(out[0]);
	CHECK(out[0]->pkt_len == 14 + 20 + 8 + 2000 && memcmp(a, b, out[0]->pkt_len) == 0);
	free(a);
	free(b);
	free_out(n);
	CHECK(pools_full());
}

/* A flooded packet (refcnt 2): the copy sent here is changed, not the original. */
static void test_shared(void)
{
	struct nb_offload_stats st = { 0 };
	struct nbt_frame f = { .tcp = true, .payload = 300 };
	struct rte_mbuf *m = guest_frame(&f, true, 0, 0);
	uint8_t *b;
	uint16_t n;

	REQUIRE(m);
	rte_mbuf_refcnt_update(m, 1);
	n = nb_offload_egress(ol, 0, &m, 1, out, OUT_MAX, &st);
	REQUIRE(n == 1);
	CHECK(out[0] != m && st.unshared == 1);
	b = nbt_flat(m);
	CHECK(nbt_csum_field(b, &f) == 0xdead);
	free(b);
	b = nbt_flat(out[0]);
	CHECK(nbt_l4_ok(b, out[0]->pkt_len, &f));
	free(b);
	free_out(n);
	rte_pktmbuf_free(m);
	CHECK(pools_full());
}

static void test_drops(void)
{
	struct nb_offload_stats st = { 0 };
	struct nbt_frame f = { .v6 = true, .tcp = true, .payload = 100 };
	struct rte_mbuf *m[4];
	uint16_t n;

	m[0] = guest_frame(&f, true, 0, 0);
	REQUIRE(m[0]);
	m[0]->ol_flags ^= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IPV4;	/* says IPv4 */
	m[1] = guest_frame(&f, true, 2, 1000);
	REQUIRE(m[1]);
	m[1]->tso_segsz = 10;	/* below NB_OFFLOAD_MIN_MSS */
	f.payload = 20000;
	m[2] = guest_frame(&f, true, 2, 1000);	/* 20 segments into 3 free entries */
	f.payload = 100;
	m[3] = guest_frame(&f, true, 0, 0);	/* then one fits */
	REQUIRE(m[2] && m[3]);
	n = nb_offload_egress(ol, 0, m, 4, out, 2, &st);
	CHECK(n == 1);
	CHECK(st.drop_bad == 2 && st.drop_no_room == 1);
	free_out(n);
	CHECK(pools_full());
}

static void test_ingress_good(void)
{
	struct nbt_frame f = { .tcp = true, .payload = 100, .seg = 7, .first = 20 };
	struct rte_mbuf *m = nbt_frame_mbuf(pool, &f);

	REQUIRE(m);
	/* Headers spread over 7-byte segments still parse. */
	CHECK(nb_offload_ingress(m, true, true, 1, 1448) == 0);
	CHECK(m->l2_len == 14 && m->l3_len == 20 && m->l4_len == 20);
	CHECK((m->ol_flags & NB_TX_OFFLOAD_MASK) ==
	      (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG));
	CHECK(m->tso_segsz == 1448);
	CHECK(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	/* The same frame without claims: nothing left for an egress. */
	CHECK(nb_offload_ingress(m, false, false, 0, 0) == 0);
	CHECK((m->ol_flags & (NB_TX_OFFLOAD_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) == 0);
	rte_pktmbuf_free(m);

	f = (struct nbt_frame){ .v6 = true, .tcp = false, .payload = 10, .ext = 8 };
	m = nbt_frame_mbuf(pool, &f);
	REQUIRE(m);
	CHECK(nb_offload_ingress(m, true, false, 0, 0) == 0);
	CHECK(m->l3_len == 48 && m->l4_len == 8);
	CHECK((m->ol_flags & NB_TX_OFFLOAD_MASK) == (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM));
	CHECK(!(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_GOOD));
	rte_pktmbuf_free(m);
	CHECK(pools_full());
}

static int ingress_of(const struct nbt_frame *f, void (*edit)(uint8_t *b, uint32_t *n),
		      bool partial, uint8_t gso, uint16_t mss)
{
	uint32_t n;
	uint8_t *b = nbt_bytes(f, &n);
	struct rte_mbuf *m;
	int r;

	if (edit)
		edit(b, &n);
	m = nbt_mbuf(pool, b, n, f);
	free(b);
	if (!m)
		return -999;
	r = nb_offload_ingress(m, partial, false, gso, mss);
	rte_pktmbuf_free(m);
	return r;
}

static void make_icmp(uint8_t *b, uint32_t *n)
{
	(void)n;
	b[14 + 9] = IPPROTO_ICMP;
}

static void make_arp(uint8_t *b, uint32_t *n)
{
	(void)n;
	b[12] = 0x08;
	b[13] = 0x06;
}

static void make_ip_long(uint8_t *b, uint32_t *n)
{
	(void)n;
	b[14 + 2] = 0x40;	/* total_length 16 KiB past a short frame */
}

static void cut_headers(uint8_t *b, uint32_t *n)
{
	(void)b;
	*n = 14 + 20 + 10;	/* half a TCP header */
}

static void make_fragment(uint8_t *b, uint32_t *n)
{
	(void)n;
	b[14 + 6] = 0x20;	/* more fragments */
}

static void test_ingress_lies(void)
{
	struct nbt_frame t4 = { .tcp = true, .payload = 100 }, u4 = { .payload = 100 };
	struct nbt_frame t6 = { .v6 = true, .tcp = true, .payload = 100 };

	CHECK(ingress_of(&t4, make_icmp, true, 0, 0) == -EINVAL);
	CHECK(ingress_of(&t4, make_arp, true, 0, 0) == -EINVAL);
	CHECK(ingress_of(&t4, make_arp, false, 0, 0) == 0);	/* no claim, no complaint */
	CHECK(ingress_of(&t4, make_ip_long, true, 0, 0) == -EINVAL);
	CHECK(ingress_of(&t4, cut_headers, true, 0, 0) == -EINVAL);
	CHECK(ingress_of(&t4, make_fragment, true, 0, 0) == -EINVAL);
	CHECK(ingress_of(&t4, NULL, true, 2, 1448) == -EINVAL);	/* TCPV6 on IPv4 */
	CHECK(ingress_of(&t6, NULL, true, 1, 1448) == -EINVAL);	/* TCPV4 on IPv6 */
	CHECK(ingress_of(&u4, NULL, true, 1, 1448) == -EINVAL);	/* GSO on UDP */
	CHECK(ingress_of(&t4, NULL, true, 1, 10) == -EINVAL);	/* MSS 10 */
	CHECK(ingress_of(&t4, NULL, true, 1, 1448) == 0);
	CHECK(ingress_of(&t6, NULL, false, 2, 1448) == 0);	/* GSO implies partial */
	CHECK(pools_full());
}

/*
 * ---- receive coalescing: a 64 KiB send as a wire carries it (segmented
 * here with full checksums), its frames through nb_offload_gro.
 */
#define GRO_MSS 1448

/* The wire's frames of f (v4 TCP): ACK on all, PSH|FIN on the last. */
static uint16_t wire_frames(const struct nbt_frame *f, struct rte_mbuf **w)
{
	struct rte_mbuf *m = guest_frame(f, true, 1, GRO_MSS);
	uint16_t n;

	if (!m)
		return 0;
	n = nb_offload_egress(ol, 0, &m, 1, w, OUT_MAX, NULL);
	for (uint16_t i = 0; i < n; i++)
		w[i]->ol_flags = 0;	/* as an uplink's RX hands them over */
	return n;
}

/* A merged packet: frames [from, from + k) of the send, as one TSO packet. */
static void check_merged(const struct rte_mbuf *m, const uint8_t *orig, uint16_t from, uint16_t k)
{
	uint32_t hdr = 14 + 20 + 20, seq;
	uint8_t *b = nbt_flat(m);

	CHECK(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	CHECK((m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_L4_MASK)) ==
	      (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM));
	CHECK(m->tso_segsz == GRO_MSS && m->nb_segs == k);
	CHECK(m->l2_len == 14 && m->l3_len == 20 && m->l4_len == 20);
	CHECK(m->pkt_len == hdr + (uint32_t)k * GRO_MSS);
	CHECK((uint32_t)(b[16] << 8 | b[17]) == m->pkt_len - 14);
	CHECK(nbt_fold(nbt_sum(b + 14, 20, 0)) == 0xffff);
	seq = (uint32_t)b[38] << 24 | b[39] << 16 | b[40] << 8 | b[41];
	CHECK(seq == 0xfffff000u + (uint32_t)from * GRO_MSS);
	CHECK(b[47] == 0x10);	/* the first frame's flags: ACK */
	CHECK(memcmp(b + hdr, orig + hdr + (uint32_t)from * GRO_MSS, (size_t)k * GRO_MSS) == 0);
	free(b);
}

/* 45 frames of a send into out[]; returns the send's bytes (caller frees). */
static const struct nbt_frame gro_send = { .tcp = true, .payload = 45 * GRO_MSS, .seg = 4096,
					   .first = 54 };

static uint8_t *gro_wire(void)
{
	uint32_t n0;

	if (wire_frames(&gro_send, out) != 45)
		return NULL;
	return nbt_bytes(&gro_send, &n0);
}

static void test_gro(void)
{
	struct nb_offload_stats st = { 0 };
	uint8_t *orig = gro_wire();
	struct rte_mbuf *last = out[44];
	uint16_t n = 45, r;

	REQUIRE(orig);
	r = nb_offload_gro(out, n, &st);
	/* 44 ACK frames become one packet; the PSH|FIN frame follows it alone. */
	CHECK(r == 2 && out[1] == last);
	check_merged(out[0], orig, 0, 44);
	CHECK(!(out[1]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && out[1]->nb_segs == 1);
	CHECK(st.gro_packets == 1 && st.gro_frames == 44);
	/* Segmented again for an egress without TSO: the wire's frames. */
	n = nb_offload_egress(ol, 0, out, 1, out + 2, OUT_MAX - 2, NULL);
	CHECK(n == 44);
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *b = nbt_flat(out[2 + i]);

		CHECK(out[2 + i]->pkt_len == 54 + GRO_MSS &&
		      nbt_l4_ok(b, out[2 + i]->pkt_len, &gro_send));
		CHECK(memcmp(b + 54, orig + 54 + (uint32_t)i * GRO_MSS, GRO_MSS) == 0);
		free(b);
	}
	rte_pktmbuf_free_bulk(out + 2, n);
	rte_pktmbuf_free(out[1]);
	free(orig);
	CHECK(pools_full());
}

/* A corrupted frame is never merged: it passes alone, in its place, unverified. */
static void test_gro_corrupt(void)
{
	struct nb_offload_stats st = { 0 };
	uint8_t *orig = gro_wire();
	struct rte_mbuf *bad = out[10];
	uint16_t r;

	REQUIRE(orig);
	rte_pktmbuf_mtod(bad, uint8_t *)[100] ^= 0x40;
	r = nb_offload_gro(out, 45, &st);
	CHECK(r == 4);
	check_merged(out[0], orig, 0, 10);
	CHECK(out[1] == bad && !(bad->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_RX_L4_CKSUM_MASK)));
	check_merged(out[2], orig, 11, 33);
	CHECK(!(out[3]->ol_flags & RTE_MBUF_F_TX_TCP_SEG));
	CHECK(st.gro_packets == 2 && st.gro_frames == 43);
	rte_pktmbuf_free_bulk(out, r);
	free(orig);
	CHECK(pools_full());
}

/* Another protocol, a frame with padding, a burst of one: order kept, nothing merged across. */
static void test_gro_order(void)
{
	struct nbt_frame f = { .tcp = true, .payload = 6 * GRO_MSS, .seg = 4096, .first = 54 };
	struct nbt_frame u = { .payload = 100 };
	struct nb_offload_stats st = { 0 };
	struct rte_mbuf *w[8], *udp, *padded;
	uint32_t n0;
	uint8_t *orig = nbt_bytes(&f, &n0);
	uint16_t n = wire_frames(&f, w), r;

	REQUIRE(n == 6);
	/* frames 0 1 | udp | 2 3 | padded 4 | 5 (PSH|FIN) */
	udp = nbt_frame_mbuf(pool, &u);
	REQUIRE(udp);
	padded = w[4];
	REQUIRE(rte_pktmbuf_append(padded, 4));
	out[0] = w[0], out[1] = w[1], out[2] = udp, out[3] = w[2], out[4] = w[3];
	out[5] = padded, out[6] = w[5];
	CHECK(nb_offload_gro(out, 1, &st) == 1 && st.gro_packets == 0 &&
	      !(out[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK));
	r = nb_offload_gro(out, 7, &st);
	CHECK(r == 5);
	check_merged(out[0], orig, 0, 2);
	CHECK(out[1] == udp);
	check_merged(out[2], orig, 2, 2);
	CHECK(out[3] == padded && out[4] == w[5]);
	rte_pktmbuf_free_bulk(out, r);
	free(orig);
	CHECK(pools_full());
}

/*
 * Tagged frames are never merged: rte_gro's flow key has no VLAN, so a
 * tagged frame continuing an untagged flow's sequence would join it.
 */
static void test_gro_vlan(void)
{
	struct nbt_frame f = { .tcp = true, .payload = 4 * GRO_MSS, .seg = 4096, .first = 54 };
	struct nb_offload_stats st = { 0 };
	struct rte_mbuf *w[8];
	uint32_t n0;
	uint8_t *orig = nbt_bytes(&f, &n0);
	uint16_t n = wire_frames(&f, w), r;

	REQUIRE(n == 4);
	/* frames 0 1 untagged, 2 3 on VLAN 5, all ACK only (3 was PSH|FIN) */
	rte_pktmbuf_mtod(w[3], uint8_t *)[47] = 0x10;
	w[3]->ol_flags = 0;
	for (uint16_t i = 2; i < 4; i++) {
		uint8_t *b = rte_pktmbuf_mtod(w[i], uint8_t *);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(b + 34);

		REQUIRE(rte_pktmbuf_data_len(w[i]) == 54 + GRO_MSS);
		th->cksum = 0;	/* again, for the changed flags */
		th->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(b + 14), th);
		w[i]->vlan_tci = 5;
		REQUIRE(rte_vlan_insert(&w[i]) == 0);
	}
	memcpy(out, w, 4 * sizeof(w[0]));
	r = nb_offload_gro(out, 4, &st);
	CHECK(r == 3);
	check_merged(out[0], orig, 0, 2);
	CHECK(out[1] == w[2] && out[2] == w[3] && out[1]->nb_segs == 1 && out[2]->nb_segs == 1);
	CHECK(st.gro_packets == 1 && st.gro_frames == 2);
	rte_pktmbuf_free_bulk(out, r);
	free(orig);
	CHECK(pools_full());
}

int main(void)
{
	nbt_eal_start("test-offload");
	pool = nb_pool_create("t-direct", 4095, 0);
	ind = rte_pktmbuf_pool_create("t-indirect", 4095, 0, 0, 0, SOCKET_ID_ANY);
	if (!pool || !ind || nb_offload_new(pool, ind, &ol) < 0) {
		printf("Bail out! pools\n");
		return 1;
	}
	tap_run("/offload/csum-sw", test_csum_sw);
	tap_run("/offload/csum-v6-ext", test_csum_v6_ext);
	tap_run("/offload/phdr", test_phdr);
	tap_run("/offload/tso", test_tso);
	tap_run("/offload/linearise", test_linearise);
	tap_run("/offload/shared", test_shared);
	tap_run("/offload/drops", test_drops);
	tap_run("/gro/merge", test_gro);
	tap_run("/gro/corrupt", test_gro_corrupt);
	tap_run("/gro/order", test_gro_order);
	tap_run("/gro/vlan", test_gro_vlan);
	tap_run("/ingress/good", test_ingress_good);
	tap_run("/ingress/lies", test_ingress_lies);
	nb_offload_free(ol);
	rte_mempool_free(ind);
	rte_mempool_free(pool);
	nb_eal_fini();
	return tap_done();
}
