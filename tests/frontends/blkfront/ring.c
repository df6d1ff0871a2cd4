// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkfront ring layer: lays blkif requests out in the shared ring in the
 * native, x86_32 or x86_64 ABI, publishes them with the barriers of
 * xen/io/ring.h, and takes responses off the ring after checking that the
 * backend did not answer more than was asked.
 *
 * Called by whichever thread owns the queue (a worker, or the main thread
 * between workloads). Never blocks, never allocates. Slots are written with
 * memcpy because x86_32 slots put 64-bit fields on 4-byte boundaries.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <xen/io/protocols.h>

#include "blkfront.h"

/*
 * Offsets of the x86_32 and x86_64 layouts (Linux
 * drivers/block/xen-blkback/common.h, QEMU hw/block/xen_blkif.h): x86_32 puts
 * `id` at 4 and packs the slot to 108 bytes, x86_64 aligns `id` to 8 and uses
 * 112 bytes.
 */
static const struct bf_abi abi_x86_32 = {
	.name = "x86_32", .protocol = XEN_IO_PROTO_ABI_X86_32, .slot_size = 108,
	.rw_id = 4, .rw_sector = 12, .rw_seg = 20, .dis_nr = 20,
	.ind_nseg = 2, .ind_id = 4, .ind_sector = 12, .ind_handle = 20, .ind_grefs = 24,
};

static const struct bf_abi abi_x86_64 = {
	.name = "x86_64", .protocol = XEN_IO_PROTO_ABI_X86_64, .slot_size = 112,
	.rw_id = 8, .rw_sector = 16, .rw_seg = 24, .dis_nr = 24,
	.ind_nseg = 2, .ind_id = 8, .ind_sector = 16, .ind_handle = 24, .ind_grefs = 28,
};

/* The native layout is the compiler's struct blkif_request. */
static const struct bf_abi abi_native = {
	.name = "native", .protocol = XEN_IO_PROTO_ABI_NATIVE,
	.slot_size = sizeof(union blkif_sring_entry),
	.rw_id = offsetof(struct blkif_request, id),
	.rw_sector = offsetof(struct blkif_request, sector_number),
	.rw_seg = offsetof(struct blkif_request, seg),
	.dis_nr = offsetof(struct blkif_request_discard, nr_sectors),
	.ind_nseg = offsetof(struct blkif_request_indirect, nr_segments),
	.ind_id = offsetof(struct blkif_request_indirect, id),
	.ind_sector = offsetof(struct blkif_request_indirect, sector_number),
	.ind_handle = offsetof(struct blkif_request_indirect, handle),
	.ind_grefs = offsetof(struct blkif_request_indirect, indirect_grefs),
};

_Static_assert(sizeof(struct blkif_request_segment) == 8, "segment layout");
_Static_assert(offsetof(struct blkif_response, status) == 10, "response layout");

const struct bf_abi *bf_abi_get(enum bf_abi_kind k)
{
	switch (k) {
	case BF_ABI_X86_32:
		return &abi_x86_32;
	case BF_ABI_X86_64:
		return &abi_x86_64;
	default:
		return &abi_native;
	}
}

/* The shared header of xen/io/ring.h: four indices, then padding to 64. */
#define SR_REQ_PROD 0
#define SR_REQ_EVENT 4
#define SR_RSP_PROD 8
#define SR_RSP_EVENT 12
#define SR_HEADER 64

static RING_IDX *sr_idx(struct bf_ring *r, unsigned off)
{
	return (RING_IDX *)(r->mem + off);
}

void bf_ring_init(struct bf_ring *r, void *mem, unsigned order, const struct bf_abi *abi)
{
	unsigned n = ((XEN_PAGE_SIZE << order) - SR_HEADER) / abi->slot_size;

	r->mem = mem;
	r->abi = abi;
	/* Round down to a power of two, as __RD32 in xen/io/ring.h does. */
	r->nr_ents = 1;
	while (r->nr_ents * 2 <= n)
		r->nr_ents *= 2;
	memset(mem, 0, SR_HEADER);
	*sr_idx(r, SR_REQ_EVENT) = 1;
	*sr_idx(r, SR_RSP_EVENT) = 1;
	r->req_prod_pvt = 0;
	r->rsp_cons = 0;
}

unsigned bf_ring_free(const struct bf_ring *r)
{
	return r->nr_ents - (r->req_prod_pvt - r->rsp_cons);
}

uint8_t *bf_ring_slot(struct bf_ring *r, RING_IDX i)
{
	return r->mem + SR_HEADER + (size_t)(i & (r->nr_ents - 1)) * r->abi->slot_size;
}

static void put(uint8_t *slot, unsigned off, const void *v, size_t n)
{
	memcpy(slot + off, v, n);
}

static void put_segs(uint8_t *dst, const struct bf_seg *segs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct blkif_request_segment s = {
			.gref = segs[i].gref,
			.first_sect = segs[i].first,
			.last_sect = segs[i].last,
		};
		memcpy(dst + i * sizeof(s), &s, sizeof(s));
	}
}

