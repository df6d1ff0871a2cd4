// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for blkbackd's request parsing and validation
 * (blkbackd/proto.c), the code every byte a frontend puts on a ring goes
 * through. Input layout:
 *   byte 0      ABI (mod 3) and limit variations (read-only, 4 KiB logical
 *               sectors, large-sector frontend, features off)
 *   bytes 1..   one ring slot (the ABI's slot size; short input is padded)
 *   the rest    the contents of the indirect pages, if any
 * Besides not crashing, the target checks the validator's promises and
 * traps when one is broken: an accepted request stays inside the device,
 * is aligned, and its segments stay inside their pages.
 *
 * Built with -Dfuzzing=true (clang, -fsanitize=fuzzer); the same file is
 * linked with replay.c into a plain program that replays the corpus in
 * the normal test suite.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void promise(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void check_accepted(const struct blk_req *r, const struct blkif_request_segment *seg,
			   unsigned n, const struct blk_limits *l, uint64_t bytes)
{
	uint64_t units = bytes >> l->unit_shift;
	unsigned i;

	/* A request without data (only a flush or barrier may have none) has
	 * no range to check: Linux blkfront's empty flush carries sector
	 * (sector_t)-1, and the queue never uses it. */
	promise(units || r->rw_op == BLKIF_OP_FLUSH_DISKCACHE ||
		r->rw_op == BLKIF_OP_WRITE_BARRIER);
	promise(!units || (r->sector <= l->sectors && units <= l->sectors - r->sector));
	promise(!units || ((r->sector << l->unit_shift) % l->lss) == 0);
	promise(bytes % l->lss == 0);
	for (i = 0; i < n; i++) {
		promise(seg[i].first_sect <= seg[i].last_sect);
		promise(((unsigned)seg[i].last_sect + 1) << l->unit_shift <= BLK_PAGE_SIZE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blkif_request_segment seg[BLK_MAX_INDIRECT_SEGMENTS];
	static uint8_t pages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLK_PAGE_SIZE];
	uint8_t slot[128] = { 0 };
	struct blk_limits l = {
		.sectors = 1 << 20, .unit_shift = 9, .lss = 512, .max_indirect = 256,
		.flush = true, .barrier = true, .discard = true,
	};
	const struct blkif_request_segment *s;
	enum blk_abi abi;
	struct blk_req r;
	const char *why;
	uint64_t bytes;
	size_t slot_size, rest;
	unsigned n;

	if (size < 1)
		return 0;
	abi = (enum blk_abi)(data[0] % 3);
	l.readonly = data[0] & 0x04;
	if (data[0] & 0x08)
		l.lss = 4096;
	if ((data[0] & 0x18) == 0x18)
		l.unit_shift = 12;
	if (data[0] & 0x20)
		l.discard = l.flush = false;
	if (data[0] & 0x40)
		l.max_indirect = BLK_MAX_INDIRECT_SEGMENTS;
	if (data[0] & 0x80)
		l.discard_secure = true;
	data++;
	size--;
	slot_size = blk_abi_slot_size(abi);
	memcpy(slot, data, size < slot_size ? size : slot_size);
	rest = size > slot_size ? size - slot_size : 0;

	blk_req_copy(abi, slot, &r);
	if (blk_req_check(&r, &l, &why) != BLK_OK) {
		promise(why != NULL);
		return 0;
	}
	promise(r.nr_segments <= BLK_MAX_INDIRECT_SEGMENTS);
	if (r.operation == BLKIF_OP_DISCARD) {
		promise(r.sector <= l.sectors && r.nr_sectors <= l.sectors - r.sector);
		return 0;
	}
	s = r.seg;
	n = r.nr_segments;
	if (r.operation == BLKIF_OP_INDIRECT) {
		promise(r.nr_indirect >= 1 && r.nr_indirect <= BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
		promise(n <= r.nr_indirect * BLK_SEGS_PER_INDIRECT_PAGE);
		memset(pages, 0, (size_t)n * sizeof(struct blkif_request_segment));
		memcpy(pages, data + slot_size,
		       rest < n * sizeof(struct blkif_request_segment) ?
		       rest : n * sizeof(struct blkif_request_segment));
		blk_segs_unpack(pages, n, seg);
		s = seg;
	} else {
		promise(n <= BLKIF_MAX_SEGMENTS_PER_REQUEST);
	}
	if (blk_segs_check(&r, s, n, &l, &bytes, &why) == BLK_OK)
		check_accepted(&r, s, n, &l, bytes);
	blk_rsp_write(abi, slot, r.id, r.operation, BLKIF_RSP_OKAY);
	return 0;
}
