// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkif requests and responses on the wire (see proto.h).
 *
 * The three request layouts differ only in where the 64-bit fields sit: the
 * i386 ABI aligns uint64_t to 4 bytes, x86_64 to 8 (xen/io/blkif.h structs
 * under each compiler's packing; Linux's xen-blkback/common.h spells the two
 * out as separate structs). Here each layout is a table of byte offsets, the
 * native one taken from <xen/io/blkif.h> itself, and a slot is decoded from
 * a private copy with memcpy per field.
 *
 * Runs on any thread; pure; never logs or allocates.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <xen/io/protocols.h>

#include "proto.h"

struct blk_layout {
	size_t slot;		/* sizeof the request/response union */
	size_t id, sector, seg;	/* read/write request */
	size_t nr_sectors;	/* discard */
	size_t ind_id, ind_sector, ind_grefs;	/* indirect */
	size_t rsp_id, rsp_op, rsp_status;	/* response */
};

/* The layout the compiler gives blkif.h's structs on this machine. */
static const struct blk_layout layout_native = {
	.slot = sizeof(union blkif_sring_entry),
	.id = offsetof(struct blkif_request, id),
	.sector = offsetof(struct blkif_request, sector_number),
	.seg = offsetof(struct blkif_request, seg),
	.nr_sectors = offsetof(struct blkif_request_discard, nr_sectors),
	.ind_id = offsetof(struct blkif_request_indirect, id),
	.ind_sector = offsetof(struct blkif_request_indirect, sector_number),
	.ind_grefs = offsetof(struct blkif_request_indirect, indirect_grefs),
	.rsp_id = offsetof(struct blkif_response, id),
	.rsp_op = offsetof(struct blkif_response, operation),
	.rsp_status = offsetof(struct blkif_response, status),
};

/*
 * i386: uint64_t aligned to 4. Request: op 0, nr_segments 1, handle 2, id 4,
 * sector 12, 11 segments of 8 bytes from 20 (108 bytes). Indirect: handle 20,
 * grefs 24, explicit pad to 64. Response: id 0, op 8, status 10 (12 bytes).
 */
static const struct blk_layout layout_x86_32 = {
	.slot = 108, .id = 4, .sector = 12, .seg = 20, .nr_sectors = 20,
	.ind_id = 4, .ind_sector = 12, .ind_grefs = 24,
	.rsp_id = 0, .rsp_op = 8, .rsp_status = 10,
};

/*
 * x86_64: uint64_t aligned to 8. Request: id 8, sector 16, segments from 24
 * (112 bytes). Indirect: handle 24, grefs 28. Response: id 0, op 8, status 10.
 */
static const struct blk_layout layout_x86_64 = {
	.slot = 112, .id = 8, .sector = 16, .seg = 24, .nr_sectors = 24,
	.ind_id = 8, .ind_sector = 16, .ind_grefs = 28,
	.rsp_id = 0, .rsp_op = 8, .rsp_status = 10,
};

#if defined(__x86_64__)
_Static_assert(sizeof(union blkif_sring_entry) == 112, "native is x86_64");
_Static_assert(offsetof(struct blkif_request_indirect, indirect_grefs) == 28, "x86_64 indirect");
#endif
_Static_assert(sizeof(struct blkif_request_segment) == 8, "segment wire size");

/* Byte offsets shared by every layout. */
#define OFF_OP 0
#define OFF_NR_SEGS 1		/* uint8_t in r/w requests */
#define OFF_FLAG 1		/* discard */
#define OFF_IND_OP 1		/* indirect */
#define OFF_IND_NR_SEGS 2	/* uint16_t in indirect requests */

static const struct blk_layout *layout(enum blk_abi abi)
{
	switch (abi) {
	case BLK_ABI_X86_32:
		return &layout_x86_32;
	case BLK_ABI_X86_64:
		return &layout_x86_64;
	case BLK_ABI_NATIVE:
	default:
		return &layout_native;
	}
}

