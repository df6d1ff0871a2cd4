// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of blkbackd/proto.c: request copy and conversion for the
 * native, x86_32 and x86_64 layouts (the 32/64-bit layouts are built here
 * independently, from blkif.h's structs under #pragma pack as the two
 * compilers lay them out), every validation rule accepted and rejected,
 * and response writing that leaves the slot's padding alone.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <xen/io/protocols.h>

#include "../common/tap.h"
#include "proto.h"

/* The i386 layout: 64-bit fields 4-byte aligned. */
#pragma pack(push, 4)
struct req32 {
	uint8_t operation, nr_segments;
	uint16_t handle;
	uint64_t id, sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct disc32 {
	uint8_t operation, flag;
	uint16_t handle;
	uint64_t id, sector_number, nr_sectors;
};
struct ind32 {
	uint8_t operation, indirect_op;
	uint16_t nr_segments;
	uint64_t id, sector_number;
	uint16_t handle;
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint64_t pad;
};
struct rsp32 {
	uint64_t id;
	uint8_t operation;
	int16_t status;
};
#pragma pack(pop)

/* The x86_64 layout: natural alignment. */
struct req64 {
	uint8_t operation, nr_segments;
	uint16_t handle;
	uint64_t id __attribute__((aligned(8)));
	uint64_t sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct ind64 {
	uint8_t operation, indirect_op;
	uint16_t nr_segments;
	uint64_t id __attribute__((aligned(8)));
	uint64_t sector_number;
	uint16_t handle;
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
} __attribute__((aligned(8)));
struct disc64 {
	uint8_t operation, flag;
	uint16_t handle;
	uint64_t id __attribute__((aligned(8)));
	uint64_t sector_number, nr_sectors;
};

static uint8_t slot[128];

static const struct blk_limits base_limits = {
	.sectors = 2048, .unit_shift = 9, .lss = 512, .max_indirect = 256,
	.flush = true, .barrier = true, .discard = true,
};

static void fill_segs(struct blkif_request_segment *s, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		s[i].gref = 100 + i;
		s[i].first_sect = i % 8;
		s[i].last_sect = 7;
	}
}

static void check_rw(const struct blk_req *r, uint8_t op, unsigned nseg)
{
	unsigned i;

	CHECK(r->operation == op);
	CHECK(r->rw_op == op);
	CHECK(r->id == 0x1122334455667788ull);
	CHECK(r->sector == 0x0102030405060708ull);
	CHECK(r->nr_segments == nseg);
	for (i = 0; i < nseg; i++) {
		CHECK(r->seg[i].gref == 100 + i);
		CHECK(r->seg[i].first_sect == i % 8);
		CHECK(r->seg[i].last_sect == 7);
	}
}

static void test_abi_names(void)
{
	enum blk_abi a;

	CHECK(blk_abi_parse(NULL, &a) == 0 && a == BLK_ABI_NATIVE);
	CHECK(blk_abi_parse(XEN_IO_PROTO_ABI_X86_32, &a) == 0 && a == BLK_ABI_X86_32);
	CHECK(blk_abi_parse(XEN_IO_PROTO_ABI_X86_64, &a) == 0 && a == BLK_ABI_X86_64);
	CHECK(blk_abi_parse("x86_16-abi", &a) == -EINVAL);
	CHECK(blk_abi_parse("", &a) == -EINVAL);
	CHECK(blk_abi_slot_size(BLK_ABI_X86_32) == sizeof(struct req32));
	CHECK(blk_abi_slot_size(BLK_ABI_X86_64) == sizeof(struct req64));
	CHECK(blk_abi_slot_size(BLK_ABI_NATIVE) == sizeof(union blkif_sring_entry));
	/* 32 requests in one page (blkif.h, BLKIF_MAX_SEGMENTS_PER_REQUEST note). */
	CHECK(blk_abi_ring_size(BLK_ABI_NATIVE, 1) == 32);
	CHECK(blk_abi_ring_size(BLK_ABI_X86_32, 1) == 32);
	CHECK(blk_abi_ring_size(BLK_ABI_X86_64, 16) == 512);
	CHECK(blk_abi_ring_size(BLK_ABI_NATIVE, 1) ==
	      __CONST_RING_SIZE(blkif, BLK_PAGE_SIZE));
}

static void test_copy_native(void)
{
	struct blkif_request req;
	struct blk_req r;

	memset(&req, 0, sizeof(req));
	req.operation = BLKIF_OP_WRITE;
	req.nr_segments = 11;
	req.id = 0x1122334455667788ull;
	req.sector_number = 0x0102030405060708ull;
	fill_segs(req.seg, 11);
	memcpy(slot, &req, sizeof(req));
	blk_req_copy(BLK_ABI_NATIVE, slot, &r);
	check_rw(&r, BLKIF_OP_WRITE, 11);
}

static void test_copy_x86_32(void)
{
	struct req32 q;
	struct disc32 d;
	struct ind32 in;
	struct blk_req r;
	unsigned i;

	memset(&q, 0, sizeof(q));
	q.operation = BLKIF_OP_READ;
	q.nr_segments = 3;
	q.id = 0x1122334455667788ull;
	q.sector_number = 0x0102030405060708ull;
	fill_segs(q.seg, 3);
	memcpy(slot, &q, sizeof(q));
	blk_req_copy(BLK_ABI_X86_32, slot, &r);
	check_rw(&r, BLKIF_OP_READ, 3);

	memset(&d, 0, sizeof(d));
	d.operation = BLKIF_OP_DISCARD;
	d.flag = BLKIF_DISCARD_SECURE;
	d.id = 7;
	d.sector_number = 64;
	d.nr_sectors = 128;
	memcpy(slot, &d, sizeof(d));
	blk_req_copy(BLK_ABI_X86_32, slot, &r);
	CHECK(r.operation == BLKIF_OP_DISCARD && r.discard_flag == BLKIF_DISCARD_SECURE);
	CHECK(r.id == 7 && r.sector == 64 && r.nr_sectors == 128);

	memset(&in, 0, sizeof(in));
	in.operation = BLKIF_OP_INDIRECT;
	in.indirect_op = BLKIF_OP_WRITE;
	in.nr_segments = 600;
	in.id = 9;
	in.sector_number = 1024;
	for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		in.indirect_grefs[i] = 500 + i;
	memcpy(slot, &in, sizeof(in));
	blk_req_copy(BLK_ABI_X86_32, slot, &r);
	CHECK(r.operation == BLKIF_OP_INDIRECT && r.rw_op == BLKIF_OP_WRITE);
	CHECK(r.nr_segments == 600 && r.id == 9 && r.sector == 1024);
	for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		CHECK(r.indirect_grefs[i] == 500 + i);
}

static void test_copy_x86_64(void)
{
	struct req64 q;
	struct disc64 d;
	struct ind64 in;
	struct blk_req r;

	memset(&q, 0, sizeof(q));
	q.operation = BLKIF_OP_WRITE;
	q.nr_segments = 11;
	q.id = 0x1122334455667788ull;
	q.sector_number = 0x0102030405060708ull;
	fill_segs(q.seg, 11);
	memcpy(slot, &q, sizeof(q));
	blk_req_copy(BLK_ABI_X86_64, slot, &r);
	check_rw(&r, BLKIF_OP_WRITE, 11);

	memset(&d, 0, sizeof(d));
	d.operation = BLKIF_OP_DISCARD;
	d.id = 5;
	d.sector_number = 8;
	d.nr_sectors = 16;
	memcpy(slot, &d, sizeof(d));
	blk_req_copy(BLK_ABI_X86_64, slot, &r);
	CHECK(r.id == 5 && r.sector == 8 && r.nr_sectors == 16 && r.discard_flag == 0);

	memset(&in, 0, sizeof(in));
	in.operation = BLKIF_OP_INDIRECT;
	in.indirect_op = BLKIF_OP_READ;
	in.nr_segments = 12;
	in.id = 3;
	in.sector_number = 40;
	in.indirect_grefs[0] = 77;
	memcpy(slot, &in, sizeof(in));
	blk_req_copy(BLK_ABI_X86_64, slot, &r);
	CHECK(r.rw_op == BLKIF_OP_READ && r.nr_segments == 12 && r.id == 3 && r.sector == 40);
	CHECK(r.indirect_grefs[0] == 77);
}

/* A request that passes: write of 2 segments at sector 8. */
static struct blk_req good_rw(void)
{
	struct blk_req r;

