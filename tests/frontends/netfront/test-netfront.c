// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of netfront's pure parts (TAP, suite 'unit'): CRC32 and the
 * generator frames, the sequence accounting (loss, reorder, duplicates),
 * splitting a frame into netif TX slots (sg on/off, page boundaries, the GSO
 * extra), reassembling RX responses into packets (good chains, extras, and
 * every bad response the reassembler must survive), the multicast-control
 * options and their dummy TX request, the virtio_net_hdr <->
 * netif conversions and checksum completion, and the grant budget per queue
 * count. Single-threaded, no Xen, no xenstore; TAP through
 * tests/unit/common/tap.h.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "netfront.h"
#include "tap.h"

static const uint8_t MAC_A[6] = { 0x00, 0x16, 0x3e, 0, 0, 1 };
static const uint8_t MAC_B[6] = { 0x00, 0x16, 0x3e, 0, 0, 2 };

static uint8_t frame[NF_RX_BUF_MAX];

/* ---- CRC and generator frames ---- */

static void t_crc(void)
{
	static const uint8_t big[] = "The quick brown fox jumps over the lazy dog";

	CHECK(nf_crc32(0, "123456789", 9) == 0xcbf43926u);
	CHECK(nf_crc32(0, big, sizeof(big) - 1) == 0x414fa339u);
	/* Chained in pieces (slice-by-8 and the byte tail) equals one pass. */
	CHECK(nf_crc32(nf_crc32(0, big, 13), big + 13, sizeof(big) - 14) == 0x414fa339u);
	CHECK(nf_crc32(0, "", 0) == 0);
}

static void t_gen_roundtrip(void)
{
	uint32_t stream;
	uint64_t seq;

	for (unsigned len = NF_ETH_MIN; len < 1600; len += 37) {
		nf_gen_build(frame, len, MAC_B, MAC_A, 7, len * 3);
		REQUIRE(nf_gen_check(frame, len, &stream, &seq) == NF_GEN_OK);
		CHECK(stream == 7 && seq == len * 3);
		CHECK(!memcmp(frame, MAC_B, 6) && !memcmp(frame + 6, MAC_A, 6));
		CHECK(frame[12] == 0x88 && frame[13] == 0xb5);
	}
	nf_gen_build(frame, 65535, MAC_B, MAC_A, 1, 2);
	CHECK(nf_gen_check(frame, 65535, &stream, &seq) == NF_GEN_OK);
}

static void t_gen_corrupt(void)
{
	uint32_t stream;
	uint64_t seq;

	nf_gen_build(frame, 200, MAC_B, MAC_A, 1, 5);
	frame[150] ^= 0x40;
	CHECK(nf_gen_check(frame, 200, &stream, &seq) == NF_GEN_CORRUPT);
	frame[150] ^= 0x40;
	/* The header is covered too: a changed seq is caught. */
	frame[NF_ETH_HLEN + 8] ^= 1;
	CHECK(nf_gen_check(frame, 200, &stream, &seq) == NF_GEN_CORRUPT);
	frame[NF_ETH_HLEN + 8] ^= 1;
	CHECK(nf_gen_check(frame, 200, &stream, &seq) == NF_GEN_OK);
	/* Truncated, or longer than it says. */
	CHECK(nf_gen_check(frame, 199, &stream, &seq) == NF_GEN_CORRUPT);
	CHECK(nf_gen_check(frame, 201, &stream, &seq) == NF_GEN_CORRUPT);
	CHECK(nf_gen_check(frame, 30, &stream, &seq) == NF_GEN_CORRUPT);
	/* Not ours: another ethertype, or our ethertype without the magic. */
	frame[13] = 0x00;
	CHECK(nf_gen_check(frame, 200, &stream, &seq) == NF_GEN_NOT_OURS);
	frame[13] = 0xb5;
	frame[NF_ETH_HLEN] ^= 0xff;
	CHECK(nf_gen_check(frame, 200, &stream, &seq) == NF_GEN_NOT_OURS);
	CHECK(nf_gen_check(frame, 5, &stream, &seq) == NF_GEN_NOT_OURS);
}

static void t_gen_padded_and_flood(void)
{
	static uint8_t other[2048];
	uint32_t stream;
	uint64_t seq;

	/* A 40-byte frame padded to the Ethernet minimum by a bridge. */
	memset(frame, 0, NF_ETH_MIN);
	nf_gen_build(frame, 40, MAC_B, MAC_A, 3, 9);
	CHECK(nf_gen_check(frame, NF_ETH_MIN, &stream, &seq) == NF_GEN_OK);
	/* The flood's path: payload laid once, header stamped with a cached CRC. */
	nf_gen_payload(other, sizeof(other), 4, 0);
	nf_gen_stamp(other, 1000, MAC_B, MAC_A, 4, 77, nf_gen_payload_crc(other, 1000));
	CHECK(nf_gen_check(other, 1000, &stream, &seq) == NF_GEN_OK && seq == 77);
}

