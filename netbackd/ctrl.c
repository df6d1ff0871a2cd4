// SPDX-License-Identifier: GPL-2.0-only
/*
 * A vif's steering state set by its guest (see ctrl.h): the Toeplitz hash
 * and its configuration over the control ring, the multicast filter, and
 * the hash state's restart blob.
 *
 * The control messages follow Linux xen-netback (hash.c xenvif_set_hash_*,
 * netback.c process_ctrl_request) with two differences, both toward
 * netif.h: a key longer than NB_HASH_KEY_MAX is BUFFER_OVERFLOW (netif.h
 * SET_HASH_KEY; Linux answers INVALID_PARAMETER), and a failed key copy
 * leaves the old key (Linux copies straight into its key). Like Linux's
 * second mapping table (hash.mapping[!mapping_sel]), everything the guest
 * sends lands in a staging area first and is published only once checked.
 *
 * Writers and readers: see ctrl.h. Every load a reader makes is a relaxed
 * atomic; nothing orders one field against another, and nothing needs to.
 * Pure otherwise: no I/O but through the caller's copy function, no
 * allocation, no logging.
 */
#include <errno.h>
#include <string.h>

#include "ctrl.h"

/* A grant page (netif.h SET_HASH_MAPPING: a (sub-)table is "limited by the
 * single grant reference"), and the unit Linux splits a copy at. */
#define NB_XEN_PAGE_SIZE 4096u

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

_Static_assert(NB_HASH_KEY_MAX % 4 == 0, "key stored in words");
_Static_assert(sizeof(struct xen_netif_ctrl_response) == 12, "response without padding");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
	       "readers must never wait on a writer");

static void store_key(struct nb_hash *h, const uint8_t key[NB_HASH_KEY_MAX])
{
	unsigned i;

	for (i = 0; i < NB_HASH_KEY_MAX / 4; i++) {
		uint32_t w;

		memcpy(&w, key + 4 * i, 4);
		STORE(h->key[i], w);
	}
}

static void load_key(const struct nb_hash *h, uint8_t key[NB_HASH_KEY_MAX])
{
	unsigned i;

	for (i = 0; i < NB_HASH_KEY_MAX / 4; i++) {
		uint32_t w = LOAD(h->key[i]);

		memcpy(key + 4 * i, &w, 4);
	}
}

void nb_hash_init(struct nb_hash *h)
{
	static const uint8_t zero[NB_HASH_KEY_MAX];
	unsigned i;

	STORE(h->alg, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
	STORE(h->flags, 0);
	store_key(h, zero);
	STORE(h->size, 0);
	for (i = 0; i < NB_HASH_MAPPING_MAX; i++)
		STORE(h->mapping[i], 0);
	memset(&h->stage, 0, sizeof(h->stage));
}

/* ---- hashing (readers) ---- */

uint32_t nb_toeplitz(const uint8_t *key, unsigned keylen, const uint8_t *buf, unsigned len)
{
	/* window: the 64 key bits from the current input byte's first bit on. */
	uint64_t window = 0;
	uint32_t hash = 0;
	unsigned i, b, k;

	for (k = 0; k < 8; k++)
		window = window << 8 | (k < keylen ? key[k] : 0);
	for (i = 0; i < len; i++, k++) {
		for (b = 0; b < 8; b++)
			if (buf[i] & (0x80u >> b))
				hash ^= (uint32_t)(window >> (32 - b));
		window = window << 8 | (k < keylen ? key[k] : 0);
	}
	return hash;
}

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IPPROTO_TCP_ 6

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The L3 header's offset and EtherType, past one VLAN tag at most. */
static bool eth_l3(const uint8_t *f, size_t len, size_t *ret_off, unsigned *ret_type)
{
	unsigned type;

	if (len < 14)
		return false;
	type = get16(f + 12);
	*ret_off = 14;
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (len < 18)
			return false;
		type = get16(f + 16);
		*ret_off = 18;
	}
	*ret_type = type;
	return true;
}

struct hash_in {
	uint8_t buf[36];	/* netif.h "Hash types": at most 16 + 16 + 2 + 2 */
	unsigned l3len;		/* bytes of addresses */
	bool l4;		/* ports found: buf[l3len .. l3len+4) */
};

/*
 * IPv4 (netif.h: Packet[12..19], then the ports). The TCP ports count only
 * outside a fragment (Linux ip_is_fragment: MF or an offset) and inside
 * len; the header length comes from IHL (>= 5, Linux's flow dissector).
 */
