// SPDX-License-Identifier: GPL-2.0-only
/*
 * netfront's control-ring client (netif.h "Control ring"): programs the
 * backend's Toeplitz hashing so that every hashed packet goes to one queue
 * (--hash-queue Q), one request at a time, and records each answer. With Q
 * not below the number of queues the mapping is out of bounds: a correct
 * backend answers SET_HASH_MAPPING with INVALID_PARAMETER and keeps its old
 * table (Linux hash.c xenvif_set_hash_mapping; the XSA-270 class).
 *
 * Main thread, after the handshake and before the data path starts. A
 * response is waited for by polling the ring for at most the run's timeout:
 * a backend that never answers fails the run, it does not hang it.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "netfront.h"

/* The standard 40-byte RSS key (Microsoft's RSS verification suite). */
const uint8_t nf_rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Mapping table entries programmed (Linux's XEN_NETBK_MAX_HASH_MAPPING_SIZE). */
#define MAPPING 128

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends one request and waits for its response; the status, or -errno. */
static int call(struct nf_dev *d, xen_netif_ctrl_front_ring_t *r, uint16_t type, uint32_t a,
		uint32_t b, uint32_t c, uint32_t *ret_data)
{
	struct xen_netif_ctrl_request *req = RING_GET_REQUEST(r, r->req_prod_pvt);
	uint64_t deadline = mono_ms() + (uint64_t)d->o.timeout_s * 1000;
	static uint16_t id;
	int notify;

	req->id = ++id;
	req->type = type;
	req->data[0] = a;
	req->data[1] = b;
	req->data[2] = c;
	r->req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, notify);
	if (notify)
		d->ops->evtchn_notify(d->ctrl_evtchn, (evtchn_port_t)d->ctrl_port);
	for (;;) {
		RING_IDX prod;
		int n = RING_FRONT_PENDING(r, &prod);
		struct timespec ms = { .tv_nsec = 1000000 };

		if (n < 0)
			return -EPROTO;
		if (n > 0) {
			struct xen_netif_ctrl_response rsp;

			memcpy(&rsp, RING_GET_RESPONSE(r, r->rsp_cons), sizeof(rsp));
			r->rsp_cons++;
			if (rsp.id != id || rsp.type != type)
				return -EPROTO;
			if (ret_data)
				*ret_data = rsp.data;
			return (int)rsp.status;
		}
		if (mono_ms() > deadline)
			return -ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
}

int nf_ctrl_hash(struct nf_dev *d, unsigned queue, struct nf_ctrl_result *res)
{
	xen_netif_ctrl_front_ring_t r;
	grant_ref_t ref;
	uint32_t *page, data = 0;
	int st;

	memset(res, 0, sizeof(*res));
	if (!d->ctrl_ring)
		return -EOPNOTSUPP;
	/* The ring was SHARED_RING_INIT'ed at the handshake; nothing used it. */
	FRONT_RING_ATTACH(&r, (xen_netif_ctrl_sring_t *)d->ctrl_sring, 0, XEN_PAGE_SIZE);
	st = d->ops->gntshr_share(d->ctrl_gntshr, d->backend_id, 1, 0, &ref, (void **)&page);
	if (st < 0)
		return st;
#define STEP(name, ...)                                                        \
	do {                                                                   \
		st = call(d, &r, __VA_ARGS__);                                 \
		res->status[res->n] = st;                                      \
		snprintf(res->step[res->n], sizeof(res->step[0]), "%s", name); \
		res->n++;                                                      \
		if (st < 0)                                                    \
			goto out;                                              \
	} while (0)
	STEP("set-algorithm", XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
	     XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, NULL);
	STEP("get-flags", XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data);
	res->flags_offered = data;
	STEP("set-flags", XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
	     data & (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP), 0, 0,
	     NULL);
	memcpy(page, nf_rss_key, sizeof(nf_rss_key));
	STEP("set-key", XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, ref, sizeof(nf_rss_key), 0, NULL);
	STEP("get-mapping-size", XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data);
	res->mapping_max = data;
	STEP("set-mapping-size", XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, MAPPING, 0, 0, NULL);
	for (unsigned i = 0; i < MAPPING; i++)
		page[i] = queue;
	/* netif.h: data[1] = entries, data[2] = offset in entries. */
	STEP("set-mapping", XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, ref, MAPPING, 0, NULL);
	st = 0;
out:
#undef STEP
	d->ops->gntshr_unshare(d->ctrl_gntshr, page, 1);
	return st < 0 ? st : 0;
}

/* ---- checking the backend's hash extras ---- */

uint32_t nf_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in, size_t n)
{
	uint32_t r = 0;

	/* Each set input bit i adds key bits i .. i+31 (MSB first). */
	for (size_t i = 0; i < n * 8; i++) {
		uint32_t win = 0;

		if (!(in[i / 8] & (0x80u >> (i % 8))))
			continue;
		for (size_t b = 0; b < 32; b++) {
			size_t k = i + b;

			if (k / 8 < keylen && (key[k / 8] & (0x80u >> (k % 8))))
				win |= 0x80000000u >> b;
		}
		r ^= win;
	}
	return r;
}

bool nf_hash_check(const uint8_t *key, size_t keylen, const uint8_t *f, size_t len,
		   uint8_t type, uint32_t value)
{
	uint8_t in[36];
	size_t l3 = 14, n;
	uint16_t et;

	if (len < l3)
		return false;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x8100 || et == 0x88a8) {
		if (len < 18)
			return false;
		et = (uint16_t)(f[16] << 8 | f[17]);
		l3 = 18;
	}
	if (et == 0x0800 && (type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4 ||
			     type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP)) {
		size_t ihl;

		if (len < l3 + 20)
			return false;
		ihl = (size_t)(f[l3] & 0xf) * 4;
		memcpy(in, f + l3 + 12, 8);		/* source, destination */
		n = 8;
		if (type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP) {
			/* TCP, not a fragment (more-fragments or an offset). */
			if (f[l3 + 9] != 6 || ((f[l3 + 6] & 0x3f) | f[l3 + 7]) ||
			    len < l3 + ihl + 4)
				return false;
			memcpy(in + 8, f + l3 + ihl, 4);	/* ports */
			n = 12;
		}
	} else if (et == 0x86dd && (type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6 ||
				    type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)) {
		if (len < l3 + 40)
			return false;
		memcpy(in, f + l3 + 8, 32);
		n = 32;
		if (type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP) {
			/* Without extension headers only: our test traffic has none. */
			if (f[l3 + 6] != 6 || len < l3 + 44)
				return false;
			memcpy(in + 32, f + l3 + 40, 4);
			n = 36;
		}
	} else {
		return false;
	}
	return nf_toeplitz(key, keylen, in, n) == value;
}