int blk_abi_parse(const char *protocol, enum blk_abi *ret)
{
	/* The explicit x86 names first: on x86_64 "x86_64-abi" is also native. */
	if (!protocol)
		*ret = BLK_ABI_NATIVE;
	else if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_32))
		*ret = BLK_ABI_X86_32;
	else if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_64))
		*ret = BLK_ABI_X86_64;
	else if (!strcmp(protocol, XEN_IO_PROTO_ABI_NATIVE))
		*ret = BLK_ABI_NATIVE;
	else
		return -EINVAL;
	return 0;
}

const char *blk_abi_name(enum blk_abi abi)
{
	switch (abi) {
	case BLK_ABI_X86_32:
		return XEN_IO_PROTO_ABI_X86_32;
	case BLK_ABI_X86_64:
		return XEN_IO_PROTO_ABI_X86_64;
	default:
		return "native";
	}
}

size_t blk_abi_slot_size(enum blk_abi abi)
{
	return layout(abi)->slot;
}

unsigned blk_abi_ring_size(enum blk_abi abi, unsigned pages)
{
	/* __RING_SIZE (xen/io/ring.h): entries after the 64-byte sring
	 * header, rounded down to a power of two. */
	size_t n = ((size_t)pages * BLK_PAGE_SIZE - offsetof(struct blkif_sring, ring)) /
		   layout(abi)->slot;
	unsigned p = 1;

	if (!n)
		return 0;
	while ((size_t)p * 2 <= n)
		p *= 2;
	return p;
}

static uint64_t get64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint16_t get16(const uint8_t *b, size_t off)
{
	uint16_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void unpack_seg(const uint8_t *b, struct blkif_request_segment *s)
{
	s->gref = get32(b, 0);
	s->first_sect = b[4];
	s->last_sect = b[5];
}

void blk_req_copy(enum blk_abi abi, const void *slot, struct blk_req *r)
{
	const struct blk_layout *lo = layout(abi);
	uint8_t b[128];
	unsigned i;

	_Static_assert(sizeof(b) >= sizeof(union blkif_sring_entry), "slot buffer");
	/* The only read of shared memory; the compiler may not re-read it
	 * below (the copy is private, and this fence orders the two). */
	memcpy(b, slot, lo->slot);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);

	memset(r, 0, sizeof(*r));
	r->operation = b[OFF_OP];
	r->rw_op = r->operation;
	switch (r->operation) {
	case BLKIF_OP_DISCARD:
		r->discard_flag = b[OFF_FLAG];
		r->id = get64(b, lo->id);
		r->sector = get64(b, lo->sector);
		r->nr_sectors = get64(b, lo->nr_sectors);
		break;
	case BLKIF_OP_INDIRECT:
		r->rw_op = b[OFF_IND_OP];
		r->nr_segments = get16(b, OFF_IND_NR_SEGS);
		r->id = get64(b, lo->ind_id);
		r->sector = get64(b, lo->ind_sector);
		for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
			r->indirect_grefs[i] = get32(b, lo->ind_grefs + 4 * i);
		break;
	default:
		r->nr_segments = b[OFF_NR_SEGS];
		r->id = get64(b, lo->id);
		r->sector = get64(b, lo->sector);
		for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
			unpack_seg(b + lo->seg + 8 * i, &r->seg[i]);
		break;
	}
}

void blk_segs_unpack(const void *pages, unsigned n, struct blkif_request_segment *ret)
{
	const uint8_t *b = pages;
	unsigned i;

	for (i = 0; i < n; i++)
		unpack_seg(b + 8 * i, &ret[i]);
}

static enum blk_verdict bad(const char **why, const char *msg)
{
	*why = msg;
	return BLK_BAD;
}

static enum blk_verdict unsupported(const char **why, const char *msg)
{
	*why = msg;
	return BLK_UNSUPPORTED;
}

/* Is [sector, sector + count) inside the device and aligned to lss? */
static enum blk_verdict check_range(uint64_t sector, uint64_t count, const struct blk_limits *l,
				    const char **why)
{
	uint64_t lss_units = (uint64_t)l->lss >> l->unit_shift;

	if (sector > l->sectors || count > l->sectors - sector)
		return bad(why, "sector range beyond the end of the device");
	if (lss_units > 1 && (sector % lss_units || count % lss_units))
		return bad(why, "sector range not aligned to the logical sector size");
	return BLK_OK;
}

