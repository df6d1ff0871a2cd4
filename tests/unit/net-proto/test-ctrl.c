// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of netbackd/ctrl.c: the Toeplitz hash against the published
 * RSS verification vectors, frame hashing on built frames (VLAN, options,
 * fragments, IPv6 extension headers, every truncation), queue selection,
 * every control message with good and bad parameters (key and table
 * copies from a fake grant table that checks every copy's bounds, a table
 * copy split at a page, entries >= nqueues rejected, failed copies), the
 * control ring against a hostile producer, the multicast filter, and the
 * restart blob's round trip and corruption.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/tap.h"
#include "ctrl.h"

/*
 * The Microsoft RSS verification suite ("Verifying the RSS Hash
 * Calculation", Windows driver docs; also the Intel 82599 datasheet,
 * 7.1.2.8.3), as DPDK's app/test/test_thash.c reproduces it: the standard
 * 40-byte key, and per vector the source and destination (address, port)
 * with the hash over the addresses and over addresses + ports. Input order
 * is netif.h's: source address, destination address, source port,
 * destination port, all in network byte order.
 */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static const struct v4 {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint32_t l3, l4;
} v4[] = {
	{ { 66, 9, 149, 187 }, { 161, 142, 100, 80 }, 2794, 1766, 0x323e8fc2, 0x51ccc178 },
	{ { 199, 92, 111, 2 }, { 65, 69, 140, 83 }, 14230, 4739, 0xd718262a, 0xc626b0ea },
	{ { 24, 19, 198, 95 }, { 12, 22, 207, 184 }, 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
	{ { 38, 27, 205, 30 }, { 209, 142, 163, 6 }, 48228, 2217, 0x82989176, 0xafc7327f },
	{ { 153, 39, 163, 191 }, { 202, 188, 127, 2 }, 44251, 1303, 0x5d1809c5, 0x10e828a2 },
};

static const struct v6 {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t l3, l4;
} v6[] = {
	{ /* 3ffe:2501:200:1fff::7 -> 3ffe:2501:200:3::1 */
	  { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x07 },
	  { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01 },
	  2794, 1766, 0x2cc18cd5, 0x40207d3d },
	{ /* 3ffe:501:8::260:97ff:fe40:efab -> ff02::1 */
	  { 0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0, 0, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef, 0xab },
	  { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 },
	  14230, 4739, 0x0f0c461c, 0xdde51bbf },
	{ /* 3ffe:1900:4545:3:200:f8ff:fe21:67cf -> fe80::200:f8ff:fe21:67cf */
	  { 0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf },
	  { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf },
	  44251, 38024, 0x4b61e985, 0x02d1feef },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* netif.h's buffer: source and destination address, then the ports. */
static void check_vector(const uint8_t *src, const uint8_t *dst, unsigned alen, uint16_t sport,
			 uint16_t dport, uint32_t l3, uint32_t l4)
{
	uint8_t b[36];

	memcpy(b, src, alen);
	memcpy(b + alen, dst, alen);
	put16(b + 2 * alen, sport);
	put16(b + 2 * alen + 2, dport);
	CHECK(nb_toeplitz(ms_key, 40, b, 2 * alen) == l3);
	CHECK(nb_toeplitz(ms_key, 40, b, 2 * alen + 4) == l4);
}

static void test_toeplitz_vectors(void)
{
	unsigned i;

	for (i = 0; i < N(v4); i++)
		check_vector(v4[i].src, v4[i].dst, 4, v4[i].sport, v4[i].dport, v4[i].l3, v4[i].l4);
	for (i = 0; i < N(v6); i++)
		check_vector(v6[i].src, v6[i].dst, 16, v6[i].sport, v6[i].dport, v6[i].l3, v6[i].l4);
}

static void test_toeplitz_short_key(void)
{
	uint8_t key[40] = { 0 }, b[12] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8 };

	/* Octets past keylen count as zero. */
	memcpy(key, ms_key, 10);
	CHECK(nb_toeplitz(ms_key, 10, b, 12) == nb_toeplitz(key, 40, b, 12));
	CHECK(nb_toeplitz(ms_key, 0, b, 12) == 0);
	CHECK(nb_toeplitz(ms_key, 40, b, 0) == 0);
	/* One leading 1 bit picks the key's first 32 bits. */
	b[0] = 0x80;
	CHECK(nb_toeplitz(ms_key, 40, b, 1) == 0x6d5a56da);
}

/* ---- frames ---- */

static uint8_t fr[256];

/* Ethernet (+ VLAN) + IPv4 (+ options) + 20 bytes of L4 with the ports. */
static size_t frame4(const struct v4 *v, bool vlan, unsigned ihl, uint8_t proto, uint16_t frag)
{
	size_t l3 = vlan ? 18 : 14;

	memset(fr, 0, sizeof(fr));
	fr[0] = 0x02;
	put16(fr + 12, vlan ? 0x8100 : 0x0800);
	if (vlan)
		put16(fr + 16, 0x0800);
	fr[l3] = (uint8_t)(0x40 | ihl);
	put16(fr + l3 + 6, frag);
	fr[l3 + 9] = proto;
	memcpy(fr + l3 + 12, v->src, 4);
	memcpy(fr + l3 + 16, v->dst, 4);
	put16(fr + l3 + ihl * 4, v->sport);
	put16(fr + l3 + ihl * 4 + 2, v->dport);
	return l3 + ihl * 4 + 20;
}

/* Ethernet + IPv6 + the given extension headers (8 bytes each) + L4. */
static size_t frame6(const struct v6 *v, const uint8_t *ext, unsigned next_ext, uint8_t proto)
{
	size_t off = 54;
	unsigned i;

	memset(fr, 0, sizeof(fr));
	put16(fr + 12, 0x86dd);
	fr[14] = 0x60;
	fr[14 + 6] = next_ext ? ext[0] : proto;
	memcpy(fr + 14 + 8, v->src, 16);
	memcpy(fr + 14 + 24, v->dst, 16);
	for (i = 0; i < next_ext; i++) {
		fr[off] = i + 1 < next_ext ? ext[i + 1] : proto;
		fr[off + 1] = 0;	/* 8 bytes */
		off += 8;
	}
	put16(fr + off, v->sport);
	put16(fr + off + 2, v->dport);
	return off + 20;
}

static struct nb_hash *hash_new(uint32_t flags)
{
	struct nb_hash *h = calloc(1, sizeof(*h));
	uint8_t b[40];
	unsigned i;

	nb_hash_init(h);
	atomic_store(&h->alg, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
	atomic_store(&h->flags, flags);
	memcpy(b, ms_key, 40);
	for (i = 0; i < 10; i++) {
		uint32_t w;

		memcpy(&w, b + 4 * i, 4);
		atomic_store(&h->key[i], w);
	}
	return h;
}

/* nb_hash_frame over fr[0..len) gives want, of type want_type. */
static bool hashes_to(const struct nb_hash *h, size_t len, uint32_t want, unsigned want_type)
{
	uint32_t hash = ~want;
	uint8_t type = 0xff;

	return nb_hash_frame(h, fr, len, &hash, &type) && hash == want && type == want_type;
}

static bool no_hash(const struct nb_hash *h, size_t len)
{
	uint32_t hash;
	uint8_t type;

	return !nb_hash_frame(h, fr, len, &hash, &type);
}

#define T4 _XEN_NETIF_CTRL_HASH_TYPE_IPV4
#define T4TCP _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP
#define T6 _XEN_NETIF_CTRL_HASH_TYPE_IPV6
#define T6TCP _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP

static void test_frame_ipv4(void)
{
	struct nb_hash *h = hash_new(NB_HASH_TYPES_ALL);
	const struct v4 *v;

	for (v = v4; v < v4 + N(v4); v++) {
		CHECK(hashes_to(h, frame4(v, false, 5, 6, 0), v->l4, T4TCP));
		/* One VLAN tag, IP options, DF. */
		CHECK(hashes_to(h, frame4(v, true, 7, 6, 0x4000), v->l4, T4TCP));
		/* UDP: the address hash. */
		CHECK(hashes_to(h, frame4(v, false, 5, 17, 0), v->l3, T4));
		/* TCP in a fragment (MF, or an offset): addresses only, as Linux. */
		CHECK(hashes_to(h, frame4(v, false, 5, 6, 0x2000), v->l3, T4));
		CHECK(hashes_to(h, frame4(v, false, 5, 6, 0x0001), v->l3, T4));
	}
	/* Only the TCP type enabled: UDP gets nothing. */
	atomic_store(&h->flags, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	CHECK(no_hash(h, frame4(&v4[0], false, 5, 17, 0)));
	CHECK(hashes_to(h, frame4(&v4[0], false, 5, 6, 0), v4[0].l4, T4TCP));
	/* Only IPv4: TCP too gets the address hash. */
	atomic_store(&h->flags, XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	CHECK(hashes_to(h, frame4(&v4[0], false, 5, 6, 0), v4[0].l3, T4));
	/* IPv6 types only: IPv4 frames get nothing. */
	atomic_store(&h->flags, XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
	CHECK(no_hash(h, frame4(&v4[0], false, 5, 6, 0)));
	/* No algorithm: nothing. */
	atomic_store(&h->flags, NB_HASH_TYPES_ALL);
	atomic_store(&h->alg, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
	CHECK(no_hash(h, frame4(&v4[0], false, 5, 6, 0)));
	free(h);
}

static void test_frame_ipv6(void)
{
	static const uint8_t ext_hop_dst[2] = { 0, 60 }, ext_frag[2] = { 0, 44 };
	struct nb_hash *h = hash_new(NB_HASH_TYPES_ALL);
	const struct v6 *v;

	for (v = v6; v < v6 + N(v6); v++) {
		CHECK(hashes_to(h, frame6(v, NULL, 0, 6), v->l4, T6TCP));
		CHECK(hashes_to(h, frame6(v, ext_hop_dst, 2, 6), v->l4, T6TCP));
		CHECK(hashes_to(h, frame6(v, ext_frag, 2, 6), v->l3, T6));
		CHECK(hashes_to(h, frame6(v, NULL, 0, 17), v->l3, T6));
	}
	atomic_store(&h->flags, XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	CHECK(no_hash(h, frame6(&v6[0], NULL, 0, 6)));
	free(h);
}

static void test_frame_truncated(void)
{
	struct nb_hash *h = hash_new(NB_HASH_TYPES_ALL);
	uint32_t hash;
	uint8_t type;
	size_t len, n;

	/* Every cut of an IPv4/TCP frame: nothing below the addresses, the
	 * address hash until the ports are in, then the TCP hash. Run under
	 * ASan, a read past n would be reported (heap copy of exactly n). */
	len = frame4(&v4[1], true, 6, 6, 0);
	for (n = 0; n <= len; n++) {
		uint8_t *c = malloc(n ? n : 1);
		bool ok;

		memcpy(c, fr, n);
		hash = 0;
		ok = nb_hash_frame(h, c, n, &hash, &type);
		if (n < 18 + 20)
			CHECK(!ok);
		else if (n < 18 + 24 + 4)
			CHECK(ok && hash == v4[1].l3);
		else
			CHECK(ok && hash == v4[1].l4);
		free(c);
	}
	len = frame6(&v6[0], (const uint8_t[]){ 0 }, 1, 6);
	for (n = 0; n <= len; n++) {
		uint8_t *c = malloc(n ? n : 1);
		bool ok;

		memcpy(c, fr, n);
		ok = nb_hash_frame(h, c, n, &hash, &type);
		if (n < 54)
			CHECK(!ok);
		else if (n < 54 + 8 + 4)
			CHECK(ok && hash == v6[0].l3);
		else
			CHECK(ok && hash == v6[0].l4);
		free(c);
	}
	/* Not IP, bad versions, IHL < 5. */
	len = frame4(&v4[0], false, 5, 6, 0);
	put16(fr + 12, 0x0806);
	CHECK(!nb_hash_frame(h, fr, len, &hash, &type));
	put16(fr + 12, 0x0800);
	fr[14] = 0x65;
	CHECK(!nb_hash_frame(h, fr, len, &hash, &type));
	fr[14] = 0x44;
	CHECK(!nb_hash_frame(h, fr, len, &hash, &type));
	/* Two VLAN tags: the inner type is not IP here. */
	len = frame4(&v4[0], true, 5, 6, 0);
	put16(fr + 16, 0x8100);
	CHECK(!nb_hash_frame(h, fr, len, &hash, &type));
	free(h);
}

static void test_queue(void)
{
	static const unsigned want[3] = { 2, 0, 1 };
	struct nb_hash *h = hash_new(0);
	unsigned i;

	CHECK(nb_hash_queue(h, 12345) == 0);
	CHECK(nb_hash_select(h, 12345, 4) == 12345 % 4);
	CHECK(nb_hash_select(h, 12345, 0) == 0);
	atomic_store(&h->size, 3);
	atomic_store(&h->mapping[0], 2);
	atomic_store(&h->mapping[1], 0);
	atomic_store(&h->mapping[2], 1);
	for (i = 0; i < 9; i++) {
		CHECK(nb_hash_queue(h, i) == want[i % 3]);
		CHECK(nb_hash_select(h, i, 4) == nb_hash_queue(h, i));
	}
	CHECK(nb_hash_queue(h, 0xffffffff) == want[0xffffffffu % 3]);
	free(h);
}

/* ---- control messages ---- */

#define NREFS 4
static uint8_t grant[NREFS][4096];
static struct copy_call {
	grant_ref_t ref;
	uint16_t offset, len;
	uintptr_t dst;
} calls[16];
static unsigned ncalls;
static int fail_call = -1;	/* fail this call (0-based), -1 never */
static void (*during_copy)(void);

static int fake_copy(void *opaque, grant_ref_t ref, uint16_t offset, void *dst, uint16_t len)
{
	(void)opaque;
	if (ncalls < N(calls))
		calls[ncalls] = (struct copy_call){ ref, offset, len, (uintptr_t)dst };
	/* The contract of nb_ctrl_copy_fn: inside the grant, inside one local page. */
	CHECK((unsigned)offset + len <= 4096);
	CHECK(len == 0 || ((uintptr_t)dst & 4095) + len <= 4096);
	if (during_copy)
		during_copy();
	if ((int)ncalls++ == fail_call)
		return -EIO;
	if (ref >= NREFS)
		return -EINVAL;
	memcpy(dst, grant[ref] + offset, len);
	return 0;
}

static struct xen_netif_ctrl_response rsp;

static uint32_t ctrl(struct nb_hash *h, unsigned nq, uint16_t type, uint32_t d0, uint32_t d1,
		     uint32_t d2)
{
	struct xen_netif_ctrl_request req = { .id = 0x4242, .type = type, .data = { d0, d1, d2 } };

	ncalls = 0;
	memset(&rsp, 0xee, sizeof(rsp));
	nb_ctrl_handle(h, nq, &req, &rsp, fake_copy, NULL);
	CHECK(rsp.id == 0x4242 && rsp.type == type);
	return rsp.status;
}

#define ST_OK XEN_NETIF_CTRL_STATUS_SUCCESS
#define ST_INVAL XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER

/* SET_HASH_MAPPING of len entries from grant ref to [off, off+len). */
static uint32_t set_map(struct nb_hash *h, unsigned nq, grant_ref_t ref, uint32_t len, uint32_t off)
{
	return ctrl(h, nq, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, ref, len, off);
}

static void get_key(const struct nb_hash *h, uint8_t key[40])
{
	unsigned i;

	for (i = 0; i < 10; i++) {
		uint32_t w = atomic_load(&h->key[i]);

		memcpy(key + 4 * i, &w, 4);
	}
}

static void test_ctrl_alg_flags(void)
{
	struct nb_hash h;

	nb_hash_init(&h);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED && rsp.data == 0);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	CHECK(atomic_load(&h.alg) == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
		   XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0) == XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(rsp.data == 0);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_SUCCESS && rsp.data == NB_HASH_TYPES_ALL);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 1u << 4, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	CHECK(atomic_load(&h.flags) == 0);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, NB_HASH_TYPES_ALL, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(atomic_load(&h.flags) == NB_HASH_TYPES_ALL);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0, 0, 0) == XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(atomic_load(&h.flags) == 0);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
		   XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, 0, 0) == XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(ncalls == 0);
}

static void test_ctrl_key(void)
{
	struct nb_hash h;
	uint8_t key[40], want[40] = { 0 };

	nb_hash_init(&h);
	memcpy(grant[1], ms_key, 40);
	memset(grant[1] + 40, 0x77, 8);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 41, 0) ==
	      XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 0xffffffff, 0) ==
	      XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
	CHECK(ncalls == 0);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 40, 0) == XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(ncalls >= 1 && calls[0].ref == 1 && calls[0].offset == 0);
	get_key(&h, key);
	CHECK(!memcmp(key, ms_key, 40));
	/* A failed copy: INVALID_PARAMETER, the old key stays. */
	fail_call = 0;
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 8, 0) ==
	      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	fail_call = -1;
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 9, 8, 0) ==
	      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	get_key(&h, key);
	CHECK(!memcmp(key, ms_key, 40));
	/* A short key: the rest is zero. */
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 3, 0) == XEN_NETIF_CTRL_STATUS_SUCCESS);
	memcpy(want, ms_key, 3);
	get_key(&h, key);
	CHECK(!memcmp(key, want, 40));
	/* Size 0 clears it, without a copy. */
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 0, 0) == XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(ncalls == 0);
	memset(want, 0, 40);
	get_key(&h, key);
	CHECK(!memcmp(key, want, 40));
}