	memset(&r, 0, sizeof(r));
	r.operation = r.rw_op = BLKIF_OP_WRITE;
	r.nr_segments = 2;
	r.sector = 8;
	r.seg[0] = (struct blkif_request_segment){ .gref = 1, .first_sect = 0, .last_sect = 7 };
	r.seg[1] = (struct blkif_request_segment){ .gref = 2, .first_sect = 2, .last_sect = 3 };
	return r;
}

static enum blk_verdict check_all(struct blk_req *r, const struct blk_limits *l, uint64_t *bytes)
{
	const char *why;
	enum blk_verdict v = blk_req_check(r, l, &why);

	if (v != BLK_OK)
		return v;
	return blk_segs_check(r, r->seg, r->nr_segments, l, bytes, &why);
}

static void test_check_rw(void)
{
	struct blk_limits l = base_limits;
	struct blk_req r = good_rw();
	uint64_t bytes;

	CHECK(check_all(&r, &l, &bytes) == BLK_OK && bytes == 10 * 512);
	r.nr_segments = 0;
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r = good_rw();
	r.seg[1].first_sect = 4;	/* first > last */
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r = good_rw();
	r.seg[0].last_sect = 8;		/* past the page (8 units of 512) */
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r = good_rw();
	r.sector = 2048 - 10;		/* ends exactly at the end */
	CHECK(check_all(&r, &l, &bytes) == BLK_OK);
	r.sector = 2048 - 9;		/* one past */
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r.sector = UINT64_MAX - 2;	/* wraps */
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r = good_rw();
	l.readonly = true;
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r.operation = r.rw_op = BLKIF_OP_READ;
	CHECK(check_all(&r, &l, &bytes) == BLK_OK);
}

static void test_check_alignment(void)
{
	struct blk_limits l = base_limits;
	struct blk_req r = good_rw();
	uint64_t bytes;

	/* A 4 KiB-sector store seen by a 512-byte frontend. */
	l.lss = 4096;
	r.seg[1] = (struct blkif_request_segment){ .gref = 2, .first_sect = 0, .last_sect = 7 };
	CHECK(check_all(&r, &l, &bytes) == BLK_OK && bytes == 8192);
	r.sector = 4;
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	r.sector = 8;
	r.seg[1].last_sect = 3;
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
	/* The same store with feature-large-sector-size: one unit per page. */
	l.unit_shift = 12;
	l.sectors = 256;
	r.sector = 1;
	r.seg[0] = (struct blkif_request_segment){ .gref = 1, .first_sect = 0, .last_sect = 0 };
	r.seg[1] = r.seg[0];
	CHECK(check_all(&r, &l, &bytes) == BLK_OK && bytes == 8192);
	r.seg[1].last_sect = 1;
	CHECK(check_all(&r, &l, &bytes) == BLK_BAD);
}

static void test_check_ops(void)
{
	struct blk_limits l = base_limits;
	struct blk_req r;
	const char *why;
	uint64_t bytes;

	memset(&r, 0, sizeof(r));
	r.operation = r.rw_op = BLKIF_OP_FLUSH_DISKCACHE;
	CHECK(check_all(&r, &l, &bytes) == BLK_OK && bytes == 0);
	/* Linux blkfront's empty flush carries sector (sector_t)-1. */
	r.sector = UINT64_MAX;
	CHECK(check_all(&r, &l, &bytes) == BLK_OK && bytes == 0);
	r.sector = 0;
	l.flush = false;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED);
	r.operation = r.rw_op = BLKIF_OP_WRITE_BARRIER;
	CHECK(blk_req_check(&r, &l, &why) == BLK_OK);
	l.barrier = false;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED);
	r.operation = r.rw_op = BLKIF_OP_RESERVED_1;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED);
	r.operation = r.rw_op = 200;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED && why);
}