uint8_t *bf_ring_put_rw(struct bf_ring *r, uint8_t op, uint8_t nseg, uint16_t handle,
			uint64_t id, uint64_t sector, const struct bf_seg *segs, unsigned nsegs_laid)
{
	uint8_t *s = bf_ring_slot(r, r->req_prod_pvt++);

	if (nsegs_laid > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		nsegs_laid = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	memset(s, 0, r->abi->slot_size);
	s[0] = op;
	s[1] = nseg;
	put(s, 2, &handle, 2);
	put(s, r->abi->rw_id, &id, 8);
	put(s, r->abi->rw_sector, &sector, 8);
	put_segs(s + r->abi->rw_seg, segs, nsegs_laid);
	return s;
}

uint8_t *bf_ring_put_indirect(struct bf_ring *r, uint8_t op, uint16_t nseg, uint16_t handle,
			      uint64_t id, uint64_t sector, const grant_ref_t *irefs,
			      unsigned nirefs)
{
	uint8_t *s = bf_ring_slot(r, r->req_prod_pvt++);

	if (nirefs > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
		nirefs = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
	memset(s, 0, r->abi->slot_size);
	s[0] = BLKIF_OP_INDIRECT;
	s[1] = op;
	put(s, r->abi->ind_nseg, &nseg, 2);
	put(s, r->abi->ind_id, &id, 8);
	put(s, r->abi->ind_sector, &sector, 8);
	put(s, r->abi->ind_handle, &handle, 2);
	put(s, r->abi->ind_grefs, irefs, nirefs * sizeof(grant_ref_t));
	return s;
}

uint8_t *bf_ring_put_discard(struct bf_ring *r, uint8_t flag, uint16_t handle, uint64_t id,
			     uint64_t sector, uint64_t nr_sectors)
{
	uint8_t *s = bf_ring_slot(r, r->req_prod_pvt++);

	memset(s, 0, r->abi->slot_size);
	s[0] = BLKIF_OP_DISCARD;
	s[1] = flag;
	put(s, 2, &handle, 2);
	put(s, r->abi->rw_id, &id, 8);
	put(s, r->abi->rw_sector, &sector, 8);
	put(s, r->abi->dis_nr, &nr_sectors, 8);
	return s;
}

void bf_ind_put_seg(uint8_t *page, unsigned i, const struct bf_seg *s)
{
	put_segs(page + i * sizeof(struct blkif_request_segment), s, 1);
}

bool bf_ring_push(struct bf_ring *r)
{
	RING_IDX old = __atomic_load_n(sr_idx(r, SR_REQ_PROD), __ATOMIC_RELAXED);
	RING_IDX new = r->req_prod_pvt;
	RING_IDX ev;

	/* The backend sees the requests before the new producer index. */
	__atomic_store_n(sr_idx(r, SR_REQ_PROD), new, __ATOMIC_RELEASE);
	/* The producer index is visible before we look at req_event. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ev = __atomic_load_n(sr_idx(r, SR_REQ_EVENT), __ATOMIC_RELAXED);
	return (RING_IDX)(new - ev) < (RING_IDX)(new - old);
}

void bf_ring_set_req_prod(struct bf_ring *r, RING_IDX v)
{
	__atomic_store_n(sr_idx(r, SR_REQ_PROD), v, __ATOMIC_RELEASE);
}

int bf_ring_get_rsp(struct bf_ring *r, struct bf_rsp *ret)
{
	/* rsp_prod is read before the responses it covers. */
	RING_IDX prod = __atomic_load_n(sr_idx(r, SR_RSP_PROD), __ATOMIC_ACQUIRE);
	const uint8_t *s;

	if (prod == r->rsp_cons)
		return 0;
	/* A backend may not answer requests we did not post (RING_RESPONSE_PROD_OVERFLOW). */
	if ((RING_IDX)(prod - r->rsp_cons) > (RING_IDX)(r->req_prod_pvt - r->rsp_cons))
		return -EPROTO;
	s = bf_ring_slot(r, r->rsp_cons++);
	/* One copy of each field: the backend may change the slot under us. */
	memcpy(&ret->id, s, 8);
	ret->op = s[8];
	memcpy(&ret->status, s + 10, 2);
	return 1;
}

bool bf_ring_has_rsp(struct bf_ring *r)
{
	return __atomic_load_n(sr_idx(r, SR_RSP_PROD), __ATOMIC_ACQUIRE) != r->rsp_cons;
}

bool bf_ring_final_check(struct bf_ring *r)
{
	RING_IDX prod;

	__atomic_store_n(sr_idx(r, SR_RSP_EVENT), r->rsp_cons + 1, __ATOMIC_RELAXED);
	/* rsp_event is visible before we look at rsp_prod again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	prod = __atomic_load_n(sr_idx(r, SR_RSP_PROD), __ATOMIC_ACQUIRE);
	return prod != r->rsp_cons;
}