static void set_table(uint32_t *t, unsigned n, unsigned nq)
{
	unsigned i;

	for (i = 0; i < n; i++)
		t[i] = (i * 7) % nq;
}

static void test_ctrl_mapping_size(void)
{
	struct nb_hash h;
	unsigned i;

	nb_hash_init(&h);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_SUCCESS && rsp.data == NB_HASH_MAPPING_MAX);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, NB_HASH_MAPPING_MAX + 1, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	CHECK(atomic_load(&h.size) == 0);
	for (i = 0; i < NB_HASH_MAPPING_MAX; i++)
		atomic_store(&h.mapping[i], 3);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, NB_HASH_MAPPING_MAX, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_SUCCESS);
	CHECK(atomic_load(&h.size) == NB_HASH_MAPPING_MAX);
	/* The new table is all zeroes (netif.h). */
	for (i = 0; i < NB_HASH_MAPPING_MAX; i++)
		CHECK(atomic_load(&h.mapping[i]) == 0);
	CHECK(ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 0, 0, 0) ==
	      XEN_NETIF_CTRL_STATUS_SUCCESS && atomic_load(&h.size) == 0);
}

static void check_table(const struct nb_hash *h, unsigned off, const uint32_t *want, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		CHECK(atomic_load(&h->mapping[off + i]) == want[i]);
}