/* ---- sequence accounting ---- */

static void t_seq_inorder_and_gaps(void)
{
	static struct nf_seq t;

	nf_seq_init(&t);
	for (uint64_t s = 0; s < 100; s++)
		CHECK(nf_seq_add(&t, 1, s) == NF_SEQ_NEW);
	CHECK(t.received == 100 && !t.lost && !t.reordered && !t.duplicates);
	/* 100..104 never come. */
	CHECK(nf_seq_add(&t, 1, 105) == NF_SEQ_NEW);
	CHECK(t.lost == 5 && t.received == 101);
	/* Frames that were lost from the start of a stream count too. */
	CHECK(nf_seq_add(&t, 2, 3) == NF_SEQ_NEW);
	CHECK(t.lost == 8);
}

static void t_seq_reorder_dup(void)
{
	static struct nf_seq t;

	nf_seq_init(&t);
	CHECK(nf_seq_add(&t, 9, 0) == NF_SEQ_NEW);
	CHECK(nf_seq_add(&t, 9, 2) == NF_SEQ_NEW);
	CHECK(t.lost == 1);
	CHECK(nf_seq_add(&t, 9, 1) == NF_SEQ_LATE);
	CHECK(t.lost == 0 && t.reordered == 1 && t.received == 3);
	CHECK(nf_seq_add(&t, 9, 1) == NF_SEQ_DUP);
	CHECK(nf_seq_add(&t, 9, 2) == NF_SEQ_DUP);
	CHECK(t.duplicates == 2 && t.received == 3);
	/* A jump past the window forgets what it held. */
	CHECK(nf_seq_add(&t, 9, 2 + 2 * NF_SEQ_WINDOW) == NF_SEQ_NEW);
	CHECK(t.lost == 2 * NF_SEQ_WINDOW - 1);
	CHECK(nf_seq_add(&t, 9, 2 + 2 * NF_SEQ_WINDOW) == NF_SEQ_DUP);
	/* Older than the window: taken as late, not a duplicate. */
	CHECK(nf_seq_add(&t, 9, 1) == NF_SEQ_LATE);
	CHECK(t.lost == 2 * NF_SEQ_WINDOW - 2);
}

static void t_seq_streams(void)
{
	static struct nf_seq t;

	nf_seq_init(&t);
	for (uint32_t s = 0; s < NF_MAX_STREAMS; s++)
		CHECK(nf_seq_add(&t, 1000 + s, 0) == NF_SEQ_NEW);
	CHECK(nf_seq_add(&t, 5, 0) == NF_SEQ_OVERFLOW);
	CHECK(t.overflow == 1 && t.received == NF_MAX_STREAMS && !t.lost);
	/* Streams are independent: interleaving is not reordering. */
	CHECK(nf_seq_add(&t, 1001, 1) == NF_SEQ_NEW && nf_seq_add(&t, 1000, 1) == NF_SEQ_NEW);
	CHECK(!t.reordered);
}

/* ---- TX slots ---- */

static void check_frags(const struct nf_frag *f, int n, uint32_t len)
{
	uint32_t sum = 0;

	for (int i = 0; i < n; i++) {
		CHECK(f[i].off + f[i].len <= XEN_PAGE_SIZE);
		CHECK(f[i].len > 0);
		/* After the first, every fragment starts a fresh page. */
		if (i)
			CHECK(f[i].off == 0 && f[i].page == f[i - 1].page + 1);
		sum += f[i].len;
	}
	CHECK(sum == len);
}

static void t_split_no_sg(void)
{
	struct nf_frag f[NF_MAX_TX_FRAGS];

	CHECK(nf_tx_split(1514, 0, false, f) == 1 && f[0].page == 0 && f[0].off == 0);
	CHECK(nf_tx_split(1514, 2048, false, f) == 1 && f[0].page == 0 && f[0].off == 2048);
	/* Does not fit what is left of the page: a fresh page. */
	CHECK(nf_tx_split(1514, 3000, false, f) == 1 && f[0].page == 1 && f[0].off == 0);
	CHECK(nf_tx_split(4096, 0, false, f) == 1);
	CHECK(nf_tx_split(4097, 0, false, f) == -EMSGSIZE);
	CHECK(nf_tx_split(0, 0, false, f) == -EMSGSIZE);
	CHECK(nf_tx_split(64, XEN_PAGE_SIZE, false, f) == 1 && f[0].page == 1);
}