static void test_check_discard(void)
{
	struct blk_limits l = base_limits;
	struct blk_req r;
	const char *why;

	memset(&r, 0, sizeof(r));
	r.operation = r.rw_op = BLKIF_OP_DISCARD;
	r.sector = 16;
	r.nr_sectors = 2048 - 16;
	CHECK(blk_req_check(&r, &l, &why) == BLK_OK);
	r.nr_sectors++;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	r.nr_sectors = UINT64_MAX;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	r.nr_sectors = 8;
	r.discard_flag = BLKIF_DISCARD_SECURE;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED);
	l.discard_secure = true;
	CHECK(blk_req_check(&r, &l, &why) == BLK_OK);
	l.lss = 4096;
	r.sector = 12;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	l.discard = false;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED);
	l = base_limits;
	l.readonly = true;
	r.discard_flag = 0;
	r.sector = 16;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
}

static void test_check_indirect(void)
{
	struct blk_limits l = base_limits;
	struct blk_req r;
	const char *why;

	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_INDIRECT;
	r.rw_op = BLKIF_OP_READ;
	r.nr_segments = 256;
	CHECK(blk_req_check(&r, &l, &why) == BLK_OK && r.nr_indirect == 1);
	r.nr_segments = 257;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	l.max_indirect = 1024;
	r.nr_segments = 513;
	CHECK(blk_req_check(&r, &l, &why) == BLK_OK && r.nr_indirect == 2);
	r.nr_segments = 0;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	r.nr_segments = 12;
	r.rw_op = BLKIF_OP_FLUSH_DISKCACHE;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	r.rw_op = BLKIF_OP_WRITE;
	l.readonly = true;
	CHECK(blk_req_check(&r, &l, &why) == BLK_BAD);
	l.readonly = false;
	l.max_indirect = 0;
	CHECK(blk_req_check(&r, &l, &why) == BLK_UNSUPPORTED);
}

