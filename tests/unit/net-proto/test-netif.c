// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of netbackd/netif.c (nb_tx_parse): every verdict with its
 * reason, each rule Linux xen-netback applies to a guest-TX packet
 * (netback.c xenvif_count_requests, xenvif_get_extras, xenvif_set_skb_gso,
 * xenvif_tx_build_gops), chains cut short at every slot, the response
 * layout with extras, and multicast-control requests.
 */
#include <string.h>

#include "../common/tap.h"
#include "netif.h"

static union nb_tx_slot s[64];
static struct nb_tx_pkt pkt;
static const char *why;

static void req(unsigned i, uint16_t id, uint16_t offset, uint16_t size, uint16_t flags)
{
	memset(&s[i], 0xa5, sizeof(s[i]));
	s[i].req.gref = 1000 + i;
	s[i].req.id = id;
	s[i].req.offset = offset;
	s[i].req.size = size;
	s[i].req.flags = flags;
}

static void extra(unsigned i, uint8_t type, bool more)
{
	memset(&s[i], 0, sizeof(s[i]));
	s[i].extra.type = type;
	s[i].extra.flags = more ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
}

static void gso(unsigned i, uint16_t size, uint8_t type, bool more)
{
	extra(i, XEN_NETIF_EXTRA_TYPE_GSO, more);
	s[i].extra.u.gso.size = size;
	s[i].extra.u.gso.type = type;
}

static enum nb_tx_verdict parse(unsigned avail)
{
	return nb_tx_parse(s, avail, &pkt, &why);
}

/* A packet of n fragments: the first carries total, the others 100 each. */
static void chain(unsigned n, uint16_t total)
{
	unsigned i;

	req(0, 1, 0, total, n > 1 ? NETTXF_more_data : 0);
	for (i = 1; i < n; i++)
		req(i, (uint16_t)(1 + i), 0, 100, i + 1 < n ? NETTXF_more_data : 0);
}

static void test_single(void)
{
	req(0, 7, 100, 60, NETTXF_csum_blank | NETTXF_data_validated);
	CHECK(parse(1) == NB_TX_OK);
	CHECK(why == NULL);
	CHECK(pkt.nslots == 1 && pkt.nfrags == 1 && pkt.len == 60);
	CHECK(pkt.frag[0].size == 60 && pkt.frag[0].offset == 100 && pkt.frag[0].gref == 1000);
	CHECK(pkt.flags == (NETTXF_csum_blank | NETTXF_data_validated));
	CHECK(pkt.extras == 0);
	CHECK(pkt.rsp_id[0] == 7 && !pkt.rsp_null[0]);
	/* Slots after the packet are not part of it. */
	req(1, 8, 0, 60, 0);
	CHECK(parse(2) == NB_TX_OK && pkt.nslots == 1);
}

static void test_multi(void)
{
	unsigned i, sum = 0;

	chain(NB_TX_MAX_FRAGS, 5000);
	CHECK(parse(NB_TX_MAX_FRAGS) == NB_TX_OK);
	CHECK(pkt.nfrags == NB_TX_MAX_FRAGS && pkt.nslots == NB_TX_MAX_FRAGS);
	CHECK(pkt.frag[0].size == 5000 - 100 * (NB_TX_MAX_FRAGS - 1));
	for (i = 0; i < pkt.nfrags; i++) {
		sum += pkt.frag[i].size;
		CHECK(pkt.rsp_id[i] == 1 + i && !pkt.rsp_null[i]);
	}
	CHECK(sum == pkt.len && pkt.len == 5000);
}

static void test_empty_frag(void)
{
	/* netback accepts a zero-sized fragment. */
	chain(3, 214);
	s[1].req.size = 0;
	CHECK(parse(3) == NB_TX_OK);
	CHECK(pkt.frag[1].size == 0 && pkt.frag[0].size == 114);
}