static void test_ctrl_mapping(void)
{
	struct nb_hash h;
	uint32_t t[NB_HASH_MAPPING_MAX], zero[NB_HASH_MAPPING_MAX] = { 0 };

	nb_hash_init(&h);
	set_table(t, NB_HASH_MAPPING_MAX, 4);
	memcpy(grant[2], t, sizeof(t));
	/* Beyond a size of 0. */
	CHECK(set_map(&h, 4, 2, 1, 0) == ST_INVAL);
	CHECK(set_map(&h, 4, 2, 0, 0) == ST_OK);
	ctrl(&h, 4, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 64, 0, 0);
	CHECK(set_map(&h, 4, 2, 65, 0) == ST_INVAL);
	CHECK(set_map(&h, 4, 2, 1, 64) == ST_INVAL);
	/* off + len wrapping around 2^32 must not pass. */
	CHECK(set_map(&h, 4, 2, 2, 0xffffffff) == ST_INVAL);
	CHECK(set_map(&h, 4, 2, 0xffffffff, 2) == ST_INVAL);
	CHECK(ncalls == 0);
	check_table(&h, 0, zero, 64);
	/* The whole table. */
	CHECK(set_map(&h, 4, 2, 64, 0) == ST_OK);
	check_table(&h, 0, t, 64);
	/* A sub-table leaves the rest alone. */
	set_table(t, 8, 3);
	t[0] = 3;
	memcpy(grant[3], t, 8 * 4);
	CHECK(set_map(&h, 4, 3, 8, 10) == ST_OK);
	check_table(&h, 10, t, 8);
	CHECK(atomic_load(&h.mapping[9]) == (9 * 7) % 4 && atomic_load(&h.mapping[18]) == (18 * 7) % 4);
	/* An entry >= nqueues: INVALID_PARAMETER, nothing stored. */
	memcpy(t, grant[2], sizeof(t));
	CHECK(set_map(&h, 3, 2, 16, 0) == ST_INVAL);
	check_table(&h, 0, t, 10);
	grant[2][4 * 63] = 200;
	CHECK(set_map(&h, 250, 2, 64, 0) == ST_OK);
	CHECK(set_map(&h, 200, 2, 64, 0) == ST_INVAL);
	CHECK(set_map(&h, 0, 2, 1, 0) == ST_INVAL);
	CHECK(atomic_load(&h.mapping[63]) == 200);
	/* A failed copy: INVALID_PARAMETER, nothing stored. */
	memset(grant[1], 0, 4096);
	fail_call = 0;
	CHECK(set_map(&h, 250, 1, 64, 0) == ST_INVAL);
	fail_call = -1;
	CHECK(atomic_load(&h.mapping[63]) == 200);
}