static enum blk_verdict check_discard(const struct blk_req *r, const struct blk_limits *l,
				      const char **why)
{
	if (!l->discard)
		return unsupported(why, "discard not offered");
	if ((r->discard_flag & BLKIF_DISCARD_SECURE) && !l->discard_secure)
		return unsupported(why, "secure discard not offered");
	if (l->readonly)
		return bad(why, "discard on a read-only device");
	return check_range(r->sector, r->nr_sectors, l, why);
}

enum blk_verdict blk_req_check(struct blk_req *r, const struct blk_limits *l, const char **why)
{
	*why = NULL;
	switch (r->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		/* blkif.h: BLKIF_MAX_SEGMENTS_PER_REQUEST segments, at least one. */
		if (r->nr_segments == 0 || r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return bad(why, "segment count out of range");
		break;
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (r->operation == BLKIF_OP_WRITE_BARRIER ? !l->barrier : !l->flush)
			return unsupported(why, "flush/barrier not offered");
		/* Zero segments: a pure flush; else a write with a flush. */
		if (r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return bad(why, "segment count out of range");
		break;
	case BLKIF_OP_DISCARD:
		return check_discard(r, l, why);
	case BLKIF_OP_INDIRECT:
		if (!l->max_indirect)
			return unsupported(why, "indirect not offered");
		/* blkif.h: indirect_op is BLKIF_OP_{READ/WRITE}. */
		if (r->rw_op != BLKIF_OP_READ && r->rw_op != BLKIF_OP_WRITE)
			return bad(why, "indirect operation not read or write");
		/* At most feature-max-indirect-segments (which we cap at
		 * BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST pages' worth). */
		if (r->nr_segments == 0 || r->nr_segments > l->max_indirect ||
		    r->nr_segments > BLK_MAX_INDIRECT_SEGMENTS)
			return bad(why, "indirect segment count out of range");
		r->nr_indirect = (r->nr_segments + BLK_SEGS_PER_INDIRECT_PAGE - 1) /
				 BLK_SEGS_PER_INDIRECT_PAGE;
		break;
	default:
		return unsupported(why, "unknown operation");
	}
	if (l->readonly && r->operation != BLKIF_OP_READ &&
	    !(r->operation == BLKIF_OP_INDIRECT && r->rw_op == BLKIF_OP_READ))
		return bad(why, "write to a read-only device");
	return BLK_OK;
}

enum blk_verdict blk_segs_check(const struct blk_req *r, const struct blkif_request_segment *seg,
				unsigned n, const struct blk_limits *l, uint64_t *ret_bytes,
				const char **why)
{
	unsigned per_page = BLK_PAGE_SIZE >> l->unit_shift;
	uint64_t units = 0;
	unsigned i;

	*why = NULL;
	*ret_bytes = 0;
	for (i = 0; i < n; i++) {
		uint64_t off = (uint64_t)seg[i].first_sect << l->unit_shift;
		uint64_t len;

		/* blkif.h: first_sect..last_sect inclusive, within the page. */
		if (seg[i].first_sect > seg[i].last_sect || seg[i].last_sect >= per_page)
			return bad(why, "segment sectors outside the page");
		len = (uint64_t)(seg[i].last_sect - seg[i].first_sect + 1) << l->unit_shift;
		if (off % l->lss || len % l->lss)
			return bad(why, "segment not aligned to the logical sector size");
		units += seg[i].last_sect - seg[i].first_sect + 1;
	}
	/* No data, no range: a pure flush or barrier. Linux blkback checks the
	 * range only when nr_sects is non-zero, and Linux blkfront sends an
	 * empty flush with the block layer's sector (sector_t)-1; answering that
	 * with an error makes blkfront turn flushes off for good. */
	if (units && check_range(r->sector, units, l, why) != BLK_OK)
		return BLK_BAD;
	*ret_bytes = units << l->unit_shift;
	return BLK_OK;
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void put16(uint8_t *b, size_t off, uint16_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

void blk_rsp_write(enum blk_abi abi, void *slot, uint64_t id, uint8_t operation, int16_t status)
{
	const struct blk_layout *lo = layout(abi);
	uint8_t *b = slot;

	put64(b, lo->rsp_id, id);
	b[lo->rsp_op] = operation;
	put16(b, lo->rsp_status, (uint16_t)status);
}