static void test_too_many_drop(void)
{
	chain(NB_TX_MAX_FRAGS + 1, 5000);
	CHECK(parse(NB_TX_MAX_FRAGS + 1) == NB_TX_DROP);
	CHECK(why && strstr(why, "XEN_NETIF_NR_SLOTS_MIN"));
	CHECK(pkt.nslots == NB_TX_MAX_FRAGS + 1);
	CHECK(pkt.rsp_id[NB_TX_MAX_FRAGS] == NB_TX_MAX_FRAGS + 1);
	chain(NB_TX_FATAL_FRAGS, 5000);
	CHECK(parse(NB_TX_FATAL_FRAGS) == NB_TX_DROP);
	CHECK(pkt.nslots == NB_TX_FATAL_FRAGS);
}

static void test_too_many_fatal(void)
{
	chain(NB_TX_FATAL_FRAGS + 1, 5000);
	CHECK(parse(NB_TX_FATAL_FRAGS + 1) == NB_TX_FATAL);
	CHECK(why && strstr(why, "fatal limit"));
	/* Fatal as soon as fragment 21 is due, whether or not it is there. */
	CHECK(parse(NB_TX_FATAL_FRAGS) == NB_TX_FATAL);
}

static void test_frag_crosses_page(void)
{
	chain(3, 1000);
	s[2].req.offset = 4000;	/* 4000 + 100 > 4096 */
	CHECK(parse(3) == NB_TX_FATAL);
	CHECK(why && strstr(why, "crosses its page"));
	/* Exactly to the end of the page is fine. */
	s[2].req.offset = 3996;
	CHECK(parse(3) == NB_TX_OK);
	/* Fatal even in a packet already being dropped (netback checks every slot). */
	chain(NB_TX_MAX_FRAGS + 2, 5000);
	s[NB_TX_MAX_FRAGS + 1].req.offset = 4095;
	CHECK(parse(NB_TX_MAX_FRAGS + 2) == NB_TX_FATAL);
}

static void test_first_crosses_page(void)
{
	/* The first slot's own size (total minus the others) is what counts. */
	chain(2, 1100);		/* first fragment: 1000 bytes */
	s[0].req.offset = 3096;
	CHECK(parse(2) == NB_TX_OK);
	s[0].req.offset = 3097;
	CHECK(parse(2) == NB_TX_FATAL);
	CHECK(why && strstr(why, "first fragment crosses"));
	req(0, 1, 4000, 97, 0);
	CHECK(parse(1) == NB_TX_FATAL);
}

static void test_frag_larger_than_rest(void)
{
	chain(3, 150);		/* 100 + 100 > 150 */
	CHECK(parse(3) == NB_TX_DROP);
	CHECK(why && strstr(why, "larger than the rest"));
	CHECK(pkt.nslots == 3);
	/* A drop found in the chain wins over a bad first slot (netback
	 * returns from count_requests before looking at it). */
	s[0].req.offset = 4095;
	CHECK(parse(3) == NB_TX_DROP);
}

static void test_short(void)
{
	req(0, 1, 0, 13, 0);
	CHECK(parse(1) == NB_TX_DROP);
	CHECK(why && strstr(why, "Ethernet header"));
	CHECK(pkt.nslots == 1);
	req(0, 1, 0, 14, 0);
	CHECK(parse(1) == NB_TX_OK);
	/* The first slot itself must hold the header (netback checks its own
	 * size after the others are taken off). */
	chain(2, 110);
	CHECK(parse(2) == NB_TX_DROP);
	chain(2, 114);
	CHECK(parse(2) == NB_TX_OK);
}

static void test_incomplete(void)
{
	unsigned n;

	CHECK(parse(0) == NB_TX_INCOMPLETE);
	chain(5, 1000);
	for (n = 1; n < 5; n++)
		CHECK(parse(n) == NB_TX_INCOMPLETE);
	CHECK(parse(5) == NB_TX_OK);
	/* Extras running out. */
	req(0, 1, 0, 100, NETTXF_extra_info);
	gso(1, 1400, XEN_NETIF_GSO_TYPE_TCPV4, true);
	gso(2, 1400, XEN_NETIF_GSO_TYPE_TCPV4, false);
	CHECK(parse(1) == NB_TX_INCOMPLETE);
	CHECK(parse(2) == NB_TX_INCOMPLETE);
	CHECK(parse(3) == NB_TX_OK);
	/* A dropped chain still needs its end. */
	chain(NB_TX_MAX_FRAGS + 2, 5000);
	CHECK(parse(NB_TX_MAX_FRAGS + 1) == NB_TX_INCOMPLETE);
}

