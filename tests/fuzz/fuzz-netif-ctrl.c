// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for netbackd's guest-controlled steering state
 * (netbackd/ctrl.c): control requests, the control ring, the multicast
 * filter, frame hashing and the restart blob. Input layout:
 *   byte 0      nqueues - 1 (mod 16)
 *   byte 1      bit 0: feed the requests through the ring; bit 1: then
 *               with a req_prod taken from the input (hostile producer);
 *               bits 2..7: the ring budget
 *   byte 2      where the struct sits against a 4 KiB page (so that the
 *               staged table crosses a page at different entries)
 *   bytes 3..   the guest's grant page, 512 bytes (rest zero)
 *   the rest    records of 16 bytes: a request (id, type, data[3]) whose
 *               type byte's top bit makes it a multicast add/delete of the
 *               data's first 6 bytes instead, and copy failures from the
 *               id's low bits in the direct mode
 * After every step the target checks what readers rely on and traps when
 * it breaks: size <= NB_HASH_MAPPING_MAX, every entry < nqueues, a known
 * algorithm, known flags, queue selection < nqueues, every response a
 * known status echoing id and type, at most NB_MCAST_MAX multicast entries.
 * At the end: the grant page hashed as a frame (exact-size heap copy, so
 * an over-read is an ASan report), and the restart blob round trip plus a
 * corrupted copy that must be refused.
 *
 * Built with -Dfuzzing=true (clang, -fsanitize=fuzzer); the same file is
 * linked with replay.c into a plain program that replays the corpus in the
 * normal test suite.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GRANT_IN 512

static uint8_t grant[4096];
static unsigned fail_mask;	/* bit i: fail copy call i of this request */
static unsigned ncalls;

static void promise(int cond)
{
	if (!cond)
		__builtin_trap();
}

static int copy(void *opaque, grant_ref_t ref, uint16_t offset, void *dst, uint16_t len)
{
	(void)opaque;
	promise((unsigned)offset + len <= 4096);
	promise(len == 0 || ((uintptr_t)dst & 4095) + len <= 4096);
	if (fail_mask & (1u << (ncalls++ & 7)))
		return -EIO;
	if (ref & 0x100)
		return -EINVAL;	/* an unknown grant */
	memcpy(dst, grant + offset, len);
	return 0;
}