static void test_ctrl_mapping_page_split(void)
{
	/* Place the struct so that stage.mapping[off] crosses a 4 KiB page:
	 * the copy goes in two, the second from where the first stopped in
	 * the grant (Linux xenvif_set_hash_mapping copy_op[1]). */
	uint8_t *mem = aligned_alloc(4096, 3 * 4096);
	size_t stage_off = offsetof(struct nb_hash, stage);
	struct nb_hash *h;
	uint32_t t[NB_HASH_MAPPING_MAX];
	unsigned first;

	/* stage.mapping[0] 40 bytes before the page boundary at 8192. */
	h = (struct nb_hash *)(void *)(mem + 8192 - 40 - stage_off);
	REQUIRE(((uintptr_t)h & (_Alignof(struct nb_hash) - 1)) == 0);
	nb_hash_init(h);
	ctrl(h, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, NB_HASH_MAPPING_MAX, 0, 0);
	set_table(t, NB_HASH_MAPPING_MAX, 8);
	memcpy(grant[2], t, sizeof(t));
	CHECK(set_map(h, 8, 2, 100, 2) == ST_OK);
	first = 40 - 2 * 4;
	CHECK(ncalls == 2);
	CHECK(calls[0].offset == 0 && calls[0].len == first);
	CHECK(calls[1].offset == first && calls[1].len == 400 - first);
	CHECK(calls[1].dst == (uintptr_t)mem + 8192);
	check_table(h, 2, t, 100);
	/* Failure of the second half: nothing stored. */
	memset(grant[3], 0, 400);
	fail_call = 1;
	CHECK(set_map(h, 8, 3, 100, 2) == ST_INVAL);
	fail_call = -1;
	check_table(h, 2, t, 100);
	/* Entirely before the boundary: one copy. */
	CHECK(set_map(h, 8, 2, 10, 0) == ST_OK && ncalls == 1);
	free(mem);
}