static void test_extras_layout(void)
{
	req(0, 9, 0, 1200, NETTXF_extra_info | NETTXF_more_data);
	gso(1, 1400, XEN_NETIF_GSO_TYPE_TCPV6, true);
	extra(2, XEN_NETIF_EXTRA_TYPE_HASH, false);
	s[2].extra.u.hash.type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
	s[2].extra.u.hash.value[0] = 0x78;
	s[2].extra.u.hash.value[1] = 0x56;
	s[2].extra.u.hash.value[2] = 0x34;
	s[2].extra.u.hash.value[3] = 0x12;
	req(3, 10, 0, 200, NETTXF_more_data);
	req(4, 11, 0, 300, 0);
	CHECK(parse(5) == NB_TX_OK);
	CHECK(pkt.nslots == 5 && pkt.nfrags == 3);
	CHECK(pkt.frag[0].size == 700 && pkt.frag[1].size == 200 && pkt.frag[2].size == 300);
	CHECK(pkt.extras == (1u << XEN_NETIF_EXTRA_TYPE_GSO | 1u << XEN_NETIF_EXTRA_TYPE_HASH));
	CHECK(pkt.gso_size == 1400 && pkt.gso_type == XEN_NETIF_GSO_TYPE_TCPV6);
	CHECK(pkt.hash_type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP && pkt.hash_value == 0x12345678);
	/* Ring order: first, its extras (NULL), the other fragments. */
	CHECK(pkt.rsp_id[0] == 9 && !pkt.rsp_null[0]);
	CHECK(pkt.rsp_null[1] && pkt.rsp_null[2]);
	CHECK(pkt.rsp_id[1] == 9 && pkt.rsp_id[2] == 9);
	CHECK(pkt.rsp_id[3] == 10 && !pkt.rsp_null[3]);
	CHECK(pkt.rsp_id[4] == 11 && !pkt.rsp_null[4]);
	/* A drop keeps the layout: the extras are still answered NULL. */
	s[4].req.size = 1300;
	CHECK(parse(5) == NB_TX_DROP);
	CHECK(pkt.nslots == 5 && pkt.rsp_null[1] && pkt.rsp_null[2] && !pkt.rsp_null[4]);
}

static void test_extra_type_invalid(void)
{
	req(0, 1, 0, 100, NETTXF_extra_info);
	extra(1, XEN_NETIF_EXTRA_TYPE_NONE, false);
	CHECK(parse(2) == NB_TX_FATAL);
	CHECK(why && strstr(why, "extra-info type"));
	extra(1, XEN_NETIF_EXTRA_TYPE_MAX, false);
	CHECK(parse(2) == NB_TX_FATAL);
	extra(1, 0xff, false);
	CHECK(parse(2) == NB_TX_FATAL);
}

static void test_extra_duplicate(void)
{
	/* netback: extras[type - 1] is overwritten, the later one wins. */
	req(0, 1, 0, 100, NETTXF_extra_info);
	gso(1, 0, 7, true);	/* would be fatal, but is replaced */
	gso(2, 1000, XEN_NETIF_GSO_TYPE_TCPV4, false);
	CHECK(parse(3) == NB_TX_OK);
	CHECK(pkt.gso_size == 1000 && pkt.gso_type == XEN_NETIF_GSO_TYPE_TCPV4);
	CHECK(pkt.nslots == 3 && pkt.rsp_null[1] && pkt.rsp_null[2]);
	/* More extras than types can only be repeats: fatal here. */
	req(0, 1, 0, 100, NETTXF_extra_info);
	gso(1, 1000, 1, true);
	gso(2, 1000, 1, true);
	gso(3, 1000, 1, true);
	gso(4, 1000, 1, true);
	gso(5, 1000, 1, false);
	CHECK(parse(6) == NB_TX_FATAL);
	CHECK(why && strstr(why, "more extra-info"));
	s[4].extra.flags = 0;
	CHECK(parse(6) == NB_TX_OK && pkt.nslots == 5);
}

