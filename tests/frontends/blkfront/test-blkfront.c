// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkfront's pure parts (TAP, suite 'unit'): the request
 * layouts of the three ABIs against independent struct definitions shaped
 * like QEMU hw/block/xen_blkif.h, ring sizes per order, the notify hold-off
 * of xen/io/ring.h, the checks on what a backend puts in the ring, the
 * sector stamps and the latency histogram. Single-threaded, no Xen needed;
 * TAP through tests/unit/common/tap.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "blkfront.h"
#include "load.h"
#include "tap.h"

/* The two layouts, written out independently of ring.c. */
#pragma pack(push, 4)
struct x32_req {
	uint8_t op, nseg;
	uint16_t handle;
	uint64_t id, sector;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
#pragma pack(pop)

struct x64_req {
	uint8_t op, nseg;
	uint16_t handle;
	uint64_t __attribute__((aligned(8))) id;
	uint64_t sector;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

static uint8_t ring_mem[XEN_PAGE_SIZE << BF_MAX_RING_ORDER] __attribute__((aligned(4096)));

static void check_rw(enum bf_abi_kind k, size_t off_id, size_t off_sector, size_t off_seg,
		     size_t size)
{
	struct bf_ring r;
	struct bf_seg s[2] = { { .gref = 77, .first = 1, .last = 6 }, { .gref = 88, .last = 7 } };
	struct blkif_request_segment seg;
	uint64_t id, sector;
	uint16_t handle;
	uint8_t *slot;

	bf_ring_init(&r, ring_mem, 0, bf_abi_get(k));
	CHECK(r.abi->slot_size == size);
	slot = bf_ring_put_rw(&r, BLKIF_OP_WRITE, 2, 51712, 0x1122334455667788ull, 4242, s, 2);
	memcpy(&id, slot + off_id, 8);
	memcpy(&sector, slot + off_sector, 8);
	memcpy(&handle, slot + 2, 2);
	memcpy(&seg, slot + off_seg + sizeof(seg), sizeof(seg));
	CHECK(slot[0] == BLKIF_OP_WRITE && slot[1] == 2 && handle == 51712);
	CHECK(id == 0x1122334455667788ull && sector == 4242);
	CHECK(seg.gref == 88 && seg.first_sect == 0 && seg.last_sect == 7);
	CHECK(r.req_prod_pvt == 1);
}

static void t_abi_rw(void)
{
	check_rw(BF_ABI_X86_32, offsetof(struct x32_req, id), offsetof(struct x32_req, sector),
		 offsetof(struct x32_req, seg), 108);
	check_rw(BF_ABI_X86_64, offsetof(struct x64_req, id), offsetof(struct x64_req, sector),
		 offsetof(struct x64_req, seg), 112);
	check_rw(BF_ABI_NATIVE, offsetof(struct blkif_request, id),
		 offsetof(struct blkif_request, sector_number), offsetof(struct blkif_request, seg),
		 sizeof(union blkif_sring_entry));
	CHECK(!strcmp(bf_abi_get(BF_ABI_X86_32)->protocol, "x86_32-abi"));
	CHECK(!strcmp(bf_abi_get(BF_ABI_X86_64)->protocol, "x86_64-abi"));
}

/* Indirect layouts: Linux drivers/block/xen-blkback/common.h blkif_x86_{32,64}_request_indirect. */
static void check_indirect(enum bf_abi_kind k, size_t off_id, size_t off_handle, size_t off_grefs)
{
	struct bf_ring r;
	grant_ref_t irefs[2] = { 11, 12 }, g;
	uint16_t nseg, handle;
	uint64_t id;
	uint8_t *slot;

	bf_ring_init(&r, ring_mem, 0, bf_abi_get(k));
	slot = bf_ring_put_indirect(&r, BLKIF_OP_READ, 300, 5, 99, 8, irefs, 2);
	memcpy(&nseg, slot + 2, 2);
	memcpy(&id, slot + off_id, 8);
	memcpy(&handle, slot + off_handle, 2);
	memcpy(&g, slot + off_grefs + 4, 4);
	CHECK(slot[0] == BLKIF_OP_INDIRECT && slot[1] == BLKIF_OP_READ && nseg == 300);
	CHECK(id == 99 && handle == 5 && g == 12);
}

static void t_abi_indirect(void)
{
	check_indirect(BF_ABI_X86_32, 4, 20, 24);
	check_indirect(BF_ABI_X86_64, 8, 24, 28);
	check_indirect(BF_ABI_NATIVE, offsetof(struct blkif_request_indirect, id),
		       offsetof(struct blkif_request_indirect, handle),
		       offsetof(struct blkif_request_indirect, indirect_grefs));
}

static void t_ring_size(void)
{
	struct bf_ring r;

	/* 32 slots per page, whichever ABI (the indirect-descriptors blog, blkif.h). */
	for (unsigned o = 0; o <= BF_MAX_RING_ORDER; o++) {
		bf_ring_init(&r, ring_mem, o, bf_abi_get(BF_ABI_X86_32));
		CHECK(r.nr_ents == 32u << o);
		bf_ring_init(&r, ring_mem, o, bf_abi_get(BF_ABI_X86_64));
		CHECK(r.nr_ents == 32u << o);
		CHECK(bf_ring_free(&r) == r.nr_ents);
	}
}

static RING_IDX *idx(unsigned off)
{
	return (RING_IDX *)(ring_mem + off);
}

static void t_ring_notify(void)
{
	struct bf_ring r;

	bf_ring_init(&r, ring_mem, 0, bf_abi_get(BF_ABI_NATIVE));
	bf_ring_put_rw(&r, BLKIF_OP_READ, 0, 0, 1, 0, NULL, 0);
	CHECK(bf_ring_push(&r));		/* req_event starts at 1 */
	CHECK(*idx(0) == 1);
	*idx(4) = 5;				/* the backend wants a kick at 5 */
	bf_ring_put_rw(&r, BLKIF_OP_READ, 0, 0, 2, 0, NULL, 0);
	CHECK(!bf_ring_push(&r));
	for (int i = 0; i < 3; i++)
		bf_ring_put_rw(&r, BLKIF_OP_READ, 0, 0, 3, 0, NULL, 0);
	CHECK(bf_ring_push(&r));		/* crossed 5 */
	CHECK(bf_ring_free(&r) == 32 - 5);
}

static void put_rsp(unsigned slot_idx, uint64_t id, int16_t st)
{
	struct bf_ring r = { .mem = ring_mem, .nr_ents = 32, .abi = bf_abi_get(BF_ABI_NATIVE) };
	uint8_t *s = bf_ring_slot(&r, slot_idx);

	memcpy(s, &id, 8);
	s[8] = BLKIF_OP_READ;
	memcpy(s + 10, &st, 2);
}

static void t_ring_responses(void)
{
	struct bf_ring r;
	struct bf_rsp rsp;

	bf_ring_init(&r, ring_mem, 0, bf_abi_get(BF_ABI_NATIVE));
	CHECK(bf_ring_get_rsp(&r, &rsp) == 0);
	bf_ring_put_rw(&r, BLKIF_OP_READ, 0, 0, 1, 0, NULL, 0);
	bf_ring_put_rw(&r, BLKIF_OP_READ, 0, 0, 2, 0, NULL, 0);
	bf_ring_push(&r);
	put_rsp(0, 1, BLKIF_RSP_ERROR);
	*idx(8) = 1;
	CHECK(bf_ring_has_rsp(&r));
	CHECK(bf_ring_get_rsp(&r, &rsp) == 1 && rsp.id == 1 && rsp.status == BLKIF_RSP_ERROR);
	CHECK(bf_ring_get_rsp(&r, &rsp) == 0);
	CHECK(!bf_ring_final_check(&r) && *idx(12) == 2);
	/* A backend claiming three answers to two requests breaks the ring. */
	*idx(8) = 3;
	CHECK(bf_ring_get_rsp(&r, &rsp) == -EPROTO);
	*idx(8) = 2;
	put_rsp(1, 2, BLKIF_RSP_OKAY);
	CHECK(bf_ring_get_rsp(&r, &rsp) == 1 && rsp.id == 2 && rsp.status == 0);
}

static void t_stamp(void)
{
	static uint8_t buf[8192];

	bf_stamp(buf, sizeof(buf), 65536, 7, 1);
	CHECK(bf_stamp_check(buf, sizeof(buf), 65536, 7) == 0);
	CHECK(bf_stamp_check(buf, sizeof(buf), 65536, 0) == 0);
	CHECK(bf_stamp_check(buf, sizeof(buf), 65536, 8) == -EILSEQ);
	CHECK(bf_stamp_check(buf, sizeof(buf), 65536 + 512, 7) == -EILSEQ);
	buf[5000] ^= 1;
	CHECK(bf_stamp_check(buf, sizeof(buf), 65536, 7) == -EILSEQ);
	memset(buf, 0, sizeof(buf));
	CHECK(bf_is_zero(buf, sizeof(buf)) && bf_stamp_check(buf, 512, 0, 0) == -EILSEQ);
}

static void t_hist(void)
{
	static struct bf_hist h;
	uint64_t p50, p99;

	/* 1..100000 ns, uniform: p50 ~ 50 us, p99 ~ 99 us, within the 3 % buckets. */
	for (uint64_t v = 1; v <= 100000; v++)
		bf_hist_add(&h, v);
	p50 = bf_hist_pct(&h, 50);
	p99 = bf_hist_pct(&h, 99);
	CHECK(p50 > 48500 && p50 < 51500);
	CHECK(p99 > 96000 && p99 < 102000);
	CHECK(h.max_ns == 100000 && bf_hist_pct(&h, 100) <= 100000);
	CHECK(h.count == 100000);
}

int main(void)
{
	tap_run("/blkfront/abi/rw-layouts", t_abi_rw);
	tap_run("/blkfront/abi/indirect-layouts", t_abi_indirect);
	tap_run("/blkfront/ring/size-per-order", t_ring_size);
	tap_run("/blkfront/ring/notify-hold-off", t_ring_notify);
	tap_run("/blkfront/ring/backend-responses", t_ring_responses);
	tap_run("/blkfront/stamp/round-trip", t_stamp);
	tap_run("/blkfront/hist/percentiles", t_hist);
	return tap_done();
}