static void test_ctrl_unsupported(void)
{
	static const uint16_t types[] = {
		XEN_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
		XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 11, 0xffff,
	};
	struct nb_hash h;
	unsigned i;

	nb_hash_init(&h);
	for (i = 0; i < N(types); i++) {
		CHECK(ctrl(&h, 4, types[i], 1, 2, 3) == XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
		CHECK(rsp.data == 0 && ncalls == 0);
	}
}

/* ---- the ring ---- */

static union {
	struct xen_netif_ctrl_sring s;
	uint8_t page[4096];
} ring_page __attribute__((aligned(4096)));
static xen_netif_ctrl_back_ring_t back;
static xen_netif_ctrl_front_ring_t front;
static struct nb_hash rh;

static void ring_reset(void)
{
	SHARED_RING_INIT(&ring_page.s);
	BACK_RING_INIT(&back, &ring_page.s, 4096);
	FRONT_RING_INIT(&front, &ring_page.s, 4096);
	nb_hash_init(&rh);
	ncalls = 0;
}

static void push_req(uint16_t id, uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2)
{
	struct xen_netif_ctrl_request *r = RING_GET_REQUEST(&front, front.req_prod_pvt);

	r->id = id;
	r->type = type;
	r->data[0] = d0;
	r->data[1] = d1;
	r->data[2] = d2;
	front.req_prod_pvt++;
}

static int process(unsigned budget, bool *notify)
{
	return nb_ctrl_ring_process(&back, &rh, 4, fake_copy, NULL, budget, notify, NULL);
}

static void test_ring_basic(void)
{
	struct xen_netif_ctrl_response *r;
	bool notify;
	int notify_front;

	ring_reset();
	push_req(1, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0xdeadbeef);
	push_req(2, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0);
	push_req(3, 99, 0, 0, 0);
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify_front);
	CHECK(notify_front);	/* req_event starts at 1 */
	CHECK(process(64, &notify) == 3);
	CHECK(notify);		/* rsp_event starts at 1 */
	CHECK(ring_page.s.rsp_prod == 3 && back.req_cons == 3);
	r = RING_GET_RESPONSE(&front, 0);
	CHECK(r->id == 1 && r->type == XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM && r->status == 0 && r->data == 0);
	r = RING_GET_RESPONSE(&front, 1);
	CHECK(r->id == 2 && r->status == 0 && r->data == NB_HASH_TYPES_ALL);
	r = RING_GET_RESPONSE(&front, 2);
	CHECK(r->id == 3 && r->type == 99 && r->status == XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
	/* Only the response's 12 bytes are written: the slot's last 4 still
	 * hold the request's data[2] (the guest's own bytes). */
	CHECK(ring_page.s.ring[0].req.data[2] == 0xdeadbeef);
	/* The final check re-armed req_event for the next request. */
	CHECK(ring_page.s.req_event == 4);
	/* Nothing new: nothing done, no notify (rsp_event not moved by us). */
	CHECK(process(64, &notify) == 0 && !notify);
}

static void test_ring_budget(void)
{
	bool notify;
	unsigned i;

	ring_reset();
	for (i = 0; i < 10; i++)
		push_req((uint16_t)i, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	ring_page.s.req_prod = front.req_prod_pvt;
	CHECK(process(4, &notify) == 4 && back.req_cons == 4 && ring_page.s.rsp_prod == 4);
	CHECK(ring_page.s.req_event == 1);	/* not re-armed: call again */
	CHECK(process(4, &notify) == 4);
	CHECK(process(4, &notify) == 2 && ring_page.s.rsp_prod == 10);
	CHECK(process(0, &notify) == 0);
	for (i = 0; i < 10; i++)
		CHECK(RING_GET_RESPONSE(&front, i)->id == i && RING_GET_RESPONSE(&front, i)->data == 128);
}

/* A daemon killed after writing responses over its requests but before
 * pushing them: the slots hold neither. The journal has the requests; a
 * successor attached at the ring's rsp_prod writes them back and answers
 * them as the first would have. One pushed, or with nothing journaled,
 * gives nothing back. */
static void test_ring_journal(void)
{
	static struct nb_ctrl_journal j;
	struct xen_netif_ctrl_request want[3];
	bool notify;

	ring_reset();
	memset(&j, 0, sizeof(j));
	push_req(7, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0x11111111);
	push_req(8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 16, 0, 0x22222222);
	push_req(9, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0x33333333);
	for (unsigned i = 0; i < 3; i++)
		want[i] = *RING_GET_REQUEST(&front, i);
	ring_page.s.req_prod = front.req_prod_pvt;
	CHECK(nb_ctrl_ring_process(&back, &rh, 4, fake_copy, NULL, 64, &notify, &j) == 3);
	CHECK(j.start == 0 && j.n == 3);
	/* The responses are in the slots; the push "never happened". */
	CHECK(RING_GET_REQUEST(&front, 1)->type == XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE &&
	      RING_GET_REQUEST(&front, 1)->data[0] != 16);
	ring_page.s.rsp_prod = 0;
	BACK_RING_ATTACH(&back, &ring_page.s, 0, 4096);
	nb_hash_init(&rh);
	CHECK(nb_ctrl_journal_restore(&back, &j) == 3);
	for (unsigned i = 0; i < 3; i++)
		CHECK(memcmp(RING_GET_REQUEST(&front, i), &want[i], sizeof(want[i])) == 0);
	CHECK(nb_ctrl_ring_process(&back, &rh, 4, fake_copy, NULL, 64, &notify, &j) == 3);
	CHECK(ring_page.s.rsp_prod == 3);
	CHECK(RING_GET_RESPONSE(&front, 0)->id == 7 && RING_GET_RESPONSE(&front, 0)->data == 128);
	CHECK(RING_GET_RESPONSE(&front, 1)->id == 8 && RING_GET_RESPONSE(&front, 1)->status == 0);
	CHECK(RING_GET_RESPONSE(&front, 2)->id == 9);
	/* Pushed: the journal's start is behind rsp_prod, nothing written back. */
	BACK_RING_ATTACH(&back, &ring_page.s, ring_page.s.rsp_prod, 4096);
	CHECK(nb_ctrl_journal_restore(&back, &j) == 0);
	CHECK(RING_GET_RESPONSE(&front, 0)->id == 7);
	/* A journal claiming more than the guest posted gives nothing back. */
	j.start = 3;
	j.n = 2;
	CHECK(nb_ctrl_journal_restore(&back, &j) == 0);
}

static void test_ring_hostile(void)
{
	unsigned size;
	bool notify;

	ring_reset();
	size = RING_SIZE(&back);
	/* More than a ring ahead of our responses. */
	ring_page.s.req_prod = size + 1;
	CHECK(process(64, &notify) == -EPROTO);
	CHECK(back.req_cons == 0 && ring_page.s.rsp_prod == 0);
	/* Behind what we consumed. */
	ring_reset();
	push_req(1, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	ring_page.s.req_prod = 1;
	CHECK(process(64, &notify) == 1);
	ring_page.s.req_prod = 0;
	CHECK(process(64, &notify) == -EPROTO);
	ring_page.s.req_prod = 0x80000000u;
	CHECK(process(64, &notify) == -EPROTO);
	/* A full ring is fine, and wraps. */
	ring_reset();
	back.req_cons = back.rsp_prod_pvt = ring_page.s.rsp_prod = 0xfffffff0u;
	ring_page.s.req_prod = 0xfffffff0u + size;
	CHECK(process(1000, &notify) == (int)size);
	CHECK(back.req_cons == 0xfffffff0u + size);
}

/* The frontend rewrites the slot while its request is being handled: the
 * answer is made from the one copy taken (RING_COPY_REQUEST). */
static void rewrite_slot(void)
{
	ring_page.s.ring[0].req.id = 0x6666;
	ring_page.s.ring[0].req.type = XEN_NETIF_CTRL_TYPE_INVALID;
}

static void test_ring_copy_once(void)
{
	bool notify;

	ring_reset();
	memcpy(grant[1], ms_key, 40);
	push_req(7, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 1, 40, 0);
	ring_page.s.req_prod = 1;
	during_copy = rewrite_slot;
	CHECK(process(64, &notify) == 1);
	during_copy = NULL;
	CHECK(RING_GET_RESPONSE(&front, 0)->id == 7);
	CHECK(RING_GET_RESPONSE(&front, 0)->type == XEN_NETIF_CTRL_TYPE_SET_HASH_KEY);
	CHECK(RING_GET_RESPONSE(&front, 0)->status == XEN_NETIF_CTRL_STATUS_SUCCESS);
}

static void test_ring_notify(void)
{
	bool notify;

	ring_reset();
	push_req(1, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	ring_page.s.req_prod = 1;
	/* The frontend wants no event until response 5. */
	ring_page.s.rsp_event = 5;
	CHECK(process(64, &notify) == 1 && !notify);
	push_req(2, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	push_req(3, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	push_req(4, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	push_req(5, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	ring_page.s.req_prod = 5;
	CHECK(process(64, &notify) == 4 && notify);
}

/* ---- multicast ---- */

static void test_mcast(void)
{
	struct nb_mcast m;
	uint8_t a[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, u[6] = { 0x02, 0, 0, 0, 0, 1 };
	unsigned i;

	nb_mcast_init(&m);
	CHECK(!nb_mcast_match(&m, a));
	CHECK(nb_mcast_add(&m, u) == -EINVAL);
	CHECK(nb_mcast_add(&m, a) == 0);
	CHECK(nb_mcast_match(&m, a));
	CHECK(!nb_mcast_match(&m, u));
	/* Twice added, twice deleted (Linux keeps a list with repeats). */
	CHECK(nb_mcast_add(&m, a) == 0);
	nb_mcast_del(&m, a);
	CHECK(nb_mcast_match(&m, a));
	nb_mcast_del(&m, a);
	CHECK(!nb_mcast_match(&m, a));
	nb_mcast_del(&m, a);	/* not there: nothing */
	CHECK(m.count == 0);
	/* Full at NB_MCAST_MAX. */
	for (i = 0; i < NB_MCAST_MAX; i++) {
		a[5] = (uint8_t)i;
		CHECK(nb_mcast_add(&m, a) == 0);
	}
	a[5] = 0xff;
	CHECK(nb_mcast_add(&m, a) == -ENOSPC);
	CHECK(!nb_mcast_match(&m, a));
	for (i = 0; i < NB_MCAST_MAX; i++) {
		a[5] = (uint8_t)i;
		CHECK(nb_mcast_match(&m, a));
	}
	/* A freed entry is reused. */
	a[5] = 17;
	nb_mcast_del(&m, a);
	CHECK(!nb_mcast_match(&m, a));
	a[5] = 0xff;
	CHECK(nb_mcast_add(&m, a) == 0 && nb_mcast_match(&m, a));
	/* The all-zero address is not "free". */
	memset(a, 0, 6);
	CHECK(!nb_mcast_match(&m, a));
}

/* ---- export / import ---- */

static void check_defaults(const struct nb_hash *h)
{
	uint8_t key[40], zero[40] = { 0 };
	unsigned i;

	CHECK(atomic_load(&h->alg) == 0 && atomic_load(&h->flags) == 0 && atomic_load(&h->size) == 0);
	get_key(h, key);
	CHECK(!memcmp(key, zero, 40));
	for (i = 0; i < NB_HASH_MAPPING_MAX; i++)
		CHECK(atomic_load(&h->mapping[i]) == 0);
}

static void test_export_import(void)
{
	struct nb_hash *a = hash_new(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP), b;
	uint8_t blob[1024], bad[1024];
	size_t n, i, cut;
	unsigned q;

	atomic_store(&a->size, 100);
	for (q = 0; q < 100; q++)
		atomic_store(&a->mapping[q], q % 6);
	n = nb_hash_export(a, NULL, 0);
	CHECK(n == 60 + 400 + 4);
	CHECK(nb_hash_export(a, blob, n - 1) == n);
	CHECK(nb_hash_export(a, blob, sizeof(blob)) == n);
	nb_hash_init(&b);
	CHECK(nb_hash_import(&b, 6, blob, n) == 0);
	CHECK(atomic_load(&b.alg) == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
	CHECK(atomic_load(&b.flags) == XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	CHECK(atomic_load(&b.size) == 100);
	for (q = 0; q < 100; q++)
		CHECK(atomic_load(&b.mapping[q]) == q % 6);
	{
		uint8_t k[40];

		get_key(&b, k);
		CHECK(!memcmp(k, ms_key, 40));
	}
	/* Fewer queues now: -ERANGE, defaults. */
	CHECK(nb_hash_import(&b, 5, blob, n) == -ERANGE);
	check_defaults(&b);
	/* Every single flipped bit, every truncation, an extension. */
	for (i = 0; i < n * 8; i++) {
		memcpy(bad, blob, n);
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK(nb_hash_import(&b, 6, bad, n) == -EBADMSG);
	}
	check_defaults(&b);
	for (cut = 0; cut < n; cut++)
		CHECK(nb_hash_import(&b, 6, blob, cut) == -EBADMSG);
	memcpy(bad, blob, n);
	bad[n] = 0;
	CHECK(nb_hash_import(&b, 6, bad, n + 1) == -EBADMSG);
	check_defaults(&b);
	/* An empty table round-trips too. */
	nb_hash_init(a);
	n = nb_hash_export(a, blob, sizeof(blob));
	CHECK(n == 64 && nb_hash_import(&b, 0, blob, n) == 0);
	check_defaults(&b);
	free(a);
}

int main(void)
{
	tap_run("/ctrl/toeplitz-vectors", test_toeplitz_vectors);
	tap_run("/ctrl/toeplitz-short-key", test_toeplitz_short_key);
	tap_run("/ctrl/frame-ipv4", test_frame_ipv4);
	tap_run("/ctrl/frame-ipv6", test_frame_ipv6);
	tap_run("/ctrl/frame-truncated", test_frame_truncated);
	tap_run("/ctrl/queue", test_queue);
	tap_run("/ctrl/alg-flags", test_ctrl_alg_flags);
	tap_run("/ctrl/key", test_ctrl_key);
	tap_run("/ctrl/mapping-size", test_ctrl_mapping_size);
	tap_run("/ctrl/mapping", test_ctrl_mapping);
	tap_run("/ctrl/mapping-page-split", test_ctrl_mapping_page_split);
	tap_run("/ctrl/unsupported", test_ctrl_unsupported);
	tap_run("/ctrl/ring-basic", test_ring_basic);
	tap_run("/ctrl/ring-budget", test_ring_budget);
	tap_run("/ctrl/ring-journal", test_ring_journal);
	tap_run("/ctrl/ring-hostile", test_ring_hostile);
	tap_run("/ctrl/ring-copy-once", test_ring_copy_once);
	tap_run("/ctrl/ring-notify", test_ring_notify);
	tap_run("/ctrl/mcast", test_mcast);
	tap_run("/ctrl/export-import", test_export_import);
	return tap_done();
}
