/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The blkif wire protocol, without any I/O: the three request layouts
 * (native, x86_32-abi, x86_64-abi), the copy of one ring slot into a private
 * struct blk_req, the validation of that private copy against the device's
 * limits, and the writing of one response into a ring slot.
 *
 * Pure code: no xenstore, no grants, no allocation, no logging. It is called
 * by the queue worker threads and by the fuzz target; every function is
 * re-entrant. Guest data is read from shared memory exactly once (in
 * blk_req_copy) and never again (XSA-155 bug class).
 */
#ifndef BLKBACKD_PROTO_H
#define BLKBACKD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>

enum blk_abi {
	BLK_ABI_NATIVE,
	BLK_ABI_X86_32,
	BLK_ABI_X86_64,
};

/*
 * Segments one indirect page holds (blkif.h, BLKIF_OP_INDIRECT:
 * PAGE_SIZE / sizeof(struct blkif_request_segment)), and the most one
 * request can carry: BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST such pages.
 */
#define BLK_PAGE_SIZE 4096u
#define BLK_SEGS_PER_INDIRECT_PAGE (BLK_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define BLK_MAX_INDIRECT_SEGMENTS \
	(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLK_SEGS_PER_INDIRECT_PAGE)

/* The private copy of one request, the same whatever the ring's ABI. */
struct blk_req {
	uint64_t id;		/* echoed in the response */
	uint64_t sector;	/* in units of the frontend's sector (see blk_limits) */
	uint64_t nr_sectors;	/* BLKIF_OP_DISCARD only */
	uint8_t operation;	/* as read from the ring */
	uint8_t rw_op;		/* BLKIF_OP_INDIRECT: its indirect_op; else == operation.
				 * The response echoes this one (as Linux blkback). */
	uint8_t discard_flag;	/* BLKIF_OP_DISCARD: BLKIF_DISCARD_SECURE or 0 */
	uint16_t nr_segments;
	uint8_t nr_indirect;	/* indirect pages implied by nr_segments */
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	/* Direct requests only; indirect segments come from the indirect pages. */
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* What the device allows; built by the vbd at connect, re-read on resize. */
struct blk_limits {
	uint64_t sectors;	/* device size in request units */
	unsigned unit_shift;	/* request unit: 9 (512 B), or log2(sector-size) with
				 * feature-large-sector-size (blkif.h) */
	unsigned lss;		/* logical sector size of the store, bytes */
	unsigned max_indirect;	/* feature-max-indirect-segments; 0: not offered */
	bool readonly;
	bool flush;		/* feature-flush-cache */
	bool barrier;		/* feature-barrier */
	bool discard;		/* feature-discard */
	bool discard_secure;	/* discard-secure */
};

/* Outcome of a check: the status the response gets, and why (for the log). */
enum blk_verdict {
	BLK_OK = 0,
	BLK_BAD = 1,		/* BLKIF_RSP_ERROR */
	BLK_UNSUPPORTED = 2,	/* BLKIF_RSP_EOPNOTSUPP */
};

/* "native", XEN_IO_PROTO_ABI_X86_32 or _X86_64 (NULL: native). -EINVAL else. */
int blk_abi_parse(const char *protocol, enum blk_abi *ret);
const char *blk_abi_name(enum blk_abi abi);
/* Size of one ring slot (the request/response union) for the ABI. */
size_t blk_abi_slot_size(enum blk_abi abi);
/* Ring entries in `pages` shared pages: __RING_SIZE from xen/io/ring.h. */
unsigned blk_abi_ring_size(enum blk_abi abi, unsigned pages);

/*
 * Copy one request out of a shared ring slot into *ret, converting the
 * layout. The slot is read once, as a whole; only the copy is examined.
 */
void blk_req_copy(enum blk_abi abi, const void *slot, struct blk_req *ret);

/*
 * Check everything that does not need the segments of an indirect request:
 * the operation, the segment count (1..BLKIF_MAX_SEGMENTS_PER_REQUEST, or
 * up to max_indirect for BLKIF_OP_INDIRECT, which also fixes nr_indirect),
 * read-only, discard ranges. *why names the failed rule.
 */
enum blk_verdict blk_req_check(struct blk_req *r, const struct blk_limits *l,
			       const char **why);

/*
 * Check `n` segments (the request's own, or those copied from its indirect
 * pages) and the sector range they cover: first_sect <= last_sect < units
 * per page, byte offsets and lengths aligned to the logical sector size, the
 * whole range inside the device. *ret_bytes: the transfer length.
 */
enum blk_verdict blk_segs_check(const struct blk_req *r, const struct blkif_request_segment *seg,
				unsigned n, const struct blk_limits *l, uint64_t *ret_bytes,
				const char **why);

/*
 * Unpack `n` segments from the private copy of indirect pages (the wire
 * format is the same for every ABI: 8 bytes, gref, first_sect, last_sect).
 */
void blk_segs_unpack(const void *pages, unsigned n, struct blkif_request_segment *ret);

/*
 * Write one response into a ring slot, field by field: the slot is shared,
 * and copying a padded struct would leak our stack bytes (XSA-216).
 */
void blk_rsp_write(enum blk_abi abi, void *slot, uint64_t id, uint8_t operation, int16_t status);

#endif