static void t_split_sg(void)
{
	struct nf_frag f[NF_MAX_TX_FRAGS];
	int n;

	n = nf_tx_split(1514, 3000, true, f);
	CHECK(n == 2 && f[0].page == 0 && f[0].off == 3000 && f[0].len == 1096);
	check_frags(f, n, 1514);
	n = nf_tx_split(NF_MAX_FRAME, 0, true, f);
	CHECK(n == 16);
	check_frags(f, n, NF_MAX_FRAME);
	n = nf_tx_split(NF_MAX_FRAME, 4095, true, f);
	CHECK(n == 17 && n <= NF_MAX_TX_FRAGS);
	check_frags(f, n, NF_MAX_FRAME);
	n = nf_tx_split(8192, XEN_PAGE_SIZE, true, f);
	CHECK(n == 2 && f[0].page == 1);
	check_frags(f, n, 8192);
	CHECK(nf_tx_split(NF_MAX_FRAME + 1, 0, true, f) == -EMSGSIZE);
}

static void t_layout(void)
{
	struct nf_frag f[NF_MAX_TX_FRAGS];
	union nf_tx_slot s[NF_MAX_TX_FRAGS + 1];
	grant_ref_t g[3] = { 100, 101, 102 };
	uint16_t id[3] = { 7, 8, 9 };
	struct nf_tx_meta m = { .flags = NETTXF_csum_blank | NETTXF_data_validated,
				.gso_type = XEN_NETIF_GSO_TYPE_TCPV4, .gso_size = 1448 };
	int n = nf_tx_split(9000, 1000, true, f);

	REQUIRE(n == 3);
	REQUIRE(nf_tx_layout(9000, &m, f, 3, g, id, s) == 4);
	CHECK(s[0].req.size == 9000 && s[0].req.gref == 100 && s[0].req.id == 7);
	CHECK(s[0].req.offset == 1000);
	CHECK(s[0].req.flags == (NETTXF_csum_blank | NETTXF_data_validated | NETTXF_more_data |
				 NETTXF_extra_info));
	CHECK(s[1].extra.type == XEN_NETIF_EXTRA_TYPE_GSO && s[1].extra.flags == 0);
	CHECK(s[1].extra.u.gso.size == 1448 && s[1].extra.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4);
	CHECK(s[2].req.size == 4096 && s[2].req.flags == NETTXF_more_data && s[2].req.id == 8);
	CHECK(s[3].req.size == 9000 - 3096 - 4096 && s[3].req.flags == 0 && s[3].req.gref == 102);
	/* No offloads, one slot: no flags at all. */
	m = (struct nf_tx_meta){ 0 };
	n = nf_tx_split(60, 0, true, f);
	CHECK(nf_tx_layout(60, &m, f, 1, g, id, s) == 1);
	CHECK(s[0].req.flags == 0 && s[0].req.size == 60);
}

/* ---- RX reassembly ---- */

static uint8_t pages[24][XEN_PAGE_SIZE];
static uint8_t asm_buf[NF_RX_BUF_MAX];

static struct netif_rx_response rsp(uint16_t id, uint16_t off, uint16_t flags, int16_t st)
{
	return (struct netif_rx_response){ .id = id, .offset = off, .flags = flags, .status = st };
}

static struct netif_rx_response extra(uint8_t type, uint8_t flags, uint16_t gso_size, uint8_t gt)
{
	struct netif_extra_info x = { .type = type, .flags = flags };
	struct netif_rx_response r;

	x.u.gso.size = gso_size;
	x.u.gso.type = gt;
	memcpy(&r, &x, sizeof(r));
	return r;
}

static enum nf_rx_res feed(struct nf_rx_asm *a, struct netif_rx_response r, uint16_t slot,
			   struct nf_rx_pkt *p)
{
	return nf_rx_feed(a, &r, slot, pages[slot % 24], p);
}

static void t_rx_chain(void)
{
	struct nf_rx_asm a;
	struct nf_rx_pkt p;

	for (unsigned i = 0; i < 24; i++)
		memset(pages[i], 'a' + (int)i, XEN_PAGE_SIZE);
	nf_rx_asm_init(&a, asm_buf);
	CHECK(feed(&a, rsp(0, 10, NETRXF_data_validated, 60), 0, &p) == NF_RX_PKT);
	CHECK(p.len == 60 && p.slots == 1 && p.flags == NETRXF_data_validated);
	/* first | GSO extra | two more fragments */
	CHECK(feed(&a, rsp(1, 0, NETRXF_more_data | NETRXF_extra_info | NETRXF_csum_blank, 4096),
		   1, &p) == NF_RX_MORE);
	CHECK(feed(&a, extra(XEN_NETIF_EXTRA_TYPE_GSO, 0, 1448, XEN_NETIF_GSO_TYPE_TCPV6), 2,
		   &p) == NF_RX_MORE);
	CHECK(feed(&a, rsp(3, 0, NETRXF_more_data, 4096), 3, &p) == NF_RX_MORE);
	CHECK(feed(&a, rsp(4, 100, 0, 1000), 4, &p) == NF_RX_PKT);
	CHECK(p.len == 9192 && p.slots == 4 && p.gso_type == XEN_NETIF_GSO_TYPE_TCPV6);
	CHECK(p.gso_size == 1448 && p.flags == NETRXF_csum_blank);
	CHECK(asm_buf[0] == 'b' && asm_buf[4096] == 'd' && asm_buf[9191] == 'e');
	/* Only extras after the first (no more_data): complete at the last extra. */
	CHECK(feed(&a, rsp(5, 0, NETRXF_extra_info, 100), 5, &p) == NF_RX_MORE);
	CHECK(feed(&a, extra(XEN_NETIF_EXTRA_TYPE_HASH, 0, 0, 0), 6, &p) == NF_RX_PKT);
	CHECK(p.len == 100 && p.slots == 2);
}