static bool in_ipv4(const uint8_t *ip, size_t len, struct hash_in *in)
{
	size_t ihl;

	if (len < 20 || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		return false;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	memcpy(in->buf, ip + 12, 8);
	in->l3len = 8;
	in->l4 = ip[9] == IPPROTO_TCP_ && !(get16(ip + 6) & 0x3fff) && len >= ihl + 4;
	if (in->l4)
		memcpy(in->buf + 8, ip + ihl, 4);
	return true;
}

/*
 * IPv6 (netif.h: Packet[8..39], then the ports), past hop-by-hop (0),
 * routing (43) and destination-options (60) headers, as Linux's flow
 * dissector; a fragment header (44) or anything cut short leaves L3 only.
 * At most IPV6_EXT_MAX extension headers: Linux net/core/flow_dissector.c
 * MAX_FLOW_DISSECT_HDRS (15) headers in all, the IPv6 one counted.
 */
#define IPV6_EXT_MAX 14
static bool in_ipv6(const uint8_t *ip, size_t len, struct hash_in *in)
{
	unsigned nh, hops;
	size_t off = 40;

	if (len < 40 || (ip[0] >> 4) != 6)
		return false;
	memcpy(in->buf, ip + 8, 32);
	in->l3len = 32;
	in->l4 = false;
	nh = ip[6];
	for (hops = 0; hops < IPV6_EXT_MAX && (nh == 0 || nh == 43 || nh == 60); hops++) {
		if (len < off + 2)
			return true;
		nh = ip[off];
		off += ((size_t)ip[off + 1] + 1) * 8;
	}
	if (nh == IPPROTO_TCP_ && len >= off + 4) {
		memcpy(in->buf + 32, ip + off, 4);
		in->l4 = true;
	}
	return true;
}

bool nb_hash_frame(const struct nb_hash *h, const uint8_t *frame, size_t len,
		   uint32_t *ret_hash, uint8_t *ret_type)
{
	uint32_t flags = LOAD(h->flags);
	uint8_t key[NB_HASH_KEY_MAX];
	struct hash_in in;
	unsigned type, l3_type, l4_type;
	size_t off;

	if (LOAD(h->alg) != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ || !eth_l3(frame, len, &off, &type))
		return false;
	if (type == ETH_P_IPV4 &&
	    (flags & (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP))) {
		if (!in_ipv4(frame + off, len - off, &in))
			return false;
		l3_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
		l4_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
	} else if (type == ETH_P_IPV6 &&
		   (flags & (XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP))) {
		if (!in_ipv6(frame + off, len - off, &in))
			return false;
		l3_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
		l4_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
	} else {
		return false;
	}
	load_key(h, key);
	if (in.l4 && (flags & (1u << l4_type))) {
		*ret_hash = nb_toeplitz(key, sizeof(key), in.buf, in.l3len + 4);
		*ret_type = (uint8_t)l4_type;
		return true;
	}
	if (!(flags & (1u << l3_type)))
		return false;
	*ret_hash = nb_toeplitz(key, sizeof(key), in.buf, in.l3len);
	*ret_type = (uint8_t)l3_type;
	return true;
}

unsigned nb_hash_queue(const struct nb_hash *h, uint32_t hash)
{
	uint32_t size = LOAD(h->size);

	if (!size || size > NB_HASH_MAPPING_MAX)
		return 0;
	return LOAD(h->mapping[hash % size]);
}

unsigned nb_hash_select(const struct nb_hash *h, uint32_t hash, unsigned nqueues)
{
	uint32_t size = LOAD(h->size);

	if (!nqueues)
		return 0;
	if (!size || size > NB_HASH_MAPPING_MAX)
		return hash % nqueues;
	return LOAD(h->mapping[hash % size]);
}

/* ---- control messages (the writer) ---- */

/*
 * Copies len bytes from offset 0 of grant ref into dst, in two copies when
 * dst crosses a 4 KiB page: the second starts in the grant where the first
 * stopped (Linux xenvif_set_hash_mapping, copy_op[1].source.offset).
 */
static int copy_in(nb_ctrl_copy_fn copy, void *opaque, grant_ref_t ref, void *dst, unsigned len)
{
	unsigned in_page = (unsigned)((uintptr_t)dst & (NB_XEN_PAGE_SIZE - 1));
	unsigned first = len;
	int r;

	if (in_page + len > NB_XEN_PAGE_SIZE)
		first = NB_XEN_PAGE_SIZE - in_page;
	r = copy(opaque, ref, 0, dst, (uint16_t)first);
	if (r || first == len)
		return r;
	return copy(opaque, ref, (uint16_t)first, (uint8_t *)dst + first, (uint16_t)(len - first));
}

static uint32_t set_alg(struct nb_hash *h, uint32_t alg)
{
	if (alg != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE && alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	STORE(h->alg, alg);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

/* netif.h GET/SET_HASH_FLAGS: "A valid hash algorithm must be selected
 * before this operation can succeed" (Linux: NOT_SUPPORTED / INVALID). */
static uint32_t get_flags(const struct nb_hash *h, uint32_t *data)
{
	if (LOAD(h->alg) == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
		return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	*data = NB_HASH_TYPES_ALL;
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_flags(struct nb_hash *h, uint32_t flags)
{
	if (flags & ~(uint32_t)NB_HASH_TYPES_ALL)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	if (LOAD(h->alg) == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	STORE(h->flags, flags);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

/* netif.h SET_HASH_KEY: octets not given are zero; size 0 clears the key. */
static uint32_t set_key(struct nb_hash *h, grant_ref_t ref, uint32_t len, nb_ctrl_copy_fn copy,
			void *opaque)
{
	if (len > NB_HASH_KEY_MAX)
		return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
	memset(h->stage.key, 0, sizeof(h->stage.key));
	if (len && copy_in(copy, opaque, ref, h->stage.key, len))
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	store_key(h, h->stage.key);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

/* netif.h SET_HASH_MAPPING_SIZE: the new table is all zeroes (queue 0);
 * 0 means modular arithmetic. Linux: > XEN_NETBK_MAX_HASH_MAPPING_SIZE is
 * INVALID_PARAMETER. */
static uint32_t set_mapping_size(struct nb_hash *h, uint32_t size)
{
	uint32_t i;

	if (size > NB_HASH_MAPPING_MAX)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	for (i = 0; i < size; i++)
		STORE(h->mapping[i], 0);
	STORE(h->size, size);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

/*
 * netif.h SET_HASH_MAPPING: len entries from the grant go to [off, off+len)
 * of the table. As Linux: off + len must neither wrap nor pass the size,
 * len must fit the grant page, every entry must be a queue (< nqueues) or
 * nothing is stored, a failed copy is INVALID_PARAMETER.
 */
static uint32_t set_mapping(struct nb_hash *h, unsigned nqueues, grant_ref_t ref, uint32_t len,
			    uint32_t off, nb_ctrl_copy_fn copy, void *opaque)
{
	uint32_t size = LOAD(h->size);
	uint32_t i;

	if (off + len < off || off + len > size || len > NB_XEN_PAGE_SIZE / sizeof(uint32_t))
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	if (!len)
		return XEN_NETIF_CTRL_STATUS_SUCCESS;
	if (copy_in(copy, opaque, ref, &h->stage.mapping[off], len * sizeof(uint32_t)))
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	for (i = off; i < off + len; i++)
		if (h->stage.mapping[i] >= nqueues)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	for (i = off; i < off + len; i++)
		STORE(h->mapping[i], h->stage.mapping[i]);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

void nb_ctrl_handle(struct nb_hash *h, unsigned nqueues, const struct xen_netif_ctrl_request *req,
		    struct xen_netif_ctrl_response *rsp, nb_ctrl_copy_fn copy, void *opaque)
{
	uint32_t status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	uint32_t data = 0;

	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
		status = set_alg(h, req->data[0]);
		break;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
		status = get_flags(h, &data);
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
		status = set_flags(h, req->data[0]);
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
		status = set_key(h, req->data[0], req->data[1], copy, opaque);
		break;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		status = XEN_NETIF_CTRL_STATUS_SUCCESS;
		data = NB_HASH_MAPPING_MAX;
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
		status = set_mapping_size(h, req->data[0]);
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
		status = set_mapping(h, nqueues, req->data[0], req->data[1], req->data[2], copy,
				     opaque);
		break;
	default:
		/* INVALID, the static-grant messages (GET_GREF_MAPPING_SIZE,
		 * ADD/DEL_GREF_MAPPING: no static grants here) and unknown
		 * types: NOT_SUPPORTED, data 0, as Linux. */
		break;
	}
	rsp->id = req->id;
	rsp->type = req->type;
	rsp->status = status;
	rsp->data = data;
}

/* One pass over the requests up to the snapshot `prod`, within budget. */
static unsigned ctrl_pass(xen_netif_ctrl_back_ring_t *r, RING_IDX prod, struct nb_hash *h,
			  unsigned nqueues, nb_ctrl_copy_fn copy, void *opaque, unsigned budget,
			  struct nb_ctrl_journal *j)
{
	unsigned done = 0;

	if (j) {
		j->n = 0;
		NB_JOURNAL_ORDER();
		j->start = r->req_cons;
		NB_JOURNAL_ORDER();
	}
	while (r->req_cons != prod && done < budget && !RING_BACK_CONS_FULL(r, r->req_cons) &&
	       (!j || j->n < NB_CTRL_JOURNAL_SLOTS)) {
		struct xen_netif_ctrl_request req;
		struct xen_netif_ctrl_response rsp;

		RING_COPY_REQUEST(r, r->req_cons, &req);
		r->req_cons++;
		if (j) {
			j->e[j->n].req = req;
			NB_JOURNAL_ORDER();
			j->n++;
			NB_JOURNAL_ORDER();
		}
		nb_ctrl_handle(h, nqueues, &req, &rsp, copy, opaque);
		/* Field by field: only what the response defines reaches the
		 * shared slot. */
		RING_GET_RESPONSE(r, r->rsp_prod_pvt)->id = rsp.id;
		RING_GET_RESPONSE(r, r->rsp_prod_pvt)->type = rsp.type;
		RING_GET_RESPONSE(r, r->rsp_prod_pvt)->status = rsp.status;
		RING_GET_RESPONSE(r, r->rsp_prod_pvt)->data = rsp.data;
		r->rsp_prod_pvt++;
		done++;
	}
	return done;
}

unsigned nb_ctrl_journal_restore(xen_netif_ctrl_back_ring_t *r, const struct nb_ctrl_journal *j)
{
	RING_IDX rsp = r->rsp_prod_pvt;
	unsigned n = nb_journal_slots(j->start, j->n, NB_CTRL_JOURNAL_SLOTS, rsp,
				      RING_READ_ONCE(r->sring->req_prod), RING_SIZE(r));

	for (unsigned i = 0; i < n; i++)
		*RING_GET_REQUEST(r, rsp + i) = j->e[i].req;
	return n;
}

int nb_ctrl_ring_process(xen_netif_ctrl_back_ring_t *r, struct nb_hash *h, unsigned nqueues,
			 nb_ctrl_copy_fn copy, void *opaque, unsigned budget, bool *ret_notify,
			 struct nb_ctrl_journal *j)
{
	unsigned handled = 0;
	RING_IDX prod;
	int more, notify;

	*ret_notify = false;
	for (;;) {
		if (RING_BACK_PENDING(r, &prod) < 0)
			return -EPROTO;
		handled += ctrl_pass(r, prod, h, nqueues, copy, opaque, budget - handled, j);
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r, notify);
		if (notify)
			*ret_notify = true;
		if (handled == budget)
			return (int)handled;
		RING_FINAL_CHECK_FOR_REQUESTS(r, more);
		if (!more)
			return (int)handled;
	}
}

/* ---- the restart blob ---- */

/*
 * Layout, little-endian: "NBHS", version 1, alg, flags, size (u32 each),
 * the key (NB_HASH_KEY_MAX octets), size mapping entries (u32 each), then
 * the CRC-32 (IEEE 802.3) of everything before it.
 */
#define BLOB_MAGIC "NBHS"
#define BLOB_VERSION 1u
#define BLOB_HDR (20u + NB_HASH_KEY_MAX)

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	unsigned b;

	while (n--) {
		crc ^= *p++;
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t nb_hash_export(const struct nb_hash *h, void *buf, size_t n)
{
	uint32_t size = LOAD(h->size);
	uint8_t *p = buf;
	size_t len, i;

	if (size > NB_HASH_MAPPING_MAX)
		size = NB_HASH_MAPPING_MAX;
	len = BLOB_HDR + 4 * (size_t)size + 4;
	if (n < len)
		return len;
	memcpy(p, BLOB_MAGIC, 4);
	put32(p + 4, BLOB_VERSION);
	put32(p + 8, LOAD(h->alg));
	put32(p + 12, LOAD(h->flags));
	put32(p + 16, size);
	load_key(h, p + 20);
	for (i = 0; i < size; i++)
		put32(p + BLOB_HDR + 4 * i, LOAD(h->mapping[i]));
	put32(p + len - 4, crc32_ieee(p, len - 4));
	return len;
}

static int import_checked(struct nb_hash *h, unsigned nqueues, const uint8_t *p, size_t n)
{
	uint32_t alg, flags, size, i;

	if (n < BLOB_HDR + 4 || memcmp(p, BLOB_MAGIC, 4) || get32(p + 4) != BLOB_VERSION)
		return -EBADMSG;
	size = get32(p + 16);
	if (size > NB_HASH_MAPPING_MAX || n != BLOB_HDR + 4 * (size_t)size + 4 ||
	    get32(p + n - 4) != crc32_ieee(p, n - 4))
		return -EBADMSG;
	alg = get32(p + 8);
	flags = get32(p + 12);
	if ((alg != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE && alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ) ||
	    (flags & ~(uint32_t)NB_HASH_TYPES_ALL))
		return -EBADMSG;
	for (i = 0; i < size; i++)
		if (get32(p + BLOB_HDR + 4 * i) >= nqueues)
			return -ERANGE;
	STORE(h->alg, alg);
	STORE(h->flags, flags);
	store_key(h, p + 20);
	for (i = 0; i < size; i++)
		STORE(h->mapping[i], get32(p + BLOB_HDR + 4 * i));
	STORE(h->size, size);
	return 0;
}

int nb_hash_import(struct nb_hash *h, unsigned nqueues, const void *buf, size_t n)
{
	int r;

	nb_hash_init(h);
	r = import_checked(h, nqueues, buf, n);
	if (r)
		nb_hash_init(h);
	return r;
}

/* ---- multicast filter ---- */

#define NB_MCAST_USED (1ull << 48)

static uint64_t mcast_pack(const uint8_t addr[6])
{
	uint64_t v = NB_MCAST_USED;
	unsigned i;

	for (i = 0; i < 6; i++)
		v |= (uint64_t)addr[i] << (8 * i);
	return v;
}

void nb_mcast_init(struct nb_mcast *m)
{
	unsigned i;

	for (i = 0; i < NB_MCAST_MAX; i++)
		STORE(m->entry[i], 0);
	m->count = 0;
}

int nb_mcast_add(struct nb_mcast *m, const uint8_t addr[6])
{
	unsigned i;

	/* IEEE 802: the I/G bit, the first octet's least significant bit. */
	if (!(addr[0] & 1))
		return -EINVAL;
	if (m->count >= NB_MCAST_MAX)
		return -ENOSPC;
	for (i = 0; i < NB_MCAST_MAX; i++) {
		if (!LOAD(m->entry[i])) {
			STORE(m->entry[i], mcast_pack(addr));
			m->count++;
			return 0;
		}
	}
	return -ENOSPC;	/* count out of step with the entries: not reached */
}

void nb_mcast_del(struct nb_mcast *m, const uint8_t addr[6])
{
	uint64_t v = mcast_pack(addr);
	unsigned i;

	for (i = 0; i < NB_MCAST_MAX; i++) {
		if (LOAD(m->entry[i]) == v) {
			STORE(m->entry[i], 0);
			m->count--;
			return;
		}
	}
}

bool nb_mcast_match(const struct nb_mcast *m, const uint8_t addr[6])
{
	uint64_t v = mcast_pack(addr);
	unsigned i;

	for (i = 0; i < NB_MCAST_MAX; i++)
		if (LOAD(m->entry[i]) == v)
			return true;
	return false;
}

/* ---- state kept across a restart (vif.h nb_vif_persist) ---- */

int nb_hash_restore(struct nb_hash *h, unsigned nqueues)
{
	unsigned i;

	if (LOAD(h->alg) > XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ ||
	    (LOAD(h->flags) & ~(uint32_t)NB_HASH_TYPES_ALL) ||
	    LOAD(h->size) > NB_HASH_MAPPING_MAX)
		return -EBADMSG;
	for (i = 0; i < NB_HASH_MAPPING_MAX; i++)
		if (LOAD(h->mapping[i]) >= (nqueues ? nqueues : 1))
			return -EBADMSG;
	return 0;
}

int nb_mcast_restore(struct nb_mcast *m)
{
	unsigned i, n = 0;

	for (i = 0; i < NB_MCAST_MAX; i++) {
		uint64_t v = LOAD(m->entry[i]);

		if (v && (v >> 48) != 1)
			return -EBADMSG;
		n += v != 0;
	}
	m->count = n;
	return 0;
}