static void test_segs_unpack(void)
{
	uint8_t page[16] = { 0x78, 0x56, 0x34, 0x12, 3, 5, 0xee, 0xee,
			     0x01, 0, 0, 0, 0, 7, 0xee, 0xee };
	struct blkif_request_segment s[2];

	blk_segs_unpack(page, 2, s);
	CHECK(s[0].gref == 0x12345678 && s[0].first_sect == 3 && s[0].last_sect == 5);
	CHECK(s[1].gref == 1 && s[1].first_sect == 0 && s[1].last_sect == 7);
}

static void test_response(void)
{
	struct blkif_response rn;
	struct rsp32 r32;
	uint8_t pad = 0xa5;

	memset(slot, pad, sizeof(slot));
	blk_rsp_write(BLK_ABI_NATIVE, slot, 42, BLKIF_OP_INDIRECT, BLKIF_RSP_EOPNOTSUPP);
	memcpy(&rn, slot, sizeof(rn));
	CHECK(rn.id == 42 && rn.operation == BLKIF_OP_INDIRECT &&
	      rn.status == BLKIF_RSP_EOPNOTSUPP);
	/* Padding between operation and status, and after status, untouched. */
	CHECK(slot[offsetof(struct blkif_response, operation) + 1] == pad);
	CHECK(slot[sizeof(struct blkif_response) - 1] == pad);

	memset(slot, pad, sizeof(slot));
	blk_rsp_write(BLK_ABI_X86_32, slot, 7, BLKIF_OP_READ, BLKIF_RSP_ERROR);
	memcpy(&r32, slot, sizeof(r32));
	CHECK(r32.id == 7 && r32.operation == BLKIF_OP_READ && r32.status == BLKIF_RSP_ERROR);
	CHECK(slot[sizeof(r32)] == pad);
}

int main(void)
{
	tap_run("/proto/abi-names", test_abi_names);
	tap_run("/proto/copy-native", test_copy_native);
	tap_run("/proto/copy-x86_32", test_copy_x86_32);
	tap_run("/proto/copy-x86_64", test_copy_x86_64);
	tap_run("/proto/check-rw", test_check_rw);
	tap_run("/proto/check-alignment", test_check_alignment);
	tap_run("/proto/check-ops", test_check_ops);
	tap_run("/proto/check-discard", test_check_discard);
	tap_run("/proto/check-indirect", test_check_indirect);
	tap_run("/proto/segs-unpack", test_segs_unpack);
	tap_run("/proto/response", test_response);
	return tap_done();
}