static void t_rx_bad(void)
{
	struct nf_rx_asm a;
	struct nf_rx_pkt p;
	uint16_t s = 0;

	nf_rx_asm_init(&a, asm_buf);
	/* An error status, then the rest of its chain is dropped. */
	CHECK(feed(&a, rsp(s, 0, NETRXF_more_data, NETIF_RSP_ERROR), s, &p) == NF_RX_BAD);
	s++;
	CHECK(feed(&a, rsp(s, 0, NETRXF_more_data, 100), s, &p) == NF_RX_MORE);
	s++;
	CHECK(feed(&a, rsp(s, 0, 0, 100), s, &p) == NF_RX_MORE);
	s++;
	/* The next packet is taken normally. */
	CHECK(feed(&a, rsp(s, 0, 0, 64), s, &p) == NF_RX_PKT);
	s++;
	/* Offset + size past the page. */
	CHECK(feed(&a, rsp(s, 4000, 0, 200), s, &p) == NF_RX_BAD);
	CHECK(!strcmp(a.why, "offset + size crosses the page"));
	s++;
	/* An id that is not the slot's request. */
	CHECK(feed(&a, rsp(99, 0, 0, 64), s, &p) == NF_RX_BAD);
	s++;
	/* A runt. */
	CHECK(feed(&a, rsp(s, 0, 0, 10), s, &p) == NF_RX_BAD);
	s++;
	/* Bad extra types and a zero GSO size, each followed by data to drop. */
	CHECK(feed(&a, rsp(s, 0, NETRXF_extra_info | NETRXF_more_data, 64), s, &p) == NF_RX_MORE);
	s++;
	CHECK(feed(&a, extra(XEN_NETIF_EXTRA_TYPE_MAX, 0, 0, 0), s, &p) == NF_RX_BAD);
	s++;
	CHECK(feed(&a, rsp(s, 0, 0, 64), s, &p) == NF_RX_MORE);
	s++;
	CHECK(feed(&a, rsp(s, 0, NETRXF_extra_info, 64), s, &p) == NF_RX_MORE);
	s++;
	CHECK(feed(&a, extra(XEN_NETIF_EXTRA_TYPE_NONE, 0, 0, 0), s, &p) == NF_RX_BAD);
	s++;
	CHECK(feed(&a, rsp(s, 0, NETRXF_extra_info, 64), s, &p) == NF_RX_MORE);
	s++;
	CHECK(feed(&a, extra(XEN_NETIF_EXTRA_TYPE_GSO, 0, 0, XEN_NETIF_GSO_TYPE_TCPV4), s, &p) ==
	      NF_RX_BAD);
	CHECK(!strcmp(a.why, "GSO size zero"));
	s++;
	CHECK(feed(&a, rsp(s, 0, 0, 64), s, &p) == NF_RX_PKT);
}

static void t_rx_too_long(void)
{
	struct nf_rx_asm a;
	struct nf_rx_pkt p;
	enum nf_rx_res r = NF_RX_MORE;
	unsigned i;

	nf_rx_asm_init(&a, asm_buf);
	/* A chain that never ends: bad at NF_MAX_RX_SLOTS + 1, the rest dropped. */
	for (i = 0; i < 40 && r == NF_RX_MORE; i++)
		r = feed(&a, rsp((uint16_t)i, 0, NETRXF_more_data, 4096), (uint16_t)i, &p);
	CHECK(r == NF_RX_BAD && i == NF_MAX_RX_SLOTS + 1);
	CHECK(!strcmp(a.why, "too many slots"));
	for (; i < 60; i++)
		CHECK(feed(&a, rsp((uint16_t)i, 0, NETRXF_more_data, 4096), (uint16_t)i, &p) ==
		      NF_RX_MORE);
	CHECK(feed(&a, rsp((uint16_t)i, 0, 0, 4096), (uint16_t)i, &p) == NF_RX_MORE);
	i++;
	CHECK(feed(&a, rsp((uint16_t)i, 0, 0, 100), (uint16_t)i, &p) == NF_RX_PKT && p.len == 100);
	/* Exactly the limit is fine. */
	for (unsigned k = 0; k < NF_MAX_RX_SLOTS; k++)
		r = feed(&a, rsp((uint16_t)k, 0, k + 1 < NF_MAX_RX_SLOTS ? NETRXF_more_data : 0,
				 4096), (uint16_t)k, &p);
	CHECK(r == NF_RX_PKT && p.len == NF_MAX_RX_SLOTS * 4096);
}