static void test_gso(void)
{
	req(0, 1, 0, 100, NETTXF_extra_info);
	gso(1, 0, XEN_NETIF_GSO_TYPE_TCPV4, false);
	CHECK(parse(2) == NB_TX_FATAL);
	CHECK(why && strstr(why, "GSO size 0"));
	gso(1, 1448, XEN_NETIF_GSO_TYPE_NONE, false);
	CHECK(parse(2) == NB_TX_FATAL);
	CHECK(why && strstr(why, "GSO type"));
	gso(1, 1448, 3, false);
	CHECK(parse(2) == NB_TX_FATAL);
	gso(1, 1448, XEN_NETIF_GSO_TYPE_TCPV4, false);
	CHECK(parse(2) == NB_TX_OK);
	CHECK(pkt.extras == 1u << XEN_NETIF_EXTRA_TYPE_GSO && pkt.gso_size == 1448);
	/* A short packet is dropped before its GSO extra is looked at. */
	gso(1, 0, 0, false);
	s[0].req.size = 10;
	CHECK(parse(2) == NB_TX_DROP);
}

static void test_mcast(void)
{
	static const uint8_t a[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

	req(0, 5, 0, 0, NETTXF_extra_info);
	extra(1, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, false);
	memcpy(s[1].extra.u.mcast.addr, a, 6);
	CHECK(parse(2) == NB_TX_OK);
	CHECK(pkt.extras == 1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
	CHECK(!memcmp(pkt.mcast_add, a, 6));
	CHECK(pkt.nslots == 2 && pkt.nfrags == 0);
	CHECK(pkt.rsp_id[0] == 5 && !pkt.rsp_null[0] && pkt.rsp_null[1]);
	/* netback ignores the size and NETTXF_more_data of such a request. */
	s[0].req.flags |= NETTXF_more_data;
	s[0].req.offset = 4095;
	s[0].req.size = 2;
	CHECK(parse(2) == NB_TX_OK && pkt.nslots == 2);
	s[1].extra.type = XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
	CHECK(parse(2) == NB_TX_OK);
	CHECK(pkt.extras == 1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL && !memcmp(pkt.mcast_del, a, 6));
	/* Both at once: both bits, the caller acts on ADD as netback. */
	s[1].extra.flags = XEN_NETIF_EXTRA_FLAG_MORE;
	extra(2, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, false);
	CHECK(parse(3) == NB_TX_OK && pkt.nslots == 3);
	CHECK(pkt.extras == (1u << XEN_NETIF_EXTRA_TYPE_MCAST_ADD | 1u << XEN_NETIF_EXTRA_TYPE_MCAST_DEL));
}

static void test_no_overread(void)
{
	/* Every prefix of a long chain: never OK unless complete, never past avail. */
	unsigned n;

	chain(10, 2000);
	for (n = 0; n <= 10; n++) {
		enum nb_tx_verdict v = parse(n);

		CHECK(n == 10 ? v == NB_TX_OK : v == NB_TX_INCOMPLETE);
		CHECK(v == NB_TX_INCOMPLETE || pkt.nslots <= n);
	}
}

int main(void)
{
	tap_run("/netif/single", test_single);
	tap_run("/netif/multi", test_multi);
	tap_run("/netif/empty-frag", test_empty_frag);
	tap_run("/netif/too-many-drop", test_too_many_drop);
	tap_run("/netif/too-many-fatal", test_too_many_fatal);
	tap_run("/netif/frag-crosses-page", test_frag_crosses_page);
	tap_run("/netif/first-crosses-page", test_first_crosses_page);
	tap_run("/netif/frag-larger-than-rest", test_frag_larger_than_rest);
	tap_run("/netif/short", test_short);
	tap_run("/netif/incomplete", test_incomplete);
	tap_run("/netif/extras-layout", test_extras_layout);
	tap_run("/netif/extra-type-invalid", test_extra_type_invalid);
	tap_run("/netif/extra-duplicate", test_extra_duplicate);
	tap_run("/netif/gso", test_gso);
	tap_run("/netif/mcast", test_mcast);
	tap_run("/netif/no-overread", test_no_overread);
	return tap_done();
}