static void check_state(const struct nb_hash *h, unsigned nq, const struct nb_mcast *m)
{
	uint32_t alg = atomic_load(&h->alg), size = atomic_load(&h->size);
	unsigned i;

	promise(alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE || alg == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
	promise(!(atomic_load(&h->flags) & ~(uint32_t)NB_HASH_TYPES_ALL));
	promise(size <= NB_HASH_MAPPING_MAX);
	for (i = 0; i < NB_HASH_MAPPING_MAX; i++)
		promise(atomic_load(&h->mapping[i]) < nq);
	promise(nb_hash_select(h, 0xdeadbeef, nq) < nq);
	promise(nb_hash_queue(h, 12345) < nq);
	promise(m->count <= NB_MCAST_MAX);
}

static void check_rsp(const struct xen_netif_ctrl_request *q, const struct xen_netif_ctrl_response *r)
{
	promise(r->id == q->id && r->type == q->type);
	promise(r->status <= XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
	if (r->status != XEN_NETIF_CTRL_STATUS_SUCCESS)
		promise(r->data == 0);
}

static void get_req(const uint8_t *p, struct xen_netif_ctrl_request *q)
{
	memcpy(&q->id, p, 2);
	q->type = p[2] & 0x7f ? p[2] & 0x7f : p[3];
	memcpy(q->data, p + 4, 12);
}

static void mcast_op(struct nb_mcast *m, const uint8_t *p)
{
	const uint8_t *addr = p + 4;

	if (p[3] & 1) {
		nb_mcast_del(m, addr);
		return;
	}
	if (nb_mcast_add(m, addr) == 0)
		promise(nb_mcast_match(m, addr));
}

static void run_direct(struct nb_hash *h, unsigned nq, struct nb_mcast *m, const uint8_t *p,
		       size_t nrec)
{
	size_t i;

	for (i = 0; i < nrec; i++, p += 16) {
		struct xen_netif_ctrl_request q;
		struct xen_netif_ctrl_response r;

		if (p[2] & 0x80) {
			mcast_op(m, p);
		} else {
			get_req(p, &q);
			fail_mask = p[0] & 3;
			ncalls = 0;
			nb_ctrl_handle(h, nq, &q, &r, copy, NULL);
			check_rsp(&q, &r);
		}
		check_state(h, nq, m);
	}
}

static void run_ring(struct nb_hash *h, unsigned nq, const uint8_t *p, size_t nrec, uint8_t mode,
		     const uint8_t *prod_bytes)
{
	static union {
		struct xen_netif_ctrl_sring s;
		uint8_t page[4096];
	} pg __attribute__((aligned(4096)));
	xen_netif_ctrl_back_ring_t back;
	unsigned budget = (mode >> 2) + 1, i;
	RING_IDX start;
	bool notify;
	int n;

	SHARED_RING_INIT(&pg.s);
	BACK_RING_INIT(&back, &pg.s, 4096);
	/* Start anywhere, so that index wrap-around is reached. */
	memcpy(&start, prod_bytes + 4, sizeof(start));
	back.req_cons = back.rsp_prod_pvt = pg.s.rsp_prod = start;
	if (nrec > RING_SIZE(&back))
		nrec = RING_SIZE(&back);
	for (i = 0; i < nrec; i++)
		get_req(p + 16 * i, RING_GET_REQUEST(&back, start + i));
	pg.s.req_prod = start + (RING_IDX)nrec;
	if (mode & 2)
		memcpy(&pg.s.req_prod, prod_bytes, sizeof(pg.s.req_prod));
	fail_mask = 0;
	n = nb_ctrl_ring_process(&back, h, nq, copy, NULL, budget, &notify, NULL);
	promise(n == -EPROTO || (n >= 0 && (unsigned)n <= budget));
	promise(back.rsp_prod_pvt == back.req_cons && pg.s.rsp_prod == back.rsp_prod_pvt);
	promise((RING_IDX)(back.req_cons - start) <= RING_SIZE(&back));
	if (n >= 0)
		promise(back.req_cons - start == (RING_IDX)n);
}

static void check_blob(const struct nb_hash *h, unsigned nq)
{
	static uint8_t blob[1024];
	static struct nb_hash b;
	size_t n = nb_hash_export(h, blob, sizeof(blob));
	unsigned i;

	promise(n <= sizeof(blob));
	promise(nb_hash_import(&b, nq, blob, n) == 0);
	promise(atomic_load(&b.alg) == atomic_load(&h->alg));
	promise(atomic_load(&b.flags) == atomic_load(&h->flags));
	promise(atomic_load(&b.size) == atomic_load(&h->size));
	for (i = 0; i < NB_HASH_KEY_MAX / 4; i++)
		promise(atomic_load(&b.key[i]) == atomic_load(&h->key[i]));
	for (i = 0; i < atomic_load(&h->size); i++)
		promise(atomic_load(&b.mapping[i]) == atomic_load(&h->mapping[i]));
	blob[n / 2] ^= 0x10;
	promise(nb_hash_import(&b, nq, blob, n) == -EBADMSG);
	promise(atomic_load(&b.size) == 0 && atomic_load(&b.alg) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[3 * 4096] __attribute__((aligned(4096)));
	static struct nb_mcast m;
	struct nb_hash *h;
	unsigned nq, place;
	size_t stage_off = offsetof(struct nb_hash, stage), glen, nrec;
	uint32_t hash;
	uint8_t type, *frame;

	if (size < 3 + 8)
		return 0;
	nq = 1 + data[0] % 16;
	/* stage.mapping[0] from 0 to 516 bytes before a page boundary. */
	place = 4u * (data[2] % 130);
	h = (struct nb_hash *)(void *)(mem + 8192 - place - stage_off);
	nb_hash_init(h);
	nb_mcast_init(&m);
	memset(grant, 0, sizeof(grant));
	glen = size - 3 < GRANT_IN ? size - 3 : GRANT_IN;
	memcpy(grant, data + 3, glen);
	nrec = size > 3 + GRANT_IN ? (size - 3 - GRANT_IN) / 16 : 0;
	if (data[1] & 1)
		run_ring(h, nq, data + 3 + GRANT_IN, nrec, data[1], data + 3);
	else
		run_direct(h, nq, &m, data + 3 + GRANT_IN, nrec);
	check_state(h, nq, &m);

	frame = malloc(glen ? glen : 1);
	if (frame) {
		memcpy(frame, grant, glen);
		nb_hash_frame(h, frame, glen, &hash, &type);
		free(frame);
	}
	check_blob(h, nq);
	return 0;
}