/* ---- multicast control ---- */

static void t_mcast_parse(void)
{
	struct nf_mcast_op ops[NF_MAX_MCAST_OPS];
	char mac[18];
	unsigned n = 0;

	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "01:00:5e:00:00:01") == 0);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, "33:33:FF:0a:0B:0c") == 0);
	REQUIRE(n == 2);
	/* Order kept, both kinds, hex in either case. */
	CHECK(ops[0].type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD && !ops[0].answered);
	CHECK(!memcmp(ops[0].mac, (const uint8_t[6]){ 0x01, 0, 0x5e, 0, 0, 1 }, 6));
	CHECK(!strcmp(nf_mcast_op_name(&ops[0]), "add"));
	CHECK(ops[1].type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
	CHECK(!strcmp(nf_mcast_op_name(&ops[1]), "del"));
	nf_mac_fmt(ops[1].mac, mac);
	CHECK(!strcmp(mac, "33:33:ff:0a:0b:0c"));
	/* A unicast address is the backend's to refuse, not ours. */
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "00:16:3e:00:00:01") == 0);
	CHECK(n == 3);
	/* Bad MACs and types leave the list alone. */
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "01:00:5e:00:00") == -EINVAL);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "01:00:5e:00:00:1") ==
	      -EINVAL);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "01-00-5e-00-00-01") ==
	      -EINVAL);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "01:00:5e:00:00:0g") ==
	      -EINVAL);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "") == -EINVAL);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_GSO, "01:00:5e:00:00:01") == -EINVAL);
	CHECK(n == 3);
	/* At most NF_MAX_MCAST_OPS. */
	while (n < NF_MAX_MCAST_OPS)
		REQUIRE(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
					"01:00:5e:00:00:02") == 0);
	CHECK(nf_mcast_op_add(ops, &n, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, "01:00:5e:00:00:03") ==
	      -E2BIG);
	CHECK(n == NF_MAX_MCAST_OPS);
}

static void t_mcast_layout(void)
{
	struct nf_mcast_op op = { .type = XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
				  .mac = { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0x09 } };
	union nf_tx_slot s[2];

	memset(s, 0xa5, sizeof(s));
	REQUIRE(nf_mcast_layout(&op, 77, s) == 2);
	/* The dummy request: its id and the extra flag, nothing else. */
	CHECK(s[0].req.id == 77 && s[0].req.flags == NETTXF_extra_info);
	CHECK(s[0].req.size == 0 && s[0].req.gref == 0 && s[0].req.offset == 0);
	/* One extra, no FLAG_MORE, the address as given. */
	CHECK(s[1].extra.type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL && s[1].extra.flags == 0);
	CHECK(!memcmp(s[1].extra.u.mcast.addr, op.mac, 6));
	op.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
	REQUIRE(nf_mcast_layout(&op, 0, s) == 2);
	CHECK(s[1].extra.type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD && s[0].req.id == 0);
}

/* ---- offloads ---- */

/* Ethernet + IPv4 (or IPv6) + TCP/UDP with a payload; returns the length. */
static size_t mk_pkt(uint8_t *f, int ipver, uint8_t proto, size_t payload, bool vlan)
{
	size_t o = 12, l4, l4len = proto == IPPROTO_TCP ? 20 : 8;

	memset(f, 0, 2048);
	if (vlan) {
		f[o++] = 0x81;
		f[o++] = 0x00;
		o += 2;
	}
	f[o++] = ipver == 4 ? 0x08 : 0x86;
	f[o++] = ipver == 4 ? 0x00 : 0xdd;
	if (ipver == 4) {
		f[o] = 0x45;
		f[o + 9] = proto;
		l4 = o + 20;
	} else {
		f[o] = 0x60;
		f[o + 6] = proto;
		l4 = o + 40;
	}
	if (proto == IPPROTO_TCP)
		f[l4 + 12] = 5 << 4;
	for (size_t i = 0; i < payload; i++)
		f[l4 + l4len + i] = (uint8_t)(i * 13 + 1);
	return l4 + l4len + payload;
}

static void t_l4(void)
{
	struct nf_l4 l;
	size_t n;

	n = mk_pkt(frame, 4, IPPROTO_TCP, 100, false);
	CHECK(nf_l4_locate(frame, n, &l) == 0 && l.l4_off == 34 && l.hdr_len == 54 &&
	      l.ipver == 4 && l.proto == IPPROTO_TCP);
	n = mk_pkt(frame, 6, IPPROTO_UDP, 10, true);
	CHECK(nf_l4_locate(frame, n, &l) == 0 && l.l4_off == 58 && l.hdr_len == 66 &&
	      l.ipver == 6 && l.proto == IPPROTO_UDP);
	/* Truncated headers and other protocols are refused. */
	CHECK(nf_l4_locate(frame, 40, &l) == -EPROTONOSUPPORT);
	n = mk_pkt(frame, 4, 1 /* ICMP */, 10, false);
	CHECK(nf_l4_locate(frame, n, &l) == -EPROTONOSUPPORT);
	n = mk_pkt(frame, 4, IPPROTO_UDP, 10, false);
	frame[14 + 6] = 0x20;	/* more fragments */
	CHECK(nf_l4_locate(frame, n, &l) == -EPROTONOSUPPORT);
}

/* An independent one's-complement sum over a byte range. */
static uint16_t sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void t_csum(void)
{
	size_t n = mk_pkt(frame, 4, IPPROTO_UDP, 33, false);

	/* A pseudo-header sum in the field, as a partial checksum carries. */
	frame[34 + 6] = 0x12;
	frame[34 + 7] = 0x34;
	REQUIRE(nf_csum_complete(frame, n, 34, 6) == 0);
	{
		uint32_t s = sum16(frame + 34, n - 34);

		/* The result field completes (pseudo + data) to 0xffff. */
		s += 0x1234;
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		CHECK(s == 0xffff);
	}
	CHECK(nf_csum_complete(frame, n, (uint16_t)n, 6) == -EINVAL);
}

static void t_vnet_tx(void)
{
	struct nf_tx_caps all = { .csum4 = true, .csum6 = true, .gso4 = true, .gso6 = true };
	struct nf_tx_caps v4 = { .csum4 = true, .gso4 = true };
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				    .csum_offset = 16 };
	struct nf_tx_meta m;
	size_t n = mk_pkt(frame, 4, IPPROTO_TCP, 3000, false);

	CHECK(nf_vnet_to_tx(&h, frame, n, &all, &m) == 0);
	CHECK(m.flags == (NETTXF_csum_blank | NETTXF_data_validated) && !m.gso_type);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	h.gso_size = 1448;
	CHECK(nf_vnet_to_tx(&h, frame, n, &all, &m) == 0);
	CHECK(m.gso_type == XEN_NETIF_GSO_TYPE_TCPV4 && m.gso_size == 1448);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK(nf_vnet_to_tx(&h, frame, n, &all, &m) == -EOPNOTSUPP);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK(nf_vnet_to_tx(&h, frame, n, &v4, &m) == -EOPNOTSUPP);
	/* IPv6 partial without IPv6 offload: finished here, sent as validated. */
	n = mk_pkt(frame, 6, IPPROTO_UDP, 50, false);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 54,
				     .csum_offset = 6 };
	CHECK(nf_vnet_to_tx(&h, frame, n, &v4, &m) == 0 && m.flags == NETTXF_data_validated);
	CHECK(frame[54 + 6] || frame[54 + 7]);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	CHECK(nf_vnet_to_tx(&h, frame, n, &v4, &m) == 0 && m.flags == NETTXF_data_validated);
	h = (struct virtio_net_hdr){ 0 };
	CHECK(nf_vnet_to_tx(&h, frame, n, &v4, &m) == 0 && m.flags == 0);
}

static void t_vnet_rx(void)
{
	struct nf_rx_pkt p = { .flags = NETRXF_csum_blank | NETRXF_data_validated,
			       .gso_type = XEN_NETIF_GSO_TYPE_TCPV4, .gso_size = 1448 };
	struct virtio_net_hdr h;

	p.len = (uint32_t)mk_pkt(frame, 4, IPPROTO_TCP, 5000, false);
	CHECK(nf_rx_to_vnet(&p, frame, &h) == 0);
	CHECK(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && h.csum_start == 34 && h.csum_offset == 16);
	CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && h.gso_size == 1448 && h.hdr_len == 54);
	/* A GSO type that does not match the packet's family. */
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
	CHECK(nf_rx_to_vnet(&p, frame, &h) == -EPROTO);
	p = (struct nf_rx_pkt){ .flags = NETRXF_data_validated, .len = 60 };
	CHECK(nf_rx_to_vnet(&p, frame, &h) == 0 && h.flags == VIRTIO_NET_HDR_F_DATA_VALID);
	/* Partial, but nothing to put the checksum in: dropped by the caller. */
	p = (struct nf_rx_pkt){ .flags = NETRXF_csum_blank, .len = 60 };
	memset(frame, 0, 60);
	CHECK(nf_rx_to_vnet(&p, frame, &h) == -EPROTO);
}

/* ---- the TX page pool (queue.c without Xen: a ring in local memory) ---- */

static uint8_t tx_sring_page[XEN_PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t pool_mem[16 * XEN_PAGE_SIZE];

/* Every page is either free (listed once) or in use by the slots in flight. */
static bool pool_consistent(struct nf_queue *q)
{
	unsigned listed[16] = { 0 }, users[16] = { 0 };

	for (unsigned i = 0; i < q->pool.nfree; i++)
		listed[q->pool.free[i]]++;
	for (unsigned id = 0; id < NF_RING_SIZE; id++)
		if (q->id_page[id] >= 0)
			users[q->id_page[id]]++;
	for (unsigned p = 0; p < 16; p++) {
		if (listed[p] > 1 || users[p] != q->pool.users[p] || (listed[p] && users[p]))
			return false;
		if (!listed[p] && !users[p] && (int)p != q->pool.cur)
			return false;
	}
	return true;
}

static unsigned intact_frames, broken_frames;

/* Reads the frame at ring index *prod back out of the pool pages; advances *prod. */
static uint32_t read_back(struct nf_queue *q, RING_IDX *prod, uint8_t *out)
{
	struct netif_tx_request r[NF_MAX_TX_FRAGS];
	uint32_t others = 0, len = 0;
	unsigned n = 0;

	do {
		memcpy(&r[n], RING_GET_REQUEST(&q->tx, *prod + n), sizeof(r[n]));
	} while (r[n++].flags & NETTXF_more_data && n < NF_MAX_TX_FRAGS);
	for (unsigned i = 1; i < n; i++)
		others += r[i].size;
	for (unsigned i = 0; i < n; i++) {
		uint16_t sz = i ? r[i].size : (uint16_t)(r[0].size - others);

		memcpy(out + len, pool_mem + (size_t)(r[i].gref - 1000) * XEN_PAGE_SIZE +
		       r[i].offset, sz);
		len += sz;
		((netif_tx_sring_t *)tx_sring_page)->ring[(*prod + i) & (NF_RING_SIZE - 1)].rsp =
			(struct netif_tx_response){ .id = r[i].id, .status = NETIF_RSP_OKAY };
	}
	*prod += n;
	return len;
}

/*
 * Answers the oldest n frames OKAY, as a backend would, after checking that
 * each one's slots still hold the frame it was given (a page handed out
 * twice shows up here as a bad CRC).
 */
static void answer_tx(struct nf_queue *q, unsigned n)
{
	static uint8_t got[NF_MAX_FRAME];
	netif_tx_sring_t *sr = (netif_tx_sring_t *)tx_sring_page;
	RING_IDX prod = sr->rsp_prod;
	uint32_t stream;
	uint64_t seq;

	for (unsigned k = 0; k < n && prod != q->tx.req_prod_pvt; k++) {
		uint32_t len = read_back(q, &prod, got);

		if (nf_gen_check(got, len, &stream, &seq) == NF_GEN_OK)
			intact_frames++;
		else
			broken_frames++;
	}
	sr->rsp_prod = prod;
}

static void t_txpool(void)
{
	static struct nf_dev d;
	static struct nf_queue q;
	struct nf_tx_meta m = { 0 };
	uint64_t rng = 1;
	unsigned queued = 0;

	d.tx_sg = true;
	q.dev = &d;
	q.pool.mem = pool_mem;
	q.pool.npages = 16;
	q.pool.cur = -1;
	q.pool.cur_off = XEN_PAGE_SIZE;
	for (unsigned i = 0; i < 16; i++) {
		q.pool.refs[i] = 1000 + i;
		q.pool.free[q.pool.nfree++] = (uint16_t)(15 - i);
	}
	for (unsigned i = 0; i < NF_RING_SIZE; i++) {
		q.id_free[q.nid_free++] = (uint16_t)i;
		q.id_page[i] = -1;
	}
	SHARED_RING_INIT((netif_tx_sring_t *)tx_sring_page);
	FRONT_RING_INIT(&q.tx, (netif_tx_sring_t *)tx_sring_page, XEN_PAGE_SIZE);
	for (unsigned round = 0; round < 5000; round++) {
		uint32_t len = 60 + (uint32_t)(nf_rand(&rng) % 20000);
		unsigned inflight = nf_tx_inflight(&q);
		int r;

		nf_gen_build(frame, len, MAC_B, MAC_A, 1, round);
		r = nf_tx_frame(&q, frame, len, &m);
		REQUIRE(r >= 0);
		queued += (unsigned)r;
		if (!r || nf_rand(&rng) % 3 == 0)
			answer_tx(&q, (unsigned)(nf_rand(&rng) % (inflight / 2 + 2)));
		REQUIRE(nf_tx_reap(&q) >= 0);
		REQUIRE(pool_consistent(&q));
	}
	answer_tx(&q, nf_tx_inflight(&q));
	CHECK(nf_tx_reap(&q) >= 0 && !nf_tx_inflight(&q));
	CHECK(pool_consistent(&q) && q.nid_free == NF_RING_SIZE);
	CHECK(queued > 500 && q.cnt.tx_frames == queued && !q.cnt.tx_bad_rsp);
	CHECK(intact_frames == queued && !broken_frames);
	/* An answer for an id not in flight is counted, not trusted. */
	((netif_tx_sring_t *)tx_sring_page)->ring[q.tx.rsp_cons & (NF_RING_SIZE - 1)].rsp =
		(struct netif_tx_response){ .id = 3, .status = NETIF_RSP_OKAY };
	q.tx.req_prod_pvt++;	/* pretend one request was out */
	((netif_tx_sring_t *)tx_sring_page)->rsp_prod++;
	CHECK(nf_tx_reap(&q) == 1 && q.cnt.tx_bad_rsp == 1 && pool_consistent(&q));
	/* More responses than requests: the queue fails. */
	((netif_tx_sring_t *)tx_sring_page)->rsp_prod += 2;
	CHECK(nf_tx_reap(&q) == -EPROTO && q.fail == -EPROTO);
}

/* ---- grant budget ---- */

static void t_pool_sizes(void)
{
	for (unsigned nq = 1; nq <= NF_MAX_QUEUES; nq++) {
		unsigned tx, rx;

		nf_pool_sizes(nq, &tx, &rx);
		CHECK(nq * (2 + tx + rx) + NF_GRANT_RESERVE <= NF_GRANT_LIMIT);
		CHECK(tx <= NF_RING_SIZE && rx <= NF_RING_SIZE);
		/* A whole RX chain (data + extras) and a 64 KiB frame must fit. */
		CHECK(rx > NF_MAX_RX_SLOTS + NF_MAX_EXTRAS && tx > NF_MAX_TX_FRAGS);
	}
	{
		unsigned tx, rx;

		nf_pool_sizes(1, &tx, &rx);
		CHECK(tx == 256 && rx == 256);
		nf_pool_sizes(4, &tx, &rx);
		CHECK(tx == 125 && rx == 125);
	}
}

/* Microsoft's RSS verification vector: 66.9.149.187:2794 -> 161.142.100.80:1766. */
static void t_hash(void)
{
	static const uint8_t ip4[] = { 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0,
				       66, 9, 149, 187, 161, 142, 100, 80 };
	static const uint8_t tcp[] = { 2794 >> 8, 2794 & 0xff, 1766 >> 8, 1766 & 0xff };
	uint8_t f[64] = { 0 };

	memcpy(f, MAC_B, 6);
	memcpy(f + 6, MAC_A, 6);
	f[12] = 0x08;
	memcpy(f + 14, ip4, sizeof(ip4));
	memcpy(f + 34, tcp, sizeof(tcp));
	CHECK(nf_toeplitz(nf_rss_key, 40, f + 26, 8) == 0x323e8fc2u);
	CHECK(nf_hash_check(nf_rss_key, 40, f, sizeof(f), _XEN_NETIF_CTRL_HASH_TYPE_IPV4,
			    0x323e8fc2u));
	CHECK(nf_hash_check(nf_rss_key, 40, f, sizeof(f), _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
			    0x51ccc178u));
	CHECK(!nf_hash_check(nf_rss_key, 40, f, sizeof(f), _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
			     0x323e8fc2u));
	CHECK(!nf_hash_check(nf_rss_key, 40, f, sizeof(f), _XEN_NETIF_CTRL_HASH_TYPE_IPV6,
			     0x323e8fc2u));
	f[20] = 0x20;	/* more fragments: no TCP hash */
	CHECK(!nf_hash_check(nf_rss_key, 40, f, sizeof(f), _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
			     0x51ccc178u));
}

int main(void)
{
	tap_run("/netfront/crc32", t_crc);
	tap_run("/netfront/gen/roundtrip", t_gen_roundtrip);
	tap_run("/netfront/gen/corrupt", t_gen_corrupt);
	tap_run("/netfront/gen/padded-and-flood", t_gen_padded_and_flood);
	tap_run("/netfront/seq/inorder-and-gaps", t_seq_inorder_and_gaps);
	tap_run("/netfront/seq/reorder-dup", t_seq_reorder_dup);
	tap_run("/netfront/seq/streams", t_seq_streams);
	tap_run("/netfront/tx/split-no-sg", t_split_no_sg);
	tap_run("/netfront/tx/split-sg", t_split_sg);
	tap_run("/netfront/tx/layout", t_layout);
	tap_run("/netfront/rx/chain", t_rx_chain);
	tap_run("/netfront/rx/bad", t_rx_bad);
	tap_run("/netfront/rx/too-long", t_rx_too_long);
	tap_run("/netfront/mcast/parse", t_mcast_parse);
	tap_run("/netfront/mcast/layout", t_mcast_layout);
	tap_run("/netfront/vnet/l4", t_l4);
	tap_run("/netfront/vnet/csum", t_csum);
	tap_run("/netfront/vnet/tx", t_vnet_tx);
	tap_run("/netfront/vnet/rx", t_vnet_rx);
	tap_run("/netfront/tx/pool", t_txpool);
	tap_run("/netfront/pool-sizes", t_pool_sizes);
	tap_run("/netfront/hash", t_hash);
	return tap_done();
}
